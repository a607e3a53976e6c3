"""lm-evaluation-harness output folders: one JSON per model plus a models.csv.

A dataset is ``data/lm-eval/<id>/`` holding the harness JSON files and a
``models.csv`` (file, model, family, params, optional tokens) naming the model
each file scored.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..csvtable import read_table, separator_hint
from ..problems import Problem
from .base import Importer, contract, empty, origin

MODELS_COLUMNS = ("file", "model", "family", "params")

#: metric directions and units for harness files that do not state them (the
#: old format). Anything else in an old-format file is listed, not guessed.
KNOWN_METRICS = {
    "acc": (True, "fraction"), "acc_norm": (True, "fraction"), "exact_match": (True, "fraction"),
    "em": (True, "fraction"), "f1": (True, "fraction"), "mc1": (True, "fraction"),
    "mc2": (True, "fraction"), "bleu": (True, "raw"), "rouge": (True, "raw"),
    "ppl": (False, "raw"), "perplexity": (False, "raw"), "word_perplexity": (False, "raw"),
    "byte_perplexity": (False, "raw"), "bits_per_byte": (False, "raw"),
}  # fmt: skip
_SKIP_KEYS = {"alias", "name", "sample_len", "samples"}
NOT_IMPORTED = "not imported"  # a note with this says scores were left out (else the note is a warning)


def _number(v):
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


def _whole(v, least: int):
    """A whole number >= least from a harness field (5, 5.0 or "5"), else None."""
    f = _number(v) if not isinstance(v, str) else _number(v.strip() or None)
    return int(f) if f is not None and f == int(f) and f >= least else None


def _mapping(data: dict, key: str, notes: list[str]) -> dict:
    """A top-level field that must be an object; anything else is said and not used."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        notes.append(f"{key!r} is a {type(value).__name__}, not an object: not used")
        return {}
    return value


def parse_harness_file(path: Path) -> tuple[list[dict], list[str]]:
    """Scores of one harness JSON (current `acc,none` or old `acc` format).

    Returns rows with task, metric, score, stderr, shots, n_items,
    higher_is_better, unit; and the notes on what could not be used.
    Raises ValueError (with the reason) for a file that is not harness output.
    """
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ValueError("is nested too deeply to be harness output") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise ValueError("has no 'results' object; is it an lm-evaluation-harness output file?")
    notes: list[str] = []
    results = data["results"]
    n_shot = _mapping(data, "n-shot", notes)
    n_samples = _mapping(data, "n-samples", notes)
    directions = _mapping(data, "higher_is_better", notes)
    config = _mapping(data, "config", notes)
    config_shots = config.get("num_fewshot")
    rows = []
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            notes.append(f"task {task!r}: its results are a {type(metrics).__name__}, not an object; {NOT_IMPORTED}")
            continue
        given = n_shot.get(task, config_shots)
        shots = _whole(given, 0)
        if given is not None and shots is None:
            notes.append(f"task {task!r}: n-shot {given!r} is not a whole number ≥ 0; shots left blank")
        samples = n_samples.get(task, {})
        items = samples.get("effective", samples.get("original")) if isinstance(samples, dict) else None
        n_items = _whole(items, 1)
        if items is not None and n_items is None:
            notes.append(f"task {task!r}: n-samples {items!r} is not a whole number ≥ 1; n_items left blank")
        stated_task = directions.get(task) if isinstance(directions.get(task), dict) else {}
        for key, value in metrics.items():
            name, _, filt = key.partition(",")
            if name in _SKIP_KEYS or name.endswith("_stderr"):
                continue
            if _number(value) is None:
                notes.append(f"task {task!r} metric {name!r}: {value!r} is not a finite number; {NOT_IMPORTED}")
                continue
            stderr = _number(metrics.get(f"{name}_stderr" + (f",{filt}" if filt else "")))
            metric = name if filt in ("", "none") else f"{name}/{filt}"
            stated = stated_task.get(name)
            if stated is not None and not isinstance(stated, bool):
                notes.append(f"task {task!r} metric {name!r}: higher_is_better {stated!r} is not true or false")
                stated = None
            known = KNOWN_METRICS.get(name)
            if stated is None and known is None:
                notes.append(
                    f"task {task!r} metric {name!r}: direction unknown (the file does not state "
                    f"higher_is_better and the metric is not a standard one); {NOT_IMPORTED}"
                )
                continue
            hib = stated if stated is not None else known[0]
            unit = known[1] if known else ("fraction" if 0 <= float(value) <= 1 and hib else "raw")
            rows.append(
                {"task": task, "metric": metric, "score": float(value), "stderr": stderr, "shots": shots,
                 "n_items": n_items, "higher_is_better": hib, "unit": unit}
            )  # fmt: skip
    return rows, notes


def read_lm_eval(folder: str | Path) -> tuple[pd.DataFrame, list[Problem]]:
    """A folder of harness JSON files plus models.csv as contract rows.

    Each row's origin is the JSON file (its scores) and the models.csv row (its model, family, size).
    """
    folder = Path(folder)
    label = str(folder)
    problems: list[Problem] = []
    models_path = folder / "models.csv"
    columns = ", ".join(MODELS_COLUMNS)
    if not models_path.is_file():
        message = f"is missing; write a models.csv with columns {columns} (tokens optional)"
        return empty(), [Problem(str(models_path), None, None, message)]
    table = read_table(models_path, required=MODELS_COLUMNS)
    problems += table.problems
    if not table.readable:
        return empty(), problems
    missing = [c for c in MODELS_COLUMNS if c not in table.columns]
    if missing:
        message = (
            f"missing column(s) {', '.join(missing)}; the header must name "
            f"{columns} (tokens optional)" + separator_hint(table.columns)
        )
        return empty(), [Problem(str(models_path), 1, ",".join(missing), message)]
    models = table.frame
    first: dict[str, int] = {}
    keep = np.ones(len(models), bool)
    for i, (row, name) in enumerate(zip(table.rows, models["file"])):
        if name in first:
            keep[i] = False
            problems.append(Problem(str(models_path), int(row), "file", (
                f"names {name!r} again (first on row {first[name]}): one file is one model's output; "
                "this line is set aside")))
        first.setdefault(name, int(row))
    models, model_rows = models[keep], table.rows[keep]
    files = sorted(p.name for p in folder.glob("*.json"))
    listed = set(models["file"])
    for name in files:
        if name not in listed:
            message = (
                f"is not listed in {models_path}; add the line '{name},<model>,<family>,<params>' (e.g. 1.4B) and rerun"
            )
            problems.append(Problem(f"{label}/{name}", None, None, message))
    rows = []
    # only the dataset folder's own files are read: no path outside it (a link neither), no directory
    own = {p.name for p in folder.iterdir() if p.is_file() and p.resolve().parent == folder.resolve()}
    for row, m in zip(model_rows, models.to_dict("records")):
        path = folder / m["file"]
        if m["file"] not in own:
            message = (f"names {m['file']!r}, which is not a file in {folder}; only the folder's own files are read: "
                       "give the file's name alone, or remove the line")
            problems.append(Problem(str(models_path), int(row), "file", message))
            continue
        try:
            scores, notes = parse_harness_file(path)
        except (OSError, ValueError) as exc:
            problems.append(Problem(f"{label}/{m['file']}", None, None, f"cannot be read: {exc}"))
            continue
        problems += [Problem(f"{label}/{m['file']}", None, None, n, kept=NOT_IMPORTED not in n) for n in notes]
        for s in scores:
            rows.append(
                {"model": m["model"], "family": m["family"], "params": m["params"], "tokens": m.get("tokens", ""),
                 "benchmark": s["task"].split("-")[0], **s,
                 "source": f"lm-evaluation-harness output {folder.name}/{m['file']}",
                 **origin(f"{label}/{m['file']}", None, str(models_path), int(row))}
            )  # fmt: skip
    return contract(pd.DataFrame(rows)), problems


def _discover(data: Path) -> dict[str, Path]:
    return {p.parent.name: p.parent for p in sorted((data / "lm-eval").glob("*/models.csv"))}


def _inputs(folder: Path) -> list[Path]:
    return [folder / "models.csv", *sorted(folder.glob("*.json"))]


def _claims(path: Path) -> bool:
    return path.is_dir() and ((path / "models.csv").exists() or any(path.glob("*.json")))


IMPORTER = Importer(
    kind="lm-eval",
    discover=_discover,
    inputs=_inputs,
    read=read_lm_eval,
    claims=_claims,
    layout="lm-eval/<id>/ (harness JSON files + models.csv)",
)

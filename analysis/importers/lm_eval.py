"""lm-evaluation-harness output folders: one JSON per model plus a models.csv.

A dataset is ``data/lm-eval/<id>/`` holding the harness JSON files and a
``models.csv`` (file, model, family, params, optional tokens) naming the model
each file scored.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ..loading import Problem
from .base import Importer, contract, empty

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


def _number(v):
    if isinstance(v, bool) or v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def parse_harness_file(path: Path) -> tuple[list[dict], list[str]]:
    """Scores of one harness JSON (current `acc,none` or old `acc` format).

    Returns rows with task, metric, score, stderr, shots, n_items,
    higher_is_better, unit; and the notes on what could not be used.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    results = data.get("results")
    if not isinstance(results, dict):
        raise ValueError("has no 'results' object; is it an lm-evaluation-harness output file?")
    n_shot = data.get("n-shot", {})
    n_samples = data.get("n-samples", {})
    directions = data.get("higher_is_better", {})
    config_shots = (data.get("config") or {}).get("num_fewshot")
    rows, notes = [], []
    for task, metrics in results.items():
        if not isinstance(metrics, dict):
            continue
        shots = n_shot.get(task, config_shots)
        samples = n_samples.get(task, {})
        n_items = samples.get("effective", samples.get("original")) if isinstance(samples, dict) else None
        for key, value in metrics.items():
            name, _, filt = key.partition(",")
            if name in _SKIP_KEYS or name.endswith("_stderr") or _number(value) is None:
                continue
            stderr = _number(metrics.get(f"{name}_stderr" + (f",{filt}" if filt else "")))
            metric = name if filt in ("", "none") else f"{name}/{filt}"
            stated = directions.get(task, {}).get(name) if isinstance(directions.get(task), dict) else None
            known = KNOWN_METRICS.get(name)
            if stated is None and known is None:
                notes.append(
                    f"task {task!r} metric {name!r}: direction unknown (the file does not state "
                    f"higher_is_better and the metric is not a standard one); not imported"
                )
                continue
            hib = bool(stated) if stated is not None else known[0]
            unit = known[1] if known else ("fraction" if 0 <= float(value) <= 1 and hib else "raw")
            rows.append(
                {"task": task, "metric": metric, "score": float(value), "stderr": stderr, "shots": shots,
                 "n_items": n_items, "higher_is_better": hib, "unit": unit}
            )  # fmt: skip
    return rows, notes


def read_lm_eval(folder: str | Path) -> tuple[pd.DataFrame, list[Problem]]:
    """A folder of harness JSON files plus models.csv as contract rows."""
    folder = Path(folder)
    label = str(folder)
    problems: list[Problem] = []
    models_path = folder / "models.csv"
    try:
        models = pd.read_csv(models_path, dtype=str, keep_default_na=False)
    except (FileNotFoundError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        columns = ", ".join(MODELS_COLUMNS)
        message = f"cannot be read ({exc}); write a models.csv with columns {columns} (tokens optional)"
        return empty(), [Problem(str(models_path), None, None, message)]
    missing = [c for c in MODELS_COLUMNS if c not in models.columns]
    if missing:
        message = (
            f"missing column(s) {', '.join(missing)}; the header must name "
            f"{', '.join(MODELS_COLUMNS)} (tokens optional)"
        )
        return empty(), [Problem(str(models_path), 1, ",".join(missing), message)]
    models = models.apply(lambda s: s.str.strip())
    files = sorted(p.name for p in folder.glob("*.json"))
    listed = dict(zip(models["file"], models.index, strict=True))
    for name in files:
        if name not in listed:
            message = (
                f"is not listed in {models_path}; add the line '{name},<model>,<family>,<params>' (e.g. 1.4B) and rerun"
            )
            problems.append(Problem(f"{label}/{name}", None, None, message))
    rows = []
    for i, m in models.iterrows():
        path = folder / m["file"]
        # only the dataset folder's own files are read: no path outside it, no directory, no blank name
        inside = (m["file"] != "" and Path(m["file"]).name == m["file"] and m["file"] not in (".", "..")
                  and path.resolve().parent == folder.resolve())
        if not (inside and path.is_file()):
            message = (f"names {m['file']!r}, which is not a file in {folder}; only the folder's own files are read: "
                       "give the file's name alone, or remove the line")
            problems.append(Problem(str(models_path), i + 2, "file", message))
            continue
        try:
            scores, notes = parse_harness_file(path)
        except (ValueError, json.JSONDecodeError) as exc:
            problems.append(Problem(f"{label}/{m['file']}", None, None, f"cannot be read: {exc}"))
            continue
        problems += [Problem(f"{label}/{m['file']}", None, None, n) for n in notes]
        for s in scores:
            rows.append(
                {"model": m["model"], "family": m["family"], "params": m["params"], "tokens": m.get("tokens", ""),
                 "benchmark": s["task"].split("-")[0], **s,
                 "source": f"lm-evaluation-harness output {folder.name}/{m['file']}"}
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

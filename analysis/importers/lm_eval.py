"""lm-evaluation-harness output folders, flat with a models.csv or as the harness writes them.

A dataset is ``data/lm-eval/<id>/`` holding either

* the harness's own tree, as ``lm_eval --output_path <id>`` writes it:
  ``<org>__<model>/results_<timestamp>.json``. Model and size come from the
  files (``model_name`` or ``config.model_args``' ``pretrained=``; the size
  from ``config.model_num_parameters``, else from the model's name, ``-160m``,
  ``-7b``), the family from the model's name without its organisation and size
  (``EleutherAI/pythia-160m-deduped`` is family ``pythia-deduped``), and, of
  several runs of one model, each task's latest (dataset settings:
  ``family_pattern``, a regular expression for the family; ``runs: all``, every
  run as replicates). A ``models.csv`` is optional:
  its rows (``file`` = the model's folder) set family, params or tokens.
  Group scores (``group_subtasks``: ``mmlu`` over its subjects) are not
  imported, their subtasks are, so that nothing is counted twice; or
* flat JSON files and a ``models.csv`` (file, model, family, params, optional
  tokens) naming the model each file scored (the old harness's layout, whose
  files do not name their model).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..csvtable import read_table, separator_hint
from ..problems import Problem
from .base import Importer, contract, empty, origin, own_files

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
    return harness_scores(_load(path))


def _load(path: Path) -> dict:
    """A harness file's JSON; ValueError (with the reason) for a file that is not harness output."""
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
    return data


def harness_scores(data: dict) -> tuple[list[dict], list[str]]:
    """The scores of one harness file's JSON (see `parse_harness_file`)."""
    notes: list[str] = []
    results = data["results"]
    groups = _mapping(data, "group_subtasks", notes)
    n_shot = _mapping(data, "n-shot", notes)
    n_samples = _mapping(data, "n-samples", notes)
    directions = _mapping(data, "higher_is_better", notes)
    config = _mapping(data, "config", notes)
    config_shots = config.get("num_fewshot")
    rows = []
    for task, metrics in results.items():
        if task in groups and groups[task]:
            notes.append(f"task {task!r}: a group score, the mean of its subtasks, which are imported: the "
                         "group itself is left out (counted once)")
            continue
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
    rows, said = [], []
    # only the dataset folder's own files are read: no path outside it (a link neither), no directory
    own = {p.name for p in folder.iterdir() if p.is_file() and p.resolve().parent == folder.resolve()}
    for row, m in zip(model_rows, models.to_dict("records")):
        path = folder / m["file"]
        if m["file"] not in own:
            linked_out = bool(m["file"]) and _is_link(path)
            message = (f"names {m['file']!r}, a link to something outside {folder}: not read (the folder's other "
                       "files are); copy the file itself into the folder" if linked_out else
                       f"names {m['file']!r}, which is not a file in {folder}; only the folder's own files are read: "
                       "give the file's name alone, or remove the line")
            problems.append(Problem(str(models_path), int(row), "file", message))
            continue
        try:
            scores, notes = parse_harness_file(path)
        except (OSError, ValueError) as exc:
            problems.append(Problem(f"{label}/{m['file']}", None, None, f"cannot be read: {exc}"))
            continue
        said += [(n, m["file"]) for n in notes]
        for s in scores:
            rows.append(
                {"model": m["model"], "family": m["family"], "params": m["params"], "tokens": m.get("tokens", ""),
                 "benchmark": s["task"].split("-")[0], **s,
                 "source": f"lm-evaluation-harness output {folder.name}/{m['file']}",
                 **origin(f"{label}/{m['file']}", None, str(models_path), int(row))}
            )  # fmt: skip
    problems += said_once(said, label)
    return contract(pd.DataFrame(rows)), problems


def _is_link(path: Path) -> bool:
    """A symbolic link (False for a name the system cannot even look up, as one too long)."""
    try:
        return path.is_symlink()
    except OSError:
        return False


def said_once(notes: list[tuple[str, str]], label: str) -> list[Problem]:
    """One problem per kind of note (the same words about other tasks or files), not one per file and task:
    (note, file) pairs in, "task 'a', 'b' and 24 other task(s) metric 'x': ... (3 files)" out."""
    kinds: dict[str, tuple[list[str], list[str]]] = {}
    first: dict[str, str] = {}
    for text, file in notes:
        m = re.match(r"^task '([^']*)'[: ]\s*(.*)$", text, flags=re.S)
        task, rest = (m.group(1), m.group(2)) if m else ("", text)
        first.setdefault(rest, text)
        tasks, files = kinds.setdefault(rest, ([], []))
        if task and task not in tasks:
            tasks.append(task)
        if file not in files:
            files.append(file)
    out = []
    for rest, (tasks, files) in kinds.items():
        who = (", ".join(repr(t) for t in tasks[:3]) + (f" and {len(tasks) - 3} other(s)" if len(tasks) > 3 else "")
               + ": ") if tasks else ""
        where = f" ({len(files)} files)" if len(files) > 1 else ""
        text = first[rest] if len(tasks) <= 1 and len(files) == 1 else f"{who}{rest}{where}"   # one: as it was said
        out.append(Problem(f"{label}/{files[0]}" if len(files) == 1 else label, None, None, text,
                           kept=NOT_IMPORTED not in rest))
    return out


# ---------------------------------------------------------------- the harness's own tree
#: `lm_eval --output_path` writes <output_path>/<model name, "/" as "__">/results_<timestamp>.json
RUN_FILES = "*/results_*.json"
#: a size in a model's name: -160m, -6.9b, _7B, -1.3B- (a number and a unit, between separators)
_NAME_SIZE = re.compile(r"(?i)(?:^|[-_./])(\d+(?:\.\d+)?)\s*([kmbt])(?=$|[-_./])")


def model_of(data: dict, folder_name: str) -> tuple[str, str | None, str]:
    """(model name, size as written, where the size came from) of one results file."""
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    name = data.get("model_name") if isinstance(data.get("model_name"), str) else None
    args = config.get("model_args")
    if not name and isinstance(args, str):
        name = dict(kv.split("=", 1) for kv in args.split(",") if "=" in kv).get("pretrained")
    name = name or folder_name.replace("__", "/")
    count = _whole(config.get("model_num_parameters"), 1)
    if count:
        return name, str(count), "config.model_num_parameters"
    m = _NAME_SIZE.search(name.rsplit("/", 1)[-1])
    return name, (f"{m.group(1)}{m.group(2).upper()}" if m else None), "the model's name"


def family_of(model: str) -> str:
    """The model's name without its organisation and its size: the family rule of harness trees."""
    stem = model.rsplit("/", 1)[-1]
    stem = _NAME_SIZE.sub(lambda m: m.group(0)[0] if m.group(0)[0] in "-_./" else "", stem)
    return re.sub(r"[-_.]{2,}", "-", stem).strip("-_. ") or stem


def _timestamp(path: Path) -> str:
    return path.stem.removeprefix("results_")


def read_harness_tree(folder: str | Path, family_pattern: str | None = None,
                      runs: str = "latest") -> tuple[pd.DataFrame, list[Problem]]:
    """A harness output tree (`lm_eval --output_path`) as contract rows: the latest run of each model
    and task (`runs: all`: every run, as replicates); sizes and families from the files
    (`family_pattern`: a regular expression whose first group, or whole match, in the model's name
    is its family), overridden by an optional models.csv."""
    folder = Path(folder)
    label = str(folder)
    problems: list[Problem] = []
    try:
        pattern = re.compile(family_pattern) if family_pattern else None
    except re.error as exc:
        return empty(), [Problem(label, None, None, f"family_pattern {family_pattern!r} is not a regular "
                                 f"expression ({exc}); fix it in the dataset's settings")]
    unmatched: list[str] = []
    override = {}
    if (folder / "models.csv").is_file():
        table = read_table(folder / "models.csv", required=("file",))
        problems += table.problems
        if table.readable and "file" in table.columns:
            override = {r["file"].strip("/"): (int(row), r)
                        for row, r in zip(table.rows, table.frame.to_dict("records"))}
    own, outside = own_files(folder, sorted(folder.glob(RUN_FILES)))
    problems += outside
    by_model: dict[str, list[Path]] = {}
    for path in own:
        by_model.setdefault(path.parent.name, []).append(path)
    rows, said, superseded = [], [], 0
    for model_dir, paths in by_model.items():
        taken: set[str] = set()
        for path in sorted(paths, key=_timestamp, reverse=True):         # the latest run of each task first
            rel = f"{model_dir}/{path.name}"
            try:
                data = _load(path)
                scores, notes = harness_scores(data)
            except (OSError, ValueError) as exc:
                problems.append(Problem(f"{label}/{rel}", None, None, f"cannot be read: {exc}"))
                continue
            said += [(n, rel) for n in notes]
            model, size, size_from = model_of(data, model_dir)
            row, given = override.get(model_dir, (None, {}))
            found = pattern.search(model) if pattern else None
            if pattern and not found and model not in unmatched:
                unmatched.append(model)
            family = given.get("family") or (
                (found.group(1) if found.groups() else found.group(0)) if found else family_of(model))
            params = given.get("params") or size
            if not params:
                problems.append(Problem(f"{label}/{rel}", None, "params", (
                    f"model {model!r}: the file gives no config.model_num_parameters and its name no size; add "
                    f"'{model_dir},{model},{family},<params>' to {folder / 'models.csv'} (header file,model,family,"
                    "params)")))
                continue
            fresh = [s for s in scores if s["task"] not in taken or runs == "all"]
            superseded += len(scores) - len(fresh)
            taken |= {s["task"] for s in scores}
            source = (f"lm-evaluation-harness output {folder.name}/{rel}; size from "
                      + ("models.csv" if given.get("params") else size_from))
            for s in fresh:
                rows.append({"model": given.get("model") or model, "family": family, "params": params,
                             "tokens": given.get("tokens", ""), "benchmark": s["task"].split("-")[0], **s,
                             "source": source,
                             **origin(f"{label}/{rel}", None, str(folder / "models.csv") if row else None, row)})
    problems += said_once(said, label)
    if unmatched:
        problems.append(Problem(label, None, None, (
            f"family_pattern {family_pattern!r} does not match {len(unmatched)} model name(s) "
            f"({', '.join(unmatched[:3])}): their family is the name without organisation and size"), kept=True))
    if superseded:
        problems.append(Problem(label, None, None, (
            f"{superseded} score(s) of earlier runs of the same model and task are not imported: the latest "
            "run of each task is (remove the older results files to silence this)"), kept=True))
    return contract(pd.DataFrame(rows)), problems


def read_output(folder: str | Path, family_pattern: str | None = None,
                runs: str = "latest") -> tuple[pd.DataFrame, list[Problem]]:
    """A dataset folder of either layout: the harness's own tree (its options: `read_harness_tree`), or
    flat files with a models.csv."""
    folder = Path(folder)
    if any(folder.glob(RUN_FILES)):
        return read_harness_tree(folder, family_pattern, runs)
    return read_lm_eval(folder)


def _discover(data: Path) -> dict[str, Path]:
    found = {p.parent for p in (data / "lm-eval").glob("*/models.csv")}
    found |= {p.parent.parent for p in (data / "lm-eval").glob(f"*/{RUN_FILES}")}
    return {p.name: p for p in sorted(found)}


def _inputs(folder: Path) -> list[Path]:
    listed = [folder / "models.csv"] if (folder / "models.csv").exists() else []
    return [*listed, *sorted(folder.glob("*.json")), *sorted(folder.glob(RUN_FILES))]


def _claims(path: Path) -> bool:
    return path.is_dir() and ((path / "models.csv").exists() or any(path.glob("*.json"))
                              or any(path.glob(RUN_FILES)))


IMPORTER = Importer(
    kind="lm-eval",
    discover=_discover,
    inputs=_inputs,
    read=read_output,
    claims=_claims,
    layout="lm-eval/<id>/ (the harness's <org>__<model>/results_<timestamp>.json tree, or JSON files + models.csv)",
    options=("family_pattern", "runs"),
)

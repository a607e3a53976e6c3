"""BIG-bench score files, as google/BIG-bench keeps them: one JSON per task and model.

A dataset is ``data/bigbench/<id>/`` holding (part of) the repository's
``bigbench/benchmark_tasks/`` tree as it is: ``<task>/results/scores_<model>.json``
(or ``<task>/scores_<model>.json`` when only a results folder was copied), and,
where they were copied too, the task's ``<task>/task.json`` and its subtasks'
``<task>/<subtask>/task.json``. No sidecar and no models.csv: each file names its
model (``model.model_name``), family (``model.model_family``) and size.

Size. ``params`` is ``model.flop_matched_non_embedding_params``: non-embedding
parameters, as the BIG-bench paper (Srivastava et al. 2022) plots them, and for
the sparse (mixture-of-experts) family the dense-equivalent count at the same
FLOPs per token. For dense models BIG-bench defines it equal to
``non_embedding_params`` (``bigbench/api/model.py``), and it is the x axis of
BIG-bench's own analysis code (``TaskResults`` in ``bigbench/api/results.py``).
``total_params`` (with embeddings; for sparse models every expert) is not used.
The ``source`` cell says so.

Scores. Every ``scores`` entry gives one row per ``score_dict`` key: task = the
task folder, or ``subtask_description`` where the entry is a subtask's (JSON tasks
name them ``task:subtask``; a programmatic task's free-text description is put
after ``task:``); metric = the key; shots = ``number_of_shots`` (-1, "not
applicable", is left blank). The entry's ``preferred_score`` is BIG-bench's
headline: its direction is ``low_score < high_score``, and ``low_score`` is its
``chance`` where it is the guessing floor (multiple_choice_grade: the expected
score of a uniform guess, computed by BIG-bench from the task's examples; exact
and case-insensitive string match: 0). The other metrics come in as extra rows
whose ``source`` says they are not BIG-bench's preferred metric; their direction
and unit come from BIG-bench's built-in metrics (``KNOWN_METRICS``), and any other
metric is listed as a problem, not guessed. BIG-bench stores its 0-1 metrics as
fractions and BLEU, ROUGE and sequence_f1 on 0-100 (percent).

Item counts. The score files do not say how many examples were scored. Where the
task's ``task.json`` is present, ``n_items`` is its number of distinct examples
(BIG-bench drops duplicates before scoring; a task with subtasks counts theirs);
else it is blank and the noise is estimated from the residuals. Programmatic tasks
have no task.json.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from ..problems import Problem
from .base import Importer, contract, empty, origin, own_files

BENCHMARK = "BIG-bench"
PARAMS_FIELD = "flop_matched_non_embedding_params"
MODEL_FIELDS = ("model_family", "model_name", PARAMS_FIELD)
ENTRY_FIELDS = ("score_dict", "preferred_score", "number_of_shots")
#: BIG-bench's built-in metrics (bigbench/api/json_task.py SCORE_RANGES, task_metrics.py): (higher is better, unit)
KNOWN_METRICS = {
    **dict.fromkeys(("multiple_choice_grade", "exact_str_match", "case_insensitive_str_match", "macro_f1",
                     "numeric_match_with_0_1_relative_error"), (True, "fraction")),
    **dict.fromkeys(("calibration_multiple_choice_brier_score", "expected_calibration_error"), (False, "fraction")),
    **dict.fromkeys(("bleu", "rouge1", "rouge2", "rougeLsum", "sequence_f1"), (True, "percent")),
    **dict.fromkeys(("bleurt", "log_likelihood", "log_likelihood_per_word", "log_likelihood_per_char",
                     "weighted_log_probabilities", "weighted_probabilities"), (True, "raw")),
}  # fmt: skip
#: preferred metrics whose low_score is the score of guessing
CHANCE_METRICS = {"multiple_choice_grade", "exact_str_match", "case_insensitive_str_match"}
NOT_IMPORTED = "not imported"


def _number(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def _load(path: Path):
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ValueError("is nested too deeply to be a BIG-bench file") from None


def item_counts(task_dir: Path) -> dict[str, int]:
    """{task or `task:subtask` name: distinct examples} from the task's task.json files (empty if none)."""
    def distinct(data) -> int | None:
        examples = data.get("examples") if isinstance(data, dict) else None
        if not isinstance(examples, list) or not examples:
            return None
        return len({json.dumps(x) for x in examples})

    try:
        top = _load(task_dir / "task.json") if (task_dir / "task.json").is_file() else None
    except (OSError, ValueError):
        return {}
    if not isinstance(top, dict):
        return {}
    name = str(top.get("name", task_dir.name))
    counts = {name: distinct(top)}
    if "examples" not in top:  # a task with subtasks: one folder each, named in its own task.json
        for sub in sorted(task_dir.glob("*/task.json")):
            try:
                data = _load(sub)
            except (OSError, ValueError):
                continue
            if isinstance(data, dict):
                counts[f"{name}:{data.get('name', sub.parent.name)}"] = distinct(data)
        subs = [n for k, n in counts.items() if k.startswith(f"{name}:")]
        if subs and all(subs):
            counts[name] = sum(subs)
    return {k: v for k, v in counts.items() if v}


def parse_score_file(path: Path, task: str, items: dict[str, int]) -> tuple[list[dict], list[Problem]]:
    """Contract rows of one scores_<model>.json, and its problems. Raises ValueError for a file that is not one."""
    data = _load(path)
    if not isinstance(data, dict) or not isinstance(data.get("model"), dict) or \
            not isinstance(data.get("scores"), list):
        raise ValueError("has no 'model' object and 'scores' list; is it a BIG-bench scores_<model>.json "
                         "(from bigbench/benchmark_tasks/<task>/results/)?")
    model, label, problems = data["model"], str(path), []
    if not data["scores"]:
        return [], [Problem(label, None, "scores", "has an empty 'scores' list: nothing to import; remove the file")]
    missing = [f for f in MODEL_FIELDS if model.get(f) in (None, "")]
    if missing:
        return [], [Problem(label, None, f"model.{f}", f"has no model.{f}; add it (BIG-bench's ModelData has it) "
                            f"or leave the file out; its scores are {NOT_IMPORTED}") for f in missing]
    params = model[PARAMS_FIELD]
    if _number(params) is None or params <= 0:
        return [], [Problem(label, None, f"model.{PARAMS_FIELD}", f"is {params!r}, not a positive parameter count; "
                            f"correct it (dense models: non_embedding_params); its scores are {NOT_IMPORTED}")]
    family, name = str(model["model_family"]), str(model["model_name"])
    source = f"{BENCHMARK} {task}/results/{path.name}; params = {PARAMS_FIELD}"
    rows, unknown = [], {}
    for i, entry in enumerate(data["scores"]):
        where = f"scores[{i}]"
        lacking = [f for f in ENTRY_FIELDS if not isinstance(entry, dict) or f not in entry]
        if lacking or not isinstance(entry["score_dict"], dict):
            what = f"has no {', '.join(lacking)}" if lacking else "has a score_dict that is not an object"
            problems.append(Problem(label, None, where, f"{what}; fix or remove that entry; {NOT_IMPORTED}"))
            continue
        preferred, shots = str(entry["preferred_score"]), entry["number_of_shots"]
        if shots != -1 and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 0):
            problems.append(Problem(label, None, f"{where}.number_of_shots", f"{shots!r} is not a whole number "
                                    "≥ 0 (or -1, not applicable); shots left blank", kept=True))
        desc = str(entry.get("subtask_description") or task)
        sub = desc if desc == task or desc.startswith(f"{task}:") else f"{task}:{desc}"
        low, high = _number(entry.get("low_score")), _number(entry.get("high_score"))
        if preferred not in entry["score_dict"]:
            problems.append(Problem(label, None, f"{where}.score_dict", f"lacks its preferred_score {preferred!r}: "
                                    "only its other metrics are imported", kept=True))
        for metric, value in entry["score_dict"].items():
            col = f"{where}.score_dict.{metric}"
            if _number(value) is None:
                problems.append(Problem(label, None, col, f"{value!r} is not a finite number; {NOT_IMPORTED}"))
                continue
            hib, unit = KNOWN_METRICS.get(metric, (None, "raw"))
            is_pref = metric == preferred
            if is_pref and low is not None and high is not None and low != high:
                hib = low < high
            if hib is None:
                unknown.setdefault(metric, col)
                continue
            rows.append({
                "model": name, "family": family, "params": str(int(params)), "benchmark": BENCHMARK,
                "task": sub, "metric": metric, "score": float(value),
                "shots": shots if isinstance(shots, int) and not isinstance(shots, bool) and shots >= 0 else "",
                "unit": unit, "higher_is_better": hib, "n_items": items.get(sub, ""),
                "chance": low if is_pref and metric in CHANCE_METRICS and low is not None else "",
                "source": source + ("" if is_pref else f"; not BIG-bench's preferred metric ({preferred})"),
                **origin(label, None)})  # fmt: skip
    for metric, col in unknown.items():
        problems.append(Problem(label, None, col, (
            f"metric {metric!r}: direction unknown (not BIG-bench's preferred metric with distinct low_score and "
            f"high_score, nor a built-in one); {NOT_IMPORTED}")))
    return rows, problems


def score_files(folder: Path) -> list[tuple[str, Path]]:
    """(task, file) for every ``<task>/results/scores_*.json`` and ``<task>/scores_*.json`` under a dataset."""
    found = [(p.parent.parent.name, p) for p in folder.glob("*/results/scores_*.json")]
    found += [(p.parent.name, p) for p in folder.glob("*/scores_*.json") if p.parent.name != "results"]
    return sorted((t, p) for t, p in found if p.is_file())


def read_bigbench(folder: str | Path) -> tuple[pd.DataFrame, list[Problem]]:
    """A copy of BIG-bench's benchmark_tasks tree (or part of it) as contract rows."""
    folder = Path(folder)
    files = score_files(folder)
    if not files:
        return empty(), [Problem(str(folder), None, None, (
            "holds no BIG-bench score file; copy the task folders as in the repository: "
            "<task>/results/scores_<model>.json"))]
    rows, counts = [], {}
    own, problems = own_files(folder, [p for _, p in files])
    files = [(t, p) for t, p in files if p in own]
    for task, path in files:
        if task not in counts:
            counts[task] = item_counts(path.parent.parent if path.parent.name == "results" else path.parent)
        try:
            got, notes = parse_score_file(path, task, counts[task])
        except (OSError, ValueError) as exc:
            problems.append(Problem(str(path), None, None, f"cannot be read: {exc}"))
            continue
        rows += got
        problems += notes
    return contract(pd.DataFrame(rows)), problems


def _discover(data: Path) -> dict[str, Path]:
    root = data / "bigbench"
    return {p.name: p for p in sorted(root.iterdir()) if p.is_dir() and score_files(p)} if root.is_dir() else {}


def _inputs(folder: Path) -> list[Path]:
    tasks = {p.parent.parent if p.parent.name == "results" else p.parent for _, p in score_files(folder)}
    jsons = [j for t in sorted(tasks) for j in [t / "task.json", *sorted(t.glob("*/task.json"))] if j.is_file()]
    return [*(p for _, p in score_files(folder)), *jsons]


def _claims(path: Path) -> bool:
    return path.is_dir() and bool(score_files(path))


IMPORTER = Importer(
    kind="bigbench",
    discover=_discover,
    inputs=_inputs,
    read=read_bigbench,
    claims=_claims,
    layout="bigbench/<id>/<task>/results/scores_<model>.json (BIG-bench's benchmark_tasks tree)",
)

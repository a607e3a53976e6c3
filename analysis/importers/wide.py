"""Wide tables: one row per model, one column per score, described by a YAML sidecar.

A dataset is ``data/wide/<id>.csv`` with its sidecar ``data/wide/<id>.yaml``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from ..loading import Problem
from .base import Importer, contract, empty

_PASSED = ("shots", "unit", "higher_is_better", "n_items", "stderr", "chance", "source")


def read_wide(table: str | Path, sidecar: str | Path | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """A table with one row per model and one column per score, described by a YAML sidecar.

    The sidecar names the id columns (model, family, params, optional tokens),
    `defaults` for every score column, and under `scores` each score column's
    benchmark, task, metric, shots, unit, chance, n_items. Columns listed under
    `ignore` are skipped; any other column is reported. A blank cell means the
    model was not evaluated there: no row, no problem.
    """
    table = Path(table)
    sidecar = Path(sidecar) if sidecar else table.with_suffix(".yaml")
    loaded = _load(table, sidecar)
    if isinstance(loaded, Problem):
        return empty(), [loaded]
    spec, wide = loaded
    ids = {k: spec.get(k, k) for k in ("model", "family", "params")}
    if spec.get("tokens"):
        ids["tokens"] = spec["tokens"]
    scores = spec.get("scores") or {}
    missing = [v for v in ids.values() if v not in wide.columns] + [c for c in scores if c not in wide.columns]
    if missing:
        message = f"column(s) {', '.join(missing)} named in {sidecar} are not in the table"
        return empty(), [Problem(str(table), 1, ",".join(missing), message)]
    problems = _undescribed(wide, table, sidecar, {*ids.values(), *scores, *(spec.get("ignore") or [])})
    return contract(pd.DataFrame(_long_rows(wide, ids, scores, spec.get("defaults") or {}))), problems


def _load(table: Path, sidecar: Path) -> tuple[dict, pd.DataFrame] | Problem:
    """The sidecar and the table, or the problem that stops reading them."""
    try:
        spec = yaml.safe_load(sidecar.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return Problem(str(table), None, None, f"has no sidecar {sidecar}; write one that names the id columns "
                       "and describes each score column (see data/README.md)")
    except yaml.YAMLError as exc:
        return Problem(str(sidecar), None, None, f"is not valid YAML: {exc}")
    try:
        return spec, pd.read_csv(table, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        return Problem(str(table), None, None, f"cannot be read as CSV ({exc})")


def _long_rows(wide: pd.DataFrame, ids: dict, scores: dict, defaults: dict) -> list[dict]:
    """One contract row per non-blank score cell (blank: the model was not evaluated there)."""
    rows = []
    for col, meta in scores.items():
        meta = {**defaults, **(meta or {})}
        for _, r in wide[wide[col].str.strip() != ""].iterrows():
            rows.append(
                {**{k: r[v] for k, v in ids.items()}, "benchmark": meta.get("benchmark", col),
                 "task": meta.get("task", col), "metric": meta.get("metric", ""), "score": r[col],
                 **{k: meta[k] for k in _PASSED if k in meta}}
            )  # fmt: skip
    return rows


def _undescribed(wide: pd.DataFrame, table: Path, sidecar: Path, known: set) -> list[Problem]:
    """A problem for every column the sidecar does not describe."""
    return [
        Problem(str(table), 1, col, f"column {col!r} is not described in {sidecar}; "
                "add it under scores (with its metric) or under ignore")
        for col in wide.columns if col not in known
    ]  # fmt: skip


def _read(source: Path) -> tuple[pd.DataFrame, list[Problem]]:
    """The table or its sidecar, whichever was given."""
    source = Path(source)
    if source.suffix in (".yaml", ".yml"):
        return read_wide(source.with_suffix(".csv"), source)
    return read_wide(source)


def _discover(data: Path) -> dict[str, Path]:
    return {p.stem: p.with_suffix(".csv") for p in sorted((data / "wide").glob("*.yaml"))}


def _inputs(table: Path) -> list[Path]:
    return [table, table.with_suffix(".yaml")]


def _claims(path: Path) -> bool:
    return not path.is_dir() and (path.suffix in (".yaml", ".yml") or path.with_suffix(".yaml").exists())


IMPORTER = Importer(
    kind="wide",
    discover=_discover,
    inputs=_inputs,
    read=_read,
    claims=_claims,
    layout="wide/<id>.csv with its sidecar <id>.yaml",
)

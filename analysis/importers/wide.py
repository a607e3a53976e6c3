"""Wide tables: one row per model, one column per score, described by a YAML sidecar.

A dataset is ``data/wide/<id>.csv`` with its sidecar ``data/wide/<id>.yaml``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from ..csvtable import read_table, separator_hint
from ..loading import header_unit, unit_suffix
from ..problems import Problem
from .base import Importer, contract, empty, origin

_PASSED = ("shots", "unit", "higher_is_better", "n_items", "stderr", "chance", "source")


def read_wide(table: str | Path, sidecar: str | Path | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """A table with one row per model and one column per score, described by a YAML sidecar.

    The sidecar names the id columns (model, family, params, optional tokens;
    `params_unit: B` when the params column holds billions, likewise `tokens_unit`),
    `defaults` for every score column, and under `scores` each score column's
    benchmark, task, metric, shots, unit, chance, n_items. Columns listed under
    `ignore` are skipped; any other column is reported. A blank cell means the
    model was not evaluated there: no row, no problem.
    """
    table = Path(table)
    sidecar = Path(sidecar) if sidecar else table.with_suffix(".yaml")
    spec = _sidecar(table, sidecar)
    if isinstance(spec, Problem):
        return empty(), [spec]
    wide = read_table(table)
    if not wide.readable:
        return empty(), wide.problems
    ids = {k: spec.get(k) or k for k in ("model", "family", "params")}
    if spec.get("tokens"):
        ids["tokens"] = spec["tokens"]
    missing_ids = [v for v in ids.values() if v not in wide.columns]
    if missing_ids:
        message = f"column(s) {', '.join(missing_ids)} named in {sidecar} are not in the table" + \
            separator_hint(wide.columns)
        return empty(), [Problem(str(table), 1, ",".join(missing_ids), message)]
    # a score column the sidecar names but the table lacks costs that column only
    absent = [c for c in spec["scores"] if c not in wide.columns]
    scores = {c: meta for c, meta in spec["scores"].items() if c in wide.columns}
    problems = wide.problems + [Problem(str(table), 1, c, (
        f"score column {c!r} named in {sidecar} is not in the table: that column is skipped, the others "
        "are read" + separator_hint(wide.columns))) for c in absent]
    problems += _undescribed(wide.columns, table, sidecar, {*ids.values(), *spec["scores"], *spec["ignore"]})
    units = {}
    for key in ("params", "tokens"):
        unit, named = spec.get(f"{key}_unit"), key in ids and header_unit(ids[key])
        if unit is not None:
            units[key] = unit_suffix(unit)
        if named and (unit is None or unit_suffix(unit) != named):
            problems.append(Problem(str(table), 1, ids[key], (
                f"the {key} column {ids[key]!r} names a unit ({named}) but the sidecar "
                + (f"says {key}_unit: {unit}" if unit is not None else f"sets no {key}_unit")
                + f"; add {key}_unit: {named} to {sidecar.name} (else plain numbers are counts)"), kept=True))
    rows = _long_rows(wide, table, ids, scores, spec["defaults"])
    for key, unit in units.items():
        for r in rows:     # a plain number in the column's unit; a cell that writes its own unit keeps it
            if _PLAIN.match(r[key]):
                r[key] = f"{r[key].strip()}{unit}"
    return contract(pd.DataFrame(rows)), problems


#: a plain number, which a sidecar's `params_unit: B` (any unit `loading.unit_suffix` knows) puts in that unit
_PLAIN = re.compile(r"^\s*[0-9]*\.?[0-9]+\s*$")


_SIDECAR_HELP = "see data/README.md for the layout"
_TOP_KEYS = ("model", "family", "params", "tokens", "params_unit", "tokens_unit", "defaults", "scores", "ignore")
_SCORE_KEYS = ("benchmark", "task", "metric", *_PASSED)
#: a sidecar bigger than this once its aliases are expanded is refused (an alias bomb)
_MAX_NODES = 100_000


class _UniqueKeyLoader(yaml.BaseLoader):
    """Every scalar read as the text written (no YAML 1.1 guessing: a task `010`, `no` or `1:30`, a metric
    `on`, stay those names; the contract reads numbers and true/false from text), a key given twice
    refused (else the last silently wins), and alias bombs refused."""

    nodes = 0

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice (the second would silently win)", key_node.start_mark)
            seen.add(key) if isinstance(key, (str, int, float, bool)) else None
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node, deep=False):
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            raise yaml.constructor.ConstructorError(
                None, None, f"it expands to more than {_MAX_NODES:,} values (aliases repeated?)", node.start_mark)
        return super().construct_object(node, deep=deep)


def _sidecar(table: Path, sidecar: Path) -> dict | Problem:
    """The sidecar as a mapping of the expected shape, or the problem that stops reading it."""
    def wrong(what: str) -> Problem:
        return Problem(str(sidecar), None, None, f"{what}; {_SIDECAR_HELP}")

    try:
        spec = yaml.load(sidecar.read_bytes().decode("utf-8-sig"), Loader=_UniqueKeyLoader)
    except FileNotFoundError:
        return Problem(str(table), None, None, f"has no sidecar {sidecar}; write one that names the id columns "
                       "and describes each score column (see data/README.md)")
    except UnicodeDecodeError:
        return wrong("is not UTF-8 text: save it as UTF-8")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return Problem(str(sidecar), mark.line + 1 if mark else None, None,
                       f"is not valid YAML ({where}{getattr(exc, 'problem', None) or exc})")
    spec = {} if spec in (None, "") else spec
    if isinstance(spec, dict):      # a key written with nothing after it is absent, as YAML's null was
        spec = {k: None if v == "" else v for k, v in spec.items()}
    if not isinstance(spec, dict):
        return wrong(f"is a YAML {type(spec).__name__}, not a mapping (key: value lines) with model, family, "
                     "params and scores")
    for key in ("model", "family", "params", "tokens"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            return wrong(f"{key} must name one column of the table (it is {_short(spec[key])})")
    for key in ("params_unit", "tokens_unit"):
        if spec.get(key) is not None and unit_suffix(spec[key]) is None:
            return wrong(f"{key} must be one of k, M, B, T (or 1 for counts), not {_short(spec[key])}")
    for key in ("scores", "defaults"):
        if spec.get(key) is not None and not isinstance(spec[key], dict):
            return wrong(f"{key} must be a mapping (column: {{metric: ...}}), not {_short(spec[key])}")
    unknown = _unknown_keys(spec, _TOP_KEYS, "")
    if unknown:
        return wrong(unknown)
    ignore = spec.get("ignore") or []
    if not isinstance(ignore, list) or not all(isinstance(c, str) for c in ignore):
        return wrong(f"ignore must be a list of column names, not {_short(ignore)}")
    scores = {str(c): None if meta == "" else meta for c, meta in (spec.get("scores") or {}).items()}
    for column, meta in [("defaults", spec.get("defaults") or {}), *scores.items()]:
        if meta is not None and not isinstance(meta, dict):
            return wrong(f"scores: {column}: {_short(meta)} must be a mapping such as {{metric: {_short(meta)}}}"
                         if column != "defaults" else f"defaults must be a mapping, not {_short(meta)}")
        unknown = _unknown_keys(meta or {}, _SCORE_KEYS, f"{column}: ")
        if unknown:
            return wrong(unknown)
        for key, value in (meta or {}).items():
            if isinstance(value, (dict, list)):
                return wrong(f"{column}: {key} must be one value, not {_short(value)}")
    return {**spec, "scores": scores, "ignore": ignore, "defaults": spec.get("defaults") or {}}


def _unknown_keys(mapping: dict, known: tuple[str, ...], where: str) -> str | None:
    """A key the sidecar does not know would be ignored (a misspelt higher_is_better would turn an error
    rate into an inverse curve): refused, with the nearest known key."""
    import difflib
    for key in mapping:
        if key not in known:
            near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            hint = f'did you mean "{near[0]}"?' if near else f"the keys are {', '.join(known)}"
            return f"{where}unknown key {_short(key)}: {hint}"
    return None


def _short(value, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _long_rows(wide, table: Path, ids: dict, scores: dict, defaults: dict) -> list[dict]:
    """One contract row per non-blank score cell (blank: the model was not evaluated there)."""
    rows = []
    frame = wide.frame
    for col, meta in scores.items():
        meta = {**defaults, **(meta or {})}
        for row, r in zip(wide.rows, frame.to_dict("records")):
            if r[col] == "":
                continue
            rows.append(
                {**{k: r[v] for k, v in ids.items()}, "benchmark": meta.get("benchmark", col),
                 "task": meta.get("task", col), "metric": meta.get("metric", ""), "score": r[col],
                 **{k: meta[k] for k in _PASSED if k in meta}, **origin(str(table), int(row))}
            )  # fmt: skip
    return rows


def _undescribed(columns: list[str], table: Path, sidecar: Path, known: set) -> list[Problem]:
    """A problem for every column the sidecar does not describe."""
    return [
        Problem(str(table), 1, col, f"column {col!r} is not described in {sidecar}; "
                "add it under scores (with its metric) or under ignore")
        for col in dict.fromkeys(columns) if col not in known
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

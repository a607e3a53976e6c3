"""The importer interface and what every importer shares.

An importer turns one kind of input people already have (a harness output
folder, a wide leaderboard table, ...) into rows of the data contract, with
every problem named. A kind is one module in this package that defines
``IMPORTER = Importer(...)``; the package finds it by itself (see
``analysis.importers.registry``), and the workflow then discovers its datasets
under ``data/<kind>/`` and imports them with the one ``import_dataset`` rule.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..csvtable import read_table
from ..loading import NO_ROWS, OPTIONAL, ORIGIN, REQUIRED
from ..problems import Problem
from ..schema import PROBLEMS

CONTRACT = (*REQUIRED, *OPTIONAL)
#: the contract columns whose values come from the model's identity
MODEL_COLUMNS = ("model", "family", "params", "tokens", "compute")
PROBLEM_COLUMNS = tuple(c.name for c in PROBLEMS)

Reader = Callable[[Path], "tuple[pd.DataFrame, list[Problem]]"]


@dataclass(frozen=True)
class Importer:
    """One input kind.

    kind: its name, also the folder under the data folder that holds its
        datasets (``data/<kind>/...``) and under ``results/imported/``.
    discover: the data folder -> {dataset id: source path} of this kind
        (the source is what ``read`` takes).
    inputs: a source -> the files its import reads (the rule's ``input:``).
    read: a source -> (contract rows, every cell as text; problems).
    claims: whether a path given to ``convert()`` is of this kind.
    layout: how a dataset of this kind is laid out, for messages.
    options: the per-dataset settings ``read`` takes as keyword arguments (``datasets: {<id>: {...}}``).
    """

    kind: str
    discover: Callable[[Path], dict[str, Path]]
    inputs: Callable[[Path], list[Path]]
    read: Reader
    claims: Callable[[Path], bool]
    layout: str = ""
    options: tuple[str, ...] = ()


def origin(file: str, row: int | None, model_file: str | None = None, model_row: int | None = None) -> dict:
    """The origin columns of one imported row (the model's identity from the same place by default)."""
    return dict(zip(ORIGIN, (file, row, model_file or file, model_row if model_file else row)))


def own_files(folder: Path, paths: list[Path]) -> tuple[list[Path], list[Problem]]:
    """The paths that are files inside the dataset folder, and a problem for each that is not (a link
    out of it, or a folder): only the folder's own files are read."""
    root = folder.resolve()
    own = [p for p in paths if p.is_file() and p.resolve().is_relative_to(root)]
    said = ("is not a file inside the dataset folder (a link out of the dataset folder, or a folder): not read; "
            "copy the file itself into the folder")
    return own, [Problem(str(p), None, None, said) for p in paths if p not in own]


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(CONTRACT))


def _whole_text(v) -> str:
    """5, 5.0 and "5" as "5"; blank as blank; anything else as written (validation names it)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    try:
        f = float(v)
    except (TypeError, ValueError, OverflowError):
        return str(v)
    return str(int(f)) if math.isfinite(f) and f == int(f) else str(v)


def contract(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in contract column order, every cell as text (as if read from a CSV)."""
    out = empty() if df.empty else df.copy()
    for c in CONTRACT:
        if c not in out.columns:
            out[c] = ""
    out = out[list(CONTRACT) + [c for c in ORIGIN if c in out.columns]]
    for c in ("shots", "n_items", "origin_row", "model_origin_row"):
        if c not in out.columns:
            continue
        out[c] = out[c].map(_whole_text)
    out["higher_is_better"] = out["higher_is_better"].map(
        lambda v: "" if v in ("", None) or (isinstance(v, float) and math.isnan(v)) else str(v).lower()
    )
    return out.astype(object).map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))


def relocate(problems: list[Problem], imported: str | Path, label: str, source: str,
             escaped: bool = False) -> list[Problem]:
    """Problems found in an imported contract CSV (named `label`), moved to the user's file and row.

    A problem of a model column goes to where the model was described (e.g. models.csv), any other
    to where the score was; a problem of the whole file goes to the dataset's source. `escaped`: the
    CSV is spreadsheet-safe, as `write_imported` writes it.
    """
    table = read_table(imported, escaped=escaped)
    frame = table.frame
    where = {int(r): rec for r, rec in zip(table.rows, frame.to_dict("records"))} if set(ORIGIN) <= set(frame) \
        else {}
    out: dict[Problem, int] = {}
    for p in problems:
        if p.file != label:
            moved = p
        elif p.row is None or p.row == 1:
            message = "no score could be imported from it: see the problems of its files" if p.message == NO_ROWS \
                else p.message
            moved = Problem(source, None, p.column, message, p.kept)
        elif p.row in where:
            rec = where[p.row]
            model = p.column in MODEL_COLUMNS
            file = rec["model_origin_file" if model else "origin_file"]
            row = rec["model_origin_row" if model else "origin_row"]
            moved = Problem(file, int(row) if row else None, p.column, p.message, p.kept)
        else:
            moved = p
        out[moved] = out.get(moved, 0) + 1
    # one models.csv line holds the model of many scores: its problem is said once, with the count
    return [p if n == 1 else Problem(p.file, p.row, p.column, f"{p.message} ({n} scores)", p.kept)
            for p, n in out.items()]

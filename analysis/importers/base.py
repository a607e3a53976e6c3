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

from ..loading import OPTIONAL, REQUIRED, Problem
from ..schema import PROBLEMS

CONTRACT = (*REQUIRED, *OPTIONAL)
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
    """

    kind: str
    discover: Callable[[Path], dict[str, Path]]
    inputs: Callable[[Path], list[Path]]
    read: Reader
    claims: Callable[[Path], bool]
    layout: str = ""


def empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(CONTRACT))


def contract(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in contract column order, every cell as text (as if read from a CSV)."""
    out = empty() if df.empty else df.copy()
    for c in CONTRACT:
        if c not in out.columns:
            out[c] = ""
    out = out[list(CONTRACT)]
    for c in ("shots", "n_items"):
        out[c] = out[c].map(
            lambda v: "" if v is None or v == "" or (isinstance(v, float) and math.isnan(v)) else str(int(float(v)))
        )
    out["higher_is_better"] = out["higher_is_better"].map(
        lambda v: "" if v in ("", None) or (isinstance(v, float) and math.isnan(v)) else str(v).lower()
    )
    return out.astype(object).map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))

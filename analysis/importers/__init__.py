"""Importers: what people already have (harness output folders, wide leaderboard tables) as the data contract.

Each input kind is one module of this package defining ``IMPORTER`` (see
``base.Importer``); the registry finds them by itself. Every importer names
every problem (file, what is wrong, the line to add). To see or hand-edit the
result, `emergence-import` (``analysis.check``) prints it, checked as the run checks it:

    emergence-import data/lm-eval/pythia        # a harness folder
    emergence-import data/wide/leaderboard.csv  # a wide table + .yaml sidecar
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..csvtable import read_table
from ..problems import Problem, problems_frame
from ..schema import spreadsheet_safe
from .base import CONTRACT, PROBLEM_COLUMNS, Importer, contract, empty
from .lm_eval import KNOWN_METRICS, MODELS_COLUMNS, parse_harness_file, read_lm_eval
from .registry import (
    DatasetDefinedTwice,
    find_datasets,
    find_importers,
    id_problem,
    importer_for,
    importers,
    register,
    unread_files,
    unregister,
    valid_id,
)
from .wide import read_wide

for _importer in find_importers(__name__, __path__):
    register(_importer)

__all__ = [
    "CONTRACT", "KNOWN_METRICS", "MODELS_COLUMNS", "PROBLEM_COLUMNS", "DatasetDefinedTwice", "Importer",
    "contract", "convert", "empty", "find_datasets", "find_importers", "id_problem", "importer_for", "importers",
    "parse_harness_file", "read_lm_eval", "read_wide", "register", "unread_files", "unregister", "valid_id",
    "write_imported",
]  # fmt: skip


def convert(source: str | Path, options: dict | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Any supported input (any registered kind, or a contract CSV) as contract rows; `options`: the
    dataset's settings, of which the kind's importer takes those it declares."""
    source = Path(source)
    importer = importer_for(source)
    if importer is not None:
        return importer.read(source, **{k: v for k, v in (options or {}).items() if k in importer.options})
    if source.is_dir():
        kinds = ", ".join(importers())
        return empty(), [Problem(str(source), None, None, f"is a folder no input kind recognises (kinds: {kinds})")]
    table = read_table(source)
    return (contract(table.frame) if table.readable else empty()), table.problems


def write_imported(source: str, output: str, problems_out: str, options: dict | None = None) -> list[Problem]:
    """Workflow step: write the contract CSV and the importer's problems (under results/, so
    spreadsheet-safe like every table there; the analysis reads them back as written)."""
    df, problems = convert(source, options)
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    spreadsheet_safe(df).to_csv(output, index=False)
    spreadsheet_safe(problems_frame(problems)).to_csv(problems_out, index=False)
    return problems

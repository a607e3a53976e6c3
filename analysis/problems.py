"""What is wrong with the input, phrased so that the user can fix it.

Every reader reports a :class:`Problem` that names the file, the row (as a
spreadsheet shows it: the header is row 1), the column and the fix. Only the
first `MAX_LISTED` rows set aside in a file are listed one by one; the rest
are counted in one line, so that a file whose every row is wrong costs
seconds, not gigabytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

#: rows set aside that are listed one by one, per file and reader
MAX_LISTED = 1000


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input."""

    file: str
    row: int | None  # spreadsheet row (header = 1); None for the whole file
    column: str | None
    message: str
    kept: bool = False  # a warning: the row is analysed as given

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file} row {self.row}"
        return f"{where}: {self.message}"


class DataError(ValueError):
    """Raised when input is rejected as a whole (strict mode, unreadable file)."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def problems_frame(problems: list[Problem]) -> pd.DataFrame:
    """Problems as the rejected-input table (columns declared in `schema.PROBLEMS`)."""
    from .schema import PROBLEMS, names
    return pd.DataFrame([(p.file, p.row, p.column, p.message, p.kept) for p in problems], columns=names(PROBLEMS))


def more_rows(label: str, rows, what: str) -> list[Problem]:
    """One line for the rows set aside beyond those listed (empty if there are none)."""
    rows = list(rows)
    if not rows:
        return []
    return [Problem(label, None, None, (
        f"{len(rows):,} more rows (rows {min(rows)}-{max(rows)}) are set aside for {what}; only the first "
        f"{MAX_LISTED:,} are listed: fix those and rerun to see the rest"))]

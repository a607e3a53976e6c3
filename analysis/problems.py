"""What is wrong with the input, phrased so that the user can fix it.

Every reader reports a :class:`Problem` that names the file, the row (as a
spreadsheet shows it: the header is row 1), the column and the fix. Only the
first `MAX_LISTED` rows set aside in a file are listed one by one; the rest
are counted in one line, so that a file whose every row is wrong costs
seconds, not gigabytes.
"""
from __future__ import annotations

import re
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


def kept(problems: pd.DataFrame) -> pd.Series:
    """Which problems are warnings on input analysed as given (the others set something aside)."""
    if "kept" not in problems:
        return pd.Series(False, index=problems.index)
    return problems["kept"].fillna(False).astype(bool)


def _kind(message: str) -> str:
    """What a problem's message says once its particulars (names, values, row numbers) are left out:
    its last clause (the fix), with quoted text and numbers blanked."""
    tail = re.split(r"; |: ", message)[-1]
    return re.sub(r"\d+(?:[.,]\d+)*", "#", re.sub(r"'[^']*'|\"[^\"]*\"", "…", tail))


@dataclass(frozen=True)
class Repeated:
    """One kind of problem in one file: its first occurrence, and how many more there are."""

    example: Problem
    more: int = 0
    rows: str = ""  # where the others are: "3-17"

    def __str__(self) -> str:
        if not self.more:
            return str(self.example)
        return f"{self.example} (and {self.more:,} more like it{', rows ' + self.rows if self.rows else ''})"


def grouped(problems: pd.DataFrame) -> list[Repeated]:
    """Each file's problems by kind, in the order first met: a problem repeated over 30 rows is one line
    with a count, its first row the example, so that a console shows what to fix rather than every row."""
    if not len(problems):
        return []
    frame = problems.reset_index(drop=True)
    keys = zip(frame["file"], kept(frame), frame["column"].fillna(""), frame["message"].astype(str).map(_kind))
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    out = []
    for (file, is_kept, _, _), members in groups.items():
        first = frame.loc[members[0]]
        example = Problem(file, None if pd.isna(first["row"]) else int(first["row"]),
                          None if pd.isna(first["column"]) else first["column"], first["message"], bool(is_kept))
        rows = frame.loc[members[1:], "row"].dropna()
        out.append(Repeated(example, len(members) - 1, f"{int(rows.min())}-{int(rows.max())}" if len(rows) else ""))
    return out

"""The structure of a CSV a user wrote: encoding, fields per row, row numbers.

Every file a user gives (a contract CSV, a wide table, a harness folder's
models.csv) is read here, so that all of them say the same things the same
way: a row is numbered as a spreadsheet shows it (the header is row 1, a blank
line is a row too), a row whose fields do not match the header costs only
itself, and a file that is not comma-separated UTF-8 text is named with the fix.
Cells are text; nothing is guessed to be missing ("NA", "null", "None" are names).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .problems import MAX_LISTED, Problem, more_rows
from .schema import cell_as_written

#: a file bigger than this is not read unless the caller allows more (the setting `max_file_mb`): the
#: largest published tables are a few MB, and reading costs about 50 times a file's size in memory
MAX_BYTES = 200 * 1000 ** 2
_SEPARATORS = {";": "semicolon", "\t": "tab", "|": "vertical bar"}


@dataclass
class Table:
    """A CSV's header and the rows that match it (every cell stripped text), and what was wrong."""

    columns: list[str]
    frame: pd.DataFrame  # one column per header name, as text
    rows: np.ndarray  # each kept row's spreadsheet row number
    problems: list[Problem]
    n_rows: int = 0  # data rows in the file (not blank), kept or set aside
    padded: dict = field(default_factory=dict)  # column -> (first row, cell as written) of a cell with spaces around it

    @property
    def readable(self) -> bool:
        return bool(self.columns)


def read_table(path: str | Path, label: str | None = None, required: tuple[str, ...] = (),
               escaped: bool = False, max_bytes: int = MAX_BYTES) -> Table:
    """Read a CSV as text. A row with more non-blank fields than the header, or without a
    `required` column's field, is a problem (set aside); trailing empty fields (a comma at
    each line's end) and missing optional fields at a row's end are read as blank, and said.

    `escaped`: a CSV the run wrote under results/ (an importer's contract CSV), spreadsheet-safe
    (schema.spreadsheet_safe): each cell is read as the user wrote it."""
    path = Path(path)
    label = label or str(path)
    text = _text(path, label, max_bytes)
    if isinstance(text, Problem):
        return _unreadable(text)
    # one cell may be long (the default limit, 131,072, would lose the file)
    csv.field_size_limit(max(max_bytes, MAX_BYTES))
    records = csv.reader(io.StringIO(text, newline=""))
    problems: list[Problem] = []
    header: list[str] | None = None
    header_row = 0
    kept, rows = [], []
    extra_blank, short, unlisted, unnamed_values = [], [], [], []
    padded: dict[str, tuple[int, str]] = {}
    last_line = 0

    def set_aside(number: int, message: str) -> None:
        if len(problems) < MAX_LISTED:
            problems.append(Problem(label, number, None, message))
        else:
            unlisted.append(number)
    try:
        for number, record in enumerate(records, start=1):
            first_line, last_line = last_line + 1, records.line_num
            # a record over several lines with a line break in a cell: a quoted cell, or a quote left open
            spans = last_line > first_line and any("\n" in f or "\r" in f for f in record)
            if escaped:
                record = [cell_as_written(f) for f in record]
            if header is None:
                if not any(f.strip() for f in record):
                    continue  # blank lines before the header
                header, header_row = [f.strip() for f in record], number
                unnamed = 0
                while header and header[-1] == "":  # a trailing comma on the header line, or unnamed columns
                    header.pop()
                    unnamed += 1
                width = len(header)
                need = max((header.index(c) for c in required if c in header), default=-1) + 1
                continue
            if not "".join(record).strip():
                continue  # a blank line: numbered, not read
            if any("\x00" in f for f in record):
                column = next(header[i] if i < width else f"field {i + 1}" for i, f in enumerate(record) if "\x00" in f)
                set_aside(number, f"holds a NUL byte (\\0, a binary zero) in {column}: the row is set aside; "
                          "retype the value or save the file again as CSV UTF-8")
                continue
            if len(record) > width:
                if spans and len(record) != width + unnamed:
                    set_aside(number, _unclosed(first_line, last_line))
                    continue
                if any(f.strip() for f in record[width + unnamed:]):
                    set_aside(number, f"has {len(record)} fields but the header has {width}: a value with a comma "
                              'in it must be quoted ("a, b"); the row is set aside')
                    continue
                (unnamed_values if any(f.strip() for f in record[width:]) else extra_blank).append(number)
                record = record[:width]
            elif len(record) < width:
                if spans:
                    set_aside(number, _unclosed(first_line, last_line))
                    continue
                if len(record) < need:
                    missing = ", ".join(header[len(record):need])
                    set_aside(number, f"has {len(record)} fields but the header has {width} (no {missing}); "
                              "the row is set aside")
                    continue
                short.append(number)
                record = record + [""] * (width - len(record))
            # a carriage return inside a quoted cell is read as the line break it is (a lone CR would end the row
            # of every CSV written from it)
            cells = [f.strip().replace("\r\n", "\n").replace("\r", "\n") for f in record]
            for i, (f, c) in enumerate(zip(record, cells)):
                if f != c and c:        # a name with spaces around it: read without them, and said by the caller
                    padded.setdefault(header[i], (number, f))
            kept.append(cells)
            rows.append(number)
    except csv.Error as exc:
        return _unreadable(Problem(label, None, None, f"cannot be read as CSV (line {records.line_num}: {exc}); "
                                   "save it as comma-separated UTF-8 text with a header row"))
    if header is None:
        return _unreadable(Problem(label, None, None, "is empty: write a header row, then one row per score"))
    problems += more_rows(label, unlisted, "a number of fields that does not match the header")
    if header_row != 1:
        problems.insert(0, Problem(label, header_row, None, f"the header is on row {header_row}: rows are "
                                   "numbered as in the file", kept=True))
    problems += _said_once(label, extra_blank, "end with empty fields beyond the header (a comma at the end of "
                           "the line?): the extra fields are ignored")
    problems += _said_once(label, unnamed_values, f"have values under the header's last {unnamed} column(s), "
                           "which have no name: those values are ignored; name the column(s) to use them")
    problems += _said_once(label, short, "have fewer fields than the header: the missing last fields are read "
                           "as blank")
    problems += _repeated_columns(header, label)
    frame = pd.DataFrame(kept, columns=_unique(header), dtype=object) if kept else \
        pd.DataFrame(columns=_unique(header), dtype=object)
    set_aside_rows = sum(not p.kept and p.row is not None for p in problems) + len(unlisted)
    return Table(header, frame, np.asarray(rows, dtype=int), problems, len(rows) + set_aside_rows, padded)


def _unclosed(first_line: int, last_line: int) -> str:
    return (f'has a quote (") that is not closed: it runs on to line {last_line}, taking in lines '
            f"{first_line + 1}-{last_line}; close the quote (or remove it)")


def separator_hint(columns: list[str]) -> str:
    """A hint for a header that is one field holding another separator (a semicolon export)."""
    if len(columns) == 1:
        for sep, name in _SEPARATORS.items():
            if sep in columns[0]:
                return f"; the header looks {name}-separated: save the file as comma-separated (CSV UTF-8)"
    return ""


def _mb(size: float) -> str:
    return f"{size / 1e6:,.0f}" if size >= 1e6 else f"{size / 1e6:.2g}"


def _text(path: Path, label: str, max_bytes: int = MAX_BYTES) -> str | Problem:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            return Problem(label, None, None, (
                f"is {_mb(size)} MB, more than the {_mb(max_bytes)} MB a data file may be (setting "
                "max_file_mb; reading takes about 50 times a file's size in memory): split it into several files "
                "in data/ (one dataset each), or raise max_file_mb on a machine with the memory"))
        raw = path.read_bytes()
    except OSError as exc:
        return Problem(label, None, None, f"cannot be opened ({exc.strerror or exc})")
    if raw[:4] == b"PK\x03\x04" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return Problem(label, None, None, "is a spreadsheet (Excel) file, not text: save it as CSV UTF-8 "
                       "(comma-separated)")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return Problem(label, None, None, "is UTF-16 text (Excel's \"Unicode text\"): save it as CSV UTF-8")
    # a binary file has NUL bytes throughout; a text file with a stray one costs only the row that holds it
    nul = raw.count(b"\x00")
    if nul and (b"\x00" in raw.split(b"\n", 1)[0] or nul > max(16, len(raw) // 1000)):
        return Problem(label, None, None, "is binary, not text: save it as CSV UTF-8 (comma-separated)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        return Problem(label, line, None, (
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}; Latin-1 or Windows-1252?): "
            "save it as CSV UTF-8"))


def _unreadable(problem: Problem) -> Table:
    return Table([], pd.DataFrame(), np.zeros(0, int), [problem])


def _said_once(label: str, rows: list[int], what: str) -> list[Problem]:
    if not rows:
        return []
    where = f"row {rows[0]}" if len(rows) == 1 else f"{len(rows)} rows (from row {rows[0]})"
    return [Problem(label, rows[0], None, f"{where} {what}", kept=True)]


def _repeated_columns(header: list[str], label: str, listed: int = 10) -> list[Problem]:
    """A column named twice: the first is read. Said per column for the first `listed`, then counted."""
    first: dict[str, int] = {}
    repeats = []
    for i, name in enumerate(header):
        if name in first:
            repeats.append((name, first[name], i))
        first.setdefault(name, i)
    out = [Problem(label, 1, name, (
        f'column "{name}" appears twice (columns {a + 1} and {b + 1}): the first is read, the second ignored; '
        "remove or rename one"), kept=True) for name, a, b in repeats[:listed]]
    if len(repeats) > listed:
        out.append(Problem(label, 1, repeats[listed][0], (
            f"{len(repeats) - listed:,} more columns repeat an earlier column's name: the first of each is read, "
            "the others ignored"), kept=True))
    return out


def _unique(header: list[str]) -> list[str]:
    """Column names with repeats made distinct (the first keeps its name)."""
    seen: dict[str, int] = {}
    out = []
    for name in header:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out

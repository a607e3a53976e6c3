"""Reading and validating score tables in the data contract.

Every problem is reported as a :class:`Problem` that names the file, the row
(as a spreadsheet shows it: the header is row 1), the column and the fix.
A bad row costs only itself; a file that cannot be read at all costs only
that dataset.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .csvtable import MAX_BYTES, read_table, separator_hint
from .problems import MAX_LISTED, Problem, more_rows

REQUIRED = ("model", "family", "params", "benchmark", "task", "metric", "score")
OPTIONAL = ("tokens", "compute", "shots", "unit", "higher_is_better", "n_items",
            "stderr", "chance", "source")
#: where an imported row came from (written by importers beside the contract columns), so that a
#: problem names the user's file and row: its score's (file, row) and its model's identity's
ORIGIN = ("origin_file", "origin_row", "model_origin_file", "model_origin_row")
UNITS = ("fraction", "percent", "raw")
SCALE_COLUMNS = ("params", "tokens", "compute")
CURVE_KEY = ("family", "benchmark", "task", "metric", "shots")

NO_ROWS = "has a header but no rows: add one row per score, or remove the file"
_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "thousand": 1e3, "million": 1e6,
           "billion": 1e9, "bn": 1e9, "trillion": 1e12}
#: a size's suffix: a letter or a word, as papers print them (`7B`, `13 billion`, `1.3bn`)
_SIZE_SUFFIX = r"(?:[kKmMbBgGtT]|(?i:thousand|million|billion|bn|trillion))"
#: a size: a number, with thousands separators as papers print them (`1,300,000,000`), then its suffix
_SIZE = re.compile(r"^\s*((?:[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?)|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*("
                   + _SIZE_SUFFIX + r"?)\s*$")
#: an exponent and a unit suffix together (`7e9B`): 7e18 or 7e9? Refused, never guessed
_EXPONENT_AND_SUFFIX = re.compile(r"^\s*[0-9.]+[eE][+-]?[0-9]+\s*" + _SIZE_SUFFIX + r"\s*$")
#: the smallest size taken as a count: a parameter (or token, or FLOP) count below it is a number
#: written in another unit (`#Params (B)` = 34 is 34 billion), so the row is refused with the fix
MIN_SIZE = 1e4
#: the largest sizes read as such: beyond them a number is in another unit (`7e9B` read as 7e18), refused
#: with the fix (the largest models have about 2e12 parameters, 4e13 training tokens, 5e26 FLOPs)
MAX_SIZE = {"params": 1e14, "tokens": 1e15, "compute": 1e29}
#: the most examples a prompt holds (many-shot in-context learning reaches a few thousand)
MAX_SHOTS = 100_000
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def parse_size(text: str) -> float:
    """Parse '7e9', '7000000000', '7B', '125M', '1.3T', '70m', '13 billion', '1,300,000,000' into a number.

    Raises ValueError for anything else. Suffixes are case-insensitive
    (k, M, B/G, T, or the word); a lower-case 'm' means million, as in model names.
    """
    m = _SIZE.match(str(text))
    if not m or _EXPONENT_AND_SUFFIX.match(str(text)):
        raise ValueError(text)
    return float(m.group(1).replace(",", "")) * _SUFFIX[m.group(2).lower()]


def _numbers(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numeric values and a mask of non-blank cells that are not numbers (cells are stripped text)."""
    blank = (col == "").to_numpy()
    values = pd.to_numeric(col.where(~blank), errors="coerce").to_numpy(float, copy=True)
    bad = ~blank & ~np.isfinite(values)
    return values, bad


def _sizes(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sizes as numbers (see parse_size) and a mask of non-blank cells that are not sizes."""
    out, other = _numbers(col)  # most sizes are plain numbers; only the rest go through the pattern
    if other.any():
        parts = col[other].str.extract(_SIZE)
        number = pd.to_numeric(parts[0].str.replace(",", ""), errors="coerce").to_numpy(float)
        out[other] = number * parts[1].fillna("").str.lower().map(_SUFFIX).to_numpy(float)
    bad = other & (~np.isfinite(out) | col.str.match(_EXPONENT_AND_SUFFIX).to_numpy(bool))
    return np.where(bad, np.nan, out), bad


@dataclass
class LoadedScores:
    """Valid rows of one dataset, normalised, plus everything that was rejected."""

    dataset: str
    points: pd.DataFrame
    problems: list[Problem]
    n_rows: int


def read_scores(path: str | Path, dataset: str | None = None,
                label: str | None = None, imported: bool = False, max_bytes: int = MAX_BYTES) -> LoadedScores:
    """Read one contract CSV; return normalised valid rows and the problems.

    `label` is how the file is named in messages (defaults to the path); `imported`: an importer
    wrote the file (spreadsheet-safe, see `csvtable.read_table`).
    Normalisation: `percent` scores, stderr and chance are divided by 100;
    `bounded` marks fraction/percent metrics.
    """
    path = Path(path)
    label = label or str(path)
    dataset = dataset or path.stem
    table = read_table(path, label, required=REQUIRED, escaped=imported, max_bytes=max_bytes)
    if not table.readable:
        return LoadedScores(dataset, _empty(), table.problems, 0)
    raw, renamed = _known_names(table.frame, label)
    columns = list(raw.columns)
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        return LoadedScores(dataset, _empty(), [Problem(
            label, 1, ",".join(missing),
            f"missing required column(s) {', '.join(missing)}; the header must name "
            f"{', '.join(REQUIRED)} (found: {', '.join(table.columns) or 'none'})"
            + separator_hint(table.columns) + unit_in_header_hint(table.columns))] + renamed, table.n_rows)
    if len(raw) == 0 and not table.problems:
        return LoadedScores(dataset, _empty(), [Problem(label, None, None, NO_ROWS)], 0)
    unknown = renamed + _unknown_columns([c for c in dict.fromkeys(columns) if c in table.columns or c in
                                          (*REQUIRED, *OPTIONAL)], label)
    for c in OPTIONAL:
        if c not in raw.columns:
            raw[c] = ""
    loaded = _validate(raw[[*REQUIRED, *OPTIONAL]], table.rows, dataset, label)
    points, duplicates = _duplicates(loaded.points, label)
    points, fractions = _fractions_in_percent(points, label)
    return LoadedScores(loaded.dataset, points,
                        table.problems + unknown + _padded_names(table.padded, label) + loaded.problems + duplicates
                        + fractions
                        + _unit_warnings(points, label) + _shots_blank_and_zero(points, label)
                        + _lookalike_names(points, label),
                        table.n_rows)


#: the columns whose cells are names (a curve is keyed by them)
NAME_COLUMNS = ("model", "family", "benchmark", "task", "metric")


def _fractions_in_percent(points: pd.DataFrame, label: str) -> tuple[pd.DataFrame, list[Problem]]:
    """A percent curve whose smaller models score at most 1 and whose larger ones score more than 100 times
    that (0.30, 0.35, 0.40, then 45, 50, 55): fractions among percentages, or a floor at a fraction of a
    percent? Where a chance level above 1 % is given and those scores sit below a tenth of it, while as
    fractions they would be near it, they are fractions: set aside with the fix. Otherwise (an exact-match
    floor of 0.3 % is common) they are kept, and said."""
    percent = points["unit"].eq("percent") & points["bounded"].astype(bool)
    if not percent.any():
        return points, []
    out, drop = [], np.zeros(len(points), bool)
    size = points["params"].fillna(points["tokens"]).to_numpy(float)
    written = points["score"].to_numpy(float) * 100
    for _, g in points[percent].groupby(list(CURVE_KEY), sort=False):
        i = g.index.to_numpy()
        low, high = i[(written[i] > 0) & (written[i] <= 1)], i[written[i] > 1]     # a 0 is 0 in any unit
        if not len(low) or not len(high) or size[low].max() >= size[high].min() \
                or 100 * written[low].max() > written[high].min():
            continue
        chance = g["chance"].to_numpy(float) * 100
        fractions = bool(np.isfinite(chance).all() and (chance > 1).all()
                         and (written[low] < chance.min() / 10).all()
                         and (100 * written[low] >= chance.min() / 2).all())
        name = f"{g['family'].iat[0]} / {g['task'].iat[0]} / {g['metric'].iat[0]}"
        scores = ", ".join(f"{v:g}" for v in written[low])
        first = int(points.loc[low, "row"].min())
        if fractions:
            drop[low] = True
            out.append(Problem(label, first, "score", (
                f"{name}: scores {scores} at the smaller models are fractions among percentages (the larger score "
                f"{written[high].min():g}-{written[high].max():g}, chance is {chance.min():g} %): those rows are set "
                f"aside; write them in percent ({', '.join(f'{100 * v:g}' for v in written[low])})")))
        else:
            out.append(Problem(label, first, "score", (
                f"{name}: scores {scores} at the smaller models are at most 1 in a percent curve whose larger models "
                f"score {written[high].min():g}-{written[high].max():g}: read as {scores} %; if they are fractions, "
                "write them in percent"), kept=True))
    return points[~drop].reset_index(drop=True), out


def _padded_names(padded: dict, label: str) -> list[Problem]:
    """A name written with spaces around it is read without them (`B ` and `B` are one family), and said
    once per column: a spreadsheet hides such spaces, so they are almost never meant."""
    out = []
    for column, (row, cell) in padded.items():
        name = column.strip().lower()
        if name in NAME_COLUMNS:
            out.append(Problem(label, row, name, (
                f"{name} {cell!r} has spaces before or after it: read as {cell.strip()!r} (the same name as "
                "any written without them; so is every such cell of this column)"), kept=True))
    return out


def _shots_blank_and_zero(points: pd.DataFrame, label: str) -> list[Problem]:
    """One task whose shots are 0 on some rows and blank on others makes two curves (zero-shot, and shots
    not stated): said, since the blank ones are often zero-shot too."""
    if points.empty:
        return []
    key = ["family", "benchmark", "task", "metric"]
    shots = points.groupby(key, sort=False)["shots"].agg(lambda v: {"", "0"} <= set(v))
    out = []
    for k in shots.index[shots.to_numpy(bool)]:
        rows = points[(points[key] == pd.Series(k, index=key)).all(axis=1)]
        blank, zero = (int(rows.loc[rows["shots"] == v, "row"].min()) for v in ("", "0"))
        out.append(Problem(label, min(blank, zero), "shots", (
            f"{k[0]} / {k[2]} / {k[3]} has shots 0 (row {zero}) and shots blank (row {blank}): read as two curves, "
            "zero-shot and shots not stated; write 0 on the blank rows if they are zero-shot"), kept=True))
    return out


#: one score: a model (at one scale) on one task, metric and shot count
SCORE_KEY = ("model", "family", "benchmark", "task", "metric", "shots", "params", "tokens", "compute")


def _duplicates(points: pd.DataFrame, label: str) -> tuple[pd.DataFrame, list[Problem]]:
    """A row pasted twice would count as a replicate: exact duplicates (the source aside) are counted
    once (the later copies set aside, said so); two different scores for one score's key are both
    kept (replicates at one scale) and said so."""
    if points.empty:
        return points, []
    key = list(SCORE_KEY)
    filled = points.fillna({c: -1.0 for c in ("params", "tokens", "compute")})
    # the source is not part of a score: one number quoted from two places is still one measurement
    same = [c for c in points.columns if c not in ("row", "dataset", "source")]
    exact = filled.duplicated(same, keep="first").to_numpy()
    first_row = filled.groupby(same, dropna=False, sort=False)["row"].transform("min").to_numpy()
    first_source = filled.groupby(same, dropna=False, sort=False)["source"].transform("first").to_numpy()
    problems = [Problem(label, int(r), None, f"exact duplicate of row {int(f)}" + (
        "" if src == first else " but for its source") + ": counted once")
                for r, f, src, first in zip(points["row"][exact], first_row[exact], points["source"][exact],
                                            first_source[exact])]
    kept = points[~exact]
    filled = filled[~exact]
    several = (filled.groupby(key, dropna=False, sort=False)["score"].transform("nunique") > 1).to_numpy()
    first = filled.groupby(key, dropna=False, sort=False)["row"].transform("min").to_numpy()
    problems += [Problem(label, int(r), "score", (
        f"the same model, task, metric and shots as row {int(f)} with another score: both are kept as "
        "replicates at one scale; remove the one that is wrong"), kept=True)
        for r, f in zip(kept["row"][several], first[several]) if r != f]
    return kept.reset_index(drop=True), problems


_INVISIBLE = re.compile("[\u200b-\u200f\u2060\ufeff\u00ad]")


def _lookalike_names(points: pd.DataFrame, label: str) -> list[Problem]:
    """Names that differ only in Unicode form (é composed or not), case, invisible characters or spaces
    make different curves; they are kept as written (they may be meant) and said once per pair."""
    import unicodedata
    out = []
    for col in ("family", "benchmark", "task", "metric"):
        if points.empty:
            break
        first = points.groupby(col, sort=False)["row"].min()
        norm = pd.Series([" ".join(_INVISIBLE.sub("", unicodedata.normalize("NFKC", v)).casefold().split())
                          for v in first.index], index=first.index)
        for _, names in norm.groupby(norm, sort=False):
            if len(names) > 1:
                shown = " and ".join(repr(v) for v in names.index)
                out.append(Problem(label, int(first[names.index].min()), col, (
                    f"{col} {shown} differ only in Unicode form, case, spaces or invisible characters: they are "
                    f"read as different names (separate curves); write them alike if they are one"), kept=True))
    return out


def _unit_warnings(points: pd.DataFrame, label: str) -> list[Problem]:
    """Scores that fit their unit but not their meaning, said once per curve (rows are kept):
    a percent curve whose every score is at most 1 (fractions written as percent, then divided
    by 100), a whole curve below its chance level, a percent file whose chance is at most 1
    (a fraction written in a percent file reads as that many percent), and a stderr above half
    the unit's range (no score in it can vary more)."""
    out = []
    if points.empty:
        return out
    key = ["family", "benchmark", "task", "metric", "shots"]
    for _, g in points.groupby(key, sort=False):
        first = int(g["row"].min())
        name = f"{g['family'].iat[0]} / {g['task'].iat[0]} / {g['metric'].iat[0]}"
        percent = (g["unit"] == "percent").all()
        if percent and len(g) > 1 and (g["score"] * 100 <= 1).all() and (g["score"] > 0).any():
            out.append(Problem(label, first, "unit", (
                f"every score of {name} is at most 1 while unit is percent (read as at most 1 %): "
                "if they are fractions, set unit to fraction"), kept=True))
        stderr = g["stderr"].to_numpy(float)
        if g["bounded"].all() and (stderr > 0.5).any():
            top = 50 if percent else 0.5
            out.append(Problem(label, int(g["row"][stderr > 0.5].min()), "stderr", (
                f"a stderr of {name} is above {top:g}, more than any score in its unit's range can have: is it "
                "written in another unit than the score? (kept as given)"), kept=True))
        chance = g["chance"].to_numpy(float)
        if g["bounded"].all() and np.isfinite(chance).all() and (g["score"].to_numpy(float) < chance).all():
            out.append(Problem(label, first, "chance", (
                f"every score of {name} is below its chance level: check unit, chance and "
                "higher_is_better (kept as given)"), kept=True))
        if percent and ((chance > 0) & (chance * 100 <= 1)).any():
            c = chance[(chance > 0) & (chance * 100 <= 1)][0] * 100
            out.append(Problem(label, first, "chance", (
                f"chance {c:g} in a percent file reads as {c:g} %: write chance in the file's unit "
                f"({c * 100:g} if you meant {c:g} as a fraction)"), kept=True))
    return out


def _known_names(frame: pd.DataFrame, label: str) -> tuple[pd.DataFrame, list[Problem]]:
    """A header written `Model` or `Higher Is Better` is the contract's `model`, `higher_is_better`:
    read as such, and said (only where the contract's own name is not also there)."""
    known = (*REQUIRED, *OPTIONAL)
    rename, said = {}, []
    for c in frame.columns:
        name = re.sub(r"[\s-]+", "_", c.strip().lower())
        if c not in known and name in known and name not in frame.columns and name not in rename.values():
            rename[c] = name
    if rename:
        pairs = ", ".join(f'"{c}" as {name}' for c, name in rename.items())
        said.append(Problem(label, 1, ",".join(rename), f"column(s) read as the contract's lower-case names: {pairs}; "
                            "rename them to silence this", kept=True))
    return frame.rename(columns=rename), said


def _unknown_columns(columns, label: str) -> list[Problem]:
    """A column the contract does not know is ignored, and said so, with the nearest known name:
    a misspelt `higher_is_better` would otherwise turn an error rate into an inverse curve."""
    import difflib
    known = [*REQUIRED, *OPTIONAL]
    out, unlike = [], []
    columns = [c for c in columns if c not in ORIGIN]
    for c in columns:
        if c not in known:
            near = difflib.get_close_matches(c, known, n=1, cutoff=0.6)
            if near:
                out.append(Problem(label, 1, c, f'unknown column "{c}" is ignored; did you mean "{near[0]}"? Rename '
                                   "the column", kept=True))
            else:
                unlike.append(c)
    # columns like no contract name: one line, however many (a 10,000-column export is one warning)
    if unlike:
        shown = ", ".join(f'"{c}"' for c in unlike[:MAX_NAMED]) + (
            f" and {len(unlike) - MAX_NAMED:,} more" if len(unlike) > MAX_NAMED else "")
        out.append(Problem(label, 1, unlike[0], (
            f"unknown column{'s' if len(unlike) > 1 else ''} {shown} {'are' if len(unlike) > 1 else 'is'} ignored; "
            f"the contract's columns are {', '.join(known)}"), kept=True))
    return out


#: the names one warning lists before it counts the rest
MAX_NAMED = 10


_COUNTED = {"params": "parameters", "tokens": "tokens", "compute": "FLOPs"}
_SIDECAR_UNIT = ", or, for a wide table, set the column's unit in the sidecar (params_unit: B)"


#: a header that names a size unit: `#Params (B)`, `params_B`, `Size [M]`, `Parameters (billions)`
_HEADER_UNIT = re.compile(r"(?i)(?:params|parameters|size|tokens)\W*[\(\[_ ]\s*(k|m|b|t|thousands?|millions?|"
                          r"billions?|trillions?)\s*[\)\]]?\s*$")
_UNIT_WORDS = {"1": "", "k": "k", "m": "M", "b": "B", "g": "B", "t": "T", "thousand": "k", "million": "M",
               "billion": "B", "trillion": "T"}


def unit_suffix(unit) -> str | None:
    """A size unit as `parse_size` writes it ("B" for b, billion, billions; "" for 1), or None."""
    word = str(unit).strip().lower()
    return _UNIT_WORDS.get(word.removesuffix("s") if len(word) > 1 else word)


def header_unit(column: str) -> str | None:
    """The size unit a column's name states (`#Params (B)` -> "B"), or None."""
    m = _HEADER_UNIT.search(str(column))
    return unit_suffix(m.group(1)) if m else None


def unit_in_header_hint(columns) -> str:
    named = [(c, header_unit(c)) for c in columns if header_unit(c)]
    if not named:
        return ""
    c, unit = named[0]
    return (f'; the column "{c}" names a unit ({unit}): call it params (or tokens) and write each size with its '
            f"unit, e.g. 34{unit}, so that it cannot be read as a count")


def _not_a_size(column: str, cell: str) -> str:
    if _EXPONENT_AND_SUFFIX.match(cell):
        number, suffix = re.match(r"^\s*([0-9.eE+-]+?)\s*([kKmMbBgGtT])\s*$", cell).groups()
        return (f'{column} "{cell}" mixes an exponent with a unit ({number} times {suffix}?); write {number} '
                f"for the count, or the count in {suffix} without the exponent")
    return f'{column} "{cell}" is not a size; write e.g. 7000000000, 7e9 or 7B'


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=["dataset", "row", *REQUIRED, *OPTIONAL, "bounded"])


#: metric names of unbounded scores (a perplexity of 12 is not 12 %): never read as percent by their size
_UNBOUNDED_METRIC = r"perplexity|ppl|loss|nll|bits|bpb|likelihood|logprob|entropy"


def _signed_cells(raw: pd.DataFrame, signed: dict, i: int) -> str:
    return ", ".join(f'{c} "{raw[c].iat[i]}"' for c, mask in signed.items() if mask[i])


def _blank_unit_as_percent(metrics: pd.Series, given: pd.Series, score: np.ndarray, unit: pd.Series,
                           rows: np.ndarray, label: str) -> tuple[pd.Series, list[Problem]]:
    """A metric whose unit is left blank, whose scores stay within 0-100 and at least half of whose nonzero
    scores are above 1 is in percent, as papers print it (0.5, 0.8, 2.4, 46.9): all its blank rows are read
    so, said once per file. Read as fractions, its scores above 1 would be set aside and those below 1
    kept as 50 % and 80 %. One score above 1 among fractions (0.30, 0.41, 45.2) is a slip in that row,
    set aside with its fix, not a reason to read the others as 0.3 %."""
    blank = (given == "").to_numpy() & np.isfinite(score)
    if not blank.any():
        return unit, []
    metric = metrics.str.lower()
    frame = pd.DataFrame({"metric": metric[blank], "score": score[blank], "row": rows[blank],
                          "above": score[blank] > 1, "below": (score[blank] > 0) & (score[blank] <= 1)})
    spread = frame.groupby("metric", sort=False).agg(low=("score", "min"), high=("score", "max"), row=("row", "min"),
                                                     above=("above", "sum"), below=("below", "sum"))
    percent = spread[(spread["above"] > 0) & (spread["above"] >= spread["below"]) & (spread["high"] <= 100)
                     & (spread["low"] >= 0)
                     & ~spread.index.str.contains(_UNBOUNDED_METRIC, case=False)]
    if percent.empty:
        return unit, []
    unit = unit.mask(blank & metric.isin(percent.index).to_numpy(), "percent")
    shown = [f'"{name}" ({r.low:g} to {r.high:g})' for name, r in percent.head(5).iterrows()]
    more = f" and {len(percent) - 5} more" if len(percent) > 5 else ""
    top = percent["high"].iat[0]
    return unit, [Problem(label, int(percent["row"].min()), "unit", (
        f"unit is blank and the scores of metric{'s' if len(percent) > 1 else ''} {', '.join(shown)}{more} run "
        f"past 1: read as percent (0-100), so {top:g} is {top / 100:g} as a fraction; write unit percent (or "
        "fraction, or raw) in the file to say so"), kept=True)]


def _validate(raw: pd.DataFrame, rows: np.ndarray, dataset: str, label: str) -> LoadedScores:
    n = len(raw)
    flags: list[tuple[np.ndarray, str, object]] = []

    def flag(mask: np.ndarray, column: str, make) -> None:
        """A check's failures; messages are made only for the rows that are listed."""
        flags.append((np.asarray(mask, bool), column, make))

    for c in ("model", "family", "benchmark", "task", "metric"):
        flag((raw[c] == "").to_numpy(), c, lambda i, c=c: f"{c} is blank; every row needs a {c}")

    scales = {}
    for c in SCALE_COLUMNS:
        vals, bad = _sizes(raw[c])
        flag(bad, c, lambda i, c=c: _not_a_size(c, raw[c].iat[i]))
        nonpos = np.isfinite(vals) & (vals <= 0)
        flag(nonpos, c, lambda i, c=c: f"{c} is {raw[c].iat[i]}; sizes must be positive (leave it blank if unknown)")
        tiny = np.isfinite(vals) & (vals > 0) & (vals < MIN_SIZE)
        flag(tiny, c, lambda i, c=c: (
            f"{c} is {raw[c].iat[i]}, read as {raw[c].iat[i]} {_COUNTED[c]}: a size below {MIN_SIZE:,.0f} is a "
            f"number in another unit; write the unit in the cell ({raw[c].iat[i]}B for billions, "
            f"{raw[c].iat[i]}M for millions){_SIDECAR_UNIT}"))
        huge = np.isfinite(vals) & (vals > MAX_SIZE[c])
        flag(huge, c, lambda i, c=c: (
            f"{c} is {raw[c].iat[i]}, read as {_sizes(raw[c].iloc[[i]])[0][0]:.3g} {_COUNTED[c]}: more than any "
            f"model has (at most {MAX_SIZE[c]:.0e} is read); is it written in another unit? Write e.g. 7e9 or 7B"))
        vals[nonpos | tiny | huge] = np.nan
        scales[c] = vals
    flag((raw["params"] == "").to_numpy(), "params",
         lambda i: "params is blank; give the parameter count (e.g. 7B), or drop the row if it is not known")

    # a score, stderr or chance printed with its percent sign (24.9%) is in percent
    signed = {c: raw[c].str.endswith("%").to_numpy() for c in ("score", "stderr", "chance")}
    in_percent = signed["score"] | signed["stderr"] | signed["chance"]
    unsigned = {c: raw[c].where(~signed[c], raw[c].str.removesuffix("%").str.strip()) for c in signed}
    score, bad = _numbers(unsigned["score"])
    flag(bad, "score", lambda i: f'score "{raw["score"].iat[i]}" is not a number')
    flag((raw["score"] == "").to_numpy(), "score", lambda i: "score is blank; every row needs a score")

    given = raw["unit"].str.lower()
    sign_conflict = in_percent & given.isin(("fraction", "raw")).to_numpy()
    flag(sign_conflict, "unit", lambda i: (
        f"a cell of this row is written with a percent sign ({_signed_cells(raw, signed, i)}) but unit is "
        f"{given.iat[i]}: set unit to percent, or write the number without the sign in unit {given.iat[i]}"))
    given = given.mask(in_percent & (given == "").to_numpy(), "percent")
    unit = given.replace("", "fraction")
    flag(~unit.isin(UNITS).to_numpy(), "unit",
         lambda i: f'unit "{raw["unit"].iat[i]}" is not one of {", ".join(UNITS)}')
    unit, read_as_percent = _blank_unit_as_percent(raw["metric"], given, score, unit, rows, label)

    hib_text = raw["higher_is_better"].str.lower()
    hib_ok = hib_text.isin(_TRUE | _FALSE | {""}).to_numpy()
    flag(~hib_ok, "higher_is_better",
         lambda i: f'higher_is_better "{raw["higher_is_better"].iat[i]}" is not true or false')
    higher = ~hib_text.isin(_FALSE).to_numpy()

    shots_val, shots_bad = _numbers(raw["shots"])
    shots_bad |= np.isfinite(shots_val) & ((shots_val < 0) | (np.nan_to_num(shots_val) % 1 != 0)
                                           | (shots_val > MAX_SHOTS))
    flag(shots_bad, "shots", lambda i: (
        f'shots "{raw["shots"].iat[i]}" is not a whole number from 0 to {MAX_SHOTS:,} (leave blank if not stated)'))

    n_items, bad = _numbers(raw["n_items"])
    bad |= np.isfinite(n_items) & ((n_items < 1) | (np.nan_to_num(n_items) % 1 != 0))
    flag(bad, "n_items", lambda i: f'n_items "{raw["n_items"].iat[i]}" is not a whole number ≥ 1')

    stderr, bad = _numbers(unsigned["stderr"])
    bad |= np.isfinite(stderr) & (stderr < 0)
    flag(bad, "stderr", lambda i: f'stderr "{raw["stderr"].iat[i]}" is not a number ≥ 0')

    chance, bad = _numbers(unsigned["chance"])
    flag(bad, "chance", lambda i: f'chance "{raw["chance"].iat[i]}" is not a number')

    scale = np.where(unit == "percent", 100.0, 1.0)
    bounded = (unit != "raw").to_numpy()
    top = np.where(unit == "percent", 100, 1)
    out_of_range = bounded & np.isfinite(score) & ((score < 0) | (score > top)) & ~sign_conflict
    flag(out_of_range, "score", lambda i: (
        f'score {raw["score"].iat[i]} is outside 0-{top[i]} for unit {unit.iat[i]}; '
        + ("if it is a percentage, set unit to percent"
           if unit.iat[i] == "fraction" and not re.search(_UNBOUNDED_METRIC, raw["metric"].iat[i], re.IGNORECASE)
           else "if it is unbounded (e.g. perplexity), set unit to raw")))
    bad_chance = bounded & np.isfinite(chance) & ((chance < 0) | (chance > top))
    flag(bad_chance, "chance", lambda i: f"chance {raw['chance'].iat[i]} is outside 0-{top[i]} for unit {unit.iat[i]}")

    failed = np.zeros(n, bool)
    for mask, _, _ in flags:
        failed |= mask
    bad = np.flatnonzero(failed)
    listed = np.zeros(n, bool)
    listed[bad[:MAX_LISTED]] = True
    messages: dict[int, list[Problem]] = {}
    for mask, col, make in flags:
        for i in np.flatnonzero(mask & listed):
            messages.setdefault(i, []).append(Problem(label, int(rows[i]), col, make(i)))
    problems = [p for i in sorted(messages) for p in messages[i]]
    problems += read_as_percent
    problems += more_rows(label, rows[bad[MAX_LISTED:]], "problems like those listed")
    ok = ~failed

    pts = pd.DataFrame({
        "dataset": dataset,
        "row": rows,
        "model": raw["model"], "family": raw["family"], "benchmark": raw["benchmark"],
        "task": raw["task"], "metric": raw["metric"],
        "shots": raw["shots"].where(~shots_bad, ""),
        "params": scales["params"], "tokens": scales["tokens"], "compute": scales["compute"],
        "score": score / scale, "unit": unit, "bounded": bounded,
        "higher_is_better": higher,
        "n_items": n_items, "stderr": stderr / scale, "chance": chance / scale,
        "source": raw["source"],
    })[ok].reset_index(drop=True)
    pts["shots"] = pts["shots"].map(lambda s: str(int(float(s))) if s != "" else "")
    return LoadedScores(dataset, pts, problems, n)


def training_compute(points: pd.DataFrame) -> np.ndarray:
    """Each row's training compute: the `compute` given, else 6·params·tokens (the usual training-FLOPs
    estimate), else NaN."""
    given = points["compute"].to_numpy(float)
    estimate = 6.0 * points["params"].to_numpy(float) * points["tokens"].to_numpy(float)
    return np.where(np.isfinite(given), given, estimate)


def with_axis(points: pd.DataFrame, axis: str, label: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Attach x = log10(scale) for the chosen axis; rows without it are problems.

    `compute` falls back to 6·params·tokens (training_compute).
    """
    pts = points.copy()
    scale = training_compute(pts) if axis == "compute" else pts[axis].to_numpy(float)
    missing = ~np.isfinite(scale)
    hint = {"tokens": "fill in tokens (training tokens) or analyse this dataset on params",
            "compute": "fill in compute, or both params and tokens (compute = 6·params·tokens)",
            "params": "fill in params"}[axis]
    problems = [Problem(label, int(r), axis, f"{axis} is blank but the x axis is {axis}; {hint}")
                for r in pts.loc[missing, "row"]]
    pts = pts[~missing].copy()
    pts["scale"] = scale[~missing]
    pts["x"] = np.log10(pts["scale"])
    return pts.reset_index(drop=True), problems


def _rows_text(rows) -> str:
    rows = sorted(int(r) for r in rows)
    head = ", ".join(map(str, rows[:5]))
    return head + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def shown_per_fraction(unit: str) -> float:
    """Scores are kept as fractions; figures and captions show them in the unit the user gave."""
    return 100.0 if unit == "percent" else 1.0


def format_size(value: float, digits: int = 4) -> str:
    """7e10 -> '70B', 1.25e8 -> '125M' (blank for nan): the inverse of parse_size."""
    if not np.isfinite(value):
        return ""
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:.{digits}g}{suffix}"
    return f"{value:.{digits}g}"


def check_models(points: pd.DataFrame, label: str, axis: str = "params",
                 split_by: tuple[str, ...] = ()) -> tuple[pd.DataFrame, list[Problem]]:
    """Family hygiene: one model has one size, and (off the tokens axis) one training run.

    A model name with two parameter counts, or with two token counts when the
    curve runs over parameters, mixes things a scaling curve must not mix;
    its rows are set aside with a message that says how to tell them apart.
    """
    problems: list[Problem] = []
    bad = np.zeros(len(points), bool)
    checks = [("params", "parameter counts", "fix params, or give the variants distinct model names")]
    if axis != "tokens" and "tokens" not in split_by:
        checks.append(("tokens", "training-token counts",
                       "rows of one model at several checkpoints belong on the tokens axis "
                       "(datasets: {<id>: {x_axis: tokens, split_by: [params]}} in the configuration), "
                       "or give each checkpoint its own model name"))
    for col, what, fix in checks:
        counts = points.groupby(["family", "model"])[col].nunique()
        for family, model in counts[counts > 1].index:
            sel = ((points["family"] == family) & (points["model"] == model)).to_numpy()
            values = ", ".join(format_size(v) for v in sorted(points.loc[sel, col].dropna().unique()))
            msg = (f"model {model!r} of family {family!r} has {counts[(family, model)]} {what} "
                   f"({values}) in rows {_rows_text(points.loc[sel, 'row'])}; {fix}")
            problems += [Problem(label, int(r), col, msg) for r in points.loc[sel, "row"]]
            bad |= sel
    return points[~bad].reset_index(drop=True), problems


def sizes_across_datasets(points: pd.DataFrame, tolerance: float = 0.01) -> list[Problem]:
    """A model name with different parameter counts in two datasets: said, not changed (papers count
    embeddings or not, round differently); its curves then sit at different scales in each."""
    if not len(points) or points["dataset"].nunique() < 2:
        return []
    sizes = points.groupby(["model", "dataset"])["params"].median().dropna().reset_index()
    by_model = sizes.groupby("model")["params"]
    low, high = sizes.loc[by_model.idxmin()].set_index("model"), sizes.loc[by_model.idxmax()].set_index("model")
    apart = high.index[high["params"] > low["params"] * (1 + tolerance)]
    return [Problem(str(high.at[m, "dataset"]), None, "params", (
        f"model {m!r} has {format_size(high.at[m, 'params'])} parameters here and "
        f"{format_size(low.at[m, 'params'])} in dataset {low.at[m, 'dataset']!r}: the two count it differently "
        "(embeddings?), so its curves sit at different scales; write one count in both if they are the same "
        "model"), kept=True) for m in apart]


def split_families(points: pd.DataFrame, split_by: tuple[str, ...]) -> pd.DataFrame:
    """Make each value of the split columns its own curve, e.g. one Pythia size over checkpoints."""
    if not split_by:
        return points
    pts = points.copy()
    parts = [pts[c].map(format_size) if c in SCALE_COLUMNS else pts[c].astype(str) for c in split_by]
    tag = parts[0].radd(f"{split_by[0]} ")
    for c, p in zip(split_by[1:], parts[1:]):
        tag = tag + ", " + p.radd(f"{c} ")
    pts["family"] = pts["family"] + " · " + tag
    return pts

"""Property-based fuzzing of every reader of user input: whatever a user hands us, the reader
answers with rows and problems (each naming its file), never with a traceback, and drops no row
without saying so.

The budget is fixed and the search derandomized, so CI runs the same examples every time
(well under a minute on 2 cores). For a deeper local search: FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py
"""
import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.importers import convert, parse_harness_file, read_lm_eval, read_wide
from analysis.loading import OPTIONAL, REQUIRED, Problem, read_scores

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LABEL = "data/fuzzed.csv"

# --- cells, rows, CSV documents ---------------------------------------------------------

NUMBERS = st.one_of(
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(0, 1).map(lambda f: f"{f:.3g}"),
    st.floats(0, 100).map(lambda f: f"{f:.2f}"),
    st.sampled_from(["1e400", "-0", "0x10", "1_000", "1,5", ".5", "5.", "1e", "+3", "  0.25  "]),
)
SIZES = st.builds(
    lambda n, suffix, space: f"{n:g}{space}{suffix}",
    st.floats(0, 2000, allow_nan=False),
    st.sampled_from(["", "k", "K", "m", "M", "b", "B", "g", "t", "T", "X", "BB"]),
    st.sampled_from(["", " "]),
)
WORDS = st.sampled_from([
    "", " ", "NA", "N/A", "null", "None", "nan", "NaN", "-", "?", "true", "False", "yes", "maybe",
    "fraction", "percent", "raw", "Percent", "%", "pythia-70m", "Pythia", "mmlu", "acc", "0-shot",
    '"', '""', "a,b", '"a,b"', "a\nb", "a\rb", "=cmd|' /C calc'!A0", "@SUM(1)", "\ufeff", "\x00", "\t",
    "Modèle", "模型", "🙂", "\u200b",
])
LONG = st.builds(lambda c, n: c * n, st.sampled_from(["x", "9", "é", ","]), st.integers(200, 5000))
CELLS = st.one_of(WORDS, NUMBERS, SIZES, st.text(max_size=12), LONG)

CONTRACT = (*REQUIRED, *OPTIONAL)
WIDTH_CHANGES = [0, 0, 0, 0, 0, 0, -1, 1, -2, 2]  # fields in a row minus fields in the header
UNKNOWN = st.sampled_from(["Model", "scores", "higher_is_beter", "notes", "", " ", "Unnamed: 3", "é"])


@st.composite
def csv_documents(draw, columns=CONTRACT, required=REQUIRED, unknown=UNKNOWN) -> str:
    """A CSV document in roughly the expected shape, with every way a hand-made table goes wrong."""
    header = list(required) if draw(st.booleans()) else draw(st.lists(st.sampled_from(required), unique=True))
    header += draw(st.lists(st.sampled_from(columns), unique=True, max_size=4))
    header += draw(st.lists(unknown, max_size=2))
    header = draw(st.permutations(header))
    if draw(st.integers(0, 4)) == 0:
        header = [f" {h} " for h in header]
    width = len(header)
    rows = draw(st.lists(st.sampled_from(WIDTH_CHANGES).flatmap(
        lambda d: st.lists(CELLS, min_size=max(width + d, 0), max_size=max(width + d, 0))), max_size=8))
    quoted = draw(st.booleans())  # csv.writer quoting, or cells joined raw (commas, quotes break rows)
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = []
    for record in [header, *rows]:
        if quoted:
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="").writerow(record)
            line = buffer.getvalue()
        else:
            line = ",".join(record)
        if draw(st.integers(0, 9)) == 0:
            line += ","  # a trailing comma
        lines.append(line)
        if draw(st.integers(0, 9)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", ",,,"])))  # a blank line
    text = end.join(lines) + draw(st.sampled_from(["", end, end + end]))
    return ("\ufeff" if draw(st.integers(0, 9)) == 0 else "") + text


def encoded(texts: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    """Text as a user's editor may have saved it: UTF-8 mostly, Latin-1 sometimes."""
    return st.tuples(texts, st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1"])).map(
        lambda t: t[0].encode(t[1], errors="replace"))


CSV_BYTES = st.one_of(st.binary(max_size=400), encoded(csv_documents()))

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from([10**400, -(10**400), "0.5", "N/A", "nan", "1e999", ""]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


# --- the oracle for "no silent drop" ----------------------------------------------------

def data_rows(raw: bytes) -> set[int] | None:
    """Spreadsheet row numbers (header = 1) of the records holding anything, or None when the
    csv module cannot split the file into records."""
    try:
        text = raw.decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline="")))
    except (UnicodeDecodeError, csv.Error):
        return None
    filled = [i + 1 for i, record in enumerate(records) if any(cell.strip() for cell in record)]
    return set(filled[1:]) if filled else None  # the first filled record is the header


def check_scores(raw: bytes, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scores.csv"
        path.write_bytes(raw)
        loaded = read_scores(path, dataset="fuzz", label=label)
    assert isinstance(loaded.points, pd.DataFrame)
    for p in loaded.problems:
        assert isinstance(p, Problem)
        assert p.file == label, p
        assert isinstance(p.message, str) and p.message.strip(), p
        assert p.row is None or p.row >= 1, p
        if not p.kept and p.row is not None and p.row != 1:  # row 1 kept=False: the header, the whole file
            assert p.row >= 2, p
    whole_file = any(p.row is None or (p.row == 1 and not p.kept) for p in loaded.problems)
    rejected = {p.row for p in loaded.problems if not p.kept and p.row is not None}
    kept = set(loaded.points["row"].astype(int)) if len(loaded.points) else set()
    assert not kept & rejected, f"rows both analysed and rejected: {sorted(kept & rejected)}"
    rows = data_rows(raw)
    if rows is not None and not whole_file:
        silent = sorted(rows - kept - rejected)
        assert not silent, f"data rows neither kept nor rejected with a problem: {silent}"


# --- 1. the contract CSV ----------------------------------------------------------------

@FUZZ
@given(raw=st.binary(max_size=600))
def test_read_scores_survives_random_bytes(raw):
    check_scores(raw, LABEL)


@FUZZ
@given(raw=encoded(csv_documents()), label=st.sampled_from([LABEL, "x", "my scores.csv", "données/é.csv"]))
def test_read_scores_accounts_for_every_row_of_a_malformed_table(raw, label):
    check_scores(raw, label)


# --- 2. lm-evaluation-harness folders ---------------------------------------------------

TASKS = st.sampled_from(["arc_easy", "lambada_openai", "hellaswag-x", "", "é"]) | st.text(max_size=6)
METRIC_KEYS = st.sampled_from([
    "acc", "acc,none", "acc_stderr", "acc_stderr,none", "acc_norm,none", "ppl", "f1,strict",
    "pct_stereotype", "alias", "samples", "weird,", ",none",
]) | st.text(max_size=6)
METRIC_VALUES = st.one_of(st.floats(), st.floats(0, 1), st.integers(), JSON_VALUES)


def per_task(values):
    return st.one_of(st.dictionaries(TASKS, values, max_size=3), JSON_VALUES)


HARNESS = st.fixed_dictionaries({}, optional={
    "results": st.one_of(st.dictionaries(TASKS, st.dictionaries(METRIC_KEYS, METRIC_VALUES, max_size=4)
                                         | JSON_VALUES, max_size=3), JSON_VALUES),
    "n-shot": per_task(JSON_VALUES),
    "n-samples": per_task(st.fixed_dictionaries({}, optional={"effective": JSON_VALUES,
                                                             "original": JSON_VALUES}) | JSON_VALUES),
    "higher_is_better": per_task(st.dictionaries(METRIC_KEYS, JSON_VALUES, max_size=3) | JSON_VALUES),
    "config": st.fixed_dictionaries({}, optional={"num_fewshot": JSON_VALUES}) | JSON_VALUES,
})
HARNESS_BYTES = st.one_of(
    HARNESS.map(lambda d: json.dumps(d).encode()),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    encoded(st.text(max_size=60)),
)
JSON_NAMES = ["h0.json", "h1.json", "h2.json"]
FILE_CELLS = st.sampled_from([*JSON_NAMES, "missing.json", "", ".", "..", "../h0.json", "sub", "d.json",
                              " h1.json ", "h0.JSON", "/etc/passwd"]) | CELLS
MODELS_CSV = st.one_of(
    st.binary(max_size=300),
    encoded(st.builds(lambda f, m, p: f"file,model,family,params\n{f},{m},Modèle,{p}\n", FILE_CELLS, CELLS, SIZES)),
    encoded(csv_documents(columns=("file", "model", "family", "params", "tokens"),
                          required=("file", "model", "family", "params"),
                          unknown=st.sampled_from(["notes", "File", ""]))),
    # rows that name the harness files, so their contents get read
    encoded(st.lists(st.tuples(FILE_CELLS, CELLS, CELLS, SIZES), max_size=4).map(
        lambda rows: "file,model,family,params\n" + "".join(f"{f},{m},{fam},{p}\n" for f, m, fam, p in rows))),
)


@FUZZ
@given(harness=HARNESS_BYTES)
def test_parse_harness_file_returns_rows_or_raises_value_error(harness):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h0.json"
        path.write_bytes(harness)
        try:
            rows, notes = parse_harness_file(path)
        except ValueError:  # what read_lm_eval turns into a problem (JSONDecodeError, UnicodeDecodeError too)
            return
    assert isinstance(rows, list) and all(isinstance(n, str) and n for n in notes)
    for row in rows:
        assert isinstance(row["score"], float) and row["score"] == row["score"], row


@FUZZ
@given(models=MODELS_CSV, harness=st.lists(HARNESS_BYTES, max_size=3), odd=st.sets(st.sampled_from(["sub", "d.json"])))
def test_read_lm_eval_answers_with_rows_and_problems(models, harness, odd):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        folder.mkdir()
        (folder / "models.csv").write_bytes(models)
        for name, content in zip(JSON_NAMES, harness):
            (folder / name).write_bytes(content)
        for name in odd:
            (folder / name).mkdir()
        rows, problems = read_lm_eval(folder)
    assert isinstance(rows, pd.DataFrame)
    for p in problems:
        assert isinstance(p, Problem)
        assert p.file and p.file.startswith(str(folder)), p
        assert isinstance(p.message, str) and p.message.strip(), p


# --- 3. wide tables with a YAML sidecar -------------------------------------------------

WIDE_COLUMNS = ["model", "family", "params", "tokens", "Model", "size", "mmlu", "arc", "notes", ""]
COLUMN_NAMES = st.sampled_from(WIDE_COLUMNS) | JSON_VALUES
META = st.fixed_dictionaries({}, optional={k: JSON_VALUES | CELLS for k in (
    "benchmark", "task", "metric", "shots", "unit", "higher_is_better", "n_items", "stderr", "chance", "source")})
SIDECAR = st.fixed_dictionaries({}, optional={
    "model": COLUMN_NAMES, "family": COLUMN_NAMES, "params": COLUMN_NAMES, "tokens": COLUMN_NAMES,
    "scores": st.dictionaries(st.sampled_from(WIDE_COLUMNS) | st.text(max_size=4), st.none() | META | JSON_VALUES,
                              max_size=3) | JSON_VALUES,
    "defaults": META | JSON_VALUES,
    "ignore": st.lists(COLUMN_NAMES, max_size=3) | JSON_VALUES,
})
SIDECAR_TEXT = st.one_of(
    SIDECAR.map(yaml.safe_dump),
    JSON_VALUES.map(yaml.safe_dump),
    st.text(max_size=80),
    st.sampled_from(["model: [", "scores: {mmlu: {unit: percent}}\n\tdefaults: x", "- a\n- b", "&a [*a]",
                     "!!python/object:os.system x", "model: *b", "scores:\n  mmlu:\n  - 1"]),
)
WIDE_TABLE = st.lists(st.sampled_from(WIDE_COLUMNS), min_size=1, max_size=6, unique=True).flatmap(
    lambda header: csv_documents(columns=WIDE_COLUMNS, required=header, unknown=st.just("extra")))


@FUZZ
@given(sidecar=SIDECAR_TEXT, table=encoded(WIDE_TABLE))
def test_read_wide_answers_with_rows_and_problems(sidecar, table):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "board.csv"
        path.write_bytes(table)
        (Path(tmp) / "board.yaml").write_text(sidecar, encoding="utf-8")
        rows, problems = read_wide(path, Path(tmp) / "board.yaml")
    assert isinstance(rows, pd.DataFrame)
    assert all(isinstance(p, Problem) and p.file and p.message for p in problems)


# --- 4. convert(): a path that no importer claims is read as a contract CSV ---------------

@FUZZ
@given(raw=CSV_BYTES)
def test_convert_answers_with_rows_and_problems(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.csv"
        path.write_bytes(raw)
        rows, problems = convert(path)
    assert isinstance(rows, pd.DataFrame)
    assert all(isinstance(p, Problem) and p.file and p.message for p in problems)

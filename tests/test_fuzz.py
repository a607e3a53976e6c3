"""Property-based fuzzing of every reader of user input: whatever a user hands us, the reader
answers with rows and problems (each naming its file), never with a traceback, and drops no row
without saying so.

The budget is fixed and the search derandomized, so CI runs the same examples every time (about
20 s when every reader passes; shrinking a failure adds more): the `measurement` tier. For a deeper local search:
FUZZ_EXAMPLES=3000 pytest tests/test_fuzz.py (about 4 min).
"""
import csv
import io
import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.importers import convert, parse_harness_file, read_lm_eval, read_wide
from analysis.loading import OPTIONAL, REQUIRED, Problem, read_scores

pytestmark = pytest.mark.measurement

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "300")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

LABEL = "data/fuzzed.csv"


def weighted(*choices: tuple[int, st.SearchStrategy]) -> st.SearchStrategy:
    """`st.one_of` with weights (one_of draws each distinct branch alike, and a repeated branch once)."""
    branches = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(range(len(branches))).flatmap(branches.__getitem__)


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
#: plausible values per column (small pools, so rows repeat: duplicates, replicates, whole curves)
PLAUSIBLE = {column: st.sampled_from(values) for column, values in {
    "model": ["pythia-70m", "pythia-1b", "m1", "m2"], "family": ["Pythia", "OPT"],
    "params": ["70M", "1B", "1.4e9", "7000000000", "12b"], "benchmark": ["mmlu", "arc"],
    "task": ["t1", "t2"], "metric": ["acc", "ppl"],
    "score": ["0", "0.25", "0.5", "0.9", "1", "12.5", "50", "99"], "tokens": ["300B", "2e12", ""],
    "compute": ["1e21", ""], "shots": ["0", "5", "5.0", ""], "unit": ["fraction", "percent", "raw", ""],
    "higher_is_better": ["true", "false", "TRUE", ""], "n_items": ["100", "1000", ""],
    "stderr": ["0.01", "1.5", ""], "chance": ["0", "0.25", "25", ""], "source": ["paper", ""],
}.items()}
WIDTH_CHANGES = [0, 0, 0, 0, 0, 0, -1, 1, -2, 2]  # fields in a row minus fields in the header
UNKNOWN = st.sampled_from(["Model", "scores", "higher_is_beter", "notes", "", " ", "Unnamed: 3", "é", "score"])


@st.composite
def csv_documents(draw, columns=CONTRACT, required=REQUIRED, unknown=UNKNOWN, plausible=PLAUSIBLE) -> str:
    """A CSV document in roughly the expected shape, with every way a hand-made table goes wrong."""
    if draw(st.integers(0, 5)):
        header = list(required)
    else:  # some required columns missing
        header = draw(st.lists(st.sampled_from(required), unique=True))
    extra = [c for c in columns if c not in required]
    header += draw(st.lists(st.sampled_from(extra), unique=True, max_size=4)) if extra else []
    header += draw(st.lists(unknown, max_size=2))
    header = draw(st.permutations(header))
    if draw(st.integers(0, 4)) == 0:
        header = [f" {h} " for h in header]
    mess = draw(st.sampled_from([0, 2, 10, 50]))  # percent of cells that are anything at all
    rows = []
    for _ in range(draw(st.integers(0, 8))):
        width = max(len(header) + draw(st.sampled_from(WIDTH_CHANGES)), 0)
        names = [*header, *[""] * width][:width]
        rows.append([draw(CELLS if draw(st.integers(0, 99)) < mess else plausible.get(name.strip(), CELLS))
                     for name in names])
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


CSV_BYTES = st.binary(max_size=400) | encoded(csv_documents())

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
    last_line = raw.count(b"\n") + raw.count(b"\r") + 1  # no row is numbered past the file's last line
    for p in loaded.problems:
        assert isinstance(p, Problem)
        assert p.file == label, p
        assert isinstance(p.message, str) and p.message.strip(), p
        # a row set aside is a data row (2 and on); row 1 with kept=False is the header: the whole file
        assert p.row is None or 1 <= p.row <= last_line, p
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

TASKS = weighted((3, st.sampled_from(["arc_easy", "lambada_openai", "hellaswag-x"])),
                 (1, st.sampled_from(["", "é", "a,b"])), (1, st.text(max_size=6)))
METRIC_KEYS = weighted(
    (3, st.sampled_from(["acc", "acc,none", "acc_stderr", "acc_stderr,none", "ppl"])),
    (1, st.sampled_from(["acc_norm,none", "f1,strict", "pct_stereotype", "alias", "samples", "weird,", ",none",
                         "acc_stderr,strict"])),
    (1, st.text(max_size=6)),
)
#: numbers as a harness (or a hand edit) may write them, the awkward ones up front
ODD_NUMBERS = st.sampled_from([10**400, -(10**400), 2**63, 1e308, -1, 0, 5, 5.0, 5.5, True, "5", " 5 ", "N/A"])
FIELDS = weighted((2, st.sampled_from([0, 5, 25, 100])), (1, ODD_NUMBERS), (1, JSON_VALUES))
METRIC_VALUES = weighted((3, st.floats(0, 1)), (1, st.floats()), (1, ODD_NUMBERS), (1, JSON_VALUES))


def per_task(values):
    return weighted((3, st.dictionaries(TASKS, values, max_size=3)), (1, JSON_VALUES))


HARNESS_PARTS = {
    "n-shot": per_task(FIELDS),
    "n-samples": per_task(st.fixed_dictionaries({}, optional={"effective": FIELDS, "original": FIELDS}) | FIELDS),
    "higher_is_better": per_task(st.dictionaries(METRIC_KEYS, FIELDS | st.booleans(), max_size=3) | JSON_VALUES),
    "config": st.fixed_dictionaries({}, optional={"num_fewshot": FIELDS}) | JSON_VALUES,
}
RESULTS = st.dictionaries(TASKS, weighted((3, st.dictionaries(METRIC_KEYS, METRIC_VALUES, min_size=1, max_size=4)),
                                           (1, JSON_VALUES)), min_size=1, max_size=3)
HARNESS = weighted(
    # mostly an output file with scores in it, each other part present or not, right or wrong
    (3, st.fixed_dictionaries({"results": RESULTS}, optional=HARNESS_PARTS)),
    (1, st.fixed_dictionaries({}, optional={"results": JSON_VALUES, **HARNESS_PARTS})),
)
HARNESS_BYTES = weighted(
    (6, HARNESS.map(lambda d: json.dumps(d).encode())),
    (1, JSON_VALUES.map(lambda v: json.dumps(v).encode())),
    (1, st.binary(max_size=200)),
    (1, encoded(st.text(max_size=60))),
)
JSON_NAMES = ["h0.json", "h1.json", "h2.json"]
FILE_CELLS = st.sampled_from([*JSON_NAMES, "missing.json", "", ".", "..", "../h0.json", "sub", "d.json",
                              " h1.json ", "h0.JSON", "/etc/passwd"]) | CELLS
MODELS_COLUMNS = ("file", "model", "family", "params", "tokens")
MODELS_CSV = weighted(
    (1, st.binary(max_size=300)),
    (1, encoded(st.builds(lambda f, m, p: f"file,model,family,params\n{f},{m},Modèle,{p}\n", FILE_CELLS, CELLS,
                          SIZES))),
    # mostly rows that name the harness files, so that their contents get read
    (4, encoded(csv_documents(columns=MODELS_COLUMNS, required=MODELS_COLUMNS[:4],
                              unknown=st.sampled_from(["notes", "File", "", "file"]),
                              plausible={**PLAUSIBLE, "file": st.sampled_from(JSON_NAMES)}))),
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
@given(models=MODELS_CSV, harness=st.lists(HARNESS_BYTES, min_size=1, max_size=3),
       folders=st.sets(st.sampled_from(["sub", "d.json"])))
def test_read_lm_eval_answers_with_rows_and_problems(models, harness, folders):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "run"
        folder.mkdir()
        (folder / "models.csv").write_bytes(models)
        for name, content in zip(JSON_NAMES, harness):
            (folder / name).write_bytes(content)
        for name in folders:  # a subfolder, one named like a harness file
            (folder / name).mkdir()
        rows, problems = read_lm_eval(folder)
    assert isinstance(rows, pd.DataFrame)
    for p in problems:
        assert isinstance(p, Problem)
        assert p.file and p.file.startswith(str(folder)), p
        assert isinstance(p.message, str) and p.message.strip(), p


# --- 3. wide tables with a YAML sidecar -------------------------------------------------

WIDE_COLUMNS = ["model", "family", "params", "tokens", "Model", "size", "mmlu", "arc", "notes", ""]
WIDE_PLAUSIBLE = {**PLAUSIBLE, "size": PLAUSIBLE["params"], "Model": PLAUSIBLE["model"],
                  "mmlu": st.sampled_from(["0.5", "61.2", "", " ", "n/a"]), "arc": PLAUSIBLE["score"]}
META_VALUES = {
    "benchmark": ["mmlu", "arc"], "task": ["all", "t1"], "metric": ["acc", "ppl"], "shots": [0, 5, "5"],
    "unit": ["fraction", "percent", "raw"], "higher_is_better": [True, False, "true"], "n_items": [100, 1000],
    "stderr": [0.01], "chance": [0.25, 25], "source": ["paper"],
}
META_CLEAN = st.fixed_dictionaries({}, optional={key: st.sampled_from(values) for key, values in META_VALUES.items()})
META = st.fixed_dictionaries({}, optional={
    key: weighted((4, st.sampled_from(values)), (1, FIELDS | CELLS)) for key, values in META_VALUES.items()})
RAW_YAML = st.sampled_from(["model: [", "scores: {mmlu: {unit: percent}}\n\tdefaults: x", "- a\n- b", "&a [*a]",
                            "!!python/object:os.system x", "model: *b", "scores:\n  mmlu:\n  - 1", "? [a]\n: 1"])


@st.composite
def wide_cases(draw) -> tuple[str, bytes]:
    """A sidecar (of the right shape with odd values, or wrong anywhere) and a table that mostly has the
    columns the sidecar names."""
    clean = draw(st.booleans())

    def maybe(strategy):  # when not clean, anything at all now and then
        return strategy if clean else weighted((6, strategy), (1, JSON_VALUES))

    names = st.sampled_from(WIDE_COLUMNS) if clean else weighted((6, st.sampled_from(WIDE_COLUMNS)),
                                                                 (1, st.text(max_size=4)))
    meta = META_CLEAN if clean else META
    spec = draw(st.fixed_dictionaries({
        "scores": maybe(st.dictionaries(names, maybe(st.none() | meta), min_size=1, max_size=3)),
    }, optional={
        "model": maybe(names), "family": maybe(names), "params": maybe(names), "tokens": maybe(names),
        "defaults": maybe(meta), "ignore": maybe(st.lists(maybe(names), max_size=3)),
    }))
    sidecar = yaml.safe_dump(spec) if clean else draw(weighted(
        (3, st.just(yaml.safe_dump(spec))), (1, JSON_VALUES.map(yaml.safe_dump)), (1, st.text(max_size=80)),
        (1, RAW_YAML)))
    header = draw(st.lists(st.sampled_from(WIDE_COLUMNS), max_size=4, unique=True))
    if clean or draw(st.booleans()):  # the table has the columns the sidecar names
        header += [spec.get(k) or k for k in ("model", "family", "params", "tokens")]
        header += list(spec["scores"]) if isinstance(spec["scores"], dict) else []
    header = draw(st.permutations(list(dict.fromkeys(h for h in header if isinstance(h, str))) or ["model"]))
    table = draw(encoded(csv_documents(columns=WIDE_COLUMNS, required=header, unknown=st.just("extra"),
                                       plausible=WIDE_PLAUSIBLE)))
    return sidecar, table


@FUZZ
@given(case=wide_cases())
def test_read_wide_answers_with_rows_and_problems(case):
    sidecar, table = case
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

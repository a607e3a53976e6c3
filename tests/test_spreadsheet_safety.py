"""Issue 25, item 5: every CSV the run writes under results/, at any depth, is safe to open in a
spreadsheet, and the report shows every name exactly as the user wrote it.

One real Snakemake run on a contract CSV and a wide table whose every text field (the file's name
too) starts with a character a spreadsheet would run as a formula, or with the quote that escapes one.
"""
import base64
import csv
import gzip
import html as markup
import io
import json
import re

import markupsafe
import pandas as pd
import pytest

from analysis import schema
from analysis.synthetic import simulate
from tests.test_workflow import snakemake

#: one name per character a spreadsheet runs (OWASP), and one that starts with the escaping quote itself
FAMILIES = ('=HYPERLINK("http://x","y")', "'=quoted")
BENCHMARK, TASK, METRIC, MODEL, SOURCE = "+bench", "@task", "-metric", "-m", "@source"
DATASET = "=data"
WIDE = {"id": "@wide", "family": "-wide", "benchmark": "=wb", "task": "+wt", "metric": "@wm"}
#: cells a contract CSV gives with surrounding whitespace, which reading strips (tab, CR): written anyway
STRIPPED = ("\tTAB", "\rCR")
SHOWN = (*FAMILIES, BENCHMARK, TASK, METRIC, DATASET, *(v for k, v in WIDE.items() if k != "id"))
FORMULA_START = tuple("=+-@\t\r")


def _data(data):
    rows = simulate("emergent", 2, seed=1)
    rows["family"] = rows["family"].map(dict(zip(sorted(rows["family"].unique()), FAMILIES)))
    rows["model"] = MODEL + rows["family"].str[:2] + rows.groupby("family").cumcount().astype(str)
    rows["benchmark"], rows["task"], rows["metric"], rows["source"] = BENCHMARK, TASK, METRIC, SOURCE
    rows.loc[0, "source"], rows.loc[1, "source"] = STRIPPED
    rows.to_csv(data / f"{DATASET}.csv", index=False)
    wide = data / "wide"
    wide.mkdir()
    one = simulate("emergent", 1, n_sizes=5, seed=2)
    pd.DataFrame({"model": "-w" + one.index.astype(str), "family": WIDE["family"], "params": one["params"],
                  "=score": one["score"]}).to_csv(wide / f"{WIDE['id']}.csv", index=False)
    (wide / f"{WIDE['id']}.yaml").write_text(
        "model: model\nfamily: family\nparams: params\ndefaults: {unit: fraction}\nscores:\n"
        f"  '=score': {{benchmark: '{WIDE['benchmark']}', task: '{WIDE['task']}', metric: '{WIDE['metric']}', "
        "chance: 0.25, n_items: 1000}\n")


def _formula_cells(text: str) -> list[str]:
    """A CSV's cells (the header's too) that a spreadsheet would run: text starting with = + - @ tab
    or CR. A number (-0.5, -inf) is read as a number."""
    cells = [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]
    out = []
    for cell in cells:
        if cell.startswith(FORMULA_START):
            try:
                float(cell)
            except ValueError:
                out.append(cell)
    return out


def _packed_strings(html: str) -> set[str]:
    """Every text of the report's packed tables (gzipped JSON in base64), as its page unpacks them."""
    out = set()

    def walk(value):
        if isinstance(value, str):
            out.add(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
    for blob in re.findall(r'type="application/gzip\+base64">(.*?)</script>', html, re.S):
        walk(json.loads(gzip.decompress(base64.b64decode(blob))))
    return out


def test_the_escaping_is_undone_exactly(tmp_path):
    """Every text a spreadsheet would run, or that starts with the escaping quote, comes back as written;
    numbers (and the text of a number) are never touched."""
    names = ["=1+1", "+x", "-x", "@x", "\tx", "\rx", "'", "'=x", "''x", "x'", "-0.5", "+1e3", "-inf", "", "x"]
    frame = pd.DataFrame({"family": names, "score": [-0.5] * len(names), "=column": names})
    safe = schema.spreadsheet_safe(frame)
    assert list(safe["family"]) == ["'=1+1", "'+x", "'-x", "'@x", "'\tx", "'\rx", "''", "''=x", "'''x", "x'",
                                    "-0.5", "+1e3", "'-inf", "", "x"]
    assert list(safe.columns) == ["family", "score", "'=column"] and list(safe["score"]) == [-0.5] * len(names)
    assert schema.as_written(safe).equals(frame)
    # through a file (pandas leaves a cell with a bare CR unquoted, which no reader reads back: not here)
    files = frame[frame["family"] != "\rx"].reset_index(drop=True)
    schema.spreadsheet_safe(files).to_csv(tmp_path / "t.csv", index=False)
    read = schema.read(tmp_path / "t.csv", "curves")
    assert list(read["family"]) == list(files["family"]) and list(read.columns) == list(frame.columns)
    assert _formula_cells((tmp_path / "t.csv").read_text(encoding="utf-8")) == []


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("hostile")
    (work / "data").mkdir()
    _data(work / "data")
    result = snakemake(work)
    assert result.returncode == 0, result.stderr[-3000:]
    return work


@pytest.mark.workflow
def test_no_csv_under_results_holds_a_live_formula(hostile_run):
    results = hostile_run / "results"
    written = sorted(results.rglob("*.csv"))
    assert {"datasets", "imported", "previous"} <= {p.relative_to(results).parts[0] for p in written}
    unsafe = {str(p.relative_to(results)): cells for p in written
              if (cells := _formula_cells(p.read_text(encoding="utf-8")))}
    assert unsafe == {}
    # nor the CSV of a card's points that the report offers for download
    cards = re.findall(r'data-csv="([^"]*)"', (results / "report.html").read_text(encoding="utf-8"))
    assert cards and all(_formula_cells(markup.unescape(text)) == [] for text in cards)


@pytest.mark.workflow
def test_names_round_trip_exactly_through_the_results_tables(hostile_run):
    curves = schema.read(hostile_run / "results" / "curves.csv", "curves")
    assert set(curves["family"]) == {*FAMILIES, WIDE["family"]}
    assert set(curves["dataset"]) == {DATASET, WIDE["id"]}
    assert set(curves["benchmark"]) == {BENCHMARK, WIDE["benchmark"]}
    assert set(curves["task"]) == {TASK, WIDE["task"]} and set(curves["metric"]) == {METRIC, WIDE["metric"]}
    points = schema.read(hostile_run / "results" / "points.csv", "points")
    assert points["model"].str.startswith(("-m", "-w")).all() and SOURCE in set(points["source"])
    # the last run's curves, read back by the next: no curve seems new, gone or renamed
    assert snakemake(hostile_run, "--forcerun", "combine").returncode == 0
    changes = schema.read(hostile_run / "results" / "changes.csv")
    assert changes.empty, changes[["change", "family"]]


@pytest.mark.workflow
def test_the_report_shows_names_as_written_and_escaped(hostile_run):
    html = (hostile_run / "results" / "report.html").read_text(encoding="utf-8")
    # a card's points download is a CSV file's text: quoted there on purpose
    shown = re.sub(r'data-csv="[^"]*"', "", html)
    packed = _packed_strings(html)
    for name in SHOWN:
        escaped = str(markupsafe.escape(name))
        assert escaped in shown or name in packed, name
        leaked = str(markupsafe.escape("'" + name))
        # (a message may quote a name, 'like this': the quote then closes after it)
        assert not re.search(re.escape(leaked) + "(?!&#39;)", shown), name
        assert not any(s.startswith("'" + name) for s in packed), name
    assert 'HYPERLINK("' not in shown   # a double quote in a name cannot close an attribute


@pytest.mark.parametrize("raw", [b"a,b\n'x,1", b"'a,b", b"\"'a\",b", b"a,\"'b\"\n", b"a,b\n1,2", b"a,b\nx'y,2",
                                 b"a,b\r\n'x,1", b"", b"x,\"a'\"\n", b"a,b\n\"'=1\",2"])
def test_the_scan_for_escaped_cells_finds_what_the_pattern_finds(raw):
    """`schema.read` undoes the escaping only where a cell starts with the quote; its substring scan
    must find exactly the cells the plain pattern (a separator, an optional CSV quote, the quote) finds."""
    pattern = re.compile(rb'(?:^|[,\n])"?' + re.escape(schema.QUOTE.encode()))
    assert schema._has_escaped_cell(raw) == bool(pattern.search(raw))

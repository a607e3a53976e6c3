"""The summary at the end of a run (issue 25), and the grouping of a problem repeated over rows."""
import logging
import os

import pandas as pd
import pytest

from analysis import runlog, runsummary
from analysis.deps import code_closure
from analysis.problems import DataError, Problem, grouped, problems_frame
from analysis.validation import log_problems, require_curves
from tests.conftest import REPO

PERCENT = "score {} is outside 0-1 for unit fraction; if it is a percentage, set unit to percent"


def percent_rows(file="data/p.csv", rows=(2, 3, 4)):
    return [Problem(file, r, "score", PERCENT.format(20 + r)) for r in rows]


def test_a_problem_repeated_over_rows_is_one_line_with_a_count():
    problems = problems_frame(percent_rows() + [Problem("data/p.csv", 5, "score", 'score "abc" is not a number'),
                                                Problem("data/p.csv", 6, "benchmark", "not in the catalogue", True)])
    kinds = grouped(problems)
    assert [str(k) for k in kinds] == [
        f"data/p.csv row 2: {PERCENT.format(22)} (and 2 more like it, rows 3-4)",
        'data/p.csv row 5: score "abc" is not a number',
        "data/p.csv row 6: not in the catalogue"]
    assert [k.example.kept for k in kinds] == [False, False, True]
    # the same message in two files, or once kept and once set aside, is two kinds
    two = problems_frame(percent_rows("a.csv", (2,)) + percent_rows("b.csv", (2,)))
    assert len(grouped(two)) == 2


def test_the_console_gets_errors_and_warnings_once_per_kind_and_the_log_every_row(tmp_path, capsys):
    log = tmp_path / "job.log"
    logger = runlog.setup(log)
    log_problems(problems_frame(percent_rows() + [Problem("data/p.csv", 9, "benchmark", "not catalogued", True)]),
                 logger)
    console = capsys.readouterr().err.splitlines()
    assert console == [f"ERROR data/p.csv row 2: {PERCENT.format(22)} (and 2 more like it, rows 3-4)",
                       "WARNING data/p.csv row 9: not catalogued"]
    assert f"DEBUG data/p.csv row 4: {PERCENT.format(24)}" in log.read_text().splitlines()
    logging.getLogger(runlog.NAME).handlers.clear()


def test_strict_refuses_a_dataset_without_curves():
    require_curves(pd.DataFrame({"curve_id": []}), "data/p.csv", strict=False)
    require_curves(pd.DataFrame({"curve_id": ["x"]}), "data/p.csv", strict=True)
    with pytest.raises(DataError, match="data/p.csv: produced 0 curves"):
        require_curves(pd.DataFrame({"curve_id": []}), "data/p.csv", strict=True)


def finished(tmp_path):
    """A results folder as a run leaves it: one dataset with curves and a warning, one with none."""
    results = tmp_path / "results"
    for name, n, problems in [("good", 3, [Problem("data/good.csv", 2, "benchmark", "not catalogued", True)]),
                              ("p", 0, percent_rows())]:
        folder = results / "datasets" / name
        folder.mkdir(parents=True)
        pd.DataFrame({"curve_id": [f"{name}{i}" for i in range(n)]}).to_csv(folder / "curves.csv", index=False)
        problems_frame(problems).to_csv(folder / "problems.csv", index=False)
    pd.DataFrame({"dataset": ["good"] * 3, "label": ["smooth", "smooth", "flat"]}).to_csv(results / "curves.csv",
                                                                                         index=False)
    (results / "report.html").write_text("<html></html>")
    return results


def test_the_summary_names_the_dataset_without_curves_and_ends_with_the_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    finished(tmp_path)
    lines = runsummary.success_lines("results", {"good": "data/good.csv", "p": "data/p.csv", "new": "data/new.csv"},
                                     [["data/x.xlsx", "is a spreadsheet (Excel) file"]])
    assert "3 curves: smooth 2, flat 1" in lines
    assert "data/good.csv: 3 curves; nothing set aside; 1 row kept with warnings" in lines
    assert "  WARNING data/good.csv row 2: not catalogued" in lines
    assert "data/p.csv: 0 curves; 3 rows set aside; no warnings" in lines
    assert f"  ERROR data/p.csv row 2: {PERCENT.format(22)} (and 2 more like it, rows 3-4)" in lines
    assert "ERROR data/x.xlsx: not read: is a spreadsheet (Excel) file" in lines
    assert (f"WARNING: data/p.csv produced 0 curves: 3 rows set aside (row 2: {PERCENT.format(22)}; and 2 more "
            "like it); strict: true stops such a run") in lines
    assert not any("data/new.csv" in line for line in lines)   # not analysed in this run: not said to be empty
    assert lines[-1] == f"Report: {os.path.abspath('results/report.html')}"


def test_after_validate_data_the_summary_is_the_validation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = finished(tmp_path)
    problems_frame(percent_rows("data/q.csv")).to_csv(results / "validation.csv", index=False)
    os.utime(results / "validation.csv", (4e9, 4e9))   # newer than the run's tables
    lines = runsummary.success_lines("results", {"good": "data/good.csv", "p": "data/p.csv"})
    assert "data/q.csv: 3 rows set aside; no warnings" in lines
    assert not any("curves" in line for line in lines[1:])
    assert lines[-1].endswith("report.html (not updated: validate_data fits nothing)")


SNAKEMAKE_LOG = """\
[Mon Dec  7 17:22:45 2026]
Error in rule analyse_dataset:
    message: None
    jobid: 4
    input: data/p.csv, /repo/analysis/__init__.py
    output: results/datasets/p/curves.csv
    log: results/logs/analyse_dataset/p.log (check log file(s) for error details)
Error in group datasets:
    jobs:
        rule import_dataset:
            jobid: 7
            log: results/logs/import/wide/w.log (check log file(s) for error details)
Shutting down, this might take some time.
"""


def test_a_failed_run_says_what_failed_and_where_its_log_is(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert runsummary.failed_jobs(SNAKEMAKE_LOG) == [
        ("analyse_dataset", "", ["results/logs/analyse_dataset/p.log"]),
        ("import_dataset", "", ["results/logs/import/wide/w.log"])]
    (tmp_path / "snakemake.log").write_text(SNAKEMAKE_LOG)
    (tmp_path / "results/logs/analyse_dataset").mkdir(parents=True)
    (tmp_path / "results/logs/analyse_dataset/p.log").write_text("INFO read\nERROR data/p.csv row 2: bad\n")
    lines = runsummary.error_lines("results", [str(tmp_path / "snakemake.log")])
    assert lines[1:5] == ["FAILED: rule analyse_dataset", "  log: results/logs/analyse_dataset/p.log",
                          "  ERROR data/p.csv row 2: bad", "FAILED: rule import_dataset"]
    assert lines[-1] == f"Report: {os.path.abspath('results/report.html')} (not written: the run failed)"


def test_no_step_of_the_analysis_imports_the_summary():
    """Editing the summary reruns nothing: it is in no script's code inputs."""
    scripts = sorted((REPO / "workflow" / "scripts").glob("*.py"))
    assert scripts
    closures = {script.stem: set(code_closure(str(script), str(REPO))) for script in scripts}
    assert REPO / "analysis" / "problems.py" in closures["analyse_dataset"]   # the closure is what it reads
    assert not [name for name, files in closures.items() if REPO / "analysis" / "runsummary.py" in files]

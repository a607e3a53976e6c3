"""The summary at the end of every run, printed by the Snakefile's onsuccess and onerror handlers.

A run's console is long and what matters is at its end: how many curves of each
label, what was set aside in which file, which dataset gave no curve at all
(loudly: usually a unit or a column the table does not declare), what failed
and where its log is, and where the report is (the last line). Everything is
read from the files the run wrote; no Snakemake here, and no step of the
analysis imports this module (editing it reruns nothing).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pandas as pd

from . import schema
from .problems import grouped, kept

#: files listed one by one, and kinds of problem listed per file; the rest are counted
MAX_FILES = 20
MAX_KINDS = 5
#: lines of a failed job's log shown
MAX_LOG_LINES = 5

RULE = "-" * 20
PROBLEM_COLUMNS = ["file", "row", "column", "message", "kept"]


def success_lines(results: str | Path, datasets: dict[str, str], unread=()) -> list[str]:
    """The summary of a finished run. `datasets`: id -> what the user gave (data/x.csv, a folder);
    `unread`: (file, message) of each file in the data folder that no dataset reads."""
    results = Path(results)
    validation, curves_csv = results / "validation.csv", results / "curves.csv"
    if validation.exists() and _mtime(validation) > max(_mtime(curves_csv), _mtime(results / "report.html")):
        return validation_lines(results)   # the last run was `validate_data`: its tables are the newest
    lines = [RULE + " run summary " + RULE]
    labels = _column(curves_csv, "label")
    if labels is not None:
        counts = labels.value_counts()
        lines.append(f"{len(labels):,} curves: " + ", ".join(f"{label} {n:,}" for label, n in counts.items()))
    files, quiet, empty = [], [], []
    for dataset, label in sorted(datasets.items()):
        folder = results / "datasets" / dataset
        if not (folder / "curves.csv").exists():   # not part of this run (a target that stops before it)
            continue
        n = _length(folder / "curves.csv")
        problems = _problems(folder / "problems.csv")
        if n == 0:
            empty.append(_empty_line(label, problems))
        if n == 0 or len(problems):
            files.append((f"{label}: {n:,} curve{_s(n)}; " + _counts(problems), problems))
        else:
            quiet.append(n)
    lines += _file_lines(files, results)
    if quiet:
        lines.append(f"{len(quiet):,} other dataset{_s(len(quiet))}: {sum(quiet):,} curves, nothing set aside, "
                     "no warnings")
    lines += [f"ERROR {file}: not read: {message}" for file, message in unread]
    lines += empty
    lines.append(_report_line(results))
    return lines


def validation_lines(results: str | Path) -> list[str]:
    """The summary of a `validate_data` run: the problems of every file, no curves."""
    results = Path(results)
    problems = _problems(results / "validation.csv")
    lines = [RULE + " validation summary (nothing fitted) " + RULE]
    files = [(f"{file}: " + _counts(group), group) for file, group in problems.groupby("file", sort=False)]
    lines += _file_lines(files, results, table="validation.csv") or ["no problems in any file"]
    lines.append(_report_line(results, "validate_data fits nothing"))
    return lines


def error_lines(results: str | Path, snakemake_logs=()) -> list[str]:
    """The summary of a failed run: each failed job with its log and the errors the log holds."""
    results = Path(results)
    lines = [RULE + " run summary: the run FAILED " + RULE]
    failed = []
    for path in snakemake_logs or ():
        if os.path.isfile(path):
            failed += [f for f in failed_jobs(Path(path).read_text(encoding="utf-8", errors="replace"))
                       if f not in failed]
    for rule, message, logs in failed:
        lines.append(f"FAILED: rule {rule}" + (f" ({message})" if message else ""))
        for log in logs:
            lines.append(f"  log: {log}")
            lines += [f"  {line}" for line in _log_errors(log)]
    if not failed:
        lines.append("FAILED: see Snakemake's messages above")
    lines.append(_report_line(results, "the run failed"))
    return lines


def failed_jobs(snakemake_log: str) -> list[tuple[str, str, list[str]]]:
    """(rule, message, logs) of each job Snakemake's log says failed, alone or in a group of jobs."""
    jobs: list[tuple[str, str, list[str]]] = []
    for line in snakemake_log.splitlines():
        start = re.match(r"(?:Error in rule|\s+rule) (\S+):$", line)
        if start:
            jobs.append((start.group(1), "", []))
            continue
        if not jobs:
            continue
        message = re.match(r"\s+message: (.*)$", line)
        log = re.match(r"\s+log: (.*?) \(check log file", line)
        if message and message.group(1) != "None":   # Snakemake's error block may say "message: None"
            jobs[-1] = (jobs[-1][0], message.group(1), jobs[-1][2])
        elif log:
            jobs[-1][2].extend(p.strip() for p in log.group(1).split(","))
    return jobs


def show(lines: list[str], stream=None) -> None:
    """Print the summary to the console beside Snakemake's own messages (stderr)."""
    stream = stream or sys.stderr
    print("\n" + "\n".join(lines), file=stream, flush=True)


def on_success(results: str | Path, datasets: dict[str, str], unread=()) -> None:
    _show_safely(success_lines, results, datasets, unread)


def on_error(results: str | Path, snakemake_logs=()) -> None:
    _show_safely(error_lines, results, snakemake_logs)


def _show_safely(summary, *args) -> None:
    """A summary that cannot be read (a table half-written by hand) says so; it never fails the run."""
    try:
        lines = summary(*args)
    except Exception as exc:  # noqa: BLE001 - the run's outcome is Snakemake's, not the summary's
        lines = [f"(no run summary: {type(exc).__name__}: {exc})", _report_line(Path(args[0]))]
    show(lines)


# ---------------------------------------------------------------- helpers
def _file_lines(files, results: Path, table: str = "rejected.csv") -> list[str]:
    """Per file: its counts, then each kind of problem once (errors: set aside; warnings: kept)."""
    lines = []
    for head, problems in files[:MAX_FILES]:
        lines.append(head)
        kinds = grouped(problems)
        lines += [f"  {'WARNING' if k.example.kept else 'ERROR'} {k}" for k in kinds[:MAX_KINDS]]
        if len(kinds) > MAX_KINDS:
            lines.append(f"  ... {len(kinds) - MAX_KINDS:,} more kinds of problem: {results / table}")
    if len(files) > MAX_FILES:
        lines.append(f"... {len(files) - MAX_FILES:,} more files with problems: {results / table}")
    return lines


def _empty_line(label: str, problems: pd.DataFrame) -> str:
    """The loud line for a dataset that gave nothing, with the first reason (strict makes it an error)."""
    aside = problems[~kept(problems)] if len(problems) else problems
    line = f"WARNING: {label} produced 0 curves: " + (_counts(aside, warnings=False) if len(aside) else "no rows")
    kinds = grouped(aside)
    if kinds:
        first = kinds[0]
        where = first.example.file if first.example.file != label else ""
        where += (" " if where else "") + (f"row {first.example.row}" if first.example.row is not None else "")
        line += f" ({where + ': ' if where else ''}{first.example.message}"
        line += f"; and {first.more:,} more like it)" if first.more else ")"
    return line + "; strict: true stops such a run"


def _counts(problems: pd.DataFrame, warnings: bool = True) -> str:
    """'16 rows set aside; 2 rows kept with warnings', problems of a whole file counted apart."""
    if not len(problems):
        return "nothing set aside, no warnings"
    is_kept = kept(problems)
    parts = [_rows(problems[~is_kept], "set aside", "nothing set aside")]
    if warnings:
        parts.append(_rows(problems[is_kept], "kept with warnings", "no warnings"))
    return "; ".join(parts)


def _rows(problems: pd.DataFrame, what: str, none: str) -> str:
    rows, whole = problems["row"].dropna().nunique(), int(problems["row"].isna().sum())
    parts = [f"{rows:,} row{_s(rows)} {what}"] if rows else []
    if whole:
        parts.append(f"{whole:,} problem{_s(whole)} with the file as a whole" + ("" if rows else f" ({what})"))
    return ", ".join(parts) or none


def _log_errors(log: str) -> list[str]:
    """The errors a failed job's log holds (its last lines where it says none)."""
    if not os.path.isfile(log):
        return []
    lines = Path(log).read_text(encoding="utf-8", errors="replace").splitlines()
    errors = [line for line in lines if line.startswith(("ERROR", "CRITICAL"))]
    if not errors:
        return lines[-MAX_LOG_LINES:]
    more = len(errors) - MAX_LOG_LINES
    return errors[:MAX_LOG_LINES] + ([f"... {more:,} more errors in the log"] if more > 0 else [])


def _report_line(results: Path, stale: str = "") -> str:
    """The last line: the report's full path (a run may be in another --directory), and whether this
    run wrote it (`stale`: why not)."""
    report = results / "report.html"
    line = f"Report: {os.path.abspath(report)}"
    if not report.exists():
        return f"{line} (not written{': ' + stale if stale else ''})"
    return f"{line} (not updated: {stale})" if stale else line


def _problems(path: Path) -> pd.DataFrame:
    """A problems table as written (names unescaped); empty with its columns where there is none."""
    frame = schema.read(path, "problems") if path.exists() else pd.DataFrame()
    return pd.DataFrame(columns=PROBLEM_COLUMNS) if frame.columns.empty else frame


def _column(path: Path, name: str) -> pd.Series | None:
    """One column of a big table (a run's curves.csv can hold 200,000 curves), or None."""
    try:
        return pd.read_csv(path, usecols=[name])[name]
    except (FileNotFoundError, ValueError, pd.errors.EmptyDataError):
        return None


def _length(path: Path) -> int:
    """Rows of a table, without reading more than its first column."""
    try:
        return len(pd.read_csv(path, usecols=[0]))
    except pd.errors.EmptyDataError:
        return 0


def _mtime(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


def _s(n: int) -> str:
    return "" if n == 1 else "s"

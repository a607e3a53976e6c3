"""Reading and checking data files, without fitting: what `validate_data` runs, and the first step of
every analysis (`prepare_points`). Nothing here imports the statistics.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from . import runlog, schema
from .catalogue import apply_catalogue
from .curves import build_curves
from .importers.base import relocate
from .loading import check_models, read_scores, split_families, with_axis
from .problems import DataError, Problem, grouped, kept, problems_frame
from .settings import Settings, for_dataset


def prepare_points(path: str | Path, axis: str = "params", split_by: tuple[str, ...] = (),
                   dataset: str | None = None, label: str | None = None, source: str | None = None,
                   catalogue: bool = True, max_file_mb: float | None = None):
    """Read, validate and group one data file: (curves, points, problems).

    `source`: for a file an importer wrote (`write_imported`: spreadsheet-safe), what the user gave
    (problems name its files and rows).
    `catalogue`: fill blank item counts and chance levels from the benchmark catalogue.
    `max_file_mb`: a larger file is not read, and said (the setting; None: the default limit).
    """
    label = label or str(path)
    limit = {} if max_file_mb is None else {"max_bytes": int(max_file_mb * 1e6)}
    loaded = read_scores(path, dataset=dataset, label=label, imported=bool(source), **limit)
    points, said = apply_catalogue(loaded.points, label) if catalogue else (loaded.points, [])
    points, hygiene = check_models(points, label, axis, split_by)
    points, axis_problems = with_axis(split_families(points, split_by), axis, label)
    curves, points, curve_problems = build_curves(points, label)
    curves["x_axis"] = axis
    problems = loaded.problems + said + hygiene + axis_problems + curve_problems
    return curves, points, relocate(problems, path, label, source, escaped=True) if source else problems


def report_problems(problems: pd.DataFrame, logger: logging.Logger, strict: bool) -> None:
    log_problems(problems, logger)
    # strict: any row set aside stops the run (warnings about rows analysed as given do not)
    rejected = problems[~kept(problems)]
    if strict and len(rejected):
        raise DataError([Problem(r.file, None if pd.isna(r.row) else int(r.row), r.column, r.message)
                         for r in rejected.itertuples()])


def log_problems(problems: pd.DataFrame, logger: logging.Logger) -> None:
    """Rows set aside as errors, rows kept as warnings, a problem repeated over rows once with a count;
    every row one by one in the log file only (debug), so that the console stays readable."""
    for kind in grouped(problems):
        logger.log(logging.WARNING if kind.example.kept else logging.ERROR, str(kind))
    for msg in problem_lines(problems):
        logger.debug(msg)


def require_curves(curves: pd.DataFrame, label: str, strict: bool) -> None:
    """strict: a dataset that gives no curve stops the run (else the run's summary warns about it); one
    with rows set aside has stopped it already, this holds for any other way of ending with nothing."""
    if strict and not len(curves):
        problem = Problem(label, None, None, "produced 0 curves (strict: true stops the run)")
        logging.getLogger(runlog.NAME).error(str(problem))
        raise DataError([problem])


def problem_lines(problems: pd.DataFrame) -> list[str]:
    return [str(Problem(r.file, None if pd.isna(r.row) else int(r.row), r.column, r.message))
            for r in problems.itertuples()]


def unread_frame(unread) -> pd.DataFrame:
    """Files in the data folder that no dataset reads, as rows of the rejected-input table."""
    return problems_frame([Problem(file, None, None, message) for file, message in unread])


def imported_problems(paths: list[str]) -> pd.DataFrame:
    frames = [schema.read(p, "problems") for p in paths]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else problems_frame([])


def run_validation(csvs: list[str], output: str, config: dict, log: str | None = None,
                   import_problems: list[str] = (), sources: dict[str, str] | None = None,
                   unread: list[tuple[str, str]] = ()) -> pd.DataFrame:
    """Check every data file without fitting; every problem of every file at once.

    `sources`: what the user gave, for each csv that an importer wrote; `unread`: as for run_combine.
    """
    logger = runlog.setup(log)
    frames = [unread_frame(unread), imported_problems(list(import_problems))]
    for csv in csvs:
        s = Settings.from_config(for_dataset(config, Path(csv).stem))
        _, _, problems = prepare_points(csv, s.x_axis, s.split_by, label=csv, source=(sources or {}).get(csv),
                                        catalogue=s.catalogue, max_file_mb=s.max_file_mb)
        frames.append(problems_frame(problems))
        logger.info(f"{csv}: {len(frames[-1])} problem(s)")
    problems = pd.concat(frames, ignore_index=True) if frames else problems_frame([])
    log_problems(problems, logger)
    schema.spreadsheet_safe(problems).to_csv(output, index=False)
    return problems

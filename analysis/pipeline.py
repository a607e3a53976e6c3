"""The analysis of one dataset, and the run-wide combination of all of them.

These are the two steps the workflow runs: `analyse_dataset` once per data
file (so a change to one file reruns only it) and `combine` once per run
(FDR across every curve, labels, the output tables).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import runlog, schema
from .caveats import caveats, warned_rows
from .changes import since_last_run
from .curves import CURVE_COLUMNS, to_batch
from .debates import TABLE_COLUMNS, backtest, compositional_check, cot_gain, descriptive_scores, mirage_table
from .fitting import fit_all
from .forecast import forecast, forecast_table
from .labels import best_models, label_curves
from .loading import sizes_across_datasets
from .models import MODELS
from .noise import LINE, Noise, estimate_noise, with_own_noise
from .noise import describe as describe_noise
from .problems import kept, problems_frame
from .settings import Settings
from .stats.emergence import (
    WIDTH_MIN_PRESENT,
    emergence_assessable,
    emergence_test,
    leave_one_out,
    sharpness,
    width_test,
)
from .stats.multiple_testing import add_q_values
from .stats.sharp_rise import SHARP_MODEL, sharpness_test, smooth_fit_test
from .stats.trend import trend_test
from .stats.two_lines import CURVATURE_MODEL, two_lines_test
from .validation import imported_problems, prepare_points, report_problems, unread_frame

#: the stable head of results/curves.csv (other tools read it): the declared columns up to the reason
CURVE_OUTPUT = tuple(schema.names(schema.CURVES)[:schema.names(schema.CURVES).index("reason") + 1])


@dataclass
class DatasetResult:
    """Per-dataset tables before the run-wide FDR step."""

    curves: pd.DataFrame
    fits: pd.DataFrame
    points: pd.DataFrame
    problems: pd.DataFrame
    tests: list[str] = field(default_factory=list)   # each test's summary, for the log

    def write(self, outdir: str | Path, only: tuple[str, ...] = ("curves", "fits", "points", "problems")) -> None:
        out = Path(outdir)
        out.mkdir(parents=True, exist_ok=True)
        for name in only:
            frame = getattr(self, name)
            if name in schema.TABLES:
                frame = schema.typed(frame, schema.TABLES[name])
            schema.spreadsheet_safe(frame).to_csv(out / f"{name}.csv", index=False)


def analyse_dataset(path: str | Path, settings: Settings, dataset: str | None = None, label: str | None = None,
                    source: str | None = None) -> DatasetResult:
    """Load, validate, fit and test every curve of one data file, at its settings (`settings.for_dataset`
    gives a dataset's own x axis and split_by): the one entry point, so that no setting is left behind."""
    curves, points, problems = prepare_points(path, settings.x_axis, tuple(settings.split_by), dataset, label,
                                              source, settings.catalogue, settings.max_file_mb)
    stats = analyse_curves(curves, points, settings)
    return DatasetResult(stats["curves"], stats["fits"], points, problems_frame(problems), stats.get("tests", []))


#: the smallest scale of a bounded metric, as a share of the full [0, 1] scale (a curve pinned at 0 % or
#: 100 % still has a finite margin for "flat")
MIN_BOUNDED_UNIT = 0.2


def effect_unit(curves: pd.DataFrame, points: pd.DataFrame) -> np.ndarray:
    """The unit min_change and flat_margin are read in: the metric's own scale (issue 21).

    Bounded metrics: 2·√(p̄(1 − p̄)) at the curve's mean score p̄ (1 at 50 %, the Bernoulli sd's
    scale on which binomial noise is even), at least `MIN_BOUNDED_UNIT`: a task whose scores live
    between 1 % and 5 % is not "flat" because it moved less than 10 points. Losses on the log scale:
    decades (1). Other raw metrics: the curve's mean |level|."""
    by_curve = points.assign(level=points["y"].abs()).groupby("curve_id")[["y", "level"]].mean()
    ids = curves["curve_id"]
    level = by_curve["level"]
    p = np.clip(ids.map(by_curve["y"]).to_numpy(float), 0.0, 1.0)
    bounded = np.maximum(2 * np.sqrt(p * (1 - p)), MIN_BOUNDED_UNIT)
    return np.where(curves["bounded"].astype(bool), bounded,
                    np.where(curves["log_scale"].astype(bool), 1.0, ids.map(level).to_numpy(float)))


def _fitted(curves: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The curves with enough sizes to be fitted and tested."""
    fit_mask = (curves["n_scales"] >= settings.min_scales).to_numpy(bool) if len(curves) else np.zeros(0, bool)
    return curves[fit_mask].reset_index(drop=True)


def batch_width(curves: pd.DataFrame, settings: Settings) -> int:
    """The width the dataset's batch of fitted curves is padded to (its longest curve's points): a shard
    padded to it sums every curve's points over the same array as the whole dataset, to the last bit."""
    todo = _fitted(curves, settings)
    return int(todo["n_points"].max()) if len(todo) else 0


def analyse_curves(curves: pd.DataFrame, points: pd.DataFrame, settings: Settings,
                   width: int | None = None) -> dict:
    """Fit, test and describe curves; the per-dataset part of the statistics.

    width: for a shard of a dataset (whole families: a curve's noise depends on its family alone, with the
    shipped prior), the whole dataset's `batch_width`.
    """
    curves = curves.reset_index(drop=True)
    todo = _fitted(curves, settings)
    if len(todo) == 0:
        curves["effect_unit"] = 1.0
        return {"curves": schema.with_blank(curves, schema.CURVES, "stats"), "fits": pd.DataFrame()}

    curves["effect_unit"] = effect_unit(curves, points)
    keys = list(todo["curve_id"])
    # the noise first (sampling error plus the family's scatter): every fit and test is weighted by it
    noise, batch = estimate_noise(to_batch(todo, points, width), todo["family"].to_numpy(), settings,
                                  scatter_given=settings.scatter == "given")
    fits = fit_all(batch)
    noise = with_own_noise(noise, batch, fits, settings)
    aicc = np.column_stack([fits[m].aicc for m in MODELS])
    finite = np.isfinite(aicc)
    # AICc needs n > k + 1: with fewer points it cannot rank the models, so
    # no best model is named rather than the only one it can score.
    # AICc values equal to rounding (a hinge whose knot sits at an end is the line) are a tie, which the
    # registry's order breaks: argmin alone would pick by the last bit, which moves with the batch
    scored = np.where(finite, aicc, np.inf)
    low = scored.min(1, keepdims=True)
    tied = scored <= low + 1e-9 * np.maximum(np.abs(low), 1.0)
    best = np.where(finite.sum(1) >= 2, np.array(MODELS)[np.argmax(tied, 1)], "")

    trend = trend_test(batch, fits[LINE], noise, settings,
                       margin=settings.flat_margin
                       * todo["curve_id"].map(curves.set_index("curve_id")["effect_unit"]).to_numpy(float))
    ushape = two_lines_test(batch, fits[CURVATURE_MODEL], noise, settings)
    sig = fits[SHARP_MODEL]
    # emergence is only tested where it could be called (not counted in the
    # FDR family elsewhere), see labels.NOT_ASSESSED
    assessable = emergence_assessable(batch.bounded, batch.chance, settings)
    emerg = emergence_test(batch, noise, assessable, settings)
    # the sharpness test needs the sigmoid to leave a residual dof: 4 points
    # with a fitted floor (chance unknown) are matched exactly by any sigmoid.
    # It is descriptive, and the run's costliest step: run where it is read, a curve that may be smooth
    # (a rising trend: its reason quotes p_sharp) or emergent (its column describes the rise)
    read = ((trend.frame["p_trend"].to_numpy(float) <= settings.alpha) & (trend.frame["change"].to_numpy(float) > 0)) \
        | (emerg.p() <= settings.alpha)
    sharp = sharpness_test(batch, fits, noise, keys,
                           read & assessable & np.isfinite(sig.rss) & (batch.n > sig.n_free), settings)

    candidate = emerg.p() <= settings.alpha
    wide = width_test(batch, sig, noise, candidate & (emerg.frame["onset_present"].to_numpy() >= WIDTH_MIN_PRESENT),
                      settings).frame
    wide["sharpness"] = sharpness(emerg.frame, wide["p_wide"].to_numpy(float), settings)
    wide["p_emergence_drop1"] = leave_one_out(batch, noise, emerg.frame, candidate, settings)
    stats = pd.concat([trend.frame, ushape.frame, emerg.frame, wide, sharp.frame,
                       smooth_fit_test(batch, fits, noise).frame,
                       backtest(batch, noise, settings),
                       forecast(batch, noise, np.where(candidate, np.log10(emerg.frame["jump_scale"].to_numpy(float)),
                                                       np.nan), settings.alpha),
                       noise_columns(noise, batch, todo["noise"].to_numpy())], axis=1)
    stats["aicc_best_model"] = best
    stats["x0"] = np.where(assessable, sig.params[:, 3], np.nan)
    stats["sigmoid_k"] = sig.params[:, 2]
    stats["sigmoid_floor"] = sig.params[:, 0]
    stats["sigmoid_rise"] = sig.params[:, 1]
    stats["curve_id"] = keys
    out = curves.drop(columns="noise").merge(stats, on="curve_id", how="left").merge(
        descriptive_scores(points), on="curve_id", how="left")
    return {"curves": out, "fits": fits_table(todo, fits, aicc),
            "tests": [result.summary(settings.alpha) for result in (trend, ushape, emerg, sharp)]}


def noise_columns(noise: Noise, batch, sources: np.ndarray) -> pd.DataFrame:
    """What the tests assumed about each curve's noise, as curves.csv reports it."""
    known = batch.known_noise
    own = ~(batch.bounded & known)
    return pd.DataFrame({
        "noise": describe_noise(noise, known, sources),
        "scatter_sd": noise.scatter, "scatter_dof": noise.scatter_dof,
        "noise_dof": noise.dof,
        "dispersion": np.where(known & own, noise.scale, np.nan),
        "noise_sd": np.where(known, np.nan, np.sqrt(noise.scale)),
    })


def fits_table(curves: pd.DataFrame, fits: dict, aicc: np.ndarray) -> pd.DataFrame:
    """One row per (curve, model): parameters, standard errors, AICc, diagnostics."""
    best = np.nanmin(np.where(np.isfinite(aicc), aicc, np.nan), axis=1)
    rows = []
    for j, m in enumerate(MODELS):
        s = fits[m].summary()
        s["delta_aicc"] = aicc[:, j] - best
        s.insert(0, "curve_id", curves["curve_id"].to_numpy())
        for c in reversed(CURVE_COLUMNS):
            s.insert(0, c, curves[c].to_numpy())
        rows.append(s)
    return pd.concat(rows, ignore_index=True)


# ---------------------------------------------------------------- run-wide
@dataclass
class RunResult:
    curves: pd.DataFrame
    fits: pd.DataFrame
    points: pd.DataFrame
    problems: pd.DataFrame
    mirage: pd.DataFrame
    cot_gain: pd.DataFrame
    compositional: pd.DataFrame
    forecasts: pd.DataFrame = field(default_factory=pd.DataFrame)


def combine(parts: list[DatasetResult], settings: Settings,
            compositional: dict[str, dict[str, int]] | None = None) -> RunResult:
    """FDR across all curves of the run, then labels; stable output columns first."""
    def cat(frames):
        frames = [f for f in frames if len(f)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    curves, fits = cat([p.curves for p in parts]), cat([p.fits for p in parts])
    if len(curves):
        curves = label_curves(add_q_values(curves, settings.headline_metrics), settings).reset_index(drop=True)
        curves["best_model"] = best_models(curves, fits)
    points = cat([p.points for p in parts])
    has_points = len(points) > 0
    problems = [p.problems for p in parts] + [problems_frame(sizes_across_datasets(points))]
    mirage = mirage_table(curves, points, settings.alpha) if len(curves) else pd.DataFrame()
    if len(curves):
        warned = cat([warned_rows(p.problems, p.curves["dataset"].iloc[0]) for p in parts if len(p.curves)])
        curves["caveats"] = caveats(curves, points, warned, mirage)
        curves = schema.ordered(curves, schema.CURVES)
    return RunResult(curves, fits, points,
                     cat(problems) if any(len(p) for p in problems) else problems_frame([]),
                     mirage,
                     cot_gain(points) if has_points else pd.DataFrame(),
                     compositional_check(points, compositional or {}) if has_points else pd.DataFrame(),
                     forecast_table(curves))


def read_dataset_result(folder: str | Path) -> DatasetResult:
    folder = Path(folder)

    return DatasetResult(*(schema.read(folder / f"{name}.csv", name) for name in ("curves", "fits", "points",
                                                                                  "problems")))


# ---------------------------------------------------------------- entry points
def run_dataset(csv: str, dataset: str, outdir: str, settings: Settings, log: str | None = None,
                import_problems: list[str] = (), source: str | None = None) -> DatasetResult:
    """Analyse one data file (its settings: the run's with the dataset's overrides) and write its tables.

    `source`: what the user gave, where `csv` is an importer's output.
    """
    logger = runlog.setup(log)
    curves, points, problems = prepared_dataset(csv, dataset, settings, logger, import_problems, source)
    stats = analyse_curves(curves, points, settings)
    res = DatasetResult(stats["curves"], stats["fits"], points, problems, stats.get("tests", []))
    for line in res.tests:
        logger.info(line)
    aside = int((~kept(res.problems)).sum())
    logger.info(f"{csv}: {len(res.curves)} curves from {len(res.points)} rows; {aside} problem(s) that set "
                f"something aside, {len(res.problems) - aside} warning(s) on what was kept")
    res.write(outdir)
    return res


def prepared_dataset(csv: str, dataset: str, settings: Settings, logger: logging.Logger,
                     import_problems: list[str] = (), source: str | None = None):
    """A dataset's curves and points, and its problems (the importer's first), said in the log;
    in strict mode a row set aside stops the run."""
    curves, points, problems = prepare_points(csv, settings.x_axis, tuple(settings.split_by), dataset, csv,
                                              source or None, settings.catalogue, settings.max_file_mb)
    problems = problems_frame(problems)
    imported = imported_problems(list(import_problems))
    if len(imported):
        problems = pd.concat([imported, problems], ignore_index=True)
    report_problems(problems, logger, settings.strict)
    return curves, points, problems


def run_combine(folders: list[str], outputs: dict, settings: Settings, log: str | None = None,
                unread: list[tuple[str, str]] = ()) -> RunResult:
    """Combine per-dataset results into the run's output tables.

    `unread`: (file, message) for each file in the data folder that no dataset reads.
    """
    logger = runlog.setup(log)
    run = combine([read_dataset_result(f) for f in folders], settings, settings.compositional)
    if len(unread):
        run.problems = pd.concat([unread_frame(unread), run.problems],
                                 ignore_index=True)
    for name in ("curves", "fits", "points", "problems", "mirage", "cot_gain", "compositional", "forecasts"):
        if name not in outputs:         # a caller that asks for fewer tables
            continue
        frame = getattr(run, name)
        if frame.columns.empty:  # nothing to report: still a table, with its header, for other tools
            frame = pd.DataFrame(columns=schema.names(schema.TABLES[name]) if name in schema.TABLES
                                 else list(TABLE_COLUMNS[name]))
        Path(outputs[name]).parent.mkdir(parents=True, exist_ok=True)
        if name in schema.TABLES:
            frame = schema.typed(frame, schema.TABLES[name])
        if name in PASSED_THROUGH and _copy_dataset_tables(folders, name, frame, outputs[name]):
            continue
        schema.spreadsheet_safe(frame).to_csv(outputs[name], index=False)
    if "changes" in outputs:
        changed = schema.typed(since_last_run(run.curves, outputs["changes"], settings.alpha), schema.CURVES)
        schema.spreadsheet_safe(changed).to_csv(outputs["changes"], index=False)
        logger.info(f"since the last run: {len(changed)} change(s) "
                    + ", ".join(f"{k} {v}" for k, v in changed["change"].value_counts().items()))
    if len(run.curves):
        logger.info("labels: " + ", ".join(f"{k} {v}" for k, v in run.curves["label"].value_counts().items()))
    return run


#: the tables the run-wide step leaves as the datasets wrote them
PASSED_THROUGH = ("fits", "points")


def _copy_dataset_tables(folders: list[str], name: str, frame: pd.DataFrame, output: str) -> bool:
    """Write the run's table as the datasets' files one after the other, if that is exactly the table.

    The fits and points pass through the run-wide step unchanged: copying their
    text saves formatting 40,000 rows again (0.7 s of every rerun on the corpus)
    and keeps each number as the analysis wrote it (and each name as spreadsheet-safe as the
    run's tables: the datasets' files are). Not when the files' headers differ: then False, and
    the caller writes the frame.
    """
    if not len(frame):
        return False
    header = schema.spreadsheet_safe(frame.iloc[:0]).to_csv(index=False).encode()
    texts = [(Path(f) / f"{name}.csv").read_bytes() for f in folders]
    if not all(t.startswith(header) for t in texts):
        return False
    with open(output, "wb") as out:
        out.write(header)
        for t in texts:
            out.write(t[len(header):])
    return True

"""Every output column, declared once: name, type, unit, meaning, and where the report shows it.

The declarations drive the blank statistics of curves that cannot be fitted,
the dtypes when a results table is read back (text stays text: a task named
"null" or a family "NA" is not a missing value), the column order of the
outputs, the column reference in docs/COLUMNS.md (`markdown`) and the
columns of the report's table of every curve. A new statistic is one entry
here (and the code that computes it).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

KINDS = ("text", "number", "integer", "boolean")


@dataclass(frozen=True)
class Column:
    """One output column. `step` says who fills it: the curve table, the per-dataset
    statistics ("stats", blank for curves too short to fit) or the run-wide labels."""

    name: str
    kind: str
    meaning: str
    unit: str = ""
    step: str = "curve"
    report: str | None = None      # header in the report's table of every curve
    # "scale" (7e9 -> 7B), "p" (2 significant digits, "< 1e-06" below), "bracket" (its _low–_high),
    # "interval" (with its _low, _high)
    report_format: str = ""


def _c(name, kind, meaning, unit="", step="curve", report=None, report_format=""):
    assert kind in KINDS, kind
    return Column(name, kind, meaning, unit, step, report, report_format)


_SCORE = "oriented score (fraction, or raw units for unbounded metrics)"
_LOG = "log10 of the x axis"
CURVES: tuple[Column, ...] = (
    _c("dataset", "text", "dataset id: the data file or import folder", report="dataset"),
    _c("family", "text", "model family (with the split_by values when a dataset is split)", report="family"),
    _c("benchmark", "text", "benchmark", report="benchmark"),
    _c("task", "text", "task within the benchmark", report="task"),
    _c("metric", "text", "metric", report="metric"),
    _c("shots", "text", "few-shot examples (blank when not stated)", report="shots"),
    _c("x_axis", "text", "the scale axis: params, tokens or compute", report="axis"),
    _c("n_points", "integer", "scores on the curve"),
    _c("n_scales", "integer", "distinct scales on the curve", report="scales"),
    _c("label", "text", "emergent, smooth, inverse, u_shaped, inverted_u, flat or insufficient", step="label",
       report="label"),
    _c("best_model", "text", "the lowest-AICc model among those the label can name (emergent: sigmoid or hinge; "
       "smooth, inverse: the smooth models; U: quadratic; flat: flat; insufficient: any), so that it never "
       "contradicts the label; blank when too few points to rank", step="label", report="best model"),
    _c("aicc_best_model", "text", "the lowest-AICc model among all candidates (blank when too few points to rank)",
       step="stats"),
    _c("p_value", "number", "p-value of the test behind the label", step="label", report="p", report_format="p"),
    _c("q_value", "number", "q-value of that test: Benjamini-Hochberg within the curve's dataset",
       step="label", report="q",
       report_format="p"),
    _c("emergence_scale", "number", "where an emergent curve leaves the floor: inside the bracket, where the lines "
       "between its models first cross floor + chance_tolerance", "x axis", step="label",
       report="leaves the floor between", report_format="bracket"),
    _c("emergence_scale_low", "number", "the bracket's lower end: the last model at the floor", "x axis",
       step="label"),
    _c("emergence_scale_high", "number", "the bracket's upper end: the first model clearly above it", "x axis",
       step="label"),
    _c("reason", "text", "why the curve got its label, with the figures behind it", step="label"),
    _c("caveats", "text", "what qualifies the label, codes joined by ';': mirage, below_chance, input_warning, "
       "few_sizes, fragile, steep_law, format_zero (their meanings: the report's glossary, analysis/vocabulary.py "
       "CAVEATS)",
       step="label", report="caveats"),
    _c("finding", "text", "near-duplicate curves share it: dataset|family stem|benchmark|task|shots|axis, the "
       "metric, a data variant in parentheses and a checkpoint split left out (count emergent findings, not "
       "curves)", step="label"),
    _c("curve_id", "text", "the curve's key: dataset|family|benchmark|task|metric|shots"),
    _c("unit", "text", "the scores' unit as given: fraction, percent or raw"),
    _c("bounded", "boolean", "the metric lives on [0, 1] (fraction or percent)"),
    _c("higher_is_better", "boolean", "direction of the metric as given"),
    _c("direction", "integer", "+1 or -1: how raw scores were oriented so that up is better"),
    _c("log_scale", "boolean", "a loss or perplexity analysed as -log10(score), the scale where its power law is "
       "(nearly) linear; changes are then in decades"),
    _c("scale_min", "number", "smallest scale on the curve", "x axis"),
    _c("scale_max", "number", "largest scale on the curve", "x axis"),
    _c("known_noise", "boolean", "every point has a stderr or an item count"),
    _c("catalogue", "text", "the benchmark catalogue's entry for the curve (blank: not in it); `noise` and "
       "`chance_source` say what it supplied", report="catalogue"),
    _c("chance_source", "text", "where the chance level comes from: the table, the benchmark catalogue, the "
       "metric (exact match and other generation metrics score 0 by guessing, where neither gives one), or "
       "blank (none)"),
    _c("noise", "text", "the noise the tests assume: sampling error (binomial, stderr) plus the scatter between "
       "the family's models (the family's with the reference prior, the family's alone where it is far above "
       "the prior, the prior alone, or given), or residual (family or curve, with the reference prior)"),
    _c("scatter_sd", "number", "sd of the scatter between the family's models beyond sampling noise (blank: not "
       "estimable or not applicable)", _SCORE, step="stats"),
    _c("scatter_dof", "number", "pooled residual dof the scatter (or residual variance) estimate rests on",
       step="stats"),
    _c("noise_dof", "number", "dof of the t distributions of the tests (blank or inf: normal)", step="stats"),
    _c("chance", "number", "chance level on the oriented scale (blank when unknown)", "fraction"),
    _c("effect_unit", "number", "unit min_change and flat_margin are read in, the metric's own scale: "
       "2·√(p̄(1 − p̄)) at the curve's mean score for bounded metrics (at least 0.2), decades for a loss on the log "
       "scale, the mean level of another raw metric", step="stats"),
    _c("slope", "number", "weighted log-linear slope", "score per decade", step="stats"),
    _c("slope_se", "number", "its standard error", "score per decade", step="stats"),
    _c("p_trend", "number", "two-sided p of the slope test, H0: slope = 0 (the sign is read from the slope)",
       step="stats"),
    _c("p_rise", "number", "one-sided p of the slope test, H0: slope ≤ 0 (descriptive)", step="stats"),
    _c("p_decline", "number", "one-sided p of the slope test, H0: slope ≥ 0 (descriptive)", step="stats"),
    _c("change", "number", "fitted change across the observed range", _SCORE, step="stats",
       report="change [95% CI]", report_format="interval"),
    _c("change_low", "number", "lower end of its 95% interval", _SCORE, step="stats"),
    _c("change_high", "number", "upper end of its 95% interval", _SCORE, step="stats"),
    _c("p_flat", "number", "p of the equivalence test of flat (two one-sided tests, H0: |change| ≥ flat_margin "
       "× effect_unit); flat where p_flat ≤ alpha, i.e. the 90% interval within the margin", step="stats"),
    _c("dispersion", "number", "a raw-metric curve's own variance multiplier of its stderr (blank elsewhere: "
       "see scatter_sd)", step="stats"),
    _c("noise_sd", "number", "noise sd estimated from residuals (unknown noise only; the family's pooled for "
       "bounded metrics)", _SCORE, step="stats"),
    _c("u_direction", "text", "which U the quadratic points to: u_shaped or inverted_u", step="stats"),
    _c("u_break", "number", "break point of the two-lines test", _LOG, step="stats"),
    _c("u_slope_low", "number", "slope below the break", "score per decade", step="stats"),
    _c("u_slope_high", "number", "slope above the break", "score per decade", step="stats"),
    _c("u_change_low", "number", "change below the break", _SCORE, step="stats"),
    _c("u_change_high", "number", "change above the break", _SCORE, step="stats"),
    _c("p_ushape", "number", "p of the two-lines test (the larger of the two slopes' one-sided p)", step="stats"),
    _c("onset_floor", "integer", "floor models in the emergence test's split (each within chance_tolerance of "
       "the floor); 0 where the test could not run", step="stats"),
    _c("onset_present", "integer", "the largest models each clearly above floor + chance_tolerance on its own "
       "(one-sided at alpha); 1: the claim rests on one model", step="stats"),
    _c("onset_low", "number", "the bracket's lower end: the last model of the leading run within "
       "chance_tolerance of the floor", "x axis", step="stats"),
    _c("onset_high", "number", "the bracket's upper end: the first model from which every larger one is clearly "
       "above the floor (where none is, the first of the test's largest models)", "x axis", step="stats"),
    _c("onset_scale", "number", "where the lines between the bracket's models first cross floor + "
       "chance_tolerance", "x axis", step="stats"),
    _c("onset_untested", "text", "why the emergence test could not run (no flat start, floor models at one "
       "scale, never above the floor, gradual, not assessed); blank where it ran", step="stats"),
    _c("p_floor", "number", "equivalence (two one-sided tests): p that the floor models' weighted mean lies within "
       "floor ± chance_tolerance, H0: outside it", step="stats"),
    _c("below_chance", "boolean", "the smallest models score clearly below the written floor minus "
       "chance_tolerance (one-sided at alpha): check the chance column; no emergence is called", step="stats"),
    _c("p_present", "number", "the largest one-sided p of the largest models, H0: score ≤ floor + chance_tolerance",
       step="stats"),
    _c("jump", "number", "the first of the largest models above the floor minus the higher of two smooth "
       "extrapolations of the smaller models: the floor models' line (slope ≥ 0) and the accelerating law "
       "floor + A·N^β (β ≤ 1 per decade)", _SCORE, step="stats"),
    _c("jump_scale", "number", "the scale of the model whose jump is tested", "x axis", step="stats"),
    _c("p_jump", "number", "one-sided p of the jump: the larger of the two extrapolations' p, H0: the first model "
       "above the floor is no higher than that extrapolation predicts", step="stats"),
    _c("p_steep_law", "number", "one-sided p that the jump's model lies above every accelerating law floor + "
       "A·N^β (β ≤ 1 per decade) that fits the smaller models (profile likelihood ratio; the 'mirage' reading): "
       "reported, not part of the label; above alpha on an emergent curve is the steep_law caveat", step="stats"),
    _c("p_emergence", "number", "p of 'absent, then present': the largest of p_floor, p_present and p_jump "
       "(intersection-union test) of the split with the smallest such p", step="stats"),
    _c("p_wide", "number", "one-sided p that the rise is wider than max_transition_decades (sigmoid with its "
       "width held at most that vs free); computed where p_emergence ≤ alpha and the rise is seen at 3 models or "
       "more", step="stats"),
    _c("sharpness", "text", "an attribute of an emergence, not a condition of it: sharp (the bracket spans at most "
       "max_transition_decades and the data do not show a wider rise), gradual (p_wide ≤ alpha: the rise is wider), "
       "not identified (seen at fewer than 3 models above the floor, or a bracket wider than that); blank where "
       "p_emergence > alpha", step="stats"),
    _c("p_emergence_drop1", "number", "the largest p_emergence over the curve with one model left out, each model "
       "but the two ends of the bracket in turn (where p_emergence ≤ alpha)", step="stats"),
    _c("fragile", "boolean", "an emergent label that does not survive leaving out one model that is not an end of "
       "its bracket (p_emergence_drop1 above the dataset's Benjamini-Hochberg critical value alpha·k/m)", step="label"),
    _c("steep_law", "boolean", "an emergent label whose p_steep_law is above alpha: a smooth accelerating law "
       "through the smaller models and the jump's model is not ruled out (the steep_law caveat)", step="label"),
    _c("p_smooth_fit", "number", "goodness of fit of the closest smooth model: its weighted RSS against χ² on its "
       "residual dof, where the noise is known (small: no smooth model follows the curve)", step="stats"),
    _c("lr_stat", "number", "likelihood-ratio statistic, sigmoid vs best smooth model (descriptive)", step="stats"),
    _c("p_sharp", "number", "parametric-bootstrap p of that statistic (descriptive; at most `bootstrap` "
       "replicates); blank where nothing reads it: a curve with neither a rising trend nor an emergence at alpha",
       step="stats"),
    _c("bootstrap_replicates", "integer", "replicates drawn before the sequential test stopped (0: not run)",
       step="stats"),
    _c("null_model", "text", "the smooth model the sharpness test's replicates come from", step="stats"),
    _c("backtest_model", "text", "the smooth model with the most AICc weight in the prediction of the largest "
       "scale from the smaller ones", step="stats"),
    _c("backtest_trend", "text", "the trend on the training sizes alone (rising, falling, no trend): the "
       "backtest's grouping, which has not seen the held-out model", step="stats"),
    _c("backtest_predicted", "number", "the smooth models' AICc-weighted prediction", _SCORE, step="stats"),
    _c("backtest_observed", "number", "the score observed there", _SCORE, step="stats"),
    _c("backtest_error", "number", "observed minus predicted", _SCORE, step="stats"),
    _c("backtest_interval", "number", "half-width of the 95% prediction interval (fit, model choice and the "
       "point's noise with the family's scatter, each scaled by the models' misfit beyond their noise), before "
       "the widening a forecast carries", _SCORE, step="stats"),
    _c("backtest_covered", "boolean", "the observation lies inside that interval", step="stats"),
    _c("backtest_error_last", "number", "observed minus a naive forecast: the largest training model's score",
       _SCORE, step="stats"),
    _c("backtest_error_line", "number", "observed minus a naive forecast: a line in log size through the "
       "training models", _SCORE, step="stats"),
    *(_c(f"backtest2_{name}", kind, f"{what}, the largest model predicted from the models below the two largest "
         "scales (a longer extrapolation)", unit, step="stats")
      for name, kind, what, unit in (("predicted", "number", "as backtest_predicted", _SCORE),
                                     ("observed", "number", "as backtest_observed", _SCORE),
                                     ("error", "number", "as backtest_error", _SCORE),
                                     ("interval", "number", "as backtest_interval", _SCORE),
                                     ("covered", "boolean", "as backtest_covered", ""),
                                     ("error_last", "number", "as backtest_error_last (the third largest "
                                      "scale's score)", _SCORE),
                                     ("error_line", "number", "as backtest_error_line", _SCORE))),
    _c("forecast_trend", "text", "the trend on the models the forecast rests on (rising, falling, no trend): "
       "with their number of scales, the group whose backtest sets the widening", step="stats"),
    _c("forecast_sizes", "text", "the number of scales the forecast rests on, as the widening groups it "
       "(fewer than 10, or 10 and more)", step="stats"),
    _c("forecast_widening", "number", "the factor the forecast's intervals are widened (or narrowed) by: the "
       "95th percentile of |error| / half-width in the corpus backtest of its group (forecast_widening.csv)",
       step="stats"),
    _c("forecast_models", "integer", "the models the forecast rests on (every model; an emergence's above "
       "the floor)", step="stats"),
    _c("forecast_basis", "text", "what the forecast rests on, or why there is none", step="stats"),
    *(_c(f"forecast_{h}{end}", "number", f"{what} of the score at {h} the largest model's scale (smooth models, "
         "AICc-weighted)", _SCORE, step="stats")
      for h in ("2x", "10x") for end, what in (("", "the forecast"), ("_low", "lower end of the 95% prediction "
                                                                       "interval"),
                                               ("_high", "upper end of the 95% prediction interval"))),
    _c("forecast_target", "number", "the level a reach scale is sought for: chance plus half the headroom to "
       "the ceiling", _SCORE, step="stats"),
    _c("forecast_reach", "text", "whether the target is reached: reached (by an observed model), within the "
       "limit (10x the largest model), possible within the limit (the interval's upper end reaches it), or not "
       "within the limit", step="stats"),
    _c("forecast_reach_scale", "number", "the scale at which the forecast reaches the target", "x axis",
       step="stats"),
    _c("forecast_reach_scale_low", "number", "the earliest scale the interval allows (its upper end reaches "
       "the target there)", "x axis", step="stats"),
    _c("forecast_reach_scale_high", "number", "the latest scale the interval allows within the limit (its "
       "lower end reaches the target there; blank beyond the limit)", "x axis", step="stats"),
    _c("x0", "number", "the sigmoid's midpoint", _LOG, step="stats"),
    _c("sigmoid_k", "number", "the sigmoid's steepness", "per decade", step="stats"),
    _c("sigmoid_floor", "number", "the sigmoid's floor c", _SCORE, step="stats"),
    _c("sigmoid_rise", "number", "the sigmoid's rise h", _SCORE, step="stats"),
    _c("linearity", "number", "BIG-bench linearity (Srivastava et al. 2022)", step="stats"),
    _c("breakthroughness", "number", "BIG-bench breakthroughness", step="stats"),
    _c("emergence_score", "number", "Schaeffer et al.'s (2023) emergence score (the same formula as "
       "breakthroughness)", step="stats"),
    _c("headline", "boolean", "the task's headline metric (settings: headline_metrics); other metrics are "
       "sensitivity analyses, with q-values in a family of their own", step="label"),
    _c("q_emergence", "number", "Benjamini-Hochberg q of p_emergence within the dataset (headline curves; other "
       "metrics in a family of their own): the q the label reads", step="label"),
    _c("q_trend", "number", "Benjamini-Hochberg q of p_trend within the dataset", step="label"),
    _c("q_ushape", "number", "Benjamini-Hochberg q of p_ushape within the dataset", step="label"),
    _c("q_emergence_run", "number", "Benjamini-Hochberg q of p_emergence across every dataset of the run "
       "(descriptive: no label reads it)", step="label"),
    _c("q_trend_run", "number", "Benjamini-Hochberg q of p_trend across the run (descriptive)", step="label"),
    _c("q_ushape_run", "number", "Benjamini-Hochberg q of p_ushape across the run (descriptive)", step="label"),
    _c("test", "text", "the test behind the label and its null hypothesis", step="label"),
)
#: the columns of fits.csv before the models' parameters (one column each, then se_<parameter>)
FITS: tuple[Column, ...] = (
    *(c for c in CURVES if c.name in ("dataset", "family", "benchmark", "task", "metric", "shots", "curve_id")),
    _c("model", "text", "the candidate model (analysis/models/)"),
    _c("n_params", "integer", "fitted parameters"),
    _c("rss", "number", "weighted residual sum of squares (chi-square for known noise)"),
    _c("aicc", "number", "AICc (infinite when the curve is too short for the correction)"),
    _c("converged", "boolean", "the fitter stopped at an optimum"),
    _c("at_bound", "boolean", "a parameter sits on its bound"),
    _c("delta_aicc", "number", "AICc minus the curve's best AICc"),
)
POINTS: tuple[Column, ...] = (
    _c("dataset", "text", "dataset id"),
    _c("row", "integer", "the row in the user's file (header = 1)"),
    *(_c(n, "text", f"{n} as given") for n in ("model", "family", "benchmark", "task", "metric", "shots")),
    *(_c(n, "number", f"{n} (blank when not given)") for n in ("params", "tokens", "compute")),
    _c("score", "number", "score as a fraction for bounded metrics, raw otherwise"),
    _c("unit", "text", "fraction, percent or raw, as given"),
    _c("bounded", "boolean", "fraction or percent metric"),
    _c("higher_is_better", "boolean", "direction of the metric"),
    _c("n_items", "number", "items in the test set"),
    _c("stderr", "number", "standard error, as a fraction for bounded metrics"),
    _c("chance", "number", "chance level, as a fraction for bounded metrics"),
    _c("source", "text", "where the score was published"),
    _c("catalogue", "text", "the benchmark catalogue's entry for the row's benchmark and task (blank: not in it, "
       "or the dataset turned the catalogue off)"),
    _c("filled", "text", "what the catalogue supplied where the row left it blank: n_items, chance; or chance "
       "from the metric (0 for exact match and other generation metrics)"),
    _c("scale", "number", "the value on the x axis"),
    _c("x", "number", "log10 of the scale"),
    _c("curve_id", "text", "the curve the point belongs to"),
    _c("sigma", "number", "the point's noise sd (blank: estimated from the curve's residuals)"),
    _c("noise_source", "text", "stderr, binomial or none"),
    _c("direction", "integer", "+1 or -1 (orientation of raw scores)"),
    _c("log_scale", "boolean", "the point's curve is analysed on the log scale"),
    _c("y", "number", "oriented score: up is better (-log10 of a loss on the log scale)"),
)
PROBLEMS: tuple[Column, ...] = (
    _c("file", "text", "the file with the problem"),
    _c("row", "integer", "the row, as a spreadsheet numbers it (header = 1; blank for the whole file)"),
    _c("column", "text", "the column"),
    _c("message", "text", "what is wrong and how to fix it"),
    _c("kept", "boolean", "the row is analysed as given (a warning); false: the row was set aside"),
)
FORECASTS: tuple[Column, ...] = (
    *(next(c for c in CURVES if c.name == n)     # the curve, as curves.csv names it
      for n in ("curve_id", "dataset", "family", "benchmark", "task", "metric", "shots", "x_axis", "label")),
    _c("target", "text", "2x or 10x (the score at that multiple of the largest model's scale), or reach (the "
       "scale where the curve reaches its target score)"),
    _c("scale", "number", "2x, 10x: the scale forecast; reach: the scale where the forecast reaches the target",
       "x axis"),
    _c("score", "number", "2x, 10x: the forecast score; reach: the target (chance plus half the headroom to the "
       "ceiling)", "the score's own terms (a fraction for bounded metrics)"),
    _c("score_low", "number", "lower end of the 95% prediction interval, widened by the backtest's factor",
       "as score"),
    _c("score_high", "number", "upper end of the 95% prediction interval, widened by the backtest's factor",
       "as score"),
    _c("scale_low", "number", "reach: the earliest scale the interval allows", "x axis"),
    _c("scale_high", "number", "reach: the latest scale the interval allows within 10x the largest model "
       "(blank beyond)", "x axis"),
    _c("reach", "text", "reach: reached, within the limit, possible within the limit, or not within the limit"),
    _c("basis", "text", "what the forecast rests on (every model; an emergence's models above the floor), or why "
       "there is none"),
    _c("trend", "text", "the trend on those models: with their number of scales, the backtest group"),
    _c("widening", "number", "the factor the interval was scaled by (the backtest's, forecast_widening.csv)"),
    _c("backtest_coverage", "number", "the coverage of that group's widened 95% interval in the corpus backtest, "
       "each dataset judged by the others' factors: how far to trust the interval"),
)
TABLES = {"curves": CURVES, "fits": FITS, "points": POINTS, "problems": PROBLEMS, "forecasts": FORECASTS}


def names(columns: tuple[Column, ...], step: str | None = None) -> list[str]:
    return [c.name for c in columns if step is None or c.step == step]


def ordered(frame: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """The frame's declared columns in their declared order, then any others as they come."""
    head = [c for c in names(columns) if c in frame.columns]
    return frame[head + [c for c in frame.columns if c not in head]]


def undeclared(frame: pd.DataFrame, columns: tuple[Column, ...]) -> list[str]:
    return [c for c in frame.columns if c not in set(names(columns))]


def with_blank(frame: pd.DataFrame, columns: tuple[Column, ...], step: str) -> pd.DataFrame:
    """Add every column of this step that the frame lacks, blank (for curves that could not be fitted)."""
    out = frame.copy()
    for c in columns:
        if c.step == step and c.name not in out.columns:
            out[c.name] = pd.Series(dtype=object if c.kind == "text" else float, index=out.index)
    return out


def typed(frame: pd.DataFrame, columns: tuple[Column, ...]) -> pd.DataFrame:
    """The frame with its integer and boolean columns as pandas' nullable types, for writing: a column
    that is blank on some curves (one dataset's curves too short to test) would otherwise be float,
    and another dataset's 4 written "4.0", its True "1.0". A column whose values are not what its
    kind says (a count of 2.5) is written as it is."""
    out = frame
    for c in columns:
        if c.kind not in ("integer", "boolean") or c.name not in frame.columns:
            continue
        col = frame[c.name]
        if c.kind == "integer" and pd.api.types.is_integer_dtype(col):
            continue
        if c.kind == "boolean" and pd.api.types.is_bool_dtype(col):
            continue
        try:
            new = col.astype("Int64") if c.kind == "integer" else col.astype("boolean")
        except (TypeError, ValueError):
            continue
        out = frame.copy() if out is frame else out
        out[c.name] = new
    return out


def read(path: str | Path, table: str | None = None) -> pd.DataFrame:
    """A results table as written: text columns as text (no NA guessing), blanks elsewhere missing,
    and every name as the user wrote it (the file's spreadsheet escaping undone: `as_written`).

    Columns a table does not declare (fits.csv's parameters) are read as numbers. Empty if the file is.
    """
    declared = {c.name: c for c in TABLES.get(table, ())} if table else {
        c.name: c for cols in TABLES.values() for c in cols}
    raw = Path(path).read_bytes()
    try:
        header = pd.read_csv(io.BytesIO(raw), nrows=0).columns
    except pd.errors.EmptyDataError:
        return pd.DataFrame()
    text = [c for c in header if cell_as_written(c) in declared and declared[cell_as_written(c)].kind == "text"]
    frame = pd.read_csv(io.BytesIO(raw), dtype={c: str for c in text}, keep_default_na=False,
                        na_values={c: [""] for c in header if c not in text})
    # a file where no cell starts with the quote has nothing to undo (a scan of the bytes, where undoing
    # cell by cell took most of the run-wide step's reading)
    return as_written(frame) if _has_escaped_cell(raw) else frame


#: a cell a spreadsheet would run as a formula (OWASP "CSV injection")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: what makes a spreadsheet show a cell as text (and not show itself); it escapes itself too, so that
#: a name that starts with it survives the round trip
QUOTE = "'"
#: how a cell (or column name) of a CSV's bytes starts with the quote, CSV-quoted or not
_ESCAPED_STARTS = tuple(sep + q + QUOTE.encode() for sep in (b",", b"\n") for q in (b"", b'"'))


def _has_escaped_cell(raw: bytes) -> bool:
    """Does a cell start with the quote? Substring scans (memchr): a regular expression with a leading
    alternation took half a second on the results tables."""
    return raw.startswith((QUOTE.encode(), b'"' + QUOTE.encode())) or any(s in raw for s in _ESCAPED_STARTS)
#: a plain number (-0.5, +1e-3): a spreadsheet reads it as a number, never runs it
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(text: str) -> str:
    """A text cell as a results CSV holds it: a quote before text a spreadsheet would run (the OWASP
    rule) and before text that starts with the quote itself, so that `cell_as_written` undoes it exactly."""
    if text.startswith(QUOTE) or (text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text)):
        return QUOTE + text
    return text


def cell_as_written(text: str) -> str:
    """A text cell of a results CSV as the user wrote it (undoes `safe_cell`)."""
    return text[len(QUOTE):] if text.startswith(QUOTE) else text


def _needs_quote(values: pd.Series) -> pd.Series:
    """`safe_cell`'s test, for a column at once (non-text cells never match)."""
    first = values.str[:1]
    risky = first.isin(_FORMULA_START).to_numpy(bool)
    out = first.eq(QUOTE).to_numpy(bool, copy=True)
    if risky.any():      # rare: only those cells are matched against a number
        out[risky] = ~values[risky].str.fullmatch(_NUMBER.pattern, na=False).to_numpy(bool)
    return pd.Series(out, index=values.index)


def _text_recoded(frame: pd.DataFrame, code, needs, recode) -> pd.DataFrame:
    """The frame with every text cell `needs` marks recoded (`recode`, a column at once) and every column
    name through `code`; the frame itself when nothing changes (numbers are never touched)."""
    out = frame
    names = [code(c) if isinstance(c, str) else c for c in frame.columns]
    if names != list(frame.columns):
        out = frame.copy()
        out.columns = names
    for i in range(frame.shape[1]):
        column = values = frame.iloc[:, i]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values)):
            continue
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            values = values.where(values.map(lambda v: isinstance(v, str)), None)   # its text cells only
            if values.isna().all():
                continue
        changed = needs(values).to_numpy(bool)
        if changed.any():
            out = frame.copy() if out is frame else out
            recoded = column.copy()
            recoded[changed] = recode(values[changed])
            out.isetitem(i, recoded)
    return out


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as every CSV under results/ is written: each text cell (and column name) through
    `safe_cell`, so that a family named `=HYPERLINK(...)` is shown, not run; `as_written` undoes it.

    The frame itself is returned when no cell needs it (so a caller can tell).
    """
    return _text_recoded(frame, safe_cell, _needs_quote, lambda v: QUOTE + v)


def as_written(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read from a results CSV with its names as the user wrote them (undoes `spreadsheet_safe`)."""
    return _text_recoded(frame, cell_as_written, lambda v: v.str.startswith(QUOTE, na=False),
                         lambda v: v.str[len(QUOTE):])


def report_columns() -> list[Column]:
    """The columns of the report's table of every curve, in order."""
    return [c for c in CURVES if c.report]


def markdown() -> str:
    """The column reference (docs/COLUMNS.md), generated from the declarations."""
    out = ["# Output columns", "",
           "Generated from `analysis/schema.py` (`python -m analysis.schema > docs/COLUMNS.md`); a test keeps "
           "the two in step. fits.csv also has one column per model parameter (see `analysis/models/`) and "
           "`se_<parameter>`, its standard error.", ""]
    for table, columns in TABLES.items():
        file = "rejected" if table == "problems" else table
        out += [f"## results/{file}.csv", "", "| column | type | unit | meaning |", "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.kind} | {c.unit} | {c.meaning} |" for c in columns]
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown(), end="")

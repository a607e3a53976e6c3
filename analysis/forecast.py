"""What the next, larger model will do: the smooth models' forecast beyond the largest model, with a 95 %
prediction interval that the backtest has checked (issue 27).

The smooth models (role "smooth" in the registry: a line in log scale, a power law, the accelerating
law) are fitted to a curve's models and averaged with their AICc weights (Burnham & Anderson 2002).
The interval holds each model's delta-method uncertainty, the spread between the models
(model-selection uncertainty, Buckland et al. 1997) and a new model's own noise: its sampling error
and the family's scatter, as the largest model has them. Where the leave-largest-out backtest of the
bundled corpus covers other than 95 %, the interval is scaled by the factor measured there, per trend
and size group (`forecast_widening.csv`, `benchmarks/forecast_widening.py`: the 95th percentile of
|error| / half-width, split-conformal style); the curve says which factor it carries.

An emergence is no smooth curve: where the smaller models are at the floor and a later one is not
(p_emergence at alpha), the forecast rests on the models above the floor, and on none where fewer
than `MIN_MODELS` are (the curve says why). A scale at which a curve reaches its target is placed
only up to `REACH_LIMIT` decades beyond its largest model; beyond it, it is said, not extrapolated.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .curves import CurveBatch
from .engine import prediction_se
from .fitting import fit_model
from .noise import LINE, Noise
from .schema import FORECASTS, names
from .stats.common import _crit, _segment
from .stats.sharp_rise import SMOOTH

#: the horizons forecast, as multiples of the largest model's scale
HORIZONS = {"2x": np.log10(2.0), "10x": 1.0}
#: a reach scale is placed up to this many decades beyond the largest model, never further
REACH_LIMIT = 1.0
#: the fewest models a forecast rests on (three: a smooth model's parameters and one dof)
MIN_MODELS = 3
#: points of the grid a reach scale is read from, per decade
_GRID_PER_DECADE = 100


@dataclass
class SmoothPrediction:
    """The smooth models' AICc-weighted prediction at new scales: `mean` and its standard error `se`
    (C, M), the weights (C, K) over `SMOOTH`, `ok` where at least one model predicted, the fits, and
    how far they miss the points beyond their noise (`misfit`)."""

    mean: np.ndarray
    se: np.ndarray
    weight: np.ndarray
    ok: np.ndarray
    fits: dict
    misfit: np.ndarray       # (C,) the weighted Birge ratio: a new point's noise is scaled by it too


def smooth_prediction(batch: CurveBatch, scale: np.ndarray, x_new: np.ndarray) -> SmoothPrediction:
    """The smooth models fitted to `batch` and averaged at x_new (C, M), log10 scale. A model without a
    prediction or its error (a fit at a bound) takes no part; where AICc cannot rank any (too few
    points), the line alone predicts, as it would with one model."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):    # curves with too few points
        fits = {m: fit_model(m, batch) for m in SMOOTH}
        aicc = np.column_stack([f.aicc for f in fits.values()])
        preds = np.stack([f.predict(x_new) for f in fits.values()], axis=-1)                 # (C, M, K)
        ses = np.stack([prediction_se(f, batch, x_new, scale) for f in fits.values()], axis=-1)
        # a model that misses its points by more than their noise says so in its error (the Birge ratio
        # RSS / dof of quasi-likelihood, at least 1; 1 where it has no dof left)
        misfit = np.column_stack([np.where(f.n > f.n_free, f.rss / np.maximum(f.n - f.n_free, 1) / scale, 1.0)
                                  for f in fits.values()])
    misfit = np.where(np.isfinite(misfit), np.maximum(misfit, 1.0), 1.0)
    ses = ses * np.sqrt(misfit)[:, None, :]
    usable = (np.isfinite(preds) & np.isfinite(ses)).all(axis=1)                              # (C, K)
    finite = usable & np.isfinite(aicc)
    finite[:, 0] |= ~finite.any(1) & usable[:, 0]
    a = np.where(np.isfinite(aicc), aicc, 0.0)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        rel = np.where(finite, np.exp(-0.5 * (a - np.where(finite, a, np.inf).min(1, keepdims=True))), 0.0)
        weight = rel / rel.sum(1, keepdims=True)
    ok = finite.any(1)
    weight = np.where(ok[:, None], weight, 0.0)
    preds, ses = np.where(finite[:, None, :], preds, 0.0), np.where(finite[:, None, :], ses, 0.0)
    mean = (weight[:, None, :] * preds).sum(-1)
    se = (weight[:, None, :] * np.sqrt(ses ** 2 + (preds - mean[..., None]) ** 2)).sum(-1)
    return SmoothPrediction(mean, se, weight, ok, fits, (weight * misfit).sum(1))


def new_model_variance(batch: CurveBatch, noise: Noise) -> np.ndarray:
    """A new model's own variance (C,): the largest model's (its sampling error and the family's scatter,
    as the tests weigh it) for known noise, the curve's residual variance otherwise."""
    at_max = batch.mask & (np.abs(batch.x - batch.x_max[:, None]) < 1e-12)
    m = np.maximum(at_max.sum(1), 1)
    scale = noise.tests[0]
    own = np.where(at_max, batch.sigma ** 2, 0.0).sum(1) / m
    return np.where(batch.known_noise, scale * own, scale)


#: the factors the intervals are widened by, per trend on the models a forecast rests on (see module doc)
WIDENING_FILE = Path(__file__).with_name("forecast_widening.csv")


#: the fewest scales a forecast of the "many" size group rests on (checkpoint series; one-paper tables have 4-8)
MANY_SCALES = 10


def size_group(n_scales: np.ndarray) -> np.ndarray:
    """The widening's size group of a forecast resting on n_scales distinct scales."""
    return np.where(n_scales >= MANY_SCALES, f"{MANY_SCALES}+", f"<{MANY_SCALES}")


def widening(trend: np.ndarray, sizes: np.ndarray, path: Path = WIDENING_FILE) -> np.ndarray:
    """Each curve's widening factor: its (trend, size group)'s in the shipped table, 1 where the table has
    no such group or is absent. A factor below 1 narrows: the backtest covered more than 95 %."""
    if not path.is_file():
        return np.ones(len(trend))
    table = pd.read_csv(path)
    factor = {(t, n): float(f) for t, n, f in zip(table["trend"], table["sizes"], table["factor"])}
    return np.array([factor.get((t, n), 1.0) for t, n in zip(trend, sizes)], dtype=float)


def trend_of(batch: CurveBatch, fits: dict, scale: np.ndarray, dof: np.ndarray, alpha: float) -> np.ndarray:
    """"rising", "falling" or "no trend": the line's two-sided slope test on the models used."""
    _, sxx = _segment(batch.x, batch.y, batch.w)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = fits[LINE].params[:, 1] / np.sqrt(scale / sxx)
    significant = np.abs(t) >= _crit(np.where(np.isnan(dof), np.inf, dof), 1 - alpha / 2)
    return np.where(significant, np.where(t > 0, "rising", "falling"), "no trend")


def forecast(batch: CurveBatch, noise: Noise, above_floor: np.ndarray, alpha: float, target_share: float = 0.5,
             widening_file: Path = WIDENING_FILE) -> pd.DataFrame:
    """Per curve (rows in batch order): the forecasts at `HORIZONS` and the scale where the curve
    reaches its target (chance plus `target_share` of the headroom to the ceiling, bounded metrics
    with a known chance), each with its 95 % prediction interval, in the oriented analysis scale.

    `above_floor` (C,): the log10 scale of an emergence's first model above the floor (nan: none); such
    a curve is forecast from its models from there on."""
    emergent = np.isfinite(above_floor)
    keep = batch.mask & (~emergent[:, None] | (batch.x >= above_floor[:, None] - 1e-9))
    used = CurveBatch(batch.x, batch.y, batch.sigma, np.where(keep, batch.w, 0.0), batch.chance,
                      batch.known_noise, batch.bounded, batch.n_items)
    n_scales = used.n_scales
    scale, dof = noise.tests
    xmax = used.x_max
    steps = np.linspace(0.0, REACH_LIMIT, int(REACH_LIMIT * _GRID_PER_DECADE) + 1)
    x_new = np.column_stack([xmax + h for h in HORIZONS.values()] + [xmax[:, None] + steps[None, :]])
    x_new = np.where(np.isfinite(x_new), x_new, 0.0)
    pred = smooth_prediction(used, scale, x_new)
    crit = _crit(np.where(np.isnan(dof), np.inf, dof))
    trend = trend_of(used, pred.fits, scale, dof, alpha)
    sizes = size_group(n_scales)
    factor = widening(trend, sizes, widening_file)
    half = factor[:, None] * crit[:, None] * np.sqrt(pred.se ** 2
                                                     + pred.misfit[:, None] * new_model_variance(used, noise)[:, None])
    ok = pred.ok & (n_scales >= MIN_MODELS)
    low, high = pred.mean - half, pred.mean + half
    lo_b, hi_b = np.where(batch.bounded, 0.0, -np.inf)[:, None], np.where(batch.bounded, 1.0, np.inf)[:, None]
    mean, low, high = (np.clip(v, lo_b, hi_b) for v in (pred.mean, low, high))
    out = {"forecast_trend": np.where(ok, trend, ""), "forecast_sizes": np.where(ok, sizes, ""),
           "forecast_widening": np.where(ok, factor, np.nan),
           "forecast_models": np.where(keep, 1, 0).sum(1),
           "forecast_basis": _basis(emergent, n_scales, ok)}
    for j, name in enumerate(HORIZONS):
        out[f"forecast_{name}"] = np.where(ok, mean[:, j], np.nan)
        out[f"forecast_{name}_low"] = np.where(ok, low[:, j], np.nan)
        out[f"forecast_{name}_high"] = np.where(ok, high[:, j], np.nan)
    # the scale of the target: where the mean, the upper and the lower bound of the band first reach it
    g = len(HORIZONS)
    target = np.where(batch.bounded & np.isfinite(batch.chance),
                      batch.chance + target_share * (1.0 - batch.chance), np.nan)
    observed = np.where(batch.mask, batch.y, -np.inf).max(1)
    grid = xmax[:, None] + steps[None, :]
    first = {k: _first_reach(band[:, g:], target, grid) for k, band in (("mean", mean), ("early", high),
                                                                       ("late", low))}
    reached = observed >= target
    out["forecast_target"] = np.where(ok, target, np.nan)
    out["forecast_reach_scale"] = np.where(ok & ~reached, 10 ** first["mean"], np.nan)
    out["forecast_reach_scale_low"] = np.where(ok & ~reached, 10 ** first["early"], np.nan)
    out["forecast_reach_scale_high"] = np.where(ok & ~reached, 10 ** first["late"], np.nan)
    out["forecast_reach"] = np.select(
        [~ok | ~np.isfinite(target), reached, np.isfinite(first["mean"]), np.isfinite(first["early"])],
        ["", "reached", "within the limit", "possible within the limit"],
        f"not within {10 ** REACH_LIMIT:g}x of the largest model")
    return pd.DataFrame(out)


def _first_reach(band: np.ndarray, target: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The first grid scale (log10) at which a band reaches the target (nan: not within the grid)."""
    with np.errstate(invalid="ignore"):
        hit = band >= target[:, None]
    idx = hit.argmax(1)
    return np.where(hit.any(1), grid[np.arange(len(grid)), idx], np.nan)


def _basis(emergent: np.ndarray, n_scales: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """What a forecast rests on, or why there is none."""
    return np.select(
        [ok & ~emergent, ok & emergent, emergent],
        ["every model", "the models above the floor",
         np.char.add(np.char.add("none: ", n_scales.astype(str)),
                     f" model(s) above the floor, fewer than the {MIN_MODELS} a forecast rests on")],
        f"none: fewer than {MIN_MODELS} scales")


#: results/forecasts.csv's columns (declared in schema.FORECASTS), and those that name the curve
FORECAST_COLUMNS = tuple(names(FORECASTS))
CURVE_FIELDS = FORECAST_COLUMNS[:FORECAST_COLUMNS.index("label") + 1]


def forecast_table(curves: pd.DataFrame, coverage: pd.DataFrame | None = None) -> pd.DataFrame:
    """results/forecasts.csv: one row per curve and target (2x, 10x the largest model's scale, and the
    scale where the curve reaches its target), the score as the table gives it (a lower-is-better
    score's interval turned round), with what the forecast rests on and the backtest coverage of its
    group (`coverage`: trend, sizes, coverage; the shipped table's by default)."""
    if not len(curves) or "forecast_basis" not in curves:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    c = curves.reset_index(drop=True)
    table = _shipped_coverage() if coverage is None else coverage
    group = c[["forecast_trend", "forecast_sizes"]].rename(columns={"forecast_trend": "trend",
                                                                    "forecast_sizes": "sizes"})
    backtest = group.merge(table[["trend", "sizes", "coverage"]], on=["trend", "sizes"], how="left")["coverage"]
    common = {**{k: c[k] for k in CURVE_FIELDS if k in c}, "basis": c["forecast_basis"],
              "trend": c["forecast_trend"], "widening": c["forecast_widening"],
              "backtest_coverage": backtest.to_numpy(float)}
    rows = []
    for name, step in HORIZONS.items():
        score, low, high = (_as_given(c[f"forecast_{name}{end}"].to_numpy(float), c) for end in ("", "_low", "_high"))
        low, high = np.fmin(low, high), np.fmax(low, high)
        rows.append(pd.DataFrame({**common, "target": name, "scale": c["scale_max"].to_numpy(float) * 10 ** step,
                                  "score": score, "score_low": low, "score_high": high,
                                  "scale_low": np.nan, "scale_high": np.nan, "reach": ""}))
    target = _as_given(c["forecast_target"].to_numpy(float), c)
    rows.append(pd.DataFrame({**common, "target": "reach", "scale": c["forecast_reach_scale"].to_numpy(float),
                              "score": target, "score_low": np.nan, "score_high": np.nan,
                              "scale_low": c["forecast_reach_scale_low"].to_numpy(float),
                              "scale_high": c["forecast_reach_scale_high"].to_numpy(float),
                              "reach": c["forecast_reach"]}))
    out = pd.concat(rows, ignore_index=True)
    order = {cid: i for i, cid in enumerate(c["curve_id"])}
    out = out.iloc[np.lexsort((out["target"].map({**{h: i for i, h in enumerate(HORIZONS)}, "reach": 9}),
                               out["curve_id"].map(order)))].reset_index(drop=True)
    return out[list(FORECAST_COLUMNS)]


def _as_given(y: np.ndarray, c: pd.DataFrame) -> np.ndarray:
    """An oriented score back in the table's own terms (as a fraction for bounded metrics)."""
    bounded = c["bounded"].astype(bool).to_numpy()
    higher = c["higher_is_better"].astype(bool).to_numpy()
    log = c["log_scale"].astype(bool).to_numpy() if "log_scale" in c else np.zeros(len(c), bool)
    direction = c["direction"].to_numpy(float) if "direction" in c else np.ones(len(c))
    with np.errstate(over="ignore"):
        return np.select([bounded & higher, bounded, log], [y, 1.0 - y, 10.0 ** (-y)], direction * y)


def _shipped_coverage() -> pd.DataFrame:
    """The backtest coverage of each widening group after its widening, as the shipped table gives it."""
    if not WIDENING_FILE.is_file():
        return pd.DataFrame(columns=["trend", "sizes", "coverage"])
    table = pd.read_csv(WIDENING_FILE)
    return table.rename(columns={"coverage_after": "coverage"}) if "coverage_after" in table else \
        table.assign(coverage=np.nan)

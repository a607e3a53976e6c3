"""Tests behind the labels (METHODS.md section 4), vectorised over curves.

Every test reads the curve's noise from `noise.Noise`: sampling noise plus
the scatter between the family's models, learnt from the family's curves and
a shipped reference prior (`noise.noise_terms`), with t distributions on
their dof. q-values are per dataset (`add_q_values`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

from .curves import CurveBatch
from .engine import ModelFit, fit_generic, monotone_rss
from .fitting import fit_model
from .models import cheapest, get, with_role
from .models.sigmoid import POINT_FIT_STARTS, polish_sigmoid, sigmoid_objective, sigmoid_starts
from .noise import Noise, draw, scatter_shape
from .settings import Settings

#: the smooth null of the emergence test, cheapest first (the first bounds the rest from above)
SMOOTH = with_role("smooth")
#: the two-lines test's vertex comes from the curvature model; the sharp alternative of the sharpness test
CURVATURE_MODEL, SHARP_MODEL = cheapest("curvature"), cheapest("sharp")


# ---------------------------------------------------------------- results
#: what the tests assume about the noise (METHODS.md section 2)
NOISE_ASSUMPTION = ("sampling error plus the scatter between the family's models, learnt from the family and "
                    "a shipped reference prior (Welch-Satterthwaite t); unknown noise: quasi-binomial, scaled by "
                    "the family's pooled residual variance with the prior (t on their dof)")


@dataclass(frozen=True)
class Test:
    """A test behind a label: its name, null hypothesis, p-value column and noise assumption."""

    name: str
    hypothesis: str
    p_column: str
    noise: str = NOISE_ASSUMPTION

    def describe(self) -> str:
        """The test as curves.csv and the report name it, with the noise it assumes."""
        return f"{self.name} (H0: {self.hypothesis}; noise: {self.noise})"


TREND = Test("two-sided weighted slope test, the sign read from the slope", "slope = 0", "p_trend")
TWO_LINES = Test("two-lines test, Simonsohn 2018", "one of the two slopes has the wrong sign", "p_ushape")
EMERGENCE = Test("absent, then present: intersection-union of the floor's equivalence tests, the rise's "
                 "tests and the jump test (Berger 1982: p is the largest of their p-values)",
                 "the smallest models are not at the floor, or a larger one is not clearly above it, or the "
                 "first model above it is no higher than the smaller models' trend predicts", "p_emergence")
SHARP = Test("parametric-bootstrap likelihood ratio, sigmoid vs best smooth model",
             "a smooth model: loglinear, power or accelerating", "p_sharp",
             "replicates drawn around the smooth fit as scores are made: binomial counts of each model's "
             "score moved by the family's scatter, or Gaussian, clipped to [0, 1]; unknown noise: the smooth "
             "fit's residual variance")


@dataclass(frozen=True)
class TestResult:
    """Tests run on a batch of curves: the numbers (one row per curve, every output column
    of the tests) and a summary, in the manner of a fitted statsmodels result."""

    tests: tuple[Test, ...]
    frame: pd.DataFrame

    def p(self, test: Test | None = None) -> np.ndarray:
        return self.frame[(test or self.tests[0]).p_column].to_numpy(float)

    def summary(self, alpha: float = 0.05, noise: bool = False) -> str:
        """One line per test: how many curves it tested and rejected; with `noise`, what it assumed."""
        lines = []
        for t in self.tests:
            p = self.p(t)[np.isfinite(self.p(t))]
            lines.append(f"{t.describe()}: {len(p)} of {len(self.frame)} curves tested, "
                         f"{int((p <= alpha).sum())} with p ≤ {alpha:g} before FDR"
                         + (f"; noise: {t.noise}" if noise else ""))
        return "\n".join(lines)


# ---------------------------------------------------------------- distributions
def _sf(t: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """Upper tail of t (normal where dof is inf)."""
    out = np.where(np.isinf(dof), special.ndtr(-t), special.stdtr(np.where(np.isinf(dof), 1, dof), -t))
    return np.where(np.isfinite(t) & ~np.isnan(dof), out, np.nan)


def _crit(dof: np.ndarray, level: float = 0.975) -> np.ndarray:
    return np.where(np.isinf(dof), special.ndtri(level), special.stdtrit(np.where(np.isinf(dof), 1, dof), level))


def _estimated_share(batch: CurveBatch, noise: Noise) -> np.ndarray:
    """Per point, the share of its variance that was estimated (C, N), for Welch-Satterthwaite dof.

    Known noise on bounded metrics: the scatter's share τ²h²/(σᵢ² + τ²h²), with τ² the larger of the
    family's posterior and the shipped prior's τ₀²: a scatter estimated high shrinks the dof, one
    that came out low never grows them past the prior's (issue 21, D1); all of it for unknown noise
    and raw metrics (their residual variance or overdispersion φ was estimated)."""
    shape = scatter_shape(batch)
    tau2_post = np.where(np.isfinite(noise.scatter), noise.scatter, 0.0)[:, None] ** 2 * shape
    tau2 = np.maximum(np.asarray(noise.tau2_ref, float)[:, None] * shape, tau2_post)
    s2 = np.maximum(batch.sigma ** 2 - tau2_post, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.clip(tau2 / (s2 + tau2), 0.0, 1.0)
    share = np.where((batch.known_noise & batch.bounded)[:, None], share, 1.0)
    return np.where(np.isfinite(share), share, 1.0)


def _satterthwaite(dof: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Welch-Satterthwaite dof of a variance whose estimated share (on `dof` dof) is `share`,
    the rest known: dof / share² (inf where nothing was estimated)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(share > 0, dof / share ** 2, np.where(np.isnan(share), dof, np.inf))


# ---------------------------------------------------------------- trend
def trend_test(batch: CurveBatch, loglinear: ModelFit, noise: Noise, settings: Settings,
               margin: np.ndarray | None = None) -> TestResult:
    """The weighted log-linear slope, tested two-sided (`p_trend`, the sign read from the slope).

    p_rise (H0: slope ≤ 0) and p_decline (H0: slope ≥ 0) are its two halves,
    kept for reference. The slope is the average trend across the range; its
    error uses the curve's noise (`noise.Noise`), t with Welch-Satterthwaite dof
    (`_satterthwaite`). `change` is the fitted change
    across the observed range with its 95 % interval. `p_flat` is the
    equivalence test of "flat" (Schuirmann's two one-sided tests, H0: |change|
    ≥ `margin`, the larger of the two p): at level α it is the (1 − 2α)
    interval lying within ±margin, as equivalence is tested in the field.
    """
    w, x = batch.w, batch.x
    xbar = (w * x).sum(1) / w.sum(1)
    sxx = (w * np.where(batch.mask, x - xbar[:, None], 0) ** 2).sum(1)
    scale, dof_t = noise.tests
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(scale / sxx)
        t = loglinear.params[:, 1] / se
        # only the scatter (or an unknown noise) was estimated: Welch-Satterthwaite dof
        lever = w * np.where(batch.mask, x - xbar[:, None], 0) ** 2
        dof_t = _satterthwaite(dof_t, (lever * _estimated_share(batch, noise)).sum(1) / sxx)
    span = batch.x_max - batch.x_min
    change = loglinear.params[:, 1] * span
    half = _crit(dof_t) * se * span
    p_rise, p_decline = _sf(t, dof_t), _sf(-t, dof_t)
    margin = np.full(len(batch), np.nan) if margin is None else np.asarray(margin, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_change = se * span
        p_flat = np.fmax(_sf((change + margin) / se_change, dof_t), _sf((margin - change) / se_change, dof_t))
    return TestResult((TREND,), pd.DataFrame({
        "slope": loglinear.params[:, 1], "slope_se": se,
        "p_trend": np.minimum(1.0, 2 * np.fmin(p_rise, p_decline)), "p_rise": p_rise, "p_decline": p_decline,
        "change": change, "change_low": change - half, "change_high": change + half,
        "p_flat": np.where(np.isfinite(margin), p_flat, np.nan),
    }))


# ---------------------------------------------------------------- two lines
def _segment(x, y, w):
    """Weighted least-squares line per curve over the points with w > 0."""
    sw = w.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = (w * x).sum(1) / sw
        ybar = (w * y).sum(1) / sw
        dx = np.where(w > 0, x - xbar[:, None], 0.0)
        sxx = (w * dx ** 2).sum(1)
        slope = (w * dx * (y - ybar[:, None])).sum(1) / sxx
    return slope, sxx


def two_lines_test(batch: CurveBatch, quadratic: ModelFit, noise: Noise, settings: Settings) -> TestResult:
    """Simonsohn's (2018) two-lines test of a U or inverted U.

    The break is set at the observed interior scale nearest the quadratic's
    vertex (the quadratic only locates it; its curvature is never the test).
    A separate line is fitted on each side, the break point belonging to
    both, so neither line is bent by the other's shape. A U needs the low
    slope < 0 and the high slope > 0, each significant one-sided (p = the
    larger of the two); an inverted U the reverse. The quadratic's sign picks
    which. The noise is the curve's (`noise.Noise`): the lines' own residuals
    would count the curvature within each side as noise.
    """
    C, N = batch.x.shape
    x, w, mask = batch.x, batch.w, batch.mask
    q = quadratic.params[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = -quadratic.params[:, 1] / (2 * q)
    xmin, xmax = batch.x_min, batch.x_max
    interior = mask & (x > xmin[:, None] + 1e-9) & (x < xmax[:, None] - 1e-9)
    dist = np.where(interior, np.abs(x - np.nan_to_num(vertex, nan=np.inf)[:, None]), np.inf)
    j = np.argmin(dist, axis=1)
    ok = np.isfinite(dist[np.arange(C), j]) & np.isfinite(q)
    xb = x[np.arange(C), j]
    low = np.where(mask & (x <= xb[:, None] + 1e-9), w, 0.0)
    high = np.where(mask & (x >= xb[:, None] - 1e-9), w, 0.0)
    b1, sxx1 = _segment(x, batch.y, low)
    b2, sxx2 = _segment(x, batch.y, high)
    scale, dof_t = noise.tests
    with np.errstate(divide="ignore", invalid="ignore"):
        t1, t2 = b1 / np.sqrt(scale / sxx1), b2 / np.sqrt(scale / sxx2)
    u_shape = q > 0
    p1 = np.where(u_shape, _sf(-t1, dof_t), _sf(t1, dof_t))
    p2 = np.where(u_shape, _sf(t2, dof_t), _sf(-t2, dof_t))
    ok &= np.isfinite(p1) & np.isfinite(p2)
    nan = np.full(C, np.nan)
    return TestResult((TWO_LINES,), pd.DataFrame({
        "u_direction": np.where(u_shape, "u_shaped", "inverted_u"),
        "u_break": np.where(ok, xb, nan),
        "u_slope_low": np.where(ok, b1, nan), "u_slope_high": np.where(ok, b2, nan),
        "u_change_low": np.where(ok, b1 * (xb - xmin), nan),
        "u_change_high": np.where(ok, b2 * (xmax - xb), nan),
        "p_ushape": np.where(ok, np.maximum(p1, p2), nan),
    }))


# ---------------------------------------------------------------- emergence
def _smooth_rss(fits: dict[str, ModelFit]) -> np.ndarray:
    """The objective of the best smooth model, the null of the emergence test."""
    return np.fmin.reduce([fits[m].rss for m in SMOOTH])


#: T* this close below T still counts as an exceedance (rounding)
_TIE = 1e-12


def _exceeds(t_star: np.ndarray, t_obs: np.ndarray) -> np.ndarray:
    """T* ≥ T, the event the Monte-Carlo p-value counts (false where T* is nan)."""
    return t_star >= t_obs - _TIE


def _falls_short(t_star: np.ndarray, t_obs: np.ndarray) -> np.ndarray:
    """Surely no exceedance (false where T* is nan)."""
    return t_star < t_obs - _TIE


def _lr_stat(rss0: np.ndarray, rss1: np.ndarray, dof1: np.ndarray, known: np.ndarray,
             settings: Settings) -> np.ndarray:
    """Likelihood-ratio statistic of sigmoid vs best smooth fit.

    Known noise: the drop in weighted RSS (the weights hold sampling error and
    scatter). Unknown noise: the drop over the sigmoid's residual variance, as
    in an F test, floored at noise_floor² so that wiggles below the floor
    cannot look emergent. Either way it falls as rss1 grows: `_replicate_stat`
    relies on it.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(known, 1.0, np.maximum(rss1 / dof1, settings.noise_floor ** 2))
        return (rss0 - rss1) / np.where(np.isfinite(scale), scale, settings.noise_floor ** 2)


def _replicate_stat(rep: CurveBatch, reps: int, dof1: np.ndarray, t_obs: np.ndarray,
                    settings: Settings) -> np.ndarray:
    """T* of each replicate, or a bound on the same side of T as T* is.

    Only whether T* ≥ T matters, and bounds often settle it without the
    power fit or the sigmoid's polish. T* grows with the smooth objective
    (at most the line's) and falls as the sigmoid's grows. The sigmoid's is
    at least that of the best monotone fit (`monotone_rss`), and at most that
    of the grid's best cell, where the polish starts and which it only ever
    improves on (a relative margin of 1e-12 covers rounding). Only replicates
    between the bounds are fitted in full; the exceedances, hence p, are those
    of fitting every replicate.
    """
    first, *others = SMOOTH
    rss0, rss_low = fit_model(first, rep).rss, monotone_rss(rep)

    def stat(rss1, rows):
        return _lr_stat(rss0[rows], rss1, dof1[rows], rep.known_noise[rows], settings)

    rows = np.arange(len(rep))
    sub, R = rep, reps

    def narrow(keep):
        """Keep the replicates still undecided; a curve's replicates share grids while all are kept."""
        nonlocal rows, sub, R
        if not keep.all():
            rows, sub, R = rows[keep], sub.take(keep), 1
        return len(rows) > 0

    # from above, with the cheapest smooth model (the line), then with each other smooth fit too
    t_star = stat(rss_low, rows)
    if not narrow(~_falls_short(t_star, t_obs)):
        return t_star
    for m in others:
        rss0[rows] = np.fmin(rss0[rows], fit_model(m, sub, replicates=R).rss)
        t_star[rows] = stat(rss_low[rows], rows)
        if not narrow(~_falls_short(t_star[rows], t_obs[rows])):
            return t_star
    # from below, with the grid's best cell
    p0 = sigmoid_starts(sub, starts=POINT_FIT_STARTS, replicates=R)     # the observed fit's effort
    t_star[rows] = stat(sigmoid_objective(sub, p0[:, 0]) * (1 + 1e-12), rows)
    keep = ~_exceeds(t_star[rows], t_obs[rows])
    p0 = p0[keep]
    if narrow(keep):
        t_star[rows] = stat(polish_sigmoid(sub, p0).rss, rows)
    return t_star


def emergence_assessable(bounded: np.ndarray, chance: np.ndarray, settings: Settings) -> np.ndarray:
    """Where emergence could be called at all: a bounded metric, with a chance
    level unless `require_chance` is off. Elsewhere it is not tested."""
    return np.asarray(bounded, bool) & (np.isfinite(chance) | (not settings.require_chance))


def smooth_fit_test(batch: CurveBatch, fits: dict[str, ModelFit], noise: Noise) -> pd.DataFrame:
    """Does the closest smooth model fit? (`p_smooth_fit`, the goodness of fit behind "smooth")

    Where the noise is known (sampling error plus the family's scatter), the
    closest smooth model's weighted RSS is χ² on its residual dof under the
    model; a small p says no smooth model follows the curve. The scatter is
    pooled over the family's curves with misfits left out (2.2), so one
    curve's misfit is not absorbed by it. Unknown noise: no test (the
    residuals are the noise estimate).
    """
    model = null_model(fits)
    rss = _smooth_rss(fits)
    k = np.select([model == m for m in SMOOTH], [fits[m].n_free for m in SMOOTH])
    dof = batch.n - k
    # only where the noise was not estimated from this curve's own residuals (raw metrics: φ is) and
    # the scatter is part of it (where it is not estimable, sampling error alone would reject real curves)
    ok = (batch.known_noise & batch.bounded & np.isin(noise.source, ("family", "family alone", "prior", "given"))
          & (noise.scale > 0) & (dof >= 1) & np.isfinite(rss))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = special.chdtrc(np.maximum(dof, 1), rss / noise.scale)
    return pd.DataFrame({"p_smooth_fit": np.where(ok, p, np.nan)})


def null_model(fits: dict[str, ModelFit]) -> np.ndarray:
    """The smooth model whose objective enters the statistic (the closer fit; the first of
    `SMOOTH` on ties): the null that the replicates are drawn from."""
    rss = np.column_stack([np.where(np.isfinite(fits[m].rss), fits[m].rss, np.inf) for m in SMOOTH])
    return np.array(SMOOTH)[np.argmin(rss, axis=1)]


def monte_carlo_looks(settings: Settings, extend: bool, first: int = 50) -> list[tuple[int, bool]]:
    """When the sequential test looks at its exceedances: (replicates so far, extended curves only).

    Looks double from `first` up to `bootstrap`, then (for curves that could
    be emergent) go on doubling up to `bootstrap_max`.
    """
    B = settings.bootstrap
    looks, t = [], first
    while t < B:
        looks.append((t, False))
        t *= 2
    looks.append((B, False))
    t = B
    while extend and t < settings.bootstrap_max:
        t = min(t * 2, settings.bootstrap_max)
        looks.append((t, True))
    return looks


def sharpness_test(batch: CurveBatch, fits: dict[str, ModelFit], noise: Noise, keys: list[str],
                   eligible: np.ndarray, settings: Settings, extend: np.ndarray | None = None,
                   stop_after: int = 10) -> TestResult:
    """Parametric bootstrap of the likelihood ratio, sigmoid vs best smooth model.

    Descriptive since issue 12 (`p_sharp`): whether a sharp rise fits the
    curve better than every smooth model. It does not decide the emergent
    label (`emergence_test` does); the smooth label's reason reads it.

    H0: the curve follows a smooth model with the curve's noise (`noise`:
    sampling error plus the family's scatter). Replicates are drawn from the
    smooth fit whose objective enters the statistic (`null_model`), as the
    scores are made (`noise.draw`: binomial counts where item counts are
    known), and refitted with the same effort as the observed curve.
    Monte-Carlo effort is sequential (Besag & Clifford 1991): a curve stops at
    its `stop_after`-th exceedance T* ≥ T, after l replicates, with p = h/l;
    a curve that never gets there has p = (1 + #{T* ≥ T}) / (1 + n) after the
    n = `bootstrap` replicates, or, for curves in `extend` (those whose
    emergence test holds at alpha: their reasons quote p_sharp), up to
    `bootstrap_max`. Both are
    valid p-values; replicates are drawn in rounds (`monte_carlo_looks`) and
    those after the stopping one are discarded.
    """
    C, N = batch.x.shape
    dof1 = batch.n - fits[SHARP_MODEL].n_free
    t_obs = _lr_stat(_smooth_rss(fits), fits[SHARP_MODEL].rss, dof1, batch.known_noise, settings)
    null = null_model(fits)
    mu = np.select([null[:, None] == m for m in SMOOTH], [fits[m].predict(batch.x) for m in SMOOTH])
    # unknown noise: the null's own residual variance, never the alternative's
    with np.errstate(divide="ignore", invalid="ignore"):
        null_var = np.select([null == m for m in SMOOTH],
                             [fits[m].rss / (batch.n - fits[m].n_free) for m in SMOOTH])
    noise = replace(noise, scale=np.where(batch.known_noise, noise.scale,
                                          np.maximum(np.nan_to_num(null_var, nan=0.0), settings.noise_floor ** 2)))

    exceed = np.zeros(C, int); done = np.zeros(C, int); stopped = np.zeros(C, bool)
    active = eligible & np.isfinite(t_obs)
    for target, extended_only in monte_carlo_looks(settings, extend is not None):
        want = active & ~stopped & (done < target)
        if extended_only:
            want &= extend
        todo = np.flatnonzero(want)
        if len(todo) == 0:
            continue
        start = int(done[todo].min())
        assert (done[todo] == start).all()
        reps = target - start
        sub = batch.take(todo)
        rep = draw(sub, noise.take(todo), mu[todo], reps, [keys[i] for i in todo], settings.seed, 1, start)
        t_star = _replicate_stat(rep, reps, np.repeat(dof1[todo], reps), np.repeat(t_obs[todo], reps),
                                 settings).reshape(len(todo), reps)
        hits = np.cumsum(_exceeds(t_star, t_obs[todo, None]), axis=1) + exceed[todo, None]
        reached = hits[:, -1] >= stop_after
        at = np.argmax(hits >= stop_after, axis=1)          # the stopping replicate
        stopped[todo] = reached
        done[todo] = np.where(reached, start + at + 1, target)
        exceed[todo] = np.where(reached, stop_after, hits[:, -1])
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(stopped, stop_after / np.maximum(done, 1), (1 + exceed) / (1 + done))
        p = np.where(done > 0, p, np.nan)
    return TestResult((SHARP,), pd.DataFrame({
        "lr_stat": np.where(eligible, t_obs, np.nan), "p_sharp": p,
        "bootstrap_replicates": done.astype(int), "null_model": null}))


# ---------------------------------------------------------------- absent, then present
def emergence_floor(batch: CurveBatch, settings: Settings) -> np.ndarray:
    """The floor a curve emerges from: its chance level (a `chance` of 0 for exact match), or, where
    `require_chance` is off and chance is unknown, its lowest score."""
    low = np.where(batch.mask, batch.y, np.inf).min(1)
    return np.where(np.isfinite(batch.chance), batch.chance,
                    np.nan if settings.require_chance else low)


#: models a rise may take to pass from the floor to clearly above it (between the two runs)
MAX_TRANSITION = 1


@dataclass(frozen=True)
class _FloorLine:
    """The weighted line through a curve's floor models: their level and their trend."""

    xbar: np.ndarray
    ybar: np.ndarray
    slope: np.ndarray
    sw: np.ndarray
    sxx: np.ndarray
    share: np.ndarray          # the estimated share of its level's variance, Σ wᵢ sᵢ / Σ wᵢ

    @classmethod
    def fit(cls, batch: CurveBatch, floor_models: np.ndarray, sd: np.ndarray, estimated: np.ndarray) -> _FloorLine:
        w = np.where(floor_models, 1.0 / sd ** 2, 0.0)
        slope, sxx = _segment(batch.x, batch.y, w)
        with np.errstate(divide="ignore", invalid="ignore"):
            sw = w.sum(1)
            return cls((w * batch.x).sum(1) / sw, (w * np.where(floor_models, batch.y, 0.0)).sum(1) / sw, slope,
                       sw, sxx, (w * estimated).sum(1) / sw)

    def at(self, x: np.ndarray, rising_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The line's value at x, and its variance (the slope floored at 0 with `rising_only`)."""
        slope = np.maximum(self.slope, 0.0) if rising_only else self.slope
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.ybar + slope * (x - self.xbar), 1.0 / self.sw + (x - self.xbar) ** 2 / self.sxx


#: the steepest gain above the floor the jump test's accelerating null allows, per decade: the excess
#: over chance grows at most as fast as the model size (A·N^β, β ≤ 1); see `_accelerating_prediction`
ACCELERATING_MAX = 1.0
_BETAS = np.geomspace(0.02, ACCELERATING_MAX, 24)


def _accelerating_prediction(batch: CurveBatch, smaller: np.ndarray, target: np.ndarray, floor: np.ndarray,
                             sd: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The smooth accelerating law from the floor, y = floor + A·10^(β(x − x_t)), A ≥ 0, fitted to the
    `smaller` models by weighted least squares (β on a grid in [0.02, `ACCELERATING_MAX`] per decade,
    A in closed form), and its prediction at the target model x_t with its variance: (floor + Â, var Â),
    then the same at the steepest β allowed (for `accelerating_null: steepest`).

    This is the accuracy = A·N^β of the registry's accelerating model, started at chance: a curve
    that follows it is predictable from its smaller models, however sudden it looks on a linear axis
    (issue 21, D4). A is the law's excess at the target itself, so the prediction's variance is
    Â's, from the inverse of the 2×2 information of (A, β) (the delta method): β's uncertainty,
    which a long extrapolation multiplies, is in it. Where Â = 0 (the smaller models at or below
    the floor) β is not identified and the variance is Â's at the fitted β. The caller uses the law
    only where the smaller models rise detectably: on models at the floor within their noise every
    β fits, and the best-fitting one follows the noise (or, with `accelerating_null: steepest`, the
    steepest law is the null there). At the steepest β allowed, Â's variance at that β is used (a
    steeper law is outside the null, a shallower one predicts less)."""
    rows = np.arange(len(batch))
    xt = batch.x[rows, target]
    w = np.where(smaller, 1.0 / sd ** 2, 0.0)
    e = np.where(smaller, batch.y - floor[:, None], 0.0)
    dx = np.where(smaller, batch.x - xt[:, None], 0.0)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        g = 10.0 ** (_BETAS[None, :, None] * dx[:, None, :])                      # (C, B, N)
        swgg = (w[:, None, :] * g * g).sum(2)
        a = np.maximum((w[:, None, :] * g * e[:, None, :]).sum(2) / swgg, 0.0)
        rss = (w[:, None, :] * (e[:, None, :] - a[..., None] * g) ** 2).sum(2)
        b = np.argmin(np.where(np.isfinite(rss), rss, np.inf), axis=1)
        gb, ab = g[rows, b], a[rows, b]
        dbeta = ab[:, None] * gb * np.log(10.0) * dx                             # ∂ prediction_i / ∂β
        i_aa, i_ab, i_bb = (w * gb * gb).sum(1), (w * gb * dbeta).sum(1), (w * dbeta * dbeta).sum(1)
        det = i_aa * i_bb - i_ab ** 2
        # at the steepest β allowed, a steeper law is not in the null: β's uncertainty only lowers the
        # prediction there, and the upper tail the test needs is Â's at that β
        free = (ab > 0) & (b < len(_BETAS) - 1) & (det > 1e-9 * i_aa * i_bb)
        var = np.where(free, i_bb / det, 1.0 / i_aa)
        return floor + ab, var, floor + a[:, -1], 1.0 / swgg[:, -1]


def emergence_test(batch: CurveBatch, noise: Noise, eligible: np.ndarray, settings: Settings) -> TestResult:
    """Emergence as the field defines it: absent, then present (Wei et al. 2022).

    The smallest models up to a scale are *at the floor* and the largest ones
    are *clearly above* it, with a practical tolerance δ = `chance_tolerance`:
    26 % on a 25 %-chance task is at the floor for this purpose, however many
    items measured it. A curve is split into k floor models (k ≥
    `min_floor_models`, each scoring at most floor + δ), then at most
    `MAX_TRANSITION` models on the way up, then the m ≥ 1 largest models (each
    scoring above floor + δ). Three one-sided tests, on the points' sd
    (sampling error plus the family's scatter), t with Welch-Satterthwaite
    dof (only the scatter, or an unknown noise, was estimated):

    * at the floor (equivalence): the floor models' weighted mean, H0 mean ≥
      floor + δ (each of them scores at most floor + δ, and any trend among
      them is the jump test's);
    * clearly above, per model of the last m: H0 y ≤ floor + δ;
    * the jump: the first of the last m lies above every smooth extrapolation
      of the smaller models (all models below it, the one on the way up too):
      their line (slope floored at 0) and the accelerating law from the
      floor (`_accelerating_prediction`), by more than the extrapolation's
      error and the model's own sd allow. H0: y ≤ the smaller models' trend.
      A steady rise from the floor (loglinear) passes the first two tests
      and fails this one.

    The claim is that all three hold: p is the largest of their p-values (an
    intersection-union test, Berger 1982); a part that cannot be computed
    fails it. Of the splits the data allow, the one with the smallest p is
    reported (a choice among a few nested splits; its effect on the false
    positive rate is measured by the stress suite). Neither the midpoint nor
    a plateau needs to be observed. The bracket describes the data whatever
    the split: [last model of the leading run within δ of the floor, first
    model from which every larger one is clearly above it on its own];
    `onset_present` counts those models ("rests on one model" when 1). The
    emergence scale inside the bracket is where the straight lines between
    its models first cross floor + δ. `onset_untested` says why the test
    could not run, where it could not.
    """
    C, N = batch.x.shape
    floor = emergence_floor(batch, settings)
    line = floor + settings.chance_tolerance
    sd = np.maximum(noise.point_sd(), 1e-12)
    estimated = _estimated_share(batch, noise)
    dof, mask, n = noise.dof, batch.mask, batch.n
    idx = np.arange(N)[None, :]
    with np.errstate(invalid="ignore"):
        z = (batch.y - line[:, None]) / sd
        below = batch.y <= line[:, None]
    # the leading run at or below floor + δ, and the trailing run above it (points sorted by scale, padding last)
    lead = np.cumprod(below | ~mask, axis=1).astype(bool) & mask
    trail = np.flip(np.cumprod(np.flip(~below | ~mask, 1), axis=1), 1).astype(bool) & mask
    n_lead, n_trail = lead.sum(1), trail.sum(1)
    p_above = np.where(mask, _sf(z, _satterthwaite(dof[:, None], estimated)), -np.inf)
    rows = np.arange(C)
    assessable = eligible & np.isfinite(floor)

    # distinct scales among the first k points: a floor "trend" needs two of them
    step = np.concatenate([np.ones((C, 1), bool), np.diff(batch.x, axis=1) > 0], axis=1) & mask
    scales_before = np.cumsum(step, axis=1)

    best = {key: np.full(C, np.nan) for key in ("p", "p_floor", "p_present", "p_jump", "jump", "jump_x", "k", "m")}
    # the accelerating law from the floor, fitted to every model below the first tested one: it depends on
    # the split's m only, and is used where those smaller models rise detectably (one-sided slope test)
    accelerating = {}
    for m in range(1, N - settings.min_floor_models + 1):
        first = np.clip(n - m, 0, N - 1)
        smaller = mask & (idx < first[:, None])
        accel, v_accel, steep, v_steep = _accelerating_prediction(batch, smaller, first, floor, sd)
        below = _FloorLine.fit(batch, smaller, sd, estimated)
        with np.errstate(divide="ignore", invalid="ignore"):
            rising = _sf(below.slope * np.sqrt(below.sxx), _satterthwaite(dof, below.share)) <= settings.alpha
        # where they show no rise of their own, the fitted β follows their noise: no accelerating null
        # (`accelerating_null: fitted`), or the steepest law the null allows (`steepest`)
        if settings.accelerating_null == "steepest":
            accelerating[m] = np.where(rising, accel, steep), np.where(rising, v_accel, v_steep), below
        else:
            accelerating[m] = np.where(rising, accel, -np.inf), v_accel, below
    for k in range(settings.min_floor_models, N):
        floor_models = idx < k
        fl = _FloorLine.fit(batch, floor_models, sd, estimated)
        with np.errstate(divide="ignore", invalid="ignore"):
            # two one-sided tests (TOST): the floor models' mean within floor ± δ; scores clearly below the
            # written chance mean the chance or the data are wrong, not a floor (issue 21, D5)
            floor_dof = _satterthwaite(dof, fl.share)
            p_floor = np.fmax(_sf((line - fl.ybar) * np.sqrt(fl.sw), floor_dof),
                              _sf((fl.ybar - (floor - settings.chance_tolerance)) * np.sqrt(fl.sw), floor_dof))
        for m in range(1, N - k + 1):
            ok = (assessable & (k <= n_lead) & (m <= n_trail) & (n - k - m <= MAX_TRANSITION) & (k + m <= n)
                  & (scales_before[:, k - 1] >= settings.min_floor_models))
            if not ok.any():
                continue
            first = np.clip(n - m, 0, N - 1)
            p_present = np.where((idx >= (n - m)[:, None]) & mask, p_above, -np.inf).max(1)
            # the smaller models' line: every model below the first tested one, the one on the way up too
            accel, v_accel, smaller = accelerating[m]
            trend, v_line = smaller.at(batch.x[rows, first], rising_only=True)
            v_first = sd[rows, first] ** 2
            v_est = v_line * smaller.share + v_first * estimated[rows, first]
            with np.errstate(divide="ignore", invalid="ignore"):
                share_accel = (v_accel * fl.share + v_first * estimated[rows, first]) / (v_accel + v_first)
                jump = batch.y[rows, first] - np.fmax(trend, accel)
                p_jump = np.fmax(
                    _sf((batch.y[rows, first] - trend - settings.jump_margin) / np.sqrt(v_line + v_first),
                        _satterthwaite(dof, v_est / (v_line + v_first))),
                    _sf((batch.y[rows, first] - accel - settings.jump_margin) / np.sqrt(v_accel + v_first),
                        _satterthwaite(dof, share_accel)))
            # np.maximum, not fmax: a test that could not be computed fails the claim
            p = np.maximum.reduce([p_floor, p_present, p_jump])
            better = ok & np.isfinite(p) & ~(p >= best["p"])
            for key, value in (("p", p), ("p_floor", p_floor), ("p_present", p_present), ("p_jump", p_jump),
                               ("jump", jump), ("jump_x", batch.x[rows, first]), ("k", k), ("m", m)):
                best[key] = np.where(better, value, best[key])

    tested = np.isfinite(best["p"])
    # scores clearly below the written floor: the chance column or the data are wrong (a warning, and no emergence)
    lead_line = _FloorLine.fit(batch, lead, sd, estimated)
    with np.errstate(divide="ignore", invalid="ignore"):
        below_chance = assessable & (n_lead >= 1) & (_sf(
            ((floor - settings.chance_tolerance) - lead_line.ybar) * np.sqrt(lead_line.sw),
            _satterthwaite(dof, lead_line.share)) <= settings.alpha)
    # the bracket, a description of the data whatever the split: from the last model of the leading
    # run within δ of the floor to the first model from which every larger one is clearly above it on
    # its own (one-sided, at alpha; where none is, the first of the test's largest models)
    last_floor = np.maximum(n_lead - 1, 0)
    clear = np.flip(np.cumprod(np.flip((p_above <= settings.alpha) | ~mask, 1), axis=1), 1).astype(bool)
    clear &= mask & (idx >= n_lead[:, None])
    first_clear = np.where(clear.any(1), np.argmax(clear, axis=1), N)
    first = np.clip(np.where(tested, np.minimum(first_clear, n - np.nan_to_num(best["m"], nan=1)), 1),
                    1, N - 1).astype(int)
    x_low, x_high = batch.x[rows, last_floor], batch.x[rows, first]
    # inside the bracket: the first crossing of floor + δ by the straight lines between its models
    crossing = np.full(C, np.nan)
    for j in range(N - 1, 0, -1):
        inside = tested & (j > last_floor) & (j <= first)
        y0, y1 = batch.y[:, j - 1], batch.y[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.clip((line - y0) / (y1 - y0), 0.0, 1.0)
        crosses = inside & (y0 <= line) & (y1 > line)
        crossing = np.where(crosses, batch.x[:, j - 1] + share * (batch.x[:, j] - batch.x[:, j - 1]), crossing)
    crossing = np.where(tested & np.isnan(crossing), (x_low + x_high) / 2, crossing)
    # why the test could not run, where it could not
    gap = n - n_lead - n_trail
    untested = np.select(
        [~assessable, n_lead < settings.min_floor_models,
         scales_before[rows, np.maximum(n_lead - 1, 0)] < settings.min_floor_models, n_trail == 0,
         gap > MAX_TRANSITION, ~tested],
        ["not assessed", "no flat start", "floor models at one scale", "never above the floor",
         "gradual: more models on the way up than allowed", "not computable"], "")
    nan = np.full(C, np.nan)
    return TestResult((EMERGENCE,), pd.DataFrame({
        "onset_floor": np.where(tested, best["k"], 0).astype(int),
        "onset_present": np.where(tested & (first_clear < N), n - first_clear, 0).astype(int),
        "onset_low": np.where(tested, 10.0 ** x_low, nan), "onset_high": np.where(tested, 10.0 ** x_high, nan),
        "onset_scale": np.where(tested, 10.0 ** crossing, nan),
        "onset_untested": np.where(tested, "", untested),
        "p_floor": best["p_floor"], "p_present": best["p_present"], "jump": best["jump"],
        "jump_scale": np.where(tested, 10.0 ** best["jump_x"], nan), "p_jump": best["p_jump"],
        "p_emergence": best["p"], "below_chance": below_chance,
    }))


def leave_one_out(batch: CurveBatch, noise: Noise, emergence: pd.DataFrame, which: np.ndarray,
                  settings: Settings) -> np.ndarray:
    """Does "absent, then present" survive leaving out any one model that is not an end of its bracket?

    For the curves in `which`, the emergence test is rerun without each other
    point in turn, with the same noise; returns the largest p_emergence (C,),
    nan elsewhere. `emergence` is the test's frame on the whole curves (its
    bracket names the ends). A label whose largest p is above the dataset's
    cut-off rests on that one model (`fragile`)."""
    C, N = batch.x.shape
    out = np.full(C, np.nan)
    rows = np.flatnonzero(which)
    if len(rows) == 0:
        return out
    sub, sub_noise = batch.take(rows), noise.take(rows)
    x = sub.x
    ends = [np.argmax(np.isclose(x, np.log10(emergence[col].to_numpy(float)[rows])[:, None]) & sub.mask, axis=1)
            for col in ("onset_low", "onset_high")]
    low, high = ends
    worst = np.full(len(rows), -np.inf)
    for j in range(N):
        drop = sub.mask[:, j] & (j != low) & (j != high)
        if not drop.any():
            continue
        jj = np.full(len(rows), j)
        p = emergence_test(sub.without_point(jj), sub_noise.without_point(jj), np.ones(len(rows), bool),
                           settings).p()
        # a test that cannot run without the model fails the claim
        worst = np.where(drop, np.fmax(worst, np.where(np.isfinite(p), p, 1.0)), worst)
    out[rows] = np.where(np.isfinite(worst), worst, np.nan)
    return out


def sharpness(emergence: pd.DataFrame, p_wide: np.ndarray, settings: Settings) -> np.ndarray:
    """How sharp an emergence is, an attribute, not a condition of it: `gradual` where the width test
    shows a rise wider than `max_transition_decades`, `sharp` where the bracket spans at most that and
    the rise was seen at `WIDTH_MIN_PRESENT` models or more, else `not identified`; blank where
    p_emergence > alpha."""
    candidate = emergence["p_emergence"].to_numpy(float) <= settings.alpha
    with np.errstate(divide="ignore", invalid="ignore"):
        span = np.log10(emergence["onset_high"].to_numpy(float) / emergence["onset_low"].to_numpy(float))
    seen = emergence["onset_present"].to_numpy() >= WIDTH_MIN_PRESENT
    label = np.where(p_wide <= settings.alpha, "gradual",
                     np.where(seen & (span <= settings.max_transition_decades + 1e-9), "sharp", "not identified"))
    return np.where(candidate, label, "")


#: models above the floor a rise needs before its width can be judged: through two, a sharp
#: sigmoid always passes, and only the floor models' deviations within the tolerance would argue
WIDTH_MIN_PRESENT = 3


def width_test(batch: CurveBatch, sigmoid: ModelFit, noise: Noise, which: np.ndarray,
               settings: Settings) -> pd.DataFrame:
    """Is the rise demonstrably wider than `max_transition_decades`? (`p_wide`)

    A wide logistic's lower tail is absent, then present too. The sigmoid
    with its 10 %-90 % width held at most W = `max_transition_decades` is
    fitted against the free sigmoid: the increase of the weighted RSS, over
    the noise scale, is a squared t on the noise's dof, and with the truth on
    the boundary (width W) p is half its two-sided tail (Self & Liang 1987).
    A small p says the data show a rise wider than W. Run where the rise is
    seen at `WIDTH_MIN_PRESENT` models or more (`which`); elsewhere a sharp
    sigmoid fits the rise as well as a wide one, its width cannot be seen,
    and emergence rests on "absent, then present" alone.
    """

    C = len(batch)
    p_wide = np.full(C, np.nan)
    idx = np.flatnonzero(which & np.isfinite(sigmoid.rss))
    if len(idx) == 0:
        return pd.DataFrame({"p_wide": p_wide})
    sub, free = batch.take(idx), sigmoid.params[idx]
    k_min = np.log(81.0) / settings.max_transition_decades
    model = get(SHARP_MODEL)

    def bounds(b):
        lo, hi = model.parameter_bounds(b)
        lo[:, 2] = np.maximum(lo[:, 2], k_min)
        return lo, hi

    def starts(b, replicates=1):
        # the free fit made steep enough, and steep fits at its midpoint and either side of it
        base = np.broadcast_to(free[:, None, :], (len(idx), 4, 4)).copy()
        base[:, 0, 2] = np.maximum(free[:, 2], k_min)
        base[:, 1:, 2] = [k_min, 2 * k_min, k_min]
        base[:, 2, 3] += 0.5
        base[:, 3, 3] -= 0.5
        return base

    sharp = fit_generic(replace(model, name="sharp sigmoid", fit=None, bounds=bounds, starts=starts), sub)
    scale, dof = noise.scale[idx], noise.dof[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.sqrt(np.maximum(sharp.rss - sigmoid.rss[idx], 0.0) / scale)
    p_wide[idx] = np.where(np.isfinite(stat), _sf(stat, dof), np.nan)
    return pd.DataFrame({"p_wide": p_wide})


# ---------------------------------------------------------------- run-wide
P_COLUMNS = tuple(t.p_column for t in (EMERGENCE, TREND, TWO_LINES))


def headline(curves: pd.DataFrame, preference: tuple[str, ...]) -> np.ndarray:
    """One headline metric per (dataset, family, benchmark, task, shots), chosen in advance.

    The first of `preference` (full metric name first, then its base before
    "/" or ","), else the alphabetically first. A task measured with several
    metrics (acc and acc_norm, strict and flexible extraction) makes one claim,
    not several: the other metrics are sensitivity analyses.
    """
    rank = {m: i for i, m in enumerate(preference)}
    metric = curves["metric"].astype(str)
    base = metric.str.split("/").str[0].str.split(",").str[0]
    order = np.fmin(metric.map(rank).to_numpy(float), base.map(rank).to_numpy(float) + 0.5)
    key = ["dataset", "family", "benchmark", "task", "shots"]
    ranked = curves.assign(_o=np.where(np.isfinite(order), order, np.inf), _m=metric)
    best = ranked.sort_values(["_o", "_m"], kind="stable").groupby(key, sort=False, dropna=False)["_m"].first()
    chosen = ranked[key].merge(best.rename("_best").reset_index(), on=key, how="left")["_best"]
    return (chosen.to_numpy() == metric.to_numpy())


def bh_q(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values (statsmodels' `fdr_bh`); NaN p-values are left out and stay NaN."""
    from statsmodels.stats.multitest import multipletests
    q = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q


def add_q_values(curves: pd.DataFrame, preference: tuple[str, ...]) -> pd.DataFrame:
    """q-values per test: Benjamini-Hochberg within each dataset (the label's), and across the run.

    A dataset is a study, and the family of claims: `q_<test>` is BH over the
    dataset's headline curves for that test (`headline`), so a curve's label
    depends on its own dataset alone, never on which other datasets are in the
    run. It controls, per dataset and test, the expected share of false claims
    among the curves it rejects, under independence or positive dependence
    (PRDS, Benjamini & Yekutieli 2001: curves of one family share their models,
    whose effects move their one-sided tests together). The other metrics'
    curves are sensitivity analyses, with q-values in a family of their own
    per dataset. `q_<test>_run` is the same procedure over the whole run, for
    a reader who pools datasets; no label reads it.
    """
    out = curves.copy()
    out["headline"] = headline(out, preference)
    head = out["headline"].to_numpy(bool)
    dataset = out["dataset"].astype(str).to_numpy()
    for col in P_COLUMNS:
        p = out[col].to_numpy(float)
        q, q_run = np.full(len(out), np.nan), np.full(len(out), np.nan)
        for part in (head, ~head):
            q_run[part] = bh_q(p[part])
            for d in np.unique(dataset[part]):
                rows = part & (dataset == d)
                q[rows] = bh_q(p[rows])
        out["q" + col[1:]] = q
        out["q" + col[1:] + "_run"] = q_run
    return out

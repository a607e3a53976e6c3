"""Tests behind the labels (METHODS.md section 3), vectorised over curves.

Noise model. With known per-point noise (stderr or binomial), the variance of
a point is phi·sigma_i², where phi ≥ 1 is the scatter between models beyond
sampling noise (overdispersion). phi is estimated from the residuals of the
reference model when there are at least `overdispersion_min_df` residual
degrees of freedom, else taken as 1; the tests then use the t distribution
when phi > 1 and the normal when phi = 1. With unknown noise, the variance is
estimated from the residuals (floored at `noise_floor`) and tests use t.
"""
from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from .curves import CurveBatch
from .fitting import ModelFit, fit_model, fit_sigmoid, monotone_rss, polish_sigmoid, sigmoid_objective, sigmoid_starts
from .models import get, transition_width, with_role
from .settings import Settings

#: the smooth null of the emergence test, cheapest first (the first bounds the rest from above)
SMOOTH = with_role("smooth")
#: the flexible fits whose residuals measure a curve's noise: more than a line
FLEXIBLE = tuple(m for m in with_role("smooth", "curvature", "sharp") if len(get(m).params) > 2)
#: the slope test's model
LINE = "loglinear"


# ---------------------------------------------------------------- results
#: what the tests assume about the noise (METHODS.md section 2)
NOISE_ASSUMPTION = ("per-point stderr or binomial error times the curve's own overdispersion where 2+ residual "
                    "dof allow it, else the residual variance (floored at noise_floor); t with the residual dof, "
                    "the normal when no overdispersion is estimated")


@dataclass(frozen=True)
class Test:
    """A test behind a label: its name, null hypothesis, p-value column and noise assumption."""

    name: str
    hypothesis: str
    p_column: str
    noise: str = NOISE_ASSUMPTION

    def describe(self) -> str:
        """The test as curves.csv and the report name it."""
        return f"{self.name} (H0: {self.hypothesis})"


RISE = Test("one-sided weighted slope test", "slope ≤ 0", "p_rise")
DECLINE = Test("one-sided weighted slope test", "slope ≥ 0", "p_decline")
TWO_LINES = Test("two-lines test, Simonsohn 2018", "one of the two slopes has the wrong sign", "p_ushape")
EMERGENCE = Test("parametric-bootstrap likelihood ratio, sigmoid vs best smooth model",
                 "the smooth model with the estimated noise", "p_emergence",
                 "replicates Gaussian around the smooth fit (loglinear or power, lower AICc), sd from the "
                 "closest flexible fit (power, quadratic or sigmoid)")


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


# ---------------------------------------------------------------- noise
def dispersion(rss: np.ndarray, dof: np.ndarray, known: np.ndarray,
               settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Variance multiplier for the unit-weight residuals and the test's dof.

    Returns (scale, dof_t) where dof_t is inf when the normal distribution
    applies (known noise, no overdispersion detected).
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = rss / dof
    phi = np.where(dof >= settings.overdispersion_min_df, np.maximum(1.0, ratio), 1.0)
    phi = np.where(np.isfinite(phi), phi, 1.0)
    unknown_var = np.where(dof > 0, np.maximum(ratio, settings.noise_floor ** 2), np.nan)
    scale = np.where(known, phi, unknown_var)
    dof_t = np.where(known & (phi <= 1.0), np.inf, np.where(dof > 0, dof, np.nan))
    return scale, dof_t


def usable_scale(scale: np.ndarray, known: np.ndarray, settings: Settings) -> np.ndarray:
    """`dispersion`'s scale where it could not be estimated: no extra scatter for known
    noise, the noise floor otherwise."""
    return np.where(np.isfinite(scale), scale, np.where(known, 1.0, settings.noise_floor ** 2))


def point_sd(batch: CurveBatch, scale: np.ndarray, settings: Settings) -> np.ndarray:
    """Per-point noise sd (C, N) implied by `dispersion`'s scale."""
    scale = usable_scale(scale, batch.known_noise, settings)
    return np.sqrt(scale)[:, None] * np.where(batch.known_noise[:, None], batch.sigma, 1.0)


def _sf(t: np.ndarray, dof: np.ndarray) -> np.ndarray:
    """Upper tail of t (normal where dof is inf)."""
    out = np.where(np.isinf(dof), special.ndtr(-t), special.stdtr(np.where(np.isinf(dof), 1, dof), -t))
    return np.where(np.isfinite(t) & ~np.isnan(dof), out, np.nan)


def _crit(dof: np.ndarray, level: float = 0.975) -> np.ndarray:
    return np.where(np.isinf(dof), special.ndtri(level), special.stdtrit(np.where(np.isinf(dof), 1, dof), level))


# ---------------------------------------------------------------- trend
def noise_scale(batch: CurveBatch, fits: dict[str, ModelFit], settings: Settings,
                line_below_dof: int = 2):
    """The curve's noise level from its best-fitting flexible model.

    Scatter is measured around the closest of the flexible fits (`FLEXIBLE`:
    power, quadratic, sigmoid) that leave a residual degree of freedom, so
    that a straight line's misfit to a curved but smooth trend is not
    mistaken for noise. Returns (scale, dof_t) as
    `dispersion` does.
    """
    n = batch.n
    # the flexible fit closest to the data among those that leave residual dof
    rss, dof = np.full(len(batch), np.inf), np.zeros(len(batch), int)
    for m in FLEXIBLE:
        r, d = fits[m].rss, n - fits[m].n_free
        better = np.isfinite(r) & (d >= 1) & (r < rss)
        rss, dof = np.where(better, r, rss), np.where(better, d, dof)
    # For a test, an unknown noise level on a single residual dof is useless
    # (t with 1 dof); then it comes from the line's residuals instead, which
    # can only overstate it.
    line = (~batch.known_noise & (dof < line_below_dof)) | ~np.isfinite(rss)
    rss = np.where(line, fits[LINE].rss, rss)
    dof = np.where(line, n - 2, dof)
    return dispersion(rss, dof, batch.known_noise, settings)


def trend_test(batch: CurveBatch, loglinear: ModelFit, noise: tuple, settings: Settings) -> TestResult:
    """One-sided tests of the weighted log-linear slope, both directions.

    p_rise tests H0: slope ≤ 0; p_decline tests H0: slope ≥ 0. The slope is
    the average trend across the range; its error uses the curve's noise
    level (`noise_scale`). `change` is the fitted change across the observed
    range with its 95 % interval.
    """
    w, x = batch.w, batch.x
    xbar = (w * x).sum(1) / w.sum(1)
    sxx = (w * np.where(batch.mask, x - xbar[:, None], 0) ** 2).sum(1)
    scale, dof_t = noise
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(scale / sxx)
        t = loglinear.params[:, 1] / se
    span = batch.x_max - batch.x_min
    change = loglinear.params[:, 1] * span
    half = _crit(dof_t) * se * span
    return TestResult((RISE, DECLINE), pd.DataFrame({
        "slope": loglinear.params[:, 1], "slope_se": se,
        "p_rise": _sf(t, dof_t), "p_decline": _sf(-t, dof_t),
        "change": change, "change_low": change - half, "change_high": change + half,
        "dispersion": np.where(batch.known_noise, scale, np.nan),
        "noise_sd": np.where(batch.known_noise, np.nan, np.sqrt(scale)),
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


def two_lines_test(batch: CurveBatch, quadratic: ModelFit, noise: tuple, settings: Settings) -> TestResult:
    """Simonsohn's (2018) two-lines test of a U or inverted U.

    The break is set at the observed interior scale nearest the quadratic's
    vertex (the quadratic only locates it; its curvature is never the test).
    A separate line is fitted on each side, the break point belonging to
    both, so neither line is bent by the other's shape. A U needs the low
    slope < 0 and the high slope > 0, each significant one-sided (p = the
    larger of the two); an inverted U the reverse. The quadratic's sign picks
    which. The noise level is the curve's (`noise_scale`): the lines' own
    residuals would count the curvature within each side as noise.
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
    scale, dof_t = noise
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
def _rng(seed: int, key: str, purpose: int) -> np.random.Generator:
    """A stream per curve: its replicates do not depend on the other curves."""
    return np.random.default_rng([seed, zlib.crc32(key.encode()), purpose])


def _draw(batch: CurveBatch, mean: np.ndarray, sd: np.ndarray, reps: int,
          keys: list[str], settings: Settings, purpose: int, start: int) -> CurveBatch:
    """`reps` parametric replicates per curve, replicates start..start+reps of each stream."""
    C, N = batch.x.shape
    eps = np.empty((C, reps, N))
    for i, key in enumerate(keys):
        g = _rng(settings.seed, key, purpose)
        if start:
            g.standard_normal((start, N))  # skip replicates already used
        eps[i] = g.standard_normal((reps, N))
    rep = batch.repeat(reps)
    y = (mean[:, None, :] + sd[:, None, :] * eps).reshape(C * reps, N)
    return rep.with_y(y)


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


def _lr_stat(rss0, rss1, n, n_free1, known, settings):
    """Likelihood-ratio (F-type) statistic of sigmoid vs best smooth fit.

    The drop in weighted RSS divided by the noise variance of the sigmoid
    fit, the larger model, as in an F test (overdispersion for known noise,
    residual variance floored at noise_floor² otherwise): wiggles smaller
    than the noise floor cannot make a curve look emergent. It falls as rss1
    grows (the scale grows, the drop shrinks): `_replicate_stat` relies on it.
    """
    scale, _ = dispersion(rss1, n - n_free1, known, settings)
    scale = usable_scale(scale, known, settings)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (rss0 - rss1) / scale


def _replicate_stat(rep: CurveBatch, reps: int, n_free1: np.ndarray, t_obs: np.ndarray,
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
        return _lr_stat(rss0[rows], rss1, rep.n[rows], n_free1[rows], rep.known_noise[rows], settings)

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
    p0 = sigmoid_starts(sub, replicates=R)
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


def null_model(fits: dict[str, ModelFit]) -> np.ndarray:
    """Which smooth model is the null per curve: the lowest AICc, the first of `SMOOTH` on ties."""
    return np.array(SMOOTH)[np.argmin(np.column_stack([fits[m].aicc for m in SMOOTH]), axis=1)]


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


def emergence_test(batch: CurveBatch, fits: dict[str, ModelFit], keys: list[str],
                   eligible: np.ndarray, settings: Settings, extend: np.ndarray | None = None,
                   stop_after: int = 10) -> TestResult:
    """Parametric bootstrap of the likelihood ratio, sigmoid vs best smooth model.

    H0: the curve follows the best smooth model (by AICc) with the estimated
    noise. Replicates are drawn from that fit and refitted with every model.
    Monte-Carlo effort is sequential (Besag & Clifford 1991): a curve stops at
    its `stop_after`-th exceedance T* ≥ T, after l replicates, with p = h/l;
    a curve that never gets there has p = (1 + #{T* ≥ T}) / (1 + n) after the
    n = `bootstrap` replicates, or, for curves in `extend` (those whose point
    fit meets the emergence effect criteria), up to `bootstrap_max`, so that
    their p-values are fine enough to survive FDR across the run. Both are
    valid p-values; replicates are drawn in rounds (`monte_carlo_looks`) and
    those after the stopping one are discarded.
    """
    C, N = batch.x.shape
    rss0 = _smooth_rss(fits)
    rss1 = fits["sigmoid"].rss
    n = batch.n
    n_free1 = fits["sigmoid"].n_free
    t_obs = _lr_stat(rss0, rss1, n, n_free1, batch.known_noise, settings)
    null = null_model(fits)
    mu = np.select([null[:, None] == m for m in SMOOTH], [fits[m].predict(batch.x) for m in SMOOTH])
    sd = point_sd(batch, noise_scale(batch, fits, settings, line_below_dof=1)[0], settings)

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
        rep = _draw(sub, mu[todo], sd[todo], reps, [keys[i] for i in todo], settings, 1, start)
        t_star = _replicate_stat(rep, reps, np.repeat(n_free1[todo], reps), np.repeat(t_obs[todo], reps),
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
    return TestResult((EMERGENCE,), pd.DataFrame({
        "lr_stat": np.where(eligible, t_obs, np.nan), "p_emergence": p,
        "bootstrap_replicates": done.astype(int), "null_model": null}))


@dataclass(frozen=True)
class Criterion:
    """One effect criterion of the emergent label: the column it reads, when it holds,
    and what its failure says. The same table decides (`emergence_effect`) and
    explains (`failed_criteria`)."""

    column: str
    holds: Callable[[np.ndarray, Settings], np.ndarray]
    failure: Callable[[object, Settings], str]


EMERGENCE_CRITERIA = (
    Criterion("x0_inside", lambda v, s: np.asarray(v).astype(bool), lambda r, s: "x0 outside the data"),
    Criterion("rise_share", lambda v, s: np.asarray(v, float) >= s.min_rise_share,
              lambda r, s: f"rise only {r.rise_share:.0%} of headroom"),
    Criterion("transition_decades", lambda v, s: np.asarray(v, float) <= s.max_transition_decades,
              lambda r, s: f"transition {r.transition_decades:.2g} decades wide"),
    Criterion("chance_before", lambda v, s: np.asarray(v, object) == True,  # noqa: E712 (nan: unknown)
              lambda r, s: "smaller models already above chance"),
)


def failed_criteria(row, settings: Settings) -> list[str]:
    """What a curve's effect falls short of, criterion by criterion."""
    return [c.failure(row, settings) for c in EMERGENCE_CRITERIA
            if not c.holds(np.asarray([getattr(row, c.column)], object), settings)[0]]


def emergence_effect(batch: CurveBatch, sigmoid: ModelFit, disp: np.ndarray,
                     settings: Settings) -> pd.DataFrame:
    """The effect criteria's measures (`EMERGENCE_CRITERIA`) and whether all hold."""
    c, h, k, x0 = sigmoid.params.T
    mask = batch.mask
    xmin, xmax = batch.x_min, batch.x_max
    fitted = sigmoid.predict(np.column_stack([xmin, xmax]))
    headroom = 1.0 - c
    with np.errstate(divide="ignore", invalid="ignore"):
        rise_share = (fitted[:, 1] - fitted[:, 0]) / headroom
    floor = np.where(np.isfinite(batch.chance), batch.chance, c)
    sd = point_sd(batch, disp, settings)
    tol = np.maximum(settings.chance_tolerance, 2 * sd)
    # "before the transition": below the 10 % point of the rise, x0 − ln(9)/k
    below = mask & (batch.x < (x0 - np.log(9.0) / k)[:, None])
    near = (batch.y - floor[:, None]) <= tol
    chance_ok = (below.sum(1) > 0) & np.where(below, near, True).all(1)
    # Without a chance level the fitted floor stands in for it, and a jump from
    # a floor of 0 to 50 % on a two-way task (a formatting effect) would pass.
    known = np.isfinite(batch.chance) | (not settings.require_chance)
    effect = pd.DataFrame({
        "x0_inside": (x0 >= xmin) & (x0 <= xmax),
        "rise_share": rise_share,
        "transition_decades": transition_width(k),
        "chance_before": np.where(known, chance_ok & known, np.nan).astype(object),
    })
    effect["effect_ok"] = np.logical_and.reduce([c.holds(effect[c.column].to_numpy(), settings)
                                                 for c in EMERGENCE_CRITERIA])
    return effect


def emergence_interval(batch: CurveBatch, sigmoid: ModelFit, disp: np.ndarray,
                       keys: list[str], which: np.ndarray, settings: Settings,
                       level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of x0 from a parametric bootstrap of the sigmoid fit.

    The replicates are drawn from the fitted sigmoid with the curve's noise.
    """
    C = len(batch)
    low = np.full(C, np.nan); high = np.full(C, np.nan)
    idx = np.flatnonzero(which)
    if len(idx) == 0 or settings.bootstrap < 1:
        return low, high
    sub = batch.take(idx)
    sd = point_sd(sub, disp[idx], settings)
    mu = sigmoid.predict(batch.x)[idx]
    B = settings.bootstrap
    rep = _draw(sub, mu, sd, B, [keys[i] for i in idx], settings, 2, 0)
    # one start, the grid's best cell: a second changed x0 in 0.16 % of the Pythia
    # replicates and the endpoints by at most 0.0008 decades, at twice the cost
    x0 = fit_sigmoid(rep, starts=1, replicates=B).params[:, 3].reshape(len(idx), B)
    a = (1 - level) / 2
    low[idx], high[idx] = np.nanquantile(x0, [a, 1 - a], axis=1)
    return low, high


# ---------------------------------------------------------------- run-wide
P_COLUMNS = tuple(t.p_column for t in (EMERGENCE, RISE, DECLINE, TWO_LINES))


def add_q_values(curves: pd.DataFrame) -> pd.DataFrame:
    """Benjamini-Hochberg q-values across every curve of the run, per test."""
    # imported here: statsmodels costs about a second to import, and only the
    # run-wide step needs it (not the per-dataset jobs)
    from statsmodels.stats.multitest import multipletests
    out = curves.copy()
    for col in P_COLUMNS:
        q = np.full(len(out), np.nan)
        p = out[col].to_numpy(float)
        ok = np.isfinite(p)
        if ok.any():
            q[ok] = multipletests(p[ok], method="fdr_bh")[1]
        out["q" + col[1:]] = q
    return out

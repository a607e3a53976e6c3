"""Tests behind the labels (METHODS.md section 4), vectorised over curves.

Every test reads the curve's noise from `noise.Noise`: sampling noise plus
the scatter between the family's models, estimated once per family
(`noise.estimate_noise`), with t distributions on the pooled residual dof.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

from .curves import CurveBatch
from .fitting import (
    POINT_FIT_STARTS,
    ModelFit,
    fit_model,
    fit_sigmoid,
    monotone_rss,
    polish_sigmoid,
    sigmoid_objective,
    sigmoid_starts,
)
from .models import transition_width, with_role
from .noise import Noise, draw
from .settings import Settings

#: the smooth null of the emergence test, cheapest first (the first bounds the rest from above)
SMOOTH = with_role("smooth")


# ---------------------------------------------------------------- results
#: what the tests assume about the noise (METHODS.md section 2)
NOISE_ASSUMPTION = ("sampling error plus the scatter between the family's models (t); "
                    "unknown noise: the curve's residual variance (t)")


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
EMERGENCE = Test("parametric-bootstrap likelihood ratio, sigmoid vs best smooth model",
                 "a smooth model: loglinear, power or accelerating", "p_emergence",
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


# ---------------------------------------------------------------- trend
def trend_test(batch: CurveBatch, loglinear: ModelFit, noise: Noise, settings: Settings) -> TestResult:
    """The weighted log-linear slope, tested two-sided (`p_trend`, the sign read from the slope).

    p_rise (H0: slope ≤ 0) and p_decline (H0: slope ≥ 0) are its two halves,
    kept for reference. The slope is the average trend across the range; its
    error uses the curve's noise (`noise.Noise`). `change` is the fitted change
    across the observed range with its 95 % interval.
    """
    w, x = batch.w, batch.x
    xbar = (w * x).sum(1) / w.sum(1)
    sxx = (w * np.where(batch.mask, x - xbar[:, None], 0) ** 2).sum(1)
    scale, dof_t = noise.tests
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(scale / sxx)
        t = loglinear.params[:, 1] / se
    span = batch.x_max - batch.x_min
    change = loglinear.params[:, 1] * span
    half = _crit(dof_t) * se * span
    p_rise, p_decline = _sf(t, dof_t), _sf(-t, dof_t)
    return TestResult((TREND,), pd.DataFrame({
        "slope": loglinear.params[:, 1], "slope_se": se,
        "p_trend": np.minimum(1.0, 2 * np.fmin(p_rise, p_decline)), "p_rise": p_rise, "p_decline": p_decline,
        "change": change, "change_low": change - half, "change_high": change + half,
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


#: one-sided 95 % normal quantile: "clearly above" the floor's tolerance band
_Z95 = 1.6448536269514722


def onset_bracket(batch: CurveBatch, noise: Noise, settings: Settings) -> pd.DataFrame:
    """Where a curve leaves its floor, as the data support it ("absent, then present").

    A model is at the floor when its score is not significantly above floor +
    `chance_tolerance` (one-sided 95 %, with the point's sd: sampling error and
    the family's scatter), and clearly above it when it is. The curve shows
    the pattern when its smallest models are at the floor and every larger
    one is clearly above; the bracket is then [last model at the floor, first
    above], in units of the x axis, and `onset_present` counts the models
    above ("rests on one model" when 1). Descriptive: the emergent label does
    not read it yet (issue 12).
    """
    C, N = batch.x.shape
    floor = np.where(np.isfinite(batch.chance), batch.chance, np.nan)
    excess = (batch.y - floor[:, None] - settings.chance_tolerance) / np.maximum(noise.point_sd(), 1e-12)
    above = batch.mask & (excess > _Z95)
    at_floor = batch.mask & ~above
    # the leading run of models at the floor (points are sorted by scale), then the rest
    absent = np.cumprod(at_floor | ~batch.mask, axis=1).astype(bool) & batch.mask
    n_absent = absent.sum(1)
    present = batch.mask & ~absent
    pattern = (np.isfinite(floor) & (n_absent >= 1) & (present.sum(1) >= 1)
               & np.where(present, above, True).all(1))
    last_absent = np.where(absent, batch.x, -np.inf).max(1)
    first_present = np.where(present, batch.x, np.inf).min(1)
    nan = np.full(C, np.nan)
    return pd.DataFrame({
        "onset_pattern": pattern,
        "onset_low": np.where(pattern, 10.0 ** last_absent, nan),
        "onset_high": np.where(pattern, 10.0 ** first_present, nan),
        "onset_present": np.where(pattern, present.sum(1), 0),
    })


def emergence_assessable(bounded: np.ndarray, chance: np.ndarray, settings: Settings) -> np.ndarray:
    """Where emergence could be called at all: a bounded metric, with a chance
    level unless `require_chance` is off. Elsewhere it is not tested."""
    return np.asarray(bounded, bool) & (np.isfinite(chance) | (not settings.require_chance))


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


def emergence_test(batch: CurveBatch, fits: dict[str, ModelFit], noise: Noise, keys: list[str],
                   eligible: np.ndarray, settings: Settings, extend: np.ndarray | None = None,
                   stop_after: int = 10) -> TestResult:
    """Parametric bootstrap of the likelihood ratio, sigmoid vs best smooth model.

    H0: the curve follows a smooth model with the curve's noise (`noise`:
    sampling error plus the family's scatter). Replicates are drawn from the
    smooth fit whose objective enters the statistic (`null_model`), as the
    scores are made (`noise.draw`: binomial counts where item counts are
    known), and refitted with the same effort as the observed curve.
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
    dof1 = batch.n - fits["sigmoid"].n_free
    t_obs = _lr_stat(_smooth_rss(fits), fits["sigmoid"].rss, dof1, batch.known_noise, settings)
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


def emergence_effect(batch: CurveBatch, sigmoid: ModelFit, noise: Noise,
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
    sd = noise.point_sd()
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


def emergence_interval(batch: CurveBatch, sigmoid: ModelFit, noise: Noise,
                       keys: list[str], which: np.ndarray, settings: Settings,
                       level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of x0 from a parametric bootstrap of the sigmoid fit.

    The replicates are drawn from the fitted sigmoid with the curve's noise (`noise.draw`).
    """
    C = len(batch)
    low = np.full(C, np.nan); high = np.full(C, np.nan)
    idx = np.flatnonzero(which)
    if len(idx) == 0 or settings.bootstrap < 1:
        return low, high
    sub = batch.take(idx)
    mu = sigmoid.predict(batch.x)[idx]
    B = settings.bootstrap
    rep = draw(sub, noise.take(idx), mu, B, [keys[i] for i in idx], settings.seed, 2, 0)
    # one start, the grid's best cell: a second changed x0 in 0.16 % of the Pythia
    # replicates and the endpoints by at most 0.0008 decades, at twice the cost
    x0 = fit_sigmoid(rep, starts=1, replicates=B).params[:, 3].reshape(len(idx), B)
    a = (1 - level) / 2
    low[idx], high[idx] = np.nanquantile(x0, [a, 1 - a], axis=1)
    return low, high


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


def two_level_q(p: np.ndarray, group: np.ndarray) -> np.ndarray:
    """q-values of the two-level Benjamini-Hochberg procedure, families as groups.

    Curves of one family share their models, so their tests are dependent;
    families are not. Level 1 selects families by BH over each family's
    Simes p-value; level 2 runs BH within each selected family at α·R/G (R of
    G families selected), which controls the FDR over curves (Benjamini &
    Bogomolov 2014) with dependence inside a family. A curve's q is the
    smallest α at which it is rejected (found by bisection: rejection is
    monotone in α).
    """
    from statsmodels.stats.multitest import multipletests
    q = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if not ok.any():
        return q
    codes = np.unique(np.asarray(group)[ok], return_inverse=True)[1]
    pp = p[ok]
    within = np.empty(len(pp))
    for g in range(codes.max() + 1):
        sel = codes == g
        within[sel] = multipletests(pp[sel], method="fdr_bh")[1]
    simes = np.full(codes.max() + 1, np.inf)
    np.minimum.at(simes, codes, within)
    q_group = multipletests(simes, method="fdr_bh")[1]
    ordered, G = np.sort(q_group), len(q_group)
    lo, hi = np.zeros(len(pp)), np.ones(len(pp))
    for _ in range(60):
        mid = (lo + hi) / 2
        R = np.searchsorted(ordered, mid, side="right")
        rejected = (q_group[codes] <= mid) & (within <= mid * R / G)
        hi, lo = np.where(rejected, mid, hi), np.where(rejected, lo, mid)
    q[ok] = hi
    return q


def add_q_values(curves: pd.DataFrame, preference: tuple[str, ...]) -> pd.DataFrame:
    """q-values across the run, per test: two-level BH with families as groups.

    Headline curves (`headline`) form the families that carry the claims;
    the other metrics' curves get q-values within a family of their own
    (sensitivity). A curve's q, and so its label, depends on the other
    curves of the run; its p does not.
    """
    out = curves.copy()
    out["headline"] = headline(out, preference)
    group = (out["dataset"].astype(str) + "\x1f" + out["family"].astype(str)).to_numpy()
    for col in P_COLUMNS:
        q = np.full(len(out), np.nan)
        p = out[col].to_numpy(float)
        for part in (out["headline"].to_numpy(bool), ~out["headline"].to_numpy(bool)):
            q[part] = two_level_q(p[part], group[part])
        out["q" + col[1:]] = q
    return out

"""The emergence test (METHODS.md 4.3): absent, then present, and not predictable from the smaller
models; the attributes it reports (the bracket, sharpness, leaving one model out)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..curves import CurveBatch
from ..engine import ModelFit, fit_generic
from ..models import get
from ..noise import Noise
from ..settings import Settings
from .common import Test, TestResult, _estimated_share, _satterthwaite, _segment, _sf
from .sharp_rise import SHARP_MODEL

EMERGENCE = Test("absent, then present: intersection-union of the floor's equivalence tests, the rise's "
                 "tests and the jump test (Berger 1982: p is the largest of their p-values)",
                 "the smallest models are not at the floor, or a larger one is not clearly above it, or the "
                 "first model above it is no higher than the smaller models' trend predicts", "p_emergence")


def emergence_assessable(bounded: np.ndarray, chance: np.ndarray, settings: Settings) -> np.ndarray:
    """Where emergence could be called at all: a bounded metric, with a chance level or, without one,
    unless `floor_without_chance` is "none". Elsewhere it is not tested."""
    return np.asarray(bounded, bool) & (np.isfinite(chance) | (settings.floor_without_chance != "none"))


def emergence_floor(batch: CurveBatch, settings: Settings) -> np.ndarray:
    """The floor a curve emerges from: its chance level (a `chance` of 0 for exact match); without one,
    the scale's bottom (an ability absent as a score of 0: the floor of every generation task, and one a
    multiple-choice task's models, at their chance, are never at), or, if asked, the curve's lowest
    score."""
    unknown = {"bottom": np.zeros(len(batch)), "lowest": np.where(batch.mask, batch.y, np.inf).min(1),
               "none": np.full(len(batch), np.nan)}[settings.floor_without_chance]
    return np.where(np.isfinite(batch.chance), batch.chance, unknown)


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


def _steep_law(batch: CurveBatch, smaller: np.ndarray, target: np.ndarray, floor: np.ndarray,
               sd: np.ndarray, margin: float) -> np.ndarray:
    """The target model against every accelerating law from the floor that the smaller models allow
    (the "mirage" reading, Schaeffer et al. 2023): the signed root of the likelihood ratio of the law
    fitted with the target (less the jump margin) to the law fitted without it, profiled over β in
    [0.02, `ACCELERATING_MAX`] and A ≥ 0. Positive where the target lies above every such law.

    Unlike the jump test's fitted law, it needs no detectable rise among the smaller models: models
    at the floor within their noise, or a long gap before the target, leave the steepest law open,
    while a gentle rise or precise zeros rule it out. Reported beside the label (`steep_law`), not
    part of it: as the jump test's null it overrules the chain-of-thought paper on most of its
    emergent curves (docs/METHODS.md 4.3, 7.3)."""
    rows = np.arange(len(batch))
    xt = batch.x[rows, target]
    w = np.where(smaller, 1.0 / sd ** 2, 0.0)
    e = np.where(smaller, batch.y - floor[:, None], 0.0)
    dx = np.where(smaller, batch.x - xt[:, None], 0.0)
    wt = (1.0 / sd[rows, target] ** 2)[:, None]
    et = (batch.y[rows, target] - margin - floor)[:, None]
    swee = (w * e * e).sum(1)[:, None]

    def rss(beta: np.ndarray, with_target: bool) -> tuple[np.ndarray, np.ndarray]:
        """(rss, Â) per curve and β (C, B): A in closed form (g = 1 at the target)."""
        g = 10.0 ** (beta[:, :, None] * dx[:, None, :])
        swgg, swge = (w[:, None, :] * g * g).sum(2), (w[:, None, :] * g * e[:, None, :]).sum(2)
        a = np.maximum((swge + wt * et) / (swgg + wt) if with_target else swge / swgg, 0.0)
        r = swee - 2 * a * swge + a ** 2 * swgg + (wt * (et - a) ** 2 if with_target else 0.0)
        return np.where(np.isfinite(r), r, np.inf), a

    def profile(with_target: bool) -> tuple[np.ndarray, np.ndarray]:
        """The least rss over β: the grid, then a finer grid between the best point's neighbours."""
        r, _ = rss(np.broadcast_to(_BETAS, (len(rows), len(_BETAS))), with_target)
        b = np.argmin(r, axis=1)
        lo, hi = _BETAS[np.maximum(b - 1, 0)], _BETAS[np.minimum(b + 1, len(_BETAS) - 1)]
        beta = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, 25)[None, :]
        r, a = rss(beta, with_target)
        best = np.argmin(r, axis=1)
        return r[rows, best], a[rows, best]

    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        without, _ = profile(False)
        within, a = profile(True)
        sign = np.where(et[:, 0] > a, 1.0, -1.0)
        return sign * np.sqrt(np.maximum(within - without, 0.0))


@dataclass(frozen=True)
class _Runs:
    """A curve's points against floor + δ, the line the floor and the rise are judged by: the leading
    run at or below it, the trailing run above it, each point's sd and one-sided p of being above it."""

    floor: np.ndarray
    line: np.ndarray
    sd: np.ndarray
    estimated: np.ndarray          # the share of each point's variance that was estimated
    lead: np.ndarray
    trail: np.ndarray
    p_above: np.ndarray
    scales_before: np.ndarray      # distinct scales among the first k points: a floor "trend" needs two

    @property
    def n_lead(self) -> np.ndarray:
        return self.lead.sum(1)

    @property
    def n_trail(self) -> np.ndarray:
        return self.trail.sum(1)

    @classmethod
    def of(cls, batch: CurveBatch, noise: Noise, settings: Settings) -> _Runs:
        floor = emergence_floor(batch, settings)
        line = floor + settings.chance_tolerance
        sd = np.maximum(noise.point_sd(), 1e-12)
        estimated = _estimated_share(batch, noise)
        mask = batch.mask
        with np.errstate(invalid="ignore"):
            z = (batch.y - line[:, None]) / sd
            below = batch.y <= line[:, None]
        # points sorted by scale, padding last
        lead = np.cumprod(below | ~mask, axis=1).astype(bool) & mask
        trail = np.flip(np.cumprod(np.flip(~below | ~mask, 1), axis=1), 1).astype(bool) & mask
        p_above = np.where(mask, _sf(z, _satterthwaite(noise.dof[:, None], estimated)), -np.inf)
        step = np.concatenate([np.ones((len(batch), 1), bool), np.diff(batch.x, axis=1) > 0], axis=1) & mask
        return cls(floor, line, sd, estimated, lead, trail, p_above, np.cumsum(step, axis=1))


def _smooth_extrapolations(batch: CurveBatch, runs: _Runs, dof: np.ndarray, settings: Settings) -> dict:
    """Per count m of largest models tested, the smooth extrapolations of every model below the first
    of them: (the accelerating law's prediction, its variance, the smaller models' line). The law is
    used where those smaller models rise detectably (one-sided slope test at alpha): where they show
    no rise of their own, its fitted β follows their noise, so there is no accelerating null
    (`accelerating_null: fitted`), or the steepest law the null allows (`steepest`)."""
    N = batch.x.shape[1]
    idx = np.arange(N)[None, :]
    out = {}
    for m in range(1, N - settings.min_floor_models + 1):
        first = np.clip(batch.n - m, 0, N - 1)
        smaller = batch.mask & (idx < first[:, None])
        accel, v_accel, steep, v_steep = _accelerating_prediction(batch, smaller, first, runs.floor, runs.sd)
        below = _FloorLine.fit(batch, smaller, runs.sd, runs.estimated)
        with np.errstate(divide="ignore", invalid="ignore"):
            rising = _sf(below.slope * np.sqrt(below.sxx), _satterthwaite(dof, below.share)) <= settings.alpha
        z_steep = _steep_law(batch, smaller, first, runs.floor, runs.sd, settings.jump_margin)
        if settings.accelerating_null == "steepest":
            out[m] = np.where(rising, accel, steep), np.where(rising, v_accel, v_steep), below, z_steep
        else:
            out[m] = np.where(rising, accel, -np.inf), v_accel, below, z_steep
    return out


def _floor_equivalence(fl: _FloorLine, runs: _Runs, dof: np.ndarray, settings: Settings) -> np.ndarray:
    """Two one-sided tests (TOST): the floor models' mean within floor ± δ. Scores clearly below the
    written chance mean the chance or the data are wrong, not a floor (issue 21, D5)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        floor_dof = _satterthwaite(dof, fl.share)
        return np.fmax(_sf((runs.line - fl.ybar) * np.sqrt(fl.sw), floor_dof),
                       _sf((fl.ybar - (runs.floor - settings.chance_tolerance)) * np.sqrt(fl.sw), floor_dof))


def _jump(batch: CurveBatch, runs: _Runs, fl: _FloorLine, first: np.ndarray, extrapolations: tuple,
          dof: np.ndarray, settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first tested model against every smooth extrapolation of the smaller models (the one on the
    way up too): its excess over the highest, the largest of the one-sided p-values, and the p of the
    steepest law the smaller models allow (`_steep_law`, reported, not tested)."""
    rows = np.arange(len(batch))
    accel, v_accel, smaller, z_steep = extrapolations
    trend, v_line = smaller.at(batch.x[rows, first], rising_only=True)
    v_first = runs.sd[rows, first] ** 2
    est_first = runs.estimated[rows, first]
    v_est = v_line * smaller.share + v_first * est_first
    y = batch.y[rows, first]
    with np.errstate(divide="ignore", invalid="ignore"):
        share_accel = (v_accel * fl.share + v_first * est_first) / (v_accel + v_first)
        p = np.fmax(
            _sf((y - trend - settings.jump_margin) / np.sqrt(v_line + v_first),
                _satterthwaite(dof, v_est / (v_line + v_first))),
            _sf((y - accel - settings.jump_margin) / np.sqrt(v_accel + v_first), _satterthwaite(dof, share_accel)))
        p_steep = _sf(z_steep, _satterthwaite(dof, np.where(np.isfinite(share_accel), share_accel, est_first)))
        return y - np.fmax(trend, accel), p, p_steep


def _best_split(batch: CurveBatch, runs: _Runs, assessable: np.ndarray, dof: np.ndarray,
                settings: Settings) -> dict[str, np.ndarray]:
    """Of the splits (k floor models, at most `MAX_TRANSITION` on the way up, the m largest above) the
    data allow, the one whose intersection-union p is smallest, with its parts."""
    C, N = batch.x.shape
    n, mask = batch.n, batch.mask
    idx = np.arange(N)[None, :]
    n_lead, n_trail = runs.n_lead, runs.n_trail
    best = {key: np.full(C, np.nan) for key in ("p", "p_floor", "p_present", "p_jump", "p_steep", "jump", "jump_x",
                                                "k", "m")}
    extrapolations = _smooth_extrapolations(batch, runs, dof, settings)
    for k in range(settings.min_floor_models, N):
        fl = _FloorLine.fit(batch, idx < k, runs.sd, runs.estimated)
        p_floor = _floor_equivalence(fl, runs, dof, settings)
        for m in range(1, N - k + 1):
            ok = (assessable & (k <= n_lead) & (m <= n_trail) & (n - k - m <= MAX_TRANSITION) & (k + m <= n)
                  & (runs.scales_before[:, k - 1] >= settings.min_floor_models))
            if not ok.any():
                continue
            first = np.clip(n - m, 0, N - 1)
            p_present = np.where((idx >= (n - m)[:, None]) & mask, runs.p_above, -np.inf).max(1)
            jump, p_jump, p_steep = _jump(batch, runs, fl, first, extrapolations[m], dof, settings)
            # np.maximum, not fmax: a test that could not be computed fails the claim
            p = np.maximum.reduce([p_floor, p_present, p_jump])
            better = ok & np.isfinite(p) & ~(p >= best["p"])
            for key, value in (("p", p), ("p_floor", p_floor), ("p_present", p_present), ("p_jump", p_jump),
                               ("p_steep", p_steep), ("jump", jump), ("jump_x", batch.x[np.arange(C), first]),
                               ("k", k), ("m", m)):
                best[key] = np.where(better, value, best[key])
    return best


def _below_chance(batch: CurveBatch, runs: _Runs, assessable: np.ndarray, dof: np.ndarray,
                  settings: Settings) -> np.ndarray:
    """Scores clearly below the written floor: the chance column or the data are wrong (a warning, and
    no emergence)."""
    lead_line = _FloorLine.fit(batch, runs.lead, runs.sd, runs.estimated)
    with np.errstate(divide="ignore", invalid="ignore"):
        return assessable & (runs.n_lead >= 1) & (_sf(
            ((runs.floor - settings.chance_tolerance) - lead_line.ybar) * np.sqrt(lead_line.sw),
            _satterthwaite(dof, lead_line.share)) <= settings.alpha)


def _bracket(batch: CurveBatch, runs: _Runs, best: dict, settings: Settings) -> dict[str, np.ndarray]:
    """The bracket, a description of the data whatever the split: from the last model of the leading
    run within δ of the floor to the first model from which every larger one is clearly above it on
    its own (one-sided, at alpha; where none is, the first of the test's largest models); inside it,
    the first crossing of floor + δ by the straight lines between its models."""
    C, N = batch.x.shape
    rows, idx, mask = np.arange(C), np.arange(N)[None, :], batch.mask
    tested = np.isfinite(best["p"])
    last_floor = np.maximum(runs.n_lead - 1, 0)
    clear = np.flip(np.cumprod(np.flip((runs.p_above <= settings.alpha) | ~mask, 1), axis=1), 1).astype(bool)
    clear &= mask & (idx >= runs.n_lead[:, None])
    first_clear = np.where(clear.any(1), np.argmax(clear, axis=1), N)
    first = np.clip(np.where(tested, np.minimum(first_clear, batch.n - np.nan_to_num(best["m"], nan=1)), 1),
                    1, N - 1).astype(int)
    x_low, x_high = batch.x[rows, last_floor], batch.x[rows, first]
    crossing = np.full(C, np.nan)
    for j in range(N - 1, 0, -1):
        inside = tested & (j > last_floor) & (j <= first)
        y0, y1 = batch.y[:, j - 1], batch.y[:, j]
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.clip((runs.line - y0) / (y1 - y0), 0.0, 1.0)
        crosses = inside & (y0 <= runs.line) & (y1 > runs.line)
        crossing = np.where(crosses, batch.x[:, j - 1] + share * (batch.x[:, j] - batch.x[:, j - 1]), crossing)
    crossing = np.where(tested & np.isnan(crossing), (x_low + x_high) / 2, crossing)
    nan = np.full(C, np.nan)
    return {"onset_present": np.where(tested & (first_clear < N), batch.n - first_clear, 0).astype(int),
            "onset_low": np.where(tested, 10.0 ** x_low, nan), "onset_high": np.where(tested, 10.0 ** x_high, nan),
            "onset_scale": np.where(tested, 10.0 ** crossing, nan)}


def _why_untested(batch: CurveBatch, runs: _Runs, assessable: np.ndarray, tested: np.ndarray,
                  settings: Settings) -> np.ndarray:
    """Why the test could not run, where it could not (blank where it ran)."""
    n_lead, n_trail = runs.n_lead, runs.n_trail
    gap = batch.n - n_lead - n_trail
    untested = np.select(
        [~assessable, n_lead < settings.min_floor_models,
         runs.scales_before[np.arange(len(batch)), np.maximum(n_lead - 1, 0)] < settings.min_floor_models,
         n_trail == 0, gap > MAX_TRANSITION, ~tested],
        ["not assessed", "no flat start", "floor models at one scale", "never above the floor",
         "gradual: more models on the way up than allowed", "not computable"], "")
    return np.where(tested, "", untested)


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
    runs = _Runs.of(batch, noise, settings)
    assessable = eligible & np.isfinite(runs.floor)
    best = _best_split(batch, runs, assessable, noise.dof, settings)
    tested = np.isfinite(best["p"])
    bracket = _bracket(batch, runs, best, settings)
    nan = np.full(len(batch), np.nan)
    return TestResult((EMERGENCE,), pd.DataFrame({
        "onset_floor": np.where(tested, best["k"], 0).astype(int),
        "onset_present": bracket["onset_present"],
        "onset_low": bracket["onset_low"], "onset_high": bracket["onset_high"],
        "onset_scale": bracket["onset_scale"],
        "onset_untested": _why_untested(batch, runs, assessable, tested, settings),
        "p_floor": best["p_floor"], "p_present": best["p_present"], "jump": best["jump"],
        "jump_scale": np.where(tested, 10.0 ** best["jump_x"], nan), "p_jump": best["p_jump"],
        "p_steep_law": best["p_steep"],
        "p_emergence": best["p"], "below_chance": _below_chance(batch, runs, assessable, noise.dof, settings),
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


WIDTH = Test("likelihood ratio of the sigmoid with its 10-90 % width held at max_transition_decades against the "
             "free sigmoid, half the two-sided tail on the boundary (Self & Liang 1987)",
             "the rise spans at most max_transition_decades", "p_wide")


def width_test(batch: CurveBatch, sigmoid: ModelFit, noise: Noise, which: np.ndarray,
               settings: Settings) -> TestResult:
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
        return TestResult((WIDTH,), pd.DataFrame({"p_wide": p_wide}))
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
    return TestResult((WIDTH,), pd.DataFrame({"p_wide": p_wide}))

"""Descriptive tests of a curve's shape against the smooth models (METHODS.md 4.5): the sharpness
bootstrap (sigmoid vs the best smooth model, `p_sharp`) and the smooth fit's goodness of fit."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import special

from ..curves import CurveBatch
from ..engine import ModelFit, monotone_rss
from ..fitting import fit_model
from ..models import cheapest, with_role
from ..models.sigmoid import POINT_FIT_STARTS, polish_sigmoid, sigmoid_objective, sigmoid_starts
from ..noise import Noise, draw
from ..settings import Settings
from .common import Test, TestResult

SHARP_MODEL = cheapest("sharp")


#: the smooth models, the sharpness test's null, cheapest first (the first bounds the rest from above)
SMOOTH = with_role("smooth")


SHARP = Test("parametric-bootstrap likelihood ratio, sigmoid vs best smooth model",
             "a smooth model: loglinear, power or accelerating", "p_sharp",
             "replicates drawn around the smooth fit as scores are made: binomial counts of each model's "
             "score moved by the family's scatter, or Gaussian, clipped to [0, 1]; unknown noise: the smooth "
             "fit's residual variance")


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


SMOOTH_FIT = Test("chi-square goodness of fit of the closest smooth model (its weighted RSS on its residual dof)",
                  "the curve follows its closest smooth model, with the curve's noise", "p_smooth_fit")


def smooth_fit_test(batch: CurveBatch, fits: dict[str, ModelFit], noise: Noise) -> TestResult:
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
    return TestResult((SMOOTH_FIT,), pd.DataFrame({"p_smooth_fit": np.where(ok, p, np.nan)}))


def null_model(fits: dict[str, ModelFit]) -> np.ndarray:
    """The smooth model whose objective enters the statistic (the closer fit; the first of
    `SMOOTH` on ties): the null that the replicates are drawn from."""
    rss = np.column_stack([np.where(np.isfinite(fits[m].rss), fits[m].rss, np.inf) for m in SMOOTH])
    return np.array(SMOOTH)[np.argmin(rss, axis=1)]


def monte_carlo_looks(settings: Settings, first: int = 50) -> list[int]:
    """When the sequential test looks at its exceedances (replicates so far): doubling from `first` up to
    `bootstrap`."""
    B = settings.bootstrap
    looks, t = [], first
    while t < B:
        looks.append(t)
        t *= 2
    return looks + [B]


def sharpness_test(batch: CurveBatch, fits: dict[str, ModelFit], noise: Noise, keys: list[str],
                   eligible: np.ndarray, settings: Settings, stop_after: int = 10) -> TestResult:
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
    n = `bootstrap` replicates. Both are valid p-values; replicates are drawn
    in rounds (`monte_carlo_looks`) and those after the stopping one are
    discarded. `eligible`: the curves whose p_sharp is read (the caller's
    choice; the others get none).
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
    for target in monte_carlo_looks(settings):
        want = active & ~stopped & (done < target)
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

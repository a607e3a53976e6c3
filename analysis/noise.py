"""The noise model every test of a curve assumes (METHODS.md section 2).

Models of one family differ by more than the sampling noise of one test set:
a model is better or worse overall than its size predicts, on every task it
is evaluated on. A score is therefore

    y[m, t] = f_t(x_m) + h(y)·u_m + e[m, t],   u_m ~ N(0, τ²),   e ~ sampling noise,

and the scatter τ² is a property of the family's models, shared by all its
curves. On a bounded metric it is scaled by the shape of a proportion's noise,
h(y)² = 4p̃(1 − p̃) (1 at 50 %, `scatter_shape`), as a beta-binomial's extra
variance is: a model cannot be better or worse than its size predicts on a task
that no model of the family can do at all, so scores pinned at 0 % (or 100 %)
vary by their sampling noise only, and τ is the scatter at 50 %. It is learnt
from the family's own curves (`family_estimates`: robust
Paule–Mandel around each curve's closest reference fit, on the dof of the
family's models) and a reference prior shipped with the project
(`ReferencePrior`, analysis/reference_prior.csv), never from the other
families or datasets of the run: a curve's noise depends on its family and the
prior alone.

* Known noise (stderr or binomial), bounded metrics: each point's variance is
  σᵢ² + τ², τ² the posterior of the prior and the family's estimate (the
  prior alone for a short family; the family's alone where it clearly
  disagrees with the prior). Tests use t with the prior's and the family's dof.
* Unknown noise, bounded metrics: quasi-binomial, a variance ∝ p(1 − p) whose
  scale is the family's pooled residual variance with the residual prior, or
  a lone curve's own with it.
* Raw metrics (perplexity, loss): units differ from curve to curve, so the
  curve's own residuals give its noise, as an overdispersion φ ≥ 1 of a given
  stderr or as a residual variance (`with_own_noise`).
* `scatter: given` (per dataset) says the stderr already includes the scatter
  between models: it is then used as it is.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special

from .curves import CurveBatch, bernoulli_sd, noise_level
from .fitting import fit_model
from .models import cheapest, with_role
from .settings import Settings

#: a curve's own noise is measured around this fit (the model of role "curvature")
REFERENCE = cheapest("curvature")
#: the line (the cheapest smooth model): the fallback noise reference, and the slope test's model
LINE = cheapest("smooth")

#: a curve whose residuals have a chi-square tail probability below this is a misfit, not scatter
MISFIT_P = 1e-3
#: curves a pool needs besides any misfit: a curve's own shape can only be told from scatter
#: against other curves of the same models
MIN_CURVES = 3


@dataclass(frozen=True)
class Noise:
    """Per curve: the noise its tests assume, and where it came from.

    `sd` (C, N) is each point's sd under the model up to `scale`: √(σᵢ² + τ²)
    for known noise (scale 1), 1 for unknown noise (scale = residual variance).
    `dof` is the t distribution's (inf: normal). `scatter` is τ (nan where not
    estimable or not applicable); `scatter_dof` the residual dof it rests on.
    """

    sd: np.ndarray
    scale: np.ndarray
    dof: np.ndarray
    scatter: np.ndarray
    scatter_dof: np.ndarray
    source: np.ndarray
    tau2_ref: np.ndarray

    @property
    def tests(self) -> tuple[np.ndarray, np.ndarray]:
        """(variance scale, t dof), what the slope and two-lines tests read."""
        return self.scale, self.dof

    def point_sd(self) -> np.ndarray:
        """Per-point noise sd (C, N)."""
        return np.sqrt(self.scale)[:, None] * self.sd

    def without_point(self, j: np.ndarray) -> Noise:
        """The noise of `CurveBatch.without_point`: each curve's point j left out."""
        from .curves import drop_column
        return replace(self, sd=drop_column(self.sd, j))

    def take(self, idx) -> Noise:
        return Noise(*(getattr(self, f)[idx] for f in ("sd", "scale", "dof", "scatter", "scatter_dof", "source",
                                                      "tau2_ref")))


def dispersion(rss: np.ndarray, dof: np.ndarray, known: np.ndarray,
               settings: Settings) -> tuple[np.ndarray, np.ndarray]:
    """One curve's own variance scale and t dof from its residuals (raw metrics, and the backtest's
    training fits): φ = max(1, RSS/dof) for known noise once `overdispersion_min_df` allows it,
    RSS/dof floored at `noise_floor`² for unknown noise. dof inf: the normal applies."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = rss / dof
    phi = np.where(dof >= settings.overdispersion_min_df, np.maximum(1.0, ratio), 1.0)
    phi = np.where(np.isfinite(phi), phi, 1.0)
    unknown_var = np.where(dof > 0, np.maximum(ratio, settings.noise_floor ** 2), np.nan)
    scale = np.where(known, phi, unknown_var)
    dof_t = np.where(known & (phi <= 1.0), np.inf, np.where(dof > 0, dof, np.nan))
    return np.where(np.isfinite(scale), scale, np.where(known, 1.0, settings.noise_floor ** 2)), dof_t


def scatter_shape(batch: CurveBatch) -> np.ndarray:
    """h² (C, N): the scatter's variance at each point relative to its variance at 50 % (the shape of
    a proportion's variance, `bernoulli_sd`², on bounded metrics, at the curve's smoothed level,
    `noise_level`; 1 on raw ones)."""
    level = noise_level(batch.x, batch.y, batch.mask)
    return np.where(batch.bounded[:, None], bernoulli_sd(level) ** 2, 1.0)


def _chi2(r2: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Σ r²/var per curve (a zero residual over a zero variance counts 0, any other over zero inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(r2 > 0, r2 / var, 0.0).sum(1)


def _bisect(f, hi: np.ndarray, iters: int = 60) -> np.ndarray:
    """The smallest τ² ≥ 0 with f(τ²) ≤ 0 per group, for f decreasing (0 where f(0) ≤ 0).

    `hi` is doubled until it brackets the root."""
    hi = hi.copy()
    for _ in range(200):
        short = f(hi) > 0
        if not short.any():
            break
        hi = np.where(short, hi * 2, hi)
    lo = np.zeros_like(hi)
    for _ in range(iters):
        mid = (lo + hi) / 2
        up = f(mid) > 0
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    return np.where(f(np.zeros_like(hi)) > 0, (lo + hi) / 2, 0.0)


def _pool(r2: np.ndarray, s2: np.ndarray, dof: np.ndarray, group: np.ndarray, members: np.ndarray,
          n_groups: int, shape: np.ndarray | float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paule–Mandel τ² per group from squared residuals r2 and sampling variances s2 (C, N), each
    point's variance s2 + τ²·`shape`.

    A robust start first: the τ² at which at most half the group's curves
    have residuals beyond their chi-square median (a curve whose shape the
    reference cannot follow is a misfit, not scatter, and a minority of
    misfits cannot move a median). Curves beyond the 1 - `MISFIT_P` quantile
    at that τ² are left out, and the rest solve Σ r²/(s² + τ²) = Σ dof (the
    mean's efficiency). Returns τ² per group, the pooled dof per group (0
    where fewer than `MIN_CURVES` curves are kept), and the curves kept.
    """
    # each group's own bracket: one over the whole batch made a family's τ² depend, in its last bits, on
    # the other families analysed with it (a shard of whole families must give the whole dataset's bits)
    hi = np.zeros(n_groups)
    np.maximum.at(hi, group[members], r2[members].max(1, initial=0.0))
    hi = np.maximum(hi, 1e-12) * 2
    median = special.chdtri(np.maximum(dof, 1), 0.5)
    n_half = np.bincount(group[members], minlength=n_groups) / 2

    def over_median(t2):
        beyond = members & (_chi2(r2, s2 + t2[group][:, None] * shape) > median)
        return np.bincount(group[beyond], minlength=n_groups) - n_half

    tau2 = _bisect(over_median, hi)
    keep = members & (special.chdtrc(np.maximum(dof, 1), _chi2(r2, s2 + tau2[group][:, None] * shape)) >= MISFIT_P)
    D = np.bincount(group[keep], dof[keep], minlength=n_groups)

    def excess(t2):
        return np.bincount(group[keep], _chi2(r2, s2 + t2[group][:, None] * shape)[keep], minlength=n_groups) - D

    tau2 = np.where(D > 0, _bisect(excess, hi), tau2)
    enough = np.bincount(group[keep], minlength=n_groups) >= MIN_CURVES
    return tau2, np.where(enough, D, 0.0), keep


#: the fits a curve's scatter is measured around: smooth trends of either curvature, the
#: floor-then-rise of emergence and the sharp rise with its plateau, so that no task's shape is
#: counted as scatter between models (a family whose tasks all rise sharply: issue 21, D3)
SCATTER_REFERENCE = with_role("curvature", "smooth", "onset", "sharp")


def _reference_residuals(batch: CurveBatch) -> np.ndarray:
    """Each curve's residuals from the closest of the `SCATTER_REFERENCE` fits (at most 3
    parameters each; counted as 3 whichever is closest, which offsets the choice)."""
    fits = [fit_model(m, batch) for m in SCATTER_REFERENCE]
    rss = np.column_stack([np.where(np.isfinite(f.rss), f.rss, np.inf) for f in fits])
    best = rss.argmin(1)
    pred = np.choose(best[:, None], [f.predict(batch.x) for f in fits])
    return np.where(batch.mask, batch.y - pred, 0.0)


#: residual dof a curve must leave around its pooled scatter reference: at 4 sizes a 3-parameter fit
#: leaves one, and the family's scatter would rest on one number whatever its number of tasks
#: (issue 21, D1); such short curves are pooled around their line instead (`_pooled_residuals`)
POOL_MIN_DOF = 2


def _reference_params(batch: CurveBatch) -> np.ndarray:
    """Parameters of each curve's pooled scatter reference (C,): 3 (`SCATTER_REFERENCE`), or 2 (the
    line) where that would leave fewer than `POOL_MIN_DOF` residual dof."""
    return np.where(batch.n - 3 >= POOL_MIN_DOF, 3, 2)


def _pooled_residuals(batch: CurveBatch) -> tuple[np.ndarray, np.ndarray]:
    """Each curve's residuals for the family pool, and those around its closest 3-parameter reference
    (a lone curve's own noise). A short curve's pooled residuals are its line's: a shape the line
    cannot follow then counts as scatter, which overstates the noise, and a task whose shape is far
    from it is a misfit the pool leaves out (`_pool`)."""
    closest = _reference_residuals(batch)
    short = _reference_params(batch) == 2
    if not short.any():
        return closest, closest
    line = fit_model(LINE, batch)
    around_line = np.where(batch.mask, batch.y - line.predict(batch.x), 0.0)
    return np.where(short[:, None], around_line, closest), closest


def _models_dof(batch: CurveBatch, group: np.ndarray, keep: np.ndarray, n_groups: int,
                params: np.ndarray) -> np.ndarray:
    """Residual dof the scatter rests on, per group: the model effect u_m is shared by all the
    family's tasks, so its variance is learnt from the family's models, not from models × tasks:
    distinct scales of the group's kept curves minus the largest reference's parameters."""
    out = np.zeros(n_groups)
    for g in np.unique(group[keep]):
        rows = keep & (group == g)
        out[g] = max(len(np.unique(np.round(batch.x[rows][batch.mask[rows]], 9))) - params[rows].max(), 1)
    return out


@dataclass(frozen=True)
class ReferencePrior:
    """A shipped scaled-inverse-χ² prior for a variance: its level and the dof it counts for.

    A family with few models learns little about its own scatter; it borrows
    from this prior, estimated once from the bundled corpus
    (`benchmarks/reference_prior.py`, numbers in docs/METHODS.md §2.2), never
    from whatever else is in the run. The posterior is
    (d0·v0 + d·v̂)/(d0 + d) on d0 + d dof, d the family's own.
    """

    value: float
    dof: float

    def posterior(self, estimate: np.ndarray, dof: np.ndarray) -> np.ndarray:
        d = np.where(np.isfinite(estimate) & (dof > 0), dof, 0.0)
        v = np.where(d > 0, estimate, 0.0)
        return (self.dof * self.value + d * v) / (self.dof + d)

    def beyond(self, estimate: np.ndarray, dof: np.ndarray, level) -> np.ndarray:
        """Whether an estimate on `dof` dof is beyond the `level` quantile of what the prior predicts
        for it (F(dof, d0) scaled by the prior's value): a variance the prior does not describe."""
        return (dof > 0) & (estimate > self.value * special.fdtri(np.maximum(dof, 1), self.dof, level))


PRIOR_FILE = Path(__file__).with_name("reference_prior.csv")


def reference_priors(path: Path = PRIOR_FILE) -> dict[str, ReferencePrior]:
    """The shipped priors by term: `scatter` (τ² of known-noise families) and `residual` (the
    residual variance of bounded metrics without stderr or item counts)."""
    table = pd.read_csv(path, comment="#")
    return {r.term: ReferencePrior(float(r.value), float(r.dof)) for r in table.itertuples()}


def estimate_noise(batch: CurveBatch, family: np.ndarray, settings: Settings,
                   scatter_given: bool = False) -> tuple[Noise, CurveBatch]:
    """The noise of every curve, and the batch reweighted by it (weights 1/(σᵢ² + τ²)): `noise_terms`,
    then `with_noise`."""
    return with_noise(batch, noise_terms(batch, family, settings, scatter_given))


@dataclass(frozen=True)
class FamilyEstimates:
    """Per family (G,), its own estimates: the scatter τ̂² of known-noise curves and the residual
    variance of unknown-noise ones, each with the dof it rests on (0: the family's pool is short),
    and its number of curves; per curve (C,), its own residual variance and dof."""

    scatter: np.ndarray
    scatter_dof: np.ndarray
    residual: np.ndarray
    residual_dof: np.ndarray
    curves: np.ndarray
    curve_residual: np.ndarray      # (C,) each curve's own residual variance around its closest reference fit
    curve_dof: np.ndarray           # (C,) on n - 3 dof
    curve_scatter: np.ndarray       # (C,) each known-noise curve's own τ̂² around that fit, on the same dof


def _scatter_pool(batch: CurveBatch, r2: np.ndarray, s2: np.ndarray, dof: np.ndarray, params: np.ndarray,
                  group: np.ndarray, members: np.ndarray, G: int, settings: Settings, prior: ReferencePrior,
                  residuals) -> tuple[np.ndarray, np.ndarray]:
    """One family pool of the scatter: τ̂² per family and the models' dof it rests on (0: short).
    The residuals are computed twice, the second time weighted by σᵢ² plus the first estimate
    (`residuals(batch)` gives them)."""
    shape = scatter_shape(batch)
    t2, d, _ = _pool(r2, s2, dof, group, members, G, shape)
    var = s2 + prior.posterior(t2, np.where(d >= settings.scatter_min_df, 1.0, 0.0))[group][:, None] * shape
    w = np.where(batch.mask, 1.0 / np.where(var > 0, var, 1.0), 0.0)
    weighted = CurveBatch(batch.x, batch.y, batch.sigma, w, batch.chance, batch.known_noise, batch.bounded)
    r2w = np.where(members[:, None], residuals(weighted) ** 2, r2)
    t2, d, keep = _pool(r2w, s2, dof, group, members, G, shape)
    own = d >= settings.scatter_min_df
    return np.where(own, t2, np.nan), np.where(own, _models_dof(batch, group, keep, G, params), 0.0)


#: a short family's scatter around its lines beyond this quantile of the prior's is its tasks' shape,
#: not a model effect (a family whose every task jumps at its largest model): it is measured around the
#: closest 3-parameter fits instead
SHAPE_NOT_SCATTER = 0.999


def family_estimates(batch: CurveBatch, group: np.ndarray, settings: Settings,
                     priors: dict[str, ReferencePrior]) -> FamilyEstimates:
    """Each family's own scatter and residual variance, from its curves alone (`group` (C,) codes 0..G-1).

    τ² is pooled over the family's curves (`_pool`: Paule–Mandel around each curve's reference fit,
    misfits left out), on d = `_models_dof` dof (its models, not models × tasks), 0 where the pool
    keeps fewer than `MIN_CURVES` curves or `scatter_min_df` residual dof. The reference is the
    closest `SCATTER_REFERENCE` fit, or the line for curves it would leave fewer than
    `POOL_MIN_DOF` dof (`_pooled_residuals`: a 4-size family's scatter on 2 dof, not 1); a family
    whose scatter around its lines is implausible under the prior (beyond its `SHAPE_NOT_SCATTER`
    quantile) is measured around the closest fits.
    """
    C = len(batch)
    G = int(group.max()) + 1 if C else 0
    params = _reference_params(batch)
    dof = np.maximum(batch.n - params, 0).astype(float)
    dof3 = np.maximum(batch.n - 3, 0).astype(float)
    bounded, known = batch.bounded, batch.known_noise
    s2 = np.where(batch.mask & known[:, None], batch.sigma ** 2, 0.0)
    pooled, closest = _pooled_residuals(batch)
    r2, own_r2 = pooled ** 2, closest ** 2
    fit_ok = np.isfinite(r2).all(1) & np.isfinite(own_r2).all(1) & (dof >= 1)
    scatter, scatter_dof = np.full(G, np.nan), np.zeros(G)
    residual, residual_dof = np.full(G, np.nan), np.zeros(G)
    members = fit_ok & bounded & known
    if members.any():
        prior = priors["scatter"]
        scatter, scatter_dof = _scatter_pool(batch, r2, s2, dof, params, group, members, G, settings, prior,
                                             lambda b: _pooled_residuals(b)[0])
        shape_like = prior.beyond(scatter, scatter_dof, SHAPE_NOT_SCATTER)
        short = np.bincount(group[members & (params == 2)], minlength=G) > 0
        if (shape_like & short).any():
            again = members & (shape_like & short)[group]
            t2, d = _scatter_pool(batch, own_r2, s2, dof3, np.full(C, 3), group, again, G, settings, prior,
                                  _reference_residuals)
            scatter = np.where(shape_like & short, t2, scatter)
            scatter_dof = np.where(shape_like & short, d, scatter_dof)
    # unknown noise: a curve that never moves (as one stuck at 0) says nothing about the noise elsewhere
    moves = (np.where(batch.mask, batch.y, -np.inf).max(1) - np.where(batch.mask, batch.y, np.inf).min(1)
             >= settings.noise_floor)
    unknown = fit_ok & bounded & ~known & moves
    # unknown noise: residuals in units of each point's noise shape (1 at 50 % for bounded metrics)
    unit = np.where(known[:, None], 1.0, np.where(batch.mask, batch.sigma, 1.0) ** 2)
    r2, own_r2 = r2 / unit, own_r2 / unit
    if unknown.any():
        zero = np.zeros_like(r2)
        v, d, keep = _pool(r2, zero, dof, group, unknown, G)
        own = d >= settings.scatter_min_df
        residual = np.where(own, v, np.nan)
        residual_dof = np.where(own, _models_dof(batch, group, keep, G, params), 0.0)
        shape_like = own & priors["residual"].beyond(residual, residual_dof, SHAPE_NOT_SCATTER)
        shape_like &= np.bincount(group[unknown & (params == 2)], minlength=G) > 0
        if shape_like.any():
            v, d, keep = _pool(own_r2, zero, dof3, group, unknown & shape_like[group], G)
            again = shape_like & (d >= settings.scatter_min_df)
            residual = np.where(shape_like, np.where(again, v, np.nan), residual)
            residual_dof = np.where(shape_like, np.where(again, _models_dof(batch, group, keep, G, np.full(C, 3)),
                                                         0.0), residual_dof)
    # a lone curve's own residual variance: around its closest 3-parameter reference on n - 3 dof (a lone
    # curve's shape cannot be told from its noise, so the flexible reference, whatever its dof)
    own_ok = np.isfinite(own_r2).all(1) & (dof3 >= 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        curve_residual = np.where(own_ok, np.where(batch.mask, own_r2, 0.0).sum(1) / dof3, np.nan)
    lone = own_ok & bounded & known
    curve_scatter = np.full(C, np.nan)
    if lone.any():
        curve_scatter = np.where(lone, _pool(own_r2, s2, dof3, np.arange(C), lone, C, scatter_shape(batch))[0],
                                 np.nan)
    return FamilyEstimates(scatter, scatter_dof, residual, residual_dof, np.bincount(group, minlength=G),
                           curve_residual, np.where(own_ok, dof3, 0.0), curve_scatter)


#: the prior-data conflict checks (F quantiles of the prior's scatter): a family whose pooled τ̂² is
#: beyond the 90th percentile, or a lone curve whose own τ̂² is beyond the 99th, keeps its own estimate
#: on its own dof. Measured (benchmarks/audit.py, docs/METHODS.md 2.2): the family check at the 95th
#: let a 4-size family with 3× the binomial sd as scatter be flagged 9.4 %, at the 80th the literature
#: table fell to 17/25; a lone curve's check at the 90th or 95th cost a clear jump at 5 sizes its power
#: (79 %, 85 %) through shapes its reference cannot follow
CONFLICT = {"family": 0.90, "curve": 0.99}


def noise_terms(batch: CurveBatch, family: np.ndarray, settings: Settings,
                scatter_given: bool = False,
                priors: dict[str, ReferencePrior] | None = None) -> NoiseTerms:
    """What every curve's noise is made of: its family's own estimate and the shipped prior.

    `family` (C,) codes the curves' family within the dataset. Known noise on
    bounded metrics: the family's τ̂² on d dof (`family_estimates`) combined
    with the shipped prior (`ReferencePrior.posterior`); a family whose pool is
    short gets the prior alone. The tests use t with d0 + d dof, fixed by the
    design and the prior, never grown by an estimate that came out low. No
    family borrows from another family or dataset: a curve's noise depends on
    its family's curves and the shipped prior alone. Unknown noise on bounded
    metrics: the family's pooled residual variance with the residual prior,
    the same way; a curve outside any pool combines its own residuals (around
    its closest reference fit) with that prior; raw metrics have their own
    (`with_own_noise`). A family whose own τ̂² is far above the prior's (an F
    test, `CONFLICT`) keeps its own estimate on its own d dof; so does a curve
    outside any pool whose own τ̂² (around its closest reference fit, on n − 3
    dof) is, at a stricter level, since its residuals also carry any shape its
    reference cannot follow.
    """
    priors = priors or reference_priors()
    C = len(batch)
    _, group = np.unique(np.asarray(family), return_inverse=True)
    bounded, known = batch.bounded, batch.known_noise
    scatter, scatter_dof = np.full(C, np.nan), np.full(C, np.nan)
    source = np.full(C, "curve", dtype=object)
    tau2, scale, dof_t, tau2_ref = np.zeros(C), np.ones(C), np.full(C, np.inf), np.zeros(C)
    if C == 0:
        return NoiseTerms(tau2, scale, dof_t, scatter, scatter_dof, source, tau2_ref)
    fam = family_estimates(batch, group, settings, priors)

    pooled = bounded & known
    if scatter_given:
        source = np.where(pooled, "given", source)
    elif pooled.any():
        prior = priors["scatter"]
        by_family = fam.scatter_dof[group] > 0
        lone = ~by_family & (fam.curve_dof > 0)
        d_own = np.where(by_family, fam.scatter_dof[group], np.where(lone, fam.curve_dof, 0.0))
        est = np.where(by_family, fam.scatter[group], fam.curve_scatter)
        # a family (or a lone curve) whose own scatter is far above the prior's is not one of those the
        # prior describes: it keeps its own estimate, on its own dof (`CONFLICT`)
        level = np.where(lone, CONFLICT["curve"], CONFLICT["family"])
        conflict = prior.beyond(est, d_own, level)
        # a lone curve otherwise rests on the prior alone: its residuals mix its shape with the scatter
        d_own = np.where(lone & ~conflict, 0.0, d_own)
        # the prior can raise a low estimate of the family's own, never lower a high one: shrinking a
        # family's scatter towards the corpus's typical one is what lets a family of few models whose
        # models differ more than most pass a flat curve off as a trend (issue 21, D1)
        tau2 = np.where(pooled, np.where(conflict, est, np.fmax(prior.posterior(est, d_own),
                                                                np.where(d_own > 0, est, 0.0))), 0.0)
        tau2_ref = np.where(pooled, prior.value, 0.0)
        scatter = np.where(pooled, np.sqrt(tau2), np.nan)
        scatter_dof = np.where(pooled, d_own + np.where(conflict, 0.0, prior.dof), np.nan)
        dof_t = np.where(pooled, scatter_dof, dof_t)
        source = np.where(pooled, np.select([conflict & lone, conflict, d_own > 0], ["curve alone", "family alone",
                                                                                   "family"], "prior"), source)

    # unknown noise on bounded metrics: the family's pooled residual variance with the residual prior;
    # a curve outside any pool, its own residuals around its closest reference fit with that prior
    unknown = bounded & ~known
    if unknown.any():
        prior = priors["residual"]
        by_family = unknown & (fam.residual_dof[group] > 0)
        d_own = np.where(by_family, fam.residual_dof[group], np.where(unknown, fam.curve_dof, 0.0))
        est = np.where(by_family, fam.residual[group], fam.curve_residual)
        # as for the scatter: a family (or a lone curve) whose own residual variance the prior does not
        # describe keeps its own, on its own dof; a family's own estimate is never lowered by the prior
        # (a family whose models differ three times more than most: the stress suite's residual cells)
        conflict = unknown & prior.beyond(est, d_own, np.where(by_family, CONFLICT["family"], CONFLICT["curve"]))
        post = prior.posterior(np.where(unknown, est, np.nan), d_own)
        post = np.where(conflict, est, np.where(by_family, np.fmax(post, est), post))
        scale = np.where(unknown, np.maximum(post, settings.noise_floor ** 2), scale)
        dof_t = np.where(unknown, d_own + np.where(conflict, 0.0, prior.dof), dof_t)
        scatter_dof = np.where(unknown, dof_t, scatter_dof)
        source = np.where(unknown, np.select([conflict & ~by_family, conflict, by_family],
                                             ["curve alone", "family alone", "family"], "prior"), source)

    return NoiseTerms(tau2, scale, dof_t, scatter, scatter_dof, source, tau2_ref)


@dataclass
class NoiseTerms:
    """Per curve, what `estimate_noise` pooled over the dataset: the scatter τ² added to each point's
    sampling variance, the variance scale, the t dof, and where they came from. A shard of the dataset
    is analysed with its curves' rows of the whole dataset's terms (`with_noise`), so that its results
    are the same as in the whole."""

    tau2: np.ndarray
    scale: np.ndarray
    dof: np.ndarray
    scatter: np.ndarray
    scatter_dof: np.ndarray
    source: np.ndarray
    tau2_ref: np.ndarray      # the prior's τ²: the tests' dof use the larger of it and τ², never a lower estimate

    FIELDS = ("tau2", "scale", "dof", "scatter", "scatter_dof", "source", "tau2_ref")

    def frame(self, curve_ids) -> pd.DataFrame:
        return pd.DataFrame({"curve_id": list(curve_ids), **{f: getattr(self, f) for f in self.FIELDS}})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> NoiseTerms:
        return cls(*(frame[f].to_numpy(object if f == "source" else float) for f in cls.FIELDS))


def with_noise(batch: CurveBatch, terms: NoiseTerms) -> tuple[Noise, CurveBatch]:
    """The curves' noise from their terms, and the batch reweighted by it (weights 1/(σᵢ² + τ²h²))."""
    known = batch.known_noise
    sd = np.where(known[:, None], np.sqrt(np.where(batch.mask, batch.sigma ** 2, 1.0)
                                          + terms.tau2[:, None] * scatter_shape(batch)),
                  np.where(batch.mask, batch.sigma, 1.0))
    w = np.where(batch.mask, 1.0 / sd ** 2, 0.0)
    weighted = CurveBatch(batch.x, batch.y, np.where(known[:, None], sd, batch.sigma), w, batch.chance,
                          known, batch.bounded, batch.n_items)
    return Noise(sd, terms.scale, terms.dof, terms.scatter, terms.scatter_dof, terms.source,
                 np.nan_to_num(terms.tau2_ref)), weighted


def with_own_noise(noise: Noise, batch: CurveBatch, fits: dict, settings: Settings) -> Noise:
    """Raw metrics (perplexity, loss): the curve's own noise, from its own residuals.

    Their units differ from curve to curve, so nothing is pooled and there is
    no prior. Around the quadratic (a smooth 3-parameter fit, so that a line's
    misfit to a curved trend is not counted as noise, and one fixed fit, so
    that no choice of the closest among several pulls the estimate down); with
    fewer than 2 residual dof, around the line, which can only overstate the
    noise. A stderr gets an overdispersion φ ≥ 1 (`dispersion`).
    """
    own = ~batch.bounded
    if not own.any():
        return noise
    n = batch.n
    quad = fits[REFERENCE]
    use_line = ((n - quad.n_free) < 2) | ~np.isfinite(quad.rss)
    scale, dof_t = dispersion(np.where(use_line, fits[LINE].rss, quad.rss),
                              np.where(use_line, n - fits[LINE].n_free, n - quad.n_free), batch.known_noise, settings)
    return replace(noise, scale=np.where(own, scale, noise.scale), dof=np.where(own, dof_t, noise.dof))


def describe(noise: Noise, known: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """The `noise` column: where the sampling noise comes from, and the scatter between models."""
    extra = np.select(
        [noise.source == "family", noise.source == "family alone", noise.source == "curve alone",
         noise.source == "prior", noise.source == "given"],
        [" + family scatter (with the reference prior)", " + family scatter (its own: far above the reference prior)",
         " + scatter (the curve's own: far above the reference prior)", " + scatter (reference prior)",
         " (scatter included, as given)"],
        "")
    residual = np.select([noise.source == "family", noise.source == "prior"],
                         ["residual (family, with the reference prior)", "residual (curve, with the reference prior)"],
                         "residual (curve)")
    return np.where(known, np.asarray(sources, dtype=object) + extra, residual)


# ---------------------------------------------------------------- replicates
def _rng(seed: int, key: str, purpose: int, block: int) -> np.random.Generator:
    """A stream per curve, purpose and block of replicates: a curve's replicates do not
    depend on the other curves, nor on how many replicates were drawn before."""
    return np.random.default_rng([seed, zlib.crc32(key.encode()), purpose, block])


def draw(batch: CurveBatch, noise: Noise, mean: np.ndarray, reps: int, keys: list[str], seed: int,
         purpose: int, block: int) -> CurveBatch:
    """`reps` replicates per curve from `mean` (C, N) under the noise model.

    Binomial counts (all points with an item count): each model's true score
    moved by its scatter h·u, u ~ N(0, τ²) (h the scatter's shape at the true
    score), clipped to [0, 1], then n draws of it.
    Otherwise Gaussian with the point's sd, clipped to [0, 1] for bounded
    metrics, so that replicates near the floor look like scores near the floor.
    """
    C, N = batch.x.shape
    y = np.empty((C, reps, N))
    sd = noise.point_sd()
    tau = np.where(np.isfinite(noise.scatter), noise.scatter, 0.0)
    n_items = batch.n_items if batch.n_items is not None else np.full((C, N), np.nan)
    binomial = batch.known_noise & (np.isfinite(n_items) | ~batch.mask).all(1)
    for i, key in enumerate(keys):
        g = _rng(seed, key, purpose, block)
        if binomial[i]:
            p = np.clip(mean[i] + tau[i] * bernoulli_sd(mean[i]) * g.standard_normal((reps, N)), 0.0, 1.0)
            n = np.where(batch.mask[i], n_items[i], 1).astype(np.int64)
            y[i] = g.binomial(n, p) / n
        else:
            y[i] = mean[i] + sd[i] * g.standard_normal((reps, N))
            if batch.bounded[i]:
                y[i] = np.clip(y[i], 0.0, 1.0)
    return batch.repeat(reps).with_y(y.reshape(C * reps, N))

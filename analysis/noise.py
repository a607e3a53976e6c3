"""The noise model every test of a curve assumes (METHODS.md section 2).

Models of one family differ by more than the sampling noise of one test set:
a model is better or worse overall than its size predicts, on every task it
is evaluated on. A score is therefore

    y[m, t] = f_t(x_m) + u_m + e[m, t],   u_m ~ N(0, τ²),   e ~ sampling noise,

and the scatter τ² is a property of the family's models, shared by all its
curves: it is estimated once per family from all of them (borrowing
strength), so that a 4-size curve, which cannot estimate its own, gets the
family's. Where the family has too few residual degrees of freedom, the
dataset's pooled estimate stands in; where that too is missing, the scatter is
"not estimable" and the tests assume sampling noise alone and say so.

* Known noise (stderr or binomial), bounded metrics: each point's variance is
  σᵢ² + τ². τ² solves the Paule–Mandel equation Σ rᵢ²/(σᵢ² + τ²) = Σ dof over
  the family's curves, with rᵢ the residuals of each curve's quadratic fit
  (weights 1/(σᵢ² + τ²), iterated); curves whose residuals are far beyond the
  pooled estimate (chi-square tail p < 0.001: a shape the quadratic cannot
  follow, not scatter) are left out of the pool. Tests use t with the pooled
  residual dof (quasi-likelihood), never the normal because the estimate came
  out low.
* Unknown noise, bounded metrics: one residual variance per family, pooled the
  same way around the same references (floored at `noise_floor`²; the
  dataset's where the family's pool is short), t with the dof of the
  family's models (the residuals hold the model effects, shared by its
  tasks); a curve of neither has its own (`with_own_noise`).
* Raw metrics (perplexity, loss): units differ from curve to curve, so the
  curve's own residuals give its noise, as an overdispersion φ ≥ 1 of a given
  stderr or as a residual variance.
* `scatter: given` (per dataset) says the stderr already includes the scatter
  between models: it is then used as it is.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

from .curves import CurveBatch
from .fitting import fit_model
from .models import with_role
from .settings import Settings

#: a curve's own noise is measured around this fit (the model of role "curvature")
REFERENCE = with_role("curvature")[0]
#: the line: the fallback noise reference, and the slope test's model
LINE = "loglinear"

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

    @property
    def tests(self) -> tuple[np.ndarray, np.ndarray]:
        """(variance scale, t dof), what the slope and two-lines tests read."""
        return self.scale, self.dof

    def point_sd(self) -> np.ndarray:
        """Per-point noise sd (C, N)."""
        return np.sqrt(self.scale)[:, None] * self.sd

    def take(self, idx) -> Noise:
        return Noise(*(getattr(self, f)[idx] for f in ("sd", "scale", "dof", "scatter", "scatter_dof", "source")))


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
          n_groups: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paule–Mandel τ² per group from squared residuals r2 and sampling variances s2 (C, N).

    A robust start first: the τ² at which at most half the group's curves
    have residuals beyond their chi-square median (a curve whose shape the
    reference cannot follow is a misfit, not scatter, and a minority of
    misfits cannot move a median). Curves beyond the 1 - `MISFIT_P` quantile
    at that τ² are left out, and the rest solve Σ r²/(s² + τ²) = Σ dof (the
    mean's efficiency). Returns τ² per group, the pooled dof per group (0
    where fewer than `MIN_CURVES` curves are kept), and the curves kept.
    """
    hi = np.full(n_groups, max(float(r2[members].max(initial=0.0)), 1e-12) * 2)
    median = special.chdtri(np.maximum(dof, 1), 0.5)
    n_half = np.bincount(group[members], minlength=n_groups) / 2

    def over_median(t2):
        beyond = members & (_chi2(r2, s2 + t2[group][:, None]) > median)
        return np.bincount(group[beyond], minlength=n_groups) - n_half

    tau2 = _bisect(over_median, hi)
    keep = members & (special.chdtrc(np.maximum(dof, 1), _chi2(r2, s2 + tau2[group][:, None])) >= MISFIT_P)
    D = np.bincount(group[keep], dof[keep], minlength=n_groups)

    def excess(t2):
        return np.bincount(group[keep], _chi2(r2, s2 + t2[group][:, None])[keep], minlength=n_groups) - D

    tau2 = np.where(D > 0, _bisect(excess, hi), tau2)
    enough = np.bincount(group[keep], minlength=n_groups) >= MIN_CURVES
    return tau2, np.where(enough, D, 0.0), keep


#: fewer curves than this are fitted in one process (starting another costs about a second)
MIN_PARALLEL = 2000

#: the fits a curve's scatter is measured around: smooth trends of either curvature, and the
#: floor-then-rise of emergence, so that neither shape is counted as scatter between models
SCATTER_REFERENCE = ("quadratic", "power", "accelerating", "hinge")


def _reference_residuals(batch: CurveBatch, workers: int = 1) -> np.ndarray:
    """Each curve's residuals from the closest of the `SCATTER_REFERENCE` fits (at most 3
    parameters each; counted as 3 whichever is closest, which offsets the choice).

    With workers > 1, the curves are fitted in that many processes: a big dataset's plan
    (analysis/shards.py) is the one step of its analysis that sees every curve. Each fit
    depends on its own curve only, so the result is the same.
    """
    if workers > 1 and len(batch) >= MIN_PARALLEL:
        from concurrent.futures import ProcessPoolExecutor
        parts = np.array_split(np.arange(len(batch)), workers)
        with ProcessPoolExecutor(workers) as pool:
            return np.concatenate(list(pool.map(_reference_residuals, [batch.take(p) for p in parts])))
    fits = [fit_model(m, batch) for m in SCATTER_REFERENCE]
    rss = np.column_stack([np.where(np.isfinite(f.rss), f.rss, np.inf) for f in fits])
    best = rss.argmin(1)
    pred = np.choose(best[:, None], [f.predict(batch.x) for f in fits])
    return np.where(batch.mask, batch.y - pred, 0.0)


def _models_dof(batch: CurveBatch, group: np.ndarray, keep: np.ndarray, n_groups: int) -> np.ndarray:
    """Residual dof the scatter rests on, per group: the model effect u_m is shared by all the
    family's tasks, so its variance is learnt from the family's models, not from models × tasks:
    distinct scales of the group's kept curves minus the reference's 3 parameters."""
    out = np.zeros(n_groups)
    for g in np.unique(group[keep]):
        rows = keep & (group == g)
        out[g] = max(len(np.unique(np.round(batch.x[rows][batch.mask[rows]], 9))) - 3, 1)
    return out


def _moderate(tau2: np.ndarray, dof: np.ndarray, sigma2: np.ndarray,
              families: np.ndarray) -> tuple[np.ndarray, float]:
    """Empirical-Bayes moderation of the families' scatter (Smyth 2004, as in limma).

    Each family's variance v = σ̄² + τ̂² rests on few dof (its models). The
    spread of the dataset's families' v around a common scaled-χ² prior gives
    the prior's dof d0 and level v0; each family's v is shrunk towards v0 by
    (d0·v0 + d·v)/(d0 + d), and its tests gain d0 dof. Families that agree get
    strength from each other; a dataset of very different families
    (d0 → 0) changes nothing. Returns the moderated τ² and d0.
    """
    if len(families) < 3:
        return tau2, 0.0
    v, d = (sigma2 + tau2)[families], np.maximum(dof[families], 1.0)
    e = np.log(np.maximum(v, 1e-300)) - special.digamma(d / 2) + np.log(d / 2)
    spread = np.var(e, ddof=1) - np.mean(special.polygamma(1, d / 2))
    if spread <= 0:
        d0 = np.inf
    else:
        d0 = 2 * _trigamma_inverse(spread)
    v0 = np.exp(np.mean(e) + (special.digamma(d0 / 2) - np.log(d0 / 2) if np.isfinite(d0) else 0.0))
    # as limma caps a gene's total dof at the residual dof of all genes, the prior counts
    # for at most the dof of all the dataset's families
    d0 = min(d0, float(d.sum()))
    out = tau2.copy()
    post = (d0 * v0 + d * v) / (d0 + d)
    out[families] = np.maximum(post - sigma2[families], 0.0)
    return out, float(d0)


def _trigamma_inverse(y: float) -> float:
    """x with trigamma(x) = y, by Newton's method from Smyth's start."""
    x = 0.5 + 1.0 / y
    for _ in range(50):
        tri = special.polygamma(1, x)
        step = tri * (1 - tri / y) / special.polygamma(2, x)
        x += step
        if abs(step) < 1e-10 * x:
            break
    return float(x)


def estimate_noise(batch: CurveBatch, family: np.ndarray, settings: Settings,
                   scatter_given: bool = False) -> tuple[Noise, CurveBatch]:
    """The noise of every curve, and the batch reweighted by it (weights 1/(σᵢ² + τ²)): `noise_terms`,
    then `with_noise`."""
    return with_noise(batch, noise_terms(batch, family, settings, scatter_given))


def noise_terms(batch: CurveBatch, family: np.ndarray, settings: Settings,
                scatter_given: bool = False, workers: int = 1) -> NoiseTerms:
    """What every curve's noise is made of, pooled over the dataset's curves.

    `family` (C,) codes the curves' family within the dataset. Known noise on
    bounded metrics: τ² pooled per family (`_pool`), the dataset's where the
    family has fewer than `scatter_min_df` pooled residual dof or fewer than
    `MIN_CURVES` curves. A family's τ² rests on d = `_models_dof` dof (its
    models, not models × tasks), and is moderated towards the dataset's other
    families (`_moderate`), which adds the prior's d0: the tests use t with
    d + d0 dof. The dataset's pooled estimate rests on the sum of its
    families' d. Unknown noise and raw metrics get theirs from the fits
    (`with_own_noise`).
    """
    C, N = batch.x.shape
    _, group = np.unique(np.asarray(family), return_inverse=True)
    G = group.max() + 1 if C else 0
    dof = np.maximum(batch.n - 3, 0).astype(float)
    bounded, known = batch.bounded, batch.known_noise
    s2 = np.where(batch.mask & known[:, None], batch.sigma ** 2, 0.0)
    r2 = _reference_residuals(batch, workers) ** 2
    fit_ok = np.isfinite(r2).all(1) & (dof >= 1)

    scatter, scatter_dof = np.full(C, np.nan), np.full(C, np.nan)
    source = np.full(C, "curve", dtype=object)
    tau2, scale, dof_t = np.zeros(C), np.ones(C), np.full(C, np.inf)

    members = fit_ok & bounded & known
    pooled = bounded & known
    if scatter_given:
        source = np.where(pooled, "given", source)
    elif members.any():
        zero = np.zeros(C, int)
        t2_fam, d_fam, _ = _pool(r2, s2, dof, group, members, G)
        t2_all, d_all, _ = _pool(r2, s2, dof, zero, members, 1)
        # once more, with the residuals of fits weighted by the estimated variances
        var = s2 + np.where(d_fam[group] >= settings.scatter_min_df, t2_fam[group], t2_all[0])[:, None]
        w = np.where(batch.mask, 1.0 / np.where(var > 0, var, 1.0), 0.0)
        r2 = np.where(members[:, None], _reference_residuals(
            CurveBatch(batch.x, batch.y, batch.sigma, w, batch.chance, known, bounded), workers) ** 2, r2)
        t2_fam, d_fam, keep_fam = _pool(r2, s2, dof, group, members, G)
        t2_all, d_all, keep_all = _pool(r2, s2, dof, zero, members, 1)
        m_fam = _models_dof(batch, group, keep_fam, G)
        m_all = np.array([_models_dof(batch, group, keep_all, G).sum()])
        # the family's estimate where its pool has the dof, else the dataset's, else none
        by_family = pooled & (d_fam[group] >= settings.scatter_min_df)
        by_dataset = pooled & ~by_family & (d_all[0] >= settings.scatter_min_df)
        sigma2 = np.where(batch.mask, s2, 0).sum(1) / np.maximum(batch.n, 1)
        t2_fam, prior_dof = _moderate(t2_fam, m_fam, np.bincount(group[members], sigma2[members], G) / np.maximum(
            np.bincount(group[members], minlength=G), 1), np.unique(group[by_family]))
        est = np.where(by_family, t2_fam[group], np.where(by_dataset, t2_all[0], np.nan))
        d_tau = np.where(by_family, m_fam[group], np.where(by_dataset, m_all[0], np.nan))
        tau2 = np.where(np.isfinite(est), est, 0.0)
        scatter, scatter_dof = np.sqrt(est), d_tau
        dof_t = np.where(pooled & np.isfinite(est), d_tau + np.where(by_family, prior_dof, 0.0), dof_t)
        source = np.where(pooled, np.where(by_family, "family", np.where(by_dataset, "dataset", "not estimable")),
                          source)

    # unknown noise on bounded metrics: one residual variance per family, pooled the same way
    # (a curve that never moves, as one stuck at 0, says nothing about the noise elsewhere)
    moves = (np.where(batch.mask, batch.y, -np.inf).max(1) - np.where(batch.mask, batch.y, np.inf).min(1)
             >= settings.noise_floor)
    unknown = fit_ok & bounded & ~known & moves
    if unknown.any():
        zero, none = np.zeros(C, int), np.zeros_like(r2)
        v_fam, d_fam, keep_fam = _pool(r2, none, dof, group, unknown, G)
        v_all, d_all, keep_all = _pool(r2, none, dof, zero, unknown, 1)
        by_family = unknown & (d_fam[group] >= settings.scatter_min_df)
        by_dataset = unknown & ~by_family & (d_all[0] >= settings.scatter_min_df)
        pooled_var = np.where(by_family, v_fam[group], v_all[0])
        scale = np.where(by_family | by_dataset, np.maximum(pooled_var, settings.noise_floor ** 2), scale)
        # the residuals hold the model effects, shared by the family's tasks: the variance rests on the
        # family's models, as the scatter's does (`_models_dof`), not on models × tasks
        m_fam = _models_dof(batch, group, keep_fam, G)
        m_all = _models_dof(batch, group, keep_all, G).sum()
        dof_t = np.where(by_family, m_fam[group], np.where(by_dataset, m_all, dof_t))
        source = np.where(by_family, "family", np.where(by_dataset, "dataset", source))

    return NoiseTerms(tau2, scale, dof_t, scatter, scatter_dof, source)


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

    FIELDS = ("tau2", "scale", "dof", "scatter", "scatter_dof", "source")

    def frame(self, curve_ids) -> pd.DataFrame:
        return pd.DataFrame({"curve_id": list(curve_ids), **{f: getattr(self, f) for f in self.FIELDS}})

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> NoiseTerms:
        return cls(*(frame[f].to_numpy(object if f == "source" else float) for f in cls.FIELDS))


def with_noise(batch: CurveBatch, terms: NoiseTerms) -> tuple[Noise, CurveBatch]:
    """The curves' noise from their terms, and the batch reweighted by it (weights 1/(σᵢ² + τ²))."""
    known = batch.known_noise
    sd = np.where(known[:, None], np.sqrt(np.where(batch.mask, batch.sigma ** 2, 1.0) + terms.tau2[:, None]), 1.0)
    w = np.where(batch.mask, 1.0 / sd ** 2, 0.0)
    weighted = CurveBatch(batch.x, batch.y, np.where(known[:, None], sd, batch.sigma), w, batch.chance,
                          known, batch.bounded, batch.n_items)
    return Noise(sd, terms.scale, terms.dof, terms.scatter, terms.scatter_dof, terms.source), weighted


def with_own_noise(noise: Noise, batch: CurveBatch, fits: dict, settings: Settings) -> Noise:
    """Unknown noise and raw metrics: the curve's own noise, from its own residuals.

    Around the quadratic (a smooth 3-parameter fit, so that a line's misfit to
    a curved trend is not counted as noise, and one fixed fit, so that no
    choice of the closest among several pulls the estimate down); with fewer
    than 2 residual dof, around the line, which can only overstate the noise.
    Raw metrics with a stderr get an overdispersion φ ≥ 1 (`dispersion`).
    """
    own = ~(batch.bounded & batch.known_noise) & ~np.isin(noise.source, ("family", "dataset"))
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
        [noise.source == "family", noise.source == "dataset", noise.source == "given",
         noise.source == "not estimable"],
        [" + family scatter", " + dataset scatter", " (scatter included, as given)", " (scatter not estimable)"],
        "")
    return np.where(known, np.asarray(sources, dtype=object) + extra, "residual (" + noise.source.astype(str) + ")")


# ---------------------------------------------------------------- replicates
def _rng(seed: int, key: str, purpose: int, block: int) -> np.random.Generator:
    """A stream per curve, purpose and block of replicates: a curve's replicates do not
    depend on the other curves, nor on how many replicates were drawn before."""
    return np.random.default_rng([seed, zlib.crc32(key.encode()), purpose, block])


def draw(batch: CurveBatch, noise: Noise, mean: np.ndarray, reps: int, keys: list[str], seed: int,
         purpose: int, block: int) -> CurveBatch:
    """`reps` replicates per curve from `mean` (C, N) under the noise model.

    Binomial counts (all points with an item count): each model's true score
    moved by its scatter u ~ N(0, τ²), clipped to [0, 1], then n draws of it.
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
            p = np.clip(mean[i] + tau[i] * g.standard_normal((reps, N)), 0.0, 1.0)
            n = np.where(batch.mask[i], n_items[i], 1).astype(np.int64)
            y[i] = g.binomial(n, p) / n
        else:
            y[i] = mean[i] + sd[i] * g.standard_normal((reps, N))
            if batch.bounded[i]:
                y[i] = np.clip(y[i], 0.0, 1.0)
    return batch.repeat(reps).with_y(y.reshape(C * reps, N))

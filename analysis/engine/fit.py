"""The fitting engine: many curves at once, whatever the model.

The models are linear in all but at most two parameters, so a fit profiles
the linear parameters out in closed form (weighted least squares, with their
bounds) and searches the remaining ones on a grid over the whole bounded
region (the grid and profile pieces here; each model's own search in its
module under `analysis/models/`). Any other declared model is fitted by the
generic batched Levenberg-Marquardt (`fit_generic`). Everything is array
arithmetic over (curves × grid × points), and a curve's bootstrap replicates
share its grid: no per-curve Python loop. Nothing here knows a model by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..curves import CurveBatch
from .model import Model

MAX_CELLS = 500_000            # curves × grid × points evaluated per slice (cache-sized)
MAX_LM_CELLS = 150_000         # curves × points polished at once (cache-sized)
LN10 = np.log(10.0)
FTOL = 1e-10                    # polish stops: a step gains less than this share of the objective,
PTOL = 1e-12                    # or the local model promises less than this share
LAM0 = 1e-3                     # initial damping
STALL_EVERY = 10                # polish stops when this many steps gained < FTOL each on average



@dataclass
class ModelFit:
    """One model fitted to a batch of curves: parameters, errors, diagnostics."""

    spec: Model                 # the model's declaration
    params: np.ndarray          # (C, P), names in spec.params
    rss: np.ndarray             # weighted residual sum of squares (chi² for known noise)
    n: np.ndarray               # points per curve
    n_free: np.ndarray          # fitted parameters per curve
    known_noise: np.ndarray
    converged: np.ndarray
    at_bound: np.ndarray
    se: np.ndarray | None = field(default=None)

    @property
    def model(self) -> str:
        return self.spec.name

    @property
    def param_names(self) -> tuple[str, ...]:
        return self.spec.params

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.spec.predict(self.params, x)

    @property
    def aicc(self) -> np.ndarray:
        """AICc; the noise level counts as a parameter when it is estimated.

        Infinite where the curve has too few points for the correction.
        """
        k = self.n_free + np.where(self.known_noise, 0, 1)
        n = self.n.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit_term = np.where(self.known_noise, self.rss,
                                n * np.log(np.maximum(self.rss, 1e-300) / n))
            corr = np.where(n - k - 1 > 0, 2 * k * (k + 1) / (n - k - 1), np.inf)
        return np.where(np.isfinite(self.rss), fit_term + 2 * k + corr, np.inf)

    def summary(self) -> pd.DataFrame:
        """One row per curve: parameters, standard errors and diagnostics."""
        df = pd.DataFrame(self.params, columns=list(self.param_names))
        if self.se is not None:
            for i, name in enumerate(self.param_names):
                df[f"se_{name}"] = self.se[:, i]
        df.insert(0, "model", self.model)
        df["n_params"] = self.n_free
        df["rss"] = self.rss
        df["aicc"] = self.aicc
        df["converged"] = self.converged
        df["at_bound"] = self.at_bound
        return df




# ---------------------------------------------------------------- linear models
def fit_linear(batch: CurveBatch, spec: Model) -> ModelFit:
    """Weighted least squares of a polynomial in x whose coefficients are the model's parameters, lowest
    power first (degree 0: flat, 1: a line, 2: a quadratic)."""
    degree = len(spec.params) - 1
    w, mask = batch.w, batch.mask
    n = mask.sum(1)
    centre = (w * batch.x).sum(1) / w.sum(1)
    u = np.where(mask, batch.x - centre[:, None], 0.0)
    D = np.stack([u ** d for d in range(degree + 1)], axis=-1)        # (C, N, P)
    A = np.einsum("cnp,cn,cnq->cpq", D, w, D)
    b = np.einsum("cnp,cn,cn->cp", D, w, batch.y)
    ok = (n > degree) & (np.linalg.cond(A) < 1e12)
    A_safe = np.where(ok[:, None, None], A, np.eye(degree + 1))
    theta = np.linalg.solve(A_safe, b[..., None])[..., 0]
    resid = np.where(mask, batch.y - np.einsum("cnp,cp->cn", D, theta), 0.0)
    rss = np.where(ok, (w * resid ** 2).sum(1), np.nan)
    # back from centred u = x - m to x
    m = centre
    if degree == 0:
        params = theta
    elif degree == 1:
        params = np.stack([theta[:, 0] - theta[:, 1] * m, theta[:, 1]], 1)
    else:
        a, b1, q = theta.T
        params = np.stack([a - b1 * m + q * m ** 2, b1 - 2 * q * m, q], 1)
    params = np.where(ok[:, None], params, np.nan)
    fit = ModelFit(spec, params, rss, n, np.full(len(n), degree + 1), batch.known_noise,
                   ok, np.zeros(len(n), bool))
    return fit




# ---------------------------------------------------------------- profile search
# The grids are shared by bootstrap replicates: a batch whose rows come in
# blocks of `replicates` copies of one curve (same x, weights and chance)
# evaluates each grid shape once per curve, and only the sums that involve y
# per replicate, as one matrix product per curve.
def replicate_templates(batch: CurveBatch, replicates: int) -> tuple[CurveBatch, np.ndarray]:
    """The distinct curves of a replicate batch and its scores as (curves, replicates, points)."""
    if len(batch) % replicates:
        raise ValueError(f"{len(batch)} rows are not blocks of {replicates} replicates")
    return batch.take(slice(0, None, replicates)), batch.y.reshape(-1, replicates, batch.x.shape[1])


def template_slices(curves: int, replicates: int, points: int, cells: int) -> list[slice]:
    """Slices of template curves whose grid arrays stay cache-sized."""
    size = max(1, MAX_CELLS // max(1, cells * max(points, replicates)))
    return [slice(i, min(i + size, curves)) for i in range(0, curves, size)]


def grid_sums(z: np.ndarray, w: np.ndarray, Y: np.ndarray):
    """Σw·z and Σw·z² per grid cell (shared), Σw·z·y per replicate and cell.

    z (C, G, N), w (C, N), Y (C, R, N) -> (C, 1, G), (C, 1, G), (C, R, G).
    """
    wz = z * w[:, None, :]
    return wz.sum(2)[:, None, :], (wz * z).sum(2)[:, None, :], Y @ wz.transpose(0, 2, 1)


def y_sums(Y: np.ndarray, w: np.ndarray):
    """Σw, Σw·y, Σw·y² per replicate, (C, R, 1) each (Σw shared)."""
    wY = Y * w[:, None, :]
    return w.sum(1)[:, None, None], wY.sum(2)[..., None], (wY * Y).sum(2)[..., None]


def wsum(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_n w[c, n]·a[c, g, n] as a batched matrix product (C, G)."""
    return np.matmul(a, w[:, :, None])[..., 0]


def ls2(s1, sz, szz, sy, szy, syy):
    """Weighted least squares of y on [1, z] from sufficient statistics.

    Returns intercept, slope and RSS; the RSS is computed from the sums, so
    the (curves × grid × points) arrays are reduced only three times.
    """
    det = s1 * szz - sz ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (s1 * szy - sz * sy) / det
        a = (sy - b * sz) / s1
    rss = ls2_rss(a, b, s1, sz, szz, sy, szy, syy)
    return a, b, np.where(det > 1e-12 * s1 * szz, rss, np.inf)


def ls2_rss(a, b, s1, sz, szz, sy, szy, syy):
    """Σw(y − a − b·z)² expanded in sufficient statistics, never below 0."""
    r = syy - 2 * a * sy - 2 * b * szy + a * a * s1 + 2 * a * b * sz + b * b * szz
    return np.maximum(r, 0.0)


def pattern_search(profile, t, best, lin, step, lo, hi, iters: int, grow: float):
    """Minimise a 1-D profiled objective around t: try t ± step, keep what is better.

    profile(candidates (n, 2)) -> (rss (n, 2), linear parameters (n, 2, L)).
    After a success the step is multiplied by `grow`, after a failure halved
    (grow 0.5: a zoom; grow 2: a walk that can travel). Returns t, best,
    lin and the gain of the last step.
    """
    rows = np.arange(len(t))
    gain = np.full(len(t), np.inf)
    for _ in range(iters):
        cand = np.clip(t[:, None] + np.column_stack([-step, step]), lo, hi)
        r, l = profile(cand)
        r = np.where(np.isfinite(r), r, np.inf)
        j = r.argmin(1)
        r_new = r[rows, j]
        better = r_new < best
        gain = np.where(better, best - r_new, 0.0)
        t = np.where(better, cand[rows, j], t)
        lin = np.where(better[:, None], l[rows, j], lin)
        best = np.where(better, r_new, best)
        step = np.where(better, step * grow, step / 2.0)
    return t, best, lin, gain




# ---------------------------------------------------------------- monotone bound
def monotone_rss(batch: CurveBatch) -> np.ndarray:
    """Weighted RSS of the best non-decreasing fit between the floor and 1, per curve.

    Every sigmoid the engine can fit (h ≥ 0, k > 0, floor at chance when it
    is known, ceiling ≤ 1) is such a fit, so this is a lower bound on the
    sigmoid's objective, at a fraction of its cost: the bootstrap test uses it
    to skip replicates that cannot reach the observed statistic. Weighted
    isotonic regression by its max-min formula (Robertson, Wright & Dykstra
    1988): fit_i = max over j ≤ i of min over k ≥ i of the weighted mean of
    points j..k, clipped to [floor, 1] (exact for bounds that are the same at
    every point).
    """
    C, N = batch.x.shape
    order = np.argsort(np.where(batch.mask, batch.x, np.inf), axis=1, kind="stable")   # padding last
    y, w = np.take_along_axis(batch.y, order, 1), np.take_along_axis(batch.w, order, 1)
    floor = np.where(np.isfinite(batch.chance), batch.chance, 0.0)
    later = np.tril(np.ones((N, N), bool), -1)                  # [j, i]: j > i, left out of the max
    out = np.empty(C)
    size = max(1, MAX_CELLS // (N * N))
    for a in range(0, C, size):
        yy, ww = y[a:a + size], w[a:a + size]
        zero = np.zeros((len(yy), 1))
        cw, cy = np.hstack([zero, ww.cumsum(1)]), np.hstack([zero, (ww * yy).cumsum(1)])
        # mean[j, k] of points j..k; only k ≥ i ≥ j is read below, and a j in the
        # padding (nan) reaches padding positions only, which have no weight
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (cy[:, None, 1:] - cy[:, :-1, None]) / (cw[:, None, 1:] - cw[:, :-1, None])
        low_after = np.minimum.accumulate(mean[..., ::-1], axis=-1)[..., ::-1]   # [j, i]: min over k ≥ i
        low_after[:, later] = -np.inf
        fit = low_after.max(1)                                                    # max over j ≤ i
        r = yy - np.clip(fit, floor[a:a + size, None], 1.0)
        out[a:a + size] = np.where(ww > 0, ww * r * r, 0.0).sum(1)
    return out




# ---------------------------------------------------------------- any model
def fit_generic(model: Model, batch: CurveBatch, replicates: int = 1, iters: int = 200) -> ModelFit:
    """Any registered model: projected Levenberg-Marquardt from every start of every curve at once.

    Starts come from the model (`Model.starts`); the Jacobian is taken by
    central differences of the model's formula, so a model needs nothing
    else. Parameters whose bounds coincide are fixed. The best start per
    curve is kept. Models with a fast fitter of their own use that instead
    (`fit_model`); this one is what a new model gets for free.
    """
    p0 = model.starts(batch, replicates)
    C, S, P = p0.shape
    lo, hi = model.parameter_bounds(batch)
    free = lo < hi
    rep = batch.repeat(S)
    bounds = [np.repeat(v, S, axis=0) for v in (lo, hi, free)]
    p, rss, conv = _lm(model, rep, p0.reshape(C * S, P), *bounds, iters)
    # a kink (a hinge's onset at a data point) stops derivative steps: a compass
    # search walks across it, then the damped steps finish from there
    p, moved = _compass(model, rep, p, rss, *bounds)
    if moved.any():
        p[moved], rss[moved], conv[moved] = _lm(model, rep.take(moved), p[moved],
                                                *(v[moved] for v in bounds), iters)
    rss = np.where(np.isfinite(rss), rss, np.inf).reshape(C, S)
    j = rss.argmin(1)
    take = np.arange(C)
    p, rss, conv = p.reshape(C, S, P)[take, j], rss[take, j], conv.reshape(C, S)[take, j]
    tol = 1e-6 * np.maximum(1.0, np.abs(p))
    at_b = (free & ((p <= lo + tol) | (p >= hi - tol))).any(1)
    ok = np.isfinite(rss) & (batch.bounded if model.bounded_only else True)
    return ModelFit(model, np.where(ok[:, None], p, np.nan), np.where(ok, rss, np.nan), batch.n,
                    free.sum(1), batch.known_noise, conv & ok, at_b & ok)


def _lm(model: Model, b: CurveBatch, p: np.ndarray, lo, hi, free, iters: int):
    """Projected Levenberg-Marquardt (Marquardt's diagonal scaling) on a batch; held
    parameters are those fixed or on a bound with the step pointing outward."""
    x, y, w = b.x, b.y, b.w
    C, P = p.shape
    p = np.clip(p, lo, hi)

    def objective(q):
        r = np.where(b.mask, y - model.predict(q, x), 0.0)
        return np.einsum("cn,cn,cn->c", w, r, r), r

    rss, r = objective(p)
    lam = np.full(C, LAM0)
    done = ~np.isfinite(rss)
    eye = np.eye(P)[None]
    for _ in range(iters):
        J = _jacobian_of(model, p, x, free)
        JW = J * w[..., None]
        A = np.einsum("cnp,cnq->cpq", JW, J)
        g = np.einsum("cnp,cn->cp", JW, r)
        held = ~free | ((p <= lo) & (g < 0)) | ((p >= hi) & (g > 0))
        keep = ~held
        Ah = A * (keep[:, :, None] & keep[:, None, :])
        diag = np.diagonal(Ah, axis1=1, axis2=2)
        damp = lam[:, None] * np.maximum(diag, 1e-12) + held
        with np.errstate(invalid="ignore", over="ignore"):
            step = np.linalg.solve(Ah + damp[:, :, None] * eye, np.where(held, 0.0, g)[..., None])[..., 0]
        step = np.where(np.isfinite(step) & ~done[:, None], step, 0.0)
        p_new = np.clip(p + step, lo, hi)
        rss_new, r_new = objective(p_new)
        better = (rss_new < rss) & ~done
        gain = np.where(better, (rss - rss_new) / np.maximum(rss_new, 1e-300), 0.0)
        p = np.where(better[:, None], p_new, p)
        r = np.where(better[:, None], r_new, r)
        rss = np.where(better, rss_new, rss)
        lam = np.where(better, np.maximum(lam / 3.0, 1e-12), lam * 4.0)
        tiny = (np.abs(p_new - p) <= 1e-12 * np.maximum(1.0, np.abs(p))).all(1)
        done |= (better & (gain < FTOL)) | (lam > 1e12) | (~better & tiny & (lam > 1.0))
        if done.all():
            break
    return p, rss, done


def _compass(model: Model, b: CurveBatch, p: np.ndarray, rss: np.ndarray, lo, hi, free,
             iters: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Derivative-free polish: each free parameter ± a step, kept where better, the step halved where not."""
    p = p.copy()
    step = 0.05 * np.where(np.isfinite(hi - lo), hi - lo, np.maximum(1.0, np.abs(p)))
    start = rss.copy()

    def objective(q):
        r = np.where(b.mask, b.y - model.predict(q, b.x), 0.0)
        return np.einsum("cn,cn,cn->c", b.w, r, r)

    for _ in range(iters):
        for i in np.flatnonzero(free.any(0)):
            improved = np.zeros(len(p), bool)
            for sign in (1.0, -1.0):
                q = p.copy()
                q[:, i] = np.clip(p[:, i] + sign * step[:, i], lo[:, i], hi[:, i])
                r = objective(q)
                better = free[:, i] & (r < rss * (1 - 1e-12))
                p[better], rss[better] = q[better], r[better]
                improved |= better
            step[:, i] = np.where(improved, step[:, i], step[:, i] / 2)
    return p, np.flatnonzero(rss < start * (1 - 1e-12))


def _jacobian_of(model: Model, p: np.ndarray, x: np.ndarray, free: np.ndarray) -> np.ndarray:
    """d prediction / d parameter (C, N, P) by central differences; 0 for fixed parameters."""
    J = np.zeros(x.shape + (p.shape[1],))
    for i in np.flatnonzero(free.any(0)):
        h = 1e-6 * np.maximum(1.0, np.abs(p[:, i]))
        up, down = p.copy(), p.copy()
        up[:, i] += h
        down[:, i] -= h
        J[..., i] = np.where(free[:, i:i + 1], (model.predict(up, x) - model.predict(down, x)) / (2 * h[:, None]), 0)
    return J




def free_parameters(fit: ModelFit, batch: CurveBatch) -> np.ndarray:
    """Which parameters were fitted (C, P): fixed ones (x_ref, a known chance) have no error."""
    return fit.spec.free(batch)


def _jacobian(fit: ModelFit, x: np.ndarray) -> np.ndarray:
    """d prediction / d parameter at x, by forward differences: (C, N, P)."""
    P = fit.params.shape[1]
    base = fit.predict(x)
    J = np.zeros(x.shape + (P,))
    model = fit.spec
    for i in range(P):
        h = 1e-6 * np.maximum(1.0, np.abs(fit.params[:, i]))
        p2 = fit.params.copy(); p2[:, i] += h
        J[..., i] = (model.predict(p2, x) - base) / h[:, None]
    return J


def unscaled_covariance(fit: ModelFit, batch: CurveBatch) -> np.ndarray:
    """(JᵀWJ)⁻¹ at the optimum, (C, P, P); nan where singular. Fixed parameters get 0."""
    P = fit.params.shape[1]
    free = free_parameters(fit, batch)
    J = np.where(free[:, None, :] & batch.mask[..., None], _jacobian(fit, batch.x), 0.0)
    A = np.einsum("cnp,cn,cnq->cpq", J, batch.w, J)
    A = A + np.eye(P)[None] * (~free)[:, None, :]          # keep fixed params out of the solve
    cov = np.full(A.shape, np.nan)
    ok = np.isfinite(A).all((1, 2)) & (np.linalg.cond(np.where(np.isfinite(A), A, 0)) < 1e14)
    if ok.any():
        cov[ok] = np.linalg.inv(A[ok])
    return np.where(free[:, :, None] & free[:, None, :], cov, 0.0)


def standard_errors(fit: ModelFit, batch: CurveBatch) -> np.ndarray:
    """Asymptotic standard errors from the Jacobian at the optimum.

    cov = (JᵀWJ)⁻¹, times the residual variance when the noise was estimated.
    Fixed parameters get nan.
    """
    cov = unscaled_covariance(fit, batch)
    dof = fit.n - fit.n_free
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(batch.known_noise, 1.0, np.where(dof > 0, fit.rss / dof, np.nan))
        se = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0, None) * scale[:, None])
    se[~free_parameters(fit, batch)] = np.nan
    return se


def prediction_se(fit: ModelFit, batch: CurveBatch, x_new: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Standard error of the fitted curve at x_new (C, M) by the delta method."""
    J = _jacobian(fit, x_new)
    cov = unscaled_covariance(fit, batch) * scale[:, None, None]
    return np.sqrt(np.clip(np.einsum("cmp,cpq,cmq->cm", J, cov, J), 0, None))

"""Fitting every candidate model to many curves at once.

The models are linear in all but at most two parameters, so each fit profiles
the linear parameters out in closed form (weighted least squares, with their
bounds) and searches the remaining ones (power: alpha; sigmoid: k and x0) on a
grid over the whole bounded region, then zooms in around the best cell. A
global grid start means no curve is left in a local minimum, and everything is
array arithmetic over (curves × grid × points): no per-curve Python loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .curves import CurveBatch
from .models import PARAMS, logistic, predict

#: search bounds of the non-linear parameters
ALPHA_BOUNDS = (0.02, 2.0)      # power exponent, per decade
K_BOUNDS = (0.3, 30.0)          # sigmoid steepness: 10-90 % width 14.6 to 0.15 decades
X0_MARGIN = 1.0                 # x0 may sit this many decades outside the data
_MAX_CELLS = 4_000_000          # curves × grid × points evaluated per chunk
_MAX_LM_CELLS = 2_000_000       # curves × points polished at once
LN10 = np.log(10.0)
FTOL = 1e-10                    # polish stops: a step gains less than this share of the objective,
PTOL = 1e-12                    # or the local model promises less than this share


@dataclass
class ModelFit:
    """One model fitted to a batch of curves: parameters, errors, diagnostics."""

    model: str
    params: np.ndarray          # (C, P), names in PARAMS[model]
    rss: np.ndarray             # weighted residual sum of squares (chi² for known noise)
    n: np.ndarray               # points per curve
    n_free: np.ndarray          # fitted parameters per curve
    known_noise: np.ndarray
    converged: np.ndarray
    at_bound: np.ndarray
    se: np.ndarray | None = field(default=None)

    @property
    def param_names(self) -> tuple[str, ...]:
        return PARAMS[self.model]

    def predict(self, x: np.ndarray) -> np.ndarray:
        return predict(self.model, self.params, x)

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
def fit_linear(batch: CurveBatch, degree: int) -> ModelFit:
    """Weighted least squares of degree 0 (flat), 1 (loglinear) or 2 (quadratic)."""
    model = {0: "flat", 1: "loglinear", 2: "quadratic"}[degree]
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
    fit = ModelFit(model, params, rss, n, np.full(len(n), degree + 1), batch.known_noise,
                   ok, np.zeros(len(n), bool))
    return fit


# ---------------------------------------------------------------- profile search
def _grid_search(profile, lo, hi, sizes, zooms, n_points):
    """Minimise profile(theta) over a box per curve: global grid, then zoom.

    profile(theta (C, G, D)) -> (rss (C, G), linear (C, G, L), clipped (C, G)).
    Returns best theta (C, D), linear (C, L), rss (C,), converged, clipped.
    """
    C, D = lo.shape
    axes = [np.linspace(0.0, 1.0, s) for s in sizes]
    unit = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, D)     # (G, D)
    theta = lo[:, None, :] + unit[None] * (hi - lo)[:, None, :]
    rss, lin, clip = profile(theta)
    best = np.nanargmin(np.where(np.isfinite(rss), rss, np.inf), axis=1)
    take = np.arange(C)
    t_best, l_best, r_best, c_best = theta[take, best], lin[take, best], rss[take, best], clip[take, best]
    step = (hi - lo) / (np.asarray(sizes) - 1)
    # the neighbours of the best cell (the cell itself is already known)
    offsets = np.stack(np.meshgrid(*[np.array([-1.0, 0.0, 1.0])] * D,
                                   indexing="ij"), -1).reshape(-1, D)
    offsets = offsets[np.abs(offsets).sum(1) > 0]
    change = np.full(C, np.inf)
    for _ in range(zooms):
        cand = np.clip(t_best[:, None, :] + offsets[None] * step[:, None, :],
                       lo[:, None, :], hi[:, None, :])
        rss, lin, clip = profile(cand)
        rss = np.where(np.isfinite(rss), rss, np.inf)
        j = np.argmin(rss, axis=1)
        r_new = rss[take, j]
        better = r_new < r_best
        change = np.where(better, r_best - r_new, 0.0)
        t_best = np.where(better[:, None], cand[take, j], t_best)
        l_best = np.where(better[:, None], lin[take, j], l_best)
        c_best = np.where(better, clip[take, j], c_best)
        r_best = np.where(better, r_new, r_best)
        step = step / 2.0
    converged = np.isfinite(r_best) & (change <= 1e-6 * r_best + 1e-9)
    return t_best, l_best, r_best, converged, c_best


def _chunked(batch: CurveBatch, grid_cells: int, fn):
    """Run fn on slices of the batch small enough to keep memory bounded."""
    C, N = batch.x.shape
    size = max(1, _MAX_CELLS // max(1, grid_cells * N))
    parts = [fn(batch.take(slice(i, i + size))) for i in range(0, C, size)]
    return [np.concatenate(p) for p in zip(*parts)] if parts else None


def _wsum(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_n w[c, n]·a[c, g, n] as a batched matrix product (C, G)."""
    return np.matmul(a, w[:, :, None])[..., 0]


def _ls2(s1, sz, szz, sy, szy, syy):
    """Weighted least squares of y on [1, z] from sufficient statistics.

    Returns intercept, slope and RSS; the RSS is computed from the sums, so
    the (curves × grid × points) arrays are reduced only three times.
    """
    det = s1 * szz - sz ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        b = (s1 * szy - sz * sy) / det
        a = (sy - b * sz) / s1
    rss = _rss(a, b, s1, sz, szz, sy, szy, syy)
    return a, b, np.where(det > 1e-12 * s1 * szz, rss, np.inf)


def _rss(a, b, s1, sz, szz, sy, szy, syy):
    """Σw(y − a − b·z)² expanded in sufficient statistics, never below 0."""
    r = syy - 2 * a * sy - 2 * b * szy + a * a * s1 + 2 * a * b * sz + b * b * szz
    return np.maximum(r, 0.0)


# ---------------------------------------------------------------- power
def fit_power(batch: CurveBatch, grid: int = 24, zooms: int = 16) -> ModelFit:
    """y = a + b·10^(−alpha·(x − x_ref)), alpha > 0: scaling-law improvement (or decline)."""
    def run(b: CurveBatch):
        C = len(b)
        x_ref = np.where(b.mask, b.x, np.inf).min(1)
        w = b.w; dx = (b.x - x_ref[:, None])[:, None, :]
        s1 = w.sum(1)[:, None]; sy = (w * b.y).sum(1)[:, None]; syy = (w * b.y ** 2).sum(1)[:, None]
        wy = w * b.y

        def profile(theta):
            z = np.exp(-LN10 * np.exp(theta[..., 0])[..., None] * dx)        # 10^(−alpha·dx): (C, G, N)
            aa, bb, r = _ls2(s1, _wsum(z, w), _wsum(z * z, w), sy, _wsum(z, wy), syy)
            return r, np.stack([aa, bb], -1), np.zeros(r.shape, bool)

        lo = np.full((C, 1), np.log(ALPHA_BOUNDS[0])); hi = np.full((C, 1), np.log(ALPHA_BOUNDS[1]))
        t, lin, rss, conv, _ = _grid_search(profile, lo, hi, (grid,), zooms, b.x.shape[1])
        alpha = np.exp(t[:, 0])
        at_b = (np.abs(t[:, 0] - lo[:, 0]) < 1e-9) | (np.abs(t[:, 0] - hi[:, 0]) < 1e-9)
        return np.column_stack([lin, alpha, x_ref]), rss, conv, at_b

    params, rss, conv, at_b = _chunked(batch, grid, run)
    return ModelFit("power", params, rss, batch.n, np.full(len(batch), 3), batch.known_noise,
                    conv, at_b)


# ---------------------------------------------------------------- sigmoid
def _sigmoid_linear(stats, s, w, wy, chance):
    """Best (c, h) for a given logistic shape s, within 0 ≤ c, 0 ≤ h, c + h ≤ 1.

    With chance known, c is fixed and only h is fitted (clipping the 1-D
    solution is exact). With chance unknown the 2-D box-constrained problem is
    solved exactly: the interior solution if feasible, else the best edge.
    """
    s1, sy, syy = stats
    sz, szz, szy = _wsum(s, w), _wsum(s * s, w), _wsum(s, wy)
    known = np.isfinite(chance)[:, None]
    c0 = np.where(known, chance[:, None], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # chance known: h alone
        h_k = np.clip((szy - c0 * sz) / szz, 0.0, 1.0 - c0)
        r_k = _rss(c0, h_k, s1, sz, szz, sy, szy, syy)
    if known.all():
        return np.broadcast_to(c0, sz.shape), h_k, r_k, (h_k <= 0) | (h_k >= 1 - c0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # chance unknown: interior, then the edges h = 0, c = 0, c + h = 1
        c_i, h_i, r_i = _ls2(s1, sz, szz, sy, szy, syy)
        feas = (h_i >= 0) & (c_i >= 0) & (c_i + h_i <= 1) & np.isfinite(r_i)
        cands = [(c_i, h_i, np.where(feas, r_i, np.inf))]
        cands.append((np.clip(sy / s1, 0, 1) + 0 * sz, 0 * sz))
        cands.append((0 * sz, np.clip(szy / szz, 0, 1)))
        c_e = np.clip((sy - szy - sz + szz) / (s1 - 2 * sz + szz), 0, 1)
        cands.append((c_e, 1.0 - c_e))
    best_r = np.full(sz.shape, np.inf); best_c = np.zeros_like(sz); best_h = np.zeros_like(sz)
    for k, (cc, hh, *rr) in enumerate(cands):
        r = rr[0] if rr else _rss(cc, hh, s1, sz, szz, sy, szy, syy)
        r = np.where(np.isfinite(r), r, np.inf)
        better = r < best_r
        best_r = np.where(better, r, best_r)
        best_c = np.where(better, cc, best_c)
        best_h = np.where(better, hh, best_h)
    c = np.where(known, c0 + 0 * sz, best_c)
    h = np.where(known, h_k, best_h)
    r = np.where(known, r_k, best_r)
    clipped = np.where(known, (h <= 0) | (h >= 1 - c0), ~feas)
    return c, h, r, clipped


def _sigmoid_project(p, free_c, chance, lo_x0, hi_x0):
    """Put sigmoid parameters back inside their bounds."""
    c = np.where(free_c, np.clip(p[:, 0], 0.0, 1.0), chance)
    h = np.clip(p[:, 1], 0.0, 1.0 - c)
    k = np.clip(p[:, 2], *K_BOUNDS)
    x0 = np.clip(p[:, 3], lo_x0, hi_x0)
    return np.column_stack([c, h, k, x0])


def _sigmoid_lm(b: CurveBatch, p0: np.ndarray, lo_x0, hi_x0, iters: int = 300):
    """Damped Newton (Levenberg-Marquardt with the exact Hessian) on (c, h, k, x0).

    All curves at once, from where the grid left off; c stays at chance where
    chance is known. The exact Hessian matters: in the long flat valley along
    which k and x0 trade off, Gauss-Newton zig-zags for hundreds of steps when
    the residuals are not small. The damping follows Nielsen (1999); bounds
    are kept by projection, holding a parameter on its bound while the
    gradient pushes outward. A curve stops when a step gains less than `FTOL`
    of its objective, or when the local model promises less than `PTOL` (an
    optimum, possibly on a bound); the curves still moving are compacted so
    that the work shrinks as they settle.
    """
    C = len(b)
    free_c = ~np.isfinite(b.chance)
    chance = np.where(free_c, 0.0, b.chance)
    p = _sigmoid_project(p0, free_c, chance, lo_x0, hi_x0)
    out_p, out_rss, converged = p.copy(), np.full(C, np.inf), np.zeros(C, bool)
    # the working set: the curves still moving, compacted as they settle
    idx, x, y, w, fc, ch, lo, hi = np.arange(C), b.x, b.y, b.w, free_c, chance, lo_x0, hi_x0

    def evaluate(p, x, y, w):
        s = logistic(p[:, 2:3] * (x - p[:, 3:4]))
        r = y - p[:, 0:1] - p[:, 1:2] * s
        return s, r, np.einsum("cn,cn,cn->c", w, r, r)

    def derivatives(p, s, r, x, w, fc):
        """Gradient JᵀWr and Hessian JᵀWJ − Σ w·r·∇²f of the half objective."""
        C, N = s.shape
        h, k = p[:, 1:2], p[:, 2:3]
        u = x - p[:, 3:4]
        s1 = s * (1.0 - s)
        s2 = s1 * (1.0 - 2.0 * s)
        d = h * s1
        Jt = np.empty((C, 4, N))              # columns ∂f/∂(c, h, k, x0), one row each
        Jt[:, 0] = fc[:, None]
        Jt[:, 1] = s
        np.multiply(d, u, out=Jt[:, 2])
        np.multiply(-k, d, out=Jt[:, 3])
        JtW = Jt * w[:, None, :]
        H = JtW @ Jt.transpose(0, 2, 1)
        scale = np.diagonal(H, axis1=1, axis2=2).copy()
        g = (JtW @ r[..., None])[..., 0]
        T = np.empty((C, 5, N))               # second-derivative pieces, against w·r
        np.multiply(s1, u, out=T[:, 0])
        T[:, 1] = s1
        np.multiply(s2, u * u, out=T[:, 2])
        np.multiply(s2, u, out=T[:, 3])
        T[:, 4] = s2
        t = (T @ (w * r)[..., None])[..., 0]
        h, k = h[:, 0], k[:, 0]
        H[:, 1, 2] -= t[:, 0]
        H[:, 1, 3] += k * t[:, 1]
        H[:, 2, 2] -= h * t[:, 2]
        H[:, 2, 3] += h * (k * t[:, 3] + t[:, 1])
        H[:, 3, 3] -= h * k * k * t[:, 4]
        H[:, 2, 1], H[:, 3, 1], H[:, 3, 2] = H[:, 1, 2], H[:, 1, 3], H[:, 2, 3]
        return g, H, scale

    s, r, rss = evaluate(p, x, y, w)
    g, H, scale = derivatives(p, s, r, x, w, fc)
    lam, nu = np.full(C, 1e-3), np.full(C, 2.0)
    eye = np.eye(4)[None]
    for _ in range(iters):
        n = len(idx)
        lower = np.column_stack([np.zeros(n), np.zeros(n), np.full(n, K_BOUNDS[0]), lo])
        upper = np.column_stack([np.ones(n), 1.0 - p[:, 0], np.full(n, K_BOUNDS[1]), hi])
        held = ((p <= lower + 1e-12) & (g < 0)) | ((p >= upper - 1e-12) & (g > 0))
        held[:, 0] |= ~fc
        keep = ~held
        Hh = H * (keep[:, :, None] & keep[:, None, :])
        gh = np.where(held, 0.0, g)
        damp = lam[:, None] * np.maximum(scale, 1e-12) + held
        step = np.linalg.solve(Hh + damp[:, :, None] * eye, gh[..., None])[..., 0]
        step = np.where(np.isfinite(step), step, 0.0)
        p_new = _sigmoid_project(p + step, fc, ch, lo, hi)
        delta = p_new - p
        # what the quadratic model promises, for the full and the projected step
        promised = 2 * (step * gh).sum(1) - np.einsum("cp,cpq,cq->c", step, Hh, step)
        predicted = 2 * (delta * gh).sum(1) - np.einsum("cp,cpq,cq->c", delta, Hh, delta)
        s_new, r_new, rss_new = evaluate(p_new, x, y, w)
        better = (rss_new < rss) & (predicted > 0)
        gain = np.where(better, (rss - rss_new) / np.maximum(rss_new, 1e-300), 0.0)
        rho = np.where(better, (rss - rss_new) / np.where(predicted > 0, predicted, 1.0), 0.0)
        lam = np.clip(np.where(better, lam * np.maximum(1 / 3, 1 - (2 * rho - 1) ** 3), lam * nu), 1e-12, 1e12)
        nu = np.where(better, 2.0, nu * 2.0)
        if better.any():
            p[better], rss[better] = p_new[better], rss_new[better]
            s[better], r[better] = s_new[better], r_new[better]
            g[better], H[better], scale[better] = derivatives(p[better], s[better], r[better], x[better],
                                                              w[better], fc[better])
        done = ((better & (gain < FTOL)) | (np.abs(promised) <= PTOL * rss + 1e-30)
                | (~better & (lam >= 1e12)))
        if done.any():
            out_p[idx[done]], out_rss[idx[done]] = p[done], rss[done]
            converged[idx[done]] = True
            go = ~done
            idx, x, y, w, fc, ch, lo, hi = idx[go], x[go], y[go], w[go], fc[go], ch[go], lo[go], hi[go]
            p, rss, s, r, g, H, scale, lam, nu = (a[go] for a in (p, rss, s, r, g, H, scale, lam, nu))
        if len(idx) == 0:
            break
    out_p[idx], out_rss[idx] = p, rss
    return out_p, out_rss, converged


def fit_sigmoid(batch: CurveBatch, grid: tuple[int, int] = (8, 14), starts: int = 2) -> ModelFit:
    """y = c + h·logistic(k·(x − x0)): chance floor c, rise h, emergence scale x0.

    A global grid over (k, x0) with h (and c) profiled out; Levenberg-Marquardt
    from the best cell of each of the `starts` best steepness levels; the best
    of these is kept. The grid runs in slices that bound its memory; the
    polish runs on far larger slices, since its cost is per iteration more
    than per curve. Only bounded metrics: the floor and ceiling mean nothing
    for a perplexity.
    """
    C = len(batch)
    lo_x0 = np.where(batch.mask, batch.x, np.inf).min(1) - X0_MARGIN
    hi_x0 = np.where(batch.mask, batch.x, -np.inf).max(1) + X0_MARGIN
    if C == 0:
        p0 = np.zeros((0, starts, 4))
    else:
        p0, = _chunked(batch, grid[0] * grid[1], lambda b: (_sigmoid_starts(b, grid, starts),))
    # every start of every curve in one polish
    rep = batch.repeat(starts)
    lo_r, hi_r = np.repeat(lo_x0, starts), np.repeat(hi_x0, starts)

    def polish(sl):
        return _sigmoid_lm(rep.take(sl), p0.reshape(-1, 4)[sl], lo_r[sl], hi_r[sl])

    size = max(1, _MAX_LM_CELLS // max(1, rep.x.shape[1]))
    parts = [polish(slice(i, i + size)) for i in range(0, len(rep), size)]
    p, r, conv = (np.concatenate(a).reshape((C, starts) + a[0].shape[1:]) for a in zip(*parts)) \
        if parts else (np.zeros((0, starts, 4)), np.zeros((0, starts)), np.zeros((0, starts), bool))
    j = np.argmin(np.where(np.isfinite(r), r, np.inf), axis=1)
    take = np.arange(C)
    best_p, rss, conv = p[take, j], r[take, j], conv[take, j]
    c, h, k, x0 = best_p.T
    tol = 1e-6
    at_b = ((k <= K_BOUNDS[0] * (1 + tol)) | (k >= K_BOUNDS[1] * (1 - tol))
            | (x0 <= lo_x0 + tol) | (x0 >= hi_x0 - tol) | (h <= tol) | (c + h >= 1 - tol))
    bounded = batch.bounded
    rss = np.where(bounded, rss, np.nan)
    params = np.where(bounded[:, None], best_p, np.nan)
    n_free = np.where(np.isfinite(batch.chance), 3, 4)
    return ModelFit("sigmoid", params, rss, batch.n, n_free, batch.known_noise,
                    conv & bounded, at_b & bounded)


def _sigmoid_starts(b: CurveBatch, grid: tuple[int, int], starts: int) -> np.ndarray:
    """Starting points (C, starts, 4) from the profiled grid over (log k, x0)."""
    C = len(b)
    xmin = np.where(b.mask, b.x, np.inf).min(1); xmax = np.where(b.mask, b.x, -np.inf).max(1)
    w = b.w; wy = w * b.y; x = b.x[:, None, :]
    stats = (w.sum(1)[:, None], wy.sum(1)[:, None], (wy * b.y).sum(1)[:, None])

    def profile(theta):
        k = np.exp(theta[..., 0])[..., None]
        s = logistic(k * (x - theta[..., 1][..., None]))
        c, h, r, clipped = _sigmoid_linear(stats, s, w, wy, b.chance)
        return r, np.stack([c, h], -1), clipped

    lo = np.column_stack([np.full(C, np.log(K_BOUNDS[0])), xmin - X0_MARGIN])
    hi = np.column_stack([np.full(C, np.log(K_BOUNDS[1])), xmax + X0_MARGIN])
    return np.stack(_grid_starts(profile, lo, hi, grid, starts), 1)


def _grid_starts(profile, lo, hi, sizes, n):
    """Starting points: the best x0 cell of each of the n best steepness levels."""
    C, D = lo.shape
    axes = [np.linspace(0.0, 1.0, s) for s in sizes]
    unit = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, D)
    theta = lo[:, None, :] + unit[None] * (hi - lo)[:, None, :]
    rss, lin, _ = profile(theta)
    rss = np.where(np.isfinite(rss), rss, np.inf).reshape(C, sizes[0], sizes[1])
    # best x0 per steepness level, then the best levels
    j = rss.argmin(2)
    level_rss = np.take_along_axis(rss, j[..., None], 2)[..., 0]
    order = np.argsort(level_rss, axis=1)
    out = []
    lin = lin.reshape(C, sizes[0], sizes[1], -1)
    th = theta.reshape(C, sizes[0], sizes[1], D)
    take = np.arange(C)
    for r in range(min(n, sizes[0])):
        kk = order[:, r]
        xx = j[take, kk]
        t = th[take, kk, xx]
        out.append(np.column_stack([lin[take, kk, xx], np.exp(t[:, 0]), t[:, 1]]))
    return out


# ---------------------------------------------------------------- all together
def fit_all(batch: CurveBatch, with_se: bool = True) -> dict[str, ModelFit]:
    """Every candidate model on every curve of the batch."""
    fits = {
        "flat": fit_linear(batch, 0),
        "loglinear": fit_linear(batch, 1),
        "quadratic": fit_linear(batch, 2),
        "power": fit_power(batch),
        "sigmoid": fit_sigmoid(batch),
    }
    if with_se:
        for f in fits.values():
            f.se = standard_errors(f, batch)
    return fits


def free_parameters(fit: ModelFit, batch: CurveBatch) -> np.ndarray:
    """Which parameters were fitted (C, P): fixed ones (x_ref, a known chance) have no error."""
    free = np.ones(fit.params.shape, bool)
    if fit.model == "power":
        free[:, 3] = False
    if fit.model == "sigmoid":
        free[:, 0] = ~np.isfinite(batch.chance)
    return free


def _jacobian(fit: ModelFit, x: np.ndarray) -> np.ndarray:
    """d prediction / d parameter at x, by forward differences: (C, N, P)."""
    P = fit.params.shape[1]
    base = fit.predict(x)
    J = np.zeros(x.shape + (P,))
    for i in range(P):
        h = 1e-6 * np.maximum(1.0, np.abs(fit.params[:, i]))
        p2 = fit.params.copy(); p2[:, i] += h
        J[..., i] = (predict(fit.model, p2, x) - base) / h[:, None]
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

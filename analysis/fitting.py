"""Fitting every candidate model to many curves at once.

The models are linear in all but at most two parameters, so each fit profiles
the linear parameters out in closed form (weighted least squares, with their
bounds) and searches the remaining ones (power: alpha; sigmoid: k and x0) on a
grid over the whole bounded region. The power fit then zooms in around its
best cell; the sigmoid is polished from its best cells by a damped Newton
method. Everything is array arithmetic over (curves × grid × points), and a
curve's bootstrap replicates share its grid: no per-curve Python loop.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .curves import CurveBatch
from .models import REGISTRY, X0_MARGIN, Model, get, logistic
from .models.power import ALPHA_BOUNDS
from .models.sigmoid import K_BOUNDS

_MAX_CELLS = 500_000            # curves × grid × points evaluated per slice (cache-sized)
_MAX_LM_CELLS = 150_000         # curves × points polished at once (cache-sized)
LN10 = np.log(10.0)
FTOL = 1e-10                    # polish stops: a step gains less than this share of the objective,
PTOL = 1e-12                    # or the local model promises less than this share
LAM0 = 1e-3                     # initial damping
STALL_EVERY = 10                # polish stops when this many steps gained < FTOL each on average
POINT_FIT_STARTS = 3            # sigmoid starts for a curve's own fit (replicates: 2 for the test)


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
        return get(self.model).params

    def predict(self, x: np.ndarray) -> np.ndarray:
        return get(self.model).predict(self.params, x)

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
# The grids are shared by bootstrap replicates: a batch whose rows come in
# blocks of `replicates` copies of one curve (same x, weights and chance)
# evaluates each grid shape once per curve, and only the sums that involve y
# per replicate, as one matrix product per curve.
def _templates(batch: CurveBatch, replicates: int) -> tuple[CurveBatch, np.ndarray]:
    """The distinct curves of a replicate batch and its scores as (curves, replicates, points)."""
    if len(batch) % replicates:
        raise ValueError(f"{len(batch)} rows are not blocks of {replicates} replicates")
    return batch.take(slice(0, None, replicates)), batch.y.reshape(-1, replicates, batch.x.shape[1])


def _template_slices(curves: int, replicates: int, points: int, cells: int) -> list[slice]:
    """Slices of template curves whose grid arrays stay cache-sized."""
    size = max(1, _MAX_CELLS // max(1, cells * max(points, replicates)))
    return [slice(i, min(i + size, curves)) for i in range(0, curves, size)]


def _grid_sums(z: np.ndarray, w: np.ndarray, Y: np.ndarray):
    """Σw·z and Σw·z² per grid cell (shared), Σw·z·y per replicate and cell.

    z (C, G, N), w (C, N), Y (C, R, N) -> (C, 1, G), (C, 1, G), (C, R, G).
    """
    wz = z * w[:, None, :]
    return wz.sum(2)[:, None, :], (wz * z).sum(2)[:, None, :], Y @ wz.transpose(0, 2, 1)


def _y_sums(Y: np.ndarray, w: np.ndarray):
    """Σw, Σw·y, Σw·y² per replicate, (C, R, 1) each (Σw shared)."""
    wY = Y * w[:, None, :]
    return w.sum(1)[:, None, None], wY.sum(2)[..., None], (wY * Y).sum(2)[..., None]


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


def _pattern_search(profile, t, best, lin, step, lo, hi, iters: int, grow: float):
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


# ---------------------------------------------------------------- power
def fit_power(batch: CurveBatch, grid: int = 48, zooms: int = 12, replicates: int = 1) -> ModelFit:
    """y = a + b·10^(−alpha·(x − x_ref)), alpha > 0: scaling-law improvement (or decline).

    a and b are profiled out in closed form; log alpha is searched on a
    global grid, then zoomed in on (the neighbours of the best value, at half
    the step each time).
    """
    C, N = batch.x.shape
    x_ref = batch.x_min
    lo, hi = np.log(ALPHA_BOUNDS[0]), np.log(ALPHA_BOUNDS[1])
    t_best, rss = _power_grid_best(batch, grid, replicates)
    # zoom, on slices of rows
    lin = np.full((C, 2), np.nan)
    change = np.full(C, np.inf)
    size = max(1, _MAX_CELLS // (2 * N))
    for i in range(0, C, size):
        rows = slice(i, i + size)
        profile = _power_profile(batch, rows)
        tb = t_best[rows]
        step = np.full(len(tb), (hi - lo) / (grid - 1))
        t_best[rows], rss[rows], lin[rows], change[rows] = _pattern_search(
            profile, tb, rss[rows], profile(tb[:, None])[1][:, 0], step, lo, hi, zooms, grow=0.5)
    rss = np.where(np.isfinite(rss), rss, np.nan)
    conv = np.isfinite(rss) & (change <= 1e-6 * rss + 1e-9)
    at_b = (np.abs(t_best - lo) < 1e-9) | (np.abs(t_best - hi) < 1e-9)
    params = np.column_stack([lin, np.exp(t_best), x_ref])
    return ModelFit("power", params, rss, batch.n, np.full(C, 3), batch.known_noise, conv, at_b)


def _power_grid_best(batch: CurveBatch, grid: int, replicates: int) -> tuple[np.ndarray, np.ndarray]:
    """The best cell of a global grid over log alpha, and its profiled RSS, per row."""
    C, N = batch.x.shape
    cells = np.linspace(np.log(ALPHA_BOUNDS[0]), np.log(ALPHA_BOUNDS[1]), grid)
    tmpl, Y = _templates(batch, replicates)
    R = replicates
    t_best, rss = np.empty(C), np.empty(C)
    for sl in _template_slices(len(tmpl), R, N, grid):
        t, y = tmpl.take(sl), Y[sl]
        dx = t.x - t.x_min[:, None]
        z = np.exp(-LN10 * np.exp(cells)[None, :, None] * dx[:, None, :])      # (c, G, N)
        r = _power_grid(z, t.w, y)
        j = r.argmin(2)
        rows = slice(sl.start * R, sl.stop * R)
        t_best[rows] = cells[j].ravel()
        rss[rows] = np.take_along_axis(r, j[..., None], 2).ravel()
    return t_best, rss


def _power_profile(batch: CurveBatch, rows: slice):
    """The power model's RSS and (a, b) as a function of log alpha, for these rows."""
    w, dx = batch.w[rows], (batch.x - batch.x_min[:, None])[rows][:, None, :]
    wy = w * batch.y[rows]
    s1, sy, syy = w.sum(1)[:, None], wy.sum(1)[:, None], (wy * batch.y[rows]).sum(1)[:, None]

    def profile(theta):
        z = np.exp(-LN10 * np.exp(theta)[..., None] * dx)
        a, b, r = _ls2(s1, _wsum(z, w), _wsum(z * z, w), sy, _wsum(z, wy), syy)
        return r, np.stack([a, b], -1)

    return profile


def power_starts(batch: CurveBatch, grid: int = 48, replicates: int = 1) -> np.ndarray:
    """The grid's best cell as a starting point (C, 1, 4), (a, b) profiled out."""
    t_best, _ = _power_grid_best(batch, grid, replicates)
    lin = _power_profile(batch, slice(None))(t_best[:, None])[1][:, 0]
    return np.column_stack([lin, np.exp(t_best), batch.x_min])[:, None, :]


def _power_grid(z, w, Y):
    """Profiled RSS of the power model on every grid cell and replicate (C, R, G)."""
    sz, szz, szy = _grid_sums(z, w, Y)
    s1, sy, syy = _y_sums(Y, w)
    r = _ls2(s1, sz, szz, sy, szy, syy)[2]
    return np.where(np.isfinite(r), r, np.inf)


# ---------------------------------------------------------------- sigmoid
def _sigmoid_linear(stats, sz, szz, szy, chance):
    """Best (c, h) for a given logistic shape s, within 0 ≤ c, 0 ≤ h, c + h ≤ 1.

    From the sums Σw, Σwy, Σwy² (`stats`) and Σw·s, Σw·s², Σw·s·y, all
    broadcastable to one shape. With chance known, c is fixed and only h is
    fitted (clipping the 1-D solution is exact). With chance unknown the 2-D
    box-constrained problem is solved exactly: the interior solution if
    feasible, else the best edge.
    """
    s1, sy, syy = stats
    known = np.isfinite(chance)
    c0 = np.where(known, chance, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # chance known: h alone
        h_k = np.clip((szy - c0 * sz) / szz, 0.0, 1.0 - c0)
        r_k = _rss(c0, h_k, s1, sz, szz, sy, szy, syy)
    shape = h_k.shape
    if known.all():
        return np.broadcast_to(c0, shape), h_k, r_k, (h_k <= 0) | (h_k >= 1 - c0)
    zero = np.zeros(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        # chance unknown: interior, then the edges h = 0, c = 0, c + h = 1
        c_i, h_i, r_i = _ls2(s1, sz, szz, sy, szy, syy)
        feas = (h_i >= 0) & (c_i >= 0) & (c_i + h_i <= 1) & np.isfinite(r_i)
        cands = [(c_i, h_i, np.where(feas, r_i, np.inf))]
        cands.append((np.clip(sy / s1, 0, 1) + zero, zero))
        cands.append((zero, np.clip(szy / szz, 0, 1) + zero))
        c_e = np.clip((sy - szy - sz + szz) / (s1 - 2 * sz + szz), 0, 1)
        cands.append((c_e + zero, 1.0 - c_e + zero))
    best_r = np.full(shape, np.inf); best_c = zero.copy(); best_h = zero.copy()
    for cc, hh, *rr in cands:
        r = rr[0] if rr else _rss(cc, hh, s1, sz, szz, sy, szy, syy)
        r = np.where(np.isfinite(r), r, np.inf)
        better = r < best_r
        best_r = np.where(better, r, best_r)
        best_c = np.where(better, cc, best_c)
        best_h = np.where(better, hh, best_h)
    c = np.where(known, c0, best_c)
    h = np.where(known, h_k, best_h)
    r = np.where(known, r_k, best_r)
    clipped = np.where(known, (h <= 0) | (h >= 1 - c0), ~feas)
    return c, h, r, clipped


def _x0_bounds(batch: CurveBatch) -> tuple[np.ndarray, np.ndarray]:
    """Where x0 may lie: the data's range widened by X0_MARGIN on each side."""
    return batch.x_min - X0_MARGIN, batch.x_max + X0_MARGIN


def _sigmoid_project(p, chance, lo_x0, hi_x0):
    """Put sigmoid parameters back inside their bounds; c at chance where known (nan: fitted)."""
    c = np.where(np.isfinite(chance), chance, np.clip(p[:, 0], 0.0, 1.0))
    h = np.clip(p[:, 1], 0.0, 1.0 - c)
    k = np.clip(p[:, 2], *K_BOUNDS)
    x0 = np.clip(p[:, 3], lo_x0, hi_x0)
    return np.column_stack([c, h, k, x0])


def _solve_step(A: np.ndarray, g: np.ndarray, free_c: np.ndarray) -> np.ndarray:
    """A⁻¹g per curve (C, 4), 0 where singular. Where the floor is fixed at
    chance, its row is inert and the symmetric (h, k, x0) block is solved in
    closed form, several times faster than LAPACK's batched 4×4; LAPACK solves
    the others. Which way a curve is solved depends on the curve alone, not on
    the batch it is in (a shard of a dataset gives the same bits as the whole)."""
    a, b, c = A[:, 1, 1], A[:, 1, 2], A[:, 1, 3]
    d, e, f = A[:, 2, 2], A[:, 2, 3], A[:, 3, 3]
    ad = [d * f - e * e, c * e - b * f, b * e - c * d, a * f - c * c, b * c - a * e, a * d - b * b]
    with np.errstate(divide="ignore", invalid="ignore"):
        det = a * ad[0] + b * ad[1] + c * ad[2]
        g1, g2, g3 = (g[:, i] / det for i in (1, 2, 3))
    step = np.column_stack([np.zeros(len(a)), ad[0] * g1 + ad[1] * g2 + ad[2] * g3,
                            ad[1] * g1 + ad[3] * g2 + ad[4] * g3, ad[2] * g1 + ad[4] * g2 + ad[5] * g3])
    if free_c.any():
        step[free_c] = np.linalg.solve(A[free_c], g[free_c][..., None])[..., 0]
    return np.where(np.isfinite(step), step, 0.0)


def _sigmoid_evaluate(p, x, y, w):
    """The logistic, the residuals and the weighted RSS at p."""
    s, r = _sigmoid_residuals(p, x, y)
    return s, r, np.einsum("cn,cn,cn->c", w, r, r)

def _sigmoid_derivatives(p, s, r, x, w, fc):
    """Gradient JᵀWr and Hessian JᵀWJ − Σ w·r·∇²f of the half objective.

    The floor's column of J is 1 (or 0 when c is fixed at chance), so its
    row of JᵀWJ is a plain weighted sum of the others: only the three
    shape columns go through the matrix product.
    """
    C, N = s.shape
    h, k = p[:, 1:2], p[:, 2:3]
    u = x - p[:, 3:4]
    s1 = s * (1.0 - s)
    s2 = s1 * (1.0 - 2.0 * s)
    d = h * s1
    Jt = np.empty((C, 3, N))              # ∂f/∂(h, k, x0), one row each
    Jt[:, 0] = s
    np.multiply(d, u, out=Jt[:, 1])
    np.multiply(-k, d, out=Jt[:, 2])
    JtW = Jt * w[:, None, :]
    wr = w * r
    H = np.zeros((C, 4, 4)); g = np.empty((C, 4))
    H[:, 1:, 1:] = JtW @ Jt.transpose(0, 2, 1)
    g[:, 1:] = (Jt @ wr[..., None])[..., 0]
    if fc.any():
        f0 = fc.astype(float)
        H[:, 0, 0] = f0 * w.sum(1)
        H[:, 0, 1:] = H[:, 1:, 0] = f0[:, None] * JtW.sum(2)
        g[:, 0] = f0 * wr.sum(1)
    else:
        g[:, 0] = 0.0
    scale = np.diagonal(H, axis1=1, axis2=2).copy()
    T = np.empty((C, 5, N))               # second-derivative pieces, against w·r
    np.multiply(s1, u, out=T[:, 0])
    T[:, 1] = s1
    np.multiply(s2, u * u, out=T[:, 2])
    np.multiply(s2, u, out=T[:, 3])
    T[:, 4] = s2
    t = (T @ wr[..., None])[..., 0]
    h, k = h[:, 0], k[:, 0]
    H[:, 1, 2] -= t[:, 0]
    H[:, 1, 3] += k * t[:, 1]
    H[:, 2, 2] -= h * t[:, 2]
    H[:, 2, 3] += h * (k * t[:, 3] + t[:, 1])
    H[:, 3, 3] -= h * k * k * t[:, 4]
    H[:, 2, 1], H[:, 3, 1], H[:, 3, 2] = H[:, 1, 2], H[:, 1, 3], H[:, 2, 3]
    return g, H, scale


def _damped_step(p, g, H, scale, lam, lower, upper, fc, ch, lo, hi):
    """One projected, damped Newton step: the new point and what the local model promises
    for the full and for the projected step. Parameters on a bound with the gradient
    pushing outward (and c where it is fixed at chance) are held."""
    held = ((p <= lower) & (g < 0)) | ((p >= upper) & (g > 0))
    held[:, 0] |= ~fc
    keep = ~held
    Hh = H * (keep[:, :, None] & keep[:, None, :])
    gh = np.where(held, 0.0, g)
    damp = lam[:, None] * np.maximum(scale, 1e-12) + held
    step = _solve_step(Hh + damp[:, :, None] * np.eye(4)[None], gh, fc)
    p_new = _sigmoid_project(p + step, ch, lo, hi)
    delta = p_new - p
    promised = 2 * (step * gh).sum(1) - np.einsum("cp,cpq,cq->c", step, Hh, step)
    predicted = 2 * (delta * gh).sum(1) - np.einsum("cp,cpq,cq->c", delta, Hh, delta)
    return p_new, promised, predicted


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
    that the work shrinks as they settle. Each curve's steps depend on its
    own state only, never on which other curves share the batch: a curve's
    fit is the same in a shard of its dataset as in the whole (an earlier
    version paused the slow few of each slice to polish them together, which
    made a fit depend on its neighbours and saved nothing measurable: 34.4 vs
    34.6 s CPU on the Pythia checkpoints).
    """
    C = len(b)
    p = _sigmoid_project(p0, b.chance, lo_x0, hi_x0)
    out_p, out_rss, converged = p.copy(), np.full(C, np.inf), np.zeros(C, bool)
    # the working set: the curves still moving, compacted as they settle
    idx, x, y, w, ch, lo, hi = np.arange(C), b.x, b.y, b.w, b.chance, lo_x0, hi_x0
    fc = ~np.isfinite(ch)
    s, r, rss = _sigmoid_evaluate(p, x, y, w)
    g, H, scale = _sigmoid_derivatives(p, s, r, x, w, fc)
    lam, nu = np.full(C, LAM0), np.full(C, 2.0)
    before = rss.copy()
    lower = np.column_stack([np.zeros(C), np.zeros(C), np.full(C, K_BOUNDS[0]), lo]) + 1e-12
    upper = np.column_stack([np.ones(C), np.ones(C), np.full(C, K_BOUNDS[1]), hi]) - 1e-12
    for it in range(iters):
        upper[:, 1] = 1.0 - p[:, 0] - 1e-12
        p_new, promised, predicted = _damped_step(p, g, H, scale, lam, lower, upper, fc, ch, lo, hi)
        s_new, r_new, rss_new = _sigmoid_evaluate(p_new, x, y, w)
        better = (rss_new < rss) & (predicted > 0)
        gain = np.where(better, (rss - rss_new) / np.maximum(rss_new, 1e-300), 0.0)
        rho = np.where(better, (rss - rss_new) / np.where(predicted > 0, predicted, 1.0), 0.0)
        lam = np.clip(np.where(better, lam * np.maximum(1 / 3, 1 - (2 * rho - 1) ** 3), lam * nu), 1e-12, 1e12)
        nu = np.where(better, 2.0, nu * 2.0)
        if better.all():
            p, rss, s, r = p_new, rss_new, s_new, r_new
        elif better.any():
            p[better], rss[better] = p_new[better], rss_new[better]
            s[better], r[better] = s_new[better], r_new[better]
        done = ((better & (gain < FTOL)) | (np.abs(promised) <= PTOL * rss + 1e-30)
                | (~better & (lam >= 1e12)))
        if it % STALL_EVERY == STALL_EVERY - 1:
            # stalled: a whole round of steps gained less than FTOL·STALL_EVERY
            # (a direction along which the objective is flat, e.g. k of a step)
            done |= (before - rss) <= FTOL * STALL_EVERY * rss
            before = rss.copy()
        # new derivatives only where a step was taken and the curve goes on
        moved = better & ~done
        if moved.all():
            g, H, scale = _sigmoid_derivatives(p, s, r, x, w, fc)
        elif moved.any():
            g[moved], H[moved], scale[moved] = _sigmoid_derivatives(
                p[moved], s[moved], r[moved], x[moved], w[moved], fc[moved])
        if done.any():
            out_p[idx[done]], out_rss[idx[done]] = p[done], rss[done]
            converged[idx[done]] = True
            go = ~done
            idx, x, y, w, fc, ch, lo, hi = idx[go], x[go], y[go], w[go], fc[go], ch[go], lo[go], hi[go]
            p, rss, s, r, g, H, scale, lam, nu, before, lower, upper = (
                a[go] for a in (p, rss, s, r, g, H, scale, lam, nu, before, lower, upper))
    out_p[idx], out_rss[idx] = p, rss
    return out_p, out_rss, converged


def fit_sigmoid(batch: CurveBatch, grid: tuple[int, int] = (8, 14), starts: int = 2,
                replicates: int = 1) -> ModelFit:
    """y = c + h·logistic(k·(x − x0)): chance floor c, rise h, emergence scale x0.

    A global grid over (k, x0) with h (and c) profiled out (`sigmoid_starts`),
    then `polish_sigmoid` from the best cell of each of the `starts` best
    steepness levels. Only bounded metrics: the floor and ceiling mean nothing
    for a perplexity.
    """
    return polish_sigmoid(batch, sigmoid_starts(batch, grid, starts, replicates))


def _sigmoid_residuals(p: np.ndarray, x: np.ndarray, y: np.ndarray):
    """The logistic s and the residuals y − c − h·s at parameters p (C, 4)."""
    s = logistic(p[:, 2:3] * (x - p[:, 3:4]))
    return s, y - p[:, 0:1] - p[:, 1:2] * s


def sigmoid_objective(batch: CurveBatch, params: np.ndarray) -> np.ndarray:
    """The weighted RSS at parameters (C, 4), computed as the polish computes it."""
    r = _sigmoid_residuals(params, batch.x, batch.y)[1]
    return np.einsum("cn,cn,cn->c", batch.w, r, r)


def polish_sigmoid(batch: CurveBatch, p0: np.ndarray) -> ModelFit:
    """Damped Newton from every start (C, starts, 4); the best of these is kept.

    Steps at the steepness bound then slide along their valley
    (`_slide_steps`). The polish runs on cache-sized slices; the few still
    moving after its step limit get one more round. The result is never worse
    than the best start.
    """
    C, starts = p0.shape[:2]
    lo_x0, hi_x0 = _x0_bounds(batch)
    # every start of every curve in one polish
    rep = batch.repeat(starts)
    lo_r, hi_r = np.repeat(lo_x0, starts), np.repeat(hi_x0, starts)

    M = len(rep)
    p, r, conv = p0.reshape(M, 4).copy(), np.full(M, np.inf), np.zeros(M, bool)
    size = max(1, _MAX_LM_CELLS // max(1, rep.x.shape[1]))
    for i in range(0, M, size):
        sl = slice(i, min(i + size, M))
        p[sl], r[sl], conv[sl] = _sigmoid_lm(rep.take(sl), p[sl], lo_r[sl], hi_r[sl])
    # the few still moving after `iters` steps: one more round
    rest = np.flatnonzero(~conv)
    if len(rest):
        p[rest], r[rest], conv[rest] = _sigmoid_lm(rep.take(rest), p[rest], lo_r[rest], hi_r[rest])
    p, r, conv = p.reshape(C, starts, 4), r.reshape(C, starts), conv.reshape(C, starts)
    j = np.argmin(np.where(np.isfinite(r), r, np.inf), axis=1)
    take = np.arange(C)
    best_p, rss, conv = p[take, j], r[take, j], conv[take, j]
    best_p, rss = _slide_steps(batch, best_p, rss, lo_x0, hi_x0)
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


def _slide_steps(b: CurveBatch, p: np.ndarray, rss: np.ndarray, lo_x0, hi_x0, iters: int = 40):
    """Fits at the steepness bound: slide x0 with (c, h) profiled out exactly.

    With k at its bound the sigmoid is a step between two sizes, and the
    objective is nearly flat along a valley where x0 and h trade off (a step
    just before the last size, say, whose height grows as it moves right);
    the polish crawls there. A pattern search over x0 alone, (c, h) in closed
    form, walks the valley to its end in a few dozen steps. It only ever
    keeps a better objective.
    """
    sel = np.flatnonzero(np.isfinite(rss) & (p[:, 2] >= K_BOUNDS[1] * (1 - 1e-9)))
    if len(sel) == 0:
        return p, rss
    sb = b.take(sel)
    w, wy = sb.w, sb.w * sb.y
    stats = (w.sum(1)[:, None], wy.sum(1)[:, None], (wy * sb.y).sum(1)[:, None])
    k, chance = p[sel, 2:3], sb.chance[:, None]

    def profile(x0):
        s = logistic(k[:, :, None] * (sb.x[:, None, :] - x0[..., None]))
        c, h, r, _ = _sigmoid_linear(stats, _wsum(s, w), _wsum(s * s, w), _wsum(s, wy), chance)
        return r, np.stack([np.broadcast_to(c, r.shape), h], -1)

    x0, best, floor_rise, _ = _pattern_search(profile, p[sel, 3], rss[sel], p[sel, :2], np.full(len(sel), 0.01),
                                      lo_x0[sel, None], hi_x0[sel, None], iters, grow=2.0)
    p, rss = p.copy(), rss.copy()
    p[sel] = np.column_stack([floor_rise, k[:, 0], x0])
    rss[sel] = best
    return p, rss


def sigmoid_starts(batch: CurveBatch, grid: tuple[int, int] = (8, 14), starts: int = 2,
                   replicates: int = 1) -> np.ndarray:
    """Starting points (C, starts, 4): the best x0 cell of each of the best steepness levels.

    The grid over (log k, x0) spans the steepness bounds and the data's range
    widened by X0_MARGIN; h (and c) are profiled out in closed form. The
    first start is the grid's best cell.
    """
    C, N = batch.x.shape
    K, X = grid
    unit = np.stack(np.meshgrid(np.linspace(0, 1, K), np.linspace(0, 1, X), indexing="ij"), -1).reshape(-1, 2)
    tmpl, Y = _templates(batch, replicates)
    R = replicates
    out = np.empty((C, starts, 4))
    for sl in _template_slices(len(tmpl), R, N, K * X):
        t, y = tmpl.take(sl), Y[sl]
        c = len(t)
        lo_x0, hi_x0 = _x0_bounds(t)
        lo = np.column_stack([np.full(c, np.log(K_BOUNDS[0])), lo_x0])
        hi = np.column_stack([np.full(c, np.log(K_BOUNDS[1])), hi_x0])
        theta = lo[:, None, :] + unit[None] * (hi - lo)[:, None, :]                  # (c, G, 2)
        s = logistic(np.exp(theta[..., 0])[..., None] * (t.x[:, None, :] - theta[..., 1][..., None]))
        sz, szz, szy = _grid_sums(s, t.w, y)
        cc, hh, r, _ = _sigmoid_linear(_y_sums(y, t.w), sz, szz, szy, t.chance[:, None, None])
        shape = (c * R, K, X)
        r = np.where(np.isfinite(r), r, np.inf).reshape(shape)
        cc, hh = (np.broadcast_to(v, (c, R, K * X)).reshape(shape) for v in (cc, hh))
        th = np.broadcast_to(theta[:, None], (c, R, K * X, 2)).reshape(shape + (2,))
        # best x0 per steepness level, then the best levels
        j = r.argmin(2)
        order = np.argsort(np.take_along_axis(r, j[..., None], 2)[..., 0], axis=1)
        rows = np.arange(c * R)
        block = np.empty((c * R, starts, 4))
        for i in range(starts):
            kk = order[:, min(i, K - 1)]
            xx = j[rows, kk]
            block[:, i] = np.column_stack([cc[rows, kk, xx], hh[rows, kk, xx],
                                           np.exp(th[rows, kk, xx, 0]), th[rows, kk, xx, 1]])
        out[sl.start * R:sl.stop * R] = block
    # inside the bounds exactly as the polish keeps them, so that a start's
    # objective is where the polish begins
    lo_x0, hi_x0 = (np.repeat(v, starts) for v in _x0_bounds(batch))
    flat = _sigmoid_project(out.reshape(-1, 4), np.repeat(batch.chance, starts), lo_x0, hi_x0)
    return flat.reshape(C, starts, 4)


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
    size = max(1, _MAX_CELLS // (N * N))
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
    return ModelFit(model.name, np.where(ok[:, None], p, np.nan), np.where(ok, rss, np.nan), batch.n,
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


def fit_model(model: str | Model, batch: CurveBatch, replicates: int = 1) -> ModelFit:
    """One registered model on every curve: its own fast fitter, else the generic one."""
    m = get(model) if isinstance(model, str) else model
    return m.fit(batch, replicates=replicates) if m.fit else fit_generic(m, batch, replicates=replicates)


def fit_all(batch: CurveBatch, with_se: bool = True) -> dict[str, ModelFit]:
    """Every registered model on every curve of the batch."""
    fits = {name: fit_model(name, batch) for name in REGISTRY}
    if with_se:
        for f in fits.values():
            f.se = standard_errors(f, batch)
    return fits


def free_parameters(fit: ModelFit, batch: CurveBatch) -> np.ndarray:
    """Which parameters were fitted (C, P): fixed ones (x_ref, a known chance) have no error."""
    return get(fit.model).free(batch)


def _jacobian(fit: ModelFit, x: np.ndarray) -> np.ndarray:
    """d prediction / d parameter at x, by forward differences: (C, N, P)."""
    P = fit.params.shape[1]
    base = fit.predict(x)
    J = np.zeros(x.shape + (P,))
    model = get(fit.model)
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

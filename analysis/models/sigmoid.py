"""sigmoid: a rise from a floor, y = c + h / (1 + exp(−k·(x − x0))); c at chance when known."""
import numpy as np

from ..curves import CurveBatch
from ..engine import (
    FTOL,
    LAM0,
    MAX_LM_CELLS,
    PTOL,
    STALL_EVERY,
    X0_MARGIN,
    Model,
    ModelFit,
    floor_of,
    grid_sums,
    logistic,
    ls2,
    ls2_rss,
    pattern_search,
    replicate_templates,
    template_slices,
    wsum,
    y_sums,
)

#: steepness bounds: 10-90 % width 14.6 to 0.15 decades
K_BOUNDS = (0.3, 30.0)
POINT_FIT_STARTS = 3            # sigmoid starts for a curve's own fit (replicates: 2 for the test)


def _bounds(batch):
    C = len(batch)
    c_lo, c_hi = floor_of(batch)
    lo = np.column_stack([c_lo, np.zeros(C), np.full(C, K_BOUNDS[0]), batch.x_min - X0_MARGIN])
    hi = np.column_stack([c_hi, np.ones(C), np.full(C, K_BOUNDS[1]), batch.x_max + X0_MARGIN])
    return lo, hi



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
        r_k = ls2_rss(c0, h_k, s1, sz, szz, sy, szy, syy)
    shape = h_k.shape
    if known.all():
        return np.broadcast_to(c0, shape), h_k, r_k, (h_k <= 0) | (h_k >= 1 - c0)
    zero = np.zeros(shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        # chance unknown: interior, then the edges h = 0, c = 0, c + h = 1
        c_i, h_i, r_i = ls2(s1, sz, szz, sy, szy, syy)
        feas = (h_i >= 0) & (c_i >= 0) & (c_i + h_i <= 1) & np.isfinite(r_i)
        cands = [(c_i, h_i, np.where(feas, r_i, np.inf))]
        cands.append((np.clip(sy / s1, 0, 1) + zero, zero))
        cands.append((zero, np.clip(szy / szz, 0, 1) + zero))
        c_e = np.clip((sy - szy - sz + szz) / (s1 - 2 * sz + szz), 0, 1)
        cands.append((c_e + zero, 1.0 - c_e + zero))
    best_r = np.full(shape, np.inf); best_c = zero.copy(); best_h = zero.copy()
    for cc, hh, *rr in cands:
        r = rr[0] if rr else ls2_rss(cc, hh, s1, sz, szz, sy, szy, syy)
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
    size = max(1, MAX_LM_CELLS // max(1, rep.x.shape[1]))
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
    return ModelFit(MODEL, params, rss, batch.n, n_free, batch.known_noise,
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
        c, h, r, _ = _sigmoid_linear(stats, wsum(s, w), wsum(s * s, w), wsum(s, wy), chance)
        return r, np.stack([np.broadcast_to(c, r.shape), h], -1)

    x0, best, floor_rise, _ = pattern_search(profile, p[sel, 3], rss[sel], p[sel, :2], np.full(len(sel), 0.01),
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
    tmpl, Y = replicate_templates(batch, replicates)
    R = replicates
    out = np.empty((C, starts, 4))
    for sl in template_slices(len(tmpl), R, N, K * X):
        t, y = tmpl.take(sl), Y[sl]
        c = len(t)
        lo_x0, hi_x0 = _x0_bounds(t)
        lo = np.column_stack([np.full(c, np.log(K_BOUNDS[0])), lo_x0])
        hi = np.column_stack([np.full(c, np.log(K_BOUNDS[1])), hi_x0])
        theta = lo[:, None, :] + unit[None] * (hi - lo)[:, None, :]                  # (c, G, 2)
        s = logistic(np.exp(theta[..., 0])[..., None] * (t.x[:, None, :] - theta[..., 1][..., None]))
        sz, szz, szy = grid_sums(s, t.w, y)
        cc, hh, r, _ = _sigmoid_linear(y_sums(y, t.w), sz, szz, szy, t.chance[:, None, None])
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


def _fit(batch, replicates: int = 1):
    return fit_sigmoid(batch, starts=POINT_FIT_STARTS, replicates=replicates)


def _starts(batch, replicates: int = 1):
    return sigmoid_starts(batch, starts=POINT_FIT_STARTS, replicates=replicates)


MODEL = Model(
    name="sigmoid", params=("c", "h", "k", "x0"), description="y = c + h / (1 + exp(−k·(x − x0)))",
    role="sharp", order=40, style="-", bounded_only=True,
    formula=lambda x, c, h, k, x0: c + h * logistic(k * (x - x0)),
    bounds=_bounds, starts=_starts, fit=_fit,
    example=lambda lo, hi: (0.25, 0.6, 3.0, lo + 0.6 * (hi - lo)),
)

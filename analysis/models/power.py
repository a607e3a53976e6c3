"""power: a scaling law, y = a + b·10^(−alpha·(x − x_ref)), x_ref the smallest scale (fixed)."""
import numpy as np

from ..curves import CurveBatch
from ..engine import (
    LN10,
    MAX_CELLS,
    Model,
    ModelFit,
    grid_sums,
    ls2,
    pattern_search,
    replicate_templates,
    template_slices,
    wsum,
    y_sums,
)

#: search bounds of the exponent, per decade
ALPHA_BOUNDS = (0.02, 2.0)


def exponent_bounds(x_ref):
    """Bounds of (a, b, exponent, x_ref): a and b free, the exponent in ALPHA_BOUNDS, x_ref fixed."""
    C = len(x_ref)
    lo = np.column_stack([np.full(C, -np.inf), np.full(C, -np.inf), np.full(C, ALPHA_BOUNDS[0]), x_ref])
    hi = np.column_stack([np.full(C, np.inf), np.full(C, np.inf), np.full(C, ALPHA_BOUNDS[1]), x_ref])
    return lo, hi


def _bounds(batch):
    return exponent_bounds(batch.x_min)



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
    size = max(1, MAX_CELLS // (2 * N))
    for i in range(0, C, size):
        rows = slice(i, i + size)
        profile = _power_profile(batch, rows)
        tb = t_best[rows]
        step = np.full(len(tb), (hi - lo) / (grid - 1))
        t_best[rows], rss[rows], lin[rows], change[rows] = pattern_search(
            profile, tb, rss[rows], profile(tb[:, None])[1][:, 0], step, lo, hi, zooms, grow=0.5)
    rss = np.where(np.isfinite(rss), rss, np.nan)
    conv = np.isfinite(rss) & (change <= 1e-6 * rss + 1e-9)
    at_b = (np.abs(t_best - lo) < 1e-9) | (np.abs(t_best - hi) < 1e-9)
    params = np.column_stack([lin, np.exp(t_best), x_ref])
    return ModelFit(MODEL, params, rss, batch.n, np.full(C, 3), batch.known_noise, conv, at_b)


def _power_grid_best(batch: CurveBatch, grid: int, replicates: int) -> tuple[np.ndarray, np.ndarray]:
    """The best cell of a global grid over log alpha, and its profiled RSS, per row."""
    C, N = batch.x.shape
    cells = np.linspace(np.log(ALPHA_BOUNDS[0]), np.log(ALPHA_BOUNDS[1]), grid)
    tmpl, Y = replicate_templates(batch, replicates)
    R = replicates
    t_best, rss = np.empty(C), np.empty(C)
    for sl in template_slices(len(tmpl), R, N, grid):
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
        a, b, r = ls2(s1, wsum(z, w), wsum(z * z, w), sy, wsum(z, wy), syy)
        return r, np.stack([a, b], -1)

    return profile


def power_starts(batch: CurveBatch, grid: int = 48, replicates: int = 1) -> np.ndarray:
    """The grid's best cell as a starting point (C, 1, 4), (a, b) profiled out."""
    t_best, _ = _power_grid_best(batch, grid, replicates)
    lin = _power_profile(batch, slice(None))(t_best[:, None])[1][:, 0]
    return np.column_stack([lin, np.exp(t_best), batch.x_min])[:, None, :]


def _power_grid(z, w, Y):
    """Profiled RSS of the power model on every grid cell and replicate (C, R, G)."""
    sz, szz, szy = grid_sums(z, w, Y)
    s1, sy, syy = y_sums(Y, w)
    r = ls2(s1, sz, szz, sy, szy, syy)[2]
    return np.where(np.isfinite(r), r, np.inf)


def _fit(batch, replicates: int = 1):
    return fit_power(batch, replicates=replicates)


def _starts(batch, replicates: int = 1):
    return power_starts(batch, replicates=replicates)


MODEL = Model(
    name="power", params=("a", "b", "alpha", "x_ref"), description="y = a + b·10^(−alpha·(x − x_ref))",
    role="smooth", order=30, style="--",
    formula=lambda x, a, b, alpha, x_ref: a + b * 10.0 ** (-alpha * (x - x_ref)),
    bounds=_bounds, starts=_starts, fit=_fit,
    example=lambda lo, hi: (0.8, -0.5, 0.4, lo),
)

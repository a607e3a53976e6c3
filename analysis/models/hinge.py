"""hinge: flat at the floor up to an onset scale, then rising steadily per decade.

y = c + b·max(0, x − onset), c at chance when it is known. The "absent, then
present" shape of emergence (Wei et al. 2022): nothing below the onset, a
rise above it, with neither a midpoint nor a plateau that must be observed.
Fitted by the generic batched fitter from a profile grid over the onset.
"""
import numpy as np

from ..engine import X0_MARGIN, Model, floor_of

#: the steepest rise, in score per decade
MAX_RATE = 10.0
GRID = 24


def _bounds(batch):
    C = len(batch)
    c_lo, c_hi = floor_of(batch)
    lo = np.column_stack([c_lo, np.zeros(C), batch.x_min - X0_MARGIN])
    hi = np.column_stack([c_hi, np.full(C, MAX_RATE), batch.x_max])
    return lo, hi


def _starts(batch, replicates: int = 1, starts: int = 2):
    """The best onsets of a grid, the floor and rate profiled out in closed form per cell."""
    lo, hi = _bounds(batch)
    cells = lo[:, 2:3] + np.linspace(0.0, 1.0, GRID)[None] * (hi[:, 2:3] - lo[:, 2:3])      # (C, G)
    w, y, x = batch.w[:, None, :], batch.y[:, None, :], batch.x[:, None, :]
    s = np.maximum(x - cells[..., None], 0.0)                                             # (C, G, N)
    sw, swy, sws, swss, swsy = (np.sum(v, 2) for v in (w + 0 * s, w * y + 0 * s, w * s, w * s * s, w * s * y))
    known = np.isfinite(batch.chance)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        # floor fitted: least squares on [1, s]; floor known: the rate alone
        det = sw * swss - sws ** 2
        b_free = np.where(det > 0, (sw * swsy - sws * swy) / det, 0.0)
        c_known = np.where(known, batch.chance[:, None], 0.0)
        b_known = np.where(swss > 0, (swsy - c_known * sws) / swss, 0.0)
    b = np.clip(np.where(known, b_known, b_free), 0.0, MAX_RATE)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(known, c_known, np.clip((swy - b * sws) / sw, 0.0, 1.0))
    theta = np.stack([c, b, cells], -1)                                                   # (C, G, 3)
    r = batch.y[:, None, :] - (c[..., None] + b[..., None] * s)
    rss = np.where(np.isfinite(r), batch.w[:, None, :] * r * r, np.inf).sum(2)
    best = np.argsort(rss, axis=1, kind="stable")[:, :starts]
    return np.take_along_axis(theta, best[..., None], 1)


MODEL = Model(
    name="hinge", params=("c", "b", "onset"), description="y = c + b·max(0, x − onset)",
    role="onset", order=50, style=(0, (5, 1, 1, 1)), bounded_only=True,
    formula=lambda x, c, b, onset: c + b * np.maximum(x - onset, 0.0),
    bounds=_bounds, starts=_starts,
    example=lambda lo, hi: (0.25, 0.3, lo + 0.5 * (hi - lo)),
)

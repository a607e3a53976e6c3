"""sigmoid: a rise from a floor, y = c + h / (1 + exp(−k·(x − x0))); c at chance when known."""
import numpy as np

from .base import X0_MARGIN, Model, floor_of, logistic

#: steepness bounds: 10-90 % width 14.6 to 0.15 decades
K_BOUNDS = (0.3, 30.0)


def _bounds(batch):
    C = len(batch)
    c_lo, c_hi = floor_of(batch)
    lo = np.column_stack([c_lo, np.zeros(C), np.full(C, K_BOUNDS[0]), batch.x_min - X0_MARGIN])
    hi = np.column_stack([c_hi, np.ones(C), np.full(C, K_BOUNDS[1]), batch.x_max + X0_MARGIN])
    return lo, hi


def _fit(batch, replicates: int = 1):
    from ..fitting import POINT_FIT_STARTS, fit_sigmoid
    return fit_sigmoid(batch, starts=POINT_FIT_STARTS, replicates=replicates)


def _starts(batch, replicates: int = 1):
    from ..fitting import POINT_FIT_STARTS, sigmoid_starts
    return sigmoid_starts(batch, starts=POINT_FIT_STARTS, replicates=replicates)


MODEL = Model(
    name="sigmoid", params=("c", "h", "k", "x0"), description="y = c + h / (1 + exp(−k·(x − x0)))",
    role="sharp", order=40, style="-", bounded_only=True,
    formula=lambda x, c, h, k, x0: c + h * logistic(k * (x - x0)),
    bounds=_bounds, starts=_starts, fit=_fit,
    example=lambda lo, hi: (0.25, 0.6, 3.0, lo + 0.6 * (hi - lo)),
)

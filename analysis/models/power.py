"""power: a scaling law, y = a + b·10^(−alpha·(x − x_ref)), x_ref the smallest scale (fixed)."""
import numpy as np

from .base import Model

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


def _fit(batch, replicates: int = 1):
    from ..fitting import fit_power
    return fit_power(batch, replicates=replicates)


def _starts(batch, replicates: int = 1):
    from ..fitting import power_starts
    return power_starts(batch, replicates=replicates)


MODEL = Model(
    name="power", params=("a", "b", "alpha", "x_ref"), description="y = a + b·10^(−alpha·(x − x_ref))",
    role="smooth", order=30, style="--",
    formula=lambda x, a, b, alpha, x_ref: a + b * 10.0 ** (-alpha * (x - x_ref)),
    bounds=_bounds, starts=_starts, fit=_fit,
    example=lambda lo, hi: (0.8, -0.5, 0.4, lo),
)

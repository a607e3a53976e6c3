"""accelerating: a scaling law that speeds up, y = a + b·10^(beta·(x − x_ref)), x_ref the largest scale.

The mirror image of `power`: convex growth in log scale (accuracy = A·N^β,
exp-shaped rises) or a decline that steepens. A smooth model, so the
emergence test's null includes it: a curve that merely accelerates is not
emergent. Fitted by the power model's engine on the mirrored scale axis.
"""
import numpy as np

from ..engine import Model
from .power import exponent_bounds, fit_power, power_starts


def _bounds(batch):
    return exponent_bounds(batch.x_max)


def _mirrored(batch):
    return batch.with_x(np.where(batch.mask, -batch.x, 0.0))


def _unmirror(params: np.ndarray) -> np.ndarray:
    """(a, b, alpha, x_ref) on −x is (a, b, beta, −x_ref) on x."""
    out = params.copy()
    out[..., 3] = -out[..., 3]
    return out


def _fit(batch, replicates: int = 1):
    fit = fit_power(_mirrored(batch), replicates=replicates)
    fit.spec, fit.params = MODEL, _unmirror(fit.params)
    return fit


def _starts(batch, replicates: int = 1):
    return _unmirror(power_starts(_mirrored(batch), replicates=replicates))


MODEL = Model(
    name="accelerating", params=("a", "b", "beta", "x_ref"), description="y = a + b·10^(beta·(x − x_ref))",
    role="smooth", order=35, style=(0, (3, 1)),
    formula=lambda x, a, b, beta, x_ref: a + b * 10.0 ** (beta * (x - x_ref)),
    bounds=_bounds, starts=_starts, fit=_fit,
    example=lambda lo, hi: (0.3, 0.4, 0.5, hi),
)

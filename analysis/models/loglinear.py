"""loglinear: a steady gain per decade of scale, y = a + b·x."""
import numpy as np

from ..engine import Model, fit_linear


def _fit(batch, replicates: int = 1):
    return fit_linear(batch, MODEL)


MODEL = Model(
    name="loglinear", params=("a", "b"), description="y = a + b·x", role="smooth", order=10, style="--",
    formula=lambda x, a, b: a + b * x,
    fit=_fit,
    starts=lambda batch, replicates=1: np.zeros((len(batch), 1, 2)),
    example=lambda lo, hi: (0.3 - 0.1 * lo, 0.1),
)

"""quadratic: curvature in log scale, y = a + b·x + q·x²; locates the turn of a U."""
import numpy as np

from ..engine import Model, fit_linear


def _fit(batch, replicates: int = 1):
    return fit_linear(batch, MODEL)


def _example(lo: float, hi: float) -> tuple[float, float, float]:
    """A U with its vertex mid-range, at 0.4."""
    mid, q = (lo + hi) / 2, 0.05
    b = -2 * q * mid
    return 0.4 - b * mid - q * mid ** 2, b, q


MODEL = Model(
    name="quadratic", params=("a", "b", "q"), description="y = a + b·x + q·x²", role="curvature", order=20,
    style="-.",
    formula=lambda x, a, b, q: a + b * x + q * x ** 2,
    fit=_fit,
    starts=lambda batch, replicates=1: np.zeros((len(batch), 1, 3)),
    example=_example,
)

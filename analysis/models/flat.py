"""flat: no change with scale, y = a."""
import numpy as np

from ..engine import Model, fit_linear


def _fit(batch, replicates: int = 1):
    return fit_linear(batch, MODEL)


MODEL = Model(
    name="flat", params=("a",), description="y = a", role="baseline", order=0, style=":",
    formula=lambda x, a: np.broadcast_to(a, x.shape).copy(),
    fit=_fit,
    starts=lambda batch, replicates=1: np.zeros((len(batch), 1, 1)),
    example=lambda lo, hi: (0.4,),
)

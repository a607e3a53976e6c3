"""What a candidate scaling model declares, and the shared shape functions (the engine's vocabulary;
the registered models are in `analysis/models/`).

x is log10 of scale. Every model predicts the oriented score (up is better),
so one set of forms covers accuracies and losses alike.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from ..curves import CurveBatch
    from .fit import ModelFit

#: what a model is for in the tests (METHODS.md section 3)
ROLES = {
    "baseline": "no change with scale",
    "smooth": "the smooth null of the emergence test; predicts held-out models in the backtest",
    "curvature": "locates the turn of a U or inverted U (two-lines test)",
    "sharp": "the sharp alternative of the emergence test",
    "onset": "flat at the floor, then rising: the 'absent, then present' shape (fitted and ranked)",
}
#: ln(81)/k is the 10 %→90 % width of the logistic, in decades of scale.
WIDTH_10_90 = np.log(81.0)
#: x0-like parameters may sit this many decades outside the data
X0_MARGIN = 1.0


def logistic(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−z), through tanh: several times faster than scipy's expit here."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def transition_width(k: np.ndarray) -> np.ndarray:
    """10 %→90 % width of a sigmoid's rise, in decades."""
    with np.errstate(divide="ignore"):
        return WIDTH_10_90 / np.asarray(k, float)


def floor_of(batch: CurveBatch) -> tuple[np.ndarray, np.ndarray]:
    """A floor parameter's bounds per curve: chance where it is known, else [0, 1]."""
    known = np.isfinite(batch.chance)
    return np.where(known, batch.chance, 0.0), np.where(known, batch.chance, 1.0)


@dataclass(frozen=True)
class Model:
    """One candidate model: everything the fitter, the tests, the tables and the figures need.

    formula(x, *params) evaluates the model, each parameter shaped (..., 1)
    against x (..., N). bounds(batch) gives per-curve lower and upper bounds
    (C, P); a parameter whose bounds coincide is fixed (not fitted, no
    standard error, not counted in AICc). starts(batch, replicates) gives
    starting points (C, S, P) for the generic fitter. fit, when given, is the
    model's own fast fitter, fit(batch, replicates=1) -> ModelFit; the generic
    batched fitter (`engine.fit_generic`) serves every other model. example
    (x_min, x_max) gives typical true parameters for the conformance test.
    """

    name: str
    params: tuple[str, ...]
    formula: Callable[..., np.ndarray]
    description: str
    role: str
    order: int
    style: str | tuple = "-"      # matplotlib line style in the figures
    bounds: Callable[[CurveBatch], tuple[np.ndarray, np.ndarray]] | None = None
    starts: Callable[[CurveBatch, int], np.ndarray] | None = None
    fit: Callable[..., ModelFit] | None = None
    bounded_only: bool = False
    example: Callable[[float, float], tuple[float, ...]] | None = None

    def __post_init__(self):
        if self.role not in ROLES:
            raise ValueError(f"model {self.name!r}: role {self.role!r} is not one of {', '.join(ROLES)}")
        if self.fit is None and (self.bounds is None or self.starts is None):
            raise ValueError(f"model {self.name!r}: without a fit of its own it needs bounds and starts")

    def predict(self, params: np.ndarray, x: np.ndarray) -> np.ndarray:
        """Model values at x. params has shape (..., P), x shape (..., N)."""
        return self.formula(x, *(params[..., i:i + 1] for i in range(params.shape[-1])))

    def parameter_bounds(self, batch: CurveBatch) -> tuple[np.ndarray, np.ndarray]:
        if self.bounds is None:
            shape = (len(batch), len(self.params))
            return np.full(shape, -np.inf), np.full(shape, np.inf)
        return self.bounds(batch)

    def free(self, batch: CurveBatch) -> np.ndarray:
        """Which parameters are fitted (C, P): fixed ones (a known chance, x_ref) are not."""
        lo, hi = self.parameter_bounds(batch)
        return lo < hi

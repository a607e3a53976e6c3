"""The candidate scaling models (METHODS.md section 2), as array functions.

x is log10 of scale. All models predict the oriented score (up is better),
so one set of forms covers accuracies and losses alike.
"""
from __future__ import annotations

import numpy as np

#: parameter names per model; `x_ref` (power) is a fixed reference, not fitted.
PARAMS: dict[str, tuple[str, ...]] = {
    "flat": ("a",),
    "loglinear": ("a", "b"),
    "quadratic": ("a", "b", "q"),
    "power": ("a", "b", "alpha", "x_ref"),
    "sigmoid": ("c", "h", "k", "x0"),
}
MODELS = tuple(PARAMS)
DESCRIPTION = {
    "flat": "y = a",
    "loglinear": "y = a + b·x",
    "quadratic": "y = a + b·x + q·x²",
    "power": "y = a + b·10^(−alpha·(x − x_ref))",
    "sigmoid": "y = c + h / (1 + exp(−k·(x − x0)))",
}
#: ln(81)/k is the 10 %→90 % width of the logistic, in decades of scale.
WIDTH_10_90 = np.log(81.0)


def logistic(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^−z), through tanh: several times faster than scipy's expit here."""
    return 0.5 + 0.5 * np.tanh(0.5 * z)


def predict(model: str, params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Model values at x. params has shape (..., P), x shape (..., N)."""
    p = [params[..., i:i + 1] for i in range(params.shape[-1])]
    if model == "flat":
        return np.broadcast_to(p[0], x.shape).copy()
    if model == "loglinear":
        return p[0] + p[1] * x
    if model == "quadratic":
        return p[0] + p[1] * x + p[2] * x ** 2
    if model == "power":
        return p[0] + p[1] * 10.0 ** (-p[2] * (x - p[3]))
    if model == "sigmoid":
        return p[0] + p[1] * logistic(p[2] * (x - p[3]))
    raise KeyError(model)


def transition_width(k: np.ndarray) -> np.ndarray:
    """10 %→90 % width of a sigmoid's rise, in decades."""
    with np.errstate(divide="ignore"):
        return WIDTH_10_90 / np.asarray(k, float)

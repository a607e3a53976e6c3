"""The candidate scaling models: one module each, found here automatically.

A model module defines ``MODEL = Model(...)`` (see `base.Model`): its
parameters, formula, bounds, starting points, role and drawing style. Adding
a model is adding one such module (and its test); `fitting.fit_model` fits
it with its own fast fitter if it declares one, else with the generic
batched fitter. The registry is ordered by `Model.order`: the order of the
models in fits.csv, in AICc ties and in the figures' legends.
"""
from __future__ import annotations

import importlib
import pkgutil

import numpy as np

from ..engine import ROLES, WIDTH_10_90, X0_MARGIN, Model, floor_of, logistic, transition_width

__all__ = ["DESCRIPTION", "MODELS", "PARAMS", "REGISTRY", "ROLES", "WIDTH_10_90", "X0_MARGIN", "Model",
           "cheapest", "floor_of", "get", "logistic", "markdown_table", "predict", "transition_width",
           "with_role"]


def _discover() -> dict[str, Model]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        if not isinstance(getattr(module, "MODEL", None), Model):
            raise TypeError(f"analysis/models/{info.name}.py must define MODEL = Model(...)")
        found.append(module.MODEL)
    names = [m.name for m in found]
    if len(set(names)) != len(names):
        raise ValueError(f"two model modules declare the same name: {sorted(names)}")
    return {m.name: m for m in sorted(found, key=lambda m: (m.order, m.name))}


REGISTRY: dict[str, Model] = _discover()
MODELS: tuple[str, ...] = tuple(REGISTRY)
#: parameter names per model (fits.csv columns, in this order)
PARAMS: dict[str, tuple[str, ...]] = {m.name: m.params for m in REGISTRY.values()}
DESCRIPTION: dict[str, str] = {m.name: m.description for m in REGISTRY.values()}


def get(name: str) -> Model:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"no model {name!r}; registered: {', '.join(MODELS)}") from None


def cheapest(role: str) -> str:
    """The first registered model of a role, the registry being ordered cheapest first: the line among
    the smooth models, the quadratic for curvature, the sigmoid for a sharp rise. The statistics ask
    for a role, never a name, so that a new model takes its place by declaring its role and order."""
    found = with_role(role)
    if not found:
        raise KeyError(f"no registered model has the role {role!r}; roles: {', '.join(ROLES)}")
    return found[0]


def with_role(*roles: str) -> tuple[str, ...]:
    """The registered models with any of these roles, in registry order."""
    return tuple(m.name for m in REGISTRY.values() if m.role in roles)


def predict(model: str, params: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Model values at x. params has shape (..., P), x shape (..., N)."""
    return get(model).predict(params, x)


def markdown_table() -> str:
    """The registered models as docs/USAGE.md lists them (a test keeps the two in step)."""
    rows = ["| model | formula | role | its own fitter |", "|---|---|---|---|"]
    rows += [f"| `{m.name}` | {m.description} | {m.role}: {ROLES[m.role]} | {'yes' if m.fit else 'no (generic)'} |"
             for m in REGISTRY.values()]
    return "\n".join(rows)

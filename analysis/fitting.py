"""Every registered model on every curve: the registry's entry to the engine.

Each model fits itself where its module has a fast fitter of its own (power, sigmoid, the linear
models), and through the engine's generic batched fitter otherwise (`engine.fit_generic`).
"""
from __future__ import annotations

from .curves import CurveBatch
from .engine import Model, ModelFit, fit_generic, standard_errors
from .models import REGISTRY, get


def fit_model(model: str | Model, batch: CurveBatch, replicates: int = 1) -> ModelFit:
    """One registered model on every curve: its own fast fitter, else the generic one."""
    m = get(model) if isinstance(model, str) else model
    return m.fit(batch, replicates=replicates) if m.fit else fit_generic(m, batch, replicates=replicates)


def fit_all(batch: CurveBatch, with_se: bool = True) -> dict[str, ModelFit]:
    """Every registered model on every curve of the batch."""
    fits = {name: fit_model(name, batch) for name in REGISTRY}
    if with_se:
        for f in fits.values():
            f.se = standard_errors(f, batch)
    return fits

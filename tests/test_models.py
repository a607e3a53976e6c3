"""Conformance: every registered model is fitted right, whatever fitter it uses.

Runs over the registry, so a new model module is tested as soon as it exists:
its fits recover known parameters, and neither its own fitter nor the
generic batched one is ever worse than scipy's least_squares, curve by curve,
from the same starting points.
"""
import numpy as np
import pytest
from scipy.optimize import least_squares

from analysis.engine import fit_generic
from analysis.fitting import fit_model
from analysis.models import MODELS, REGISTRY, ROLES, Model, get
from tests.test_fitting import X, batch


def _true_curves(model: Model, C: int, sd: float, seed: int):
    truth = np.array(model.example(X.min(), X.max()), float)
    rng = np.random.default_rng(seed)
    y = model.predict(truth[None], X[None]) + rng.normal(0, sd, (C, len(X)))
    return truth, batch(X, y, sigma=sd)


def _least_squares_rss(model: Model, b, starts: np.ndarray) -> np.ndarray:
    """Per curve, the best weighted RSS scipy's least_squares reaches from the given starts."""
    lo, hi = model.parameter_bounds(b)
    free = model.free(b)
    out = np.full(len(b), np.inf)
    for i in range(len(b)):
        x, y, sw = b.x[i], b.y[i], np.sqrt(b.w[i])
        f = free[i]
        for p0 in starts[i]:
            def resid(theta, p0=p0):
                p = p0.copy()
                p[f] = theta
                return sw * (y - model.predict(p[None], x[None])[0])
            start = np.clip(p0[f], lo[i, f], hi[i, f])
            span = np.where(np.isfinite(hi[i, f] - lo[i, f]), hi[i, f] - lo[i, f], 1.0)
            start = np.clip(start, lo[i, f] + 1e-9 * span, hi[i, f] - 1e-9 * span)  # trf wants the interior
            res = least_squares(resid, start, bounds=(lo[i, f], hi[i, f]), method="trf",
                                x_scale="jac", xtol=1e-12, ftol=1e-12, gtol=1e-12, max_nfev=2000)
            out[i] = min(out[i], 2 * res.cost)
    return out


def test_registry_declares_every_model_completely():
    assert len(MODELS) == len(set(MODELS)) >= 6
    assert "hinge" in MODELS                                   # the flat-then-rising model of issue 12
    for name, model in REGISTRY.items():
        assert model.role in ROLES
        assert len(model.description) > 4 and model.example is not None
        assert get(name) is model
    assert len([m for m in REGISTRY.values() if m.role == "sharp"]) == 1
    with pytest.raises(KeyError, match="registered"):
        get("no-such-model")


@pytest.mark.parametrize("name", MODELS)
def test_noise_free_curves_are_recovered_exactly(name):
    model = get(name)
    truth, b = _true_curves(model, 1, 0.01, 0)
    b.y[:] = model.predict(truth[None], X[None])
    fit = fit_model(name, b)
    assert fit.params[0] == pytest.approx(truth, rel=1e-3, abs=1e-3)
    assert fit.rss[0] < 1e-6
    assert fit.converged[0]


@pytest.mark.parametrize("name", MODELS)
def test_noisy_curves_recover_parameters_within_their_errors(name):
    model = get(name)
    truth, b = _true_curves(model, 200, 0.01, 1)
    fit = fit_model(name, b)
    from analysis.engine import standard_errors
    se = standard_errors(fit, b)
    free = model.free(b)[0]
    z = (fit.params[:, free] - truth[free]) / se[:, free]
    # estimates centred on the truth, errors of the right size (asymptotically)
    assert np.all(np.abs(np.nanmedian(fit.params[:, free], 0) - truth[free]) <= 0.25 * np.nanmedian(se[:, free], 0))
    covered = np.mean(np.abs(z) <= 1.96, axis=0)
    assert np.all(covered >= 0.85), covered


@pytest.mark.parametrize("name", MODELS)
def test_never_worse_than_least_squares_from_the_same_starts(name):
    """Both the model's own fitter and the generic batched fitter, on noisy curves."""
    model = get(name)
    _, b = _true_curves(model, 40, 0.04, 2)
    starts = model.starts(b, 1)
    reference = _least_squares_rss(model, b, starts)
    for fit in (fit_model(name, b), fit_generic(model, b)):
        assert np.all(fit.rss <= reference * (1 + 1e-6) + 1e-9), (fit.rss - reference).max()


def test_the_statistics_ask_for_roles_not_names():
    """Issue 23: no model's name is written outside `analysis/models/`: the tests, the noise model and the
    pipeline ask the registry for a role (`models.cheapest`, `models.with_role`), so that a new model
    takes its place by declaring one. Left out: the synthetic truths (`synthetic`, `stress`, `audit`,
    `calibration` name the shapes they draw, some of which share a model's name), and the names that are
    also words of the results (`flat` is a label, `power` a column of the error-rate tables)."""
    import ast

    from analysis.models import MODELS
    from tests.conftest import REPO
    words = {"flat", "power"}
    truths = {"synthetic.py", "stress.py", "audit.py", "calibration.py"}
    found = []
    for path in (REPO / "analysis").rglob("*.py"):
        if "models" in path.relative_to(REPO / "analysis").parts or path.name in truths:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in set(MODELS) - words:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value!r}")
    assert not found, "\n".join(found)


def test_the_docs_list_the_registered_models():
    """docs/USAGE.md's table of models is generated from the registry and kept current."""
    from analysis.models import markdown_table
    from tests.conftest import REPO
    assert markdown_table() in (REPO / "docs" / "USAGE.md").read_text(encoding="utf-8")

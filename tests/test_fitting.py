"""The batched fits recover known parameters and are at least as good as curve_fit."""
import numpy as np
import pytest
from scipy.optimize import curve_fit, isotonic_regression
from scipy.special import expit

from analysis.curves import CurveBatch
from analysis.engine import fit_linear, monotone_rss
from analysis.fitting import fit_all
from analysis.models import get, predict
from analysis.models.power import fit_power
from analysis.models.sigmoid import fit_sigmoid


def batch(x, y, sigma=None, chance=0.25):
    C, N = y.shape
    known = sigma is not None
    sig = np.full((C, N), sigma if known else 1.0)
    w = 1 / sig ** 2 if known else np.ones((C, N))
    return CurveBatch(np.broadcast_to(x, (C, N)).copy(), y, sig, w, np.full(C, chance),
                      np.full(C, known), np.ones(C, bool))


X = np.linspace(8.0, 11.0, 8)


def test_noisy_sigmoid_recovers_x0_and_errors_are_calibrated():
    rng = np.random.default_rng(1)
    truth = np.array([0.25, 0.6, 3.0, 9.7])
    y = predict("sigmoid", truth[None], X[None]) + rng.normal(0, 0.01, (500, 8))
    fit = fit_all(batch(X, y, sigma=0.01))["sigmoid"]
    assert np.median(fit.params[:, 3]) == pytest.approx(9.7, abs=0.01)
    # the asymptotic standard error matches the spread across replicates
    spread = fit.params[:, 3].std()
    assert np.median(fit.se[:, 3]) == pytest.approx(spread, rel=0.15)
    assert np.isnan(fit.se[:, 0]).all()          # chance is fixed, so it has no error


def test_unknown_chance_floor_is_fitted_within_bounds():
    y = predict("sigmoid", np.array([[0.1, 0.5, 4.0, 9.5]]), X[None])
    fit = fit_sigmoid(batch(X, y, sigma=0.01, chance=np.nan))
    assert fit.params[0] == pytest.approx([0.1, 0.5, 4.0, 9.5], rel=1e-3)
    assert fit.n_free[0] == 4


def test_sigmoid_respects_bounds_on_a_falling_curve():
    y = (0.8 - 0.1 * (X - 8))[None]
    fit = fit_sigmoid(batch(X, y, sigma=0.01))
    c, h, k, x0 = fit.params[0]
    assert c == 0.25 and 0 <= h <= 0.75 and 0.3 <= k <= 30
    assert fit.at_bound[0]


def test_curves_of_different_lengths_share_a_batch():
    rng = np.random.default_rng(2)
    y = 0.3 + 0.1 * (X - 8) + rng.normal(0, 0.01, (2, 8))
    b = batch(X, y, sigma=0.01)
    b.w[1, 5:] = 0.0                                # second curve has 5 points
    fits = fit_linear(b, get("loglinear"))
    short = fit_linear(batch(X[:5], y[1:, :5].copy(), sigma=0.01), get("loglinear"))
    assert fits.params[1] == pytest.approx(short.params[0])
    assert fits.n.tolist() == [8, 5]


def _objective(f, x, y, p):
    return float(((y - f(x, *p)) ** 2).sum())


@pytest.mark.parametrize("C", [60, pytest.param(300, marks=pytest.mark.measurement)])
def test_objective_at_least_as_good_as_curve_fit(C):
    """On random noisy curves our global-grid fit is never worse than a curve_fit loop (60 curves in the
    developer's loop, 300 in the measurement tier)."""
    rng = np.random.default_rng(3)
    truth = np.column_stack([np.full(C, 0.25), rng.uniform(0.2, 0.7, C),
                             rng.uniform(1, 10, C), rng.uniform(8.5, 10.5, C)])
    y = predict("sigmoid", truth, np.broadcast_to(X, (C, 8))) + rng.normal(0, 0.02, (C, 8))
    ours = fit_sigmoid(batch(X, y))
    power = fit_power(batch(X, y))

    def sig(x, h, k, x0):
        return 0.25 + h * expit(k * (x - x0))

    def pw(x, a, b, alpha):
        return a + b * 10 ** (-alpha * (x - 8.0))

    worse = 0
    for i in range(C):
        for f, p0, bounds, fit, cols in (
            (sig, [0.5, 3, 9.5], ([0, 0.3, 7], [0.75, 30, 12]), ours, [1, 2, 3]),
            (pw, [0.5, -0.3, 0.5], ([-np.inf, -np.inf, 0.02], [np.inf, np.inf, 2.0]), power, [0, 1, 2]),
        ):
            try:
                p, _ = curve_fit(f, X, y[i], p0=p0, bounds=bounds, maxfev=5000)
                base = _objective(f, X, y[i], p)
            except RuntimeError:
                continue
            mine = _objective(f, X, y[i], fit.params[i, cols])
            worse += mine > base * (1 + 1e-6) + 1e-12
    assert worse == 0


@pytest.mark.parametrize("chance", [0.25, np.nan])
def test_replicates_sharing_their_grid_fit_as_if_one_by_one(chance):
    """fit_sigmoid / fit_power with replicates=R evaluate each grid shape once per
    curve; the fits must be those of the rows fitted independently."""
    rng = np.random.default_rng(7)
    truth = np.array([[0.25, 0.5, 4.0, 9.5], [0.25, 0.1, 1.0, 9.0], [0.25, 0.0, 1.0, 9.0]])
    R = 40
    y = np.repeat(predict("sigmoid", truth, X[None]), R, axis=0) + rng.normal(0, 0.03, (3 * R, len(X)))
    b = batch(X, y, chance=chance)
    for fit in (fit_sigmoid, fit_power):
        one, shared = fit(b), fit(b, replicates=R)
        assert np.allclose(shared.rss, one.rss, rtol=1e-6, atol=1e-12), fit.__name__
    with pytest.raises(ValueError, match="blocks of 7"):
        fit_sigmoid(b, replicates=7)


@pytest.mark.parametrize("chance", [0.25, np.nan])
def test_monotone_fit_is_isotonic_regression_and_bounds_the_sigmoid_from_below(chance):
    """monotone_rss equals scipy's weighted isotonic regression clipped to [floor, 1],
    whatever the order of the points and the padding; and no sigmoid fits better."""
    rng = np.random.default_rng(11)
    C = 300
    truth = np.column_stack([np.full(C, 0.25), rng.uniform(0, 0.7, C), rng.uniform(0.3, 30, C),
                             rng.uniform(8, 11, C)])
    y = predict("sigmoid", truth, X[None]) + rng.normal(0, 0.05, (C, 8)) * rng.uniform(0.1, 2, (C, 1))
    b = batch(X, y, sigma=0.03, chance=chance)
    b.w = b.w * rng.uniform(0.2, 3, b.w.shape)
    b.w[::3, -2:] = 0.0                                   # shorter curves, padded
    b.y = np.where(b.w > 0, b.y, 0.0)
    order = rng.permuted(np.tile(np.arange(8), (C, 1)), axis=1)   # points in any order
    b.x, b.y, b.w = (np.take_along_axis(a, order, 1) for a in (b.x, b.y, b.w))
    bound = monotone_rss(b)
    floor = 0.25 if np.isfinite(chance) else 0.0
    for i in range(C):
        keep = b.w[i] > 0
        o = np.argsort(b.x[i][keep])
        yy, ww = b.y[i][keep][o], b.w[i][keep][o]
        iso = np.clip(isotonic_regression(yy, weights=ww).x, floor, 1.0)
        assert bound[i] == pytest.approx((ww * (yy - iso) ** 2).sum(), rel=1e-9, abs=1e-12)
    assert (fit_sigmoid(b).rss >= bound * (1 - 1e-12)).all()

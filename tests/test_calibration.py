"""Labels on synthetic curves with known truth: false positive rate and power.

A mixed run of every shape (so that the FDR step sees a realistic mix), at
sizes and noise that real families have. The measured rates are printed
(pytest -s) and asserted against the bounds docs/ACCURACY.md promises.
"""
import pandas as pd
import pytest

from analysis.calibration import true_onset
from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from analysis.synthetic import SHAPES, simulate

#: rates measured on simulated curves: the measurement tier
pytestmark = pytest.mark.measurement

N_CURVES = 40


def labelled(tmp_path, n_sizes, n_items):
    df = pd.concat([simulate(shape, N_CURVES, n_sizes=n_sizes, n_items=n_items, seed=100 + i)
                    for i, shape in enumerate(SHAPES)])
    path = tmp_path / "synthetic.csv"
    df.to_csv(path, index=False)
    s = Settings(bootstrap=200)
    return combine([analyse_dataset(path, s)], s).curves


def rate(curves, shape, label):
    return (curves.loc[curves["task"] == shape, "label"] == label).mean()


@pytest.fixture(scope="module")
def eight_sizes_1000_items(tmp_path_factory):
    return labelled(tmp_path_factory.mktemp("cal8"), 8, 1000)


@pytest.fixture(scope="module")
def four_sizes_1000_items(tmp_path_factory):
    return labelled(tmp_path_factory.mktemp("cal4"), 4, 1000)


@pytest.mark.parametrize("curves_name", ["eight_sizes_1000_items", "four_sizes_1000_items"])
def test_false_positive_rates_at_most_5_percent(request, curves_name):
    curves = request.getfixturevalue(curves_name)
    fpr = {
        "emergent | flat": rate(curves, "flat", "emergent"),
        "emergent | smooth": rate(curves, "smooth", "emergent"),
        "emergent | saturating": rate(curves, "saturating", "emergent"),
        "inverse | flat": rate(curves, "flat", "inverse"),
        "inverse | smooth": rate(curves, "smooth", "inverse"),
        "u-shape | smooth": rate(curves, "smooth", "u_shaped") + rate(curves, "smooth", "inverted_u"),
        "u-shape | saturating": rate(curves, "saturating", "u_shaped") + rate(curves, "saturating", "inverted_u"),
    }
    print(curves_name, {k: f"{v:.1%}" for k, v in fpr.items()})
    assert max(fpr.values()) <= 0.05, fpr


@pytest.mark.parametrize("shape", ["emergent", "inverse", "smooth", "flat", "u_shaped", "inverted_u"])
def test_power_at_least_80_percent_with_8_sizes_and_1000_items(eight_sizes_1000_items, shape):
    power = rate(eight_sizes_1000_items, shape, shape)
    print(f"power {shape}: {power:.1%}")
    assert power >= 0.80


def test_emergence_bracket_holds_the_true_onset(eight_sizes_1000_items):
    """The bracket [last model at the floor, first clearly above] holds where the synthetic
    sigmoid first rises above chance + chance_tolerance."""
    em = eight_sizes_1000_items[eight_sizes_1000_items["label"] == "emergent"]
    onset = true_onset()
    covered = ((em["emergence_scale_low"] <= onset) & (onset <= em["emergence_scale_high"])).mean()
    inside = ((em["emergence_scale"] >= em["emergence_scale_low"])
              & (em["emergence_scale"] <= em["emergence_scale_high"])).all()
    print(f"bracket coverage: {covered:.1%} of {len(em)}")
    assert len(em) >= 30 and covered >= 0.90 and inside

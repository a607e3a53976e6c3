"""Labels on synthetic curves with known truth: false positive rate and power.

A mixed run of every shape (so that the FDR step sees a realistic mix), at
sizes and noise that real families have. The measured rates are printed
(pytest -s) and asserted against the bounds the README promises.
"""
import pandas as pd
import pytest

from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from analysis.synthetic import SHAPES, simulate

N_CURVES = 40


def labelled(tmp_path, n_sizes, n_items):
    df = pd.concat([simulate(shape, N_CURVES, n_sizes=n_sizes, n_items=n_items, seed=100 + i)
                    for i, shape in enumerate(SHAPES)])
    path = tmp_path / "synthetic.csv"
    df.to_csv(path, index=False)
    s = Settings(bootstrap=200, bootstrap_max=800)
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


def test_emergence_interval_covers_the_true_scale(eight_sizes_1000_items):
    em = eight_sizes_1000_items[eight_sizes_1000_items["label"] == "emergent"]
    # true x0 of the synthetic sigmoid: 60 % of the way through 8 ... 11
    truth = 10 ** (8 + 0.6 * 3)
    covered = ((em["emergence_scale_low"] <= truth) & (truth <= em["emergence_scale_high"])).mean()
    print(f"x0 interval coverage: {covered:.1%} of {len(em)}")
    assert covered >= 0.85

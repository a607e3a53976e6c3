"""Forecasts beyond the largest model (issue 27): the smooth models' average with its interval, the
scale where a curve reaches its target, the table readers get, and the backtest that says how far to
trust them."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.forecast import forecast_table, size_group, widening
from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings

SIZES = np.array([1.25e8, 3.5e8, 1.3e9, 6.7e9, 1.75e11])


def run(tmp_path, df):
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    s = Settings(bootstrap=200)
    return combine([analyse_dataset(path, s)], s)


def frame(scores, params=SIZES, task="t", n_items=2000, chance=0.0, higher="true"):
    return pd.DataFrame({"model": [f"m{i}" for i in range(len(scores))], "family": "F", "params": params,
                         "benchmark": "b", "task": task, "metric": "acc", "score": scores, "n_items": n_items,
                         "chance": chance, "higher_is_better": higher})


def test_a_straight_rise_is_forecast_on_its_line_with_an_interval_that_holds_it(tmp_path):
    """Exact scores on a line in log size: every smooth model agrees with the line at 2x and 10x (the
    weighted least-squares line of statsmodels), the interval holds it, and the curve reaches its
    target (half the headroom above chance 0) where the line crosses 0.5."""
    x = np.log10(SIZES)
    y = 0.10 + 0.06 * (x - x[0])
    r = run(tmp_path, frame(np.round(y, 4)))
    c = r.curves.iloc[0]
    line = sm.WLS(y, sm.add_constant(x)).fit()
    for name, step in (("2x", np.log10(2)), ("10x", 1.0)):
        at = line.predict([[1.0, x[-1] + step]])[0]
        assert c[f"forecast_{name}"] == pytest.approx(at, abs=2e-3)
        assert c[f"forecast_{name}_low"] < at < c[f"forecast_{name}_high"]
    assert c["forecast_basis"] == "every model" and c["forecast_trend"] == "rising"
    crossing = 10 ** (x[0] + (0.5 - 0.10) / 0.06)                  # 1.25e8 · 10^6.67: beyond 10x the largest
    assert crossing > 10 * SIZES[-1] and c["forecast_reach"] in ("not within 10x of the largest model",
                                                                 "possible within the limit")
    f = r.forecasts
    assert list(f["target"]) == ["2x", "10x", "reach"]
    assert f.loc[0, "scale"] == pytest.approx(2 * SIZES[-1]) and f.loc[1, "scale"] == pytest.approx(10 * SIZES[-1])


def test_a_lower_is_better_score_is_forecast_in_its_own_terms(tmp_path):
    """An error rate that falls: the analysis runs on 1 - score; the table gives the error rate back,
    its interval turned round."""
    x = np.log10(SIZES)
    err = np.round(0.60 - 0.05 * (x - x[0]), 4)
    r = run(tmp_path, frame(err, higher="false"))
    c, f = r.curves.iloc[0], r.forecasts
    two = f[f["target"] == "2x"].iloc[0]
    assert two["score"] == pytest.approx(1 - c["forecast_2x"])
    assert two["score_low"] == pytest.approx(1 - c["forecast_2x_high"])
    assert two["score_low"] < two["score"] < two["score_high"] and two["score"] < err[-1]


def test_an_emergence_is_forecast_from_its_models_above_the_floor_or_says_why_not(tmp_path):
    """At the floor, then up at the last two models: too few above the floor to extrapolate, said; with
    three above it, the forecast rests on them only."""
    eight = np.array([1.25e8, 3.5e8, 7.6e8, 1.3e9, 2.7e9, 6.7e9, 1.3e10, 1.75e11])
    two_up = frame([0.0, 0.0, 0.001, 0.0, 0.001, 0.0, 0.30, 0.55], eight, task="two")
    three_up = frame([0.0, 0.0, 0.001, 0.0, 0.001, 0.20, 0.40, 0.60], eight, task="three")
    c = run(tmp_path, pd.concat([two_up, three_up])).curves.set_index("task")
    assert (c["label"] == "emergent").all()
    assert c.loc["two", "forecast_basis"].startswith("none: 2 model(s) above the floor")
    assert np.isnan(c.loc["two", "forecast_2x"])
    assert c.loc["three", "forecast_basis"] == "the models above the floor" and c.loc["three", "forecast_models"] == 3
    assert c.loc["three", "forecast_2x"] > 0.60


def test_widening_is_read_per_trend_and_size_group(tmp_path):
    table = tmp_path / "w.csv"
    pd.DataFrame({"trend": ["rising", "no trend"], "sizes": ["<10", "<10"], "factor": [1.5, 0.7]}).to_csv(table)
    got = widening(np.array(["rising", "no trend", "rising", "falling"]), size_group(np.array([5, 8, 12, 5])), table)
    assert got.tolist() == [1.5, 0.7, 1.0, 1.0]
    assert widening(np.array(["rising"]), np.array(["<10"]), tmp_path / "absent.csv").tolist() == [1.0]


def test_an_empty_run_has_an_empty_forecast_table():
    assert list(forecast_table(pd.DataFrame())) == list(forecast_table(pd.DataFrame()).columns)


def _stress_backtest(tmp_path):
    """The leave-largest-out backtest on the stress suite's families (real grids, model effects shared by
    a family's tasks, truths the models do not assume: broken power laws, outliers, saturation)."""
    from analysis.synthetic import stress_block
    mix = {"loglinear": 12, "saturating": 12, "accelerating": 8, "bpl_rising": 8, "flat_chance": 8,
           "flat_high": 8, "inverse": 8, "outlier": 8}
    frames = []
    for n in (5, 8):
        for seed in range(3):
            data, _ = stress_block(n, 1000, "empirical", 0.25, mix, seed)
            path = tmp_path / f"s{n}_{seed}.csv"
            data.to_csv(path, index=False)
            s = Settings(bootstrap=200)
            frames.append(combine([analyse_dataset(path, s, dataset=path.stem)], s).curves.assign(sizes=n))
    c = pd.concat(frames, ignore_index=True)
    c = c[np.isfinite(c["backtest_error"].astype(float))].copy()
    factor = widening(c["backtest_trend"].to_numpy(), size_group(c["n_scales"].to_numpy(int) - 1))
    c["covered"] = np.abs(c["backtest_error"]) <= factor * c["backtest_interval"]
    return c


@pytest.mark.measurement
def test_on_synthetic_families_forecasts_beat_both_naive_forecasts(tmp_path):
    """Median |error| of the largest model's forecast against the last score and a line in log size
    (measured: 0.037 against 0.046 and 0.046 on these 432 curves)."""
    c = _stress_backtest(tmp_path)
    mae = {k: float(np.median(np.abs(c[k]))) for k in ("backtest_error", "backtest_error_last",
                                                        "backtest_error_line")}
    assert len(c) > 400
    assert mae["backtest_error"] <= min(mae["backtest_error_last"], mae["backtest_error_line"]), mae


@pytest.mark.measurement
@pytest.mark.xfail(strict=True, reason="issue 27: measured 0.72 at 5 sizes (broken power laws and outliers at "
                                       "the largest model are missed), 0.91 at 8; the target band is 0.90-0.98")
def test_on_synthetic_families_the_widened_interval_covers_90_to_98_percent(tmp_path):
    c = _stress_backtest(tmp_path)
    coverage = c.groupby("sizes")["covered"].mean()
    assert ((coverage >= 0.90) & (coverage <= 0.98)).all(), coverage.to_dict()


def test_the_two_largest_out_backtest_predicts_the_largest_from_the_models_below_them(tmp_path):
    """`backtest2_*`: exact scores on a line in log size, eight sizes: the largest model predicted from
    the six smallest lies on the line, the naive last score is the third largest's."""
    x = np.log10(np.array([1.25e8, 3.5e8, 7.6e8, 1.3e9, 2.7e9, 6.7e9, 1.3e10, 1.75e11]))
    y = np.round(0.10 + 0.06 * (x - x[0]), 4)
    c = run(tmp_path, frame(y, 10 ** x)).curves.iloc[0]
    assert c["backtest2_observed"] == pytest.approx(y[-1])
    assert c["backtest2_error"] == pytest.approx(0.0, abs=2e-3) and c["backtest2_covered"]
    assert c["backtest2_error_last"] == pytest.approx(y[-1] - y[-3])
    assert c["backtest2_interval"] > c["backtest_interval"] > 0      # a longer extrapolation is less sure

"""The analyses the field argues about, on inputs whose answer is known."""
import numpy as np
import pandas as pd
import pytest

from analysis.calibration import label_condition, rates, true_onset
from analysis.debates import (
    compositional_check,
    cot_gain,
    descriptive_scores,
    metric_kind,
    mirage_table,
)
from analysis.findings import backtest_summary
from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from analysis.synthetic import simulate


def test_descriptive_scores_follow_their_definitions():
    y = np.array([0.0, 0.0, 0.0, 0.5, 0.6])           # a breakthrough
    pts = pd.DataFrame({"curve_id": "c", "x": np.arange(5.0), "y": y})
    d = descriptive_scores(pts).iloc[0]
    dy2 = np.diff(y) ** 2
    assert d["linearity"] == pytest.approx(0.6 / np.sqrt(dy2.mean()))
    assert d["breakthroughness"] == pytest.approx(0.6 / np.sqrt(np.median(dy2)))
    assert d["emergence_score"] == d["breakthroughness"]
    steady = descriptive_scores(pts.assign(y=np.linspace(0, 0.6, 5))).iloc[0]
    assert steady["breakthroughness"] < d["breakthroughness"]
    falling = descriptive_scores(pts.assign(y=np.linspace(0.6, 0, 5))).iloc[0]
    assert falling["linearity"] < 0


def test_metric_kinds():
    assert metric_kind("exact_match/strict-match") == "discontinuous"
    assert metric_kind("acc_norm") == "discontinuous"
    assert metric_kind("ppl") == "continuous" and metric_kind("f1") == "continuous"
    assert metric_kind("ifeval_score") == "unknown"


def _mirage_inputs(cont_scores, cont_models=None):
    """acc emergent (at the floor up to 1e10) and a continuous metric on the same (or other) models."""
    base = {"dataset": "d", "family": "F", "benchmark": "b", "task": "t", "shots": "0"}
    scales = [1e8, 1e9, 1e10, 1e11, 1e12]
    curves = pd.DataFrame([{**base, "metric": "acc", "label": "emergent", "curve_id": "acc",
                            "emergence_scale_low": 1e10},
                           {**base, "metric": "f1", "label": "smooth", "curve_id": "f1",
                            "emergence_scale_low": np.nan}])
    models = cont_models or [f"m{i}" for i in range(5)]
    points = pd.DataFrame({"curve_id": ["acc"] * 5 + ["f1"] * 5, "model": [f"m{i}" for i in range(5)] + models,
                           "scale": scales * 2, "y": [0.25, 0.25, 0.26, 0.6, 0.8] + list(cont_scores),
                           "sigma": [0.01] * 10})
    return curves, points


def test_mirage_needs_the_continuous_metric_rising_where_the_discrete_one_is_at_its_floor():
    """Schaeffer et al. (2023) with positive evidence: f1 of the same models rises across the
    three models at acc's floor; a flat f1 there, or f1 from other models, is no evidence."""
    rising = mirage_table(*_mirage_inputs([0.10, 0.20, 0.30, 0.40, 0.50])).iloc[0]
    assert rising["mirage"] and "rises across the 3 models at the floor" in rising["evidence"]
    assert rising["labels"] == "acc (discontinuous): emergent; f1 (continuous): smooth"
    flat = mirage_table(*_mirage_inputs([0.10, 0.10, 0.10, 0.40, 0.50])).iloc[0]
    assert not flat["mirage"] and "no significant rise" in flat["evidence"]
    other = mirage_table(*_mirage_inputs([0.10, 0.20, 0.30, 0.40, 0.50], [f"x{i}" for i in range(5)])).iloc[0]
    assert not other["mirage"] and "not from the same models" in other["evidence"]


def test_cot_gain_finds_where_the_gain_turns_positive():
    scales = [1e8, 1e9, 1e10, 1e11]
    rows = []
    for s, plain, cot in zip(scales, [0.2, 0.22, 0.25, 0.3], [0.1, 0.2, 0.35, 0.6]):
        for task, score in (("bbh_fewshot_x", plain), ("bbh_cot_fewshot_x", cot)):
            rows.append({"dataset": "d", "family": "F", "task": task, "metric": "em", "model": f"m{s:g}",
                         "scale": s, "score": score, "bounded": True})
    g = cot_gain(pd.DataFrame(rows)).iloc[0]
    assert g["plain_task"] == "bbh_fewshot_x" and g["models"] == 4
    assert g["gain_smallest"] == pytest.approx(-0.1) and g["gain_largest"] == pytest.approx(0.3)
    assert 1e8 < g["turns_positive"] < 1e10
    assert g["positive_from"] == 1e10


def test_compositional_check_recovers_p_and_rejects_what_is_not_p_to_the_L():
    steps = {"2D+": 2, "3D+": 3, "4D+": 4}
    rows = [{"dataset": "d", "family": "F", "metric": "acc", "shots": "0", "model": "m", "scale": 1e9,
             "task": t, "score": 0.9 ** L, "bounded": True} for t, L in steps.items()]
    good = compositional_check(pd.DataFrame(rows), {"addition": steps}).iloc[0]
    assert good["per_step_accuracy"] == pytest.approx(0.9, abs=1e-4) and good["rms_error"] < 1e-4
    rows[2]["score"] = 0.0
    bad = compositional_check(pd.DataFrame(rows), {"addition": steps}).iloc[0]
    assert bad["rms_error"] > 0.1


def test_backtest_predicts_smooth_curves_with_calibrated_intervals(tmp_path):
    """Grouped by the truth (not by the label, which has seen the held-out model): smooth truths
    are predicted with about nominal coverage, and their training trend reads rising."""
    df = pd.concat([simulate("smooth", 60, n_sizes=8, seed=1), simulate("emergent", 60, n_sizes=8, seed=2)])
    path = tmp_path / "b.csv"
    df.to_csv(path, index=False)
    s = Settings(bootstrap=50)
    curves = combine([analyse_dataset(path, s)], s).curves
    summary = backtest_summary(curves, by="task").set_index("task")
    print(summary)
    assert 0.90 <= summary.loc["smooth", "coverage"] <= 1.0
    assert summary.loc["smooth", "median_abs_error"] < 0.03
    assert (curves.loc[curves["task"] == "smooth", "backtest_trend"] == "rising").mean() > 0.9
    assert set(backtest_summary(curves)["backtest_trend"]) <= {"rising", "falling", "no trend"}


@pytest.mark.measurement
def test_emergence_bracket_coverage_at_least_90_percent():
    """Brackets on 8 sizes with 1000 items: how often they hold the true onset (not a
    confidence interval: the data's own gap between two models, so no upper bound)."""
    s = Settings(bootstrap=200)
    curves = pd.concat([label_condition(8, 1000, 100, s, seed=seed) for seed in (11, 12)])
    r = rates(curves[curves["task"] == "emergent"], 8)
    print(f"bracket coverage {r['bracket_coverage']:.1%} over {r['brackets']} brackets, truth {true_onset():.3g}")
    assert r["brackets"] >= 160
    assert r["bracket_coverage"] >= 0.90


def test_backtest_predicts_where_aicc_cannot_rank_the_smooth_models(tmp_path):
    """Five scales of unknown noise leave four training points: AICc cannot rank three-parameter
    models there, so the line alone predicts (it did before the models were averaged)."""
    x = np.logspace(8, 11, 5)
    df = pd.DataFrame({"model": [f"m{i}" for i in range(5)], "family": "F", "params": x, "benchmark": "b",
                       "task": "t", "metric": "acc", "score": [0.30, 0.36, 0.41, 0.47, 0.52], "chance": 0.25})
    path = tmp_path / "b.csv"
    df.to_csv(path, index=False)
    s = Settings(bootstrap=50)
    c = combine([analyse_dataset(path, s)], s).curves.iloc[0]
    assert c["backtest_model"] == "loglinear" and np.isfinite(c["backtest_predicted"])
    assert np.isfinite(c["backtest_interval"]) and c["backtest_covered"] in (True, False)


def test_cot_gain_pairs_chain_of_thought_with_standard_prompting_within_each_benchmark():
    """Wei et al.'s appendix names the pair chain_of_thought / standard_prompting under one benchmark each:
    the gain is per benchmark, never a model's GSM8K chain of thought against its SVAMP standard prompt."""
    rows = []
    for bench, offset in (("GSM8K", 0.0), ("SVAMP", 0.3)):
        for s, plain, cot in zip([1e8, 1e9, 1e10], [0.02, 0.03, 0.05], [0.01, 0.05, 0.3]):
            for task, score in (("standard_prompting", plain + offset), ("chain_of_thought", cot + offset)):
                rows.append({"dataset": "d", "family": "F", "benchmark": bench, "task": task, "metric": "solve_rate",
                             "model": f"m{s:g}", "scale": s, "score": score, "bounded": True})
    g = cot_gain(pd.DataFrame(rows)).set_index("benchmark")
    assert list(g.index) == ["GSM8K", "SVAMP"] and (g["plain_task"] == "standard_prompting").all()
    assert g["gain_largest"].tolist() == pytest.approx([0.25, 0.25])     # within a benchmark: no offset mixed in
    assert g["models"].tolist() == [3, 3]


def test_rising_slope_matches_statsmodels():
    """The mirage check's slope test is numpy; statsmodels' WLS (fixed scale) and OLS are the reference."""
    from statsmodels.regression.linear_model import OLS, WLS
    from statsmodels.tools.tools import add_constant

    from analysis.debates import rising_slope
    rng = np.random.default_rng(4)
    for slope_true in (0.05, 0.0, -0.03):
        x = np.log10(np.sort(rng.uniform(1e8, 1e11, 5)))
        var = rng.uniform(1e-4, 4e-4, 5)
        y = 0.3 + slope_true * x + rng.normal(0, 0.02, 5)
        for weights in (var, None):
            X = add_constant(x)
            fit = WLS(y, X, weights=1 / var).fit(cov_type="fixed scale") if weights is not None else OLS(y, X).fit()
            p_ref = fit.pvalues[1] / 2 if fit.params[1] > 0 else 1 - fit.pvalues[1] / 2
            slope, p = rising_slope(x, y, weights)
            assert slope == pytest.approx(fit.params[1], rel=1e-10)
            assert p == pytest.approx(p_ref, rel=1e-8, abs=1e-14)

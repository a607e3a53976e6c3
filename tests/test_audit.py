"""The referee's audit cases of issue 21 (D1-D6, the power targets), measured on synthetic studies.

Each case is many independent studies (one family, one dataset) run through the
public pipeline (`analysis/audit.py`). The rates are the `measurement` tier; the properties
(a label depends on its own dataset only) the default tier. Small counts here;
`benchmarks/audit.py` runs them at full size with intervals. Targets the code
meets are asserted; those it does not yet meet are strict xfails with the
measured rate, so that a fix shows up as an unexpected pass.
"""
import numpy as np
import pandas as pd
import pytest

from analysis.audit import CASES, label_studies, run_case, study_rows
from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from tests.conftest import REPO

S = Settings(bootstrap=100)
CASE = {c.name: c for c in CASES}


def _rate(name, studies=60, seed=7):
    return run_case(CASE[name], studies, S, seed)


@pytest.mark.measurement
def test_chance_written_above_the_true_floor_is_not_emergence():
    """D5: chance written 0.25 where the floor is 0: 78 % emergent at 7887b93; now warned, not emergent."""
    r = _rate("D5 chance written 0.25, true floor 0")
    assert r["rate_emergent"] <= 0.05, r


@pytest.mark.measurement
def test_without_a_chance_column_a_generation_task_still_emerges():
    """No chance column: the floor is the scale's bottom, so zeros then a jump are emergent (they were
    "not assessed" before), and a 4-way task's rise from 25 % is not (its models are not at 0)."""
    r = _rate("no chance column, generation task: floor then jump, 5 sizes")
    assert r["power"] >= 0.80, r
    r = _rate("no chance column, 4-way task: a sharp rise from 0.25, 5 sizes")
    assert r["rate_emergent"] <= 0.05 and r["wrong"] <= 0.08, r


@pytest.mark.measurement
def test_one_paper_table_decline_is_inverse():
    """A 4-size one-task table, 800 items, a decline of 10-20 points: inverse ≥ 80 % (insufficient at 7887b93)."""
    r = _rate("one-paper table: decline >= 10 points, 4 sizes")
    assert r["power"] >= 0.80 and r["wrong"] <= 0.08, r


@pytest.mark.measurement
def test_tables_without_item_counts_keep_their_labels():
    """One-paper tables printed without n_items (the noise is the curve's residuals with the shipped
    prior): a 4-size decline is inverse, a flat 5-size curve flat, zeros then a jump emergent (300
    studies each: 99.0 %, 91.0 %, 86.0 %)."""
    r = _rate("no item counts: decline >= 10 points, 4 sizes")
    assert r["power"] >= 0.80 and r["wrong"] <= 0.08, r
    r = _rate("no item counts: flat, 5 sizes")
    assert r["power"] >= 0.50 and r["wrong"] <= 0.08, r
    r = _rate("no item counts: floor then jump >= 0.2, 5 sizes", studies=200)    # 60 studies: 78 %
    assert r["power"] >= 0.80, r


@pytest.mark.measurement
def test_floor_then_jump_is_emergent():
    r = _rate("one-paper table: floor then jump >= 0.2, 5 sizes")
    assert r["power"] >= 0.80, r


@pytest.mark.measurement
def test_family_whose_tasks_all_emerge():
    """D3: the tasks' shared shape is not counted as scatter (0/80 emergent at 7887b93)."""
    r = _rate("a family whose 8 tasks all emerge, 8 sizes", studies=15)
    assert r["power"] >= 0.80, r


@pytest.mark.measurement
def test_flat_five_sizes_is_flat():
    r = _rate("one-paper table: flat, 5 sizes", studies=300)
    assert r["power"] >= 0.50 and r["wrong"] <= 0.08, r


@pytest.mark.measurement
def test_flat_one_paper_table_few_wrong_flags():
    r = _rate("one-paper table: flat, 4 sizes", studies=300)
    assert r["wrong"] <= 0.08, r


@pytest.mark.measurement
@pytest.mark.xfail(strict=True, reason="issue 21 D4 not met: A*N^beta from chance 0 is still emergent "
                                       "8.1 % [6.8, 9.6] on 1,500 studies (36.9 % at 7887b93; 3.5 % with "
                                       "accelerating_null: steepest; 3.1 % without the steep_law caveat; "
                                       "docs/METHODS.md 7.3)")
def test_accelerating_from_zero_is_not_emergent():
    r = _rate("D4 A*N^beta from chance 0, 5 sizes", studies=300)
    assert r["rate_emergent"] <= 0.05, r


@pytest.mark.measurement
def test_accelerating_from_zero_under_the_steepest_null():
    """`accelerating_null: steepest` meets D4's 5 % (the default does not: docs/METHODS.md 7.3). Its rate
    is 3.5 % [2.7, 4.6] on 1,500 studies; 300 studies scatter it over 3-8 %, so the test takes 1,500."""
    from dataclasses import replace
    r = run_case(CASE["D4 A*N^beta from chance 0, 5 sizes"], 1500, replace(S, accelerating_null="steepest"), 7)
    assert r["rate_emergent"] <= 0.05, r


@pytest.mark.measurement
def test_wide_logistics_with_large_scatter_are_not_u_shaped():
    """D6: a one-task table, logistics 1.5-4 decades wide, scatter 3× binomial: U flags ≤ 5 % (5.7 % before
    a lone curve's own scatter was checked against the prior; 10.0 % at 7887b93)."""
    r = _rate("D6 wide logistics, 5 sizes, 3x scatter", studies=300)
    assert r["rate_u"] <= 0.05 and r["rate_inverse"] <= 0.05, r


@pytest.mark.measurement
@pytest.mark.parametrize("sizes", [4, 5])
def test_a_rise_beyond_the_flat_margin_is_rarely_flat(sizes):
    """flat is an equivalence test at 5 % (two one-sided tests): a loglinear rise of 1-1.3 flat margins,
    300 items (a trend not always significant), is called flat ≤ 5 % of the time (1.7 % and 2.8 %
    measured on 600 studies)."""
    r = _rate(f"one-paper table: a rise just beyond the flat margin, {sizes} sizes", studies=300)
    assert r["wrong"] <= 0.05 and r["share_flat"] > 0, r


@pytest.mark.measurement
def test_accelerating_from_zero_less_often_emergent_than_before():
    """D4 at 7887b93: 36.9 % [29.4, 44.9] at 5 sizes (the referee's measurement)."""
    r = _rate("D4 A*N^beta from chance 0, 5 sizes", studies=80)
    assert r["rate_emergent_high"] < 0.369, r


@pytest.mark.measurement
def test_flat_family_with_large_scatter():
    """D1: a flat 4-size family whose models' scatter is 3× the binomial sd: a trend either way or any
    flag on ≤ 8 % of its curves (10.4 % at 7887b93; 16 % with its scatter on 1 dof around 3-parameter
    fits, and the prior allowed to pull it down)."""
    r = _rate("D1 flat 4-size family, scatter 3x binomial", studies=60)
    assert r["wrong"] <= 0.08 and r["rate_inverse"] <= 0.05, r


def test_label_depends_on_its_own_dataset_only():
    """Adding, removing or editing another dataset changes no label, p or q of this one."""
    cols = ["label", "p_value", "q_value", "p_emergence", "p_trend", "p_ushape", "q_emergence", "q_trend",
            "q_ushape", "reason"]
    key = ["family", "benchmark", "task", "metric", "shots"]
    mine = analyse_dataset(REPO / "data" / "cot_wei2022.csv", S, dataset="cot_wei2022")
    other = study_rows(CASE["one-paper table: floor then jump >= 0.2, 5 sizes"], 30, 3)
    single = combine([mine], S).curves.set_index(key)
    alone = single[cols]
    for edit in (0.0, 0.2):
        rows = other.assign(score=np.clip(other["score"] + edit * (other["task"] == "task0"), 0, 1))
        path = REPO / ".pytest-audit-other.csv"
        try:
            rows.to_csv(path, index=False)
            theirs = analyse_dataset(path, S, dataset="other")
        finally:
            path.unlink(missing_ok=True)
        both = combine([mine, theirs], S).curves
        together = both[both["dataset"] == "cot_wei2022"].set_index(key)[cols]
        pd.testing.assert_frame_equal(alone.sort_index(), together.sort_index())
        # while the run-wide q, the column for pooled readers, does move with the other dataset (the trend's:
        # every curve of both datasets has a trend test)
        run_q = both[both["dataset"] == "cot_wei2022"].set_index(key)["q_trend_run"].sort_index()
        assert not np.allclose(run_q, single["q_trend_run"].sort_index(), equal_nan=True)


def test_studies_batched_equal_studies_alone():
    """The audit's batching (one analysis, each family its own dataset) is what one file per study gives."""
    rows = study_rows(CASE["one-paper table: floor then jump >= 0.2, 5 sizes"], 4, 11)
    batched = label_studies(rows, S).set_index("family")
    for fam, part in rows.groupby("family"):
        path = REPO / f".pytest-audit-{fam}.csv"
        try:
            part.drop(columns="tokens").to_csv(path, index=False)
            alone = combine([analyse_dataset(path, S, dataset=fam)], S).curves.iloc[0]
        finally:
            path.unlink(missing_ok=True)
        assert alone["label"] == batched.loc[fam, "label"]
        assert np.isclose(alone["p_value"], batched.loc[fam, "p_value"], equal_nan=True)

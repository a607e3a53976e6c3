"""Issues 11 and 12's measured targets, on a reduced but honest grid of the stress suite.

The full grid (4 sizes × 4 noises × 2 scatters + chance 0.5, 300 curves per null
truth) runs from benchmarks/stress.py. Here: six blocks that cover every size
count (4, 5, 8, 12 on real grids), every noise (100 / 1,000 / 10,000 items,
residual) and both scatters, every null truth and effect, 120 curves per null
truth and 40 per effect in each block, each block one analyse_dataset + combine
at the run's default settings (bootstrap 1000 / 4000). With 120 curves per cell
a rate's 95 % interval is about ±4 points, so a cell fails when its count is
significantly above the target (one-sided binomial test, p < 0.01): a rate truly
at the target fails 1 % of the time per cell, the excesses issue 11 measured
(17-58 %) fail always. The point estimates, on 300 curves per cell, are in
benchmarks/stress.csv (docs/ACCURACY.md).

Measured 197 s wall (125 s CPU, one process; another job shared the 2 cores), so about
2-3.5 minutes: the `measurement` tier (`pytest --all` or `-m measurement`); the generator's own
checks are in the default tier.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.settings import Settings
from analysis.stress import (
    ANY_WRONG_TARGET,
    BRACKET_TARGET,
    EMERGENT_POWER_TARGET,
    HELD_SCATTER,
    LABEL_FPR_TARGET,
    SIZE_TARGET,
    Block,
    bracket_coverage,
    check_targets,
    markdown,
)
from analysis.stress_run import stress_table
from analysis.synthetic import EFFECT_TRUTHS, EMPIRICAL_TAU, GRIDS, NULL_TRUTHS, stress_block, stress_truth

REDUCED = [Block(4, 1000, "stress"), Block(4, None, "empirical"), Block(5, 100, "empirical"),
           Block(8, 1000, "empirical"), Block(8, 10000, "empirical"), Block(8, None, "stress"),
           Block(12, 1000, "empirical")]
NULLS, EFFECTS = 120, 40

# ---------------------------------------------------------------- fast: the generator is honest
def test_grids_are_real_and_sized():
    for n, grids in GRIDS.items():
        for name, (axis, scales) in grids.items():
            assert len(scales) == n and axis in ("params", "tokens"), name
            assert np.all(np.diff(scales) > 0), name


def test_null_truths_stay_in_range_and_do_not_fall():
    rng = np.random.default_rng(1)
    for grids in GRIDS.values():
        for _, scales in grids.values():
            x = np.tile(np.log10(scales), (200, 1))
            for chance in (0.25, 0.5):
                for truth in NULL_TRUTHS + EFFECT_TRUTHS:
                    y = stress_truth(truth, x, np.full(200, chance), rng)
                    assert y.shape == x.shape
                    assert np.all((y >= chance - 0.3) & (y <= 1.0)), truth
                    if truth in NULL_TRUTHS and truth != "outlier":
                        assert np.all(np.diff(y, axis=1) >= -1e-12), truth   # no decline, no U


def test_block_ids_unique_and_truth_hidden():
    counts = {t: 5 for t in NULL_TRUTHS + EFFECT_TRUTHS}
    rows, truth = stress_block(8, 1000, "empirical", 0.25, counts, seed=3)
    assert len(truth) == sum(counts.values())
    assert not truth.duplicated(["family", "task"]).any()
    assert rows.groupby(["family", "task"]).size().eq(8).all()
    assert not rows[["model", "task"]].duplicated().any()
    text = rows.to_csv(index=False)
    for t in NULL_TRUTHS + EFFECT_TRUTHS:
        assert t not in text                      # the detector never sees the truth
    assert 0.0 <= rows["score"].min() and rows["score"].max() <= 1.0
    assert set(np.round(truth["tau"], 5)) <= set(EMPIRICAL_TAU)


# ---------------------------------------------------------------- measurement: the targets
@pytest.fixture(scope="module")
def stress():
    table, info = stress_table(REDUCED, Settings(), nulls=NULLS, effects=EFFECTS, seed=11, log=None)
    print("\n" + markdown(table))
    print(info[["sizes", "noise", "scatter", "curves", "rejected", "analyse_s", "combine_s"]].to_string())
    return table, info


def _misses(table: pd.DataFrame, measures, scatter=HELD_SCATTER) -> pd.DataFrame:
    """Cells whose count is significantly above the target (one-sided binomial, p < 0.01)."""
    from scipy.stats import binomtest
    m = check_targets(table, scatter)
    m = m[m["measure"].str.startswith(measures)].copy()
    if m.empty:
        return m
    m["p"] = [binomtest(round(v * n), int(n), t, alternative="greater").pvalue
              for v, t, n in zip(m["value"], m["target"], m["n"])]
    return m[m["p"] < 0.01]


@pytest.mark.measurement
def test_every_row_valid_and_labelled(stress):
    table, info = stress
    assert (info["rejected"] == 0).all()
    assert (info["missing_truth"] == 0).all()
    assert (table.loc[table["kind"] == "null_truth", "n"] == NULLS).all()
    assert (table.loc[table["kind"] == "effect", "n"] == EFFECTS).all()


@pytest.mark.measurement
def test_power_is_reported(stress):
    table, _ = stress
    power = table.loc[table["kind"] == "effect", "power"]
    assert power.notna().all() and power.between(0, 1).all()


@pytest.mark.measurement
def test_size_at_most_6_percent_on_core_nulls(stress):
    table, _ = stress
    misses = _misses(table, "size_")
    assert misses.empty, f"size > {SIZE_TARGET:.0%}:\n{misses.to_string()}"


@pytest.mark.measurement
def test_label_false_positive_rate_at_most_5_percent(stress):
    table, _ = stress
    misses = _misses(table, "fpr_")
    assert misses.empty, f"flag FPR > {LABEL_FPR_TARGET:.0%}:\n{misses.to_string()}"


@pytest.mark.measurement
def test_any_wrong_flag_at_most_8_percent(stress):
    table, _ = stress
    misses = _misses(table, "any_wrong")
    assert misses.empty, f"any wrong flag > {ANY_WRONG_TARGET:.0%}:\n{misses.to_string()}"


@pytest.mark.measurement
def test_targets_under_three_times_the_sampling_scatter(stress):
    """Reported, not held, until issue 21's second round: a 4-size family's scatter on 2 dof around its
    lines, never pulled down by the prior. On the full grid (benchmarks/stress.csv) the worst cell is
    inverse on 7.3 % of flat curves (5 sizes, residual noise), not significantly above 5 %."""
    table, _ = stress
    misses = _misses(table, ("fpr_", "any_wrong"), ("stress",))
    assert misses.empty, misses.to_string()


@pytest.mark.measurement
def test_clear_emergence_is_found_at_least_90_percent_with_8_sizes(stress):
    """Issue 12: a flat start then a rise of 0.3-0.6 within a decade, plateau observed or not,
    8 sizes (GPT-3, OPT, Pythia grids), 1,000 items: not significantly below 90 %."""
    from scipy.stats import binomtest
    table, _ = stress
    cells = table[(table["sizes"] == 8) & (table["noise"] == "binomial 1000")
                  & table["truth"].str.startswith("emergent")]
    assert len(cells) == 2
    for _, r in cells.iterrows():
        # over the curves that are emergent on their grid (issue 21: the truth from the noise-free shape)
        k = round(r["power"] * r["power_n"])
        assert binomtest(k, int(r["power_n"]), EMERGENT_POWER_TARGET[8], alternative="less").pvalue >= 0.01, \
            r["truth"]


@pytest.mark.measurement
def test_emergence_bracket_holds_the_true_onset_at_least_90_percent(stress):
    from scipy.stats import binomtest
    table, _ = stress
    k, n = bracket_coverage(table)
    assert n >= 100
    assert binomtest(k, n, BRACKET_TARGET, alternative="less").pvalue >= 0.01, f"{k} of {n}"


def test_readme_shows_the_committed_stress_summary():
    """docs/ACCURACY.md's table is the committed measurement's (benchmarks/stress.csv), not a copy that drifts."""
    from analysis.stress import summary_markdown
    from tests.conftest import REPO
    table = pd.read_csv(REPO / "benchmarks" / "stress.csv")
    assert summary_markdown(table) in (REPO / "docs" / "ACCURACY.md").read_text(encoding="utf-8")


def test_readme_quotes_the_committed_stress_figures():
    """The README's "How sure" figures are the committed grid's (benchmarks/stress.csv), not a copy that drifts."""
    import re

    from analysis.stress import headline_figures
    from tests.conftest import REPO
    readme = re.sub(r"\s+", " ", (REPO / "README.md").read_text(encoding="utf-8"))
    section = readme[readme.index("## How sure"):readme.index("## Running elsewhere")]
    figures = headline_figures(pd.read_csv(REPO / "benchmarks" / "stress.csv"))
    missing = {name: f for name, f in figures.items() if f not in section}
    assert not missing, f"README's 'How sure' section lacks {missing}"

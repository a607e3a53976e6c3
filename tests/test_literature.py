"""The chain-of-thought paper's own verdicts as a regression test on real data.

`data/cot_wei2022.csv` is Wei et al. 2022's appendix (LaMDA, InstructGPT,
PaLM; standard prompting vs chain of thought); `tests/data/literature_verdicts.csv`
gives, per curve, the label(s) the paper's words and numbers allow. Issue 12's
target is at least 23 of 25. The settings are the defaults, chosen on the
stress suite, never on this table.
"""
import pandas as pd
import pytest

from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from tests.conftest import REPO

KEY = ["dataset", "family", "benchmark", "task", "metric", "shots"]
TARGET = 23     # issue 12; issue 21 keeps it
#: measured after issue 21's short-family scatter (a 4-size family pooled around its lines, the prior
#: never pulling a family's own scatter down) and flat as a two-one-sided-tests equivalence at 5 %: the
#: misses are InstructGPT's GSM8K with chain of thought (its floor models, precise at 0.5-2.4 %, rise
#: detectably, and the accelerating law from them allows the jump), LaMDA's MultiArith with standard
#: prompting (5.8, 5.8, 5.2, 8.7, 7.6 %: too uncertain to call flat at the family's own scatter), coin
#: flip with 2 and with 4 flips (no item counts; no flat start, and a borderline jump); docs/METHODS.md 7.4
MEASURED = 21


@pytest.fixture(scope="module")
def verdicts():
    s = Settings()
    curves = combine([analyse_dataset(REPO / "data" / "cot_wei2022.csv", s, dataset="cot_wei2022")], s).curves
    expected = pd.read_csv(REPO / "tests" / "data" / "literature_verdicts.csv", dtype=str, keep_default_na=False)
    m = expected.merge(curves.astype({"shots": str}), on=KEY, how="left", validate="one_to_one")
    assert m["label"].notna().all(), "a verdict's curve is missing from the analysis"
    agrees = [label in accept.split("|") for label, accept in zip(m["label"], m["accept"])]
    m = pd.concat([m, pd.Series(agrees, index=m.index, name="agrees")], axis=1)
    print("\n" + m[["family", "benchmark", "task", "accept", "label", "reason"]].to_string())
    return m


@pytest.mark.xfail(strict=True, reason="issue 21: 21 of 25 measured; the target 23 is not met")
def test_at_least_23_of_25_curves_agree_with_the_paper(verdicts):
    assert verdicts["agrees"].sum() >= TARGET


def test_no_fewer_agree_than_measured(verdicts):
    assert verdicts["agrees"].sum() >= MEASURED

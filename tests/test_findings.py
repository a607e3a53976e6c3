"""The report's key findings: generated from the curves, axes kept apart, counts that add up."""
import numpy as np
import pandas as pd

from analysis.findings import benchmark_summary, key_findings, trust
from analysis.stress import summarise
from tests.conftest import REPO


def curve(family, task, label, axis="params", n_scales=6, known=True, low=np.nan, high=np.nan, q=0.01):
    return {"dataset": "d", "family": family, "benchmark": "B", "task": task, "metric": "acc", "shots": "0",
            "x_axis": axis, "label": label, "n_scales": n_scales, "known_noise": known, "q_value": q,
            "emergence_scale_low": low, "emergence_scale_high": high, "curve_id": f"{family}|{task}|{axis}"}


CURVES = pd.DataFrame([
    curve("F1", "gsm8k", "emergent", low=8e9, high=6.8e10, q=0.002),
    curve("F2", "gsm8k", "smooth"),
    curve("F3", "gsm8k", "insufficient", n_scales=2),
    curve("F1", "truthful", "inverse"),
    curve("F2", "truthful", "insufficient", n_scales=5, known=False),
    curve("P · params 1B", "sciq", "emergent", axis="tokens", low=1e9, high=2e9),
])


def test_findings_keep_axes_apart_and_name_the_families_with_their_bracket():
    found = {f.axis: f for f in key_findings(CURVES, min_scales=4)}
    assert list(found) == ["params", "tokens"]                     # model size first, checkpoints apart
    params = found["params"]
    assert params.summary.startswith("5 curves: 3 could be judged (60%); 1 emergent, 1 smooth, 1 inverse")
    groups = dict(params.groups)
    emergent = groups["Emergent (absent, then present): 1 curve(s) on 1 task(s)"]
    assert emergent == ["B · gsm8k (acc, 0-shot): emergent for F1 (leaves the floor between 8B and 68B parameters, "
                        "q = 0.002); the other families: 1 smooth, 1 insufficient; B's other 1 task/metric/prompt "
                        "combination(s) (truthful): 1 inverse, 1 insufficient."]
    assert groups["Declining with scale: 1 curve(s) on 1 task(s)"][0].startswith("B · truthful (acc, 0-shot): inverse")
    not_judged = groups["Not judged"][0]
    assert "1 have fewer than 4 model sizes (1 need 2 more)" in not_judged
    assert "1 have enough sizes but an interval of the change too wide" in not_judged
    assert "(1 of them without n_items or stderr)" in not_judged
    assert "tokens" in dict(found["tokens"].groups)["Emergent (absent, then present): 1 curve(s) on 1 task(s)"][0]


def test_benchmark_summary_counts_every_curve_once():
    table = benchmark_summary(CURVES)
    assert table["curves"].sum() == len(CURVES)
    row = table[(table["x_axis"] == "params") & (table["benchmark"] == "B")].iloc[0]
    assert (row["emergent"], row["insufficient"], row["families"]) == (1, 2, 3)


def test_trust_reads_the_stress_suite_as_its_summary_does():
    line = trust(summarise(pd.read_csv(REPO / "benchmarks" / "stress.csv")))[0]
    assert "emergent at most" in line and "above 5 % in" in line
    assert "is called emergent in" in line and "with 8 sizes" in line
    assert trust(None) == []


def test_a_flagged_task_names_its_benchmarks_other_curves_once():
    """Asked "is GSM8K emergent", a reader needs the benchmark's other tasks and metrics too."""
    base = dict(dataset="d", benchmark="GSM8K", metric="acc", shots="8", x_axis="params", q_value=0.01,
                emergence_scale_low=np.nan, emergence_scale_high=np.nan)
    curves = pd.DataFrame([
        {**base, "family": "A", "task": "cot", "label": "emergent"},
        {**base, "family": "B", "task": "cot", "label": "flat"},
        {**base, "family": "A", "task": "gsm8k_cot", "label": "smooth"},
        {**base, "family": "B", "task": "gsm8k_cot", "label": "flat"},
        {**base, "family": "C", "task": "gsm8k_cot", "metric": "strict", "label": "flat"},
        {**base, "family": "A", "task": "other", "benchmark": "MMLU", "label": "smooth"},
    ])
    lines = [line for _, group in key_findings(curves, 4)[0].groups for line in group]
    emergent = next(line for line in lines if line.startswith("GSM8K · cot"))
    assert "the other families: 1 flat" in emergent
    assert "GSM8K's other 2 task/metric/prompt combination(s) (gsm8k_cot): 2 flat, 1 smooth" in emergent
    assert "MMLU" not in emergent


def test_one_test_set_written_three_ways_in_three_datasets_is_one_finding():
    rows = []
    for i, (bench, task) in enumerate((("ARC-c", "ARC-c"), ("lm-eval", "arc_challenge"),
                                       ("ARC (Challenge)", "ARC (Challenge) (test)"))):
        r = curve(f"F{i}", task, "emergent", low=1e9, high=1e10)
        rows.append({**r, "dataset": f"d{i}", "benchmark": bench, "catalogue": "ARC-Challenge/arc_challenge"})
    groups = dict(key_findings(pd.DataFrame(rows), min_scales=4)[0].groups)
    assert list(groups) == ["Emergent (absent, then present): 3 curve(s) on 1 task(s)"]
    assert "F0" in groups[list(groups)[0]][0] and "F2" in groups[list(groups)[0]][0]


def test_variants_of_one_test_set_within_a_dataset_stay_apart():
    """BBH with and without chain of thought are one test set but two findings."""
    rows = [{**curve("F", task, "emergent", low=1e9, high=1e10), "benchmark": "BBH", "catalogue": "BBH/snarks"}
            for task in ("bbh_cot_fewshot_snarks", "bbh_fewshot_snarks")]
    groups = dict(key_findings(pd.DataFrame(rows), min_scales=4)[0].groups)
    assert list(groups) == ["Emergent (absent, then present): 2 curve(s) on 2 task(s)"]


def test_findings_say_whether_brackets_agree_and_name_a_single_source():
    """Issue 24: families whose brackets overlap are said to agree; a claim from one dataset names its paper."""
    agree = pd.DataFrame([curve("F1", "t", "emergent", low=1e9, high=1e10), curve("F2", "t", "emergent", low=5e9,
                                                                                    high=7e10)])
    line = key_findings(agree, 4, {"F1|t|params": "Wei et al. 2022, Table 2"})[0].groups[0][1][0]
    assert "Their brackets overlap: every one of these 2 leaves the floor between 5B and 10B parameters" in line
    assert line.endswith("Source: Wei et al. 2022, Table 2.")
    apart = agree.assign(emergence_scale_low=[1e9, 2e10], emergence_scale_high=[1e10, 7e10],
                         dataset=["d1", "d2"])
    line = key_findings(apart, 4, {"F1|t|params": "A", "F2|t|params": "B"})[0].groups[0][1][0]
    assert "Their brackets do not overlap" in line and "from 1B to 70B" in line
    assert "Source:" not in line                                   # two datasets: no single paper


def test_the_order_of_findings_holds_for_one_flagged_curve_and_for_none():
    from analysis.findings import findings_order
    assert findings_order(CURVES[CURVES["label"] == "smooth"]).isna().all()
    one = CURVES[CURVES["label"] == "inverse"]
    assert findings_order(one).tolist() == [0.0]
    # model size first (its emergent curve, then its inverse one), then training tokens
    assert findings_order(CURVES).dropna().sort_values().index.tolist() == [0, 3, 5]

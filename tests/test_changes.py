"""What changed since the last run: new, removed, relabelled curves and emergence brackets that moved."""
import numpy as np
import pandas as pd

from analysis.changes import compare, since_last_run


def curves(rows):
    base = {"dataset": "d", "benchmark": "b", "metric": "acc", "shots": "0", "x_axis": "params", "reason": "why",
            "emergence_scale": np.nan, "emergence_scale_low": np.nan, "emergence_scale_high": np.nan}
    out = pd.DataFrame([{**base, **r} for r in rows])
    out["curve_id"] = out["family"] + "|" + out["task"]
    return out


EMERGENT = {"label": "emergent", "emergence_scale_low": 1e9}


def test_each_kind_of_change_is_listed_once_and_nothing_else():
    before = curves([
        {"family": "A", "task": "same", "label": "smooth"},
        {"family": "A", "task": "relabelled", "label": "insufficient", "reason": "too few"},
        {"family": "A", "task": "gone", "label": "flat"},
        {"family": "A", "task": "moved", **EMERGENT, "emergence_scale_high": 1e10},
        {"family": "A", "task": "stayed", **EMERGENT, "emergence_scale_high": 1e10},
    ])
    after = curves([
        {"family": "A", "task": "same", "label": "smooth"},
        {"family": "A", "task": "relabelled", "label": "emergent", "reason": "absent, then present",
         "emergence_scale_low": 2e9, "emergence_scale_high": 7e9},
        {"family": "A", "task": "new", "label": "smooth"},
        {"family": "A", "task": "moved", **EMERGENT, "emergence_scale_high": 3e9},
        {"family": "A", "task": "stayed", **EMERGENT, "emergence_scale_high": 1e10},
    ])
    out = compare(before, after)
    assert dict(zip(out["task"], out["change"])) == {
        "relabelled": "label", "moved": "emergence scale", "new": "new", "gone": "removed"}
    row = out.set_index("task").loc["relabelled"]
    assert (row["label_before"], row["label_after"]) == ("insufficient", "emergent")
    assert (row["reason_before"], row["reason_after"]) == ("too few", "absent, then present")
    assert out.set_index("task").loc["moved", "emergence_high_after"] == 3e9


def test_the_first_run_finds_every_curve_new_and_keeps_its_curves_for_the_next(tmp_path):
    now = curves([{"family": "A", "task": "t", "label": "smooth"}, {"family": "B", "task": "t", "label": "flat"}])
    first = since_last_run(now, tmp_path / "changes.csv")
    assert list(first["change"]) == ["new", "new"]
    again = since_last_run(now.assign(label=["smooth", "inverse"]), tmp_path / "changes.csv")
    assert list(again["change"]) == ["label"] and list(again["family"]) == ["B"]
    assert len(since_last_run(now.assign(label=["smooth", "inverse"]), tmp_path / "changes.csv")) == 0


def test_q_values_that_moved_are_listed_with_whether_they_crossed_alpha():
    """Issue 24: a curve whose label stayed but whose q moved (its dataset gained curves) is a 'q-value'
    change, flagged when it crossed alpha; the caveats of a changed curve say why."""
    before = curves([{"family": "A", "task": "a", "label": "smooth", "q_value": 0.01},
                     {"family": "A", "task": "b", "label": "insufficient", "q_value": 0.04},
                     {"family": "A", "task": "c", "label": "flat", "q_value": 0.5}])
    after = curves([{"family": "A", "task": "a", "label": "smooth", "q_value": 0.02},
                    {"family": "A", "task": "b", "label": "insufficient", "q_value": 0.07},
                    {"family": "A", "task": "c", "label": "emergent", "q_value": 0.01, "caveats": "input_warning"}])
    out = compare(before, after, alpha=0.05).set_index("task")
    assert dict(out["change"]) == {"a": "q-value", "b": "q-value", "c": "label"}
    assert dict(out["crossed_alpha"]) == {"a": False, "b": True, "c": True}
    assert out.loc["c", "caveats_after"] == "input_warning" and out.loc["b", "q_after"] == 0.07


def test_the_report_says_why_and_how_many_q_values_moved():
    from analysis.report import _changes
    before = curves([{"family": "A", "task": "a", "label": "smooth", "q_value": 0.01},
                     {"family": "A", "task": "b", "label": "insufficient", "q_value": 0.04},
                     {"family": "A", "task": "c", "label": "flat", "q_value": 0.5}])
    after = curves([{"family": "A", "task": "a", "label": "smooth", "q_value": 0.02},
                    {"family": "A", "task": "b", "label": "insufficient", "q_value": 0.07},
                    {"family": "A", "task": "c", "label": "emergent", "q_value": 0.01, "caveats": "input_warning"},
                    {"family": "A", "task": "d", "label": "smooth", "q_value": 0.01}])
    shown = _changes(compare(before, after), alpha=0.05)
    assert shown["q_line"].startswith("2 other curve(s) kept their label")
    assert "1 crossed alpha = 0.05" in shown["q_line"]
    assert shown["news"] == "New this run: 1 new curve(s) (1 smooth); 1 relabelled (now 1 emergent)."
    assert [r["change"] for r in shown["rows"]] == ["label", "new"]        # q-value rows: counted, not listed
    assert shown["rows"][0]["caveats"] == "input_warning"

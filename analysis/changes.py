"""What changed since the last run: users rerun when new results appear, and want to see what moved.

The run-wide step keeps a copy of the curves table it wrote (`previous/curves.csv`
beside the results); the next run compares its curves with it, curve by curve.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from . import schema

KEY = ("dataset", "family", "benchmark", "task", "metric", "shots", "x_axis")
COLUMNS = ("change", *KEY, "label_before", "label_after", "emergence_scale_before", "emergence_scale_after",
           "emergence_low_before", "emergence_low_after", "emergence_high_before", "emergence_high_after",
           "reason_before", "reason_after", "q_before", "q_after", "crossed_alpha", "caveats_after", "curve_id")
#: the kinds of change, in the order the report lists them; "q-value": the label and bracket stayed, the q-value
#: moved (the dataset gained or lost curves, so its multiple testing changed)
KINDS = ("label", "emergence scale", "new", "removed", "q-value")


def compare(before: pd.DataFrame, after: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Curves that are new, gone, relabelled, emergent in both runs with another bracket, or whose q-value
    alone moved (with no earlier run, `before` is None and every curve is new). `crossed_alpha`: the q-value
    is on the other side of alpha; `caveats_after`: what qualifies the new label (an input warning on the
    curve's rows among them)."""
    if before is None or before.empty:
        before = pd.DataFrame(columns=after.columns)
    before, after = (f.assign(**{c: np.nan for c in ("q_value", "caveats") if c not in f}) for f in (before, after))
    keep = ["curve_id", *KEY, "label", "reason", "emergence_scale", "emergence_scale_low", "emergence_scale_high",
            "q_value", "caveats"]
    both = before[keep].merge(after[keep], on="curve_id", how="outer", suffixes=("_before", "_after"),
                              indicator=True)
    for k in KEY:
        both[k] = both[f"{k}_after"].where(both["_merge"] != "left_only", both[f"{k}_before"])
    moved = (both["label_before"] == "emergent") & (both["label_after"] == "emergent") & ~(
        _same(both["emergence_scale_low_before"], both["emergence_scale_low_after"])
        & _same(both["emergence_scale_high_before"], both["emergence_scale_high_after"]))
    q0, q1 = both["q_value_before"].astype(float), both["q_value_after"].astype(float)
    q_moved = (both["_merge"] == "both") & ~_same(q0, q1)
    both["crossed_alpha"] = (both["_merge"] == "both") & q0.notna() & q1.notna() & ((q0 <= alpha) != (q1 <= alpha))
    both["change"] = np.select(
        [both["_merge"] == "right_only", both["_merge"] == "left_only",
         both["label_before"] != both["label_after"], moved, q_moved],
        ["new", "removed", "label", "emergence scale", "q-value"], "")
    out = both[both["change"] != ""].rename(columns={
        "emergence_scale_low_before": "emergence_low_before", "emergence_scale_low_after": "emergence_low_after",
        "emergence_scale_high_before": "emergence_high_before", "emergence_scale_high_after": "emergence_high_after",
        "q_value_before": "q_before", "q_value_after": "q_after"})
    order = {k: i for i, k in enumerate(KINDS)}
    out = out.sort_values(["change", *KEY], key=lambda s: s.map(order) if s.name == "change" else s.astype(str))
    return out[list(COLUMNS)].reset_index(drop=True)


def _same(a: pd.Series, b: pd.Series) -> pd.Series:
    a, b = a.astype(float), b.astype(float)
    return (a == b) | (a.isna() & b.isna()) | np.isclose(a, b, rtol=1e-9, atol=0)


def previous_path(changes_csv: str | Path) -> Path:
    """Where the run-wide step keeps the last run's curves (beside changes.csv)."""
    return Path(changes_csv).parent / "previous" / "curves.csv"


def since_last_run(curves: pd.DataFrame, changes_csv: str | Path, alpha: float = 0.05) -> pd.DataFrame:
    """The changes against the kept copy of the last run's curves; then keep this run's for the next."""
    kept = previous_path(changes_csv)
    before = schema.read(kept, "curves") if kept.exists() else None
    out = compare(before, curves, alpha)
    kept.parent.mkdir(parents=True, exist_ok=True)
    schema.spreadsheet_safe(curves).to_csv(kept, index=False)
    return out

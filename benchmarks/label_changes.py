"""Every bundled curve whose label changed between two runs, with its cause.

    python benchmarks/label_changes.py BEFORE/curves.csv AFTER/curves.csv docs/label_changes.csv [RULE]

RULE names the round's causes (`RULES`: issue22, short_families, this_round, noise_level,
floor_without_chance); without it, they follow from
the columns of the earlier run.

The cause is read from the two rows, first match wins. Between two runs that both
have the benchmark catalogue (`cause_since_issue22`): flat by two one-sided tests, a one-task curve's own
scatter, the family's scatter, the re-estimated prior, the jump's line, the multiple testing. Otherwise
(issue 22's changes: the benchmark catalogue's item counts and chance, and the
scatter's shape; then issue 21's):
the smallest models below the written chance (two-sided floor); the width of
the rise, no longer a veto; the jump tested against the accelerating
extrapolation too; the noise (the family's own estimate with the shipped
reference prior, instead of the dataset's pool and the moderation across
families); the multiple testing per dataset (the p-value moved less than the
q-value). "other" where none of these explains it.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.settings import Settings  # noqa: E402

KEY = ["dataset", "family", "benchmark", "task", "metric", "shots", "x_axis"]
KEEP = ["label", "p_value", "q_value", "noise", "scatter_sd", "noise_sd", "noise_dof", "reason", "change",
        "change_low", "change_high", "effect_unit"]
#: the fixed margins before issue 21 (flat_margin, min_change as fractions of the score scale)
OLD_FLAT, OLD_MIN_CHANGE = 0.10, 0.05


def cause_since_issue22(r) -> str:
    """Between two runs that both have the catalogue (issue 21's short-family round): the scatter of short
    families and lone curves, the re-estimated prior, the jump's line, then the multiple testing. First, a
    curve called flat whose 95 % interval is not within the margin: flat by two one-sided tests."""
    margin = Settings().flat_margin * r.effect_unit_after
    if r.label_after == "flat" and not (-margin <= r.change_low_after and r.change_high_after <= margin):
        return ("flat: shown by two one-sided tests at 5 % (its 90 % interval within the margin; the 95 % "
                "interval was required before)")
    if "curve alone" in str(r.noise_after) or "the curve's own" in str(r.noise_after):
        return "noise: a one-task curve's own scatter, far above the prior (the lone curve's conflict check)"
    if (str(r.noise_before) != str(r.noise_after)
            or not np.isclose(r.scatter_sd_before, r.scatter_sd_after, rtol=0.02, equal_nan=True)
            or not np.isclose(r.noise_dof_before, r.noise_dof_after, rtol=0.02, equal_nan=True)):
        return ("noise: the family's scatter (a 4-size family pooled around its lines, the prior never pulling "
                "a family's own estimate down, the conflict check at the 90 % quantile)")
    if not np.isclose(r.noise_sd_before, r.noise_sd_after, rtol=0.02, equal_nan=True):
        return "noise: the shipped reference prior re-estimated (the short families' lines change the corpus's)"
    if "beyond" in str(r.reason_before) + str(r.reason_after):
        return "jump: the smaller models' line through every model below the tested one"
    if np.isclose(r.p_value_before, r.p_value_after, rtol=0.02) and not np.isclose(
            r.q_value_before, r.q_value_after, rtol=0.02):
        return "multiple testing: the q-value moved with the other curves of the dataset"
    return "other"


def cause_this_round(r) -> str:
    """Between two runs of issue 21's short-family round or later (this round: a generation metric's chance,
    the unknown noise's conflict check and floor at the family's own estimate)."""
    if str(r.chance_source_after) == "metric" and str(r.chance_source_before) != "metric":
        return ("chance: 0 from the metric (exact match or another generation metric) where neither the table nor "
                "the catalogue gives one: emergence can be tested")
    if "catalogue" in str(r.noise_after) and "catalogue" not in str(r.noise_before):
        return "catalogue: the test set's item count (a name the catalogue now knows)"
    if str(r.noise_before).startswith("residual") and (
            str(r.noise_before) != str(r.noise_after)
            or not np.isclose(r.noise_sd_before, r.noise_sd_after, rtol=0.02, equal_nan=True)
            or not np.isclose(r.noise_dof_before, r.noise_dof_after, rtol=0.02, equal_nan=True)):
        return ("noise: a family's residual variance (no item counts) never lowered by the prior, and kept on its "
                "own dof where the prior does not describe it (the scatter's conflict check, now for residual "
                "noise too)")
    if np.isclose(r.p_value_before, r.p_value_after, rtol=0.02) and not np.isclose(
            r.q_value_before, r.q_value_after, rtol=0.02):
        return "multiple testing: the q-value moved with the other curves of the dataset"
    return "other"


def cause_noise_level(r) -> str:
    """Issue 21's last round: a proportion's noise at the curve's smoothed level (`curves.noise_level`)."""
    if np.isclose(r.p_value_before, r.p_value_after, rtol=0.02):
        return "multiple testing: the q-value moved across alpha with the other curves of the dataset"
    if int(r.n_points_after) >= 5 and str(r.bounded_after) == "True":
        return ("noise level: a proportion's sd and the scatter's shape evaluated at the curve's smoothed level, "
                "not at each point's observed score")
    return "other"


def cause_floor_without_chance(r) -> str:
    """Issue 21's sixth round: a curve without a chance level tested for emergence from the scale's bottom."""
    if not np.isfinite(float(r.chance_after)) and str(r.bounded_after) == "True":
        return "floor without a chance level: emergence tested from the scale's bottom (0), not left untested"
    if np.isclose(r.p_value_before, r.p_value_after, rtol=0.02):
        return "multiple testing: the q-value moved across alpha with the other curves of the dataset"
    return "other"


#: the cause rules by round, for `main`'s fourth argument (default: from the columns of the earlier run)
RULES = {"issue22": lambda r: cause(r), "short_families": lambda r: cause_since_issue22(r),
         "this_round": lambda r: cause_this_round(r), "noise_level": lambda r: cause_noise_level(r),
         "floor_without_chance": lambda r: cause_floor_without_chance(r)}


def cause(r) -> str:
    # issue 22: what the benchmark catalogue supplied, then the scatter's shape (columns absent before it)
    catalogue_noise = "catalogue" in str(r.noise_after) and "catalogue" not in str(r.noise_before)
    chance = (str(getattr(r, "chance_source_after", "")) == "catalogue"
              and "chance level unknown" in str(r.reason_before))
    if catalogue_noise and chance:
        return "catalogue: the test set's item count and chance level (emergence can be tested)"
    if catalogue_noise and str(r.noise_before).startswith("residual"):
        return "catalogue: the test set's item count (binomial noise instead of noise estimated from residuals)"
    if chance:
        return "catalogue: the chance level (0 for exact match, 1/k for k-way choice): emergence can be tested"
    if catalogue_noise:
        return "catalogue: the test set's item count"
    if hasattr(r, "chance_source_after"):          # a run of issue 22 or later: its other change is the noise
        return ("noise: the scatter scaled by a proportion's noise shape (none at a 0 % floor) and the prior "
                "re-estimated with the catalogue")
    if str(r.below_chance_after) == "True" and r.label_before == "emergent":
        return "floor: the smallest models sit below the written chance (two-sided floor test)"
    if "wider than" in str(r.reason_before) and r.label_after == "emergent":
        return "sharpness: the width of the rise is an attribute, no longer a veto"
    if r.label_before == "emergent" and "not beyond the smaller models' trend" in str(r.reason_after):
        return "jump: tested against the accelerating extrapolation of the smaller models too"
    if r.label_before == "flat" and r.label_after != "flat" and r.effect_unit_after < 1 \
            and -OLD_FLAT <= r.change_low_after and r.change_high_after <= OLD_FLAT:
        return "scale: flat is judged in the metric's own scale (its CI is within ±0.1, not within the new margin)"
    if r.label_after in ("smooth", "inverse") and r.effect_unit_after < 1 and abs(r.change_after) < OLD_MIN_CHANGE:
        return "scale: min_change is read in the metric's own scale (the change is below 0.05 of the score scale)"
    noise_moved = (str(r.noise_before) != str(r.noise_after)
                   or not np.isclose(r.scatter_sd_before, r.scatter_sd_after, rtol=0.1, equal_nan=True)
                   or not np.isclose(r.noise_sd_before, r.noise_sd_after, rtol=0.1, equal_nan=True)
                   or not np.isclose(r.noise_dof_before, r.noise_dof_after, rtol=0.1, equal_nan=True))
    if noise_moved:
        return "noise: the family's own estimate with the shipped reference prior (no dataset pool, no moderation)"
    if np.isclose(r.p_value_before, r.p_value_after, rtol=0.1) and not np.isclose(r.q_value_before, r.q_value_after,
                                                                                   rtol=0.1):
        return "multiple testing: Benjamini-Hochberg per dataset instead of the two-level run-wide procedure"
    return "other"


def main(before: str, after: str, out: str, rule: str = "") -> None:
    read = dict(dtype={"shots": str}, keep_default_na=False, na_values=[""])
    a = pd.read_csv(before, **read)
    b = pd.read_csv(after, **read)
    extra = [c for c in ("below_chance", "fragile", "sharpness", "chance_source", "n_points", "bounded") if c in b]
    m = a[KEY + KEEP].merge(b[KEY + KEEP + extra], on=KEY, suffixes=("_before", "_after"), how="outer",
                            indicator="side")
    m = m.rename(columns={c: f"{c}_after" for c in extra
                          if c in ("below_chance", "chance_source", "n_points", "bounded")})
    if "chance_source" in a:
        m = m.merge(a[KEY + ["chance_source"]].rename(columns={"chance_source": "chance_source_before"}), on=KEY,
                    how="left")
    changed = m[(m["side"] != "both") | (m["label_before"] != m["label_after"])].copy()
    why = RULES[rule] if rule else (cause_since_issue22 if "chance_source" in a else cause)
    changed["cause"] = [why(r) if r.side == "both" else ("new curve" if r.side == "right_only"
                                                           else "curve gone") for r in changed.itertuples()]
    cols = KEY + ["label_before", "label_after", "cause", "p_value_before", "p_value_after", "q_value_before",
                  "q_value_after", "noise_before", "noise_after", "fragile", "sharpness", "reason_after"]
    changed[cols].sort_values(KEY).to_csv(out, index=False)
    print(f"{len(changed)} of {len(b)} curves changed label")
    print(changed.groupby(["label_before", "label_after"]).size().to_string())
    print(changed["cause"].value_counts().to_string())


if __name__ == "__main__":
    main(*sys.argv[1:5])

"""One label per curve, with the test and the reason behind it (METHODS.md §3).

Labels are decided after the Benjamini-Hochberg q-values (per dataset), in this
order: emergent, u_shaped / inverted_u, inverse, smooth, flat, insufficient.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .models import MODELS, ROLES, get
from .settings import Settings
from .stats.emergence import EMERGENCE, emergence_assessable
from .stats.trend import TREND
from .stats.two_lines import TWO_LINES
from .vocabulary import format_scale

#: why a rising curve without a chance level was not tested for emergence (floor_without_chance: none)
NOT_ASSESSED = "emergence not assessed: chance level unknown (add a chance column)"
#: which floor a curve without a chance level was tested against (`stats.emergence.emergence_floor`)
FLOOR_WITHOUT_CHANCE = {"bottom": "the floor is the scale's bottom, 0, as no chance level is given",
                        "lowest": "the floor is the curve's lowest score, as no chance level is given"}


def _floor_note(r, s) -> str:
    """Where the floor came from when the table gives no chance level, else nothing."""
    return "" if np.isfinite(r.chance) else f" ({FLOOR_WITHOUT_CHANCE.get(s.floor_without_chance, '')})"

#: the tests behind the labels, by the name the rules use
TESTS = {"emergence": EMERGENCE, "ushape": TWO_LINES, "trend": TREND}


@dataclass(frozen=True)
class Rule:
    """One label: when it applies (vectorised over curves), the test behind it, and why.

    `RULES` is read in order; a curve takes the first rule that applies.
    """

    label: str | Callable[[object], str]
    test: str | Callable[[object], str]
    applies: Callable[[pd.DataFrame, Settings], pd.Series]
    reason: Callable[[object, Settings], str]


def _scaled(df: pd.DataFrame, col: str) -> pd.Series:
    """A change in the unit min_change and flat_margin are read in (score scale, or mean level of raw metrics)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return df[col] / df["effect_unit"].to_numpy(float)


def _enough(df, s):
    return df["n_scales"] >= s.min_scales


def _onset(r) -> str:
    return f"between {format_scale(r.onset_low)} and {format_scale(r.onset_high)}"


#: why the emergence test could not run (`stats.emergence.emergence_test`'s onset_untested), in words
UNTESTED = {
    "no flat start": "no flat start: fewer than {floor} of the smallest models within {tol:g} of the floor, so a "
                     "jump cannot be told from a steady rise (smaller models would settle it)",
    "floor models at one scale": "the models at the floor share one scale: no trend to beat (a smaller model "
                                 "would settle it)",
    "never above the floor": "no model clearly above the floor at the largest scales",
    "gradual: more models on the way up than allowed": "a gradual rise: more than {transition} model(s) between "
                                                       "the floor and the largest models above it",
    "not computable": "the emergence test could not be computed (noise or dof unknown)",
}


def why_not_emergent(r, s) -> str:
    """What a rising curve lacks for the emergent label, and what data would settle it."""
    from .stats.emergence import MAX_TRANSITION
    if not (r.bounded and emergence_assessable(r.bounded, r.chance, s)):
        return NOT_ASSESSED if r.bounded else ""
    if r.onset_untested:
        return UNTESTED.get(r.onset_untested, r.onset_untested).format(
            floor=s.min_floor_models, tol=s.chance_tolerance, transition=MAX_TRANSITION) + _floor_note(r, s)
    failed = [what for p, what in ((r.p_floor, "the smaller models are not shown to be at the floor"
                                               + _floor_note(r, s)),
                                   (r.p_present, "the larger models are not all clearly above it"),
                                   (r.p_jump, "the first model above it is not beyond the smaller models' trend"))
              if not (p <= s.alpha)]
    if _below_chance(r):
        failed = [BELOW_CHANCE]
    if not failed and r.q_emergence > s.alpha:
        failed = [f"not significant after the dataset's FDR (q={_fmt_p(r.q_emergence)})"]
    return f"leaves the floor {_onset(r)}, but " + "; ".join(failed) + f" (p={_fmt_p(r.p_emergence)})"


#: why a curve whose smallest models sit below the written floor is not emergent
BELOW_CHANCE = ("the smallest models score clearly below the written chance level: check the chance column "
                "(or unit, higher_is_better); no emergence is called on a floor the data contradict")


def _below_chance(r) -> bool:
    """The flag as a row holds it: a boolean, or "True" where the table was read back as text."""
    return str(getattr(r, "below_chance", "")) == "True"


def _fit_note(r, s) -> str:
    """Whether the closest smooth model fits the curve (the claim behind "smooth")."""
    if not np.isfinite(r.p_smooth_fit):
        return ""
    return (f"no smooth model fits it (p={_fmt_p(r.p_smooth_fit)})" if r.p_smooth_fit <= s.alpha
            else f"the {r.null_model} fit is adequate (p={_fmt_p(r.p_smooth_fit)})")


def _smooth_reason(r, s) -> str:
    """"Smooth" says the curve improves and is not shown to be emergent. Where its shape departs from the
    smooth models, the reason says so first and then why that is still no emergence, so that it never
    reads as a claim that a smooth law fits."""
    why = f"score improves by {r.change:.3g} across the range (p={_fmt_p(r.p_trend)}, q={_fmt_p(r.q_trend)})"
    not_emergent = why_not_emergent(r, s)
    shape = []
    if np.isfinite(r.p_smooth_fit) and r.p_smooth_fit <= s.alpha:
        shape.append(f"no single smooth model fits its shape (p={_fmt_p(r.p_smooth_fit)})")
    if r.p_sharp <= s.alpha:
        shape.append(f"a sigmoid fits better than {r.null_model} (p={_fmt_p(r.p_sharp)})")
    if shape:
        return (f"{why}; {' and '.join(shape)}"
                + (f"; not shown to be emergent: {not_emergent}" if not_emergent else ""))
    return why + "".join(f"; {part}" for part in (_fit_note(r, s), not_emergent) if part)


def _too_few_reason(r, s) -> str:
    """Too few sizes, and what to add."""
    need = s.min_scales - r.n_scales
    have = "" if r.n_scales < 1 or not np.isfinite(r.scale_min) else (
        f" ({format_scale(r.scale_min)}" + (f" to {format_scale(r.scale_max)}" if r.n_scales > 1 else "") + ")")
    return (f"only {r.n_scales} distinct scale(s){have}; a curve needs at least {s.min_scales}: add {need} more "
            "size(s) of this family (for an emergence test, at least two below the first that rises)")


def _undecided_reason(r, s) -> str:
    """Neither a trend nor flat: say which way it fails, and what would settle it."""
    ci = f"95% CI of the change {r.change_low:+.3g} to {r.change_high:+.3g}"
    settle = "more sizes, or the number of test items (n_items) or stderr where they are missing, would settle it"
    if r.q_trend <= s.alpha:
        return (f"a significant trend (q={_fmt_p(r.q_trend)}) but a change of {r.change:+.3g}, below min_change "
                f"{s.min_change * r.effect_unit:.3g} (in the metric's scale), and too uncertain to call flat ({ci}); "
                f"{settle}")
    if r.change_low > 0 or r.change_high < 0:
        return (f"the {ci} excludes 0, but the trend is not significant once the dataset's false discovery rate is "
                f"controlled (q={_fmt_p(r.q_trend)}); {settle}")
    return (f"no significant trend (q={_fmt_p(r.q_trend)}), but the {ci} is too wide to call it flat (within "
            f"±{s.flat_margin * r.effect_unit:.3g}: two one-sided tests p={_fmt_p(r.p_flat)}); {settle}")


def _emergent_reason(r, s) -> str:
    rests = "; rests on one model" if r.onset_present == 1 else ""
    sharp = {"sharp": f"; sharp (within {s.max_transition_decades:g} decade)",
             "gradual": f"; gradual (the rise is wider than {s.max_transition_decades:g} decade, p={_fmt_p(r.p_wide)})",
             "not identified": "; sharpness not identified (the rise is seen at too few models)"}.get(
        str(r.sharpness), "")
    fragile = (f"; fragile: without one model that is not an end of the bracket p={_fmt_p(r.p_emergence_drop1)}"
               if r.fragile else "")
    steep = (f"; a steep smooth law (A·N^β, β ≤ 1) through the smaller models is not ruled out "
             f"(p={_fmt_p(r.p_steep_law)})" if r.steep_law else "")
    return (f"absent, then present: {r.onset_floor:.0f} models at the floor{_floor_note(r, s)} "
            f"(p={_fmt_p(r.p_floor)}), the "
            f"largest clearly above (p={_fmt_p(r.p_present)}), the first of them (at {format_scale(r.jump_scale)}) "
            f"{r.jump:+.3g} beyond every smooth extrapolation of the smaller models (p={_fmt_p(r.p_jump)}); "
            f"leaves the floor {_onset(r)} (p={_fmt_p(r.p_emergence)}, q={_fmt_p(r.q_emergence)}){rests}{sharp}"
            f"{fragile}{steep}")


RULES = (
    Rule("insufficient", "", lambda df, s: ~_enough(df, s), _too_few_reason),
    Rule("emergent", "emergence",
         lambda df, s: (df["q_emergence"] <= s.alpha) & ~df["below_chance"].astype(str).eq("True"),
         _emergent_reason),
    Rule(lambda r: r.u_direction, "ushape",
         lambda df, s: ((df["q_ushape"] <= s.alpha) & (_scaled(df, "u_change_low").abs() >= s.min_change)
                        & (_scaled(df, "u_change_high").abs() >= s.min_change)),
         lambda r, s: (f"two lines broken at {format_scale(10 ** r.u_break)}: change {r.u_change_low:+.3g} then "
                       f"{r.u_change_high:+.3g} (p={_fmt_p(r.p_ushape)}, q={_fmt_p(r.q_ushape)})")),
    Rule("inverse", "trend", lambda df, s: (df["q_trend"] <= s.alpha) & (-_scaled(df, "change") >= s.min_change),
         lambda r, s: (f"score falls by {-r.change:.3g} across the range (95% CI {-r.change_high:.3g} to "
                       f"{-r.change_low:.3g}; p={_fmt_p(r.p_trend)}, q={_fmt_p(r.q_trend)})")),
    Rule("smooth", "trend", lambda df, s: (df["q_trend"] <= s.alpha) & (_scaled(df, "change") >= s.min_change),
         _smooth_reason),
    Rule("flat", "trend", lambda df, s: df["p_flat"] <= s.alpha,
         lambda r, s: (f"change {r.change:+.3g} across the range, shown within ±{s.flat_margin * r.effect_unit:.3g} "
                       f"(two one-sided tests p={_fmt_p(r.p_flat)}; flat_margin {s.flat_margin:g} of the metric's "
                       f"scale, {r.effect_unit:.2g})")),
    Rule("insufficient", "trend", lambda df, s: pd.Series(True, index=df.index), _undecided_reason),
)


def _fmt_p(p: float) -> str:
    return "nan" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}")


#: the models a label can name as its best model (by role): the best model never contradicts the label
LABEL_ROLES = {"emergent": ("sharp", "onset"), "smooth": ("smooth",), "inverse": ("smooth",),
               "u_shaped": ("curvature",), "inverted_u": ("curvature",), "flat": ("baseline",)}


def best_models(curves: pd.DataFrame, fits: pd.DataFrame) -> np.ndarray:
    """Per curve, the lowest-AICc model among those its label can name (`LABEL_ROLES`; any model
    for insufficient); blank when none of them has a finite AICc (too few points to rank)."""
    if len(fits) == 0 or len(curves) == 0:
        return np.full(len(curves), "", dtype=object)
    aicc = fits.pivot_table(index="curve_id", columns="model", values="aicc", aggfunc="first")
    aicc = aicc.reindex(columns=list(MODELS)).reindex(curves["curve_id"].to_numpy())
    values = np.where(np.isfinite(aicc.to_numpy(float)), aicc.to_numpy(float), np.inf)
    out = np.full(len(curves), "", dtype=object)
    for label, group in curves.groupby("label").groups.items():
        rows = curves.index.get_indexer(group)
        allowed = np.array([get(m).role in LABEL_ROLES.get(label, ROLES) for m in MODELS])
        v = np.where(allowed[None, :], values[rows], np.inf)
        # AICc needs n > k + 1: with fewer points it cannot rank, so no model is named
        ranked = np.isfinite(v).sum(1) >= (1 if label in LABEL_ROLES else 2)
        out[rows] = np.where(ranked, np.array(MODELS, dtype=object)[v.argmin(1)], "")
    return out


def fragile(curves: pd.DataFrame, settings: Settings) -> np.ndarray:
    """An emergence whose p without one model (not an end of its bracket) would not be rejected at
    its dataset's Benjamini-Hochberg critical value alpha * k / m (k rejected of the family's m
    tested curves): the cut-off the label itself passed, not the largest p that happened to pass."""
    p = curves["p_emergence"].to_numpy(float)
    rejected = curves["q_emergence"].to_numpy(float) <= settings.alpha
    family = (curves["dataset"].astype(str) + "\x1f" + curves["headline"].astype(str)).to_numpy()
    grouped = pd.DataFrame({"k": rejected, "m": np.isfinite(p)}).groupby(family)
    k = grouped["k"].transform("sum").to_numpy(float)
    m = grouped["m"].transform("sum").to_numpy(float)
    cutoff = settings.alpha * k / np.maximum(m, 1)
    drop = curves["p_emergence_drop1"].to_numpy(float) if "p_emergence_drop1" in curves else np.full(len(p), np.nan)
    return rejected & np.isfinite(drop) & (drop > cutoff)


def finding(curves: pd.DataFrame) -> np.ndarray:
    """Near-duplicate curves as one finding: the same task of one dataset and family stem, whatever
    the metric (acc and acc_norm score the same generations), the data variant in parentheses
    ("Pythia (Pile)", "Pythia (deduped Pile)") or the split of a checkpoint table ("· params 1.4B"),
    so that the count of emergent phenomena is honest."""
    stem = (curves["family"].astype(str).str.split(" · ").str[0]
            .str.replace(r"\s*\([^)]*\)", "", regex=True).str.strip())
    others = [stem] + [curves[c].astype(str) for c in ("benchmark", "task", "shots", "x_axis")]
    return curves["dataset"].astype(str).str.cat(others, sep="|").to_numpy(object)


def label_curves(curves: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Add label, test, p_value, q_value, reason and emergence_scale columns (`RULES`, in order)."""
    df = curves.copy()
    df["fragile"] = fragile(df, settings)
    df["steep_law"] = ~(df["p_steep_law"].to_numpy(float) <= settings.alpha)
    applies = np.column_stack([rule.applies(df, settings).to_numpy(bool) for rule in RULES])
    first = applies.argmax(1)
    labels, tests, ps, qs, reasons = [], [], [], [], []
    for i, r in enumerate(df.itertuples(index=False)):
        rule = RULES[first[i]]
        test = rule.test(r) if callable(rule.test) else rule.test
        p_col = TESTS[test].p_column if test else None
        labels.append(rule.label(r) if callable(rule.label) else rule.label)
        tests.append(TESTS[test].describe() if test else "")
        ps.append(getattr(r, p_col) if p_col else np.nan)
        qs.append(getattr(r, "q" + p_col[1:]) if p_col else np.nan)
        reasons.append(rule.reason(r, settings))
    df["label"] = labels
    df["test"] = tests
    df["p_value"] = ps
    df["q_value"] = qs
    df["reason"] = reasons
    em = df["label"] == "emergent"
    df["fragile"] = em & df["fragile"]
    df["steep_law"] = em & df["steep_law"]
    df["finding"] = finding(df)
    df["emergence_scale"] = np.where(em, df["onset_scale"], np.nan)
    df["emergence_scale_low"] = np.where(em, df["onset_low"], np.nan)
    df["emergence_scale_high"] = np.where(em, df["onset_high"], np.nan)
    return df

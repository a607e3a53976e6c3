"""One label per curve, with the test and the reason behind it (METHODS.md §3).

Labels are decided run-wide, after the Benjamini-Hochberg q-values, in this
order: emergent, u_shaped / inverted_u, inverse, smooth, flat, insufficient.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .loading import format_size
from .settings import Settings
from .stats import emergence_assessable

LABELS = ("emergent", "smooth", "inverse", "u_shaped", "inverted_u", "flat", "insufficient")
FLAGGED = ("emergent", "inverse", "u_shaped", "inverted_u")
#: one colour per label, shared by the figures and the report's badges
LABEL_COLOURS = {"emergent": "#0173b2", "smooth": "#029e73", "inverse": "#d55e00",
                 "u_shaped": "#cc78bc", "inverted_u": "#ca9161", "flat": "#949494",
                 "insufficient": "#bbbbbb"}
#: why a rising curve without a chance level was not tested for emergence (require_chance)
NOT_ASSESSED = "emergence not assessed: chance level unknown (add a chance column)"

TESTS = {
    "emergence": "parametric-bootstrap likelihood ratio, sigmoid vs best smooth model "
                 "(H0: the smooth model with the estimated noise)",
    "ushape": "two-lines test, Simonsohn 2018 (H0: one of the two slopes has the wrong sign)",
    "decline": "one-sided weighted slope test (H0: slope ≥ 0)",
    "rise": "one-sided weighted slope test (H0: slope ≤ 0)",
}


def format_scale(value: float) -> str:
    """7e10 -> '70B', 1.25e8 -> '125M': three significant digits for reading."""
    return format_size(value, digits=3)


def _fmt_p(p: float) -> str:
    return "nan" if not np.isfinite(p) else (f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}")


def label_curves(curves: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """Add label, test, p_value, q_value, reason and emergence_scale columns."""
    df = curves.copy()
    a, m = settings.alpha, settings.min_change
    eu = df["effect_unit"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        change = df["change"] / eu
        low, high = df["change_low"] / eu, df["change_high"] / eu
        u_low, u_high = df["u_change_low"].abs() / eu, df["u_change_high"].abs() / eu
    enough = df["n_scales"] >= settings.min_scales
    emergent = enough & (df["q_emergence"] <= a) & df["effect_ok"].eq(True)
    ushape = enough & (df["q_ushape"] <= a) & (u_low >= m) & (u_high >= m)
    inverse = enough & (df["q_decline"] <= a) & (-change >= m)
    smooth = enough & (df["q_rise"] <= a) & (change >= m)
    flat = enough & (low >= -settings.flat_margin) & (high <= settings.flat_margin)

    labels, tests, ps, qs, reasons = [], [], [], [], []
    for i, r in enumerate(df.itertuples(index=False)):
        trend = "rise" if r.change >= 0 else "decline"
        p_tr, q_tr = getattr(r, f"p_{trend}"), getattr(r, f"q_{trend}")
        if not enough.iat[i]:
            lab, test, p, q = "insufficient", "", np.nan, np.nan
            why = f"only {r.n_scales} distinct scale(s); a curve needs at least {settings.min_scales}"
        elif emergent.iat[i]:
            lab, test, p, q = "emergent", "emergence", r.p_emergence, r.q_emergence
            why = (f"sigmoid beats {r.null_model} (p={_fmt_p(p)}, q={_fmt_p(q)}); "
                   f"x0 ≈ {format_scale(10 ** r.x0)} inside the data; rise {r.rise_share:.0%} of the "
                   f"headroom above chance within {r.transition_decades:.2g} decades; "
                   f"smaller models at chance")
        elif ushape.iat[i]:
            lab, test, p, q = r.u_direction, "ushape", r.p_ushape, r.q_ushape
            why = (f"two lines broken at {format_scale(10 ** r.u_break)}: change "
                   f"{r.u_change_low:+.3g} then {r.u_change_high:+.3g} (p={_fmt_p(p)}, q={_fmt_p(q)})")
        elif inverse.iat[i]:
            lab, test, p, q = "inverse", "decline", r.p_decline, r.q_decline
            why = (f"score falls by {-r.change:.3g} across the range "
                   f"(95% CI {-r.change_high:.3g} to {-r.change_low:.3g}; p={_fmt_p(p)}, q={_fmt_p(q)})")
        elif smooth.iat[i]:
            lab, test, p, q = "smooth", "rise", r.p_rise, r.q_rise
            why = (f"score improves by {r.change:.3g} across the range (p={_fmt_p(p)}, q={_fmt_p(q)}); "
                   + (f"best model {r.best_model}" if isinstance(r.best_model, str) and r.best_model
                      else "too few points for AICc to rank the models"))
            if r.q_emergence <= a:
                why += "; the sigmoid fits better but is not emergence: " + _failed(r, settings)
            elif r.bounded and not emergence_assessable(r.bounded, r.chance, settings):
                why += "; " + NOT_ASSESSED
        elif flat.iat[i]:
            lab, test, p, q = "flat", trend, p_tr, q_tr
            why = (f"change {r.change:+.3g} across the range, 95% CI {r.change_low:+.3g} to "
                   f"{r.change_high:+.3g}, within ±{settings.flat_margin:g}")
        else:
            lab, test, p, q = "insufficient", trend, p_tr, q_tr
            why = (f"no significant trend (q={_fmt_p(q_tr)}), but the 95% CI of the change "
                   f"({r.change_low:+.3g} to {r.change_high:+.3g}) is too wide to call it flat")
        labels.append(lab); tests.append(TESTS.get(test, "")); ps.append(p); qs.append(q)
        reasons.append(why)
    df["label"] = labels
    df["test"] = tests
    df["p_value"] = ps
    df["q_value"] = qs
    df["reason"] = reasons
    em = df["label"] == "emergent"
    df["emergence_scale"] = np.where(em, 10 ** df["x0"], np.nan)
    df["emergence_scale_low"] = np.where(em, 10 ** df["x0_low"], np.nan)
    df["emergence_scale_high"] = np.where(em, 10 ** df["x0_high"], np.nan)
    return df


def _failed(r, settings: Settings) -> str:
    why = []
    if not r.x0_inside:
        why.append("x0 outside the data")
    if not r.rise_share >= settings.min_rise_share:
        why.append(f"rise only {r.rise_share:.0%} of headroom")
    if not r.transition_decades <= settings.max_transition_decades:
        why.append(f"transition {r.transition_decades:.2g} decades wide")
    if not r.chance_before:
        why.append("smaller models already above chance")
    return ", ".join(why) or "effect criteria not met"

"""The words and colours readers see: the labels, their colours, how a scale is written.

Presentation (report, figures, findings) and validation import this, not the statistics, so
that a change to a test does not redraw the report's code inputs.
"""
from __future__ import annotations

import re

from .loading import format_size

LABELS = ("emergent", "smooth", "inverse", "u_shaped", "inverted_u", "flat", "insufficient")
#: the labels that claim a shape beyond a trend (false positives are counted on these)
FLAGGED = ("emergent", "inverse", "u_shaped", "inverted_u")
#: one colour per label, shared by the figures and the report's badges
LABEL_COLOURS = {"emergent": "#0173b2", "smooth": "#029e73", "inverse": "#d55e00",
                 "u_shaped": "#cc78bc", "inverted_u": "#ca9161", "flat": "#949494",
                 "insufficient": "#bbbbbb"}


#: p- and q-values below this are printed as "< P_FLOOR": beyond it they say more about the noise model's
#: tails than about the data (a binomial p on 10,000 items; the computation's own floor near 1e-300)
P_FLOOR = 1e-6


def format_p(value: float) -> str:
    """0.0123 -> '0.012', 3e-40 -> '< 1e-06', blank for a missing value."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return ""
    if v != v:
        return ""
    return f"< {P_FLOOR:g}" if v < P_FLOOR else f"{v:.2g}"


def format_change(change: float, low: float, high: float) -> str:
    """The change across the range with its 95 % interval: '+0.171 [0.146, 0.196]'."""
    try:
        c, lo, hi = float(change), float(low), float(high)
    except (TypeError, ValueError):
        return ""
    if c != c:
        return ""
    return f"{c:+.3g} [{lo:.3g}, {hi:.3g}]" if lo == lo and hi == hi else f"{c:+.3g}"


def _luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of a #rrggbb colour."""
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours (1 to 21)."""
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _darkened(hex_colour: str, text: str = "#ffffff", target: float = 4.6) -> str:
    """The colour mixed with black in small steps until `text` on it reaches `target` (WCAG AA is 4.5)."""
    rgb = [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]
    for step in range(101):
        c = "#" + "".join(f"{round(v * (1 - step / 100)):02x}" for v in rgb)
        if contrast(c, text) >= target:
            return c
    return "#000000"


#: the report's label badges: the figures' colour darkened until white text on it passes WCAG AA
#: (insufficient keeps its light grey under dark text)
BADGE_COLOURS = {lab: (c if lab == "insufficient" else _darkened(c)) for lab, c in LABEL_COLOURS.items()}
BADGE_TEXT = {lab: ("#222222" if lab == "insufficient" else "#ffffff") for lab in LABEL_COLOURS}


def format_scale(value: float) -> str:
    """7e10 -> '70B', 1.25e8 -> '125M': three significant digits for reading."""
    return format_size(value, digits=3)


#: the caveats of a label (curves.csv's `caveats`, `caveats.caveats`): code -> what it means, in the order listed
CAVEATS = {
    "mirage": "a continuous metric of the same runs rises significantly while this discontinuous one is still at "
              "its floor: the ability was growing before it showed (Schaeffer et al. 2023; mirage.csv)",
    "below_chance": "the smallest models score clearly below the written chance: the chance column or the data are "
                    "wrong, and no emergence is called",
    "input_warning": "a row of this curve was analysed with a warning (rejected.csv, kept = True)",
    "few_sizes": "4 model sizes: the emergence test has little power there (docs/ACCURACY.md); an emergent label rests "
                 "on a jump large enough to be seen at 4 sizes, and any other label does not rule an emergence out",
    "fragile": "the emergent label does not survive leaving out one model that is not an end of its bracket",
    "steep_law": "a smooth law A·N^β (β ≤ 1) from the floor through the smaller models is not ruled out "
                 "(p_steep_law > alpha): the 'mirage' reading stays open",
    "format_zero": "a strict answer format scores exactly 0 at the smaller models: a model that fails the format, not "
                   "the task, scores 0 too (compare a flexible extraction of the same runs)",
}


def plain_prompting(task: str) -> str | None:
    """The task without chain of thought, as datasets name the pair: bbh_cot_fewshot_x -> bbh_fewshot_x,
    gsm8k_cot -> gsm8k, chain_of_thought -> standard_prompting (Wei et al.'s appendix); None otherwise."""
    if task == "chain_of_thought":
        return "standard_prompting"
    if "_cot" not in task:
        return None
    return re.sub(r"_cot(?=_|$)", "", task, count=1)

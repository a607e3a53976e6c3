"""The words and colours readers see: the labels, their colours, how a scale is written.

Presentation (report, figures, findings) and validation import this, not the statistics, so
that a change to a test does not redraw the report's code inputs.
"""
from __future__ import annotations

from .loading import format_size

LABELS = ("emergent", "smooth", "inverse", "u_shaped", "inverted_u", "flat", "insufficient")
#: the labels that claim a shape beyond a trend (false positives are counted on these)
FLAGGED = ("emergent", "inverse", "u_shaped", "inverted_u")
#: one colour per label, shared by the figures and the report's badges
LABEL_COLOURS = {"emergent": "#0173b2", "smooth": "#029e73", "inverse": "#d55e00",
                 "u_shaped": "#cc78bc", "inverted_u": "#ca9161", "flat": "#949494",
                 "insufficient": "#bbbbbb"}


def format_scale(value: float) -> str:
    """7e10 -> '70B', 1.25e8 -> '125M': three significant digits for reading."""
    return format_size(value, digits=3)

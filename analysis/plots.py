"""Figures: one per flagged curve, plus the run's overview figures."""
from __future__ import annotations

import textwrap

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
# names come from the data: a task called "$^$" is drawn as written, never parsed as mathtext
matplotlib.rcParams["text.parse_math"] = False
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .loading import shown_per_fraction  # noqa: E402
from .models import get  # noqa: E402
from .vocabulary import LABEL_COLOURS, LABELS, format_scale  # noqa: E402


def to_score(curve: pd.Series, y: np.ndarray) -> np.ndarray:
    """Oriented model values back to the metric's own units (fraction, raw, or a loss from its -log10)."""
    if bool(curve.get("log_scale", False)):
        return 10.0 ** (-y)
    if bool(curve["bounded"]):
        return y if bool(curve["higher_is_better"]) else 1.0 - y
    return y if bool(curve["higher_is_better"]) else -y


def curve_figure(curve: pd.Series, points: pd.DataFrame, fits: pd.DataFrame):
    """Points with error bars, every fitted model (the best in bold), where an emergent curve leaves the floor."""
    sns.set_theme(style="whitegrid", context="notebook")
    fig, ax = plt.subplots(figsize=(8.4, 4.0), dpi=100)
    # in the units the user gave: percent as percent (scores are kept as fractions)
    unit = shown_per_fraction(curve.get("unit"))
    x = points["x"].to_numpy(float)
    y = points["score"].to_numpy(float) * unit
    err = points["sigma"].to_numpy(float) * unit
    noise = curve.get("noise", "residual")
    if str(noise).startswith("residual") and np.isfinite(curve.get("noise_sd", np.nan)):
        err = np.full_like(y, float(curve["noise_sd"]))
    elif np.isfinite(curve.get("dispersion", np.nan)):
        err = err * np.sqrt(float(curve["dispersion"]))
    grid = np.linspace(x.min() - 0.1, x.max() + 0.1, 200)
    for _, f in fits.iterrows():
        if not np.isfinite(f.get("rss", np.nan)):
            continue
        model = get(f["model"])
        theta = np.array([[f[p] for p in model.params]], float)
        yy = to_score(curve, model.predict(theta, grid[None])[0]) * unit
        best = f["model"] == curve.get("best_model")
        ax.plot(10 ** grid, yy, ls=model.style, lw=2.4 if best else 1.1,
                alpha=1.0 if best else 0.6, label=f"{f['model']}{' (the label’s model)' if best else ''}")
    ax.errorbar(10 ** x, y, yerr=1.96 * err, fmt="o", color="black", ms=5, capsize=3,
                label=f"scores (95% bars; noise: {noise})", zorder=5)
    chance = curve.get("chance")
    if chance is not None and np.isfinite(chance):
        c = to_score(curve, np.array([chance]))[0] * unit
        ax.axhline(c, color="grey", lw=1, ls=":", label="chance")
    # the bracket, and no point inside it: no model lies between its ends (issue 24)
    if curve.get("label") == "emergent" and np.isfinite(curve.get("emergence_scale_low", np.nan)):
        ax.axvspan(curve["emergence_scale_low"], curve["emergence_scale_high"],
                   color=LABEL_COLOURS["emergent"], alpha=0.15,
                   label=f"leaves the floor between {format_scale(curve['emergence_scale_low'])} and "
                         f"{format_scale(curve['emergence_scale_high'])}")
    _log_scale_axis(ax)
    ax.set_xlabel(str(curve.get("x_axis", "params")))
    what = "%" if unit == 100 else "fraction" if curve["bounded"] else "raw"
    ax.set_ylabel(f"{curve['metric']} ({what}{'' if curve['higher_is_better'] else ', lower is better'})")
    if bool(curve.get("log_scale", False)):
        ax.set_yscale("log")
    shots = curve.get("shots")
    shots = "" if shots is None or (isinstance(shots, float) and np.isnan(shots)) or shots == "" else f", {shots}-shot"
    name = f"{curve['family']} · {curve['benchmark']} · {curve['task']}{shots}"
    # the label, not its q: q moves whenever a dataset joins the run (the report prints it beside the figure)
    ax.set_title("\n".join(textwrap.wrap(name, 70)[:2]) + f"\n{curve['label']}", fontsize=10)
    # the legend beside the axes, never over the points or the ticks (inside, "best" found no free corner
    # for a dozen entries); long entries wrapped
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, ["\n".join(textwrap.wrap(lab, 34)) for lab in labels], fontsize=7, loc="upper left",
              bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False)
    # fixed margins: tight_layout would draw the figure once more just to measure it
    fig.subplots_adjust(left=0.10, right=0.68, bottom=0.13, top=0.86)
    return fig


def _log_scale_axis(ax) -> None:
    """Log x axis, decades labelled as scales ("1B", "100M"): as the report
    writes them, and without the mathtext 10^n labels, which cost half the
    drawing time; no minor ticks (a third of the rest)."""
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: format_scale(v)))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def label_counts_figure(curves: pd.DataFrame):
    sns.set_theme(style="whitegrid", context="notebook")
    counts = curves["label"].value_counts().reindex(LABELS, fill_value=0)
    fig, ax = plt.subplots(figsize=(6.4, 3.0), dpi=100)
    sns.barplot(x=counts.index, y=counts.values, hue=counts.index, legend=False,
                palette=LABEL_COLOURS, ax=ax)
    for i, v in enumerate(counts.values):
        ax.text(i, v, str(v), ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("curves")
    ax.set_xlabel("")
    fig.tight_layout()
    return fig


def capability_map_figure(curves: pd.DataFrame, x_axis: str):
    """Where each emergent task leaves the floor, per family, with its bracket (one axis)."""
    em = curves[(curves["label"] == "emergent") & (curves["x_axis"] == x_axis)]
    em = em.sort_values(["emergence_scale_low", "emergence_scale_high"])
    if em.empty:
        return None
    sns.set_theme(style="whitegrid", context="notebook")
    rows = (em["family"] + " · " + em["benchmark"].astype(str) + " · " + em["task"].astype(str) + " · "
            + em["metric"].astype(str)).tolist()
    fig, ax = plt.subplots(figsize=(8.5, 0.28 * len(em) + 1.4), dpi=100)
    for i, (_, r) in enumerate(em.iterrows()):
        ax.plot([r["emergence_scale_low"], r["emergence_scale_high"]], [i, i], color=LABEL_COLOURS["emergent"], lw=2,
                marker="|", ms=8)
    ax.set_yticks(range(len(em)), rows, fontsize=7)
    _log_scale_axis(ax)
    # brackets often lie within a decade or two: label 1-2-5 steps, not decades only
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.set_xlabel(f"{x_axis}: from the last model at the floor to the first clearly above it (no model between)",
                  fontsize=8)
    fig.tight_layout()
    return fig


#: colours kept in a saved figure: 32 hold every line and band of these plots, at a fifth of the bytes
PALETTE_COLOURS = 32


#: the resolution of a flagged figure's PNG to take away (the report embeds it at the figure's own dpi)
TAKE_AWAY_DPI = 300


def _rendered(fig, dpi: float):
    """The figure drawn once at `dpi`, as an RGB image (no PNG written and read back)."""
    from PIL import Image
    fig.set_dpi(dpi)
    fig.canvas.draw()
    return Image.frombuffer("RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba(), "raw", "RGBA", 0,
                            1).convert("RGB")


def _palette_png(image, path, dpi: float, optimize: bool = True) -> None:
    """`image` as a PNG of `PALETTE_COLOURS` colours (zlib's search for the smallest file is skipped for the
    take-away PNG: it halves that file's time for 11 % more bytes)."""
    from PIL import Image
    image.quantize(colors=PALETTE_COLOURS, method=Image.Quantize.FASTOCTREE,
                   dither=Image.Dither.NONE).save(path, format="PNG", optimize=optimize, dpi=(dpi, dpi))


def save(fig, path, svg=None, print_png=None) -> None:
    """The figure as a PNG with a small palette (the report embeds every figure; it must stay small), and,
    given buffers or paths, as an SVG (to take away at any resolution, its text editable) and a PNG at
    `TAKE_AWAY_DPI`. The figure is drawn once at that resolution and the embedded PNG is its reduction
    (drawing it three times was most of the report's time). No date and fixed ids in the SVG, so that a
    rerun writes the same bytes."""
    if svg is not None:
        with matplotlib.rc_context({"svg.hashsalt": "emergence", "svg.fonttype": "none"}):
            fig.savefig(svg, format="svg", metadata={"Date": None})
    dpi = fig.dpi
    if print_png is None:
        image = _rendered(fig, dpi)
    else:
        factor = round(TAKE_AWAY_DPI / dpi)
        hi = _rendered(fig, dpi * factor)
        _palette_png(hi, print_png, dpi * factor, optimize=False)
        image = hi.reduce(factor)
    plt.close(fig)
    _palette_png(image, path, dpi)

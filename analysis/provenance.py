"""Where a report comes from: run date, code version, software, settings, the data's sources; and the
words it uses. A reader who gets the report alone can tell what produced it.
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import pandas as pd

PACKAGES = ("numpy", "scipy", "pandas", "statsmodels", "matplotlib", "seaborn", "jinja2", "snakemake")
#: how many sources a dataset lists before "and N more"
MAX_SOURCES = 6

#: one line per term the report uses that a reader may not know
GLOSSARY = {
    "acc / acc_norm": "accuracy; acc_norm scores each answer by its likelihood per character (lm-evaluation-harness)",
    "mc1 / mc2": "TruthfulQA multiple choice: mc1 picks the single true answer, mc2 is the probability mass on the "
                 "true answers",
    "strict-match / flexible-extract": "how a generated answer is read: the exact answer format, or the last "
                                       "number found",
    "exact_match / solve_rate": "share of answers exactly right: a discontinuous metric, 0 until answers are "
                                "fully right",
    "floor": "the score of a model that cannot do the task: the chance level, or 0 for exact match",
    "emergent": "absent, then present: the smallest models at the floor, the largest clearly above it, a jump "
                "beyond the smaller models' trend",
    "bracket": "where a curve leaves the floor: between the last model at the floor and the first clearly above it",
    "smooth / inverse / flat": "rising / falling with scale by a significant trend; flat: the change is known to "
                               "be small",
    "u_shaped / inverted_u": "falls then rises / rises then falls (two-lines test)",
    "insufficient": "the data cannot tell: too few sizes, or too wide an interval of the change",
    "p / q": "p: the test's p-value for this curve; q: after the false discovery rate within its dataset "
             "(Benjamini-Hochberg; a dataset is a study), what a label needs to be at most alpha",
    "p < 1e-6": "printed so, not as the computed 1e-40: on a benchmark of 10,000 items the binomial noise of a "
                "score is half a point, so a 20-point rise is 40 standard errors and its p is astronomically "
                "small; below 1e-6 p says more about the tails of the noise model (its t distribution, the "
                "family's scatter) than about the data. The change and its 95% interval say how large the effect is",
    "change [95% CI]": "the fitted change of the score across the observed range of the scale, in the score's "
                       "fraction (0.1 = 10 points), with its 95% interval from the curve's noise",
    "scatter": "how much models of one family differ beyond sampling noise (a model better or worse than its "
               "size predicts)",
    "overdispersion": "the factor by which the residuals exceed the stated noise",
    "headroom": "the distance from the floor to a perfect score",
    "AICc": "Akaike's information criterion with the small-sample correction; lower is better",
    "on a bound": "a fitted parameter sits at the limit it was allowed (the fit would go further)",
    "L / B": "BIG-bench linearity and breakthroughness (Srivastava et al. 2022); B is also Schaeffer et al.'s "
             "emergence score",
    "mirage": "emergent under a discontinuous metric, while a continuous metric of the same models already rises",
    "params / tokens / compute": "the x axis: parameters, training tokens (checkpoints of one run), training FLOPs",
}


def run_date() -> str:
    """Now, or SOURCE_DATE_EPOCH where it is set (the reproducible-builds convention: byte-identical reruns)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch and epoch.isdigit() \
        else dt.datetime.now(dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def code_version(root: str | Path | None = None) -> str:
    """The commit of the checkout the analysis ran from (with "+ changes" when it differs from it)."""
    root = Path(root or Path(__file__).resolve().parents[1])
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                                text=True, timeout=10)
        if commit.returncode != 0:
            return "unknown (not a git checkout)"
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return commit.stdout.strip() + (" + uncommitted changes" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def sources(points: pd.DataFrame) -> list[dict]:
    """Per dataset: its rows and where its numbers come from (the `source` column)."""
    if not len(points) or "source" not in points:
        return []
    out = []
    for dataset, g in points.groupby("dataset", sort=True):
        named = g["source"].fillna("").astype(str)
        counts = named[named != ""].value_counts()
        out.append({"dataset": dataset, "rows": len(g), "sources": list(counts.index[:MAX_SOURCES]),
                    "more": max(len(counts) - MAX_SOURCES, 0), "unsourced": int((named == "").sum())})
    return out


def provenance(points: pd.DataFrame, settings: dict) -> dict:
    """Everything the report's provenance section shows."""
    shown = {k: v for k, v in settings.items() if k not in ("datasets", "compositional")}
    return {"date": run_date(), "code": code_version(), "versions": versions(), "settings": shown,
            "overrides": settings.get("datasets", {}), "sources": sources(points)}

"""The referee's audit cases (issue 21, D1-D6 and the power targets) as synthetic studies.

Each case generates many independent *studies* (a study is one dataset: one
family on a real size grid, one or several tasks, a model effect shared by its
tasks, binomial sampling noise) with a known truth, runs them through the
public pipeline (`analyse_dataset`, then `combine`), and counts labels. A
curve's p-values depend only on its family and the shipped prior, and its
q-values on its own dataset, so the studies are analysed in one batch and each
is given its own dataset id before the multiple-testing step: exactly what a
user with one study per file would get (tests/test_audit.py checks it).

The truths are shapes the detector does not fit: a flat truth with a model
effect three times the sampling sd (D1), accuracy = A·N^β from chance 0
(D4), a chance column written 0.25 where the floor is 0 (D5) or not written at all, logistics
1.5-4 decades wide (D6), small one-paper tables (one task, 4-5 sizes) and
families whose every task emerges.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

from .pipeline import analyse_dataset, combine
from .settings import Settings
from .stress import clopper_pearson
from .synthetic import EMPIRICAL_TAU, GRIDS

FLAGS = ("emergent", "inverse", "u_shaped", "inverted_u")
#: on a flat truth a trend either way is a wrong flag too (the referee's D1 counts inverse or smooth)
ON_FLAT = FLAGS + ("smooth",)


@dataclass(frozen=True)
class Case:
    """One audit case: its truth, grid, noise and what it must (or must not) be labelled."""

    name: str
    truth: str
    sizes: int
    n_items: int
    tasks: int = 1
    scatter: str = "empirical"      # "empirical" (EMPIRICAL_TAU), "stress" (3× the sampling sd), or "none"
    chance: float = 0.25            # the true floor
    written_chance: float | None = None   # the chance column, where it differs from the truth
    items_written: bool = True      # the n_items column filled (False: left blank, as many papers print tables)
    expect: str = ""                # the label power is measured for ("" for a null case)
    wrong: tuple[str, ...] = FLAGS  # labels that are false positives on this case


CASES = (
    Case("D1 flat 4-size family, scatter 3x binomial", "flat", 4, 1000, tasks=8, scatter="stress", wrong=ON_FLAT),
    Case("D4 A*N^beta from chance 0, 5 sizes", "power_from_zero", 5, 1000, tasks=1, chance=0.0),
    Case("D4 A*N^beta from chance 0, 8 sizes", "power_from_zero", 8, 1000, tasks=1, chance=0.0),
    Case("D5 chance written 0.25, true floor 0", "emergent", 5, 1000, chance=0.0, written_chance=0.25,
         wrong=("emergent",)),
    Case("D6 wide logistics, 5 sizes, 3x scatter", "logistic_wide", 5, 1000, scatter="stress",
         wrong=("inverse", "u_shaped", "inverted_u")),
    Case("one-paper table: flat, 4 sizes", "flat", 4, 800, wrong=ON_FLAT),
    Case("one-paper table: flat, 5 sizes", "flat", 5, 1000, expect="flat", wrong=ON_FLAT),
    Case("one-paper table: a rise just beyond the flat margin, 4 sizes", "at_margin", 4, 300, wrong=("flat",)),
    Case("one-paper table: a rise just beyond the flat margin, 5 sizes", "at_margin", 5, 300, wrong=("flat",)),
    Case("one-paper table: decline >= 10 points, 4 sizes", "decline", 4, 800, expect="inverse",
         wrong=("emergent", "u_shaped", "inverted_u", "smooth")),
    Case("one-paper table: floor then jump >= 0.2, 5 sizes", "jump", 5, 1000, expect="emergent",
         wrong=("inverse", "u_shaped", "inverted_u")),
    Case("a family whose 8 tasks all emerge, 8 sizes", "emergent", 8, 1000, tasks=8, expect="emergent",
         wrong=("inverse", "u_shaped", "inverted_u")),
    # tables as papers print them: no chance column (the floor is then the scale's bottom, 0)
    Case("no chance column, generation task: floor then jump, 5 sizes", "jump", 5, 1000, chance=0.0,
         written_chance=np.nan, expect="emergent", wrong=("inverse", "u_shaped", "inverted_u")),
    Case("no chance column, 4-way task: a sharp rise from 0.25, 5 sizes", "emergent", 5, 1000,
         written_chance=np.nan, wrong=("emergent", "inverse", "u_shaped", "inverted_u")),
    # tables printed without item counts: the noise is the curve's own residuals with the shipped prior
    Case("no item counts: decline >= 10 points, 4 sizes", "decline", 4, 800, items_written=False,
         expect="inverse", wrong=("emergent", "u_shaped", "inverted_u", "smooth")),
    Case("no item counts: flat, 5 sizes", "flat", 5, 1000, items_written=False, expect="flat", wrong=ON_FLAT),
    Case("no item counts: floor then jump >= 0.2, 5 sizes", "jump", 5, 1000, items_written=False,
         expect="emergent", wrong=("inverse", "u_shaped", "inverted_u")),
)


def _truth(name: str, x: np.ndarray, c: float, rng: np.random.Generator) -> np.ndarray:
    """Noise-free scores (S, N) for S studies at x = log10(scale) (S, N)."""
    S, N = x.shape
    lo, hi = x.min(1, keepdims=True), x.max(1, keepdims=True)
    t = (x - lo) / (hi - lo)

    def u(a, b):
        return rng.uniform(a, b, (S, 1))

    if name == "flat":
        return np.broadcast_to(c + u(0.02, 0.3), (S, N)).copy()
    if name == "power_from_zero":             # accuracy = A·N^beta, the registry's accelerating law from 0
        return c + u(0.3, 0.7) * 10 ** (u(0.3, 1.0) * (x - hi))
    if name == "at_margin":                   # a rise of 1-1.3 flat margins (0.1 of the metric's scale)
        level = u(0.3, 0.6)
        change = u(1.0, 1.3) * 0.1 * 2 * np.sqrt(level * (1 - level))
        return level + change * (t - 0.5)
    if name == "decline":                     # monotone, 10-20 points over the range
        return c + u(0.2, 0.4) - u(0.10, 0.20) * t
    if name == "jump":                        # at the floor for >= 2 models, then up by 0.2-0.5, rising on
        k = rng.integers(2, N - 1, S)[:, None]                 # the first model above the floor
        j = np.arange(N)[None, :]
        rise = u(0.2, 0.5) + np.maximum(j - k, 0) * u(0.0, 0.08)
        return np.where(j < k, c, np.minimum(c + rise, 0.98))
    if name == "emergent":                    # at the floor, then a logistic within 0.4-1 decade
        width, x0 = u(0.4, 1.0), lo + u(0.45, 0.65) * (hi - lo)
        return c + u(0.35, 0.6) * expit(np.log(81.0) / width * (x - x0))
    if name == "logistic_wide":
        width, x0 = u(1.5, 4.0), lo + u(0.3, 0.7) * (hi - lo)
        return c + u(0.3, 0.7) * (1 - c) * expit(np.log(81.0) / width * (x - x0))
    raise KeyError(name)


def study_rows(case: Case, studies: int, seed: int) -> pd.DataFrame:
    """The contract rows of `studies` independent studies of a case, each one family (and dataset)."""
    rng = np.random.default_rng(seed)
    grids = list(GRIDS[case.sizes].values())
    scales = np.array([grids[s % len(grids)][1] for s in range(studies)], float)      # (S, N)
    axes = [grids[s % len(grids)][0] for s in range(studies)]
    x = np.log10(scales)
    p0 = case.chance + 0.02
    sd = np.sqrt(p0 * (1 - p0) / case.n_items)
    tau = {"empirical": rng.choice(np.asarray(EMPIRICAL_TAU), studies), "stress": np.full(studies, 3 * sd),
           "none": np.zeros(studies)}[case.scatter]
    effect = rng.normal(0, 1, x.shape) * tau[:, None]                                 # shared by the tasks
    frames = []
    for task in range(case.tasks):
        mean = _truth(case.truth, x, case.chance, rng)
        p = np.clip(mean + effect, 0, 1)
        score = rng.binomial(case.n_items, p) / case.n_items
        S, N = x.shape
        frames.append(pd.DataFrame({
            "model": [f"s{s:04d}-m{j}" for s in range(S) for j in range(N)],
            "family": np.repeat([f"study{s:04d}" for s in range(S)], N),
            "params": np.where(np.repeat(np.array(axes) == "params", N), scales.ravel(), 1.4e9),
            "tokens": np.where(np.repeat(np.array(axes) == "tokens", N), scales.ravel(), np.nan),
            "benchmark": "audit", "task": f"task{task}", "metric": "acc", "shots": 0,
            "score": score.ravel(), "unit": "fraction", "n_items": case.n_items if case.items_written else "",
            "chance": case.chance if case.written_chance is None else case.written_chance,
            "source": f"synthetic audit case {case.name!r}, seed {seed}"}))
    return pd.concat(frames, ignore_index=True)


def label_studies(rows: pd.DataFrame, settings: Settings, workdir: str | Path | None = None) -> pd.DataFrame:
    """Every study through the pipeline; each family its own dataset before the multiple testing."""
    out = []
    for axis, part in rows.groupby(rows["tokens"].notna().map({True: "tokens", False: "params"})):
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            path = Path(tmp) / "audit.csv"
            part.drop(columns=[] if axis == "tokens" else ["tokens"]).to_csv(path, index=False)
            res = analyse_dataset(path, replace(settings, x_axis=axis), dataset="audit")
        res.curves["dataset"] = res.curves["family"]
        out.append(combine([res], settings).curves)
    return pd.concat(out, ignore_index=True)


def _cluster_ci(hit: np.ndarray, study: np.ndarray, reps: int = 4000, seed: int = 0) -> tuple[float, float]:
    """A 95 % percentile interval of a rate by resampling whole studies: a family's tasks share its
    model effects, so their labels are not independent and a binomial interval would be too narrow."""
    ids, idx = np.unique(study, return_inverse=True)
    k, n = np.bincount(idx, hit.astype(float)), np.bincount(idx)
    draw = np.random.default_rng(seed).integers(0, len(ids), (reps, len(ids)))
    r = k[draw].sum(1) / n[draw].sum(1)
    return float(np.quantile(r, 0.025)), float(np.quantile(r, 0.975))


def rates(case: Case, curves: pd.DataFrame) -> dict:
    """Wrong flags (and each flag) and power, with 95 % intervals: Clopper-Pearson where each study is
    one curve, a bootstrap over studies where a study's tasks share its models (`_cluster_ci`)."""
    labels = curves["label"].to_numpy(str)
    n = len(labels)
    study = curves["family"].to_numpy(str)
    row = {"case": case.name, "curves": n, "studies": len(np.unique(study))}

    def rate(hit: np.ndarray) -> tuple[float, tuple[float, float]]:
        k = int(hit.sum())
        return k / n, (_cluster_ci(hit, study) if case.tasks > 1 else clopper_pearson(k, n))

    row["wrong"], (row["wrong_low"], row["wrong_high"]) = rate(np.isin(labels, case.wrong))
    for flag in ("emergent", "inverse", "u"):
        names = ("u_shaped", "inverted_u") if flag == "u" else (flag,)
        row[f"rate_{flag}"], (row[f"rate_{flag}_low"], row[f"rate_{flag}_high"]) = rate(np.isin(labels, names))
    # an emergence that also rules out every accelerating law the smaller models allow (no steep_law caveat)
    steep = curves["steep_law"].astype(str).eq("True").to_numpy() if "steep_law" in curves else np.zeros(n, bool)
    row["rate_emergent_steep_ruled_out"], (row["rate_emergent_steep_ruled_out_low"],
                                           row["rate_emergent_steep_ruled_out_high"]) = rate((labels == "emergent")
                                                                                             & ~steep)
    if case.expect:
        row["power"], (row["power_low"], row["power_high"]) = rate(labels == case.expect)
    for lab in ("emergent", "smooth", "inverse", "u_shaped", "inverted_u", "flat", "insufficient"):
        row[f"share_{lab}"] = float((labels == lab).mean())
    return row


def run_case(case: Case, studies: int, settings: Settings, seed: int = 2112) -> dict:
    return rates(case, label_studies(study_rows(case, studies, seed), settings))

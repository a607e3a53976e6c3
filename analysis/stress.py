"""Size and false-positive-rate suite on realistic null data (issue 11, "Measured targets").

The statistics are judged on shapes and noise they do not assume: families on
real size grids (`synthetic.GRIDS`), each evaluated on several tasks, a model
effect shared by all tasks of a family (`synthetic.EMPIRICAL_TAU`, the scatter
the package estimates on the bundled data, or 3× the sampling sd as a stress
cell), binomial or Gaussian sampling noise, null truths the detector does not
fit (`synthetic.NULL_TRUTHS`) mixed with clear effects (`synthetic.EFFECT_TRUTHS`).

Each block (sizes, noise, scatter, chance) is ONE run of the public pipeline
(`stress_run.run_block`), exactly as the workflow does it: a contract CSV, `analyse_dataset`, then
`combine` (FDR across the block's curves, labels) at the given settings
(default: the run's own).

Per cell (block × truth) it reports
- size: the share of raw p ≤ alpha of every test whose null holds on that truth
  (`TEST_NULLS`), among the curves the test was run on;
- the false positive rate of each flag after FDR on null truths, and "any wrong
  flag" (emergent, inverse, u_shaped or inverted_u on a null curve);
- power (the true label) on the clear effects;
each with a Clopper-Pearson 95 % interval and its counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .synthetic import CORE_NULLS, EFFECT_TRUTHS, NULL_TRUTHS, STRESS_TRUE_LABEL
from .vocabulary import FLAGGED

#: issue 11's targets
SIZE_TARGET = 0.06
LABEL_FPR_TARGET = 0.05
ANY_WRONG_TARGET = 0.08

FLAT = ("flat_chance", "flat_high")
MONOTONE_NULLS = tuple(t for t in NULL_TRUTHS if t != "outlier")
#: p column -> the truths on which its null holds. emergence: "no emergence" (the
#: label's claim; today's test literally has H0 "loglinear or power", see LITERAL_H0);
#: rise (H0 slope ≤ 0) and a two-sided p_trend: flat; decline (H0 slope ≥ 0) and the
#: U test (H0 monotone): every monotone null. The single-model outlier is a null for
#: the labels (its expected curve is flat) but its expected scores are not a line, so
#: it enters no trend/U size.
TEST_NULLS = {
    "p_emergence": NULL_TRUTHS,
    "p_rise": FLAT,
    "p_decline": MONOTONE_NULLS,
    "p_trend": FLAT,
    "p_ushape": MONOTONE_NULLS,
}
#: the tests behind the labels, held to the size target; p_rise and p_decline are the two halves
#: of the two-sided p_trend (descriptive since issue 11), reported but not held to it
TARGET_TESTS = ("p_emergence", "p_trend", "p_ushape")
#: truths inside the sharpness test's H0 (loglinear, or power a + b·10^(-alpha·x), which is exactly
#: the saturating truth; a flat line is slope 0): p_sharp, descriptive since issue 12
LITERAL_H0 = ("flat_chance", "flat_high", "loglinear", "saturating")
#: issue 12's power targets for a clear emergence (plateau observed or not), 1,000 items, by sizes
EMERGENT_POWER_TARGET = {8: 0.90, 5: 0.70}
#: issue 12: the bracket holds the true onset this often over the whole grid
BRACKET_TARGET = 0.90
#: nulls on which only the emergent flag is held to the target: one model far off is a flat
#: curve for emergence, but an inverse / U call resting on it is reported, not asserted
EMERGENT_ONLY = ("outlier",)
#: flag columns: the labels that are false positives on a null truth
FLAGS = {"emergent": ("emergent",), "inverse": ("inverse",), "u": ("u_shaped", "inverted_u")}

NOISE = (100, 1000, 10000, None)
SIZES = (4, 5, 8, 12)
SCATTER = ("empirical", "stress")


@dataclass(frozen=True)
class Block:
    """One run: every truth's curves on one (sizes, noise, scatter, chance) condition."""

    sizes: int
    n_items: int | None
    scatter: str
    chance: float = 0.25

    @property
    def noise(self) -> str:
        return f"binomial {self.n_items}" if self.n_items else "residual"

    def seed(self, base: int) -> int:
        return int(base + 1009 * self.sizes + 7 * (self.n_items or 3) + (0 if self.scatter == "empirical" else 5)
                   + int(1000 * self.chance))


def default_grid(chance_half: bool = True) -> list[Block]:
    """The full grid: 4 sizes × 4 noises × 2 scatters at chance 0.25, plus chance 0.5
    for the stress scatter with 1,000 items (issue 11's table)."""
    blocks = [Block(s, n, sc) for s in SIZES for n in NOISE for sc in SCATTER]
    if chance_half:
        blocks += [Block(s, 1000, "stress", 0.5) for s in SIZES]
    return blocks


def clopper_pearson(k: int, n: int) -> tuple[float, float]:
    """The 95 % Clopper-Pearson interval of a rate k/n (statsmodels' "beta"), every rate's interval in
    the stress tables and the audit; (nan, nan) for n = 0."""
    from statsmodels.stats.proportion import proportion_confint
    if n == 0:
        return np.nan, np.nan
    lo, hi = proportion_confint(k, n, alpha=0.05, method="beta")
    return float(lo), float(hi)


def cell_rates(curves: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per truth of a labelled block: n, size of each test, FPR of each flag, power."""
    out = []
    order = [t for t in NULL_TRUTHS + EFFECT_TRUTHS if t in set(curves["truth"])]
    for truth in order:
        g = curves[curves["truth"] == truth]
        row = {"truth": truth, "kind": "null_truth" if truth in NULL_TRUTHS else "effect", "n": len(g),
               "core": truth in CORE_NULLS, "emergence_h0_literal": truth in LITERAL_H0}
        for col, holds in TEST_NULLS.items():
            name = "size_" + col[2:]
            if col not in g or truth not in holds:
                row[name], row[name + "_k"], row[name + "_n"] = np.nan, np.nan, np.nan
                row[name + "_low"], row[name + "_high"] = np.nan, np.nan
                continue
            p = g[col].to_numpy(float)
            # the emergence test's parts exist only where the data show a split; a curve without
            # one is not rejected, so its size is over every curve of the truth
            tested = np.ones(len(p), bool) if col == "p_emergence" else np.isfinite(p)
            k, n = int((p[tested] <= alpha).sum()), int(tested.sum())
            row[name], row[name + "_k"], row[name + "_n"] = (k / n if n else np.nan), k, n
            row[name + "_low"], row[name + "_high"] = clopper_pearson(k, n)
        labels = g["label"].to_numpy(str)
        # the emergent truth of each curve from its noise-free shape on its grid (issue 21): a null
        # truth that is emergent there is not a false positive when called so, nor counted in its FPR
        on_grid = (g["emergent_on_grid"].to_numpy(bool) if "emergent_on_grid" in g
                   else np.zeros(len(g), bool))
        row["emergent_on_grid"] = int(on_grid.sum())
        if truth in NULL_TRUTHS:
            for flag, names in FLAGS.items():
                judged = ~on_grid if flag == "emergent" else np.ones(len(g), bool)
                k, n = int(np.isin(labels[judged], names).sum()), int(judged.sum())
                row[f"fpr_{flag}"], row[f"fpr_{flag}_k"], row[f"fpr_{flag}_n"] = (k / n if n else np.nan), k, n
                row[f"fpr_{flag}_low"], row[f"fpr_{flag}_high"] = clopper_pearson(k, n)
            wrong = np.isin(labels, FLAGGED) & ~(on_grid & (labels == "emergent"))
            k = int(wrong.sum())
            row["any_wrong"], row["any_wrong_k"] = k / len(g), k
            row["any_wrong_low"], row["any_wrong_high"] = clopper_pearson(k, len(g))
        else:
            judged = on_grid if STRESS_TRUE_LABEL[truth] == "emergent" else np.ones(len(g), bool)
            k, n = int((labels[judged] == STRESS_TRUE_LABEL[truth]).sum()), int(judged.sum())
            row["power"], row["power_k"], row["power_n"] = (k / n if n else np.nan), k, n
            row["power_low"], row["power_high"] = clopper_pearson(k, n)
            if "true_onset" in g and g["true_onset"].notna().any():
                em = g[labels == "emergent"]
                k = int(((em["emergence_scale_low"] <= em["true_onset"])
                         & (em["true_onset"] <= em["emergence_scale_high"])).sum())
                row["bracket_coverage"], row["bracket_coverage_k"] = (k / len(em) if len(em) else np.nan), k
                row["bracket_coverage_n"] = len(em)
                row["bracket_coverage_low"], row["bracket_coverage_high"] = clopper_pearson(k, len(em))
        for lab in ("emergent", "smooth", "inverse", "u_shaped", "inverted_u", "flat", "insufficient"):
            row[f"share_{lab}"] = float((labels == lab).mean())
        out.append(row)
    return pd.DataFrame(out)


#: the scatter conditions held to the size and FPR targets (see `check_targets`)
HELD_SCATTER = ("empirical",)


def check_targets(table: pd.DataFrame, scatter: tuple[str, ...] = HELD_SCATTER) -> pd.DataFrame:
    """The cells that miss issue 11's and 12's targets (point estimates), one row per miss.

    Size targets on the core nulls (flat, loglinear, saturating, accelerating);
    label FPR and any-wrong-flag targets on every null truth, except that on the
    single-model outlier only the emergent FPR is a target; power for a clear
    emergence with 1,000 items and the scatter found in real tables
    (`EMERGENT_POWER_TARGET`; the 3× stress scatter is reported, not held to it).
    `scatter`: the scatter conditions whose null cells are held to the size and FPR targets. Since
    issue 21 a family learns its scatter from its own curves and the shipped prior only (never
    from the other families of its dataset), so a scatter three times the sampling sd, six times
    the corpus's typical one, is not learnt by a family of 4-5 models: those cells are reported
    (`check_targets(table, HELD_SCATTER + ("stress",))`), not held.
    """
    misses = []
    nulls = table[(table["kind"] == "null_truth") & table["scatter"].isin(scatter)] if "scatter" in table \
        else table[table["kind"] == "null_truth"]
    keys = [c for c in ("sizes", "noise", "scatter", "chance") if c in table]
    for _, r in nulls.iterrows():
        where = {k: r[k] for k in keys} | {"truth": r["truth"]}
        if r["core"]:
            for col in TARGET_TESTS:
                name = "size_" + col[2:]
                if name in r and np.isfinite(r[name]) and r[name] > SIZE_TARGET:
                    misses.append({**where, "measure": name, "value": r[name], "target": SIZE_TARGET,
                                   "n": r[name + "_n"], "low": r[name + "_low"], "high": r[name + "_high"]})
        for flag in FLAGS:
            if r["truth"] in EMERGENT_ONLY and flag != "emergent":
                continue
            if r[f"fpr_{flag}"] > LABEL_FPR_TARGET:
                misses.append({**where, "measure": f"fpr_{flag}", "value": r[f"fpr_{flag}"],
                               "target": LABEL_FPR_TARGET, "n": r.get(f"fpr_{flag}_n", r["n"]),
                               "low": r[f"fpr_{flag}_low"],
                               "high": r[f"fpr_{flag}_high"]})
        if r["any_wrong"] > ANY_WRONG_TARGET and r["truth"] not in EMERGENT_ONLY:
            misses.append({**where, "measure": "any_wrong", "value": r["any_wrong"], "target": ANY_WRONG_TARGET,
                           "n": r["n"], "low": r["any_wrong_low"], "high": r["any_wrong_high"]})
    effects = table[(table["kind"] == "effect") & table["truth"].str.startswith("emergent")]
    for _, r in effects.iterrows():
        target = EMERGENT_POWER_TARGET.get(int(r["sizes"]))
        if (target and r["noise"] == "binomial 1000" and r["scatter"] == "empirical" and r["chance"] == 0.25
                and r["power"] < target):
            misses.append({**{k: r[k] for k in keys}, "truth": r["truth"], "measure": "power", "value": r["power"],
                           "target": target, "n": r.get("power_n", r["n"]), "low": r["power_low"],
                           "high": r["power_high"]})
    return pd.DataFrame(misses, columns=keys + ["truth", "measure", "value", "target", "n", "low", "high"])


def confusion(table: pd.DataFrame) -> pd.DataFrame:
    """Truth × label over the whole grid: curves, and % with its Clopper-Pearson 95 % interval."""
    labels = ("emergent", "smooth", "inverse", "u_shaped", "inverted_u", "flat", "insufficient")
    rows = []
    for truth, g in table.groupby("truth", sort=False):
        n = int(g["n"].sum())
        row = {"truth": truth, "true label": STRESS_TRUE_LABEL.get(truth, ""), "curves": n}
        for lab in labels:
            k = int(round((g[f"share_{lab}"] * g["n"]).sum()))
            lo, hi = clopper_pearson(k, n)
            row[lab] = f"{100 * k / n:.1f} ({100 * lo:.1f}–{100 * hi:.1f})"
        rows.append(row)
    order = [t for t in NULL_TRUTHS + EFFECT_TRUTHS if t in set(table["truth"])]
    return pd.DataFrame(rows).set_index("truth").loc[order].reset_index()


def bracket_coverage(table: pd.DataFrame) -> tuple[int, int]:
    """(emergent calls whose bracket holds the true onset, emergent calls) over the whole grid."""
    if "bracket_coverage_k" not in table:
        return 0, 0
    return int(table["bracket_coverage_k"].fillna(0).sum()), int(table["bracket_coverage_n"].fillna(0).sum())


def _pct(v, lo, hi, k=None, n=None) -> str:
    if not np.isfinite(v):
        return ""
    return f"{100 * v:.1f} ({100 * lo:.1f}–{100 * hi:.1f})"


def markdown(table: pd.DataFrame) -> str:
    """The table as markdown: % with Clopper-Pearson 95 % intervals; ✗ marks a missed target."""
    head = ("| sizes | noise | scatter | chance | truth | n | size emergence | size trend | size rise | "
            "size decline | size U | FPR emergent | FPR inverse | FPR U | any wrong flag | power |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for _, r in table.iterrows():
        def cell(name, target=None, core_only=False):
            if name not in r or not np.isfinite(r[name]):
                return ""
            s = _pct(r[name], r[name + "_low"], r[name + "_high"])
            miss = (target is not None and r[name] > target and (r["core"] or not core_only)
                    and (r["truth"] not in EMERGENT_ONLY or name == "fpr_emergent"))
            return f"**{s}** ✗" if miss else s
        lines.append("| " + " | ".join(str(v) for v in (
            r["sizes"], r["noise"], r["scatter"], f"{r['chance']:g}", r["truth"], r["n"],
            cell("size_emergence", SIZE_TARGET, True), cell("size_trend", SIZE_TARGET, True),
            cell("size_rise"), cell("size_decline"), cell("size_ushape", SIZE_TARGET, True),
            cell("fpr_emergent", LABEL_FPR_TARGET), cell("fpr_inverse", LABEL_FPR_TARGET),
            cell("fpr_u", LABEL_FPR_TARGET), cell("any_wrong", ANY_WRONG_TARGET), cell("power"))) + " |")
    return "\n".join(lines)


#: the summary's columns: (heading, cell-table column, which rows, worst = max or min)
SUMMARY = (
    ("size emergence", "size_emergence", "core", max), ("size trend", "size_trend", "core", max),
    ("size U", "size_ushape", "core", max),
    ("FPR emergent", "fpr_emergent", "null", max), ("FPR inverse", "fpr_inverse", "labelled", max),
    ("FPR U", "fpr_u", "labelled", max), ("any wrong flag", "any_wrong", "labelled", max),
    ("power emergent", "power", "emergent", min), ("power inverse", "power", "inverse", min),
    ("power U", "power", "u_shaped", min),
)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """One row per block: the worst cell of each measure over its truths, with its interval and truth.

    Sizes over the core nulls (flat, loglinear, saturating, accelerating); the
    emergent FPR over every null truth; the other label FPRs and any wrong flag
    over every null but the single-model outlier; power per clear effect
    (emergent: the worse of plateau observed or not).
    """
    keys = ["sizes", "noise", "scatter", "chance"]
    null = table["kind"] == "null_truth"
    rows = {"core": table["core"].astype(bool), "null": null, "labelled": null & ~table["truth"].isin(EMERGENT_ONLY),
            "emergent": table["truth"].str.startswith("emergent"), "inverse": table["truth"] == "inverse",
            "u_shaped": table["truth"] == "u_shaped"}
    out = table[keys].drop_duplicates().sort_values(keys).set_index(keys)
    for heading, col, which, worst in SUMMARY:
        out[heading] = ""
        if col not in table:
            continue
        sub = table[rows[which] & np.isfinite(table[col].astype(float))]
        by = sub.groupby(keys)[col]
        picked = table.loc[(by.idxmax() if worst is max else by.idxmin()).to_numpy()].set_index(keys)
        out.loc[picked.index, heading] = [
            _pct(r[col], r[col + "_low"], r[col + "_high"]) + (f" {r['truth']}" if which not in ("inverse", "u_shaped")
                                                               else "")
            for _, r in picked.iterrows()]
    return out.reset_index()


def summary_markdown(table: pd.DataFrame) -> str:
    s = summarise(table)
    head = "| " + " | ".join(s.columns) + " |"
    return "\n".join([head, "|" + "---|" * len(s.columns)]
                     + ["| " + " | ".join(str(v) if not isinstance(v, float) else f"{v:g}" for v in r) + " |"
                        for r in s.itertuples(index=False)])


def headline_figures(table: pd.DataFrame) -> dict[str, str]:
    """The figures the README quotes from the committed grid (a test keeps the README in step): the worst
    emergent false positive rate and trend size over the held cells, the bracket's coverage, and the
    power for a clear emergence at 1,000 items (8 sizes: without and with a plateau; 5 sizes: the range)."""
    held = table[table["scatter"].isin(HELD_SCATTER)]
    k, n = bracket_coverage(table)
    power = held[held["truth"].str.startswith("emergent") & (held["noise"] == "binomial 1000")]
    at = {s: power[power["sizes"] == s].set_index("truth")["power"] for s in (5, 8)}
    return {
        "emergent FPR": f"{held.loc[held['kind'] == 'null_truth', 'fpr_emergent'].max():.1%}".replace("%", " %"),
        "trend size": f"{held.loc[held['core'].astype(bool), 'size_trend'].max():.1%}".replace("%", " %"),
        "bracket": f"{k / n:.1%}".replace("%", " %"),
        "power 8 sizes": f"{at[8]['emergent_open']:.0%}".replace("%", " %"),
        "power 8 sizes, plateau": f"{at[8]['emergent_plateau']:.0%}".replace("%", " %"),
        "power 5 sizes": f"{at[5].min():.0%}-{at[5].max():.0%}".replace("%", "", 1).replace("%", " %"),
    }

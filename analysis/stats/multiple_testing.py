"""Multiple testing (METHODS.md 4.7): one headline metric per claim, and Benjamini-Hochberg q-values
within each dataset (the label's) and across the run (a column no label reads)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .emergence import EMERGENCE
from .trend import TREND
from .two_lines import TWO_LINES

P_COLUMNS = tuple(t.p_column for t in (EMERGENCE, TREND, TWO_LINES))


def headline(curves: pd.DataFrame, preference: tuple[str, ...]) -> np.ndarray:
    """One headline metric per (dataset, family, benchmark, task, shots), chosen in advance.

    The first of `preference` (full metric name first, then its base before
    "/" or ","), else the alphabetically first. A task measured with several
    metrics (acc and acc_norm, strict and flexible extraction) makes one claim,
    not several: the other metrics are sensitivity analyses.
    """
    rank = {m: i for i, m in enumerate(preference)}
    metric = curves["metric"].astype(str)
    base = metric.str.split("/").str[0].str.split(",").str[0]
    order = np.fmin(metric.map(rank).to_numpy(float), base.map(rank).to_numpy(float) + 0.5)
    key = ["dataset", "family", "benchmark", "task", "shots"]
    ranked = curves.assign(_o=np.where(np.isfinite(order), order, np.inf), _m=metric)
    best = ranked.sort_values(["_o", "_m"], kind="stable").groupby(key, sort=False, dropna=False)["_m"].first()
    chosen = ranked[key].merge(best.rename("_best").reset_index(), on=key, how="left")["_best"]
    return (chosen.to_numpy() == metric.to_numpy())


def bh_q(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values, as statsmodels' `multipletests(method="fdr_bh")` gives them (a test
    compares the two); NaN p-values are left out and stay NaN. In numpy: importing statsmodels took a
    second of every run's combine step, which a rerun after new results waits for."""
    p = np.asarray(p, float)
    q = np.full(len(p), np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok):
        order = ok[np.argsort(p[ok], kind="mergesort")]
        m = len(order)
        stepped = p[order] / (np.arange(1, m + 1) / m)      # statsmodels' order of operations, to the last bit
        q[order] = np.minimum(1.0, np.minimum.accumulate(stepped[::-1])[::-1])
    return q


def add_q_values(curves: pd.DataFrame, preference: tuple[str, ...]) -> pd.DataFrame:
    """q-values per test: Benjamini-Hochberg within each dataset (the label's), and across the run.

    A dataset is a study, and the family of claims: `q_<test>` is BH over the
    dataset's headline curves for that test (`headline`), so a curve's label
    depends on its own dataset alone, never on which other datasets are in the
    run. It controls, per dataset and test, the expected share of false claims
    among the curves it rejects, under independence or positive dependence
    (PRDS, Benjamini & Yekutieli 2001: curves of one family share their models,
    whose effects move their one-sided tests together). The other metrics'
    curves are sensitivity analyses, with q-values in a family of their own
    per dataset. `q_<test>_run` is the same procedure over the whole run, for
    a reader who pools datasets; no label reads it.
    """
    out = curves.copy()
    out["headline"] = headline(out, preference)
    head = out["headline"].to_numpy(bool)
    dataset = out["dataset"].astype(str).to_numpy()
    for col in P_COLUMNS:
        p = out[col].to_numpy(float)
        q, q_run = np.full(len(out), np.nan), np.full(len(out), np.nan)
        for part in (head, ~head):
            q_run[part] = bh_q(p[part])
            for d in np.unique(dataset[part]):
                rows = part & (dataset == d)
                q[rows] = bh_q(p[rows])
        out["q" + col[1:]] = q
        out["q" + col[1:] + "_run"] = q_run
    return out

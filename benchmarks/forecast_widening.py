"""The forecasts' widening factors, measured on the bundled corpus's leave-largest-out backtest (issue 27).

Reads a run's results/curves.csv (the backtest columns: each bounded curve's largest model predicted
from the smaller ones), and per trend (on the training sizes) and size group (`forecast.size_group` of
the training scales) takes the 95th percentile of |error| / half-width: the factor that makes that
group's 95 % interval cover 95 % of its held-out models (split-conformal calibration; a narrowing only
where two datasets or more show it). Writes the
factors to analysis/forecast_widening.csv, and the coverage they give, in the sample and leaving each
dataset out of the factors that judge it, with the forecasts' error against two naive forecasts, to
docs/FORECASTS_BACKTEST.md.

    .venv/bin/snakemake --cores 2 && .venv/bin/python benchmarks/forecast_widening.py
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.forecast import WIDENING_FILE, size_group

REPO = Path(__file__).resolve().parents[1]
KEY = ["trend", "sizes"]


def backtested(curves: pd.DataFrame) -> pd.DataFrame:
    c = curves[np.isfinite(curves["backtest_error"].astype(float)) & curves["bounded"].astype(bool)
               & np.isfinite(curves["backtest_interval"].astype(float))].copy()
    c["trend"] = c["backtest_trend"]
    c["sizes"] = size_group(c["n_scales"].to_numpy(int) - 1)          # the scales the prediction rests on
    c["ratio"] = np.abs(c["backtest_error"]) / c["backtest_interval"]
    return c


def backtested_two(curves: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The leave-two-largest-out backtest, with each curve's factor from `table`."""
    c = curves[np.isfinite(curves["backtest2_error"].astype(float)) & curves["bounded"].astype(bool)
               & np.isfinite(curves["backtest2_interval"].astype(float))].copy()
    c["trend"] = c["backtest_trend"]
    c["sizes"] = size_group(c["n_scales"].to_numpy(int) - 2)
    c["ratio"] = np.abs(c["backtest2_error"]) / c["backtest2_interval"]
    c["covered"] = covered(c, table)
    return c


def factors(c: pd.DataFrame) -> pd.DataFrame:
    """Per group, the 95th percentile of |error| / half-width. It narrows an interval (a factor below 1)
    only where the group's curves come from two datasets or more: a narrowing no other dataset can
    check is not taken."""
    g = c.groupby(KEY)
    q95, datasets = g["ratio"].quantile(0.95), g["dataset"].nunique()
    return pd.DataFrame({"factor": q95.where(datasets >= 2, np.maximum(q95, 1.0)), "curves": g.size(),
                         "datasets": datasets,
                         "coverage_before": g["ratio"].apply(lambda r: float((r <= 1).mean()))}).reset_index()


def covered(c: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    f = c[KEY].merge(table[[*KEY, "factor"]], on=KEY, how="left")["factor"].fillna(1.0).to_numpy()
    return pd.Series(c["ratio"].to_numpy() <= f, index=c.index)


def summary(c: pd.DataFrame, by: str) -> pd.DataFrame:
    g = c.groupby(by)
    mae = {name: g[col].apply(lambda e: float(np.median(np.abs(e))))
           for name, col in (("forecast", "backtest_error"), ("last score", "backtest_error_last"),
                             ("line in log size", "backtest_error_line"))}
    return pd.DataFrame({"curves": g.size(), "coverage before": g["ratio"].apply(lambda r: (r <= 1).mean()),
                         "coverage (in sample)": g["in_sample"].mean(),
                         "coverage (dataset left out)": g["left_out"].mean(),
                         **{f"median |error|, {k}": v for k, v in mae.items()}})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--curves", default=str(REPO / "results" / "curves.csv"))
    ap.add_argument("--out", default=str(WIDENING_FILE))
    ap.add_argument("--doc", default=str(REPO / "docs" / "FORECASTS_BACKTEST.md"))
    args = ap.parse_args()
    c = backtested(pd.read_csv(args.curves))
    table = factors(c)
    c["in_sample"] = covered(c, table)
    c["left_out"] = pd.concat([covered(g, factors(c[c["dataset"] != ds])) for ds, g in c.groupby("dataset")])
    # the coverage a forecast of each group can expect: its group's, each dataset judged by the others' factors
    after = c.groupby(KEY)["left_out"].mean().rename("coverage_after").reset_index()
    table = table.merge(after, on=KEY, how="left")
    table.assign(source="benchmarks/forecast_widening.py on the bundled corpus's leave-largest-out backtest") \
        .to_csv(args.out, index=False, float_format="%.4g")
    parts = ["# The forecasts' backtest (leave the largest model out)", "",
             f"Written by `benchmarks/forecast_widening.py` from {len(c):,} bounded curves of the bundled corpus. "
             "Each curve's largest model is predicted from the smaller ones; its 95 % interval is scaled by "
             "its group's factor (below). *In sample*: the factors from every curve; *dataset left out*: each "
             "dataset judged with factors measured on the others (a group no other dataset has keeps 1). "
             "Naive forecasts: the largest training model's score, and a line in log size.", "",
             "## Factors", "", table.to_markdown(index=False, floatfmt=".3g"), ""]
    for by, title in (("label", "By label"), ("n_scales", "By number of sizes (with the held-out one)"),
                      ("trend", "By trend on the training sizes"), ("dataset", "By dataset")):
        parts += [f"## {title}", "", summary(c, by).to_markdown(floatfmt=".3g"), ""]
    two = backtested_two(pd.read_csv(args.curves), table)
    parts += ["## Leave the two largest out", "",
              f"{len(two):,} curves: the largest model predicted from the models below the two largest scales "
              "(a longer extrapolation), its interval scaled by the factor of its group above (the trend on "
              "the leave-largest-out training sizes, the size group of its own training scales).", ""]
    for by, title in (("label", "By label"), ("n_scales", "By number of sizes")):
        g = two.groupby(by)
        parts += [f"### {title}", "", pd.DataFrame({
            "curves": g.size(), "coverage before": g["ratio"].apply(lambda r: (r <= 1).mean()),
            "coverage (in sample factors)": g["covered"].mean(),
            **{f"median |error|, {k}": g[col].apply(lambda e: float(np.median(np.abs(e))))
               for k, col in (("forecast", "backtest2_error"), ("last score", "backtest2_error_last"),
                              ("line in log size", "backtest2_error_line"))}}).to_markdown(floatfmt=".3g"), ""]
    Path(args.doc).write_text("\n".join(parts))
    print(table.to_string(index=False))
    print(summary(c, "label").to_string())


if __name__ == "__main__":
    main()

"""A whole leaderboard through the workflow: 10,000 and 200,000 synthetic curves, analysed in shards.

    python benchmarks/leaderboard.py [--curves 10000 200000] [--shard-size 2000] [--cores 2]

The data: families on the calibration's real size grids (4, 5 and 8 model
sizes: LLaMA-1, Falcon, BLOOM, GPT-Neo/J, GPT-3, OPT, Pythia), 100 tasks per
family as a leaderboard has, every truth of the stress suite (its nulls, 80 %,
and clear effects, 20 %), binomial noise of 1,000 items and the between-model
scatter measured on the bundled data (`synthetic.stress_block`). Each size runs
the workflow to results/curves.csv (plan, shards, merge, the run-wide FDR and
labels; not the calibration nor the report) in a fresh folder, with default
settings. Printed: wall time, per-job times and peak memory from Snakemake's
benchmark files, and how the shards would divide over N cluster nodes (each
as fast as this machine: the longest of the sum over N and the longest shard,
plus the plan, merge and run-wide steps).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.synthetic import EFFECT_TRUTHS, NULL_TRUTHS, stress_block

REPO = Path(__file__).resolve().parents[1]
TASKS = 100


def leaderboard(n_curves: int, seed: int = 0) -> pd.DataFrame:
    """n_curves contract curves: a third on each grid size (4, 5, 8 sizes)."""
    frames = []
    for k, sizes in enumerate((4, 5, 8)):
        n = n_curves // 3 + (1 if k < n_curves % 3 else 0)
        nulls = round(n * 0.8)
        per = {t: nulls // len(NULL_TRUTHS) + (1 if i < nulls % len(NULL_TRUTHS) else 0)
               for i, t in enumerate(NULL_TRUTHS)}
        effects = n - nulls
        per.update({t: effects // len(EFFECT_TRUTHS) + (1 if i < effects % len(EFFECT_TRUTHS) else 0)
                    for i, t in enumerate(EFFECT_TRUTHS)})
        rows, _ = stress_block(sizes, 1000, "empirical", 0.25, per, seed=seed + k, tasks_per_family=TASKS,
                               prefix=f"s{sizes}-")
        frames.append(rows)
    return pd.concat(frames, ignore_index=True)


def run(n_curves: int, shard_size: int, cores: int, root: Path) -> dict:
    work = root / f"leaderboard_{n_curves}"
    (work / "data").mkdir(parents=True)
    data = leaderboard(n_curves)
    data.to_csv(work / "data" / "leaderboard.csv", index=False)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work), "--cores", str(cores),
           "--quiet", "all", "--config", f"shard_size={shard_size}", "--until", "combine"]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - t
    jobs = []
    for f in (work / "results" / "benchmarks").rglob("*.tsv"):
        b = pd.read_csv(f, sep="\t")
        jobs.append({"rule": f.relative_to(work / "results" / "benchmarks").parts[0].removesuffix(".tsv"),
                     "s": float(b["s"].iloc[-1]), "max_rss": float(b["max_rss"].iloc[-1])})
    jobs = pd.DataFrame(jobs)
    curves = len(pd.read_csv(work / "results" / "curves.csv", usecols=["curve_id"]))
    return {"curves": curves, "rows": len(data), "wall": wall, "jobs": jobs}


def nodes_table(jobs: pd.DataFrame, counts=(1, 2, 4, 8, 16, 32, 100)) -> list[str]:
    shards = jobs.loc[jobs["rule"] == "analyse_shard", "s"].to_numpy()
    serial = jobs.loc[jobs["rule"] != "analyse_shard", "s"].sum()
    lines = []
    for n in counts:
        lines.append(f"  {n:3d} node(s): {max(shards.sum() / n, shards.max()) + serial:8.0f} s "
                     f"(shards {max(shards.sum() / n, shards.max()):.0f} s + plan, merge and run-wide {serial:.0f} s)")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--curves", type=int, nargs="*", default=[10_000, 200_000])
    ap.add_argument("--shard-size", type=int, default=2000)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--keep", help="keep the run folders here (for benchmarks/slurm_resources.py)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        results = []
        for n in args.curves:
            r = run(n, args.shard_size, args.cores, root)
            results.append(r)
            jobs = r["jobs"]
            shards = jobs[jobs["rule"] == "analyse_shard"]
            print(f"{r['curves']:,} curves ({r['rows']:,} rows): {r['wall']:.0f} s wall on {args.cores} cores; "
                  f"peak job memory {jobs['max_rss'].max():.0f} MB")
            for rule, g in jobs.groupby("rule"):
                print(f"  {rule}: {len(g)} job(s), {g['s'].sum():.1f} s in all, longest {g['s'].max():.1f} s, "
                      f"peak {g['max_rss'].max():.0f} MB")
            print(f"  per shard of {args.shard_size}: median {np.median(shards['s']):.1f} s "
                  f"(min {shards['s'].min():.1f}, max {shards['s'].max():.1f})")
            print("  over N cluster nodes:")
            print("\n".join(nodes_table(jobs)))
        if len(results) > 1:
            a, b = results[0], results[-1]
            print(f"growth: {b['curves'] / a['curves']:.0f}x the curves took {b['wall'] / a['wall']:.1f}x the wall "
                  f"time ({b['curves']:,} vs {a['curves']:,})")


if __name__ == "__main__":
    main()

"""Per-rule memory and runtime for the SLURM profile, from the `benchmark:` files of real runs.

    python benchmarks/slurm_resources.py RESULTS_DIR [RESULTS_DIR ...]

Reads every results/benchmarks/**.tsv (Snakemake's max_rss in MB and wall
seconds per job) and prints the profile's `set-resources` block: per rule, the
largest max_rss seen times 1.5 plus 256 MB (rounded up to 100 MB), and the
longest wall time seen times 3 (at least 5 minutes). A dataset analysed whole
has fewer data rows than shard_size, so its job is bounded by a shard's: run
it on a sharded big dataset too, so that analyse_shard is measured at full size.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd


def measured(results_dirs: list[str]) -> pd.DataFrame:
    rows = []
    for d in results_dirs:
        bench = Path(d) / "benchmarks"
        for f in bench.rglob("*.tsv"):
            rule = f.relative_to(bench).parts[0].removesuffix(".tsv")
            t = pd.read_csv(f, sep="\t")
            rows.append({"rule": rule, "max_rss": float(t["max_rss"].max()), "s": float(t["s"].max())})
    return pd.DataFrame(rows).groupby("rule").agg(max_rss=("max_rss", "max"), s=("s", "max"), jobs=("s", "size"))


def block(table: pd.DataFrame) -> str:
    lines = ["set-resources:"]
    for rule, r in table.iterrows():
        mem = int(math.ceil((r["max_rss"] * 1.5 + 256) / 100) * 100)
        runtime = max(5, int(math.ceil(r["s"] * 3 / 60)))
        lines.append(f"  {rule}:  # measured: {r['max_rss']:.0f} MB, {r['s']:.0f} s at most in {int(r['jobs'])} job(s)")
        lines.append(f"    mem_mb: {mem}")
        lines.append(f"    runtime: {runtime}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(block(measured(sys.argv[1:])))

"""End-to-end costs: the whole bundled corpus cold, as a no-op rerun and after adding one small dataset; scaling.

    python benchmarks/pipeline.py [--skip-corpus] [--runs 3] [--no-calibration] [--sizes 100 1000 10000]
                                  [--baseline COMMIT]

Corpus: runs the workflow on a copy of data/ in a temporary folder (default
settings), then again with nothing changed; peak memory is the largest
max_rss of any job (Snakemake's benchmark files: a job's processes summed).
With --baseline, the same runs of that commit's code (`git archive`, found first
on PYTHONPATH, its own Snakefile) on the same data, interleaved with this
commit's, and a table of medians and ratios: the side-by-side measurement
issue 26 asks for. Scaling: analyse_dataset on
synthetic datasets of 100, 1,000 and 10,000 curves (8 sizes, 1,000 items,
every shape), default settings.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from analysis.pipeline import analyse_dataset
from analysis.settings import Settings
from analysis.synthetic import SHAPES, simulate

REPO = Path(__file__).resolve().parents[1]


def corpus(workdir: Path, config: list[str] = (), code: Path = REPO) -> dict:
    """Cold run, no-op rerun, and a rerun after adding one small dataset, of the code in `code`."""
    shutil.copytree(REPO / "data", workdir / "data")
    cmd = [sys.executable, "-m", "snakemake", "-s", str(code / "Snakefile"), "-d", str(workdir), "--cores", "2",
           "--quiet", "all"] + (["--config", *config] if config else [])
    env = {**os.environ, "PYTHONPATH": str(code)}

    def run():
        done = subprocess.run(cmd, capture_output=True, env=env)
        if done.returncode:
            raise SystemExit(f"{code}: snakemake failed in {workdir}:\n{done.stderr.decode()[-3000:]}")

    t = time.perf_counter()
    run()
    cold = time.perf_counter() - t
    t = time.perf_counter()
    run()
    noop = time.perf_counter() - t
    root = workdir / "results" / "benchmarks"
    # a job's name: its dataset (analyse_dataset), rule and shard (analyse_shard/<dataset>/<k>), or its rule
    bench = [pd.read_csv(f, sep="\t").assign(rule="/".join(f.relative_to(root).with_suffix("").parts[-2:])
                                             if f.parent != root else f.stem)
             for f in root.rglob("*.tsv")]
    peak = max(float(b["max_rss"].max()) for b in bench)
    curves = len(pd.read_csv(workdir / "results" / "curves.csv"))
    per_rule = {b["rule"].iloc[0]: float(b["s"].iloc[-1]) for b in bench}
    # what a user does when new results appear: one small dataset added (the .test subset of GPT-3), then
    # taken away again so that the next run starts from the same state
    new = workdir / "data" / "zz_added.csv"
    shutil.copy(REPO / ".test" / "data" / "gpt3_brown2020_subset.csv", new)
    t = time.perf_counter()
    run()
    added = time.perf_counter() - t
    new.unlink()
    run()
    return {"curves": curves, "cold_s": cold, "noop_s": noop, "added_s": added, "peak_rss_mb": peak,
            "per_rule": per_rule}


def scaling(sizes: list[int], workdir: Path) -> list[dict]:
    rows = []
    for n in sizes:
        per = max(1, n // len(SHAPES))
        df = pd.concat([simulate(s, per, n_sizes=8, n_items=1000, seed=i) for i, s in enumerate(SHAPES)])
        path = workdir / f"synthetic_{n}.csv"
        df.to_csv(path, index=False)
        t = time.perf_counter()
        res = analyse_dataset(path, Settings())
        rows.append({"curves": len(res.curves), "seconds": time.perf_counter() - t})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-corpus", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 10000])
    ap.add_argument("--runs", type=int, default=3, help="cold corpus runs (the median is reported)")
    ap.add_argument("--no-calibration", action="store_true",
                    help="skip the calibration table (calibration_curves=0): the data's own cost")
    ap.add_argument("--baseline", help="a commit to measure side by side with this one (e.g. 7887b93)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.baseline and not args.skip_corpus:
            side_by_side(args.baseline, args.runs, tmp)
        elif not args.skip_corpus:
            runs = []
            for i in range(args.runs):
                c = corpus(tmp / f"corpus{i}", ["calibration_curves=0"] if args.no_calibration else [])
                runs.append(c)
                print(f"corpus run {i + 1}: {c['curves']} curves; cold {c['cold_s']:.1f} s; "
                      f"no-op rerun {c['noop_s']:.1f} s; one small dataset added {c['added_s']:.1f} s "
                      f"({c['added_s'] / c['noop_s']:.1f}x the no-op rerun); peak job memory {c['peak_rss_mb']:.0f} MB")
                print("  per job (s): " + ", ".join(f"{k} {v:.1f}" for k, v in
                                                    sorted(c["per_rule"].items(), key=lambda kv: -kv[1])))
            med = {k: statistics.median(r[k] for r in runs) for k in ("cold_s", "noop_s", "added_s", "peak_rss_mb")}
            print(f"corpus median of {len(runs)}: cold {med['cold_s']:.1f} s; no-op rerun {med['noop_s']:.1f} s; "
                  f"one small dataset added {med['added_s']:.1f} s; peak job memory {med['peak_rss_mb']:.0f} MB")
        (tmp / "scaling").mkdir()
        rows = scaling(args.sizes, tmp / "scaling")
        for r in rows:
            per_curve = r["seconds"] / rows[0]["seconds"] * rows[0]["curves"] / r["curves"]
            print(f"scaling: {r['curves']:6d} curves in {r['seconds']:7.1f} s "
                  f"({per_curve:.2f}x per curve vs the smallest)")


MEASURES = (("cold_s", "cold run (s)"), ("noop_s", "no-op rerun (s)"),
            ("added_s", "one small dataset added, rerun (s)"), ("peak_rss_mb", "peak memory of a job (MB)"))


def side_by_side(commit: str, runs: int, tmp: Path) -> None:
    """The corpus runs of `commit` and of this working tree, interleaved (baseline, this, baseline, ...) so
    that the machine's drift falls on both; medians and their ratio."""
    base = tmp / "baseline"
    base.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
    got = {"baseline": [], "this": []}
    for i in range(runs):
        for name, code in (("baseline", base), ("this", REPO)):
            r = corpus(tmp / f"{name}{i}", code=code)
            got[name].append(r)
            print(f"{name} run {i + 1}: cold {r['cold_s']:.1f} s, no-op {r['noop_s']:.2f} s, "
                  f"added {r['added_s']:.1f} s, peak {r['peak_rss_mb']:.0f} MB; longest jobs: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["per_rule"].items(), key=lambda kv: -kv[1])[:4]),
                  flush=True)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    print(f"\n| median of {runs} | {commit} | {head} | ratio |\n|---|---|---|---|")
    for key, label in MEASURES:
        a, b = (statistics.median(r[key] for r in got[n]) for n in ("baseline", "this"))
        print(f"| {label} | {a:.2f} | {b:.2f} | {b / a:.2f}x |")


if __name__ == "__main__":
    main()

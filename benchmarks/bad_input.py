"""How long checking a file of bad rows takes, and how much memory (issue 25).

    .venv/bin/python benchmarks/bad_input.py [--rows 1000000]

Writes a contract CSV whose every row is set aside (a score that is not a
number), then runs the `validate_data` step on it (`validation.run_validation`,
what the workflow's target calls) in a fresh process, and prints its wall time
and peak memory beside the same for a file of the same size with good rows
(the baseline of this run: the cost of reading, not of saying).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "model,family,params,benchmark,task,metric,score,n_items,chance\n"

CHILD = """
import json, resource, sys, time
start = time.perf_counter()
from analysis.validation import run_validation
problems = run_validation([sys.argv[1]], sys.argv[2], {})
print(json.dumps({"seconds": time.perf_counter() - start, "problems": len(problems),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def write_rows(path: Path, rows: int, bad: bool) -> None:
    with path.open("w") as f:
        f.write(HEADER)
        for i in range(rows):
            score = f"high{i % 3}" if bad else f"0.{i % 90 + 10}"
            f.write(f"m{i},F{i % 50},{i % 9 + 1}B,bench,t{i % 7},acc,{score},1000,0.25\n")


def measure(path: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), str(out)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        results = {}
        for kind in ("bad", "good"):
            path = Path(tmp) / f"{kind}.csv"
            write_rows(path, args.rows, kind == "bad")
            results[kind] = {**measure(path, Path(tmp) / f"{kind}.problems.csv"),
                             "mb": path.stat().st_size / 1e6}
    print("| file | size | wall time | peak memory | problems listed |")
    print("|---|---|---|---|---|")
    for kind, r in results.items():
        print(f"| {args.rows:,} {kind} rows | {r['mb']:.0f} MB | {r['seconds']:.1f} s | {r['peak_mb'] / 1024:.2f} GB | "
              f"{r['problems']:,} |")
    print(f"ratio bad/good: time {results['bad']['seconds'] / results['good']['seconds']:.2f}×, memory "
          f"{results['bad']['peak_mb'] / results['good']['peak_mb']:.2f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

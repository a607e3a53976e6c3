"""The referee's audit cases of issue 21 at full size, with Clopper-Pearson intervals.

    .venv/bin/python benchmarks/audit.py [--studies 300] [--out benchmarks/audit.csv]

Each case (`analysis.audit.CASES`) is `--studies` independent studies (one
family, one dataset each; cases with 8 tasks have 8 curves per study, and
their intervals resample whole studies) at the run's default settings
(bootstrap 1000 / 4000). Prints and writes, per case, the rate of wrong flags
and of each flag, and the power where the case has a true label.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.audit import CASES, run_case  # noqa: E402
from analysis.settings import Settings  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--studies", type=int, default=300)
    ap.add_argument("--seed", type=int, default=2112)
    ap.add_argument("--out", default="benchmarks/audit.csv")
    args = ap.parse_args(argv)
    rows = []
    for case in CASES:
        t0 = time.perf_counter()
        # a family case's tasks share their models: as many studies as a one-task case, not as many curves
        studies = args.studies
        r = run_case(case, studies, Settings(), args.seed)
        r["seconds"] = round(time.perf_counter() - t0, 1)
        rows.append(r)
        power = f"; power {r['power']:.1%} [{r['power_low']:.1%}, {r['power_high']:.1%}]" if "power" in r else ""
        print(f"{case.name}: {r['curves']} curves, wrong {r['wrong']:.1%} [{r['wrong_low']:.1%}, "
              f"{r['wrong_high']:.1%}]; emergent {r['rate_emergent']:.1%}, inverse {r['rate_inverse']:.1%}, "
              f"U {r['rate_u']:.1%}{power}; emergent without the steep_law caveat "
              f"{r['rate_emergent_steep_ruled_out']:.1%} ({r['seconds']} s)", flush=True)
    pd.DataFrame(rows).to_csv(args.out, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

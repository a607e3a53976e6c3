"""How often the descriptive onset pattern ("absent, then present") holds, per stress truth.

    .venv/bin/python benchmarks/onset_pattern.py

Issue 12's starting point: the share of curves of each truth whose
`onset_pattern` holds (and with a significant rise), beside today's emergent
label, on five stress blocks (120 curves per null truth, 40 per effect). The
pattern is necessary for emergence but, on its own, far from sufficient.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.settings import Settings  # noqa: E402
from analysis.stress import Block, run_block  # noqa: E402

BLOCKS = [Block(8, 1000, "empirical"), Block(5, 1000, "empirical"), Block(12, 1000, "stress"),
          Block(4, 1000, "empirical"), Block(8, 100, "empirical")]


def main() -> int:
    rows = []
    for b in BLOCKS:
        curves, _ = run_block(b, Settings(), nulls=120, effects=40, seed=5)
        pattern = curves["onset_pattern"].astype(str).eq("True")
        rising = pattern & (curves["q_trend"] <= 0.05) & (curves["change"] > 0)
        g = pd.DataFrame({"truth": curves["truth"], "pattern": pattern, "pattern_and_rise": rising,
                          "emergent_label": curves["label"] == "emergent"}).groupby("truth").mean().round(3)
        g.insert(0, "block", f"{b.sizes} sizes, {b.noise}, {b.scatter}")
        rows.append(g.reset_index())
    print(pd.concat(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

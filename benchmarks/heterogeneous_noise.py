"""Is pooling unknown noise per family safe when a family's tasks differ in noise? (issue 12)

    .venv/bin/python benchmarks/heterogeneous_noise.py 8 empirical

One stress block without item counts (`analysis.synthetic.stress_block`,
residual noise sd 0.02), then every task's scores get extra Gaussian noise of
its own sd, drawn uniformly in [0, 0.06]: tasks of one family then differ in
total noise sd from 0.02 to about 0.063, which one pooled variance per family
cannot follow. Prints, per truth, the share of curves given each label
(200 curves per null truth, 50 per effect), at the default settings.
"""
from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.pipeline import analyse_dataset, combine  # noqa: E402
from analysis.settings import Settings  # noqa: E402
from analysis.synthetic import EFFECT_TRUTHS, NULL_TRUTHS, stress_block  # noqa: E402


def main(sizes: int, scatter: str) -> pd.DataFrame:
    counts = {**{t: 200 for t in NULL_TRUTHS}, **{t: 50 for t in EFFECT_TRUTHS}}
    rows, truth = stress_block(sizes, None, scatter, 0.25, counts, seed=77 + sizes)
    rng = np.random.default_rng(5)
    task = rows["family"] + "|" + rows["task"]
    extra = {k: rng.uniform(0.0, 0.06) for k in task.unique()}
    rows["score"] = np.clip(rows["score"] + rng.normal(0.0, 1.0, len(rows)) * task.map(extra).to_numpy(), 0, 1)
    axis = "tokens" if rows["tokens"].notna().all() else "params"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "heterogeneous.csv"
        rows.to_csv(path, index=False)
        s = Settings()
        curves = combine([analyse_dataset(path, replace(s, x_axis=axis), dataset="heterogeneous")], s).curves
    c = curves.merge(truth, on=["family", "task"])
    return c.groupby("truth").apply(lambda g: pd.Series({
        "n": len(g), **{lab: (g["label"] == lab).mean() for lab in ("emergent", "inverse", "flat", "smooth")},
        "U": g["label"].isin(["u_shaped", "inverted_u"]).mean()}), include_groups=False).round(3)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8, sys.argv[2] if len(sys.argv) > 2 else "empirical")
          .to_string())

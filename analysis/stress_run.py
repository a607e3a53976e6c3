"""Running the stress suite: each block generated (`synthetic.stress_block`) and labelled through the
public pipeline (`analyse_dataset`, then `combine`), as the workflow does it. The tables and targets
are in `stress`, which presentation may import without the statistics.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

from .pipeline import analyse_dataset, combine
from .settings import Settings
from .stress import Block, cell_rates
from .synthetic import EFFECT_TRUTHS, NULL_TRUTHS, stress_block


def run_block(block: Block, settings: Settings, nulls: int = 300, effects: int = 100, seed: int = 0,
              tasks_per_family: int = 8, workdir: str | Path | None = None) -> tuple[pd.DataFrame, dict]:
    """Generate one block and label it through analyse_dataset + combine.

    Returns (curves with their truth, info: timing, rows, rejected rows).
    """
    counts = {**{t: nulls for t in NULL_TRUTHS}, **{t: effects for t in EFFECT_TRUTHS}}
    prefix = f"s{block.sizes}-{block.noise.replace(' ', '')}-{block.scatter}-c{block.chance:g}-"
    rows, truth = stress_block(block.sizes, block.n_items, block.scatter, block.chance, counts,
                               seed=block.seed(seed), tasks_per_family=tasks_per_family, prefix=prefix)
    axis = "tokens" if rows["tokens"].notna().all() else "params"
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "stress.csv"
        rows.to_csv(path, index=False)
        part = analyse_dataset(path, replace(settings, x_axis=axis), dataset="stress")
        t1 = time.perf_counter()
        run = combine([part], settings)
    t2 = time.perf_counter()
    curves = run.curves.merge(truth, on=["family", "task"], how="left", validate="one_to_one")
    # rows set aside (warnings about rows analysed as given are not)
    rejected = int((~run.problems["kept"].astype(bool)).sum()) if len(run.problems) else 0
    info = {"rows": len(rows), "curves": len(curves), "rejected": rejected,
            "problems": run.problems, "analyse_s": t1 - t0, "combine_s": t2 - t1,
            "missing_truth": int(curves["truth"].isna().sum()),
            "bootstrap_replicates": float(curves["bootstrap_replicates"].mean())}
    if len(curves) != len(truth):
        raise RuntimeError(f"{block}: {len(truth)} curves generated, {len(curves)} labelled")
    return curves, info


def stress_table(blocks: list[Block], settings: Settings | None = None, nulls: int = 300, effects: int = 100,
                 seed: int = 0, log=print) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every block; (cell table, per-block info: timings, rejected rows)."""
    settings = settings or Settings()
    tables, infos = [], []
    for b in blocks:
        curves, info = run_block(b, settings, nulls=nulls, effects=effects, seed=seed)
        t = cell_rates(curves, settings.alpha)
        t.insert(0, "chance", b.chance)
        t.insert(0, "scatter", b.scatter)
        t.insert(0, "noise", b.noise)
        t.insert(0, "sizes", b.sizes)
        tables.append(t)
        infos.append({"sizes": b.sizes, "noise": b.noise, "scatter": b.scatter, "chance": b.chance,
                      **{k: v for k, v in info.items() if k != "problems"}})
        if log:
            log(f"{b}: {info['curves']} curves, {info['rejected']} rejected rows, analyse "
                f"{info['analyse_s']:.1f}s, combine {info['combine_s']:.1f}s, "
                f"mean replicates {info['bootstrap_replicates']:.0f}")
    return pd.concat(tables, ignore_index=True), pd.DataFrame(infos)

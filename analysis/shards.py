"""A big dataset analysed as several jobs: plan the shards, analyse each, merge them.

Each curve's result depends on the dataset only through its family (its noise:
the family's own scatter with the shipped prior, `noise.noise_terms`) and the
width its batch is padded to. A shard therefore holds whole families and is
padded to the whole dataset's width (`pipeline.batch_width`), and its curves
come out as they would in the whole (every fit is per curve, its bootstrap
drawn from the curve's own seed). The plan only reads, checks and splits: it
fits nothing, so the shards' work runs in parallel from the start (issue 26:
the plan's noise step had been most of a 200,000-curve run's serial part). The
merge puts the curves and fits back in the whole dataset's order, so the
dataset's tables are byte-identical with sharding on and off
(tests/test_shards.py).

A curve's shard is a hash of its family, so a family lands in the same shard
whenever the dataset has the same number of shards. The intermediate tables are
pickles: exact floats and dtypes, so that the merged frame is the one the whole
dataset would have made.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from . import runlog
from .models import MODELS
from .pipeline import DatasetResult, analyse_curves, batch_width, prepared_dataset
from .settings import Settings
from .shard_plan import PLAN, shard_count


def shard_of(families, shards: int) -> np.ndarray:
    """Each curve's shard: a hash of its family (the same on every machine and run; a family is never
    split, as its curves share their noise)."""
    codes, uniques = pd.factorize(pd.Series(families, dtype=str))
    return np.array([zlib.crc32(f.encode()) % shards for f in uniques], dtype=int)[codes]


def plan_shards(csv: str, dataset: str, outdir: str, shards_dir: str, settings: Settings, shard_size: int,
                log: str | None = None, import_problems: list[str] = (), source: str | None = None) -> int:
    """Read and check the dataset, write its points and problems as the unsharded job would, and one
    folder per shard with its curves and points; returns the number of shards."""
    logger = runlog.setup(log)
    curves, points, problems = prepared_dataset(csv, dataset, settings, logger, import_problems, source)
    DatasetResult(pd.DataFrame(), pd.DataFrame(), points, problems).write(outdir, only=("points", "problems"))
    curves = curves.reset_index(drop=True)
    width = batch_width(curves, settings)
    n = shard_count(len(curves), shard_size)
    where = shard_of(curves["family"], n)
    out = Path(shards_dir)
    out.mkdir(parents=True, exist_ok=True)
    shard = pd.Series(where, index=curves["curve_id"].to_numpy())
    # each table split once by its rows' shard (not filtered once per shard: 100 shards of a million rows)
    tables = {"curves": curves, "points": points}
    parts = {name: dict(tuple(t.groupby(shard.reindex(t["curve_id"].to_numpy()).to_numpy(), sort=False)))
             for name, t in tables.items()}
    for k in range(n):
        folder = out / str(k)
        folder.mkdir(exist_ok=True)
        for name, t in tables.items():
            parts[name].get(k, t.iloc[:0]).to_pickle(folder / f"{name}.pkl")
    (out / PLAN).write_text(json.dumps({"shards": n, "width": width, "curves": len(curves),
                                        "order": curves["curve_id"].tolist()}))
    logger.info(f"{csv}: {len(curves)} curves in {n} shard(s) of at most {shard_size}")
    return n


def run_shard(shard_dir: str, plan: str, outdir: str, settings: Settings, log: str | None = None) -> None:
    """Analyse one shard's curves (whole families) padded as the whole dataset; write its curves and fits."""
    logger = runlog.setup(log)
    folder = Path(shard_dir)
    curves, points = (pd.read_pickle(folder / f"{name}.pkl") for name in ("curves", "points"))
    width = json.loads(Path(plan).read_text())["width"]
    stats = analyse_curves(curves, points, settings, width=width)
    for line in stats.get("tests", []):
        logger.info(line)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    stats["curves"].to_pickle(out / "curves.pkl")
    stats["fits"].to_pickle(out / "fits.pkl")
    logger.info(f"{shard_dir}: {len(curves)} curves")


def merge_shards(plan: str, shard_results: list[str], outdir: str, log: str | None = None) -> DatasetResult:
    """The shards' curves and fits in the whole dataset's order, written as the unsharded job writes them."""
    logger = runlog.setup(log)
    order = json.loads(Path(plan).read_text())["order"]
    position = pd.Series(np.arange(len(order)), index=order)
    curves = [pd.read_pickle(Path(d) / "curves.pkl") for d in shard_results]
    fits = [f for f in (pd.read_pickle(Path(d) / "fits.pkl") for d in shard_results) if len(f)]
    # the columns as a shard with fitted curves has them (a shard of curves too short to fit has fewer, an
    # empty one, which a family hash can leave, another order)
    columns = max((list(c.columns) for c in curves if len(c)), key=len, default=list(curves[0].columns))
    merged = pd.concat(curves, ignore_index=True)[columns]
    merged = merged.iloc[np.argsort(position.reindex(merged["curve_id"]).to_numpy(), kind="stable")]
    fitted = pd.DataFrame()
    if fits:
        fitted = pd.concat(fits, ignore_index=True)
        model = {m: i for i, m in enumerate(MODELS)}
        key = (fitted["model"].map(model).to_numpy() * len(order)
               + position.reindex(fitted["curve_id"]).to_numpy())
        fitted = fitted.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)
    result = DatasetResult(merged.reset_index(drop=True), fitted, pd.DataFrame(), pd.DataFrame())
    result.write(outdir, only=("curves", "fits"))
    logger.info(f"{len(merged)} curves from {len(shard_results)} shard(s)")
    return result

"""A dataset analysed in shards gives the same tables, byte for byte, as analysed whole."""
from __future__ import annotations

import filecmp

import numpy as np
import pandas as pd
import pytest

from analysis.pipeline import run_dataset
from analysis.settings import Settings
from analysis.shard_plan import shard_count, shard_ids
from analysis.shards import merge_shards, plan_shards, run_shard, shard_of
from analysis.synthetic import SHAPES, simulate
from tests.conftest import REPO

TABLES = ("curves", "fits", "points", "problems")


def sharded(csv, dataset, settings, shard_size, root):
    shards, out = root / "shards", root / "out"
    n = plan_shards(str(csv), dataset, str(out), str(shards), settings, shard_size)
    results = []
    for k in shard_ids(shards):
        run_shard(str(shards / k), str(shards / "plan.json"), str(root / "results" / k), settings)
        results.append(str(root / "results" / k))
    merge_shards(str(shards / "plan.json"), results, str(out))
    return n, out


def mixed(path):
    """Every shape, size grids of 3 to 9 with gaps, families of several tasks, a missing stderr here and there."""
    frames = []
    for k, shape in enumerate(SHAPES):
        d = simulate(shape, 12, n_sizes=3 + k % 7, seed=k)
        d["family"] = "fam-" + (d["family"].str.extract(r"(\d+)$")[0].astype(int) % 12).astype(str)
        d["task"] = shape
        frames.append(d)
    data = pd.concat(frames, ignore_index=True)
    data = data.drop(index=data.index[::17])  # gaps in the grids
    data.to_csv(path, index=False)


@pytest.mark.parametrize("source", ["synthetic", "obsscaling_base"])
def test_sharded_dataset_is_byte_identical_to_the_whole(tmp_path, source):
    """Shards of whole families, each estimating its families' noise itself, padded as the whole."""
    settings = Settings(bootstrap=40)
    if source == "synthetic":
        csv = tmp_path / "mixed.csv"
        mixed(csv)
    else:
        csv = REPO / "data" / f"{source}.csv"
    whole = tmp_path / "whole"
    run_dataset(str(csv), source, str(whole), settings)
    n_curves = len(pd.read_csv(whole / "curves.csv"))
    n, out = sharded(csv, source, settings, shard_size=max(1, n_curves // 4), root=tmp_path / "sharded")
    assert n >= 4
    used = [k for k in range(n) if len(pd.read_pickle(tmp_path / "sharded" / "shards" / str(k) / "curves.pkl"))]
    assert len(used) >= 3, used      # the families are spread: the test compares real splits
    for table in TABLES:
        assert filecmp.cmp(whole / f"{table}.csv", out / f"{table}.csv", shallow=False), table


def test_a_curve_keeps_its_shard():
    ids = [f"d|fam|bench|task-{i}|acc|0" for i in range(1000)]
    first = shard_of(ids, 7)
    assert (shard_of(list(reversed(ids)), 7) == first[::-1]).all()   # not the order: the id
    assert set(first) == set(range(7)) and np.bincount(first).min() > 100   # and spread evenly
    assert shard_count(10_000, 2_000) == 5 and shard_count(1, 2_000) == 1 and shard_count(5_000, 0) == 1


def test_the_workflow_counts_a_files_curves_from_its_key_columns(tmp_path):
    from analysis.shard_plan import estimated_curves
    mixed(tmp_path / "m.csv")
    whole = tmp_path / "whole"
    run_dataset(str(tmp_path / "m.csv"), "m", str(whole), Settings(bootstrap=20))
    assert estimated_curves(tmp_path / "m.csv") == len(pd.read_csv(whole / "curves.csv"))
    data = pd.read_csv(tmp_path / "m.csv")
    data.columns = [c.title() for c in data.columns]   # the loader reads title-case headers too
    data.to_csv(tmp_path / "title.csv", index=False)
    assert estimated_curves(tmp_path / "title.csv") == estimated_curves(tmp_path / "m.csv")
    # split_by makes more curves; a file pandas cannot read counts as its rows
    assert estimated_curves(tmp_path / "m.csv", ("params",)) > estimated_curves(tmp_path / "m.csv")
    (tmp_path / "bad.csv").write_bytes(b"family,task\n" + b"F\xff,t\n" * 4)   # not UTF-8: its 4 rows
    assert estimated_curves(tmp_path / "bad.csv") == 4


def test_one_family_in_several_shards_leaves_empty_ones_and_the_same_bytes(tmp_path):
    """A family is never split: the .test data (one family, 9 curves) in 3 shards fills one and leaves two
    empty, and the merged tables are still the whole's (an empty shard's column order is not taken)."""
    csv = REPO / ".test" / "data" / "gpt3_brown2020_subset.csv"
    settings = Settings(bootstrap=40)
    run_dataset(str(csv), "g", str(tmp_path / "whole"), settings)
    n, out = sharded(csv, "g", settings, shard_size=3, root=tmp_path / "sharded")
    sizes = [len(pd.read_pickle(tmp_path / "sharded" / "shards" / str(k) / "curves.pkl")) for k in range(n)]
    assert n == 3 and sorted(sizes) == [0, 0, 9], sizes
    for table in TABLES:
        assert filecmp.cmp(tmp_path / "whole" / f"{table}.csv", out / f"{table}.csv", shallow=False), table

"""How a big dataset is split into shards, decided while the workflow parses.

Counting only: the plan's file name, how many shards a count of curves makes, the curves a contract
CSV holds (from its key columns, without validating it) and the shards a plan made. Kept apart from
`shards`, which runs the statistics, so that parsing the workflow imports none of them (they were
0.4 s of every rerun, a no-op's included).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

PLAN = "plan.json"

#: the columns that make a curve (loading.build_curves), before a dataset's split_by columns
CURVE_KEY = ("family", "benchmark", "task", "metric", "shots")


def shard_count(n_curves: int, shard_size: int) -> int:
    """How many shards a dataset of n_curves is split into (at least 1; shard_size 0: never split)."""
    return max(1, math.ceil(n_curves / shard_size)) if shard_size > 0 else 1


def estimated_curves(path: str | Path, split_by: tuple[str, ...] = ()) -> int:
    """The curves of a contract CSV, counted from its key columns without validating it.

    The workflow decides while it parses whether a dataset is split into shards; reading a
    million rows' key columns takes about a second, and only files with more data rows than
    shard_size are read. Validation can only set rows aside, so this is an upper bound. A file
    pandas cannot read counts as its rows (the plan's validation then says what is wrong).
    """
    import pandas as pd  # only for a file bigger than a shard

    try:
        header = pd.read_csv(path, nrows=0).columns
        wanted = {c.lower() for c in (*CURVE_KEY, *split_by)}
        use = [c for c in header if str(c).strip().lower() in wanted]
        keys = pd.read_csv(path, usecols=use, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError, OSError):
        return data_rows(path)
    return len(keys.drop_duplicates())


def data_rows(path: str | Path) -> int:
    """A CSV's lines less its header: at least its number of curves, counted cheaply."""
    with open(path, "rb") as f:
        return sum(1 for _ in f) - 1


def shard_ids(shards_dir: str | Path) -> list[str]:
    """The shards a plan made (for the workflow's merge step)."""
    return [str(k) for k in range(json.loads((Path(shards_dir) / PLAN).read_text())["shards"])]

"""How often is a label wrong? The detectors measured on curves with known truth.

For each condition (number of sizes over 3 decades; binomial noise with 100,
1,000 or 10,000 items, or Gaussian noise of unknown size), curves of every
shape are generated and labelled in one run, so that the FDR step sees a mix,
as it does on real data. The table gives, per condition, the false positive
rate of each flag on the shapes that should not get it, the power for every
shape, and how often the emergence bracket holds the true onset.
"""
from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pandas as pd

from . import schema
from .pipeline import analyse_dataset, combine
from .settings import Settings
from .synthetic import ONSET_TOLERANCE, SHAPES, TRUE_LABEL, simulate, true_curve

SIZES = (4, 5, 8, 12)
NOISE = (100, 1000, 10000, None)
DECADES = 3.0
SMALLEST = 1e8

#: (flag, shapes that must not get it)
FALSE_POSITIVES = {
    "emergent": ("flat", "smooth", "saturating"),
    "inverse": ("flat", "smooth"),
    "u_shaped": ("smooth", "saturating", "inverted_u"),
    "inverted_u": ("smooth", "saturating", "u_shaped"),
}


def true_onset(decades: float = DECADES, smallest: float = SMALLEST, chance: float = 0.25,
               tolerance: float = ONSET_TOLERANCE) -> float:
    """Where the synthetic emergent curve leaves the floor: its first scale above chance + tolerance."""
    x = np.log10(smallest) + np.linspace(0.0, decades, 30001)
    above = true_curve("emergent", x, chance) - chance > tolerance
    return float(10 ** x[np.argmax(above)])


def label_condition(n_sizes: int, n_items: int | None, curves_per_shape: int, settings: Settings,
                    seed: int = 0, workdir: str | Path | None = None) -> pd.DataFrame:
    """Label one condition's synthetic curves; the `task` column holds the true shape."""
    df = pd.concat([simulate(shape, curves_per_shape, n_sizes=n_sizes, decades=DECADES,
                             n_items=n_items, seed=seed + 1000 * i, smallest=SMALLEST)
                    for i, shape in enumerate(SHAPES)])
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "synthetic.csv"
        df.to_csv(path, index=False)
        return combine([analyse_dataset(path, settings)], settings).curves


def rates(curves: pd.DataFrame, n_sizes: int) -> dict:
    """False positive rates, power per shape and the emergence bracket's coverage of one labelled condition."""
    row = {}
    for flag, shapes in FALSE_POSITIVES.items():
        sel = curves["task"].isin(shapes)
        row[f"fpr_{flag}"] = float((curves.loc[sel, "label"] == flag).mean())
    for shape in SHAPES:
        sel = curves["task"] == shape
        row[f"power_{shape}"] = float((curves.loc[sel, "label"] == TRUE_LABEL[shape]).mean())
    em = curves[(curves["task"] == "emergent") & (curves["label"] == "emergent")]
    onset = true_onset()
    row["bracket_coverage"] = float(((em["emergence_scale_low"] <= onset)
                                     & (onset <= em["emergence_scale_high"])).mean()) if len(em) else np.nan
    row["brackets"] = len(em)
    return row


def calibrate(settings: Settings, curves_per_shape: int = 30, sizes=SIZES, noise=NOISE,
              seed: int = 0) -> pd.DataFrame:
    """The calibration table: one row per (sizes, noise) condition."""
    rows = []
    for n_sizes in sizes:
        for n_items in noise:
            curves = label_condition(n_sizes, n_items, curves_per_shape, settings,
                                     seed=seed + 17 * n_sizes + (n_items or 7))
            rows.append({"sizes": n_sizes, "noise": f"binomial, {n_items} items" if n_items else "unknown (sd 0.02)",
                         "curves_per_shape": curves_per_shape, **rates(curves, n_sizes)})
    return pd.DataFrame(rows)


#: calibration tables shipped with the code, one per digest of the code and settings that made them
#: (`benchmarks/calibration_cache.py` writes them): the table depends on neither the data nor the run
CACHE_DIR = Path(__file__).resolve().with_name("calibration_cache")
#: the folder holding the package: the code files are named relative to it in the digest
ROOT = Path(__file__).resolve().parents[1]


def digest(settings: Settings, code: list[str | Path], root: str | Path = ROOT) -> str:
    """What the calibration table depends on, as a short hash: every setting (its bootstrap sizes
    among them) and the bytes of the code and data files the calibration step reads (`code`, the
    workflow's `code_closure` of the step, named relative to `root`)."""
    h = hashlib.sha256(json.dumps(asdict(settings), sort_keys=True, default=list).encode())
    root = Path(root).resolve()
    for f in sorted(Path(p).resolve() for p in code):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def table_csv(settings: Settings) -> str:
    """The calibration table at the run's settings (cheaper bootstrap), as the CSV the step writes."""
    n, b = settings.calibration_curves, settings.calibration_bootstrap
    s = replace(settings, bootstrap=b)
    table = calibrate(s, n, seed=s.seed) if n > 0 else pd.DataFrame()
    return schema.spreadsheet_safe(table).to_csv(index=False)


def run_calibration(settings: Settings, output: str, log: str | None = None, code: list[str] = (),
                    cache_dir: str | Path = CACHE_DIR) -> None:
    """Workflow step: the shipped table where the code and settings are those it was made with
    (byte-identical to a recomputation: `tests/test_calibration_cache.py`), else the table computed."""
    from . import runlog
    logger = runlog.setup(log)
    cached = Path(cache_dir) / f"{digest(settings, code)}.csv" if code else None
    if cached is not None and cached.is_file():
        Path(output).write_bytes(cached.read_bytes())
        logger.info(f"calibration: the shipped table {cached.name} (its code and settings are this run's)")
        return
    text = table_csv(settings)
    Path(output).write_text(text, encoding="utf-8", newline="")
    logger.info(f"calibration: computed ({settings.calibration_curves} curves per shape); no shipped table for "
                "this code and these settings")

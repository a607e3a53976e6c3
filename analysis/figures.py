"""The run's figures as PNG files: the overview and one per flagged curve.

A step of its own, before the report: it needs the run's tables only, not
the calibration, so it can be drawn while the calibration runs, and a change
to the calibration or to the report's text does not redraw it. The report
finds the files by the names given here; matplotlib is imported only to draw.
"""
from __future__ import annotations

import hashlib
import io
import re
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from . import runlog
from .labels import FLAGGED
from .schema import read as read_results_table

LABEL_COUNTS = "labels.png"


def capability_map_name(x_axis: str) -> str:
    return f"capability_map_{x_axis}.png"


def flagged_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """The curves the report shows one by one (a figure each), in its order:
    by label (FLAGGED), then by q-value."""
    order = {lab: i for i, lab in enumerate(FLAGGED)}
    sel = curves[curves["label"].isin(FLAGGED)]
    return sel.assign(_o=sel["label"].map(order)).sort_values(["_o", "q_value"]).drop(columns="_o")


def figure_name(curve_id: str) -> str:
    """A curve's figure file: readable and unique per curve."""
    slug = re.sub(r"[^A-Za-z0-9]+", "-", curve_id).strip("-")[:60]
    return f"{slug}-{hashlib.sha1(curve_id.encode()).hexdigest()[:8]}.png"


def rows_by_curve(table: pd.DataFrame, curve_ids: pd.Series) -> dict[str, pd.DataFrame]:
    """The rows of a results table per curve, for these curves only (grouping
    every curve's rows costs seconds on the corpus)."""
    if len(table) == 0:
        return {}
    return dict(tuple(table[table["curve_id"].isin(curve_ids)].groupby("curve_id")))


def _png(fig) -> bytes:
    from . import plots
    buf = io.BytesIO()
    plots.save(fig, buf)
    return buf.getvalue()


def _curve_png(args) -> bytes:
    """One flagged curve's figure (runs in a worker process)."""
    from . import plots
    return _png(plots.curve_figure(*args))


def draw_figures(curves: pd.DataFrame, fits: pd.DataFrame, points: pd.DataFrame,
                 figures_dir: str | Path, workers: int = 1) -> int:
    """Write every figure of the run to figures_dir (emptied first); returns how many.

    The per-curve figures are drawn by `workers` processes.
    """
    from . import plots
    out = Path(figures_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if len(curves) == 0:
        return 0
    written = 0
    (out / LABEL_COUNTS).write_bytes(_png(plots.label_counts_figure(curves)))
    written += 1
    for axis in sorted(curves["x_axis"].dropna().unique()):
        fig = plots.capability_map_figure(curves, axis)
        if fig is not None:
            (out / capability_map_name(axis)).write_bytes(_png(fig))
            written += 1
    sel = flagged_curves(curves)
    fits_by, pts_by = (rows_by_curve(t, sel["curve_id"]) for t in (fits, points))
    jobs = [(c, pts_by.get(c["curve_id"], pd.DataFrame()), fits_by.get(c["curve_id"], pd.DataFrame()))
            for _, c in sel.iterrows()]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            pngs = list(pool.map(_curve_png, jobs, chunksize=4))
    else:
        pngs = [_curve_png(j) for j in jobs]
    for (c, _, _), data in zip(jobs, pngs):
        (out / figure_name(c["curve_id"])).write_bytes(data)
    return written + len(pngs)


def run_figures(inputs: dict, figures: str, log: str | None = None, workers: int = 1) -> None:
    """Workflow step: the figures from the run's tables (curves, fits, points)."""
    logger = runlog.setup(log)
    curves, fits, points = (read_results_table(inputs[k], k) for k in ("curves", "fits", "points"))
    n = draw_figures(curves, fits, points, figures, workers=workers)
    logger.info(f"wrote {n} figures to {figures}")

"""The run's figures as PNG files: the overview and one per flagged curve.

Drawn by the report's job, just before the report (one job, not two: a rerun
after new results then starts Python and reads the tables once). A figure is
redrawn only when what it shows changed (the cache in results/figure_cache/),
so a change to the calibration or to the report's text copies the figures
instead of drawing them. The report finds the files by the names given here;
matplotlib is imported only to draw.
"""
from __future__ import annotations

import gc
import hashlib
import io
import re
import shutil
from pathlib import Path

import pandas as pd

from .findings import findings_order
from .vocabulary import FLAGGED

LABEL_COUNTS = "labels.png"
#: what `plots.curve_figure` draws a curve from (its cache key: a figure is redrawn only when one of these
#: changes); here, so that a rerun that draws nothing never imports matplotlib
FIGURE_FIELDS = ("family", "benchmark", "task", "metric", "shots", "x_axis", "label", "best_model", "unit",
                 "bounded", "higher_is_better", "log_scale", "chance", "noise", "noise_sd", "dispersion",
                 "emergence_scale", "emergence_scale_low", "emergence_scale_high")


def capability_map_name(x_axis: str) -> str:
    return f"capability_map_{x_axis}.png"


def flagged_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """The flagged curves, by label (FLAGGED), then by q-value."""
    order = {lab: i for i, lab in enumerate(FLAGGED)}
    sel = curves[curves["label"].isin(FLAGGED)]
    return sel.assign(_o=sel["label"].map(order)).sort_values(["_o", "q_value"]).drop(columns="_o")


def finding_cards(curves: pd.DataFrame) -> list[pd.DataFrame]:
    """The report's cards, in the order of Key findings: per finding (near-duplicate curves: one task of one
    family under several metrics, data variants or checkpoint splits) and label, its flagged curves, the
    one the card draws first. Only that curve gets a figure: its near-duplicates are rows of the card and
    of the table, and the task's panel draws them all (a figure each was 111 of the corpus's 190, half of
    a cold run's report)."""
    sel = flagged_curves(curves)
    sel = sel.loc[findings_order(sel).sort_values(kind="stable").index]
    key = sel["finding"].fillna(sel["curve_id"]) if "finding" in sel else sel["curve_id"]
    return [g for _, g in sel.assign(_g=key + "\x1f" + sel["label"].astype(str)).groupby("_g", sort=False)]


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


def _overview_png(what: tuple) -> tuple[bytes]:
    """An overview figure's PNG: ("labels", curves) or ("map", curves, axis) (runs in a worker)."""
    from . import plots
    kind, curves, *axis = what
    fig = plots.label_counts_figure(curves) if kind == "labels" else plots.capability_map_figure(curves, *axis)
    buf = io.BytesIO()
    plots.save(fig, buf)
    return (buf.getvalue(),)


def figure_pool(workers: int):
    """The processes that draw, forked at once, or None for one. Fork it before reading the tables: a
    worker then holds its figures only, not a copy of the caller's tables and imports (the report's
    job, counted with its workers, went from 0.8 GB to its budget of 0.7 GB). Each worker imports the
    drawing modules as it starts (2 s: matplotlib, seaborn and the scipy.stats seaborn imports), while
    the caller reads the tables and works out which figures to draw; end it with `pool.terminate()`
    once the figures are back, so that a rerun that draws nothing does not wait for those imports."""
    import multiprocessing
    return multiprocessing.get_context("fork").Pool(workers, initializer=_worker_start) if workers > 1 else None


#: what a flagged curve's figure is written as beside its PNG: file suffixes, in `_curve_figure`'s order
TAKE_AWAY = (".svg", "-300dpi.png")


def _curve_figure(args) -> tuple[bytes, bytes, bytes]:
    """One flagged curve's figure: the PNG the report embeds, then its `TAKE_AWAY` files (runs in a worker)."""
    from . import plots
    png, svg, hi = io.BytesIO(), io.BytesIO(), io.BytesIO()
    plots.save(plots.curve_figure(*args), png, svg=svg, print_png=hi)
    if _WORKER["frozen"]:
        gc.collect()
    return png.getvalue(), svg.getvalue(), hi.getvalue()


#: a `figure_pool` worker's state: whether what it holds before its first figure is frozen
_WORKER = {"frozen": False}


def _worker_start() -> None:
    """A worker imports the drawing modules, then freezes what it holds out of the collector's reach, so
    that a collection after each figure costs 4 ms, not 70 (without it a worker's memory grew from 0.2 to
    0.3 GB over 50 figures: matplotlib's cycles wait for a collection that allocation counts rarely
    trigger)."""
    from . import plots  # noqa: F401
    gc.freeze()
    _WORKER["frozen"] = True


def _key(code: bytes, *parts: str | bytes) -> str:
    """A figure's cache key: the drawing code, and what the figure is drawn from."""
    digest = hashlib.sha1(code)
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
    return digest.hexdigest()


def _row_digests(table: pd.DataFrame, curve_ids: pd.Series) -> dict[str, bytes]:
    """Per curve, a digest of its rows (points or fits): one hash of the table's rows, each curve's slice of
    it (a row's hash is its own, so this is the hash of the curve's own rows; one call per curve took 2.7 s
    of a rerun that draws nothing)."""
    if len(table) == 0:
        return {}
    rows = table[table["curve_id"].isin(curve_ids)]
    hashed = pd.util.hash_pandas_object(rows, index=False).to_numpy()
    return {cid: hashed[i].tobytes() for cid, i in rows.groupby("curve_id").indices.items()}


def draw_figures(curves: pd.DataFrame, fits: pd.DataFrame, points: pd.DataFrame,
                 figures_dir: str | Path, cache_dir: str | Path | None = None, pool=None) -> tuple[int, int]:
    """Write every figure of the run to figures_dir (emptied first); returns (figures, drawn).

    A figure whose curve, points, fits and drawing code are unchanged is copied from `cache_dir`
    (a rerun after adding a dataset redraws only what changed); the cache keeps only this run's
    figures. They are drawn by `pool` (`figure_pool`), or here.
    """
    out = Path(figures_dir)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if len(curves) == 0:
        return 0, 0
    cache = Path(cache_dir) if cache_dir else None
    if cache:
        cache.mkdir(parents=True, exist_ok=True)
    wanted: dict[str, tuple[str, object]] = {}   # file name -> (cache key, how to draw it)
    code = Path(__file__).with_name("plots.py").read_bytes()
    counts = curves["label"].value_counts().sort_index().to_json()
    wanted[LABEL_COUNTS] = (_key(code, "labels", counts), ("labels", curves[["label"]]))
    for axis in sorted(curves["x_axis"].dropna().unique()):
        em = curves[(curves["label"] == "emergent") & (curves["x_axis"] == axis)]
        if len(em):
            drawn_from = em[["family", "benchmark", "task", "metric", "emergence_scale", "emergence_scale_low",
                             "emergence_scale_high"]]
            wanted[capability_map_name(axis)] = (_key(code, "map", axis, drawn_from.to_csv(index=False)),
                                                 ("map", em[[*drawn_from.columns, "label", "x_axis"]], axis))
    cards = finding_cards(curves)
    sel = pd.concat([g.head(1) for g in cards]) if cards else curves.iloc[:0]
    fits_hash, pts_hash = (_row_digests(t, sel["curve_id"]) for t in (fits, points))
    shown = sel.reindex(columns=list(FIGURE_FIELDS)).to_json(orient="records", lines=True).splitlines()
    curve_of = {}
    for (_, c), fields in zip(sel.iterrows(), shown):
        cid = c["curve_id"]
        name = figure_name(cid)
        wanted[name] = (_key(code, "curve", fields, pts_hash.get(cid, b""), b"|", fits_hash.get(cid, b"")), None)
        curve_of[name] = c
    def files(name: str, key: str) -> list[tuple[str, str]]:
        """(file in the figures folder, file in the cache) of a figure: its PNG, and a flagged curve's
        `TAKE_AWAY` files (the overviews have none)."""
        stem = name[:-4]
        return [(name, f"{key}.png")] + ([(stem + s, key + s) for s in TAKE_AWAY] if name in curve_of else [])

    missing = [n for n, (k, _) in wanted.items()
               if not (cache and all((cache / c).exists() for _, c in files(n, k)))]
    overviews = [n for n in missing if n not in curve_of]
    curve_jobs = [n for n in missing if n in curve_of]
    # the rows of the curves to draw only (grouping every flagged curve's rows costs a second)
    fits_by, pts_by = (rows_by_curve(t, pd.Series([curve_of[n]["curve_id"] for n in curve_jobs], dtype=object))
                       for t in (fits, points))
    jobs = {n: (curve_of[n], pts_by.get(curve_of[n]["curve_id"], pd.DataFrame()),
                fits_by.get(curve_of[n]["curve_id"], pd.DataFrame())) for n in curve_jobs}
    def each(draw, items, chunksize=1):
        return pool.imap(draw, items, chunksize) if pool is not None else map(draw, items)

    drawn = dict(zip(overviews, each(_overview_png, [wanted[n][1] for n in overviews])))
    drawn.update(zip(curve_jobs, each(_curve_figure, [jobs[n] for n in curve_jobs], chunksize=4)))
    keep = set()
    for name, (key, _) in wanted.items():
        where = files(name, key)
        data = drawn[name] if name in drawn else tuple((cache / c).read_bytes() for _, c in where)
        for (file, cached), content in zip(where, data):
            (out / file).write_bytes(content)
            if cache and name in drawn:
                (cache / cached).write_bytes(content)
            keep.add(cached)
    if cache:  # keep only this run's figures
        for old in cache.iterdir():
            if old.suffix in (".png", ".svg", ".pdf") and old.name not in keep:
                old.unlink()
    return len(wanted), len(drawn)

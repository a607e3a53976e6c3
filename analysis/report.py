"""The self-contained HTML report: summary, capability map, every curve, evidence."""
from __future__ import annotations

import base64
import io
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from . import plots, runlog
from .labels import FLAGGED, LABELS, format_scale
from .models import DESCRIPTION, MODELS


def _png(fig) -> bytes:
    buf = io.BytesIO()
    plots.save(fig, buf)
    return buf.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _fmt(v, digits=3):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.{digits}g}"
    return str(v)


def read_tables(inputs: dict) -> dict[str, pd.DataFrame]:
    def read(path):
        try:
            return pd.read_csv(path, dtype={"shots": str}, keep_default_na=True)
        except pd.errors.EmptyDataError:
            return pd.DataFrame()
    return {k: read(inputs[k]) for k in ("curves", "fits", "points", "problems", "mirage", "cot_gain",
                                         "compositional", "calibration") if k in inputs}


def _curve_png(args) -> bytes:
    """One flagged curve's figure as PNG (runs in a worker process)."""
    return _png(plots.curve_figure(*args))


def build_report(tables: dict[str, pd.DataFrame], figures_dir: str | Path,
                 settings: dict, workers: int = 1) -> str:
    """Render the report; write the figures (PNG) to figures_dir as well.

    The per-curve figures are drawn by `workers` processes.
    """
    figures_dir = Path(figures_dir)
    if figures_dir.exists():
        shutil.rmtree(figures_dir)
    figures_dir.mkdir(parents=True)
    curves, fits, points, problems = (tables[k] for k in ("curves", "fits", "points", "problems"))
    if len(curves):
        curves["shots"] = curves["shots"].fillna("")
    counts = (curves["label"].value_counts().reindex(LABELS, fill_value=0)
              if len(curves) else pd.Series(0, index=list(LABELS)))

    overview = {}
    if len(curves):
        data = _png(plots.label_counts_figure(curves))
        (figures_dir / "labels.png").write_bytes(data)
        overview["labels"] = _data_uri(data)
        overview["maps"] = {}
        for axis in sorted(curves["x_axis"].dropna().unique()):
            fig = plots.capability_map_figure(curves, axis)
            if fig is not None:
                data = _png(fig)
                (figures_dir / f"capability_map_{axis}.png").write_bytes(data)
                overview["maps"][axis] = _data_uri(data)

    flagged = []
    if len(curves):
        order = {lab: i for i, lab in enumerate(FLAGGED)}
        sel = curves[curves["label"].isin(FLAGGED)].copy()
        # only the flagged curves' rows: grouping every curve's costs seconds
        fits_by, pts_by = ({cid: g for cid, g in t[t["curve_id"].isin(sel["curve_id"])].groupby("curve_id")}
                           if len(t) else {} for t in (fits, points))
        sel["_o"] = sel["label"].map(order)
        sel = [c for _, c in sel.sort_values(["_o", "q_value"]).iterrows()]
        jobs = [(c, pts_by.get(c["curve_id"], pd.DataFrame()), fits_by.get(c["curve_id"], pd.DataFrame()))
                for c in sel]
        if workers > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(workers) as pool:
                pngs = list(pool.map(_curve_png, jobs, chunksize=4))
        else:
            pngs = [_curve_png(j) for j in jobs]
        for c, (_, _, f), data in zip(sel, jobs, pngs):
            cid = c["curve_id"]
            (figures_dir / plots.figure_name(cid)).write_bytes(data)
            model_rows = [{
                "model": r["model"], "form": DESCRIPTION[r["model"]],
                "params": ", ".join(f"{p}={_fmt(r[p])}" + (f" ± {_fmt(r['se_' + p], 2)}" if np.isfinite(r.get('se_' + p, np.nan)) else "")
                                    for p in plots.PARAMS[r["model"]] if np.isfinite(r.get(p, np.nan))),
                "aicc": _fmt(r["aicc"], 4), "delta": _fmt(r["delta_aicc"], 3),
                "flags": ("" if r["converged"] else "not converged ") + ("on a bound" if r["at_bound"] else ""),
            } for _, r in f.iterrows()]
            flagged.append({"c": c, "img": _data_uri(data), "models": model_rows, "anchor": plots.figure_name(cid)[:-4]})

    emergent = curves[curves["label"] == "emergent"].sort_values("emergence_scale") if len(curves) else curves
    cap_map = [{"x_axis": r["x_axis"], "family": r["family"], "task": f"{r['benchmark']} · {r['task']}", "metric": r["metric"],
                "shots": r["shots"], "x0": format_scale(r["emergence_scale"]),
                "low": format_scale(r["emergence_scale_low"]), "high": format_scale(r["emergence_scale_high"]),
                "q": _fmt(r["q_value"], 2)} for _, r in emergent.iterrows()]

    rows = [{
        "dataset": r["dataset"], "family": r["family"], "benchmark": r["benchmark"], "task": r["task"],
        "metric": r["metric"], "shots": r["shots"], "n_scales": int(r["n_scales"]), "label": r["label"],
        "best": r["best_model"] if isinstance(r["best_model"], str) else "",
        "p": _fmt(r["p_value"], 2), "q": _fmt(r["q_value"], 2),
        "x0": format_scale(r["emergence_scale"]), "noise": r["noise"], "reason": r["reason"],
        "L": _fmt(r.get("linearity"), 2), "B": _fmt(r.get("breakthroughness"), 2),
        "anchor": plots.figure_name(r["curve_id"])[:-4] if r["label"] in FLAGGED else "",
    } for _, r in curves.iterrows()]

    debates = _debates(tables, curves)

    env = jinja2.Environment(loader=jinja2.PackageLoader("analysis", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    tpl = env.get_template("report.html.j2")
    return tpl.render(
        counts=counts.to_dict(), n_curves=len(curves), overview=overview, cap_map=cap_map,
        rows=rows, flagged=flagged, problems=problems.to_dict("records") if len(problems) else [],
        datasets=sorted(curves["dataset"].unique()) if len(curves) else [],
        settings=settings, models=[(m, DESCRIPTION[m]) for m in MODELS], fmt=_fmt,
        colours=plots.LABEL_COLOURS, debates=debates,
        n_points=len(points),
    )


def _records(df: pd.DataFrame, columns: list[str], scale_cols=(), number_cols=()) -> list[dict]:
    out = []
    for _, r in df.iterrows():
        row = {}
        for c in columns:
            v = r.get(c)
            row[c] = format_scale(v) if c in scale_cols else _fmt(v) if c in number_cols else (
                "" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
        out.append(row)
    return out


def _debates(tables: dict, curves: pd.DataFrame) -> dict:
    """The tables of the "what the field argues about" section."""
    from .debates import backtest_summary
    out = {}
    if len(curves) and "backtest_error" in curves:
        bt = backtest_summary(curves)
        out["backtest"] = _records(bt, ["label", "curves", "median_abs_error", "coverage"],
                                   number_cols=("median_abs_error", "coverage"))
        by = bt.set_index("label")
        out["backtest_line"] = "; ".join(
            f"{lab} curves were predicted to within {by.loc[lab, 'median_abs_error']:.3f} "
            f"(median absolute error, {by.loc[lab, 'curves']} curves; the 95% interval covered "
            f"{by.loc[lab, 'coverage']:.0%})" for lab in ("smooth", "emergent", "inverse") if lab in by.index)
    mirage = tables.get("mirage", pd.DataFrame())
    if len(mirage):
        mirage = mirage[mirage["differ"].astype(bool)].sort_values(["mirage", "dataset"], ascending=[False, True])
        out["mirage"] = _records(mirage, ["dataset", "family", "task", "shots", "labels", "mirage"])
        out["mirage_count"] = int(mirage["mirage"].astype(bool).sum())
    cot = tables.get("cot_gain", pd.DataFrame())
    if len(cot):
        cot = cot.sort_values(["dataset", "family", "task", "metric"])
        out["cot"] = _records(cot, ["family", "task", "metric", "models", "gain_smallest", "gain_largest",
                                    "slope_per_decade", "turns_positive", "positive_from"],
                              scale_cols=("turns_positive", "positive_from"),
                              number_cols=("gain_smallest", "gain_largest", "slope_per_decade"))
    cal = tables.get("calibration", pd.DataFrame())
    if len(cal):
        cols = [c for c in cal.columns if c.startswith(("fpr_", "power_")) or c == "x0_coverage"]
        out["calibration_columns"] = cols
        out["calibration"] = [{"sizes": r["sizes"], "noise": r["noise"],
                               **{c: ("" if r[c] != r[c] else f"{r[c]:.0%}") for c in cols}}
                              for _, r in cal.iterrows()]
        out["calibration_n"] = int(cal["curves_per_shape"].iloc[0])
    comp = tables.get("compositional", pd.DataFrame())
    if len(comp):
        out["compositional"] = _records(comp, ["group", "family", "model", "shots", "per_step_accuracy",
                                               "rms_error", "observed", "predicted"],
                                        number_cols=("per_step_accuracy", "rms_error"))
    return out


def run_report(inputs: dict, report: str, figures: str, settings: dict, log: str | None = None,
               workers: int = 1) -> None:
    logger = runlog.setup(log)
    html = build_report(read_tables(inputs), figures, settings, workers=workers)
    Path(report).write_text(html, encoding="utf-8")
    logger.info(f"wrote {report} ({len(html) / 1e6:.1f} MB)")

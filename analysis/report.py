"""The self-contained HTML report: summary, capability map, every curve, evidence.

The figures are drawn beforehand (`figures`); the report embeds them.
"""
from __future__ import annotations

import base64
import gzip
import json
import re
from pathlib import Path

import jinja2
import markupsafe
import numpy as np
import pandas as pd

from . import runlog
from .figures import (
    LABEL_COUNTS,
    TAKE_AWAY,
    capability_map_name,
    draw_figures,
    figure_name,
    figure_pool,
    finding_cards,
    rows_by_curve,
)
from .findings import (
    AXIS_ORDER,
    backtest_summary,
    benchmark_summary,
    chip,
    curve_sources,
    key_findings,
    trust,
)
from .loading import shown_per_fraction, training_compute
from .models import DESCRIPTION, MODELS, PARAMS
from .provenance import GLOSSARY, provenance
from .schema import read as read_results_table
from .schema import report_columns, spreadsheet_safe
from .settings import with_defaults
from .stress import summarise
from .vocabulary import (
    BADGE_COLOURS,
    BADGE_TEXT,
    CAVEATS,
    FLAGGED,
    LABELS,
    format_change,
    format_p,
    format_scale,
    plain_prompting,
)


def _packed(value) -> str:
    """JSON, gzipped and base64-encoded: the table of every curve is a tenth of its size so (the page
    unpacks it with the browser's DecompressionStream); mtime 0 keeps reruns byte-identical."""
    return base64.b64encode(gzip.compress(json.dumps(value, separators=(",", ":")).encode(), 9, mtime=0)).decode()


def _data_uri(path: Path) -> str | None:
    """A PNG as a data URI, None when the figure is missing."""
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode() if path.exists() else None


_CHIP = re.compile("⟦([a-z_]+)⟧")


def with_chips(text) -> markupsafe.Markup:
    """A finding's sentence as HTML: the text escaped, its caveat markers (`findings.chip`) drawn as chips."""
    def chip(m):
        code = m.group(1)
        if code not in CAVEATS:
            return m.group(0)
        # the meaning, as a tooltip, is filled in on load from the page's one copy (caveat-meanings): a
        # copy per chip cost 27 KB of the bundled report
        return (f'<span class="caveat" data-caveat="{code}">'
                f'<span aria-hidden="true">⚠</span> {code.replace("_", " ")}</span>')
    return markupsafe.Markup(_CHIP.sub(chip, str(markupsafe.escape(text))))


def _fmt(v, digits=3):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.{digits}g}"
    return str(v)


def read_tables(inputs: dict) -> dict[str, pd.DataFrame]:
    """The run's tables; an optional input (the stress table) may be absent or a one-file list."""
    out = {}
    for k in ("curves", "fits", "points", "problems", "mirage", "cot_gain", "compositional", "calibration", "stress",
              "changes"):
        path = inputs.get(k)
        path = path[0] if isinstance(path, list) and path else path
        if path:
            out[k] = read_results_table(path, k)
    return out


#: the most characters of one cell the page shows (the CSVs beside it hold every cell in full): far above
#: the project's own longest text (a test's description, about 600), far below a pathological cell
MAX_SHOWN = 2_000


def _longer(column: pd.Series, limit: int) -> np.ndarray:
    """Which cells are text longer than `limit` (vectorised: a call per cell took a second on the corpus)."""
    try:
        return column.str.len().gt(limit).to_numpy(bool)
    except AttributeError:      # an object column without any text
        return np.zeros(len(column), bool)


def _shortened(tables: dict[str, pd.DataFrame]) -> tuple[dict[str, pd.DataFrame], int]:
    """Every text cell longer than `MAX_SHOWN` cut for the page, saying how much was cut, and how many
    were (a 50 MB name made a 53 MB report). `curve_id` stays whole: the page names figures by its digest."""
    def cut(v):
        return v[:MAX_SHOWN] + f"… [{len(v) - MAX_SHOWN:,} more characters]" if isinstance(v, str) \
            and len(v) > MAX_SHOWN else v

    out, count = {}, 0
    for name, frame in tables.items():
        if not isinstance(frame, pd.DataFrame) or not len(frame):
            out[name] = frame
            continue
        text = [c for c in frame.columns if c != "curve_id" and (frame[c].dtype == object
                                                                 or pd.api.types.is_string_dtype(frame[c]))]
        long = {c: _longer(frame[c], MAX_SHOWN) for c in text}
        long = {c: m for c, m in long.items() if m.any()}
        if long:
            frame = frame.copy()
            for c, m in long.items():
                frame.loc[m, c] = frame.loc[m, c].map(cut)
                count += int(m.sum())
        out[name] = frame
    return out, count


def build_report(tables: dict[str, pd.DataFrame], figures_dir: str | Path, settings: dict) -> str:
    """Render the report, embedding the figures drawn in figures_dir."""
    figures_dir = Path(figures_dir)
    settings = with_defaults(settings)
    tables, shortened = _shortened(tables)
    curves, fits, points, problems = (tables[k] for k in ("curves", "fits", "points", "problems"))
    counts = (curves["label"].value_counts().reindex(LABELS, fill_value=0)
              if len(curves) else pd.Series(0, index=list(LABELS)))
    columns = report_columns()
    stress = tables.get("stress")
    stress = summarise(stress) if stress is not None and len(stress) else None
    env = jinja2.Environment(loader=jinja2.PackageLoader("analysis", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    env.filters["chips"] = with_chips
    env.filters["caveat_chips"] = lambda codes: with_chips(" ".join(
        chip(c) for c in str(codes).split(";") if c) if isinstance(codes, str) else "")
    return env.get_template("report.html.j2").render(
        counts=counts.to_dict(), n_curves=len(curves), axis_counts=_axis_counts(curves),
        overview=_overview(curves, figures_dir),
        findings=key_findings(curves, settings["min_scales"], curve_sources(points)), trust=trust(stress),
        benchmarks=_benchmark_rows(curves),
        provenance=provenance(tables.get("points", pd.DataFrame()), settings),
        glossary={**GLOSSARY, **{f"caveat: {k.replace('_', ' ')}": v for k, v in CAVEATS.items()}},
        changes=_changes(tables.get("changes"), settings["alpha"]), cap_map=_capability_map(curves), columns=columns,
        panels=_packed(_task_panels(curves, points)),
        table=_packed({"columns": [c.report for c in columns], "meanings": [c.meaning for c in columns],
                       "rows": _curve_rows(curves, columns)}),
        flagged=_flagged(curves, fits, points, figures_dir),
        problems=problems.to_dict("records") if len(problems) else [],
        datasets=sorted(curves["dataset"].unique()) if len(curves) else [],
        settings=settings, models=[(m, DESCRIPTION[m]) for m in MODELS], fmt=_fmt,
        badges=BADGE_COLOURS, badge_text=BADGE_TEXT, format_p=format_p, format_change=format_change,
        debates=_debates(tables, curves, stress), n_points=len(points), caveats=CAVEATS,
        shortened=shortened, max_shown=MAX_SHOWN,
    )


#: changes listed in the report (all are in changes.csv)
MAX_CHANGES = 300


def _changes(changes: pd.DataFrame | None, alpha: float = 0.05) -> dict | None:
    """What changed since the last run: counts per kind, why (the caveats behind a new label, an input
    warning among them), how many q-values alone moved and whether any crossed alpha, and the first rows
    (None: no earlier run to compare with)."""
    if changes is None:
        return None
    counts = changes["change"].value_counts().to_dict() if len(changes) else {}
    rows = []
    listed = changes[changes["change"] != "q-value"] if len(changes) else changes
    for r in listed.head(MAX_CHANGES).to_dict("records"):
        q = (f"q {format_p(r.get('q_before'))} → {format_p(r.get('q_after'))}"
             if pd.notna(r.get("q_before")) and pd.notna(r.get("q_after")) else "")
        rows.append({"change": r["change"], "curve": f"{r['family']} · {r['benchmark']} · {r['task']} · {r['metric']}",
                     "dataset": r["dataset"], "before": _fmt(r["label_before"]), "after": _fmt(r["label_after"]),
                     "bracket_before": _bracket(r["emergence_low_before"], r["emergence_high_before"]),
                     "bracket_after": _bracket(r["emergence_low_after"], r["emergence_high_after"]),
                     "reason_before": _fmt(r["reason_before"]), "reason_after": _fmt(r["reason_after"]),
                     "caveats": r.get("caveats_after"), "q": q})
    q_only = changes[changes["change"] == "q-value"] if len(changes) else changes
    crossed = int(q_only["crossed_alpha"].astype(str).eq("True").sum()) if "crossed_alpha" in q_only else 0
    q_line = (f"{len(q_only):,} other curve(s) kept their label and bracket while their q-value moved (their "
              f"dataset's multiple testing changed): {'none' if not crossed else crossed} crossed alpha = {alpha:g}"
              + (" (see changes.csv, column crossed_alpha)" if crossed else "") + "." if len(q_only) else "")
    first = len(changes) > 0 and set(changes["change"]) == {"new"} and changes["label_before"].isna().all()
    parts = []
    for kind, words in (("new", "new curve(s)"), ("label", "relabelled")):
        part = changes[changes["change"] == kind] if len(changes) else changes
        if len(part):
            labels = ", ".join(f"{n} {lab}" for lab, n in part["label_after"].value_counts().items())
            parts.append(f"{len(part):,} {words} ({'now ' if kind == 'label' else ''}{labels})")
    news = "New this run: " + "; ".join(parts) + "." if parts and not first else ""
    return {"counts": counts, "rows": rows, "total": len(changes), "first": first, "q_line": q_line,
            "listed": len(listed), "news": news}


def _bracket(low, high) -> str:
    return f"{format_scale(low)}–{format_scale(high)}" if pd.notna(low) else ""


def _task_panels(curves: pd.DataFrame, points: pd.DataFrame) -> list[dict]:
    """Per task with a flagged curve: one panel per metric with every family's points on a shared axis
    (the grids readers know from Wei et al. and the Inverse Scaling Prize), and, for a chain-of-thought
    task, the same task without it beside them; the page draws them."""
    if not len(curves) or not len(points):
        return []
    key = ["x_axis", "benchmark", "task", "shots"]
    curves = curves[[*key, "metric", "curve_id", "family", "dataset", "label", "bounded", "unit", "chance",
                     "higher_is_better"]]     # what a panel shows: merging and sorting every column took a second
    tasks = curves.loc[curves["label"].isin(FLAGGED), key].drop_duplicates()
    chosen = curves.merge(tasks, on=key)
    twin_of = {t: plain_prompting(str(t)) for t in chosen["task"].unique()}
    twins = curves.merge(chosen[["x_axis", "benchmark", "task"]].drop_duplicates().assign(
        task=lambda d: d["task"].map(twin_of)).dropna(), on=["x_axis", "benchmark", "task"])
    pts = points[points["curve_id"].isin(set(chosen["curve_id"]) | set(twins["curve_id"]))]
    drawn = _PanelPoints(pts)
    out = []
    for (axis, bench, task, shots), g in chosen.groupby(key, dropna=False, sort=True):
        panels = [drawn.panel(m, metric, axis) for metric, m in g.groupby("metric", sort=True)]
        twin = twins[(twins["x_axis"] == axis) & (twins["benchmark"] == bench) & (twins["task"] == twin_of[task])]
        panels += [drawn.panel(m, f"{twin_of[task]} (without chain of thought) · {metric}", axis)
                   for metric, m in twin.groupby("metric", sort=True)]
        shots_text = "" if pd.isna(shots) or shots == "" else f", {shots}-shot"
        out.append({"axis": axis, "title": f"{bench} · {task}{shots_text} (over {axis})", "panels": panels})
    return out


class _PanelPoints:
    """The points a task panel draws, looked up per curve."""

    def __init__(self, pts: pd.DataFrame):
        self.scale, self.score = pts["scale"].to_numpy(float), pts["score"].to_numpy(float)
        self.sigma = pts["sigma"].to_numpy(float) if "sigma" in pts else np.full(len(pts), np.nan)
        self.compute = training_compute(pts)
        self.rows_of = pts.groupby("curve_id").indices

    def panel(self, m: pd.DataFrame, title: str, axis: str) -> dict:
        """One metric's panel: every family's points ([scale, score, compute (model size only, where known),
        the score's sampling sd]), in the units the user gave."""
        unit = shown_per_fraction(m["unit"].iloc[0])  # one curve's rows share a unit (curves.build_curves)
        series = []
        per_family = m["family"].value_counts()
        for c in m.sort_values("family")[["curve_id", "family", "dataset", "label", "bounded"]].to_dict("records"):
            rows = self.rows_of.get(c["curve_id"])
            if rows is None:
                continue
            name = c["family"] if per_family[c["family"]] == 1 else f"{c['family']} ({c['dataset']})"
            series.append({"name": name, "label": c["label"], "points": [
                [float(f"{x:.4g}"), float(f"{y * unit:.4g}"),
                 float(f"{z:.4g}") if axis == "params" and np.isfinite(z) else None,
                 float(f"{sd * unit:.2g}") if np.isfinite(sd) and c["bounded"] else None]
                for x, y, z, sd in zip(self.scale[rows], self.score[rows], self.compute[rows], self.sigma[rows])]})
        chance = m["chance"].dropna()
        return {"metric": title, "unit": "%" if unit == 100 else ("fraction" if m["bounded"].all() else "raw"),
                "lower_better": not bool(m["higher_is_better"].all()),
                "chance": float(chance.iloc[0]) * unit if len(chance) else None, "series": series}


def _axis_counts(curves: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Label counts per x axis (model size and training tokens are not added up)."""
    if not len(curves):
        return {}
    table = curves.groupby(["x_axis", "label"]).size().unstack(fill_value=0)
    return {axis: {lab: int(table.loc[axis].get(lab, 0)) for lab in LABELS} for axis in
            sorted(table.index, key=lambda a: AXIS_ORDER.index(a) if a in AXIS_ORDER else 9)}


def _benchmark_rows(curves: pd.DataFrame) -> list[dict]:
    """Per axis and benchmark, the label counts (the report links each to the filtered table)."""
    table = benchmark_summary(curves)
    return table.to_dict("records") if len(table) else []


def _overview(curves: pd.DataFrame, figures_dir: Path) -> dict:
    """The label counts figure and one capability map per x axis."""
    if not len(curves):
        return {}
    return {"labels": _data_uri(figures_dir / LABEL_COUNTS),
            "maps": {axis: uri for axis in sorted(curves["x_axis"].dropna().unique())
                     if (uri := _data_uri(figures_dir / capability_map_name(axis)))}}


def _model_row(r: pd.Series) -> dict:
    """One fitted model of a flagged curve: its parameters with their errors, AICc and flags."""
    def param(p):
        se = r.get("se_" + p, np.nan)
        return f"{p}={_fmt(r[p])}" + (f" ± {_fmt(se, 2)}" if np.isfinite(se) else "")

    return {"model": r["model"], "form": DESCRIPTION[r["model"]],
            "params": ", ".join(param(p) for p in PARAMS[r["model"]] if np.isfinite(r.get(p, np.nan))),
            "aicc": _fmt(r["aicc"], 4), "delta": _fmt(r["delta_aicc"], 3),
            "flags": ("" if r["converged"] else "not converged ") + ("on a bound" if r["at_bound"] else "")}


def _flagged(curves: pd.DataFrame, fits: pd.DataFrame, points: pd.DataFrame, figures_dir: Path) -> list[dict]:
    """A card per finding and label (near-duplicate curves: one task of one family under several metrics, data
    variants or checkpoint splits): the figure of its most significant curve, the models that figure shows (the
    caption), the evidence, every fitted model, and the other curves of the finding with their brackets, q-values
    and caveats (`figures.finding_cards`; their points are in the task's panel and the table)."""
    if not len(curves):
        return []
    groups = finding_cards(curves)
    if not groups:
        return []
    sel = pd.concat(groups)
    reps = pd.concat([g.head(1) for g in groups])
    fits_by = rows_by_curve(fits, reps["curve_id"])
    points_by = rows_by_curve(points.sort_values(["scale", "model"], kind="stable") if len(points) else points,
                              reps["curve_id"])
    cards = []
    # the records in one call: a frame of this width costs 10 ms per `to_dict`, one per card
    records = dict(zip(sel.index, sel.to_dict("records")))
    for g in groups:
        c, *others = (records[i] for i in g.index)
        cards.append({"c": c, "img": _data_uri(figures_dir / figure_name(c["curve_id"])), "alt": _alt(c),
                      "models": [_model_row(r) for r in fits_by.get(c["curve_id"], pd.DataFrame()).to_dict("records")],
                      "points": _points_caption(c, points_by.get(c["curve_id"], pd.DataFrame())),
                      "points_csv": _points_csv(c, points_by.get(c["curve_id"], pd.DataFrame())),
                      "anchor": figure_name(c["curve_id"])[:-4],
                      **{kind: f"{figures_dir.name}/{figure_name(c['curve_id'])[:-4]}{suffix}"
                         for kind, suffix in zip(("svg", "print_png"), TAKE_AWAY)},
                      "others": [{"c": o, "anchor": figure_name(o["curve_id"])[:-4],
                                  "bracket": _bracket(o.get("emergence_scale_low"), o.get("emergence_scale_high"))}
                                 for o in others]})
    return cards


def _alt(c: dict) -> str:
    """A card figure's alt text: the finding it shows, not only its label."""
    what = f"{c['family']} · {c['benchmark']} · {c['task']} · {c['metric']}"
    if c["label"] == "emergent" and pd.notna(c.get("emergence_scale_low")):
        found = (f"at the floor, then present: leaves the floor between {format_scale(c['emergence_scale_low'])} "
                 f"and {format_scale(c['emergence_scale_high'])} {c.get('x_axis', '')}")
    else:
        change = format_change(c.get("change"), c.get("change_low"), c.get("change_high"))
        found = {"inverse": "falls with scale", "u_shaped": "falls, then rises", "inverted_u": "rises, then falls"}.get(
            c["label"], c["label"]) + (f", change {change}" if change else "")
    return f"{c['label']}: {what}: {found}; q {format_p(c['q_value'])}"


def _points_csv(curve: dict, points: pd.DataFrame) -> str:
    """The card's points as a CSV file's text (in the units the user gave), for its download button."""
    if points.empty:
        return ""
    unit = shown_per_fraction(curve.get("unit"))
    table = pd.DataFrame({"model": points["model"], curve.get("x_axis", "scale"): points["scale"],
                          f"{curve['metric']} ({curve.get('unit')})": points["score"] * unit})
    return spreadsheet_safe(table).to_csv(index=False)


def _points_caption(curve: pd.Series, points: pd.DataFrame) -> str:
    """The figure's points by model (sorted smallest first by the caller), in the units the user gave."""
    if points.empty:
        return ""
    unit = shown_per_fraction(curve.get("unit"))
    return "; ".join(f"{m} ({format_scale(x)}) {_fmt(y * unit)}"
                     for m, x, y in zip(points["model"], points["scale"], points["score"]))


def _capability_map(curves: pd.DataFrame) -> list[dict]:
    """The emergent curves by emergence scale, with their intervals."""
    if not len(curves):
        return []
    order = {a: i for i, a in enumerate(AXIS_ORDER)}
    emergent = curves[curves["label"] == "emergent"]
    emergent = emergent.assign(_axis=emergent["x_axis"].map(order)).sort_values(
        ["_axis", "emergence_scale_low", "emergence_scale_high"])
    return [{"x_axis": r["x_axis"], "family": r["family"], "task": f"{r['benchmark']} · {r['task']}",
             "metric": r["metric"], "shots": r["shots"],
             "low": format_scale(r["emergence_scale_low"]), "high": format_scale(r["emergence_scale_high"]),
             "q": format_p(r["q_value"])} for r in emergent.to_dict("records")]


def _curve_rows(curves: pd.DataFrame, columns) -> list[list]:
    """The table of every curve as compact rows for the page's script: the schema's report columns,
    then the curve's permalink id, whether it has a card (flagged), its reason and its noise."""
    return [[*(_cell(r[c.name], c, r) for c in columns), figure_name(r["curve_id"])[:-4], r["label"] in FLAGGED,
             r["reason"] + _details(r), r["noise"] if isinstance(r["noise"], str) else ""]
            for r in curves.to_dict("records")]


def _details(r: pd.Series) -> str:
    """What the detail row adds to the reason: the emergence bracket, BIG-bench's L and B."""
    out = []
    if pd.notna(r.get("emergence_scale_low")):
        out.append(f"leaves the floor between {format_scale(r['emergence_scale_low'])} and "
                   f"{format_scale(r['emergence_scale_high'])}")
    if pd.notna(r.get("linearity")):
        out.append(f"L = {_fmt(r['linearity'], 2)}, B = {_fmt(r['breakthroughness'], 2)} (see the glossary)")
    return "".join(f". {x}" for x in out)


def _cell(value, column, row=None) -> str:
    """A cell of the table of every curve, formatted as its column declares."""
    if column.report_format == "interval":
        return format_change(value, row.get(column.name + "_low"), row.get(column.name + "_high"))
    if column.report_format == "bracket":
        return _bracket(row.get(column.name + "_low"), row.get(column.name + "_high"))
    if column.report_format == "scale":
        return format_scale(value)
    if column.report_format == "p":
        return format_p(value)
    return _fmt(value)


def _records(df: pd.DataFrame, columns: list[str], scale_cols=(), number_cols=()) -> list[dict]:
    out = []
    for r in df.to_dict("records"):
        row = {}
        for c in columns:
            v = r.get(c)
            row[c] = format_scale(v) if c in scale_cols else _fmt(v) if c in number_cols else (
                "" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
        out.append(row)
    return out


def _debates(tables: dict, curves: pd.DataFrame, stress: pd.DataFrame | None) -> dict:
    """The tables of the "what the field argues about" section (stress: the stress suite's summary)."""
    out = {}
    if len(curves) and "backtest_error" in curves:
        bt = backtest_summary(curves)
        out["backtest"] = _records(bt, ["backtest_trend", "curves", "median_abs_error", "coverage"],
                                   number_cols=("median_abs_error", "coverage"))
        # the trend of the oriented score: a perplexity that falls is "improving", never "falling"
        words = {"rising": "improving", "falling": "worsening", "no trend": "with no trend"}
        for r in out["backtest"]:
            r["backtest_trend"] = words.get(r["backtest_trend"], r["backtest_trend"])
        by = bt.set_index("backtest_trend")
        out["backtest_line"] = "; ".join(
            f"curves {words[kind]} on the smaller models were predicted to within "
            f"{by.loc[kind, 'median_abs_error']:.3f} "
            f"(median absolute error, {by.loc[kind, 'curves']} curves; the 95% interval covered "
            f"{by.loc[kind, 'coverage']:.0%})" for kind in ("rising", "falling", "no trend") if kind in by.index)
    mirage = tables.get("mirage", pd.DataFrame())
    if len(mirage):
        mirage = mirage[mirage["differ"].astype(bool)].sort_values(["mirage", "dataset"], ascending=[False, True])
        out["mirage"] = _records(mirage, ["dataset", "family", "task", "shots", "labels", "mirage", "evidence"])
        out["mirage_count"] = int(mirage["mirage"].astype(bool).sum())
    cot = tables.get("cot_gain", pd.DataFrame())
    if len(cot):
        cot = cot.sort_values(["dataset", "family", "benchmark", "task", "metric"])
        cols = ["family", "benchmark", "task", "metric", "models", "gain_smallest", "gain_largest", "slope_per_decade",
                "turns_positive", "positive_from"]
        records = _records(cot, cols, scale_cols=("turns_positive", "positive_from"),
                           number_cols=("gain_smallest", "gain_largest", "slope_per_decade"))
        out["cot"] = _packed([[r[c] for c in cols] for r in records])
    if stress is not None:
        out["stress_columns"] = list(stress.columns)
        out["stress"] = stress.to_dict("records")
    cal = tables.get("calibration", pd.DataFrame())
    if len(cal):
        cols = [c for c in cal.columns if c.startswith(("fpr_", "power_")) or c == "bracket_coverage"]
        out["calibration_columns"] = cols
        out["calibration"] = [{"sizes": r["sizes"], "noise": r["noise"],
                               **{c: ("" if r[c] != r[c] else f"{r[c]:.0%}") for c in cols}}
                              for r in cal.to_dict("records")]
        out["calibration_n"] = int(cal["curves_per_shape"].iloc[0])
    comp = tables.get("compositional", pd.DataFrame())
    if len(comp):
        out["compositional"] = _records(comp, ["group", "family", "model", "shots", "per_step_accuracy",
                                               "rms_error", "observed", "predicted"],
                                        number_cols=("per_step_accuracy", "rms_error"))
    return out


def run_report(inputs: dict, report: str, figures: str, settings: dict, log: str | None = None,
               workers: int = 1) -> None:
    """Workflow step: the figures (those whose curve changed are drawn, the others copied from
    results/figure_cache/), then the HTML report that embeds them; the tables are read once for both."""
    logger = runlog.setup(log)
    pool = figure_pool(workers)       # forked before the tables are read (`figure_pool`)
    try:
        tables = read_tables(inputs)
        n, drawn = draw_figures(tables["curves"], tables["fits"], tables["points"], figures,
                                cache_dir=Path(figures).parent / "figure_cache", pool=pool)
    finally:
        if pool is not None:    # every figure is back: nothing is left to wait for (`figure_pool`)
            pool.terminate()
            pool.join()
    logger.info(f"wrote {n} figures to {figures} ({drawn} drawn, {n - drawn} unchanged, from the cache)")
    html = build_report(tables, figures, settings)
    Path(report).write_text(html, encoding="utf-8")
    logger.info(f"wrote {report} ({len(html) / 1e6:.1f} MB)")

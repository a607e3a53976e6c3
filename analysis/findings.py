"""The report's answers first: key findings in sentences, generated from the curves table.

What emerges, at what scale and for which families; what declines or turns;
how many curves could not be judged, why, and what data would settle them.
Model size, training tokens and compute are kept apart: growth over a
training run is not growth over model size.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .vocabulary import P_FLOOR, format_change, format_p, format_scale

AXIS_NAMES = {"params": "model size (parameters)", "tokens": "training tokens (checkpoints of one model)",
              "compute": "training compute (FLOPs)"}
AXIS_ORDER = ("params", "compute", "tokens")
AXIS_UNITS = {"params": " parameters", "tokens": " tokens", "compute": " FLOPs"}
#: how many tasks a finding names before "and N more"
MAX_TASKS = 8
MAX_FAMILIES = 4


@dataclass
class AxisFindings:
    """What the run found along one x axis."""

    axis: str
    name: str
    curves: int
    counts: dict[str, int]
    summary: str = ""
    groups: list[tuple[str, list[str]]] = field(default_factory=list)  # (what, one sentence per task)


def key_findings(curves: pd.DataFrame, min_scales: int, sources: dict[str, str] | None = None) -> list[AxisFindings]:
    """The findings per x axis, model size first; `sources`: each curve's source (`curve_sources`), named
    where a claim's curves all come from one dataset."""
    if not len(curves):
        return []
    axes = [a for a in AXIS_ORDER if a in set(curves["x_axis"])] + \
        sorted(set(curves["x_axis"]) - set(AXIS_ORDER))
    return [_axis(curves[curves["x_axis"] == axis], axis, min_scales, sources) for axis in axes]


def curve_sources(points: pd.DataFrame) -> dict[str, str]:
    """Each curve's source (its rows' most cited `source`, up to the first semicolon)."""
    if not len(points) or "source" not in points:
        return {}
    src = points.assign(source=points["source"].astype(str).str.split(";").str[0].str.strip())
    src = src[src["source"].ne("") & src["source"].ne("nan")]
    # per curve the most frequent source, the first seen among equals (a `value_counts` per curve took a second)
    counts = src.groupby(["curve_id", "source"], sort=False).size().reset_index(name="n")
    top = counts.sort_values("n", ascending=False, kind="stable").drop_duplicates("curve_id")
    return dict(zip(top["curve_id"], top["source"]))


def _axis(c: pd.DataFrame, axis: str, min_scales: int, sources: dict[str, str] | None = None) -> AxisFindings:
    counts = c["label"].value_counts().to_dict()
    out = AxisFindings(axis, AXIS_NAMES.get(axis, axis), len(c), counts)
    n = len(c)
    judged = n - counts.get("insufficient", 0)
    out.summary = (f"{n:,} curves: {judged:,} could be judged ({_share(judged, n)}); "
                   + ", ".join(f"{counts[k]:,} {k}" for k in ("emergent", "smooth", "inverse", "u_shaped",
                                                               "inverted_u", "flat") if counts.get(k)) + ".")
    if counts.get("emergent") and "finding" in c:
        em = c[c["label"] == "emergent"]
        fragile, steep = (int(em[k].astype(str).eq("True").sum()) if k in em else 0 for k in ("fragile", "steep_law"))
        one = "one task of one training run" if axis == "tokens" else "one task of one family"
        out.summary += (f" The {counts['emergent']:,} emergent curves are {em['finding'].nunique():,} distinct "
                        f"finding(s) ({one}, whatever its metric, data variant or checkpoint "
                        f"split); {fragile:,} rest on one model that is not an end of the bracket (fragile); "
                        f"in {steep:,} a smooth accelerating law through the smaller models is not ruled out "
                        f"(steep_law).")
    unit = AXIS_UNITS.get(axis, "")
    for title, labels in GROUPS:
        group = _tasks(c, list(labels), title, unit, limit=None if labels == ("emergent",) else MAX_TASKS,
                       sources=sources)
        if group:
            out.groups.append(group)
    if (c["label"] == "insufficient").any():
        out.groups.append(("Not judged", _insufficient(c, min_scales)))
    return out


def _share(k: int, n: int) -> str:
    return f"{k / n:.0%}" if n else "0%"


def _task_name(r) -> str:
    shots = "" if pd.isna(r["shots"]) or r["shots"] == "" else f", {int(float(r['shots']))}-shot"
    task = r["benchmark"] if r["task"] == r["benchmark"] else f"{r['benchmark']} · {r['task']}"
    return f"{task} ({r['metric']}{shots})"


#: a curve's benchmark and task as the benchmark catalogue names them (as written where it has no entry), so
#: that ARC-c, arc_challenge and "ARC (Challenge)" of three datasets are one task of one benchmark
KEY = ["test_set", "test_task", "metric", "shots"]


def with_test_set(c: pd.DataFrame) -> pd.DataFrame:
    """`test_set`, `test_task`: the catalogue's names, except where one dataset writes one test set as
    several tasks (BBH with and without chain of thought): those are variants, kept apart by their name."""
    entry = c["catalogue"].fillna("").astype(str) if "catalogue" in c else pd.Series("", index=c.index)
    parts = entry.str.split("/", n=1, expand=True).reindex(columns=[0, 1])
    bench = parts[0].where(entry != "", c["benchmark"].astype(str))
    task = parts[1].where(entry.str.contains("/"), bench.where(entry != "", c["task"].astype(str)))
    variants = c.assign(_entry=entry).groupby(["dataset", "_entry"])["task"].transform("nunique")
    task = task.where((entry == "") | (variants <= 1), c["task"].astype(str))
    return c.assign(test_set=bench, test_task=task)


def _tasks(c: pd.DataFrame, labels: list[str], title: str, unit: str, limit: int | None = MAX_TASKS,
           sources: dict[str, str] | None = None) -> tuple[str, list[str]] | None:
    """One sentence per task with the label: its families (with the bracket), and the other families' labels;
    the first `limit` tasks (every emergent one: a reader asking "is X emergent" must find X here)."""
    c = with_test_set(c)
    # the columns a finding's sentence reads (every column, copied per task, took half of the step)
    hit = c.loc[c["label"].isin(labels), [k for k in dict.fromkeys(
        [*KEY, *FINDING_FIELDS]) if k in c.columns]]
    if hit.empty:
        return None
    key = KEY
    groups = sorted(hit.groupby(key, dropna=False, sort=False), key=lambda g: (-len(g[1]), g[1]["q_value"].min()))
    out, said = [], set()
    # the columns the other curves are read for, and each curve's task as one string, so that a task's
    # other curves are looked up, not merged (a merge per task took a second of the report)
    c = c[list(dict.fromkeys([*key, "test_set", "task", "label"]))].assign(_key=_key_strings(c))
    rows_of = c.groupby("_key", sort=False).indices
    bench_rows = c.groupby("test_set", sort=False).indices
    for _, g in groups[:limit]:
        g = g.sort_values("q_value")
        names = [_family(r, unit) for _, r in g.head(MAX_FAMILIES).iterrows()]
        more = f" and {len(g) - MAX_FAMILIES} more" if len(g) > MAX_FAMILIES else ""
        same = c.iloc[rows_of[_key_strings(g.head(1)).iat[0]]]
        others = same[~same["label"].isin(labels)]["label"].value_counts()
        who = "runs" if unit == AXIS_UNITS["tokens"] else "families"      # checkpoints of one run over tokens
        rest = f"; the other {who}: " + ", ".join(f"{v} {k}" for k, v in others.items()) if len(others) else ""
        kind = "/".join(sorted(g["label"].unique())) + _caveat_counts(g)
        out.append(f"{_task_name(g.iloc[0])}: {kind} for {', '.join(names)}{more}{rest}"
                   f"{_elsewhere(c, bench_rows, g, said)}." + _brackets_agree(g, unit) + _one_source(g, sources))
    if limit is not None and len(groups) > limit:
        out.append(f"… and {len(groups) - limit} more task(s) in the table below.")
    return f"{title}: {len(hit):,} curve(s) on {len(groups)} task(s)", out


#: what a task's sentence reads of its flagged curves (`_task_name`, `_family`, `_effect`, `_caveat_counts`,
#: `_brackets_agree`, `_one_source`)
FINDING_FIELDS = ("benchmark", "task", "metric", "shots", "family", "label", "q_value", "jump", "change",
                  "change_low", "change_high", "caveats", "emergence_scale_low", "emergence_scale_high",
                  "dataset", "curve_id")


def _key_strings(c: pd.DataFrame) -> pd.Series:
    """Each curve's task (`KEY`) as one string: a lookup key that a missing shots value cannot break."""
    return pd.Series(["|".join(map(str, t)) for t in c[KEY].itertuples(index=False)], index=c.index, dtype=object)


def _elsewhere(c: pd.DataFrame, bench_rows: dict, g: pd.DataFrame, said: set) -> str:
    """The benchmark's other curves (other tasks, prompts, metrics or datasets) and their labels, once per
    benchmark: "is GSM8K emergent" asks about all of them, not only the task that happens to be flagged.
    `c` holds every curve with its `_key`, `bench_rows` the positions of each test set's curves in it."""
    bench = g["test_set"].iloc[0]
    if bench in said:
        return ""
    said.add(bench)
    same = c.iloc[bench_rows[bench]]
    other = same[same["_key"] != _key_strings(g.head(1)).iat[0]]
    if other.empty:
        return ""
    counts = other["label"].value_counts()
    combos = other[["task", "metric", "shots"]].drop_duplicates().shape[0]
    names = list(dict.fromkeys(other["task"]))
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    return (f"; {bench}'s other {combos} task/metric/prompt combination(s) ({shown}): "
            + ", ".join(f"{v} {k}" for k, v in counts.items()))


#: the order of the findings' groups (and of the report's flagged cards)
GROUPS = (("Emergent (absent, then present)", ("emergent",)), ("Declining with scale", ("inverse",)),
          ("Turning (U-shaped or inverted U)", ("u_shaped", "inverted_u")))


def findings_order(curves: pd.DataFrame) -> pd.Series:
    """Each flagged curve's place in Key findings (axis, group, task as `_tasks` orders them, q): the report
    shows its cards in this order; nan for the curves that are not flagged."""
    c = with_test_set(curves)
    axis = c["x_axis"].map({a: i for i, a in enumerate(AXIS_ORDER)}).fillna(len(AXIS_ORDER))
    group = c["label"].map({lab: i for i, (_, labels) in enumerate(GROUPS) for lab in labels})
    key = ["x_axis", "label_group", *KEY]
    c = c.assign(label_group=group)
    flagged = c[group.notna()]
    size = flagged.groupby(key, dropna=False)["curve_id"].transform("size")
    best = flagged.groupby(key, dropna=False)["q_value"].transform("min")
    order = pd.DataFrame({"axis": axis[group.notna()], "group": group[group.notna()], "size": -size, "best": best,
                          "task": pd.Series(["|".join(map(str, t)) for t in flagged[KEY].itertuples(index=False)],
                                            index=flagged.index, dtype=object), "q": flagged["q_value"]})
    rank = order.sort_values(["axis", "group", "size", "best", "task", "q"], kind="stable").index
    return pd.Series(range(len(rank)), index=rank, dtype=float).reindex(curves.index)


def _brackets_agree(g: pd.DataFrame, unit: str) -> str:
    """Whether the emergent families of one task leave the floor at scales that agree: their brackets overlap
    (one scale lies in all of them) or not, so that families that agree do not look as if they disagree."""
    em = g[(g["label"] == "emergent") & g["emergence_scale_low"].notna()] if "emergence_scale_low" in g else g[:0]
    if em["family"].nunique() < 2:
        return ""
    low, high = em["emergence_scale_low"].astype(float).max(), em["emergence_scale_high"].astype(float).min()
    if low <= high:
        return (f" Their brackets overlap: every one of these {em['family'].nunique()} leaves the floor between "
                f"{format_scale(low)} and {format_scale(high)}{unit}.")
    return (f" Their brackets do not overlap (they leave the floor at different scales, from "
            f"{format_scale(em['emergence_scale_low'].astype(float).min())} to "
            f"{format_scale(em['emergence_scale_high'].astype(float).max())}{unit}).")


def _one_source(g: pd.DataFrame, sources: dict[str, str] | None) -> str:
    """The paper behind a claim whose curves all come from one dataset (its curves' sources, most cited first)."""
    if not sources or g["dataset"].nunique() != 1:
        return ""
    cited = pd.Series([sources.get(c, "") for c in g["curve_id"]], dtype=object)
    cited = cited[cited != ""].value_counts()
    if cited.empty:
        return ""
    return " Source: " + "; ".join(cited.index[:2]) + ("; …" if len(cited) > 2 else "") + "."


def _caveats(r) -> list[str]:
    value = r.get("caveats", "")
    return [c for c in str(value).split(";") if c] if isinstance(value, str) else []


def chip(code: str) -> str:
    """A caveat as a marker in a finding's sentence; the report draws it as a chip (`report.with_chips`)."""
    return f"⟦{code}⟧"


def _caveat_counts(g: pd.DataFrame) -> str:
    """"(5, all mirage)", "(5; 2 fragile)": what qualifies the task's curves, next to their label."""
    listed = g["caveats"] if "caveats" in g else pd.Series([], dtype=object)
    counts = pd.Series([c for value in listed if isinstance(value, str) for c in value.split(";") if c],
                       dtype=object).value_counts()
    if counts.empty or len(g) == 1:     # one curve: its family's chips say it
        return ""
    said = [f"all {chip(k)}" if v == len(g) else f"{v} {chip(k)}" for k, v in counts.items()]
    return f" ({len(g)}{', ' if counts.iloc[0] == len(g) and len(said) == 1 else '; '}{', '.join(said)})"


def _effect(r) -> str:
    """How large the effect behind the label is: an emergence's jump beyond the smaller models' trend (the
    weighted line across the range is pinned by exact zeros and says little), else the change across the range
    with its 95 % interval."""
    jump = r.get("jump")
    if r["label"] == "emergent" and isinstance(jump, float) and jump == jump:
        return f"jump {jump:+.3g} beyond the smaller models' trend"
    change = format_change(r.get("change"), r.get("change_low"), r.get("change_high"))
    return f"change {change}" if change else ""


def _family(r, unit: str) -> str:
    q, effect = f"q {'= ' if r['q_value'] >= P_FLOOR else ''}{format_p(r['q_value'])}", _effect(r)
    q = f"{effect}, {q}" if effect else q
    marks = "".join(" " + chip(c) for c in _caveats(r))
    if r["label"] == "emergent" and pd.notna(r.get("emergence_scale_low")):
        return (f"{r['family']} (leaves the floor between {format_scale(r['emergence_scale_low'])} and "
                f"{format_scale(r['emergence_scale_high'])}{unit}, {q}){marks}")
    return f"{r['family']} ({q}){marks}"


def _insufficient(c: pd.DataFrame, min_scales: int) -> list[str]:
    """Why curves could not be judged, and what would settle them."""
    ins = c[c["label"] == "insufficient"]
    if ins.empty:
        return []
    few = ins[ins["n_scales"] < min_scales]
    wide = ins[ins["n_scales"] >= min_scales]
    parts = []
    if len(few):
        need = (min_scales - few["n_scales"]).value_counts().sort_index()
        parts.append(f"{len(few):,} have fewer than {min_scales} model sizes (" + ", ".join(
            f"{v:,} need {k} more" for k, v in need.items()) + "): scores of more sizes of the same family settle them")
    if len(wide):
        unknown = int((~wide["known_noise"].astype(bool)).sum()) if "known_noise" in wide else 0
        parts.append(f"{len(wide):,} have enough sizes but an interval of the change too wide to call them flat or "
                     f"trending ({unknown:,} of them without n_items or stderr): the number of test items (or "
                     "stderr) and more sizes settle them")
    return [f"{len(ins):,} curves ({_share(len(ins), len(c))}) could not be judged; " + "; ".join(parts) + "."]


def benchmark_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Per x axis and benchmark: the number of curves with each label and the families."""
    if not len(curves):
        return pd.DataFrame()
    table = curves.pivot_table(index=["x_axis", "benchmark"], columns="label", values="curve_id", aggfunc="count",
                               fill_value=0)
    table["curves"] = table.sum(axis=1)
    table["families"] = curves.groupby(["x_axis", "benchmark"])["family"].nunique()
    order = {a: i for i, a in enumerate(AXIS_ORDER)}
    table = table.reset_index()
    return table.sort_values(["x_axis", "benchmark"], key=lambda s: s.map(order).fillna(9) if s.name == "x_axis"
                             else s.str.lower()).reset_index(drop=True)


def trust(table: pd.DataFrame | None) -> list[str]:
    """How sure the labels are, from the stress suite's summary (`stress.summarise` of the realistic null
    data of benchmarks/stress.py): per label, the false positive rate of the worst null truth in each condition."""
    if table is None or not len(table):
        return []
    percent = {c: table[c].str.extract(r"^\s*([0-9.]+)")[0].astype(float) for c in table.columns
               if c.startswith(("FPR", "power"))}
    out = []
    for col, name in (("FPR emergent", "emergent"), ("FPR inverse", "inverse"), ("FPR U", "U-shaped")):
        if col not in percent:
            continue
        worst = percent[col].idxmax()
        out.append(f"{name} at most {percent[col].median():.1f} % in the median condition, above 5 % in "
                   f"{int((percent[col] > 5).sum())} of {len(table)} (worst {percent[col][worst]:.1f} %, "
                   f"{int(table.loc[worst, 'sizes'])} sizes, {table.loc[worst, 'noise']})")
    reference = (table["noise"] == "binomial 1000") & (table["scatter"] == "empirical")
    if "power emergent" in percent and reference.any():
        by_sizes = percent["power emergent"][reference].groupby(table["sizes"][reference]).min()
        out.append("and a clear emergence (1,000 items, the scatter between models measured on the bundled data) "
                   "is called emergent in " + ", ".join(f"{p:.0f} % of cases with {int(k)} sizes"
                                                         for k, p in by_sizes.items()))
    return ["How sure the labels are: on synthetic families on real size grids whose truth is known, the share of "
            "curves given a label they do not have was, for " + "; ".join(out) + "."]


def backtest_summary(curves: pd.DataFrame, by: str = "backtest_trend") -> pd.DataFrame:
    """Per kind of curve (its trend on the training sizes; or `by` any column): how well the
    smaller models predicted the largest one.

    Bounded metrics only, so that errors are in one unit (fraction of the
    score scale); perplexities would swamp the medians.
    """
    c = curves[np.isfinite(curves["backtest_error"].astype(float)) & curves["bounded"].astype(bool)]
    if c.empty:
        return pd.DataFrame(columns=[by, "curves", "median_abs_error", "coverage"])
    c = c[c["backtest_covered"].notna()]
    g = c.groupby(by)
    return pd.DataFrame({
        "curves": g.size(),
        "median_abs_error": g["backtest_error"].apply(lambda e: np.median(np.abs(e))),
        "coverage": g["backtest_covered"].apply(lambda v: np.mean(v.astype(float))),
    }).reset_index()

"""What qualifies a curve's label, next to the label (issue 24): the `caveats` column of curves.csv.

A label is a test's verdict; a reader also needs what the run knows against
taking it at face value, on the same line, not in another section: a
discontinuous metric whose continuous twin was rising all along (the mirage),
scores below the written chance, a warning on one of the curve's rows, too
few sizes for the emergence test to have power, an emergent label resting on
one model, exact zeros under a strict answer format. Codes, in a fixed order,
joined by ";"; `CAVEATS` says what each means (the report's chips and the
glossary read it).
"""
from __future__ import annotations

import pandas as pd

from .debates import metric_kind
from .vocabulary import CAVEATS

#: labels for which too few sizes weaken what the label says about emergence
_FEW_SIZES_LABELS = ("emergent", "smooth", "flat")
FEW_SIZES = 4


def caveats(curves: pd.DataFrame, points: pd.DataFrame, warned_rows: pd.DataFrame,
            mirage: pd.DataFrame) -> pd.Series:
    """The caveats of each curve (index of `curves`), "" where none.

    `warned_rows`: (dataset, row) of the input rows analysed with a warning; `mirage`: the mirage
    table (`debates.mirage_table`)."""
    flags = {code: pd.Series(False, index=curves.index) for code in CAVEATS}
    if not len(curves):
        return pd.Series("", index=curves.index, dtype=object)
    label = curves["label"].astype(str)
    flags["below_chance"] = curves["below_chance"].astype(str).eq("True") if "below_chance" in curves else \
        flags["below_chance"]
    flags["fragile"] = curves["fragile"].astype(str).eq("True") if "fragile" in curves else flags["fragile"]
    flags["steep_law"] = curves["steep_law"].astype(str).eq("True") if "steep_law" in curves else flags["steep_law"]
    flags["few_sizes"] = label.isin(_FEW_SIZES_LABELS) & (curves["n_scales"].astype(float) <= FEW_SIZES)
    if len(mirage) and mirage["mirage"].astype(str).eq("True").any():
        key = ["dataset", "family", "benchmark", "task", "shots"]
        hit = mirage.loc[mirage["mirage"].astype(str).eq("True"), key].astype(str).drop_duplicates()
        inside = curves[key].astype(str).merge(hit.assign(_m=True), on=key, how="left")["_m"].fillna(False)
        flags["mirage"] = pd.Series(inside.to_numpy(bool), index=curves.index) & label.eq("emergent") \
            & curves["metric"].map(metric_kind).eq("discontinuous")
    if len(points):
        if len(warned_rows):
            warned = points.merge(warned_rows.astype({"row": float}).drop_duplicates(),
                                  on=["dataset", "row"], how="inner")["curve_id"]
            flags["input_warning"] = curves["curve_id"].isin(set(warned))
        strict = curves["metric"].astype(str).str.contains("strict", case=False)
        if strict.any():
            pts = points[points["curve_id"].isin(curves.loc[strict, "curve_id"])].sort_values(["curve_id", "scale"])
            smallest = pts.groupby("curve_id").head(2)
            zero = smallest.groupby("curve_id")["score"].apply(lambda s: len(s) == 2 and bool((s == 0).all()))
            flags["format_zero"] = (strict & label.ne("insufficient")
                                    & curves["curve_id"].map(zero).fillna(False).astype(bool))
    # the codes joined column by column ("a;b"), not row by row
    out = pd.Series("", index=curves.index, dtype=object)
    for code in CAVEATS:
        out = out.where(~flags[code], out + ";" + code)
    return out.str.lstrip(";")


def warned_rows(problems: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """(dataset, row) of one dataset's rows that were analysed with a warning."""
    if not len(problems) or "kept" not in problems:
        return pd.DataFrame(columns=["dataset", "row"])
    kept = problems[problems["kept"].astype(str).eq("True") & problems["row"].notna()]
    return pd.DataFrame({"dataset": dataset, "row": kept["row"].astype(float).to_numpy()})

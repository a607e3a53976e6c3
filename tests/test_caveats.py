"""The caveats beside a label (issue 24): each found where it applies and nowhere else."""
import numpy as np
import pandas as pd

from analysis.caveats import caveats, warned_rows
from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from analysis.vocabulary import CAVEATS


def _curve(cid, label, metric="acc", n_scales=5, **extra):
    dataset, family, benchmark, task, metric_, shots = cid.split("|")
    return {"curve_id": cid, "dataset": dataset, "family": family, "benchmark": benchmark, "task": task,
            "metric": metric_, "shots": shots, "label": label, "n_scales": n_scales, "below_chance": False,
            "fragile": False, **extra}


def _points(cid, scores, rows):
    return pd.DataFrame({"curve_id": cid, "dataset": cid.split("|")[0], "row": rows,
                         "scale": 10.0 ** np.arange(8, 8 + len(scores)), "score": scores})


def test_each_caveat_where_it_applies():
    strict = "exact_match,strict-match"
    ids = {k: f"d|F|b|{k}|{m}|0" for k, m in [("strict0", strict), ("strict1", strict), ("few", "acc"),
                                               ("warned", "acc"), ("plain", "acc")]}
    ids["mir_cont"] = "d|F|b|mir|brier_score|0"
    curves = pd.DataFrame([
        _curve(ids["strict0"], "emergent"), _curve(ids["strict1"], "emergent"),
        _curve(ids["few"], "smooth", n_scales=4), _curve(ids["warned"], "flat", below_chance=True),
        _curve(ids["plain"], "inverse", n_scales=4, fragile=False),
        _curve("d|F|b|mir|exact_match|0", "emergent", fragile=True), _curve(ids["mir_cont"], "smooth"),
    ])
    points = pd.concat([_points(ids["strict0"], [0, 0, 0.1, 0.5], [2, 3, 4, 5]),
                        _points(ids["strict1"], [0.01, 0, 0.1, 0.5], [6, 7, 8, 9]),
                        _points(ids["warned"], [0.3, 0.3, 0.3, 0.3], [10, 11, 12, 13])])
    warned = pd.DataFrame({"dataset": ["d"], "row": [12]})
    mirage = pd.DataFrame({"dataset": ["d"], "family": ["F"], "benchmark": ["b"], "task": ["mir"], "shots": ["0"],
                           "mirage": [True]})
    got = dict(zip(curves["curve_id"], caveats(curves, points, warned, mirage)))
    assert got[ids["strict0"]] == "format_zero"                  # both smallest models at exactly 0
    assert got[ids["strict1"]] == ""                              # not both
    assert got[ids["few"]] == "few_sizes"
    assert got[ids["warned"]] == "below_chance;input_warning"     # in CAVEATS' order
    assert got[ids["plain"]] == ""                                # an inverse label at 4 sizes: power is not at issue
    assert got["d|F|b|mir|exact_match|0"] == "mirage;fragile"      # the discontinuous, emergent one only
    assert got[ids["mir_cont"]] == ""
    assert set(";".join(got.values()).replace(";", " ").split()) <= set(CAVEATS)


def test_a_kept_warning_reaches_the_curve_through_the_pipeline(tmp_path):
    """End to end: a row analysed with a warning marks its curve, and only it."""
    rows = []
    for task, scores in (("a", [0.30, 0.40, 0.50, 0.60, 0.70]), ("b", [0.3, 0.31, 0.3, 0.29, 0.3])):
        for s, p in zip(scores, (1e8, 1e9, 1e10, 1e11, 1e12)):
            rows.append({"model": f"m{p:g}", "family": "F", "params": p, "benchmark": "bench", "task": task,
                         "metric": "acc", "shots": 0, "score": s, "unit": "fraction", "n_items": 1000,
                         "chance": 0.25, "source": "test"})
    df = pd.DataFrame(rows)
    df.loc[0, "source"] = ""                                      # a kept row with a warning (no source)
    df.to_csv(tmp_path / "d.csv", index=False)
    s = Settings(bootstrap=20)
    part = analyse_dataset(tmp_path / "d.csv", s, dataset="d")
    assert part.problems["kept"].astype(bool).any(), part.problems
    assert len(warned_rows(part.problems, "d")) >= 1
    curves = combine([part], s).curves.set_index("task")
    assert "input_warning" in curves.loc["a", "caveats"]
    assert "input_warning" not in curves.loc["b", "caveats"]

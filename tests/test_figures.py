"""Figures are redrawn only when what they are drawn from changes (a rerun after adding a dataset stays fast)."""
import pandas as pd
import pytest

from analysis.figures import draw_figures
from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from analysis.synthetic import simulate


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("figs")
    pd.concat([simulate("emergent", 2, seed=1), simulate("inverse", 1, seed=3)]).to_csv(root / "d.csv", index=False)
    s = Settings(bootstrap=20, bootstrap_max=20)
    return combine([analyse_dataset(root / "d.csv", s, dataset="d")], s)


def test_unchanged_figures_come_from_the_cache_byte_for_byte(run, tmp_path):
    cache = tmp_path / "cache"
    total, drawn = draw_figures(run.curves, run.fits, run.points, tmp_path / "a", cache_dir=cache)
    assert drawn == total >= 4                       # labels, capability map, 2 emergent + 1 inverse curves
    again = draw_figures(run.curves, run.fits, run.points, tmp_path / "b", cache_dir=cache)
    assert again == (total, 0)
    for png in (tmp_path / "a").glob("*.png"):
        assert (tmp_path / "b" / png.name).read_bytes() == png.read_bytes()
    # q moves when a dataset joins the run; the figures do not show it, so nothing is redrawn
    moved_q = run.curves.assign(q_value=run.curves["q_value"] * 0.5)
    assert draw_figures(moved_q, run.fits, run.points, tmp_path / "c", cache_dir=cache) == (total, 0)
    # a curve that changes label is redrawn, with the label-count figure
    relabelled = run.curves.copy()
    relabelled.loc[relabelled["label"] == "inverse", "label"] = "u_shaped"
    assert draw_figures(relabelled, run.fits, run.points, tmp_path / "d", cache_dir=cache)[1] == 2
    assert len(list(cache.glob("*.png"))) == total   # the cache keeps only the last run's figures

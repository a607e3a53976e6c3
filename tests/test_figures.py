"""Figures are redrawn only when what they are drawn from changes (a rerun after adding a dataset stays fast)."""
import pandas as pd
import pytest

from analysis.figures import draw_figures, figure_name, finding_cards
from analysis.pipeline import analyse_dataset, combine
from analysis.settings import Settings
from analysis.synthetic import simulate


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("figs")
    pd.concat([simulate("emergent", 2, seed=1), simulate("inverse", 1, seed=3)]).to_csv(root / "d.csv", index=False)
    s = Settings(bootstrap=20)
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
    # the cache keeps only the last run's figures: a PNG each, and a flagged curve's SVG and 300-dpi PNG
    assert len([p for p in cache.glob("*.png") if not p.stem.endswith("-300dpi")]) == total
    assert len(list(cache.glob("*.svg"))) == len(list(cache.glob("*-300dpi.png"))) == len(finding_cards(relabelled))


def test_near_duplicate_curves_share_one_card_with_one_figure(tmp_path):
    """Issue 24: one card per finding (the same runs under acc and acc_norm), its figure embedded once, the
    other curve listed in it and reachable by its own permalink; every other card keeps its figure."""
    import re

    from analysis.report import build_report
    data = pd.concat([simulate("emergent", 2, seed=1), simulate("inverse", 1, seed=3)])
    twin = data[data["family"] == "emergent-0"].assign(metric="acc_norm")
    pd.concat([data, twin]).to_csv(tmp_path / "d.csv", index=False)
    s = Settings(bootstrap=20)
    run = combine([analyse_dataset(tmp_path / "d.csv", s, dataset="d")], s)
    em = run.curves[(run.curves["family"] == "emergent-0") & (run.curves["label"] == "emergent")]
    assert len(em) == 2 and em["finding"].nunique() == 1
    draw_figures(run.curves, run.fits, run.points, tmp_path / "figures")
    html = build_report({"curves": run.curves, "fits": run.fits, "points": run.points, "problems": run.problems},
                        tmp_path / "figures", {"bootstrap": 20})
    cards = re.findall(r'<div class="curve" id="([^"]+)">', html)
    flagged = run.curves["label"].isin(["emergent", "inverse", "u_shaped", "inverted_u"])
    assert len(cards) == flagged.sum() - 1
    assert html.count('<div class="curve"') == html.count('src="data:image/png') - 2   # + label counts + map
    assert "1 more curve(s) of this finding" in html
    # the card's curve has a figure; its near-duplicate is a row of the card, drawn in the task's panel
    drawn = {p.name for p in (tmp_path / "figures").glob("*.png")}
    assert sum(figure_name(cid) in drawn for cid in em["curve_id"]) == 1
    # each card links its SVG and 300-dpi PNG, files of the figures folder beside the report
    links = re.findall(r'<a href="(figures/[^"]+)" download>(SVG|PNG \(300 dpi\))</a>', html)
    assert len(links) == 2 * len(cards) and all((tmp_path / href).is_file() for href, _ in links)
    alts = re.findall(r'<img src="data:image/png;base64,[^"]+" alt="([^"]+)"', html)
    assert any(a.startswith("emergent: emergent-0") and "leaves the floor between" in a for a in alts)
    assert any(a.startswith("inverse:") and "falls with scale, change -" in a for a in alts)
    for cid in em["curve_id"]:
        assert f'id="{figure_name(cid)[:-4]}"' in html


def test_each_flagged_figure_has_an_svg_and_a_300_dpi_png_beside_it_and_reruns_write_the_same_bytes(run, tmp_path):
    """Issue 24: a figure to take away: a vector SVG and a PNG at 300 dpi beside each flagged curve's PNG,
    byte-identical on a rerun (no date, fixed ids), from the cache as when drawn; the report's cards
    link to both."""
    from PIL import Image
    a, b = tmp_path / "a", tmp_path / "b"
    draw_figures(run.curves, run.fits, run.points, a, cache_dir=tmp_path / "cache")
    n, drawn = draw_figures(run.curves, run.fits, run.points, b, cache_dir=tmp_path / "cache")
    assert drawn == 0
    shown = sorted(p.name[:-4] for p in a.glob("*.png") if not p.stem.endswith("-300dpi")
                   and p.stem not in ("labels",) and not p.stem.startswith("capability"))
    svgs = sorted(p.name[:-4] for p in a.glob("*.svg"))
    prints = sorted(p.name[:-len("-300dpi.png")] for p in a.glob("*-300dpi.png"))
    assert svgs and svgs == shown == prints
    for stem in svgs:
        svg = (a / f"{stem}.svg").read_bytes()
        assert svg.startswith(b"<?xml") and b"<svg" in svg and svg == (b / f"{stem}.svg").read_bytes()
        small, big = Image.open(a / f"{stem}.png"), Image.open(a / f"{stem}-300dpi.png")
        assert big.size == (small.size[0] * 3, small.size[1] * 3)        # the embedded one is at 100 dpi
        assert (a / f"{stem}-300dpi.png").read_bytes() == (b / f"{stem}-300dpi.png").read_bytes()
    assert not list(a.glob("*.pdf"))


def test_a_chain_of_thought_panel_has_the_task_without_it_beside_it(tmp_path):
    """Issue 24: chain of thought against standard prompting side by side, where both exist."""
    from analysis.report import _task_panels
    data = simulate("emergent", 1, seed=1).assign(benchmark="GSM8K", task="chain_of_thought")
    plain = simulate("flat", 1, seed=2).assign(benchmark="GSM8K", task="standard_prompting")
    plain["family"] = data["family"].iloc[0]
    pd.concat([data, plain]).to_csv(tmp_path / "d.csv", index=False)
    s = Settings(bootstrap=20)
    run = combine([analyse_dataset(tmp_path / "d.csv", s, dataset="d")], s)
    assert (run.curves.set_index("task").loc["chain_of_thought", "label"]) == "emergent"
    tasks = _task_panels(run.curves, run.points)
    assert len(tasks) == 1 and tasks[0]["title"].startswith("GSM8K · chain_of_thought")
    titles = [p["metric"] for p in tasks[0]["panels"]]
    assert titles[0] == "acc" and titles[1] == "standard_prompting (without chain of thought) · acc"
    assert [s["label"] for s in tasks[0]["panels"][1]["series"]] == [run.curves.set_index("task").loc[
        "standard_prompting", "label"]]


def test_a_very_long_cell_is_shortened_on_the_page_and_kept_in_the_tables(tmp_path):
    """Issue 25: a 50 MB name made a 53 MB report. The page shows at most `MAX_SHOWN` characters of a cell
    and says so; the tables keep the name whole."""
    from analysis.report import MAX_SHOWN, build_report
    data = simulate("emergent", 2, seed=1)
    long_name = "x" * 200_000
    data.loc[data.index[0], "model"] = long_name
    data.loc[data["family"] == data["family"].iloc[0], "task"] = "t" * 5_000
    data.to_csv(tmp_path / "d.csv", index=False)
    s = Settings(bootstrap=20)
    run = combine([analyse_dataset(tmp_path / "d.csv", s, dataset="d")], s)
    assert long_name in set(run.points["model"])
    draw_figures(run.curves, run.fits, run.points, tmp_path / "figures")
    html = build_report({"curves": run.curves, "fits": run.fits, "points": run.points, "problems": run.problems},
                        tmp_path / "figures", {"bootstrap": 20})
    assert len(html) < 1_000_000 and "x" * (MAX_SHOWN + 1) not in html and "t" * (MAX_SHOWN + 1) not in html
    assert "more characters]" in html and f"longer than {MAX_SHOWN} characters are shortened on this page" in html

"""The report in a real browser (Debian's headless Chromium over the DevTools protocol), as a reader uses it.

Skipped, with the reason, where Chromium is not installed; `.ci/run` installs it, so CI always runs these.
"""
from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from analysis.pipeline import analyse_dataset, combine
from analysis.report import build_report
from analysis.settings import Settings
from analysis.synthetic import simulate
from analysis.vocabulary import CAVEATS
from tests.browser import CHROMIUM, Browser

pytestmark = [pytest.mark.measurement,
              pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")]

XSS = "<script>window.pwned = 1</script>"
#: the page has unpacked its table and drawn it
READY = "!!document.body && document.body.dataset.ready === '1'"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A small run's report (no figures drawn), its curves and its points."""
    root = tmp_path_factory.mktemp("report")
    data = pd.concat([simulate("emergent", 3, seed=1), simulate("smooth", 2, seed=2), simulate("inverse", 2, seed=3),
                      simulate("flat", 2, seed=4), simulate("smooth", 2, n_sizes=3, seed=5).assign(task="few")])
    data.loc[data["family"] == "flat-1", "task"] = XSS
    # training tokens for two of the three emergent families (20 per parameter; emergent-0 has none)
    with_tokens = data["family"].isin(["emergent-1", "emergent-2"])
    data["tokens"] = np.where(with_tokens, 20 * data["params"], np.nan)
    data.to_csv(root / "d.csv", index=False)
    s = Settings(bootstrap=20)
    part = analyse_dataset(root / "d.csv", s, dataset="d")
    run = combine([part], s)
    # caveats as the run-wide step writes them (tests/test_caveats.py tests how they are found): a mirage on an
    # emergent curve, scores below chance on a flat one
    em = run.curves.index[run.curves["label"] == "emergent"][0]
    run.curves.loc[em, "caveats"] = "mirage;fragile"
    run.curves.loc[run.curves["family"] == "flat-0", "caveats"] = "below_chance"
    tables = {"curves": run.curves, "fits": run.fits, "points": run.points, "problems": run.problems}
    (root / "figures").mkdir()
    html = build_report(tables, root / "figures", {"bootstrap": 20})
    (root / "report.html").write_text(html, encoding="utf-8")
    return root / "report.html", run.curves, run.points


@pytest.fixture(scope="module")
def page(report):
    browser = Browser(1400, 1000)
    browser.open(report[0].as_uri(), READY)
    yield browser
    browser.close()


def points_of(report, family: str) -> pd.DataFrame:
    points = report[2]
    return points[(points["family"] == family) & (points["task"] == "emergent")]


def visible_rows(page) -> list[list[str]]:
    return page.evaluate("Array.from(document.querySelectorAll('#curves-table tbody tr.row'))"
                         ".map(r => Array.from(r.cells).slice(1).map(c => c.textContent))")


def column(page, name: str) -> int:
    return page.evaluate("window.curveData.columns").index(name)


def set_filters(page, search: str = "", **selects) -> str:
    """Set the search box and the select filters as a reader would; the row count line."""
    script = [f"const s = document.getElementById('filter'); s.value = {json.dumps(search)};"]
    script.append("document.querySelectorAll('#curve-controls select').forEach(x => x.value = '');")
    for col, value in selects.items():
        script.append(f"document.querySelector('select[data-col={col}]').value = {json.dumps(value)};")
    script.append("s.dispatchEvent(new Event('input'));")
    page.evaluate("(() => {" + "".join(script) + "})()")
    return page.evaluate("document.getElementById('curve-count').textContent")


def test_the_page_loads_with_no_errors_and_no_network(page, report):
    assert page.errors() == []
    assert page.requests() == [report[0].as_uri()]
    assert page.evaluate("window.pwned") is None           # a task named <script> is shown, never run


def test_a_label_filter_shows_exactly_that_label(page, report):
    curves = report[1]
    count = set_filters(page, label="emergent")
    n = int((curves["label"] == "emergent").sum())
    assert count.startswith(f"{n} of {len(curves)} curves")
    rows = visible_rows(page)
    assert len(rows) == n and {r[column(page, "label")] for r in rows} == {"emergent"}


def test_search_needs_every_word(page, report):
    curves = report[1]
    count = set_filters(page, search="emergent-1 emergent")
    expected = curves[curves["family"].str.contains("emergent-1") & (curves["label"] == "emergent")]
    assert count.startswith(f"{len(expected)} of ")
    assert {r[column(page, "family")] for r in visible_rows(page)} == set(expected["family"])
    count = set_filters(page, search="script")
    assert [r[column(page, "task")] for r in visible_rows(page)] == [XSS]   # drawn as text, literally


@pytest.mark.parametrize("clicks", [1, 2])
def test_sorting_puts_blanks_last_either_way(page, report, clicks):
    set_filters(page)
    i = column(page, "leaves the floor between")
    for _ in range(clicks):
        page.evaluate(f"document.querySelectorAll('#curves-table th button')[{i}].click()")
    values = [r[i] for r in visible_rows(page)]
    filled = [v for v in values if v]
    assert filled and values[:len(filled)] == filled and not any(values[len(filled):])
    assert all("–" in v for v in filled)                    # a bracket, not a point (issue 24)
    low = [v.split("–")[0] for v in filled]
    numbers = [float(v[:-1]) * {"M": 1e6, "B": 1e9}[v[-1]] for v in low]
    assert numbers == sorted(numbers, reverse=clicks == 2)
    page.evaluate(f"document.querySelectorAll('#curves-table th button')[{i}].click()" * (clicks % 2))


def test_keyboard_reaches_the_sort_and_the_details(page):
    set_filters(page)
    def enter():
        for kind in ("keyDown", "keyUp"):
            page.call("Input.dispatchKeyEvent", session=True, type=kind, key="Enter", code="Enter",
                      windowsVirtualKeyCode=13, **({"text": "\r"} if kind == "keyDown" else {}))

    page.evaluate("document.querySelectorAll('#curves-table th button')[1].focus()")
    enter()
    assert {"sorted-asc", "sorted-desc"} & set(page.evaluate(
        "Array.from(document.querySelectorAll('#curves-table th')[2].classList)"))
    page.evaluate("document.querySelector('#curves-table tbody tr.row').focus()")
    enter()
    assert page.evaluate("document.querySelectorAll('#curves-table tbody tr.detail').length") == 1


def test_a_permalink_opens_its_curve_with_the_reason(page, report):
    data = page.evaluate("window.curveData")
    n = len(data["columns"])
    target = next(r for r in data["rows"] if r[n + 1] and "emergent" in r)   # a flagged (card), emergent curve
    page.evaluate(f"location.hash = 'curve-{target[n]}'")
    detail = page.evaluate(f"document.getElementById('curve-{target[n]}').nextElementSibling.textContent")
    assert target[n + 2] in detail
    assert "target" in page.evaluate(f"document.getElementById('curve-{target[n]}').className")


def test_key_findings_name_the_emergent_and_declining_curves(page, report):
    curves = report[1]
    findings = page.evaluate("document.querySelector('.findings').textContent")
    for family in curves.loc[curves["label"] == "emergent", "family"]:
        assert f"{family} (leaves the floor between" in findings
    for family in curves.loc[curves["label"] == "inverse", "family"]:
        assert family in findings
    assert "could not be judged" in findings and "need 1 more" in findings   # the 3-size curves, and the fix


@pytest.mark.parametrize("width", [1400, 1024, 390])
def test_screenshots_are_not_blank(report, width, tmp_path):
    import matplotlib.image as mpimg
    browser = Browser(width, 900)
    try:
        browser.open(report[0].as_uri(), READY)
        png = browser.screenshot(tmp_path / f"report-{width}.png")
        wide = browser.evaluate("document.documentElement.scrollWidth")
    finally:
        browser.close()
    pixels = mpimg.imread(io.BytesIO(png), format="png")
    assert pixels.shape[1] == width and np.std(pixels) > 0.05
    assert wide <= width + 1   # no sideways scrolling of the page (wide tables scroll in their own box)


def test_each_task_with_a_flagged_curve_has_panels_with_every_family(page, report):
    curves = report[1]
    assert page.evaluate("document.body.dataset.tasksReady") == "1"
    tasks = page.evaluate("Array.from(document.getElementById('task-select').options).map(o => o.text)")
    flagged = curves[curves["label"].isin(["emergent", "inverse", "u_shaped", "inverted_u"])]
    assert len(tasks) == flagged[["benchmark", "task", "shots"]].drop_duplicates().shape[0]
    i = next(k for k, t in enumerate(tasks) if t.startswith("synthetic · emergent"))
    page.evaluate(f"(() => {{ const s = document.getElementById('task-select'); s.value = '{i}'; "
                  "s.dispatchEvent(new Event('change')); })()")
    same_task = curves[curves["task"] == "emergent"]
    assert page.evaluate("document.querySelectorAll('#task-panels polyline').length") == len(same_task)
    legend = page.evaluate("document.querySelector('#task-panels .legend').textContent")
    for family, label in zip(same_task["family"], same_task["label"]):
        assert f"{family}: {label}" in legend


def test_model_size_panels_can_be_drawn_over_training_compute(page, report):
    tasks = page.evaluate("Array.from(document.getElementById('task-select').options).map(o => o.text)")
    i = next(k for k, t in enumerate(tasks) if t.startswith("synthetic · emergent"))
    pick = ("(() => {{ const s = document.getElementById('{id}'); s.value = '{v}'; "
            "s.dispatchEvent(new Event('change')); }})()")
    page.evaluate(pick.format(id="task-select", v=i))
    page.evaluate(pick.format(id="task-axis", v="compute"))
    try:
        assert page.evaluate("document.querySelectorAll('#task-panels polyline').length") == 2
        assert "Not shown (training compute unknown): emergent-0" in page.evaluate(
            "document.getElementById('task-panels').textContent")
        assert "training FLOPs" in page.evaluate("document.querySelector('#task-panels svg').textContent")
        # each point at 6 · params · tokens (= 120 · params², tokens being 20 per parameter)
        titles = page.evaluate("Array.from(document.querySelectorAll('#task-panels svg :not(polyline) > title'))"
                               ".map(t => t.textContent)")
        shown = sorted(float(t.split(" at ")[1].split(":")[0]) for t in titles if t.startswith("emergent-1 at "))
        params = np.sort(points_of(report, "emergent-1")["params"].unique())
        assert np.allclose(shown, 120 * params ** 2, rtol=0.05), (shown, 120 * params ** 2)
        assert not any(t.startswith("emergent-0") for t in titles)
    finally:
        page.evaluate(pick.format(id="task-axis", v="scale"))
    assert page.evaluate("document.querySelectorAll('#task-panels polyline').length") == 3


def test_caveats_are_chips_on_the_label_in_the_findings_the_table_and_the_card(page, report):
    """Issue 24: a caveat sits next to the label it qualifies, with what it means on hover."""
    curves = report[1]
    em = curves[curves["caveats"].fillna("").str.contains("mirage")].iloc[0]
    set_filters(page, search=f"{em['family']} mirage")
    chips = page.evaluate("Array.from(document.querySelectorAll('#curves-table tbody tr.row .caveat'))"
                          ".map(c => [c.textContent.trim(), c.title])")
    assert [c[0] for c in chips] == ["⚠ mirage", "⚠ fragile"] and "continuous metric" in chips[0][1]
    set_filters(page, search="below chance")
    assert page.evaluate("document.querySelectorAll('#curves-table tbody tr.row .caveat').length") >= 1
    findings = page.evaluate("Array.from(document.querySelectorAll('.findings .caveat'))"
                             ".map(c => [c.textContent, c.title])")
    assert ["⚠ mirage", CAVEATS["mirage"]] in findings          # the page's one copy of the meaning, on hover
    cards = page.evaluate("Array.from(document.querySelectorAll('.curve .evidence p:first-child'))"
                          ".filter(p => p.querySelector('.caveat')).map(p => p.textContent)")
    assert any(em["family"] in c and "mirage" in c for c in cards)


def _badge_contrasts(page) -> dict:
    return page.evaluate("""(() => {
      const rgb = s => s.match(/[0-9.]+/g).slice(0, 3).map(Number).map(v => v / 255)
        .map(c => c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
      const lum = s => { const [r, g, b] = rgb(s); return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
      const out = {};
      for (const lab of ["emergent", "smooth", "inverse", "u_shaped", "inverted_u", "flat", "insufficient"]) {
        const el = document.createElement("span"); el.className = "label " + lab; el.textContent = lab;
        document.body.appendChild(el);
        const st = getComputedStyle(el), a = lum(st.color), b = lum(st.backgroundColor);
        out[lab] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); el.remove();
      }
      const chip = document.querySelector(".caveat");
      if (chip) { const st = getComputedStyle(chip), a = lum(st.color), b = lum(st.backgroundColor);
        out.caveat = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }
      return out; })()""")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_badges_pass_wcag_aa_contrast_from_the_page_styles(page, scheme):
    """Issue 24: every label badge and the caveat chip at 4.5:1 or better, computed from the page's own styles."""
    page.call("Emulation.setEmulatedMedia", session=True, features=[{"name": "prefers-color-scheme", "value": scheme}])
    try:
        ratios = _badge_contrasts(page)
    finally:
        page.call("Emulation.setEmulatedMedia", session=True, features=[])
    assert "caveat" in ratios
    low = {k: round(v, 2) for k, v in ratios.items() if v < 4.5}
    assert not low, f"{scheme}: {low}"


def test_the_table_draws_only_the_rows_in_view_however_many_are_shown(page):
    """Issue 24: with thousands of curves shown, sorting and opening a row redraw the rows in and around the
    view, never all of them (timings: benchmarks/report_table.py); the count and the order are still the
    whole table's."""
    set_filters(page)
    n0 = page.evaluate("window.curveData.rows.length")
    page.evaluate("(() => { const d = window.curveData, base = d.rows.slice();"
                  " for (let i = 0; i < 400; i++) base.forEach(r => d.rows.push(r.slice())); })()")
    try:
        n = page.evaluate("window.curveData.rows.length")
        assert n == 401 * n0 and n > 4000
        page.evaluate("document.getElementById('show-all').hidden = false; document.getElementById('show-all').click()")
        assert page.evaluate("document.getElementById('curve-count').textContent").startswith(f"{n:,} of {n:,}")
        i = column(page, "scales")
        page.evaluate(f"document.querySelectorAll('#curves-table th button')[{i}].click()")
        drawn = page.evaluate("document.querySelectorAll('#curves-table tbody tr.row').length")
        assert 0 < drawn <= 150
        values = [int(r[i]) for r in visible_rows(page)]
        assert values == sorted(values) and values[0] == min(int(r[i]) for r in page.evaluate(
            "window.curveData.rows"))
        height = page.evaluate("document.querySelector('#curves-table').getBoundingClientRect().height")
        assert height > 4000 * 20            # the spacers keep the scroll range of every row
        page.evaluate("document.querySelector('#curves-table tbody tr.row').click()")
        assert page.evaluate("document.querySelectorAll('#curves-table tbody tr.detail').length") == 1
        assert page.evaluate("document.querySelectorAll('#curves-table tbody tr.row').length") <= 150
        box = "document.querySelector('#curves-table').parentElement"
        page.evaluate(f"{box}.scrollTop = {box}.scrollHeight / 2; window.curveTable.draw()")
        middle = [int(r[i]) for r in visible_rows(page)]
        assert middle and middle == sorted(middle)
    finally:
        page.evaluate(f"window.curveData.rows.length = {n0}; window.curveTable.render()")
        page.evaluate(f"document.querySelectorAll('#curves-table th button')[{column(page, 'scales')}].click()")


def _last_download(page) -> tuple[str, str, bytes]:
    """(file name, type, bytes) of the last file the page offered for download."""
    import base64
    page.evaluate("window.lastDownloadText = null; window.lastDownload.blob.arrayBuffer().then(b => {"
                  " let s = ''; new Uint8Array(b).forEach(c => s += String.fromCharCode(c));"
                  " window.lastDownloadText = btoa(s); })")
    for _ in range(100):
        data = page.evaluate("window.lastDownloadText")
        if data is not None:
            break
        import time
        time.sleep(0.05)
    return (page.evaluate("window.lastDownload.name"), page.evaluate("window.lastDownload.blob.type"),
            base64.b64decode(data))


def _wait(page, script: str, tries: int = 100):
    import time
    for _ in range(tries):
        if page.evaluate(script):
            return True
        time.sleep(0.05)
    return False


def test_the_url_keeps_the_view_and_the_rows_download_as_csv(page, report):
    """Issue 24: search, filters, sort and the rows opened live in the URL, and a link restores them;
    "download these rows" gives the rows in view, header first."""
    count = set_filters(page, search="emergent", label="emergent")
    i = column(page, "q")
    page.evaluate(f"document.querySelectorAll('#curves-table th button')[{i}].click()")
    page.evaluate("document.querySelector('#curves-table tbody tr.row').click()")
    url = page.evaluate("location.href")
    assert "#curves?" in url and "label=emergent" in url and "sort=q" in url and "open=" in url
    rows = visible_rows(page)
    opened = page.evaluate("document.querySelectorAll('#curves-table tbody tr.detail').length")
    assert opened >= 1
    page.evaluate("document.getElementById('download-rows').click()")
    name, kind, body = _last_download(page)
    table = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    assert name.endswith(".csv") and kind == "text/csv"
    assert len(table) == int(count.split()[0]) == len(rows)
    assert table["family"].tolist() == [r[column(page, "family")] for r in rows]
    other = Browser(1400, 1000)
    try:
        other.open(url, READY)
        assert other.evaluate("document.getElementById('curve-count').textContent") == count
        assert other.evaluate("document.querySelector('select[data-col=label]').value") == "emergent"
        assert other.evaluate("document.getElementById('filter').value") == "emergent"
        assert [r for r in visible_rows(other)] == rows
        assert other.evaluate("document.querySelectorAll('#curves-table tbody tr.detail').length") == opened
    finally:
        other.close()
    set_filters(page)


def test_accuracy_panels_can_be_drawn_on_the_logit_scale(page):
    """Issue 24: a logit option for scores in [0, 1]: the panel says so, its ticks stay in the score's
    units and spread apart near 0 (where an emergent curve's floor is squeezed on a linear axis)."""
    assert _wait(page, "document.body.dataset.tasksReady === '1'")
    pick = "(v => { const s = document.getElementById('task-y'); s.value = v; s.dispatchEvent(new Event('change')); })"
    ticks = ("Array.from(document.querySelector('#task-panels svg').querySelectorAll('text[text-anchor=end]'))"
             ".map(t => t.textContent).filter(t => !t.includes('scale')).map(Number)")
    linear = page.evaluate(ticks)
    page.evaluate(pick + "('logit')")
    try:
        assert "logit scale" in page.evaluate("document.querySelector('#task-panels svg').textContent")
        logit = page.evaluate(ticks)
        assert len(logit) == 5 and all(0 < v < 1 for v in logit)
        t = np.log(np.array(sorted(logit)) / (1 - np.array(sorted(logit))))
        assert np.allclose(np.diff(t), np.diff(t).mean(), rtol=0.05)     # evenly spaced in logits
        gaps = np.diff(sorted(logit))
        assert gaps.max() > 1.1 * gaps.min()                             # not in score units
        assert np.allclose(np.diff(sorted(linear)), np.diff(sorted(linear))[0], rtol=0.05)
    finally:
        page.evaluate(pick + "('linear')")
    assert "logit scale" not in page.evaluate("document.querySelector('#task-panels svg').textContent")


def test_a_percent_panel_on_the_logit_scale_keeps_its_points_apart(tmp_path):
    """Scores written in percent go through the logit of score / 100 (not clipped at 99.5 %)."""
    data = simulate("emergent", 2, seed=1)
    data["score"], data["unit"] = data["score"] * 100, "percent"
    data["chance"] = data["chance"] * 100
    data.to_csv(tmp_path / "d.csv", index=False)
    s = Settings(bootstrap=20)
    run = combine([analyse_dataset(tmp_path / "d.csv", s, dataset="d")], s)
    (tmp_path / "figures").mkdir()
    html = build_report({"curves": run.curves, "fits": run.fits, "points": run.points, "problems": run.problems},
                        tmp_path / "figures", {"bootstrap": 20})
    (tmp_path / "report.html").write_text(html, encoding="utf-8")
    browser = Browser(1400, 1000)
    try:
        browser.open((tmp_path / "report.html").as_uri(), READY)
        assert _wait(browser, "document.body.dataset.tasksReady === '1'")
        browser.evaluate("(() => { const s = document.getElementById('task-y'); s.value = 'logit';"
                         " s.dispatchEvent(new Event('change')); })()")
        ticks = browser.evaluate(
            "Array.from(document.querySelector('#task-panels svg').querySelectorAll('text[text-anchor=end]'))"
            ".map(t => t.textContent).filter(t => !t.includes('scale')).map(Number)")
        heights = browser.evaluate("Array.from(document.querySelectorAll('#task-panels svg circle'))"
                                   ".map(c => Math.round(+c.getAttribute('cy')))")
        assert max(ticks) > 1 and min(ticks) < 50             # ticks in percent, spanning the scores
        assert len(set(heights)) > len(heights) / 2           # the points are not piled at a clip
    finally:
        browser.close()


def test_panels_and_cards_offer_svg_png_and_csv(page):
    """Issue 24: a task panel downloads as a valid SVG, a 300-dpi PNG and the CSV of its points; a card as its
    PNG and the CSV of its points."""
    import xml.etree.ElementTree as ET
    assert _wait(page, "document.body.dataset.tasksReady === '1'")
    got = {}
    for kind in ("svg", "png", "csv"):
        page.evaluate("window.lastDownload = null")
        page.evaluate(f"document.querySelector('#task-panels button[data-dl={kind}]').click()")
        assert _wait(page, "!!window.lastDownload"), kind
        got[kind] = _last_download(page)
    name, _, svg = got["svg"]
    assert name.endswith(".svg") and ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    name, kind, png = got["png"]
    assert name.endswith(".png") and kind == "image/png" and png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width >= 420 * 3                                  # 300 dpi of a 420-px panel
    table = pd.read_csv(io.BytesIO(got["csv"][2]))
    assert len(table) > 0 and {"family", "label"} <= set(table.columns)
    page.evaluate("window.lastDownload = null; document.querySelector('.curve button[data-card-csv]').click()")
    assert _wait(page, "!!window.lastDownload")
    points = pd.read_csv(io.BytesIO(_last_download(page)[2]))
    assert len(points) >= 4 and "model" in points.columns


def test_families_differ_by_marker_as_well_as_colour(page):
    """Issue 24: colour is never the only marker in the panels (a card's alt text: tests/test_figures.py)."""
    shapes = page.evaluate("Array.from(document.querySelectorAll('#task-panels .panel:first-child svg'))"
                           ".flatMap(s => Array.from(s.querySelectorAll('circle, rect, polygon, path'))"
                           ".map(e => e.tagName))")
    families = page.evaluate("document.querySelectorAll('#task-panels .panel:first-child .legend > span').length")
    assert families >= 2 and len(set(shapes)) >= 2
    legend = page.evaluate("Array.from(document.querySelectorAll('#task-panels .panel:first-child .legend b'))"
                           ".map(b => b.textContent)")
    assert len(set(legend)) == len(legend)                      # each family its own symbol
    # and each point its 95 % sampling interval (bounded metrics with item counts)
    assert page.evaluate("document.querySelectorAll('#task-panels .panel:first-child line.errorbar').length") > 0


def _pdf_pages(page) -> int:
    import base64
    import re
    pdf = base64.b64decode(page.call("Page.printToPDF", session=True, timeout=120)["data"])
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_printing_gives_a_summary_and_on_request_the_full_evidence(page):
    """Issue 24: printed, the report is its findings, maps and flagged cards (no table of every curve, no
    details); with "print the full evidence" ticked, everything. (The bundled data's summary: BENCHMARKS.md.)"""
    page.call("Emulation.setEmulatedMedia", session=True, media="print")
    try:
        shown = "(sel) => !!document.querySelector(sel) && document.querySelector(sel).getClientRects().length > 0"
        visible = lambda sel: page.evaluate(f"({shown})({json.dumps(sel)})")   # noqa: E731
        assert visible("#findings") and visible(".curve") and visible("#summary")
        assert not visible("#curves-table") and not visible("#methods") and not visible(".curve details")
        summary = _pdf_pages(page)
        page.evaluate("document.getElementById('print-full').click()")
        assert visible("#curves-table") and visible("#methods") and visible(".curve details")
        full = _pdf_pages(page)
        assert summary < full
    finally:
        page.evaluate("const b = document.getElementById('print-full'); if (b.checked) b.click()")
        page.call("Emulation.setEmulatedMedia", session=True, media="")


def test_the_family_picker_leaves_a_family_out_of_every_panel(page):
    """Issue 24: a family picker in the task panels; its choice holds across tasks until ticked again."""
    assert _wait(page, "document.body.dataset.tasksReady === '1'")
    boxes = page.evaluate("Array.from(document.querySelectorAll('#task-families input')).map(i => i.dataset.family)")
    assert len(boxes) >= 2
    before = page.evaluate("document.querySelectorAll('#task-panels polyline').length")
    name = boxes[0]
    page.evaluate("(() => { const b = document.querySelector('#task-families input'); b.checked = false;"
                  " b.dispatchEvent(new Event('change', {bubbles: true})); })()")
    try:
        legend = page.evaluate("document.getElementById('task-panels').textContent")
        assert page.evaluate("document.querySelectorAll('#task-panels polyline').length") < before
        assert f"{name}:" not in legend
    finally:
        page.evaluate("(() => { const b = document.querySelector('#task-families input'); b.checked = true;"
                      " b.dispatchEvent(new Event('change', {bubbles: true})); })()")
    assert page.evaluate("document.querySelectorAll('#task-panels polyline').length") == before

"""The report's table of every curve in a real browser: sorting, filtering and opening a row with every
curve shown, drawing the rows in view (the report's way) against drawing every row (the baseline), in
the same page and run.

    .venv/bin/python benchmarks/report_table.py [results/report.html] [--repeat 5]

Needs Debian's chromium. Prints the median milliseconds of each action (the script's work and the
layout it forces) and the ratio to the baseline.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser import Browser  # noqa: E402

READY = "!!document.body && document.body.dataset.ready === '1'"
ACTIONS = {
    "sort": "document.querySelectorAll('#curves-table th button')[3].click()",
    "open a row": "document.querySelector('#curves-table tbody tr.row').click()",
    "filter": "const s = document.getElementById('filter'); s.value = 'gsm8k'; s.dispatchEvent(new Event('input'));"
              "s.value = ''; s.dispatchEvent(new Event('input'))",
}


def timed(page, script: str) -> float:
    return page.evaluate("(() => { const t0 = performance.now(); " + script
                         + "; document.body.offsetHeight; return performance.now() - t0; })()")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("report", nargs="?", default="results/report.html")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    page = Browser(1400, 1000)
    try:
        page.open(Path(args.report).resolve().as_uri(), READY)
        page.evaluate("document.getElementById('show-all').click()")
        rows = page.evaluate("window.curveData.rows.length")
        print(f"{rows:,} curves shown; median of {args.repeat} runs, ms (script and forced layout)")
        print("| action | rows in view (the report) | every row (baseline) | ratio |\n|---|---|---|---|")
        for name, script in ACTIONS.items():
            fast = statistics.median(timed(page, script) for _ in range(args.repeat))
            # the baseline: the same action, then every row drawn, as the report did before issue 24
            slow = statistics.median(timed(page, script + "; window.curveTable.drawAll()") for _ in range(args.repeat))
            page.evaluate("window.curveTable.draw()")
            print(f"| {name} | {fast:.0f} | {slow:.0f} | {slow / fast:.0f}× |")
    finally:
        page.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

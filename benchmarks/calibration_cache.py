"""Recompute the calibration table shipped for the current code and default settings.

    .venv/bin/python benchmarks/calibration_cache.py

The workflow's calibrate step copies `analysis/calibration_cache/<digest>.csv`
where the digest of its code and settings (`analysis.calibration.digest`)
names one (the workflow's own configuration, workflow/config.yaml), and
computes the table otherwise (issue 26: the table depends on
the code and the settings, not on the data). Run this after a change to the
statistics; it removes the tables of earlier code. `tests/test_calibration.py`
checks that the shipped table is the current code's and, in the measurement
tier, that a recomputation gives the same bytes.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from analysis.calibration import CACHE_DIR, digest, table_csv  # noqa: E402
from analysis.deps import code_closure  # noqa: E402
from analysis.settings import Settings  # noqa: E402

SCRIPT = REPO / "workflow" / "scripts" / "calibrate.py"


def shipped_settings() -> Settings:
    """The settings of a run with the workflow's own configuration (workflow/config.yaml)."""
    return Settings.from_config(yaml.safe_load((REPO / "workflow" / "config.yaml").read_text(encoding="utf-8")))


def current_digest(settings: Settings | None = None) -> str:
    """The digest the workflow's calibrate step computes at these settings (default: the workflow's)."""
    return digest(settings or shipped_settings(), code_closure(SCRIPT, REPO))


def main() -> int:
    t0 = time.perf_counter()
    key = current_digest()
    CACHE_DIR.mkdir(exist_ok=True)
    target = CACHE_DIR / f"{key}.csv"
    target.write_text(table_csv(shipped_settings()), encoding="utf-8", newline="")
    for old in CACHE_DIR.glob("*.csv"):
        if old != target:
            old.unlink()
    print(f"{target.relative_to(REPO)} ({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

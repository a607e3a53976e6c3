"""The calibration table shipped for the current code (issue 26): a cold run copies it instead of
recomputing it, and it is exactly what a recomputation gives."""
import sys
from dataclasses import replace

import pytest

from analysis.calibration import CACHE_DIR, digest, run_calibration, table_csv
from analysis.settings import Settings
from tests.conftest import REPO

sys.path.insert(0, str(REPO / "benchmarks"))
from calibration_cache import SCRIPT, current_digest, shipped_settings  # noqa: E402


def test_the_shipped_table_is_the_current_codes():
    """After a change to the statistics, `benchmarks/calibration_cache.py` ships the new table (about a
    minute); without it every cold run recomputes it."""
    shipped = sorted(p.name for p in CACHE_DIR.glob("*.csv"))
    assert shipped == [f"{current_digest()}.csv"], \
        f"{shipped}: run .venv/bin/python benchmarks/calibration_cache.py to ship the current code's table"


def test_the_digest_follows_the_code_and_the_settings(tmp_path):
    from analysis.deps import code_closure
    code = code_closure(SCRIPT, REPO)
    base = digest(Settings(), code)
    assert digest(Settings(), code) == base
    assert digest(replace(Settings(), calibration_curves=10), code) != base
    assert digest(replace(Settings(), alpha=0.1), code) != base
    copies = []
    for f in code:                                      # the same files elsewhere: the same digest
        c = tmp_path / f.relative_to(REPO)
        c.parent.mkdir(parents=True, exist_ok=True)
        c.write_bytes(f.read_bytes())
        copies.append(c)
    assert digest(Settings(), copies, tmp_path) == base
    copies[0].write_bytes(copies[0].read_bytes() + b"\n# an edit\n")
    assert digest(Settings(), copies, tmp_path) != base


def test_the_step_copies_a_shipped_table_and_computes_without_one(tmp_path):
    from analysis.deps import code_closure
    code = [str(p) for p in code_closure(SCRIPT, REPO)]
    s = replace(Settings(), calibration_curves=0)        # an empty table: computed at once
    cache = tmp_path / "cache"
    cache.mkdir()
    out = tmp_path / "calibration.csv"
    run_calibration(s, str(out), code=code, cache_dir=cache)
    assert out.read_text() == table_csv(s)
    (cache / f"{digest(s, code)}.csv").write_text("sizes\n4\n")   # a shipped table is copied as it is
    run_calibration(s, str(out), code=code, cache_dir=cache)
    assert out.read_text() == "sizes\n4\n"


@pytest.mark.measurement
def test_the_shipped_table_is_what_a_recomputation_gives():
    """Byte for byte: copying it changes no result of a run (about a minute)."""
    shipped = CACHE_DIR / f"{current_digest()}.csv"
    assert shipped.read_text(encoding="utf-8") == table_csv(shipped_settings())

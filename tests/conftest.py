import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

HEADER = "model,family,params,benchmark,task,metric,score,unit,n_items,chance\n"

#: the tiers a plain `pytest` leaves out (pyproject's markers): the Snakemake runs, and the measurements
#: (fuzzing, the stress grid, the browser, the cluster, the audit at full size)
TIERS = ("workflow", "measurement")


def pytest_addoption(parser):
    parser.addoption("--all", action="store_true",
                     help="every tier: the default (unit and small integration tests), the Snakemake runs "
                          "(-m workflow) and the measurements (-m measurement); the README's test command")


def pytest_collection_modifyitems(config, items):
    """A plain `pytest` is the developer's loop: the tiers are run with --all, or chosen with -m."""
    if config.getoption("--all") or config.getoption("markexpr"):
        return
    keep = [item for item in items if not any(item.get_closest_marker(t) for t in TIERS)]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep


@pytest.fixture
def write_csv(tmp_path):
    """Write a CSV from text (dedented) and return its path."""
    def write(text: str, name: str = "x.csv") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path
    return write

"""The test tiers (issue 23): a plain `pytest` is the developer's loop, the README's command runs all."""
import re
import subprocess
import sys

from tests.conftest import REPO


def test_the_default_tier_leaves_out_the_snakemake_runs_and_the_measurements():
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    items = [line for line in out.splitlines() if "::" in line]
    assert items and not any(t.startswith(("tests/test_workflow.py", "tests/test_fuzz.py", "tests/test_browser.py"))
                             for t in items)
    kept, total, deselected = map(int, re.search(r"(\d+)/(\d+) tests collected \((\d+) deselected\)", out).groups())
    assert kept == len(items) and deselected == total - kept > 0


def test_ci_runs_the_readme_test_command_with_every_tier():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = next(line for line in readme.splitlines() if "pip install" in line and "pytest" in line)
    assert re.search(r"pytest --all$", command)
    assert command in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()

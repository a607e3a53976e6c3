"""The rules' code inputs: a script's import closure within the analysis package."""

import textwrap

from analysis.deps import code_closure
from tests.conftest import REPO

SCRIPTS = REPO / "workflow" / "scripts"


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def test_closure_follows_function_level_relative_and_package_imports(tmp_path):
    write(tmp_path, {
        "step.py": "from analysis.a import run\n",
        "analysis/__init__.py": "",
        "analysis/a.py": """
            import json

            def run():
                from . import b          # reached only here, inside a function
                return b.go()
        """,
        "analysis/b.py": "from .c import helper\nimport analysis.registry\n",
        "analysis/c.py": "from .sub.d import thing\n",
        "analysis/sub/__init__.py": "",
        "analysis/sub/d.py": "from .. import c\n",   # a cycle, relative two levels up
        "analysis/registry/__init__.py": "# finds its modules with pkgutil: no import statement shows them\n",
        "analysis/registry/one.py": "",
        "analysis/registry/two.py": "",
        "analysis/unused.py": "",
    })  # fmt: skip
    found = [p.relative_to(tmp_path.resolve()).as_posix() for p in code_closure(tmp_path / "step.py", tmp_path)]
    assert found == [
        "analysis/__init__.py", "analysis/a.py", "analysis/b.py", "analysis/c.py",
        "analysis/registry/__init__.py", "analysis/registry/one.py", "analysis/registry/two.py",
        "analysis/sub/__init__.py", "analysis/sub/d.py",
    ]  # fmt: skip


def test_real_scripts_reach_what_the_hand_kept_lists_missed():
    report = {p.relative_to(REPO).as_posix() for p in code_closure(SCRIPTS / "report.py", REPO)}
    assert "analysis/plots.py" in report  # report -> figures, which imports plots inside its functions only
    assert "analysis/loading.py" in report  # report -> findings -> vocabulary -> loading: transitive
    # issue 23: a change to a test does not rerun the report
    assert not any(p.startswith("analysis/stats/") for p in report)
    assert "analysis/calibration.py" not in report and "analysis/deps.py" not in report
    imports = {p.relative_to(REPO).as_posix() for p in code_closure(SCRIPTS / "import_dataset.py", REPO)}
    assert {"analysis/importers/lm_eval.py", "analysis/importers/wide.py", "analysis/loading.py"} <= imports
    assert not any(p.startswith("analysis/stats/") for p in imports)


def test_a_kept_closure_is_read_until_a_file_changes(tmp_path):
    """The workflow keeps the closures between runs (a no-op rerun parses nothing); an edit, a new
    module or a removed one must still be seen by the next run."""
    write(tmp_path, {"step.py": "from analysis.a import run\n", "analysis/__init__.py": "",
                     "analysis/a.py": "", "analysis/b.py": ""})
    store = tmp_path / "kept" / "closures.json"

    def found():
        return [p.name for p in code_closure(tmp_path / "step.py", tmp_path, store=store)]

    assert found() == ["__init__.py", "a.py"] and store.is_file()
    assert found() == ["__init__.py", "a.py"]                       # read from the store
    write(tmp_path, {"analysis/a.py": "from . import b\n"})         # an edit (its size changes)
    assert found() == ["__init__.py", "a.py", "b.py"]
    write(tmp_path, {"analysis/a.py": "import json\n"})             # and its import removed
    assert found() == ["__init__.py", "a.py"]
    store.write_text("not json")                                    # a damaged store is recomputed
    assert found() == ["__init__.py", "a.py"]

"""The package's import graph (issue 23): no cycle, and what readers see does not import the statistics.

Imports are read from the source (`ast`), at module level and inside functions alike (a lazy import is an
import), but not under `if TYPE_CHECKING:`. The model registry's discovery (`importlib` over
`analysis/models/`) counts as the package importing each model module.
"""
import ast
from pathlib import Path

from tests.conftest import REPO

ROOT = REPO / "analysis"
#: what readers see, and what checks data without fitting
PRESENTATION = ("analysis.report", "analysis.figures", "analysis.plots", "analysis.findings", "analysis.vocabulary",
                "analysis.validation", "analysis.check")
STATISTICS = ("analysis.fitting", "analysis.stats", "analysis.noise", "analysis.pipeline", "analysis.labels")


def _name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts}


def _resolve(dotted: str) -> str | None:
    """The deepest module of the package a dotted name lives in (``analysis.models.power.fit_power`` ->
    ``analysis.models.power``)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in MODULES:
            return ".".join(parts[:i])
    return None


def _type_checking_nodes(tree) -> set[int]:
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    return skip


def imports(name: str) -> set[str]:
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{a.name}" for a in node.names]
        else:
            continue
        out.update(t for t in map(_resolve, targets) if t and t != name)
    if name == "analysis.models":                      # the registry imports every model module
        out.update(m for m in MODULES if m.startswith("analysis.models."))
    return out


GRAPH = {name: imports(name) for name in MODULES}


def _reachable(start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in GRAPH[todo.pop()] - seen:
            seen.add(nxt); todo.append(nxt)
    return seen


def test_the_package_has_no_import_cycle():
    cycles = sorted(name for name in GRAPH if name in _reachable(name))
    assert not cycles, f"modules on an import cycle: {cycles}"


def test_presentation_and_validation_do_not_import_the_statistics():
    for name in PRESENTATION:
        assert name in GRAPH, name
        bad = sorted(_reachable(name) & set(STATISTICS))
        assert not bad, f"{name} imports {bad}"


def test_the_graph_sees_lazy_imports():
    """The check itself: a function-level import is an edge (the cycle issue 23 found was lazy)."""
    assert "analysis.pipeline" in GRAPH["analysis.stress_run"]
    assert "analysis.engine" in GRAPH["analysis.models.power"]


def test_each_test_has_its_own_module_and_returns_a_test_result():
    """Issue 23: the statistics split by test. Each public ``*_test`` of `analysis.stats` lives in the module of
    its test, returns a `TestResult` (its annotation says so) and names the `Test` it ran; multiple testing
    has a module of its own, which no test module imports."""
    import typing

    import analysis.stats as stats
    from analysis.stats.common import Test, TestResult
    tests = {name: f for name, f in vars(stats).items() if name.endswith("_test") and callable(f)}
    assert {"trend_test", "two_lines_test", "emergence_test", "width_test", "sharpness_test",
            "smooth_fit_test"} <= set(tests)
    for name, f in tests.items():
        assert typing.get_type_hints(f)["return"] is TestResult, name
        assert f.__module__ != "analysis.stats.common", name
    records = {m: [v for v in vars(__import__(m, fromlist=["x"])).values() if isinstance(v, Test)]
               for m in {f.__module__ for f in tests.values()}}
    assert all(records.values()), records
    for m in {f.__module__ for f in tests.values()}:
        assert "analysis.stats.multiple_testing" not in GRAPH[m], m

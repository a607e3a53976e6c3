"""The input kinds, found by themselves: every module of this package that defines ``IMPORTER``.

Adding a kind (HELM results, BIG-bench JSON) is one module here, one example
under ``examples/<kind>/`` and one test; nothing else names the kinds.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from ..problems import Problem
from .base import Importer

_NOT_KINDS = {"base", "registry"}
_IMPORTERS: dict[str, Importer] = {}


def find_importers(package: str, path: list[str]) -> list[Importer]:
    """The ``IMPORTER`` of every module of a package (by its ``__name__`` and ``__path__``)."""
    found = []
    for info in pkgutil.iter_modules(path):
        if info.name.startswith("_") or info.name in _NOT_KINDS:
            continue
        module = importlib.import_module(f"{package}.{info.name}")
        importer = getattr(module, "IMPORTER", None)
        if isinstance(importer, Importer):
            found.append(importer)
    return found


def register(importer: Importer) -> Importer:
    """Add an input kind (the package's own modules are added on import)."""
    if importer.kind in _IMPORTERS and _IMPORTERS[importer.kind] is not importer:
        raise ValueError(f"input kind {importer.kind!r} is registered twice")
    _IMPORTERS[importer.kind] = importer
    return importer


def unregister(kind: str) -> None:
    _IMPORTERS.pop(kind, None)


def importers() -> dict[str, Importer]:
    """The registered input kinds by name, in name order."""
    return dict(sorted(_IMPORTERS.items()))


def importer_for(path: str | Path) -> Importer | None:
    """The kind that claims a path given to ``convert()`` (None: a contract CSV)."""
    path = Path(path)
    claimed = [imp for imp in importers().values() if imp.claims(path)]
    if len(claimed) > 1:
        kinds = ", ".join(imp.kind for imp in claimed)
        raise ValueError(f"{path} is claimed by more than one input kind ({kinds})")
    return claimed[0] if claimed else None


class DatasetDefinedTwice(ValueError):
    pass


def find_datasets(data: str | Path) -> dict[str, tuple[str | None, Path]]:
    """Every dataset in a data folder: {id: (input kind, or None for a contract CSV; its source)}.

    A contract CSV is ``<data>/<id>.csv``; every registered kind discovers its own.
    An id found twice is an error that names both places.
    """
    data = Path(data)
    found: dict[str, list[tuple[str | None, Path]]] = {}
    for csv in sorted(data.glob("*.csv")):
        found.setdefault(csv.stem, []).append((None, csv))
    for kind, importer in importers().items():
        for dataset, source in importer.discover(data).items():
            found.setdefault(dataset, []).append((kind, source))
    # an id that cannot name a results folder, or input that is not a regular file inside the data
    # folder (a link out of it, a pipe), is not read: unread_files says why
    found = {d: [(k, s) for k, s in places if _readable(data, _essential(k, s))]
             for d, places in found.items() if not id_problem(d)}
    found = {d: places for d, places in found.items() if places}
    twice = {d: places for d, places in found.items() if len(places) > 1}
    if twice:
        where = "; ".join(f"{d}: {', '.join(str(s) for _, s in places)}" for d, places in sorted(twice.items()))
        layouts = ", ".join([f"{data}/<id>.csv", *(f"{data}/{imp.layout}" for imp in importers().values())])
        raise DatasetDefinedTwice(
            f"dataset id(s) {', '.join(sorted(twice))} defined twice ({where}; a dataset is one of {layouts}): "
            "rename one of them"
        )
    return {d: places[0] for d, places in sorted(found.items())}


#: what Snakemake takes for a runaway rule: a value ending in a substring repeated 20 times or more
_PERIODIC = re.compile(r"(.+)\1{19,}$")
#: ids become file names with suffixes such as ".problems.csv": leave room under the usual 255-byte limit
MAX_ID_BYTES = 200


def id_problem(dataset: str) -> str | None:
    """Why a dataset id cannot name a results folder and a Snakemake wildcard (None if it can)."""
    if not dataset or dataset.startswith("."):
        return "starts with a dot"
    if any(c in dataset for c in "/\\{}") or not dataset.isprintable():
        return "holds a character that cannot be in a results path or a wildcard (/, \\, {, } or a control character)"
    if len(dataset.encode()) > MAX_ID_BYTES:
        return f"is longer than {MAX_ID_BYTES} bytes"
    if _PERIODIC.search(dataset):
        return "ends in one piece repeated 20 times or more, which Snakemake refuses as a wildcard"
    return None


def valid_id(dataset: str) -> bool:
    """A dataset id names a results folder and a wildcard (see `id_problem`)."""
    return id_problem(dataset) is None


def _resolved(path: Path) -> Path | None:
    """Where a path leads, or None for a link that leads nowhere (dangling, or a loop)."""
    try:
        return None if path.is_symlink() and not path.exists() else path.resolve()
    except (OSError, RuntimeError):      # a loop (RuntimeError before Python 3.13)
        return None


def _outside(data: Path, path: Path) -> bool:
    """A path that is, or links to, something outside the data folder (or nowhere)."""
    where = _resolved(path)
    return where is None or not where.is_relative_to(data.resolve())


def _essential(kind: str | None, source: Path) -> list[Path]:
    """The inputs a dataset cannot be read without: a file's every input (a wide table and its sidecar);
    a folder itself (its member files are its importer's to read or refuse, each costing only itself)."""
    if kind is None:
        return [source]
    return [source] if Path(source).is_dir() else list(importers()[kind].inputs(source))


def _readable(data: Path, paths) -> bool:
    """Every input exists as a regular file (or a dataset's folder) inside the data folder (missing ones are the
    importer's to say)."""
    return all((not p.exists() and not p.is_symlink()) or ((p.is_file() or p.is_dir()) and not _outside(data, p))
               for p in map(Path, paths)) and \
        not any(_outside(data, Path(p).parent) for p in paths)


#: files in the data folder that are documentation, not data
_NOT_DATA = {".md", ".rst"}


def unread_files(data: str | Path) -> list[Problem]:
    """Every file in the data folder that no dataset reads, each with what to do about it.

    Nothing the user put in data/ is passed over without a word: a `.CSV` or `.xlsx` file, a wide
    table without its sidecar, harness files without models.csv, a name that cannot be a dataset id.
    Hidden files and documentation (`.md`) are not data.
    """
    data = Path(data)
    read: set[Path] = set()
    for kind, source in find_datasets(data).values():
        read |= {_resolved(p) for p in (importers()[kind].inputs(source) if kind else [source])} - {None}
    layouts = ", ".join([f"{data}/<id>.csv", *(f"{data}/{imp.layout}" for imp in importers().values())])
    out = []
    for path in sorted(p for p in data.rglob("*") if not p.is_dir() or p.is_symlink()):
        rel = path.relative_to(data)
        hidden = any(part.startswith(".") for part in rel.parts) and rel.suffix.lower() != ".csv"
        if _resolved(path) in read or hidden or path.suffix in _NOT_DATA:
            continue
        out.append(Problem(str(path), None, None, _unread_reason(rel, data, layouts)))
    return out


def _unread_reason(rel: Path, data: Path, layouts: str) -> str:
    suffix = rel.suffix.lower()
    top = len(rel.parts) == 1
    path = data / rel
    if _resolved(path) is None:
        return ("is not read: it is a link that leads nowhere (to a file that does not exist, or round in a loop); "
                "replace it with the file itself")
    if _outside(data, path):
        return ("is not read: it is a link to something outside the data folder, and only files inside it are "
                "read; copy the file into the data folder instead")
    if not path.is_file():
        return "is not read: it is not a regular file (a pipe, socket or device); save the data as a file"
    if suffix == ".csv" and id_problem(rel.stem):
        return (f"is not read: its name gives the dataset id {rel.stem!r}, which {id_problem(rel.stem)}; "
                "rename the file (letters, digits, - _ and . not first)")
    if top and suffix == ".csv":
        return f"is not read: rename it to {rel.stem}.csv (lower-case .csv)"
    if suffix in (".xlsx", ".xls", ".xlsm", ".ods", ".numbers"):
        return f"is not read: a spreadsheet must be saved as CSV UTF-8 ({data / rel.with_suffix('.csv')})"
    if suffix in (".tsv", ".txt", ".dat"):
        return f"is not read: save it comma-separated as {data / rel.with_suffix('.csv')}"
    if rel.parts[0] == "wide" and suffix == ".csv":
        return f"is not read: a wide table needs its sidecar {data / rel.with_suffix('.yaml')}"
    if rel.parts[0] == "lm-eval" and len(rel.parts) == 3:
        if (path.parent / "models.csv").is_file():
            return "is not read: harness files must end in .json (lower case), and models.csv name them"
        return f"is not read: a harness folder needs a models.csv ({data / rel.parent / 'models.csv'})"
    if suffix == ".json":
        return "is not read: harness output goes in its own folder with a models.csv"
    return f"is not read: it is not part of any dataset (a dataset is one of {layouts})"


def markdown_table() -> str:
    """The registered input kinds as docs/USAGE.md lists them (a test keeps the two in step)."""
    rows = ["| input kind | layout under the data folder | per-dataset options |", "|---|---|---|"]
    rows += [f"| `{imp.kind}` | {imp.layout} | {', '.join(f'`{o}`' for o in imp.options) or 'none'} |"
             for imp in importers().values()]
    return "\n".join(rows)

"""The input kinds, found by themselves: every module of this package that defines ``IMPORTER``.

Adding a kind (HELM results, BIG-bench JSON) is one module here, one example
under ``examples/<kind>/`` and one test; nothing else names the kinds.
"""

from __future__ import annotations

import importlib
import pkgutil
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
    found = {d: places for d, places in found.items() if valid_id(d)}
    twice = {d: places for d, places in found.items() if len(places) > 1}
    if twice:
        where = "; ".join(f"{d}: {', '.join(str(s) for _, s in places)}" for d, places in sorted(twice.items()))
        layouts = ", ".join([f"{data}/<id>.csv", *(f"{data}/{imp.layout}" for imp in importers().values())])
        raise DatasetDefinedTwice(
            f"dataset id(s) {', '.join(sorted(twice))} defined twice ({where}; a dataset is one of {layouts}): "
            "rename one of them"
        )
    return {d: places[0] for d, places in sorted(found.items())}


def valid_id(dataset: str) -> bool:
    """A dataset id names a results folder and a wildcard: no leading dot, no path or control characters."""
    return bool(dataset) and not dataset.startswith(".") and not any(c in dataset for c in "/\\") and \
        dataset.isprintable()


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
        read |= {p.resolve() for p in (importers()[kind].inputs(source) if kind else [source])}
    layouts = ", ".join([f"{data}/<id>.csv", *(f"{data}/{imp.layout}" for imp in importers().values())])
    out = []
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        rel = path.relative_to(data)
        hidden = any(part.startswith(".") for part in rel.parts) and rel.suffix.lower() != ".csv"
        if path.resolve() in read or hidden or path.suffix in _NOT_DATA:
            continue
        out.append(Problem(str(path), None, None, _unread_reason(rel, data, layouts)))
    return out


def _unread_reason(rel: Path, data: Path, layouts: str) -> str:
    suffix = rel.suffix.lower()
    top = len(rel.parts) == 1
    if suffix == ".csv" and not valid_id(rel.stem):
        return (f"is not read: its name gives the dataset id {rel.stem!r}, which cannot name a results folder; "
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
        return f"is not read: a harness folder needs a models.csv ({data / rel.parent / 'models.csv'})"
    if suffix == ".json":
        return "is not read: harness output goes in its own folder with a models.csv"
    return f"is not read: it is not part of any dataset (a dataset is one of {layouts})"

"""The input kinds, found by themselves: every module of this package that defines ``IMPORTER``.

Adding a kind (HELM results, BIG-bench JSON) is one module here, one example
under ``examples/<kind>/`` and one test; nothing else names the kinds.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

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
    twice = {d: places for d, places in found.items() if len(places) > 1}
    if twice:
        where = "; ".join(f"{d}: {', '.join(str(s) for _, s in places)}" for d, places in sorted(twice.items()))
        layouts = ", ".join([f"{data}/<id>.csv", *(f"{data}/{imp.layout}" for imp in importers().values())])
        raise DatasetDefinedTwice(
            f"dataset id(s) {', '.join(sorted(twice))} defined twice ({where}; a dataset is one of {layouts}): "
            "rename one of them"
        )
    return {d: places[0] for d, places in sorted(found.items())}

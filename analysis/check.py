"""One input checked as the run checks it, without the run: `emergence-validate FILE...` and `emergence-import`.

Each FILE is what the run accepts in data/: a contract CSV, a wide table with its .yaml sidecar, a harness
folder (any registered input kind). It is read by the run's own functions (`convert`, `prepare_points`),
so the command says exactly the problems `validate_data` would, then one line per file. The exit status
answers "can the run use it?" for scripts: 0 every row is analysed (warnings or not), 1 rows are set aside,
2 nothing of a file can be analysed (unreadable, empty, no score imported, every row set aside).
`emergence-import` prints one input as contract rows, with the same check and status. The commands live
here, not in `analysis.importers`, which the workflow's import step runs: a change to them reruns no import.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from jsonschema import ValidationError

from .csvtable import read_table
from .importers import convert, importer_for, importers
from .importers.base import relocate
from .problems import Problem
from .settings import Settings, for_dataset, with_defaults
from .validation import prepare_points

#: the run's configuration, read when it is there (per-dataset x axis, split_by, importer options)
RUN_CONFIG = Path("workflow", "config.yaml")
READY, SET_ASIDE, UNUSABLE = 0, 1, 2


@dataclass(frozen=True)
class Checked:
    """What the run would make of one input: its problems (as the run says them) and counts."""

    source: str
    problems: list[Problem]
    rows: int  # contract rows read (for an input kind: the scores its importer made)
    analysed: int  # rows that reach a curve
    warned: int  # of those, rows a warning names
    curves: int
    imported: bool = False
    left_out: int = 0  # the importer's problems that leave input out (a file, a metric): not rows of the contract

    @property
    def set_aside(self) -> int:
        return self.rows - self.analysed

    @property
    def status(self) -> int:
        """0 analysed as given (warnings aside), 1 rows set aside, 2 nothing to analyse."""
        if not self.analysed:
            return UNUSABLE
        return SET_ASIDE if any(not p.kept for p in self.problems) else READY

    def summary(self) -> str:
        read = "imported" if self.imported else "read"
        line = (f"{self.source}: {_many(self.rows, 'row')} {read}, {self.warned:,} kept with warnings, "
                f"{self.set_aside:,} set aside, {_many(self.curves, 'curve')}")
        if self.left_out:
            line += f"; the import left input out ({_many(self.left_out, 'problem')} above)"
        return line + ("; nothing in it can be analysed" if self.status == UNUSABLE else "")


def _many(n: int, thing: str) -> str:
    return f"{n:,} {thing}{'' if n == 1 else 's'}"


def dataset_id(source: Path) -> str:
    """The id the run gives this input in data/: a file's stem, a folder's name."""
    return source.name if source.is_dir() else source.stem


def import_options(config: dict, dataset: str) -> dict:
    """The dataset's own settings, of which `convert` hands its importer those it declares."""
    return config.get("datasets", {}).get(dataset, {})


def is_contract(source: Path) -> bool:
    """A file no input kind claims: read as data/<id>.csv is."""
    return importer_for(source) is None and not source.is_dir()


def check_input(source: str | Path, config: dict | None = None,
                converted: tuple[pd.DataFrame, list[Problem]] | None = None) -> Checked:
    """Check one input as `validate_data` does: a contract CSV as it is, any other kind imported first.

    `config`: the run's configuration (its per-dataset settings apply); `converted`: `convert()`'s
    answer for `source` when the caller already has it (the import is not done twice).
    """
    source, config = Path(source), config or {}
    dataset = dataset_id(source)
    settings = Settings.from_config(for_dataset(config, dataset))
    if is_contract(source):
        return _check_contract(source, dataset, settings, rows=read_table(source).n_rows)
    rows, said = converted or convert(source, import_options(config, dataset))
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp, "imported.csv")  # as results/imported/<kind>/<id>.csv; problems are moved to the source
        rows.to_csv(csv, index=False)
        return _check_contract(csv, dataset, settings, rows=len(rows), source=source, imported=said)


def _check_contract(csv: Path, dataset: str, settings: Settings, rows: int, source: Path | None = None,
                    imported: list[Problem] = ()) -> Checked:
    label = str(csv)
    curves, points, problems = prepare_points(csv, settings.x_axis, tuple(settings.split_by), dataset, label,
                                              catalogue=settings.catalogue, max_file_mb=settings.max_file_mb)
    analysed = set(points["row"].astype(int))
    warned = {p.row for p in problems if p.kept and p.file == label and p.row in analysed}
    said = relocate(problems, csv, label, str(source)) if source else problems
    return Checked(str(source or csv), [*imported, *said], rows, len(points), len(warned), len(curves),
                   imported=source is not None, left_out=sum(not p.kept for p in imported))


def read_config(path: str | None) -> dict:
    """The run's configuration, validated and with its defaults as the workflow has it: the file given,
    else workflow/config.yaml when run from the repository."""
    if path is None and not RUN_CONFIG.is_file():
        return with_defaults({})
    with open(path or RUN_CONFIG, encoding="utf-8") as f:
        return with_defaults(yaml.safe_load(f) or {})


def _config(parser: argparse.ArgumentParser, path: str | None) -> dict:
    try:
        return read_config(path)
    except (OSError, yaml.YAMLError) as exc:
        parser.error(f"--configfile: {exc}")
    except ValidationError as exc:
        parser.error(f"--configfile: {exc.message} (at {'.'.join(map(str, exc.absolute_path)) or 'the top'})")


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description + (
        " Exit status: 0 every row can be analysed (with or without warnings), 1 rows are set aside, 2 nothing "
        "in a file can be analysed."))
    parser.add_argument("--configfile", metavar="FILE",
                        help=f"the run's configuration (default: {RUN_CONFIG} when it exists here): "
                             "per-dataset x axis, split_by and importer options apply as in the run")
    return parser


def quiet_on_closed_pipe(write: Callable[[], None]) -> None:
    """Write to stdout; a reader that stops early (`| head -1`) ends the output, not with a traceback.

    As the Python docs recommend (signal handling, "Note on SIGPIPE"): stdout is pointed at devnull,
    so that the interpreter's last flush does not fail again; the caller's exit status still stands.
    """
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def main(argv: list[str] | None = None) -> int:
    """`emergence-validate FILE...`: every problem on stdout, then one line per file."""
    parser = _parser("emergence-validate", "Check input files as the run would, without fitting: every "
                                           "problem, then one line per file.")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help=f"a contract CSV or an input of a registered kind ({', '.join(importers())})")
    args = parser.parse_args(argv)
    config = _config(parser, args.configfile)
    checked = [check_input(f, config) for f in args.files]

    def write() -> None:
        for c in checked:
            for p in c.problems:
                print(p)
            print(c.summary())
    quiet_on_closed_pipe(write)
    return max(c.status for c in checked)


def import_main(argv: list[str] | None = None) -> int:
    """`emergence-import SOURCE`: the contract rows on stdout (or a file); every problem the run would say
    of them (the importer's, then validation's) and the summary on stderr."""
    parser = _parser("emergence-import", "Print any supported input as the data contract CSV (problems and "
                                         "the summary go to stderr).")
    parser.add_argument("source", help=f"an input of a registered kind ({', '.join(importers())}) or a contract CSV")
    parser.add_argument("-o", "--output", help="write to this file instead of printing")
    args = parser.parse_args(argv)
    config = _config(parser, args.configfile)
    converted = convert(args.source, import_options(config, dataset_id(Path(args.source))))
    checked = check_input(args.source, config, converted)
    for p in checked.problems:
        print(p, file=sys.stderr)
    print(checked.summary(), file=sys.stderr)
    if args.output:
        converted[0].to_csv(args.output, index=False)
    else:
        quiet_on_closed_pipe(lambda: converted[0].to_csv(sys.stdout, index=False))
    return checked.status


if __name__ == "__main__":
    sys.exit(main())

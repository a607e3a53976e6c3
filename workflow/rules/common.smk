# Helpers shared by the rules: configuration, dataset discovery, code inputs.
import hashlib
import re
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger
from snakemake.utils import validate

# the repository this file belongs to: the top level, or wherever a `module` that uses it lives
# (workflow.basedir is the outer workflow's folder there)
REPO = str(Path(workflow.current_basedir).parents[1])
sys.path.insert(0, REPO)  # the analysis package, even where it is not installed
from analysis import runsummary
from analysis import settings as run_settings
from analysis.deps import code_closure
from analysis.importers import DatasetDefinedTwice, find_datasets, importers, unread_files
from analysis.shard_plan import data_rows, estimated_curves, shard_ids

# every setting's default and meaning lives in the schema; the config only overrides
validate(config, schema=str(run_settings.SCHEMA_PATH))
config.update(run_settings.with_defaults(config))

DATA = Path(config["data_dir"])
RESULTS = Path(config["results_dir"])
# A dataset is a contract CSV (data/<id>.csv) or an input of a kind that an
# importer reads (analysis/importers/: data/lm-eval/<id>/, data/wide/<id>.yaml, ...).
IMPORTERS = importers()
try:
    _FOUND = find_datasets(DATA)
except DatasetDefinedTwice as exc:
    raise WorkflowError(str(exc)) from None
DATASETS = sorted(_FOUND)
# what the user gave for each dataset (a file or a folder): the run's summary names it
DATASET_FILES = {d: str(source) for d, (kind, source) in _FOUND.items()}
IMPORTED = {d: kind_source for d, kind_source in _FOUND.items() if kind_source[0] is not None}
# files in the data folder that no dataset reads: said now, and listed in rejected.csv
UNREAD = [[p.file, p.message] for p in unread_files(DATA)]
for _file, _message in UNREAD:
    logger.warning(f"{_file}: {_message}")


# The analysis code is an input of every rule that runs it, as the script's
# import closure (analysis/deps.py): a change to the statistics reruns the
# analysis, a change to a figure only the figures and the report.
# Snakemake would print them for every job it starts: each rule's `message:` says
# what the job does and where its log is instead.
# The closures are kept between runs, stamped with every file's time and size (no parse when
# nothing changed).
CODE_CLOSURES = Path(".snakemake", "emergence_atlas", "code_closures.json")


def code_inputs(script):
    """The analysis package's source files that workflow/scripts/<script>.py imports."""
    path = os.path.join(REPO, "workflow", "scripts", f"{script}.py")
    return [str(p) for p in code_closure(path, REPO, store=CODE_CLOSURES)]


# the measured error rates on realistic null data (benchmarks/stress.py), shown in the report when present
STRESS_TABLE = [p for p in [Path(REPO, "benchmarks", "stress.csv")] if p.exists()]
TEMPLATES = sorted(str(p) for p in Path(REPO, "analysis", "templates").iterdir())
ENV = "../envs/analysis.yaml"

# Settings a step does not read stay out of its params: a changed param reruns
# the step (the calibration's size does not touch the data's analysis).
CALIBRATION_SETTINGS = {k: v for k, v in config.items() if k not in run_settings.LOCATION_KEYS}
ANALYSIS_SETTINGS = {k: v for k, v in CALIBRATION_SETTINGS.items() if k not in run_settings.CALIBRATION_KEYS}


def dataset_settings(wildcards):
    """The run's settings with this dataset's overrides (e.g. its x axis) applied."""
    return run_settings.for_dataset({**ANALYSIS_SETTINGS, "datasets": config["datasets"]}, wildcards.dataset)


def dataset_csv(dataset):
    """The contract CSV of a dataset: the user's file, or what an importer made of theirs."""
    if dataset in IMPORTED:
        return RESULTS / f"imported/{IMPORTED[dataset][0]}/{dataset}.csv"
    return DATA / f"{dataset}.csv"


def data_source(wildcards):
    """What the user gave for an imported dataset ('' for a contract CSV): problems name its files."""
    return str(IMPORTED[wildcards.dataset][1]) if wildcards.dataset in IMPORTED else ""


def data_digest(paths):
    """The content of the user's files, as a param: a file edited while its job ran is newer in
    content than its results though older in time, and the changed param reruns the job."""
    digest = hashlib.sha256()
    for path in sorted(str(p) for p in paths):
        digest.update(path.encode())
        if os.path.isfile(path):
            with open(path, "rb") as f:
                digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()


def import_problems(dataset):
    """What the importer could not use, so that the report lists it."""
    if dataset not in IMPORTED:
        return []
    return [RESULTS / f"imported/{IMPORTED[dataset][0]}/{dataset}.problems.csv"]


def import_source(wildcards):
    """What the importer of this dataset's kind reads (a folder or a file)."""
    kind, source = _imported(wildcards)
    return str(source)


def import_options(wildcards):
    """The dataset's settings its importer reads (e.g. an lm-eval tree's family_pattern)."""
    kind, _ = _imported(wildcards)
    own = config.get("datasets", {}).get(wildcards.dataset, {})
    return {k: v for k, v in own.items() if k in IMPORTERS[kind].options}


def import_inputs(wildcards):
    """The files this dataset's import reads, as its importer declares them."""
    kind, source = _imported(wildcards)
    return [str(p) for p in IMPORTERS[kind].inputs(source)]


def _imported(wildcards):
    kind, source = IMPORTED.get(wildcards.dataset, (None, None))
    if kind != wildcards.kind:
        raise WorkflowError(f"no {wildcards.kind} dataset {wildcards.dataset!r} in {DATA}")
    return kind, source


def is_big(dataset):
    """More curves than shard_size (its rows first: a file with fewer rows cannot have more curves)."""
    if dataset in IMPORTED or SHARD_SIZE <= 0 or data_rows(dataset_csv(dataset)) <= SHARD_SIZE:
        return False
    split_by = run_settings.for_dataset(config, dataset).get("split_by", [])
    return estimated_curves(dataset_csv(dataset), tuple(split_by)) > SHARD_SIZE


# Big datasets are analysed in shards (analysis/shards.py): a plan (a checkpoint: how many shards
# it makes is known once the curves are), one job per shard, a merge. Imported datasets stay whole.
SHARD_SIZE = config["shard_size"]
SHARDED = [d for d in DATASETS if is_big(d)]
UNSHARDED = [d for d in DATASETS if d not in SHARDED]


def one_of(names):
    """A wildcard constraint that matches exactly these names."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def shard_plan(wildcards):
    """A sharded dataset's plan (its checkpoint runs first)."""
    return Path(checkpoints.plan_shards.get(dataset=wildcards.dataset).output.shards) / "plan.json"


def shard_results(wildcards):
    """The shards' results of a dataset, once its plan has said how many there are."""
    return expand(
        RESULTS / "datasets/{dataset}/shard_results/{shard}",
        dataset=wildcards.dataset,
        shard=shard_ids(shard_plan(wildcards).parent),
    )


def dataset_outputs(name):
    return expand(RESULTS / "datasets/{dataset}/{name}.csv", dataset=DATASETS, name=name)

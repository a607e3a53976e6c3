# Helpers shared by the rules: configuration, dataset discovery, code inputs.
import glob
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


sys.path.insert(0, workflow.basedir)  # the analysis package, even where it is not installed
from analysis import settings as run_settings

# every setting's default and meaning lives in the schema; the config only overrides
validate(config, schema=str(run_settings.SCHEMA_PATH))
config.update(run_settings.with_defaults(config))

DATA = Path(config["data_dir"])
RESULTS = Path(config["results_dir"])
# A dataset is a contract CSV, a harness folder (data/lm-eval/<id>/models.csv)
# or a wide table with its sidecar (data/wide/<id>.csv + .yaml).
CSV_DATASETS = set(glob_wildcards(str(DATA / "{dataset,[^/]+}.csv")).dataset)
LM_EVAL_DATASETS = set(glob_wildcards(str(DATA / "lm-eval/{dataset,[^/]+}/models.csv")).dataset)
WIDE_DATASETS = set(glob_wildcards(str(DATA / "wide/{dataset,[^/]+}.yaml")).dataset)
_twice = (CSV_DATASETS & LM_EVAL_DATASETS) | (CSV_DATASETS & WIDE_DATASETS) | (LM_EVAL_DATASETS & WIDE_DATASETS)
if _twice:
    raise WorkflowError(
        f"dataset id(s) {', '.join(sorted(_twice))} defined twice (as {DATA}/<id>.csv, "
        f"{DATA}/lm-eval/<id>/ or {DATA}/wide/<id>.yaml): rename one of them"
    )
DATASETS = sorted(CSV_DATASETS | LM_EVAL_DATASETS | WIDE_DATASETS)
# The analysis code is an input of every rule that runs it: a change to the
# statistics reruns the analysis, a change to a figure only the report.
def analysis_sources(*modules):
    root = os.path.join(workflow.basedir, "analysis")
    return [f for m in ("__init__", "runlog", *modules)
            for f in ([os.path.join(root, f"{m}.py")] if os.path.exists(os.path.join(root, f"{m}.py"))
                      else sorted(glob.glob(os.path.join(root, m, "*.py"))))]


ANALYSIS_MODULES = ("loading", "curves", "models", "fitting", "stats", "labels", "debates", "pipeline")
IMPORT_SOURCES = analysis_sources("importers", "loading")
ANALYSIS_SOURCES = analysis_sources(*ANALYSIS_MODULES)
CALIBRATION_SOURCES = analysis_sources(*ANALYSIS_MODULES, "synthetic", "calibration")
FIGURE_SOURCES = analysis_sources("plots", "figures", "labels", "loading", "models")
REPORT_SOURCES = analysis_sources("report", "figures", "labels", "loading", "models", "debates")
TEMPLATES = sorted(glob.glob(os.path.join(workflow.basedir, "analysis", "templates", "*")))


wildcard_constraints:
    dataset="[^/]+",


# Settings a step does not read stay out of its params: a changed param reruns
# the step (the calibration's size does not touch the data's analysis).
CALIBRATION_SETTINGS = {k: v for k, v in config.items() if k not in run_settings.LOCATION_KEYS}
ANALYSIS_SETTINGS = {k: v for k, v in CALIBRATION_SETTINGS.items() if k not in run_settings.CALIBRATION_KEYS}


def dataset_settings(wildcards):
    """The run's settings with this dataset's overrides (e.g. its x axis) applied."""
    return run_settings.for_dataset({**ANALYSIS_SETTINGS, "datasets": config["datasets"]}, wildcards.dataset)


def dataset_csv(dataset):
    """The contract CSV of a dataset: the user's file, or what an importer made of theirs."""
    if dataset in LM_EVAL_DATASETS:
        return RESULTS / f"imported/lm-eval/{dataset}.csv"
    if dataset in WIDE_DATASETS:
        return RESULTS / f"imported/wide/{dataset}.csv"
    return DATA / f"{dataset}.csv"


def import_problems(dataset):
    """What the importer could not use, so that the report lists it."""
    path = str(dataset_csv(dataset))
    return [path[: -len(".csv")] + ".problems.csv"] if dataset not in CSV_DATASETS else []


def harness_files(wildcards):
    return sorted(glob.glob(str(DATA / "lm-eval" / wildcards.dataset / "*.json")))


def dataset_outputs(name):
    return expand(RESULTS / "datasets/{dataset}/{name}.csv", dataset=DATASETS, name=name)

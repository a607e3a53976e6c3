# emergence-atlas: which capabilities emerge, scale smoothly or decline with scale.
# Run from the repository root:  snakemake --cores 2
import os

from snakemake.utils import min_version

min_version("9.0")


# The defaults live beside this file; data_dir and results_dir are relative to
# the working directory (--directory), so one checkout can serve many folders.
configfile: os.path.join(workflow.current_basedir, "workflow", "config.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/analyse.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        RESULTS / "report.html",
        RESULTS / "curves.csv",
        RESULTS / "fits.csv",


# The summary at the end of every run (analysis/runsummary.py): curves per label, what was set aside
# in which file, the datasets that gave no curve, what failed and its log; the last line names the report.
onsuccess:
    runsummary.on_success(RESULTS, DATASET_FILES, UNREAD)


onerror:
    runsummary.on_error(RESULTS, log)

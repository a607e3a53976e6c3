"""Snakemake script: the detectors' error rates on synthetic curves (see analysis.calibration), or the table
shipped for this code and these settings."""
from analysis.calibration import run_calibration
from analysis.settings import Settings

run_calibration(
    settings=Settings.from_config(snakemake.params.settings),
    output=snakemake.output[0],
    log=snakemake.log[0],
    code=list(snakemake.input.code),
)

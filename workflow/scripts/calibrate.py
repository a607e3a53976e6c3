"""Snakemake script: the detectors' error rates on synthetic curves (see analysis.calibration)."""
from analysis.calibration import run_calibration
from analysis.settings import Settings

run_calibration(
    settings=Settings.from_config(snakemake.params.settings), output=snakemake.output[0], log=snakemake.log[0]
)

"""Snakemake script: the run's figures (see analysis.figures)."""
from analysis.figures import run_figures

run_figures(
    inputs=dict(snakemake.input.items()),
    figures=snakemake.output[0],
    log=snakemake.log[0],
    workers=snakemake.threads,
)

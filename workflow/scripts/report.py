"""Snakemake script: the HTML report (see analysis.report)."""
from analysis.report import run_report

run_report(
    inputs=dict(snakemake.input.items()),
    report=snakemake.output.report,
    figures=snakemake.input.figures,
    settings=snakemake.params.settings,
    log=snakemake.log[0],
)

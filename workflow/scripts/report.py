"""Snakemake script: the figures, then the HTML report that embeds them (see analysis.report.run_report)."""
from analysis.report import run_report

run_report(
    inputs=dict(snakemake.input.items()),
    report=snakemake.output.report,
    figures=snakemake.output.figures,
    settings=snakemake.params.settings,
    log=snakemake.log[0],
    workers=snakemake.threads,
)

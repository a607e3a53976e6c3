"""Snakemake script: validate every data file without fitting."""
from analysis.validation import run_validation

run_validation(
    csvs=list(snakemake.input.csv),
    import_problems=list(snakemake.input.import_problems),
    output=snakemake.output[0],
    config=snakemake.params.settings,
    log=snakemake.log[0],
    sources=snakemake.params.sources,
    unread=snakemake.params.unread,
)

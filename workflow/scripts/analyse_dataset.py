"""Snakemake script: analyse one dataset (see analysis.pipeline.analyse_dataset)."""
from analysis.pipeline import run_dataset
from analysis.settings import Settings
from analysis.validation import require_curves

settings = Settings.from_config(snakemake.params.settings)
result = run_dataset(
    csv=snakemake.input.csv,
    dataset=snakemake.wildcards.dataset,
    outdir=snakemake.output.curves.rsplit("/", 1)[0],
    settings=settings,
    log=snakemake.log[0],
    import_problems=list(snakemake.input.import_problems),
    source=snakemake.params.source,
)
require_curves(result.curves, snakemake.params.source or snakemake.input.csv, settings.strict)

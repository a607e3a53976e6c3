"""Snakemake script: FDR and labels across the run (see analysis.pipeline.combine)."""
from analysis.pipeline import run_combine
from analysis.settings import Settings

run_combine(
    folders=[p.rsplit("/", 1)[0] for p in snakemake.input.curves],
    outputs=dict(snakemake.output.items()),
    settings=Settings.from_config(snakemake.params.settings),
    log=snakemake.log[0],
    unread=snakemake.params.unread,
)

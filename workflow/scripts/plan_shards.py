"""Snakemake script: split a big dataset into shards (see analysis.shards.plan_shards)."""
from analysis.settings import Settings
from analysis.shards import plan_shards

plan_shards(
    csv=snakemake.input.csv,
    dataset=snakemake.wildcards.dataset,
    outdir=snakemake.output.points.rsplit("/", 1)[0],
    shards_dir=snakemake.output.shards,
    settings=Settings.from_config(snakemake.params.settings),
    shard_size=snakemake.params.shard_size,
    log=snakemake.log[0],
)

"""Snakemake script: analyse one shard of a big dataset (see analysis.shards.run_shard)."""
from analysis.settings import Settings
from analysis.shards import run_shard

run_shard(
    shard_dir=snakemake.input.shard.rsplit("/", 1)[0],
    plan=snakemake.input.plan,
    outdir=snakemake.output[0],
    settings=Settings.from_config(snakemake.params.settings),
    log=snakemake.log[0],
)

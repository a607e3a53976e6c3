"""Snakemake script: merge a big dataset's shards (see analysis.shards.merge_shards)."""
from analysis.shards import merge_shards

merge_shards(
    plan=snakemake.input.plan,
    shard_results=list(snakemake.input.shards),
    outdir=snakemake.output.curves.rsplit("/", 1)[0],
    log=snakemake.log[0],
)

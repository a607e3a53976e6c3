"""Snakemake script: an input of any registered kind (analysis.importers) as a contract CSV."""
from analysis import runlog
from analysis.importers import write_imported

logger = runlog.setup(snakemake.log[0])
for problem in write_imported(snakemake.params.source, snakemake.output.csv, snakemake.output.problems,
                              dict(snakemake.params.options)):
    logger.warning(str(problem))

wildcard_constraints:
    dataset="[^/]+",


rule import_dataset:
    """An input of any registered kind (analysis/importers/) -> contract CSV."""
    input:
        sources=import_inputs,
        code=code_inputs("import_dataset"),
    output:
        csv=RESULTS / "imported/{kind}/{dataset}.csv",
        problems=RESULTS / "imported/{kind}/{dataset}.problems.csv",
    log:
        RESULTS / "logs/import/{kind}/{dataset}.log",
    wildcard_constraints:
        kind="|".join(re.escape(kind) for kind in IMPORTERS) or "(?!)",
    conda:
        ENV
    params:
        source=import_source,
        options=import_options,
        content=lambda wildcards: data_digest(import_inputs(wildcards)),
    message:
        "import_dataset: {params.source} -> {output.csv} (log: {log})"
    script:
        "../scripts/import_dataset.py"


rule analyse_dataset:
    """Validate, fit and test every curve of one data file."""
    input:
        csv=lambda wildcards: dataset_csv(wildcards.dataset),
        import_problems=lambda wildcards: import_problems(wildcards.dataset),
        code=code_inputs("analyse_dataset"),
    output:
        curves=RESULTS / "datasets/{dataset}/curves.csv",
        fits=RESULTS / "datasets/{dataset}/fits.csv",
        points=RESULTS / "datasets/{dataset}/points.csv",
        problems=RESULTS / "datasets/{dataset}/problems.csv",
    log:
        RESULTS / "logs/analyse_dataset/{dataset}.log",
    benchmark:
        RESULTS / "benchmarks/analyse_dataset/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(UNSHARDED),
    conda:
        ENV
    params:
        settings=dataset_settings,
        source=data_source,
        content=lambda wildcards: (
            "" if wildcards.dataset in IMPORTED else data_digest([dataset_csv(wildcards.dataset)])
        ),
    message:
        "analyse_dataset: {input.csv} (log: {log})"
    script:
        "../scripts/analyse_dataset.py"


checkpoint plan_shards:
    """A big dataset: read and check it once, and split its curves into shards of whole families."""
    input:
        csv=lambda wildcards: dataset_csv(wildcards.dataset),
        code=code_inputs("plan_shards"),
    output:
        points=RESULTS / "datasets/{dataset}/points.csv",
        problems=RESULTS / "datasets/{dataset}/problems.csv",
        shards=directory(RESULTS / "datasets/{dataset}/shards"),
    log:
        RESULTS / "logs/plan_shards/{dataset}.log",
    benchmark:
        RESULTS / "benchmarks/plan_shards/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(SHARDED),
    conda:
        ENV
    params:
        settings=dataset_settings,
        shard_size=SHARD_SIZE,
        content=lambda wildcards: data_digest([dataset_csv(wildcards.dataset)]),
    message:
        "plan_shards: {input.csv} in shards of {params.shard_size} curves (log: {log})"
    script:
        "../scripts/plan_shards.py"


rule analyse_shard:
    """Fit and test one shard's curves (whole families: each estimates its own noise), padded as the whole dataset."""
    input:
        shard=RESULTS / "datasets/{dataset}/shards/{shard}/curves.pkl",
        plan=RESULTS / "datasets/{dataset}/shards/plan.json",
        code=code_inputs("analyse_shard"),
    output:
        directory(RESULTS / "datasets/{dataset}/shard_results/{shard}"),
    log:
        RESULTS / "logs/analyse_shard/{dataset}/{shard}.log",
    benchmark:
        RESULTS / "benchmarks/analyse_shard/{dataset}/{shard}.tsv"
    wildcard_constraints:
        dataset=one_of(SHARDED),
        shard=r"\d+",
    conda:
        ENV
    params:
        settings=dataset_settings,
    message:
        "analyse_shard: {wildcards.dataset} shard {wildcards.shard} (log: {log})"
    script:
        "../scripts/analyse_shard.py"


rule merge_shards:
    """A sharded dataset's curves and fits, in the order and bytes of the unsharded analysis."""
    input:
        shards=shard_results,
        plan=shard_plan,
        code=code_inputs("merge_shards"),
    output:
        curves=RESULTS / "datasets/{dataset}/curves.csv",
        fits=RESULTS / "datasets/{dataset}/fits.csv",
    log:
        RESULTS / "logs/merge_shards/{dataset}.log",
    benchmark:
        RESULTS / "benchmarks/merge_shards/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(SHARDED),
    conda:
        ENV
    message:
        "merge_shards: {wildcards.dataset} (log: {log})"
    script:
        "../scripts/merge_shards.py"


rule combine:
    """False discovery rate across the run, labels, and the output tables."""
    input:
        curves=dataset_outputs("curves"),
        fits=dataset_outputs("fits"),
        points=dataset_outputs("points"),
        problems=dataset_outputs("problems"),
        code=code_inputs("combine"),
    output:
        curves=report(RESULTS / "curves.csv", caption="../report/curves.rst", category="Tables"),
        fits=report(RESULTS / "fits.csv", caption="../report/fits.rst", category="Tables"),
        points=RESULTS / "points.csv",
        problems=report(RESULTS / "rejected.csv", caption="../report/rejected.rst", category="Tables"),
        mirage=RESULTS / "mirage.csv",
        cot_gain=RESULTS / "cot_gain.csv",
        compositional=RESULTS / "compositional.csv",
        forecasts=RESULTS / "forecasts.csv",
        changes=report(RESULTS / "changes.csv", caption="../report/changes.rst", category="Tables"),
    log:
        RESULTS / "logs/combine.log",
    benchmark:
        RESULTS / "benchmarks/combine.tsv"
    conda:
        ENV
    params:
        settings=ANALYSIS_SETTINGS,
        unread=UNREAD,
    message:
        "combine: every dataset -> {output.curves}, {output.problems} (log: {log})"
    script:
        "../scripts/combine.py"


rule validate_data:
    """Check every file in data/ without fitting; list all problems at once."""
    input:
        csv=[dataset_csv(d) for d in DATASETS],
        import_problems=[p for d in DATASETS for p in import_problems(d)],
        code=code_inputs("validate_data"),
    output:
        RESULTS / "validation.csv",
    log:
        RESULTS / "logs/validate_data.log",
    conda:
        ENV
    params:
        settings=config,
        sources={str(dataset_csv(d)): str(source) for d, (kind, source) in IMPORTED.items()},
        unread=UNREAD,
    message:
        "validate_data: every data file -> {output} (log: {log})"
    script:
        "../scripts/validate_data.py"

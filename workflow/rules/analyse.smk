rule import_lm_eval:
    """lm-evaluation-harness output folder -> contract CSV."""
    input:
        models=DATA / "lm-eval/{dataset}/models.csv",
        results=harness_files,
        code=IMPORT_SOURCES,
    output:
        csv=RESULTS / "imported/lm-eval/{dataset}.csv",
        problems=RESULTS / "imported/lm-eval/{dataset}.problems.csv",
    params:
        source=lambda wildcards: str(DATA / "lm-eval" / wildcards.dataset),
    log:
        RESULTS / "logs/import/{dataset}.log",
    script:
        "../scripts/import_dataset.py"


rule import_wide:
    """Wide table (one column per task) + YAML sidecar -> contract CSV."""
    input:
        table=DATA / "wide/{dataset}.csv",
        sidecar=DATA / "wide/{dataset}.yaml",
        code=IMPORT_SOURCES,
    output:
        csv=RESULTS / "imported/wide/{dataset}.csv",
        problems=RESULTS / "imported/wide/{dataset}.problems.csv",
    params:
        source=lambda wildcards: str(DATA / "wide" / f"{wildcards.dataset}.csv"),
    log:
        RESULTS / "logs/import/{dataset}.log",
    script:
        "../scripts/import_dataset.py"


rule analyse_dataset:
    """Validate, fit and test every curve of one data file."""
    input:
        csv=lambda wildcards: dataset_csv(wildcards.dataset),
        import_problems=lambda wildcards: import_problems(wildcards.dataset),
        code=ANALYSIS_SOURCES,
    output:
        curves=RESULTS / "datasets/{dataset}/curves.csv",
        fits=RESULTS / "datasets/{dataset}/fits.csv",
        points=RESULTS / "datasets/{dataset}/points.csv",
        problems=RESULTS / "datasets/{dataset}/problems.csv",
    params:
        settings=dataset_settings,
    log:
        RESULTS / "logs/analyse_dataset/{dataset}.log",
    benchmark:
        RESULTS / "benchmarks/analyse_dataset/{dataset}.tsv"
    script:
        "../scripts/analyse_dataset.py"


rule combine:
    """False discovery rate across the run, labels, and the output tables."""
    input:
        curves=dataset_outputs("curves"),
        fits=dataset_outputs("fits"),
        points=dataset_outputs("points"),
        problems=dataset_outputs("problems"),
        code=ANALYSIS_SOURCES,
    output:
        curves=RESULTS / "curves.csv",
        fits=RESULTS / "fits.csv",
        points=RESULTS / "points.csv",
        problems=RESULTS / "rejected.csv",
        mirage=RESULTS / "mirage.csv",
        cot_gain=RESULTS / "cot_gain.csv",
        compositional=RESULTS / "compositional.csv",
    params:
        settings=ANALYSIS_SETTINGS,
    log:
        RESULTS / "logs/combine.log",
    benchmark:
        RESULTS / "benchmarks/combine.tsv"
    script:
        "../scripts/combine.py"


rule validate_data:
    """Check every file in data/ without fitting; list all problems at once."""
    input:
        csv=[dataset_csv(d) for d in DATASETS],
        import_problems=[p for d in DATASETS for p in import_problems(d)],
        code=ANALYSIS_SOURCES,
    output:
        RESULTS / "validation.csv",
    params:
        settings=config,
    log:
        RESULTS / "logs/validate_data.log",
    script:
        "../scripts/validate_data.py"

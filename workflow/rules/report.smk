rule calibrate:
    """False positive rates and power of every label on curves with known truth."""
    input:
        code=CALIBRATION_SOURCES,
    output:
        RESULTS / "calibration.csv",
    params:
        settings={k: v for k, v in config.items() if k not in ("datasets", "data_dir", "results_dir")},
    log:
        RESULTS / "logs/calibrate.log",
    benchmark:
        RESULTS / "benchmarks/calibrate.tsv"
    script:
        "../scripts/calibrate.py"


rule report:
    """Figures and the self-contained HTML report."""
    input:
        curves=RESULTS / "curves.csv",
        fits=RESULTS / "fits.csv",
        points=RESULTS / "points.csv",
        problems=RESULTS / "rejected.csv",
        mirage=RESULTS / "mirage.csv",
        cot_gain=RESULTS / "cot_gain.csv",
        compositional=RESULTS / "compositional.csv",
        calibration=RESULTS / "calibration.csv",
        code=REPORT_SOURCES,
        templates=TEMPLATES,
    output:
        report=RESULTS / "report.html",
        figures=directory(RESULTS / "figures"),
    params:
        settings=config,
    log:
        RESULTS / "logs/report.log",
    benchmark:
        RESULTS / "benchmarks/report.tsv"
    threads: 2  # the per-curve figures are drawn in parallel
    script:
        "../scripts/report.py"

rule calibrate:
    """False positive rates and power of every label on curves with known truth."""
    priority: 1  # the longest job: started first, the datasets fill the other cores
    input:
        code=CALIBRATION_SOURCES,
    output:
        RESULTS / "calibration.csv",
    params:
        settings=CALIBRATION_SETTINGS,
    log:
        RESULTS / "logs/calibrate.log",
    benchmark:
        RESULTS / "benchmarks/calibrate.tsv"
    script:
        "../scripts/calibrate.py"


rule figures:
    """The overview figures and one per flagged curve (not the calibration: drawn while it runs)."""
    input:
        curves=RESULTS / "curves.csv",
        fits=RESULTS / "fits.csv",
        points=RESULTS / "points.csv",
        code=FIGURE_SOURCES,
    output:
        directory(RESULTS / "figures"),
    log:
        RESULTS / "logs/figures.log",
    benchmark:
        RESULTS / "benchmarks/figures.tsv"
    threads: 2  # the per-curve figures are drawn in parallel
    script:
        "../scripts/figures.py"


rule report:
    """The self-contained HTML report, with the figures embedded."""
    input:
        curves=RESULTS / "curves.csv",
        fits=RESULTS / "fits.csv",
        points=RESULTS / "points.csv",
        problems=RESULTS / "rejected.csv",
        mirage=RESULTS / "mirage.csv",
        cot_gain=RESULTS / "cot_gain.csv",
        compositional=RESULTS / "compositional.csv",
        calibration=RESULTS / "calibration.csv",
        figures=RESULTS / "figures",
        code=REPORT_SOURCES,
        templates=TEMPLATES,
    output:
        report=RESULTS / "report.html",
    params:
        settings=config,
    log:
        RESULTS / "logs/report.log",
    benchmark:
        RESULTS / "benchmarks/report.tsv"
    script:
        "../scripts/report.py"

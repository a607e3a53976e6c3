rule calibrate:
    """False positive rates and power of every label on curves with known truth."""
    input:
        code=code_inputs("calibrate"),
    output:
        report(RESULTS / "calibration.csv", caption="../report/calibration.rst", category="Tables"),
    log:
        RESULTS / "logs/calibrate.log",
    benchmark:
        RESULTS / "benchmarks/calibrate.tsv"
    # the longest job: started first, the datasets fill the other cores
    priority: 1
    conda:
        ENV
    params:
        settings=CALIBRATION_SETTINGS,
    message:
        "calibrate: labels of synthetic curves of known shape, or the table shipped for this code -> {output} (log: {log})"
    script:
        "../scripts/calibrate.py"


rule report:
    """The figures (redrawn only where their curve changed) and the self-contained HTML report that embeds them."""
    input:
        curves=RESULTS / "curves.csv",
        fits=RESULTS / "fits.csv",
        points=RESULTS / "points.csv",
        problems=RESULTS / "rejected.csv",
        mirage=RESULTS / "mirage.csv",
        cot_gain=RESULTS / "cot_gain.csv",
        compositional=RESULTS / "compositional.csv",
        changes=RESULTS / "changes.csv",
        calibration=RESULTS / "calibration.csv",
        stress=STRESS_TABLE,
        code=code_inputs("report"),
        templates=TEMPLATES,
    output:
        report=report(RESULTS / "report.html", caption="../report/report.rst", category="Report"),
        figures=report(
            directory(RESULTS / "figures"),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
    log:
        RESULTS / "logs/report.log",
    benchmark:
        RESULTS / "benchmarks/report.tsv"
    conda:
        ENV
    threads: 2  # the per-curve figures are drawn in parallel
    params:
        settings=config,
    message:
        "report: figures and {output.report} (log: {log})"
    script:
        "../scripts/report.py"

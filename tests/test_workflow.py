"""End to end: the Snakemake workflow on a small data folder in a temporary directory."""
import os
import shutil
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from analysis.models import MODELS
from analysis.pipeline import CURVE_OUTPUT
from analysis.synthetic import simulate
from tests.conftest import REPO

pytestmark = pytest.mark.workflow

#: the report's run date pinned (SOURCE_DATE_EPOCH), so that two runs can be compared byte for byte
PINNED_DATE = {**os.environ, "SOURCE_DATE_EPOCH": "1767225600"}


def snakemake(workdir, *args, config=()):
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(workdir),
           "--cores", "2", *args, "--config", "bootstrap=60", "calibration_curves=0", *config]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("run")
    data = work / "data"
    data.mkdir()
    good = pd.concat([simulate("emergent", 2, seed=1), simulate("smooth", 2, seed=2),
                      simulate("inverse", 2, seed=3)])
    good.loc[good["family"] == "smooth-0", "task"] = "<script>alert('x')</script>"
    good.to_csv(data / "good.csv", index=False)
    bad_rows = simulate("flat", 1, seed=4)
    bad_rows["score"] = bad_rows["score"].astype(object)
    bad_rows.loc[3, "score"] = "abc"
    bad_rows.to_csv(data / "bad_rows.csv", index=False)
    (data / "broken.csv").write_text("model,family,score\nm,F,0.5\n")
    result = snakemake(work, config=["calibration_curves=1"])
    assert result.returncode == 0, result.stderr[-3000:]
    return work, result


def test_outputs_exist_with_stable_columns(finished_run):
    work, _ = finished_run
    curves = pd.read_csv(work / "results" / "curves.csv")
    assert list(curves.columns[:len(CURVE_OUTPUT)]) == list(CURVE_OUTPUT)
    assert set(curves["dataset"]) == {"good", "bad_rows"}
    labels = curves.set_index("family")["label"]
    assert labels["emergent-0"] == "emergent" and labels["emergent-1"] == "emergent"
    assert labels["inverse-0"] == "inverse"
    assert labels["smooth-1"] == "smooth"
    em = curves[curves["label"] == "emergent"]
    assert (em["emergence_scale_low"] < em["emergence_scale"]).all()
    assert (em["emergence_scale"] < em["emergence_scale_high"]).all()
    assert curves.loc[curves["label"] != "emergent", "emergence_scale"].isna().all()


def test_fits_has_one_row_per_curve_and_model(finished_run):
    work, _ = finished_run
    fits = pd.read_csv(work / "results" / "fits.csv")
    curves = pd.read_csv(work / "results" / "curves.csv")
    assert len(fits) == len(MODELS) * len(curves)
    assert {"model", "aicc", "converged", "at_bound", "x0", "se_x0"} <= set(fits.columns)


def test_bad_input_is_reported_not_dropped(finished_run):
    work, result = finished_run
    rejected = pd.read_csv(work / "results" / "rejected.csv")
    msgs = rejected["message"].tolist()
    assert any(m.startswith('score "abc" is not a number') for m in msgs)
    assert any("missing required column(s) params" in m for m in msgs)
    assert "data/bad_rows.csv row 5: score \"abc\" is not a number" in result.stderr
    # the rest of the bad file is still analysed
    points = pd.read_csv(work / "results" / "points.csv")
    assert (points["dataset"] == "bad_rows").sum() == 7


def test_report_is_self_contained_and_escaped(finished_run):
    work, _ = finished_run
    html = (work / "results" / "report.html").read_text()
    assert "<script>alert" not in html
    # names reach the page packed in the table's data (its script writes them as text; see test_browser.py)
    assert "<script>alert('x')</script>" in {row[3] for row in report_table(html)["rows"]}
    assert "data:image/png;base64," in html
    assert "http://" not in html and "https://" not in html
    for section in ("Key findings", "Per benchmark", "Provenance", "Glossary", "Labels", "Capability map",
                    "Every curve", "Flagged curves", "Rejected input",
                    "How often is a label wrong?", "Predictability backtest", "Metric sensitivity"):
        assert section in html
    assert "score &#34;abc&#34; is not a number" in html
    figures = list((work / "results" / "figures").glob("*.png"))
    assert len(figures) >= 5   # 2 emergent + 2 inverse + overview figures


def report_table(html: str) -> dict:
    """The report's table of every curve, as its page unpacks it (gzipped JSON in base64)."""
    import base64
    import gzip
    import json
    import re
    packed = re.search(r'<script id="curve-data" type="application/gzip\+base64">(.*?)</script>', html, re.S)
    return json.loads(gzip.decompress(base64.b64decode(packed.group(1))))


def planned_jobs(work, *config) -> dict[str, int]:
    """Jobs per rule that a dry run plans."""
    dry = snakemake(work, "--dry-run", "--quiet", "rules", config=list(config))
    assert dry.returncode == 0, dry.stderr
    return {line.split()[0]: int(line.split()[1]) for line in (dry.stdout + dry.stderr).splitlines()
            if len(line.split()) == 2 and line.split()[1].isdigit()}


def test_rerun_after_adding_a_csv_recomputes_only_that_dataset(finished_run):
    work, _ = finished_run
    calibration = pd.read_csv(work / "results" / "calibration.csv")
    assert len(calibration) == 16 and "fpr_emergent" in calibration
    noop = snakemake(work, "--dry-run", config=["calibration_curves=1"])
    assert noop.returncode == 0 and "Nothing to be done" in noop.stdout + noop.stderr
    simulate("smooth", 1, seed=9).to_csv(work / "data" / "new.csv", index=False)
    jobs = planned_jobs(work, "calibration_curves=1")
    assert jobs.get("analyse_dataset") == 1, jobs
    assert jobs.get("combine") == 1 and jobs.get("report") == 1
    assert "calibrate" not in jobs
    # a calibration setting reruns the calibration and the report (which copies its figures from the cache),
    # not the data's analysis
    (work / "data" / "new.csv").unlink()
    jobs = planned_jobs(work, "calibration_curves=2")
    assert jobs.get("calibrate") == 1 and jobs.get("report") == 1, jobs
    assert not {"analyse_dataset", "combine"} & set(jobs), jobs


def test_strict_mode_fails_on_bad_rows(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    df = simulate("smooth", 1, seed=1)
    df["score"] = df["score"].astype(object)
    df.loc[0, "score"] = "n/a"
    df.to_csv(data / "s.csv", index=False)
    result = snakemake(tmp_path, config=["strict=True"])
    assert result.returncode != 0
    assert 'data/s.csv row 2: score "n/a" is not a number' in result.stderr


def run_summary(stderr):
    """The lines of the summary a run ends with (before Snakemake's own closing lines)."""
    lines = stderr.splitlines()
    starts = [i for i, line in enumerate(lines) if " run summary" in line]
    assert starts, "no run summary at the end of the run: " + stderr[-2000:]
    start = starts[-1]
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("Complete log(s):")), len(lines))
    return lines[start:end]


def test_a_dataset_without_curves_is_named_in_the_run_summary_and_fails_a_strict_run(tmp_path):
    """Issue 25: a percent table without unit: percent sets every row aside; the run still ends well, with a
    summary that names it loudly and whose last line is the report, and without the code inputs of each job;
    strict: true fails the run, and the summary says which job and where its log is."""
    data = tmp_path / "data"
    data.mkdir()
    simulate("smooth", 1, seed=2).to_csv(data / "good.csv", index=False)
    percent = simulate("smooth", 1, seed=3)
    percent["score"] *= 100
    percent.to_csv(data / "percent.csv", index=False)
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = run_summary(result.stderr)
    assert "data/percent.csv: 0 curves; 8 rows set aside; no warnings" in summary
    loud = [line for line in summary if line.startswith("WARNING: data/percent.csv produced 0 curves")]
    assert loud and "8 rows set aside (row 2: score" in loud[0] and "set unit to percent" in loud[0]
    assert summary[-1] == f"Report: {(tmp_path / 'results' / 'report.html').resolve()}"
    # each job says what it does, not its ~40 code inputs; a problem repeated over rows is one line
    assert "analysis/noise.py" not in result.stderr
    assert "Job " in result.stderr and "analyse_dataset: data/percent.csv (log: " in result.stderr
    assert "ERROR data/percent.csv row 2: score" in result.stderr
    assert "(and 7 more like it, rows 3-9)" in result.stderr and "data/percent.csv row 3:" not in result.stderr

    strict = snakemake(tmp_path, config=["strict=True"])
    assert strict.returncode != 0
    failed = run_summary(strict.stderr)
    assert failed[0].endswith("run summary: the run FAILED " + "-" * 20)
    assert "FAILED: rule analyse_dataset" in failed
    assert "  log: results/logs/analyse_dataset/percent.log" in failed
    assert any(line.startswith("  ERROR data/percent.csv row 2: score") for line in failed)
    assert failed[-1].startswith("Report: ") and failed[-1].endswith("(not updated: the run failed)")


def test_invalid_config_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    result = snakemake(tmp_path, config=["alpha=2"])
    assert result.returncode != 0
    assert "alpha" in result.stderr


def test_validate_data_lists_every_problem_without_fitting(finished_run):
    work, _ = finished_run
    result = snakemake(work, "validate_data", config=["calibration_curves=1"])
    assert result.returncode == 0, result.stderr[-2000:]
    problems = pd.read_csv(work / "results" / "validation.csv")
    set_aside = problems[~problems["kept"].astype(bool)]
    assert set(set_aside["file"]) == {"data/bad_rows.csv", "data/broken.csv"}
    # the good file's rows are all kept; its benchmark is listed as unknown to the catalogue
    assert problems.loc[problems["file"] == "data/good.csv", "message"].str.contains("benchmark catalogue").all()
    assert "data/bad_rows.csv row 5: score \"abc\" is not a number" in result.stderr


def test_harness_folder_and_wide_table_become_datasets(tmp_path):
    import shutil
    data = tmp_path / "data"
    shutil.copytree(REPO / "examples" / "lm-eval" / "pythia-zero-shot", data / "lm-eval" / "pythia")
    shutil.copytree(REPO / "examples" / "wide", data / "wide")
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    curves = pd.read_csv(tmp_path / "results" / "curves.csv")
    assert set(curves["dataset"]) == {"pythia", "obsscaling_leaderboard_v1"}
    pythia = curves[curves["dataset"] == "pythia"]
    assert pythia["noise"].str.startswith("stderr").all()   # stderr from the harness files
    assert (pythia["n_scales"] == 7).all()
    rejected = pd.read_csv(tmp_path / "results" / "rejected.csv")
    assert rejected["message"].str.contains("direction unknown").any()
    # a harness file that models.csv does not cover is an error with the line to add
    (data / "lm-eval" / "pythia" / "extra.json").write_text('{"results": {}}')
    again = snakemake(tmp_path)
    assert again.returncode == 0
    assert "extra.json: is not listed in data/lm-eval/pythia/models.csv; add the line" in again.stderr


def test_editing_a_module_reached_only_transitively_reruns_what_imports_it(finished_run):
    """report.py -> analysis.figures -> (inside its functions only) analysis.plots."""
    module, reruns, not_rerun = "plots", {"report"}, {"analyse_dataset", "combine", "calibrate"}
    work, _ = finished_run
    path = REPO / "analysis" / f"{module}.py"
    text, before = path.read_bytes(), path.stat()
    try:  # an edit (a touch is not enough: Snakemake compares a newer small input's checksum)
        path.write_bytes(text + b"# edited\n")
        jobs = planned_jobs(work, "calibration_curves=1")
    finally:  # the module as it was, its time too, so the run stays up to date
        path.write_bytes(text)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert reruns <= set(jobs) and not (not_rerun & set(jobs)), jobs


def test_a_data_file_edited_while_its_job_ran_is_rerun(finished_run):
    """The edit is newer in content than the results, older in time: the content digest reruns it."""
    work, _ = finished_run
    path = work / "data" / "good.csv"
    text, before = path.read_bytes(), path.stat()
    try:
        path.write_bytes(text.replace(b"0.25", b"0.2", 1))
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))   # as if edited before its job ended
        jobs = planned_jobs(work, "calibration_curves=1")
    finally:
        path.write_bytes(text)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert jobs.get("analyse_dataset") == 1 and jobs.get("combine") == 1, jobs
    assert planned_jobs(work, "calibration_curves=1") == {}   # restored: nothing to do


def test_hostile_names_and_files_run_to_a_report(tmp_path):
    """Names pandas would read as missing, mathtext, formulas and files no dataset reads, in one real run."""
    data = tmp_path / "data"
    data.mkdir()
    good = simulate("emergent", 2, seed=1)
    good.to_csv(data / "good.csv", index=False)
    odd = simulate("emergent", 3, seed=5)
    fams = sorted(odd["family"].unique())
    odd["family"] = odd["family"].map({fams[0]: "NA", fams[1]: "None", fams[2]: '=HYPERLINK("http://x.example")'})
    odd["task"] = odd["family"].map({"NA": "null", "None": "$^$"}).fillna("task")
    odd["model"] = odd["family"].str[:4] + odd.groupby("family").cumcount().astype(str)
    odd.to_csv(data / "NA.csv", index=False)
    (data / "scores.xlsx").write_bytes(b"PK\x03\x04")
    result = snakemake(tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    curves = pd.read_csv(tmp_path / "results" / "curves.csv", dtype=str, keep_default_na=False)
    assert {"NA", "None", "'=HYPERLINK(\"http://x.example\")"} <= set(curves["family"])
    assert {"null", "$^$"} <= set(curves["task"]) and "NA" in set(curves["dataset"])
    rejected = pd.read_csv(tmp_path / "results" / "rejected.csv", dtype=str, keep_default_na=False)
    assert "data/scores.xlsx" in set(rejected["file"])
    tasks = {row[3] for row in report_table((tmp_path / "results" / "report.html").read_text())["rows"]}
    assert {"$^$", "null"} <= tasks


def test_runs_are_byte_identical_across_cores_and_fresh_starts(tmp_path):
    """The same data give the same bytes, figures and report included, on 1 core or 2."""
    import shutil
    outputs = {}
    for cores in ("1", "2"):
        work = tmp_path / f"cores{cores}"
        shutil.copytree(REPO / ".test" / "data", work / "data")
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work), "--cores", cores,
               "--configfile", str(REPO / ".test" / "config" / "config.yaml")]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=PINNED_DATE)
        assert result.returncode == 0, result.stderr[-3000:]
        results = work / "results"
        outputs[cores] = {str(p.relative_to(results)): p.read_bytes() for p in sorted(results.rglob("*"))
                          if p.is_file() and p.parts[len(results.parts)] not in ("logs", "benchmarks")}
    assert outputs["1"].keys() == outputs["2"].keys()
    assert "report.html" in outputs["1"] and any(k.endswith(".png") for k in outputs["1"])
    assert [k for k in outputs["1"] if outputs["1"][k] != outputs["2"][k]] == []


def test_a_killed_run_resumes_after_unlock_to_the_same_bytes(tmp_path):
    """kill -9 mid-run leaves a lock (and may leave incomplete outputs, which the workflow profile's
    rerun-incomplete recomputes): `--unlock`, then a plain run gives what an uninterrupted run gives."""
    import shutil
    import signal
    import time
    def command(work):
        shutil.copytree(REPO / ".test" / "data", work / "data")
        return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work), "--cores", "2",
                "--configfile", str(REPO / ".test" / "config" / "config.yaml")]

    work, clean = tmp_path / "killed", tmp_path / "clean"
    cmd = command(work)
    run = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                           env=PINNED_DATE)
    started = work / "results" / "logs" / "analyse_dataset"
    deadline = time.time() + 120
    while not started.exists() and run.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert (work / ".snakemake" / "locks").exists() and any((work / ".snakemake" / "locks").iterdir())
    assert subprocess.run([*cmd, "--unlock"], capture_output=True).returncode == 0
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=PINNED_DATE)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert subprocess.run(command(clean), capture_output=True, env=PINNED_DATE).returncode == 0
    for name in ("curves.csv", "fits.csv", "points.csv", "rejected.csv", "report.html"):
        assert (work / "results" / name).read_bytes() == (clean / "results" / name).read_bytes(), name


def test_a_rerun_says_what_changed_since_the_last_run(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    simulate("emergent", 2, seed=1).to_csv(data / "a.csv", index=False)
    assert snakemake(tmp_path).returncode == 0
    first = pd.read_csv(tmp_path / "results" / "changes.csv")
    assert set(first["change"]) == {"new"} and len(first) == 2
    assert "No earlier run to compare with" in (tmp_path / "results" / "report.html").read_text()
    simulate("smooth", 1, seed=2).to_csv(data / "b.csv", index=False)
    assert snakemake(tmp_path).returncode == 0
    second = pd.read_csv(tmp_path / "results" / "changes.csv")
    assert list(second["change"]) == ["new"] and list(second["dataset"]) == ["b"]
    assert "1 change(s): 1 new" in (tmp_path / "results" / "report.html").read_text()


def test_a_dataset_split_into_shards_gives_the_same_bytes(tmp_path):
    """shard_size below the dataset's curves: a plan, one job per shard, a merge; every table the same."""
    import shutil
    outputs = {}
    for size in ("0", "3"):
        work = tmp_path / f"shards{size}"
        shutil.copytree(REPO / ".test" / "data", work / "data")
        cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work), "--cores", "2",
               "--configfile", str(REPO / ".test" / "config" / "config.yaml"), "--config", f"shard_size={size}"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=PINNED_DATE)
        assert result.returncode == 0, result.stderr[-3000:]
        results = work / "results"
        outputs[size] = {str(p.relative_to(results)): p.read_bytes() for p in sorted(results.rglob("*.csv"))}
        jobs = {f.relative_to(results / "benchmarks").parts[0].removesuffix(".tsv")
                for f in (results / "benchmarks").rglob("*.tsv")}
        if size == "3":
            assert {"plan_shards", "analyse_shard"} <= jobs and "analyse_dataset" not in jobs, jobs
            shards = [p for p in (results / "datasets" / "gpt3_brown2020_subset" / "shard_results").iterdir()]
            assert len(shards) == 3   # 9 curves, 3 per shard
        else:
            assert "analyse_dataset" in jobs and "plan_shards" not in jobs, jobs
    assert outputs["0"].keys() == outputs["3"].keys() and "curves.csv" in outputs["0"]
    assert [k for k in outputs["0"] if outputs["0"][k] != outputs["3"][k]] == []


def test_the_workflow_runs_as_a_snakemake_module(tmp_path):
    """Issue 23: an outer workflow that uses this one as a `module` from a local path runs the .test data
    to the same curves.csv as the workflow run directly (the repository's files are found from the module's
    own folder, not the outer workflow's)."""
    outer, direct = tmp_path / "outer", tmp_path / "direct"
    for work in (outer, direct):
        shutil.copytree(REPO / ".test" / "data", work / "data")
    settings = "data_dir: data\nresults_dir: results\nbootstrap: 60\ncalibration_curves: 0\n"
    (outer / "config.yaml").write_text(settings)
    (outer / "Snakefile").write_text(textwrap.dedent(f"""\
        configfile: "config.yaml"

        module atlas:
            snakefile:
                "{REPO / 'Snakefile'}"
            config:
                config

        use rule * from atlas as atlas_*

        rule all:
            default_target: True
            input:
                rules.atlas_all.input,
        """))
    run = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=outer, capture_output=True,
                         text=True, timeout=600, env=PINNED_DATE)
    assert run.returncode == 0, run.stderr[-3000:]
    assert snakemake(direct).returncode == 0
    assert (outer / "results" / "report.html").exists()
    assert (outer / "results" / "curves.csv").read_bytes() == (direct / "results" / "curves.csv").read_bytes()

"""The workflow on a real SLURM (a single node on this machine), with the project's profile: the same bytes.

Opt-in locally (ATLAS_SLURM_TEST=1: it starts munge, slurmctld and slurmd as root, about two minutes);
`.ci/run` installs Debian's slurm-wlm and munge and sets ATLAS_SLURM_TEST=required, so CI always runs it
and fails if SLURM cannot be started.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from analysis.synthetic import simulate
from tests.conftest import REPO
from tests.slurm import LocalSlurm, missing

WANTED = os.environ.get("ATLAS_SLURM_TEST", "")
pytestmark = [pytest.mark.measurement,
              pytest.mark.skipif(not WANTED, reason="opt-in: ATLAS_SLURM_TEST=1 starts a local SLURM (as root)")]
#: the report's run date pinned, so that the two runs can be compared byte for byte
PINNED = {"SOURCE_DATE_EPOCH": "1767225600"}


def outputs(results):
    """Every output a user reads, by path (not Snakemake's logs and timings, nor the shards' pickles)."""
    skip = ("logs", "benchmarks")
    return {str(p.relative_to(results)): p.read_bytes() for p in sorted(results.rglob("*"))
            if p.is_file() and p.parts[len(results.parts)] not in skip and p.suffix != ".pkl"}


def run(work, env, *args):
    shutil.copytree(REPO / ".test" / "data", work / "data")
    # three one-curve datasets beside it: below shard_size, analysed whole, in the profile's group of small
    # datasets (run two at a time inside its one SLURM job)
    for k, shape in enumerate(("smooth", "flat", "emergent")):
        simulate(shape, 1, seed=k).to_csv(work / "data" / f"small_{k}.csv", index=False)
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "-d", str(work),
           "--configfile", str(REPO / ".test" / "config" / "config.yaml"), "--config", "shard_size=3", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env={**env, **PINNED})
    assert result.returncode == 0, result.stderr[-4000:]
    return result


def test_the_slurm_profile_gives_the_same_bytes_as_a_local_run(tmp_path):
    why = missing()
    if why:
        if WANTED == "required":
            pytest.fail(f"SLURM is required here but {why}")
        pytest.skip(why)
    run(tmp_path / "local", os.environ, "--cores", "2")
    slurm = LocalSlurm(tmp_path / "slurm").start()
    try:
        cluster = run(tmp_path / "cluster", slurm.env, "--profile", str(REPO / "profiles" / "slurm"),
            # this test cluster has no accounting: status from squeue, no account
            "--slurm-status-command", "squeue", "--slurm-no-account",
            "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "2")
        submitted = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i %T"], capture_output=True, text=True,
                                   env=slurm.env).stdout.split("\n")
    finally:
        daemons = list(slurm.started)
        slurm.stop()
    jobs = [line.split() for line in submitted if line.strip()]
    # the plan, 3 shards, the merge, the small datasets' group... each a SLURM job; all completed
    assert len(jobs) >= 7 and all(state == "COMPLETED" for _, state in jobs), jobs
    # the three small datasets went to SLURM as one job of the profile's group
    submitted_groups = [line for line in cluster.stderr.splitlines() if "slurm_logs/group_datasets" in line]
    assert len(submitted_groups) == 1, cluster.stderr[-3000:]
    assert daemons and all(p.poll() is not None for p in daemons)   # the daemons it started are stopped
    local, cluster = outputs(tmp_path / "local" / "results"), outputs(tmp_path / "cluster" / "results")
    assert local.keys() == cluster.keys() and "report.html" in local and "curves.csv" in local
    assert [k for k in local if local[k] != cluster[k]] == []

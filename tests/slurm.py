"""A real single-node SLURM on this machine, for the cluster test: munge, slurmctld and slurmd on localhost.

Debian's slurm-wlm and munge (`.ci/run` installs them). Everything SLURM writes lives in a temporary
folder with its own slurm.conf (SLURM_CONF points the clients at it); no accounting (job status via
squeue, kept visible by MinJobAge), proctrack/linuxproc and task/none (no cgroups). The daemons this
starts are stopped by `stop()`; a munged that was already running is used and left running.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo")


def missing() -> str | None:
    """Why a local SLURM cannot be started here, or None."""
    absent = [b for b in BINARIES if shutil.which(b) is None and not Path("/usr/sbin", b).exists()]
    if absent:
        return f"not installed: {', '.join(absent)} (apt-get install slurm-wlm munge)"
    if os.geteuid() != 0:
        return "the daemons need root (munge's socket, slurmd)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _munge_works() -> bool:
    try:
        token = subprocess.run(["munge", "-n"], capture_output=True, timeout=10)
        return token.returncode == 0 and subprocess.run(["unmunge"], input=token.stdout, capture_output=True,
                                                         timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class LocalSlurm:
    """Start with `LocalSlurm(folder).start()`; `env` is the environment for sbatch, squeue and Snakemake."""

    #: where slurmd keeps the config it fetched (configless mode); removed on stop if this made it
    CONF_CACHE = Path("/run/slurm/conf")

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.started: list[subprocess.Popen] = []
        self.env = dict(os.environ)
        self.made_cache = not self.CONF_CACHE.exists()

    def start(self, timeout: float = 60) -> LocalSlurm:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not _munge_works():
            Path("/run/munge").mkdir(parents=True, exist_ok=True)
            shutil.chown("/run/munge", "munge", "munge")
            if not Path("/etc/munge/munge.key").exists():
                subprocess.run(["mungekey", "--create"], check=True)
                shutil.chown("/etc/munge/munge.key", "munge", "munge")
            out = open(self.folder / "munged.out", "ab")
            self.started.append(subprocess.Popen(["runuser", "-u", "munge", "--", "/usr/sbin/munged", "-F"],
                                                 stdout=out, stderr=out))
            self._wait(_munge_works, timeout, "munged")
        node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.splitlines()[0]
        host = node.split()[0].split("=", 1)[1]
        port = _free_port()
        for d in ("state", "spool"):
            (self.folder / d).mkdir(parents=True, exist_ok=True)
        conf = self.folder / "slurm.conf"
        conf.write_text("\n".join([
            "ClusterName=atlas", f"SlurmctldHost={host}", "SlurmUser=root", "SlurmdUser=root",
            "AuthType=auth/munge", "CredType=cred/munge", "MpiDefault=none",
            "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none", "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core_Memory",
            "SchedulerType=sched/backfill", "ReturnToService=2", "MinJobAge=3600",
            # configless: slurmd fetches the config from slurmctld and keeps it where srun, run inside a
            # job without SLURM_CONF, looks (/run/slurm/conf), so that nothing is written to /etc/slurm
            "SlurmctldParameters=enable_configless",
            f"SlurmctldPort={port}", f"SlurmdPort={_free_port()}",
            f"StateSaveLocation={self.folder / 'state'}", f"SlurmdSpoolDir={self.folder / 'spool'}",
            f"SlurmctldPidFile={self.folder / 'slurmctld.pid'}", f"SlurmdPidFile={self.folder / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.folder / 'slurmctld.log'}", f"SlurmdLogFile={self.folder / 'slurmd.log'}",
            f"{node} State=UNKNOWN",
            "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
        ]) + "\n")
        self.env["SLURM_CONF"] = str(conf)
        logs = open(self.folder / "daemons.out", "ab")
        self.started.append(subprocess.Popen(["slurmctld", "-D", "-i", "-f", str(conf)], env=self.env,
                                             stdout=logs, stderr=logs))
        self._wait(lambda: subprocess.run(["scontrol", "ping"], capture_output=True, env=self.env).returncode == 0,
                   timeout, "slurmctld")
        self.started.append(subprocess.Popen(["slurmd", "-D", "--conf-server", f"{host}:{port}"], env=self.env,
                                             stdout=logs, stderr=logs))
        self._wait(self._node_idle, timeout, "slurmd's node to be idle")
        return self

    def _node_idle(self) -> bool:
        out = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, env=self.env)
        return out.returncode == 0 and out.stdout.strip() == "idle"

    def _wait(self, ready, timeout: float, what: str) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if ready():
                return
            if any(p.poll() is not None for p in self.started):
                break
            time.sleep(0.5)
        self.stop()
        logs = "".join(f"\n--- {f.name}\n{f.read_text(errors='replace')[-2000:]}"
                       for f in [*self.folder.glob("*.log"), *self.folder.glob("*.out")])
        raise RuntimeError(f"waited {timeout:.0f} s for {what}{logs}")

    def stop(self) -> None:
        """Stop the daemons this started (the last started first)."""
        for p in reversed(self.started):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.started = []
        if self.made_cache and self.CONF_CACHE.is_symlink():   # slurmd links it to its spool folder
            self.CONF_CACHE.unlink()
        elif self.made_cache:
            shutil.rmtree(self.CONF_CACHE, ignore_errors=True)

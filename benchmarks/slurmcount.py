"""Count what a Snakemake run submitted to Slurm, for ``benchmarks/scatter.py --slurm``.

Two independent counts: the submissions the Snakemake slurm executor plugin logs (one line per
``sbatch`` call, array jobs with their task range), and the jobs ``sacct`` lists under the job
name the plugin gives every job of one run (its "SLURM run ID").
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

__all__ = ["count_sacct_jobs", "parse_submissions", "slurm_ready"]

_SUBMITTED = re.compile(
    r"has been submitted with SLURM jobid (\S+?)[ .]|SLURM job ID (\S+?)\. The individual"
)
_TASKS = re.compile(r"The individual task IDs are (\d+)-(\d+)")
_RUN_ID = re.compile(r"SLURM run ID: (\S+)")


def parse_submissions(log_text: str) -> dict[str, int]:
    """Snakemake slurm-plugin log → sbatch calls and array tasks it reports."""
    calls = len(_SUBMITTED.findall(log_text))
    tasks = sum(int(end) - int(start) + 1 for start, end in _TASKS.findall(log_text))
    return {"sbatch_calls": calls, "array_tasks": tasks}


def count_sacct_jobs(log_text: str, since: float) -> int | None:
    """Jobs (array tasks one each) that sacct lists under this run's job name since ``since``."""
    run_id = _RUN_ID.search(log_text)
    sacct = shutil.which("sacct")
    if run_id is None or sacct is None:
        return None
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(since - 5))
    command = [sacct, "-n", "-P", "-X", "--name", run_id[1], "-S", start, "-o", "JobID"]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    return len(done.stdout.split()) if done.returncode == 0 else None


def slurm_ready(repo: Path) -> str | None:
    """None when the test Slurm cluster is up (started if it was not), else why it is not.

    A cluster this starts is left running, as ``make test`` leaves it
    (``bash scripts/cluster/slurm.sh stop`` stops it).
    """
    script = repo / "scripts" / "cluster" / "slurm.sh"
    if not script.is_file():
        return f"{script} is missing"
    up = subprocess.run(
        ["bash", str(script), "status"], capture_output=True, check=False, timeout=60
    )
    if up.returncode == 0:
        return None
    try:
        done = subprocess.run(
            ["bash", str(script), "start"], capture_output=True, text=True, timeout=600, check=False
        )
    except subprocess.TimeoutExpired:
        return "scripts/cluster/slurm.sh start did not finish within 600 s"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no message"]
        return f"scripts/cluster/slurm.sh start failed: {lines[-1]}"
    return None

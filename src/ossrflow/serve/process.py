"""Processes, containers and scheduler jobs of a run, seen and stopped from the service.

A worker is known by its pid and its start time (``/proc/PID/stat``), so a pid reused by
another process after a restart is never mistaken for it. Workers lead their own session:
signalling the process group reaches the worker and what it started in that group (Snakemake
runs in a session of its own under ``ossrflow.run.snakehost``, which stops it when the worker
dies). Containers carry the label ``org.ossrflow.run=RUN_ID`` (the container guard adds it);
scheduler jobs are those the run folder records (``ossrflow.list_run_jobs``).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from ossrflow.serve.guard import LABEL

__all__ = [
    "active_slurm_jobs",
    "cancel_scheduler_jobs",
    "kill_containers",
    "process_start",
    "running",
    "signal_group",
]

_LOG = logging.getLogger("ossrflow.serve")
TIMEOUT = 60.0


def process_start(pid: int) -> str | None:
    """The start time of a live process (clock ticks since boot), None if gone or a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def running(pid: int | None, start: str | None) -> bool:
    """The process ``pid`` that started at ``start`` still runs."""
    return pid is not None and start is not None and process_start(pid) == start


def signal_group(pid: int, signum: int) -> bool:
    """Send ``signum`` to the process group led by ``pid``; False when it is gone."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def _run(argv: list[str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        _LOG.warning("%s failed: %s", argv[0], exc)
        return None


def kill_containers(run_id: str) -> list[str]:
    """Kill every docker/podman container labelled with this run; the ids killed."""
    killed: list[str] = []
    for name in ("docker", "podman"):
        engine = shutil.which(name)
        if engine is None:
            continue
        found = _run([engine, "ps", "-q", "--filter", f"label={LABEL}={run_id}"])
        ids = found.stdout.split() if found is not None and found.returncode == 0 else []
        if ids:
            _run([engine, "kill", *ids])
            killed += ids
    return killed


def active_slurm_jobs(job_ids: Iterable[str]) -> list[str]:
    """Those of ``job_ids`` that Slurm still has queued or running (``squeue``)."""
    ids = sorted({j for j in job_ids if j.isdigit()})
    squeue = shutil.which("squeue")
    if not ids or squeue is None:
        return []
    found = _run([squeue, "-h", "-o", "%i", "-j", ",".join(ids)])
    if found is None or found.returncode != 0:
        return []
    return sorted(set(found.stdout.split()) & set(ids))


def cancel_scheduler_jobs(job_ids: Iterable[str]) -> list[str]:
    """``scancel`` the Slurm jobs of ``job_ids`` still queued or running; the ids cancelled."""
    left = active_slurm_jobs(job_ids)
    scancel = shutil.which("scancel")
    if left and scancel is not None:
        _run([scancel, *left])
    return left

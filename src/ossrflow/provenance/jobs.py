"""The jobs of a run folder, read while it runs or after: one per Snakemake job that runs a tool.

:func:`list_run_jobs` reads what :mod:`ossrflow.provenance.scan` reads for the record (the plan,
each job's output object and ``job.log``, Snakemake's metadata and log with the scheduler's job
ids) and adds what a service reports about a live run: a job that has a log but no output yet is
``running`` while the run is active, and a failed job's exit status comes from the Snakemake log
(or the element's ``exit.code``). Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ossrflow.provenance.scan import read_plan, step_jobs
from ossrflow.run.plan import element_dir
from ossrflow.run.rundir import EXIT_FILE, SNAKEMAKE_LOG
from ossrflow.run.snakemake import parse_failures

__all__ = ["RunJob", "list_run_jobs"]


@dataclass(frozen=True)
class RunJob:
    """One job of a step (one per scatter element): status, scheduler id, times, exit, log."""

    step: str
    element: int | None
    status: str  # completed | failed | running | not run
    job_id: str | None  # Slurm job id or HTCondor cluster id; None when run locally
    started: str | None
    ended: str | None
    exit_code: int | None
    log: Path | None  # the job's log file, when it exists

    @property
    def id(self) -> str:
        """``STEP`` or ``STEP.ELEMENT``: unique within the run."""
        return self.step if self.element is None else f"{self.step}.{self.element}"


def _exit_file(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return None


def list_run_jobs(run_dir: Path, *, active: bool = False) -> list[RunJob]:
    """Every job of ``run_dir``'s plan, upstream first (empty before the run is planned).

    ``active``: the run is still going, so a started job without output is ``running``.
    """
    plan = read_plan(run_dir) if (run_dir / "plan.json").is_file() else None
    if plan is None:
        return []
    log = run_dir / SNAKEMAKE_LOG
    text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
    failed = {failure.log: failure.status for failure in parse_failures(text) if failure.log}
    jobs = []
    for job in step_jobs(run_dir, plan):
        folder = element_dir(job.step, job.element)
        job_log = f"{folder}/job.log"
        status, exit_code = job.status, None
        if status == "completed":
            exit_code = 0
        elif status == "failed":
            if job_log in failed:
                exit_code = failed[job_log]
            elif active:
                status = "running"
            else:
                exit_code = _exit_file(run_dir / folder / EXIT_FILE)
        path = run_dir / job_log
        jobs.append(
            RunJob(
                job.step,
                job.element,
                status,
                job.job_id,
                job.started,
                job.ended,
                exit_code,
                path if path.is_file() else None,
            )
        )
    return jobs

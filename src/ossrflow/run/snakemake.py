"""Snakemake as a subprocess: its command line, its log read for progress, its failures parsed.

:func:`snakemake_command` builds the exact command (nothing in it comes from untrusted input);
:func:`run_snakemake` runs it under :mod:`ossrflow.run.snakehost` with its whole log kept in the
run folder, turning log lines into :class:`Progress`; :func:`parse_failures` and
:func:`failure_of` turn the log of a failed run into one error naming the step and its log.
The parsers are pure and tested on recorded Snakemake output.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ossrflow.errors import ServiceError, Unsupported, WorkflowFailed
from ossrflow.integrity import atomic_write
from ossrflow.run.options import RunOptions
from ossrflow.run.rundir import SHIM_DIR, SNAKEFILE, SNAKEMAKE_LOG

__all__ = [
    "JobFailure",
    "Progress",
    "failure_of",
    "parse_failures",
    "parse_progress",
    "run_snakemake",
    "snakemake_command",
]

_PROGRESS = re.compile(r"^(\d+) of (\d+) steps \(\d+%\) done")
_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
_FINISHED = re.compile(r"^Finished jobid: \d+")
_ERROR = re.compile(r"^Error in rule (\w+):")
_LOG = re.compile(r"^\s+log: (\S+)")
_STATUS = re.compile(r"returned non-zero exit status (\d+)")
_HINT = re.compile(r" \(fix: [^()]*\)$")


@dataclass(frozen=True)
class Progress:
    """Jobs done, running and in total, as Snakemake reports them."""

    done: int
    total: int
    running: int = 0

    @property
    def pending(self) -> int:
        """Jobs neither done nor running."""
        return max(0, self.total - self.done - self.running)


def parse_progress(line: str) -> tuple[int, int] | None:
    """``(done, total)`` from Snakemake's ``N of M steps (X%) done`` line, else ``None``."""
    match = _PROGRESS.match(line.strip())
    return (int(match[1]), int(match[2])) if match else None


@dataclass(frozen=True)
class JobFailure:
    """One failed job as Snakemake's log tells it."""

    rule: str
    log: str | None = None
    status: int | None = None


def parse_failures(log_text: str) -> list[JobFailure]:
    """Every ``Error in rule`` block of a Snakemake log, with the job's log and exit status."""
    failures: list[JobFailure] = []
    status: int | None = None
    for line in log_text.splitlines():
        if exit_status := _STATUS.search(line):
            status = int(exit_status[1])
        elif error := _ERROR.match(line):
            failures.append(JobFailure(error[1], None, status))
            status = None
        elif failures and failures[-1].log is None and (log := _LOG.match(line)):
            failures[-1] = JobFailure(failures[-1].rule, log[1].rstrip(","), failures[-1].status)
    return failures


def snakemake_command(run_dir: Path, options: RunOptions) -> list[str]:
    """The Snakemake command line for ``run_dir`` (nothing in it comes from untrusted input).

    Snakemake runs under :mod:`ossrflow.run.snakehost`, which stops it (and its jobs) when this
    process dies.
    """
    command = [
        sys.executable,
        "-m",
        "ossrflow.run.snakehost",
        str(os.getpid()),
        "--snakefile",
        str(run_dir / SNAKEFILE),
        "--directory",
        str(run_dir),
        "--profile",
        str(options.profile.path),
        "--nolock",
        "--rerun-incomplete",
        "--retries",
        str(options.retries),
    ]
    if options.jobs:
        local = options.profile.executor == "local"
        command += ["--cores" if local else "--jobs", str(options.jobs)]
    if options.dry_run:
        command += ["--dry-run"]
    return command


class _Tracker:
    """Turns Snakemake log lines into :class:`Progress` updates."""

    def __init__(self, progress: Callable[[Progress], None] | None) -> None:
        self.progress = progress
        self.done = self.total = self.running = 0

    def feed(self, line: str) -> None:
        if _START.match(line):
            self.running += 1
        elif _FINISHED.match(line.strip()):
            self.running = max(0, self.running - 1)
        elif counts := parse_progress(line):
            self.done, self.total = counts
        else:
            return
        if self.progress is not None:
            self.progress(Progress(self.done, self.total, self.running))


def run_snakemake(
    run_dir: Path,
    options: RunOptions,
    progress: Callable[[Progress], None] | None = None,
    extra: list[str] | None = None,
    log_name: str = SNAKEMAKE_LOG,
) -> tuple[int, str]:
    """Run Snakemake; its whole log goes to ``run_dir/log_name``. Returns (status, log)."""
    command = snakemake_command(run_dir, options) + (extra or [])
    tracker = _Tracker(progress)
    lines: list[str] = []
    if options.profile.executor == "htcondor":
        _set_aside_condor_log(run_dir)
    try:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=run_dir,
            env=_snakemake_env(run_dir, options.profile.executor),
            start_new_session=True,
        )
    except OSError as exc:
        raise ServiceError(f"cannot start Snakemake: {exc}", source=command[0]) from None
    with process, (run_dir / log_name).open("w", encoding="utf-8", buffering=1) as log:
        with _forward_interrupts(process):
            for line in process.stdout or ():
                log.write(line)
                lines.append(line)
                tracker.feed(line.rstrip("\n"))
        status = process.wait()
    return status, "".join(lines)


def _set_aside_condor_log(run_dir: Path) -> None:
    """Move an earlier run's HTCondor event log out of the way (``.previous.log``).

    snakemake-executor-plugin-htcondor 0.3 reads that log in its status thread before it has
    set itself up, and fails at once when the file exists (htcondor/snakemake-executor-plugin-
    htcondor#60); the events of an earlier Snakemake process are of no use to the next one.
    """
    log = run_dir / ".snakemake" / "htcondor" / "snakemake-rules.log"
    if log.is_file():
        log.replace(log.with_name("snakemake-rules.previous.log"))


def _snakemake_env(run_dir: Path, executor: str) -> dict[str, str]:
    env = dict(os.environ)
    # The htcondor plugin's bindings warn on import when no pool is configured.
    env.setdefault("PYTHONWARNINGS", "ignore::UserWarning")
    real = shutil.which("scontrol")
    if executor != "slurm" and real:
        # Snakemake imports every executor plugin at start; the slurm one runs
        # `scontrol show config`, which waits 10 s when Slurm is installed but not running.
        shim = run_dir / SHIM_DIR
        text = (
            "#!/bin/sh\n# ossrflow: answer Snakemake's slurm plugin at once outside Slurm runs\n"
            'if [ "$1" = show ] && [ "$2" = config ]; then exit 1; fi\n'
            f'exec {shlex.quote(real)} "$@"\n'
        )
        _write_executable(shim / "scontrol", text)
        env["PATH"] = f"{shim}{os.pathsep}{env.get('PATH', '')}"
    return env


def _write_executable(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        atomic_write(path, text)
    path.chmod(0o755)


@contextlib.contextmanager
def _forward_interrupts(process: subprocess.Popen[str]) -> Iterator[None]:
    """On SIGINT/SIGTERM, let Snakemake stop its jobs and mark them incomplete, then re-raise."""
    try:
        yield
    except KeyboardInterrupt:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)  # Snakemake and its local jobs, like Ctrl-C
        process.wait()
        raise


def failure_of(run_dir: Path, log_text: str, status: int) -> WorkflowFailed | Unsupported:
    failures = parse_failures(log_text)
    if not failures:
        tail = " | ".join(log_text.strip().splitlines()[-3:])
        return WorkflowFailed(
            f"Snakemake exited with status {status}: {tail}",
            source=str(run_dir / SNAKEMAKE_LOG),
            hint="read the Snakemake log",
        )
    failure = failures[0]
    detail = _last_error(run_dir / failure.log) if failure.log else ""
    where = str(run_dir / failure.log) if failure.log else str(run_dir / SNAKEMAKE_LOG)
    if failure.status == Unsupported.exit_code:
        return Unsupported(
            detail or f"step {failure.rule} needs an unsupported feature", source=where
        )
    return WorkflowFailed(
        f"step {failure.rule} failed" + (f": {detail}" if detail else ""),
        source=where,
        hint="read the step's log; run again to resume (finished steps are kept)",
    )


def _last_error(job_log: Path) -> str:
    """The job's own one-line error (its last non-empty log line), without its hint."""
    if not job_log.is_file():
        return ""
    lines = [line for line in job_log.read_text(encoding="utf-8", errors="replace").splitlines()]
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        return ""
    return _HINT.sub("", lines[-1].removeprefix("error: "))[:500]

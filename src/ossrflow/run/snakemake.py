"""Snakemake as a subprocess: its command line, its log read for progress, its failures parsed.

:func:`snakemake_command` builds the exact command (nothing in it comes from untrusted input);
:func:`run_snakemake` runs it under :mod:`ossrflow.run.snakehost` with its whole log kept in the
run folder, turning log lines into :class:`Progress`; :func:`parse_failures` and
:func:`failure_of` turn the log of a failed run into one error that carries its cause: the step,
the scatter element and its input, the exit status and the tool's last stderr line (read from the
job's log, or for batches of precomputed commands from the batch log's ``element … failed`` line
and that element's log), with "run again" only where running again can help. The parsers are
pure and tested on recorded Snakemake output.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ossrflow.errors import InputError, ServiceError, Unsupported, WorkflowFailed
from ossrflow.run.options import RunOptions
from ossrflow.run.rundir import SNAKEFILE, SNAKEMAKE_LOG
from ossrflow.run.snakehost import EXECUTOR_ENV, GO, HOLD_ENV
from ossrflow.run.warm import ENV as WARM_ENV
from ossrflow.run.warm import warm_jobs

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
_HINT = re.compile(r" \(fix: .*\)$")
_ELEMENT = re.compile(r"^element (\d+)(?: \((.*)\))? failed with exit status (\d+) \(log: (.+)\)$")
_BATCH_LOG = re.compile(r"^steps/(.+)/batches/\d+\.log$")
# Hints: running again helps when a job died (killed, lost, out of time), not when a tool failed.
_RESUME = "run the same command again to resume: finished jobs are kept"
_FIX = "read the log; once the cause is fixed, the same command reruns only what failed"


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
    prepare: Callable[[], None] | None = None,
    meanwhile: Callable[[], None] | None = None,
) -> tuple[int, str]:
    """Run Snakemake; its whole log goes to ``run_dir/log_name``. Returns (status, log).

    ``prepare`` (planning: it writes the Snakefile) runs after Snakemake's host has started: it
    imports Snakemake on the other core meanwhile and waits for it to finish. When ``prepare``
    raises, the host stops and Snakemake never runs. A local run's warm worker is forked from
    this process once the run is planned (:mod:`.warm`), before Snakemake is told to go.
    ``meanwhile`` is called once Snakemake has been told to go (nothing forks from this process
    any more: it may start threads), while Snakemake runs.
    """
    command = snakemake_command(run_dir, options) + (extra or [])
    tracker = _Tracker(progress)
    if options.profile.executor == "htcondor":
        _set_aside_condor_log(run_dir)
    env = _snakemake_env(options.profile.executor)
    if prepare is not None:
        env[HOLD_ENV] = "1"
    warm = options.profile.executor == "local" and not options.dry_run and not extra
    with contextlib.ExitStack() as stack:
        worker = stack.enter_context(warm_jobs(run_dir)) if warm else None
        if worker is not None:
            env.update(worker.env)
        process = _start(command, run_dir, env, held=prepare is not None)
        with process:
            if prepare is not None:
                try:
                    prepare()
                except BaseException:
                    _abandon(process)
                    raise
            if worker is not None:
                worker.go()
            if prepare is not None:
                _release(process)
            if meanwhile is not None:
                meanwhile()
            return _follow(process, tracker, run_dir / log_name)


def _start(
    command: list[str], run_dir: Path, env: dict[str, str], *, held: bool
) -> subprocess.Popen[str]:
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE if held else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=run_dir,
            env=env,
            start_new_session=True,
        )
    except OSError as exc:
        raise ServiceError(f"cannot start Snakemake: {exc}", source=command[0]) from None


def _release(process: subprocess.Popen[str]) -> None:
    """Tell a held Snakemake host that the Snakefile is written: run."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.write(GO)
            process.stdin.close()


def _abandon(process: subprocess.Popen[str]) -> None:
    """A held host whose run was not planned: end it (closing its stdin is enough)."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _follow(process: subprocess.Popen[str], tracker: _Tracker, log_path: Path) -> tuple[int, str]:
    lines: list[str] = []
    with log_path.open("w", encoding="utf-8", buffering=1) as log:
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


def _snakemake_env(executor: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(WARM_ENV, None)  # only a local run's own worker (see run_snakemake)
    env.pop(HOLD_ENV, None)
    env[EXECUTOR_ENV] = executor  # snakehost loads only this executor plugin
    # The htcondor plugin's bindings warn on import when no pool is configured.
    env.setdefault("PYTHONWARNINGS", "ignore::UserWarning")
    return env


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


def failure_of(run_dir: Path, log_text: str, status: int) -> InputError | WorkflowFailed:
    """The first failed job of a Snakemake log as one error that carries its cause.

    A job that exited 2 (bad input: what a tool wrote was refused) or 33 (unsupported) keeps its
    error's kind; any other failure is :class:`WorkflowFailed`.
    """
    failures = parse_failures(log_text)
    if not failures:
        tail = " | ".join(log_text.strip().splitlines()[-3:])
        return WorkflowFailed(
            f"Snakemake exited with status {status}: {tail}",
            source=str(run_dir / SNAKEMAKE_LOG),
            hint="read the Snakemake log",
        )
    failure = failures[0]
    log = run_dir / failure.log if failure.log else None
    if log is not None and (batch := _BATCH_LOG.match(failure.log or "")):
        found = _element_failure(run_dir, batch[1], log)
        if found is not None:
            return found
    detail = _last_error(log) if log is not None else ""
    where = str(log) if log is not None else str(run_dir / SNAKEMAKE_LOG)
    if failure.status == InputError.exit_code and detail and log is not None:
        return InputError(detail, hint=_job_hint(log))  # e.g. a tool's output refused: exit 2
    if failure.status == Unsupported.exit_code:
        return Unsupported(
            detail or f"step {failure.rule} needs an unsupported feature", source=where
        )
    if not detail:
        reason = f" (exit status {failure.status})" if failure.status is not None else ""
        return WorkflowFailed(
            f"step {failure.rule} stopped without an error of its own{reason}",
            source=where,
            hint=_RESUME,
        )
    message = detail if detail.startswith("step ") else f"step {failure.rule} failed: {detail}"
    return WorkflowFailed(message, source=where, hint=_RESUME if "signal" in detail else _FIX)


def _element_failure(run_dir: Path, step: str, batch_log: Path) -> WorkflowFailed | None:
    """The first ``element … failed`` line of a batch log, with that element's last log line."""
    try:
        lines = batch_log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        if match := _ELEMENT.match(line.strip()):
            element, inputs, code, stderr = match.groups()
            what = f"step {step}, element {element}" + (f" ({inputs})" if inputs else "")
            last = _last_line(Path(stderr))
            reason = _exit_reason(int(code))
            hint = _RESUME if int(code) >= 128 else _FIX
            text = f"{what} failed: {reason}" + (f": {last}" if last else "")
            return WorkflowFailed(text, source=stderr, hint=hint)
    return None


def _exit_reason(code: int) -> str:
    """``exit status N``, or the signal that killed the command (bash reports 128 + N)."""
    if code > 128:
        with contextlib.suppress(ValueError):
            return f"killed by signal {signal.Signals(code - 128).name} (exit status {code})"
    return f"exit status {code}"


def _last_line(path: Path) -> str:
    if not path.is_file():
        return ""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    found = [line.strip() for line in lines if line.strip()]
    return found[-1][:300] if found else ""


def _job_hint(job_log: Path) -> str | None:
    """The hint of the job's own error line (``… (fix: hint)``)."""
    found = _HINT.search(_last_line(job_log))
    return found[0].removeprefix(" (fix: ").removesuffix(")") if found else None


def _last_error(job_log: Path) -> str:
    """The job's own one-line error (its last log line, ``error: …``), without its hint."""
    last = _last_line(job_log)
    if not last.startswith("error: "):
        return ""
    return _HINT.sub("", last.removeprefix("error: "))[:500]

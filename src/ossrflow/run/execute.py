"""Run a CWL tool or workflow through Snakemake: plan, write the run directory, run, collect.

``run_workflow`` is the whole path; the pieces are public for the CLI and the tests:
``prepare_run`` (load + plan + pin container images + write Snakefile; ``pin_run_images`` chooses
the container engine and resolves every step's image once, here on the submit host),
``snakemake_command`` (the exact command line),
``run_snakemake`` (the subprocess, with progress parsed from its log) and ``collect_outputs``
(the CWL output object with files placed in the output folder, like cwltool).

Resume: the run directory keeps every finished job's ``cwl.output.json``; running again reruns
only what is missing. A lock file keeps two ossrflow processes out of one run directory.
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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ossrflow.containers.engines import AUTO_ENGINES, select_engine
from ossrflow.containers.images import IMAGES_FILE, DockerUse, StepImage, pin_images, render_pins
from ossrflow.cwl.inputs import find_step
from ossrflow.cwl.load import RootDocument, docker_uses, load_root, save_schema_cache
from ossrflow.cwl.outputs import collect_outputs
from ossrflow.errors import InputError, ServiceError, Unsupported, WorkflowFailed
from ossrflow.integrity import atomic_write
from ossrflow.run.batches import prepare_batches
from ossrflow.run.job import CACHE_DIR, SHIM_DIR
from ossrflow.run.plan import Plan, node_output, plan_run
from ossrflow.run.profiles import Profile
from ossrflow.run.snakegen import SNAKEFILE, write_run_dir
from ossrflow.run.uptodate import check_stamp, clear_stamp, write_documents, write_stamp

__all__ = [
    "JobFailure",
    "Progress",
    "RunOptions",
    "RunResult",
    "engine_choices",
    "parse_failures",
    "parse_progress",
    "pin_run_images",
    "prepare_run",
    "render_dry_run",
    "run_snakemake",
    "run_workflow",
    "snakemake_command",
]

LOCK_FILE = ".ossrflow.lock"
SNAKEMAKE_LOG = "snakemake.log"
REPORT_LOG = "snakemake-report.log"
_PROGRESS = re.compile(r"^(\d+) of (\d+) steps \(\d+%\) done")
_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
_TIMESTAMP = re.compile(r"^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\]$")
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


@dataclass(frozen=True)
class RunOptions:
    """How to run: profile, parallelism, retries, dry run, report."""

    profile: Profile
    jobs: int | None = None
    retries: int = 0
    dry_run: bool = False
    report: Path | None = None
    overrides: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    cache_dir: Path | None = None
    container: str | None = None  # docker | podman | apptainer | none; None: profile, else auto
    image_cache: Path | None = None  # where Apptainer's SIF files are kept (RUN_DIR/.ossrflow)


@dataclass(frozen=True)
class RunResult:
    """What a run produced: the output object (None for a dry run) and where everything is."""

    run_dir: Path
    outputs: dict[str, Any] | None
    log: Path
    dry_run_text: str = ""
    report: Path | None = None
    up_to_date: bool = False  # nothing ran: the run dir already held this result


def render_dry_run(result: RunResult, profile: Profile) -> str:
    """The plan of a dry run: where it runs, Snakemake's job counts, then each job to start."""
    header = [
        f"run directory: {result.run_dir}",
        f"Snakefile:     {result.run_dir / SNAKEFILE}",
        f"profile:       {profile.name} ({profile.path}), executor {profile.executor}",
        "nothing was run (dry run); jobs that would run or be submitted:",
        "",
    ]
    return "\n".join(header + _dry_run_jobs(result.dry_run_text.splitlines())).rstrip() + "\n"


def _dry_run_jobs(lines: list[str]) -> list[str]:
    """Snakemake's first job table and its job blocks, without timestamps, ids and ``all``."""
    stats = [i for i, line in enumerate(lines) if line.startswith("Job stats:")]
    if not stats:
        return [line for line in lines if line.startswith("Nothing to be done")]
    end = stats[1] if len(stats) > 1 else len(lines)
    kept: list[str] = []
    skipping = False
    for line in lines[stats[0] : end]:
        if _START.match(line):
            skipping = line.split()[-1] == "all:"
        if skipping or _TIMESTAMP.match(line) or line.strip().startswith("jobid:"):
            continue
        if line != "Shell command: None":
            kept.append(line)
    return kept


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


def engine_choices(options: RunOptions) -> tuple[str, ...]:
    """The engines to try: ``--container``, else the profile's ``container:``, else all of them."""
    if options.container is not None:
        return (options.container,)
    return options.profile.container or AUTO_ENGINES


def _step_uses(root: RootDocument, plan: Plan) -> dict[str, list[DockerUse]]:
    """Per plan node that runs tools: the DockerRequirement of each tool it runs."""
    uses: dict[str, list[DockerUse]] = {}
    parts = urlsplit(root.uri)
    document = Path(unquote(parts.path)) if parts.scheme == "file" else None
    for node in plan.nodes:
        if node.kind == "tool":
            found = docker_uses(root.process, plan.job_requirements, document=document)
        elif node.kind == "step":
            tool = find_step(root.process, node.target)[1].embedded_tool
            found = docker_uses(tool, document=document)
        else:
            continue
        if found:
            uses[node.key] = found
    return uses


def _refuse_required(uses: Mapping[str, Sequence[DockerUse]]) -> None:
    """Without an engine, hinted images are ignored; a required one cannot run."""
    for use in (use for found in uses.values() for use in found if use.required):
        raise Unsupported(
            "the tool requires a container (DockerRequirement under requirements) and this run "
            "uses no container engine",
            source=use.tool or None,
            location="requirements.DockerRequirement",
            hint="choose an engine with --container docker|podman|apptainer (set one up with "
            "scripts/containers/), or move the DockerRequirement to hints",
        )


def pin_run_images(
    root: RootDocument,
    plan: Plan,
    run_dir: Path,
    *,
    engines: Sequence[str],
    image_cache: Path | None = None,
    resolve: bool = True,
) -> Plan:
    """Choose the container engine, pin every step's image once, write ``RUN_DIR/images.json``.

    The engine is the first of ``engines`` that can run here, probed only when some tool has a
    DockerRequirement (else the run needs none). Each distinct image is resolved once, here on
    the submit host (:func:`ossrflow.containers.images.pin_images`); jobs then run its digest. Returns the
    plan with its ``engine`` set.
    """
    uses = _step_uses(root, plan)
    engine = select_engine(engines) if uses else None
    images: list[StepImage] = []
    if engine is None:
        _refuse_required(uses)
    elif resolve:
        source = select_engine(("docker", "podman", "none")) if engine.name == "apptainer" else None
        cache = image_cache or run_dir / CACHE_DIR / "images"
        images = pin_images(uses, engine, source=source, cache_dir=cache)
    name = engine.name if engine is not None else "none"
    atomic_write(run_dir / IMAGES_FILE, render_pins(name, images))
    return replace(plan, engine=name)


def prepare_run(
    tool: str,
    job: str | None,
    run_dir: Path,
    *,
    executor: str = "local",
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    cache_dir: Path | None = None,
    max_jobs_per_step: int | None = None,
    engines: Sequence[str] = ("none",),
    image_cache: Path | None = None,
    resolve_images: bool = True,
) -> Plan:
    """Load and validate the document and job order, plan, and write the run directory.

    ``cache_dir`` keeps parsed CWL schemas between runs (about a second saved per run).
    Scatters that can run as precomputed commands are cut into at most ``max_jobs_per_step``
    batch jobs (one per element when None). ``engines`` are the container engines to try (see
    :func:`pin_run_images`); ``resolve_images=False`` (a dry run) chooses one but pins nothing.
    """
    root = load_root(tool, job, cache_dir)
    plan = plan_run(root)
    plan = pin_run_images(
        root, plan, run_dir, engines=engines, image_cache=image_cache, resolve=resolve_images
    )
    batches = prepare_batches(root.process, plan, run_dir, max_jobs=max_jobs_per_step)
    write_run_dir(
        plan,
        run_dir,
        python=sys.executable,
        executor=executor,
        overrides=overrides,
        batches=batches,
        max_jobs_per_step=max_jobs_per_step,
    )
    save_schema_cache(run_dir / CACHE_DIR)
    loader = root.process.doc_loader
    write_documents(run_dir, [root.uri, *(loader.idx if loader is not None else [])])
    return plan


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


@contextlib.contextmanager
def _locked(run_dir: Path) -> Iterator[None]:
    from filelock import FileLock, Timeout

    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_dir / LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise InputError(
            "another ossrflow process is running in this run directory",
            source=str(run_dir),
            hint="wait for it to finish, or choose another --run-dir",
        ) from None
    try:
        yield
    finally:
        lock.release()


def _failure(run_dir: Path, log_text: str, status: int) -> WorkflowFailed | Unsupported:
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


def run_workflow(
    tool: str,
    job: str | None,
    *,
    run_dir: Path,
    outdir: Path | None,
    options: RunOptions,
    progress: Callable[[Progress], None] | None = None,
    move_outputs: bool = False,
) -> RunResult:
    """Plan ``tool`` with ``job``, run it through Snakemake in ``run_dir``, collect its outputs.

    Raises :class:`WorkflowFailed` when a step fails. ``move_outputs`` moves result files out of
    the run directory instead of copying them (for throw-away run directories).
    """
    run_dir = run_dir.resolve()
    with _locked(run_dir):
        fresh = not (options.dry_run or options.report or move_outputs)
        choices = {"engines": engine_choices(options)}
        stamped: dict[str, Any] = {"tool": tool, "job": job, "outdir": outdir, "choices": choices}
        if fresh and (done := check_stamp(run_dir, **stamped)):
            return RunResult(run_dir, done, run_dir / SNAKEMAKE_LOG, up_to_date=True)
        clear_stamp(run_dir)
        plan = prepare_run(
            tool,
            job,
            run_dir,
            executor=options.profile.executor,
            overrides=options.overrides,
            cache_dir=options.cache_dir,
            max_jobs_per_step=options.profile.max_jobs_per_step,
            engines=engine_choices(options),
            image_cache=options.image_cache,
            resolve_images=not options.dry_run,
        )
        status, log_text = run_snakemake(run_dir, options, progress)
        if status != 0:
            raise _failure(run_dir, log_text, status)
        if options.dry_run:
            return RunResult(run_dir, None, run_dir / SNAKEMAKE_LOG, dry_run_text=log_text)
        report = _write_report(run_dir, options, options.report) if options.report else None
        outputs = None
        if outdir is not None:
            outputs = collect_outputs(run_dir / node_output(plan.result), outdir, move=move_outputs)
        if fresh:
            result = run_dir / node_output(plan.result)
            write_stamp(run_dir, inputs=plan.job_order, outputs=outputs, result=result, **stamped)
        return RunResult(run_dir, outputs, run_dir / SNAKEMAKE_LOG, report=report)


def _write_report(run_dir: Path, options: RunOptions, report: Path) -> Path:
    report = report.resolve()
    status, log_text = run_snakemake(
        run_dir, options, None, ["--report", str(report)], log_name=REPORT_LOG
    )
    if status != 0:
        raise _failure(run_dir, log_text, status)
    return report

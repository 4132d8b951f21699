"""Run a CWL tool or workflow through Snakemake: plan, write the run directory, run, collect.

``run_workflow`` is the whole path; the pieces are public for the tests:
``prepare_run`` (load + plan + pin container images + write Snakefile; ``pin_run_images`` chooses
the container engine and resolves every step's image once, here on the submit host),
:mod:`ossrflow.run.snakemake` (the subprocess, with progress parsed from its log) and
``collect_outputs`` (the CWL output object with files placed in the output folder, like cwltool).

Resume: the run directory keeps every finished job's ``cwl.output.json``; running again reruns
only what is missing, and what read an input whose content changed (:mod:`.freshness`). The
result says how many jobs this run ran and how many earlier runs had done, by profile
(:mod:`.reuse`). A lock file keeps two ossrflow processes out of one run directory.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ossrflow.containers.engines import AUTO_ENGINES, select_engine
from ossrflow.containers.pins import IMAGES_FILE, DockerUse, StepImage, pin_images, render_pins
from ossrflow.cwl.inputs import find_step
from ossrflow.cwl.load import RootDocument, docker_uses, load_root
from ossrflow.cwl.outputs import collect_outputs
from ossrflow.cwl.schemas import save_schema_cache
from ossrflow.errors import InputError, Unsupported
from ossrflow.integrity import atomic_write
from ossrflow.run.batches import Batching, prepare_batches
from ossrflow.run.freshness import refresh_nodes
from ossrflow.run.keys import DigestCache
from ossrflow.run.options import RunOptions
from ossrflow.run.plan import Plan, node_output, plan_run
from ossrflow.run.profiles import Profile
from ossrflow.run.reuse import JobCounts, count_jobs, render_reuse, snapshot_facts
from ossrflow.run.rundir import (
    CACHE_DIR,
    LOCK_FILE,
    REPORT_FILE,
    REPORT_LOG,
    SNAKEFILE,
    SNAKEMAKE_LOG,
)
from ossrflow.run.snakegen import write_run_dir
from ossrflow.run.snakemake import Progress, failure_of, run_snakemake
from ossrflow.run.uptodate import check_stamp, clear_stamp, write_documents, write_stamp

__all__ = [
    "RunOptions",
    "RunResult",
    "batching_of",
    "engine_choices",
    "pin_run_images",
    "prepare_run",
    "render_dry_run",
    "run_workflow",
]

_START = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
_TIMESTAMP = re.compile(r"^\[\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\]$")


@dataclass(frozen=True)
class RunResult:
    """What a run produced: the output object (None for a dry run) and where everything is."""

    run_dir: Path
    outputs: dict[str, Any] | None
    log: Path
    dry_run_text: str = ""
    report: Path | None = None
    up_to_date: bool = False  # nothing ran: the run dir already held this result
    jobs: JobCounts | None = None  # tool jobs this run ran, and those earlier runs had done
    reuse: str | None = None  # one line on reused jobs (None: every job ran in this run)


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


def batching_of(options: RunOptions) -> Batching:
    """The profile's batching of scatters; its floor is the jobs run at once (``--jobs``, else
    a local profile's ``cores``, else its ``jobs``)."""
    profile = options.profile
    slots = options.jobs or profile.parallel_jobs
    return Batching(profile.max_jobs_per_step, profile.min_elements_per_job, slots)


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
    profile: str = "local",
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    cache_dir: Path | None = None,
    batching: Batching | None = None,
    engines: Sequence[str] = ("none",),
    image_cache: Path | None = None,
    resolve_images: bool = True,
) -> Plan:
    """Load and validate the document and job order, plan, and write the run directory.

    ``cache_dir`` keeps parsed CWL schemas between runs (about a second saved per run).
    Scatters that can run as precomputed commands are cut into batch jobs as ``batching``
    says (one per element when None; :func:`batching_of` reads a profile's). ``engines`` are the container engines to try (see
    :func:`pin_run_images`); ``resolve_images=False`` (a dry run) chooses one but pins nothing.
    ``executor`` and ``profile`` (:attr:`Profile.ident`) go into the jobs' facts. Jobs whose
    input changed by content since they ran lose their results (:mod:`.freshness`).
    """
    root = load_root(tool, job, cache_dir)
    plan = replace(plan_run(root), executor=executor, profile=profile)
    plan = pin_run_images(
        root, plan, run_dir, engines=engines, image_cache=image_cache, resolve=resolve_images
    )
    digests = DigestCache(run_dir)
    batching = batching or Batching()
    batches = prepare_batches(root.process, plan, run_dir, batching=batching, cache=digests)
    refresh_nodes(root.process, plan, run_dir, set(batches), digests)
    digests.save()
    write_run_dir(
        plan,
        run_dir,
        python=sys.executable,
        executor=executor,
        overrides=overrides,
        batches=batches,
        batching=batching,
    )
    save_schema_cache(run_dir / CACHE_DIR)
    loader = root.process.doc_loader
    write_documents(run_dir, [root.uri, *(loader.idx if loader is not None else [])])
    return plan


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


def run_workflow(
    tool: str,
    job: str | None,
    *,
    run_dir: Path,
    outdir: Path | None,
    options: RunOptions,
    progress: Callable[[Progress], None] | None = None,
    move_outputs: bool = False,
    meanwhile: Callable[[], None] | None = None,
) -> RunResult:
    """Plan ``tool`` with ``job``, run it through Snakemake in ``run_dir``, collect its outputs.

    Raises :class:`WorkflowFailed` when a step fails. ``move_outputs`` moves result files out of
    the run directory instead of copying them (for throw-away run directories). ``meanwhile`` is
    called once Snakemake runs (it may start a thread: nothing forks from this process then).
    """
    run_dir = run_dir.resolve()
    with _locked(run_dir):
        fresh = not (options.dry_run or options.report or move_outputs)
        choices = {"engines": engine_choices(options), "profile": options.profile.ident}
        stamped: dict[str, Any] = {"tool": tool, "job": job, "outdir": outdir, "choices": choices}
        if fresh and (done := check_stamp(run_dir, **stamped)):
            return RunResult(run_dir, done, run_dir / SNAKEMAKE_LOG, up_to_date=True)
        clear_stamp(run_dir)
        planned: list[Plan] = []
        before: dict[str, tuple[int, int]] = {}

        def plan() -> None:  # while Snakemake imports (run_snakemake)
            planned.append(
                prepare_run(
                    tool,
                    job,
                    run_dir,
                    executor=options.profile.executor,
                    profile=options.profile.ident,
                    overrides=options.overrides,
                    cache_dir=options.cache_dir,
                    batching=batching_of(options),
                    engines=engine_choices(options),
                    image_cache=options.image_cache,
                    resolve_images=not options.dry_run,
                )
            )
            if not options.dry_run:
                before.update(snapshot_facts(run_dir))

        status, log_text = run_snakemake(
            run_dir, options, progress, prepare=plan, meanwhile=meanwhile
        )
        planned_run = planned[0]
        if status != 0:
            raise failure_of(run_dir, log_text, status)
        if options.dry_run:
            return RunResult(run_dir, None, run_dir / SNAKEMAKE_LOG, dry_run_text=log_text)
        jobs = count_jobs(run_dir, before)
        profile = options.profile
        reuse = render_reuse(jobs, profile=profile.ident, executor=profile.executor)
        report = _write_report(run_dir, options) if options.report else None
        outputs = None
        if outdir is not None:
            result = run_dir / node_output(planned_run.result)
            outputs = collect_outputs(result, outdir, move=move_outputs)
        if fresh:
            result = run_dir / node_output(planned_run.result)
            write_stamp(
                run_dir, inputs=planned_run.job_order, outputs=outputs, result=result, **stamped
            )
        log = run_dir / SNAKEMAKE_LOG
        return RunResult(run_dir, outputs, log, report=report, jobs=jobs, reuse=reuse)


def _write_report(run_dir: Path, options: RunOptions) -> Path:
    report = run_dir / REPORT_FILE
    status, log_text = run_snakemake(
        run_dir, options, None, ["--report", str(report)], log_name=REPORT_LOG
    )
    if status != 0:
        raise failure_of(run_dir, log_text, status)
    return report

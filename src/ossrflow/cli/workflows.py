"""Workflows: ``ossrflow run`` (a definition or a CWL document, through Snakemake)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import ossrflow
from ossrflow.cli.common import AppContext, echo_json, registry_options, settings_from
from ossrflow.config import EnvVars
from ossrflow.errors import InputError, WorkflowFailed

if TYPE_CHECKING:
    from ossrflow.config import Settings
    from ossrflow.run.execute import Progress, RunOptions, RunResult

__all__ = ["is_cwl_document", "run"]


def is_cwl_document(path: Path) -> bool:
    """A ``.cwl`` file, or YAML/JSON with ``cwlVersion`` (else: a workflow definition)."""
    if path.suffix == ".cwl":
        return True
    from ossrflow.documents import load_yaml_document

    data = load_yaml_document(path)
    return isinstance(data, dict) and "cwlVersion" in data


def _default_run_dir(target: Path, job: Path | None) -> Path:
    """``runs/<name>-<hash>``: the same target and job resume in the same folder."""
    key = f"{target.resolve()}\n{job.resolve() if job else ''}".encode()
    return Path("runs") / f"{target.stem}-{hashlib.sha256(key).hexdigest()[:8]}"


def _progress(ctx: click.Context) -> Callable[[Progress], None]:
    app = ctx.find_object(AppContext) or AppContext()
    shown: set[tuple[int, int, int]] = set()

    def show(progress: Progress) -> None:
        key = (progress.done, progress.running, progress.total)
        if app.verbosity >= 0 and progress.total and key not in shown:
            shown.add(key)
            click.echo(
                f"[ossrflow] {progress.done}/{progress.total} jobs done, "
                f"{progress.running} running, {progress.pending} pending",
                err=True,
            )

    return show


def _compose(definition: Path, run_dir: Path, settings: Settings) -> tuple[Path, Path, Path]:
    """Compose a definition into ``RUN_DIR/workflow/``; return (workflow.cwl, job.yml, lock)."""
    parsed = ossrflow.load_definition(definition)
    lock_path = ossrflow.default_lock_path(definition)
    lock = ossrflow.load_lock(lock_path) if lock_path.is_file() else None
    composed = ossrflow.compose_workflow(parsed, run_dir / "workflow", settings, lock=lock)
    return composed.workflow, composed.job, composed.lock_path


@dataclass(frozen=True)
class _Run:
    """One run and its provenance record (RUN_DIR/provenance/, success or failure)."""

    target: Path
    job: Path | None
    lock: Path | None
    run_dir: Path
    options: RunOptions

    def execute(self, outdir: Path, progress: Callable[[Progress], None]) -> RunResult:
        started = datetime.now(UTC)
        try:
            result = ossrflow.run_workflow(
                str(self.target),
                str(self.job) if self.job else None,
                run_dir=self.run_dir,
                outdir=outdir,
                options=self.options,
                progress=progress,
            )
        except WorkflowFailed as exc:
            self.record(started, None, exc)
            raise
        if result.up_to_date:
            crate = self.run_dir / "provenance"
            click.echo(f"up to date: nothing ran; record of the run: {crate}", err=True)
            return result
        self.record(started, result.outputs, None)
        return result

    def record(self, started: datetime, outputs: Any, failure: WorkflowFailed | None) -> None:
        crate = ossrflow.record_run(
            self.run_dir,
            workflow=self.target,
            job=self.job,
            lock=self.lock,
            profile=self.options.profile,
            started=started,
            ended=datetime.now(UTC),
            exit_state="failed" if failure else "completed",
            outputs=outputs,
            error=str(failure) if failure else None,
        )
        click.echo(f"record: {crate}", err=True)


@click.command("run")
@click.argument(
    "target",
    metavar="DEFINITION.yml|WORKFLOW.cwl",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.argument("job", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--profile",
    metavar="local|slurm|htcondor|PATH",
    help=f"Snakemake profile. [env var: {EnvVars.PROFILE}; default: local]",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder (Snakefile, plan, step outputs, logs); run again to resume. "
    "[default: runs/NAME-HASH]",
)
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the output files go. [default: RUN_DIR/results]",
)
@click.option(
    "--container",
    type=click.Choice(["docker", "podman", "apptainer", "none"]),
    help="Engine for steps with a DockerRequirement; none runs them natively (a required "
    "image then exits 33). [default: the profile's ossrflow.yaml `container:`, else the first "
    "of docker, podman, apptainer that runs here, else none]",
)
@click.option("--jobs", type=click.IntRange(min=1), help="Jobs at a time (local: cores).")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Retries of a failed job.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan (what would run or be submitted).")
@click.option(
    "--report", is_flag=True, help="Also write Snakemake's HTML report RUN_DIR/report.html."
)
@registry_options
@click.pass_context
def run(
    ctx: click.Context,
    /,
    target: Path,
    job: Path | None,
    profile: str | None,
    run_dir: Path | None,
    outdir: Path | None,
    container: str | None,
    jobs: int | None,
    retries: int,
    dry_run: bool,
    report: bool,
    **flags: object,
) -> None:
    """Run a workflow definition or a CWL tool/workflow through Snakemake.

    Each CWL step (and each scatter element) is one Snakemake job, so the same run works on
    this machine (--profile local), on Slurm or on HTCondor. A definition is composed first
    (into RUN_DIR/workflow/). The CWL output object is printed on stdout; progress goes to
    stderr. Interrupt and run the same command again to resume: finished steps are kept.
    Every run, finished or failed, is recorded in RUN_DIR/provenance/ (`ossrflow rerun`).
    Images of DockerRequirements are resolved once, before the run, and every job runs the
    image by its digest (RUN_DIR/images.json; docs/containers.md).

    \b
    Examples:
      ossrflow run analysis.yml --registry dir:workflows/registry
      ossrflow run workflow.cwl job.yml --profile slurm --jobs 50
      ossrflow run workflow.cwl job.yml --dry-run
      ossrflow run workflow.cwl job.yml --container podman
      ossrflow run workflow.cwl job.yml --run-dir runs/today --outdir results/
    """
    settings = settings_from(ctx, profile=profile, **flags)
    run_dir = run_dir or _default_run_dir(target, job)
    lock = None
    if not is_cwl_document(target):
        if job is not None:
            raise InputError(
                "a definition names its own inputs; no job file is taken",
                source=str(job),
                hint="drop the job file, or run the composed workflow.cwl with it",
            )
        target, job, lock = _compose(target, run_dir, settings)
    options = ossrflow.RunOptions(
        ossrflow.load_profile(settings.profile),
        jobs=jobs,
        retries=retries,
        dry_run=dry_run,
        report=run_dir / "report.html" if report else None,
        cache_dir=settings.cache_dir / "cwl",
        container=container,
        image_cache=settings.cache_dir / "images",
    )
    if dry_run:
        result = ossrflow.run_workflow(
            str(target), str(job) if job else None, run_dir=run_dir, outdir=None, options=options
        )
        click.echo(ossrflow.render_dry_run(result, options.profile), nl=False)
        return
    run = _Run(target, job, lock, run_dir, options)
    result = run.execute(outdir or run_dir / "results", _progress(ctx))
    echo_json(result.outputs)
    if result.report is not None:
        click.echo(f"report: {result.report}", err=True)

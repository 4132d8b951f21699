"""``ossrflow run``: a definition or a CWL document, through Snakemake, recorded in a crate."""

from __future__ import annotations

from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import (
    echo_json,
    job_progress,
    jobs_option,
    profile_option,
    registry_options,
    settings_from,
    transfer_progress,
)

__all__ = ["run_command"]


@click.command("run")
@click.argument(
    "target",
    metavar="DEFINITION.yml|WORKFLOW.cwl",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.argument("job", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@profile_option("local")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Run folder (Snakefile, plan, step outputs, logs); run again to resume. "
    "[default: runs/NAME-HASH]",
)
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives the output files. [default: RUN_DIR/results]",
)
@click.option(
    "--container",
    type=click.Choice(["docker", "podman", "apptainer", "none"]),
    help="Container engine for steps with a DockerRequirement; none runs them natively (a "
    "required image then exits 33). [default: the profile's ossrflow.yaml `container:`, else "
    "the first of docker, podman, apptainer that runs here, else none]",
)
@jobs_option
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
@registry_options()
@click.pass_context
def run_command(
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
    stderr. Interrupt and run the same command again to resume: finished steps are kept, and
    steps whose input files changed (by content) run again. The default run folder depends on
    the profile; a run folder run with another profile says which jobs were already done.
    Every run, finished or failed, is recorded in RUN_DIR/provenance/ (`ossrflow rerun`).
    Images of DockerRequirements are resolved once, before the run, and every job runs the
    image by its digest (RUN_DIR/images.json; docs/containers.md).

    \b
    Examples:
      ossrflow run workflows/demo/analysis.yml --registry dir:workflows/registry
      ossrflow run workflow.cwl job.yml --profile slurm --jobs 50
      ossrflow run workflow.cwl job.yml --dry-run
      ossrflow run workflow.cwl job.yml --container podman
      ossrflow run workflow.cwl job.yml --run-dir runs/today --outdir results/
    """
    settings = settings_from(ctx, profile=profile, **flags)
    chosen = ossrflow.load_profile(settings.profile or "local")
    run_dir = run_dir or ossrflow.default_run_dir(target, job, chosen.ident)
    prepared = ossrflow.prepare_target(
        target, job, run_dir, settings, progress=transfer_progress(ctx)
    )
    options = ossrflow.RunOptions.from_settings(
        settings,
        chosen,
        jobs=jobs,
        retries=retries,
        dry_run=dry_run,
        report=report,
        container=container,
    )
    recorded = ossrflow.run_and_record(
        prepared.workflow,
        prepared.job,
        run_dir=run_dir,
        outdir=outdir,
        options=options,
        lock=prepared.lock,
        progress=job_progress(ctx),
    )
    if dry_run:
        click.echo(ossrflow.render_dry_run(recorded.result, options.profile), nl=False)
        return
    if recorded.up_to_date:
        click.echo(f"up to date: nothing ran; record of the run: {recorded.crate}", err=True)
    else:
        if recorded.result.reuse is not None:
            click.echo(recorded.result.reuse, err=True)
        click.echo(f"record: {recorded.crate}", err=True)
    echo_json(recorded.result.outputs)
    if recorded.result.report is not None:
        click.echo(f"report: {recorded.result.report}", err=True)

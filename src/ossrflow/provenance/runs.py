"""Run and record: the one path from a CWL document to a finished run folder with its crate.

:func:`prepare_target` turns what a user names (a CWL document and its job, or a workflow
definition, composed into ``RUN_DIR/workflow/``) into the workflow, job and lock to run.

``ossrflow run`` and :func:`ossrflow.provenance.rerun.rerun` both go through
:func:`run_and_record`: run through Snakemake (:func:`ossrflow.run.execute.run_workflow`), then
record the run in ``RUN_DIR/provenance/``, finished or failed. A failed run is recorded before
its error is raised; a run that was already up to date keeps its record; a dry run records
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.errors import InputError, WorkflowFailed
from ossrflow.provenance.record import DEFAULT_COPY_LIMIT, Preparation, record_run
from ossrflow.run.execute import RunResult, run_workflow
from ossrflow.run.rundir import COMPOSED_DIR, CRATE_DIR, RESULTS_DIR

if TYPE_CHECKING:
    from ossrflow.config import Settings
    from ossrflow.provenance.model import Tolerance
    from ossrflow.run.options import RunOptions
    from ossrflow.run.snakemake import Progress
    from ossrflow.transfer import ProgressCallback

__all__ = ["RecordedRun", "RunTarget", "prepare_target", "run_and_record", "sibling_lock"]


@dataclass(frozen=True)
class RunTarget:
    """What a run runs: a CWL document, its job order and the lock that pins them (if any)."""

    workflow: Path
    job: Path | None
    lock: Path | None = None


def prepare_target(
    target: Path,
    job: Path | None,
    run_dir: Path,
    settings: Settings,
    *,
    progress: ProgressCallback | None = None,
    registry_given: bool = True,
) -> RunTarget:
    """A CWL document as it is; a definition composed into ``RUN_DIR/workflow/`` first.

    A ``workflow.cwl`` that ``ossrflow compose`` wrote keeps its pins: the ``ossrflow.lock.json``
    beside it is the run's lock when it pins this workflow's bytes (:func:`sibling_lock`).
    Unless ``registry_given``, a definition's entries are resolved in the registry its lock
    records.
    """
    from ossrflow.cwl.load import is_cwl_document

    if is_cwl_document(target):
        return RunTarget(target, job, sibling_lock(target))
    # Only a definition needs composing (and its imports: a fifth of a second of every run).
    from ossrflow.compose.composition import compose_definition

    if job is not None:
        raise InputError(
            "a definition names its own inputs; no job file is taken",
            source=str(job),
            hint="drop the job file, or run the composed workflow.cwl with it",
        )
    composed = compose_definition(
        target, run_dir / COMPOSED_DIR, settings, progress=progress, registry_given=registry_given
    )
    return RunTarget(composed.workflow, composed.job, composed.lock_path)


def sibling_lock(workflow: Path) -> Path | None:
    """``DIR/ossrflow.lock.json`` when it pins ``DIR/workflow.cwl`` byte for byte, else None
    (no lock there, or one written for another workflow: compose again to pin this one)."""
    from ossrflow.compose.lock import LOCK_NAME, load_lock

    path = workflow.parent / LOCK_NAME
    if not path.is_file():
        return None
    return path if load_lock(path).pins_workflow(workflow) else None


@dataclass(frozen=True)
class RecordedRun:
    """A run's result and its record (``None`` for a dry run, which records nothing)."""

    result: RunResult
    crate: Path | None

    @property
    def up_to_date(self) -> bool:
        """Nothing ran: the run folder already held this result, and its record stands."""
        return self.result.up_to_date


def run_and_record(
    workflow: str | Path,
    job: Path | None,
    *,
    run_dir: Path,
    options: RunOptions,
    outdir: Path | None = None,
    lock: Path | None = None,
    progress: Callable[[Progress], None] | None = None,
    tolerance: Sequence[Tolerance] = (),
    rerun_of: str | None = None,
    copy_limit: int = DEFAULT_COPY_LIMIT,
) -> RecordedRun:
    """Run ``workflow`` with ``job`` in ``run_dir`` and record it (see the module docstring).

    Output files go to ``outdir`` (default: ``RUN_DIR/results``; none for a dry run).
    ``copy_limit`` bounds the bytes of input and output files the crate keeps copies of.

    Raises :class:`WorkflowFailed` (after recording the failed run) when a step fails.
    """
    started = datetime.now(UTC)
    if outdir is None and not options.dry_run:
        outdir = run_dir / RESULTS_DIR
    preparation = Preparation(workflow)  # packs while the run runs (not for a dry run)

    def record(outputs: Any, failure: WorkflowFailed | None) -> Path:
        return record_run(
            run_dir,
            workflow=workflow,
            job=job,
            lock=lock,
            profile=options.profile,
            started=started,
            ended=datetime.now(UTC),
            exit_state="failed" if failure else "completed",
            outputs=outputs,
            error=str(failure) if failure else None,
            tolerance=tolerance,
            rerun_of=rerun_of,
            copy_limit=copy_limit,
            preparation=preparation,
        )

    try:
        result = run_workflow(
            str(workflow),
            str(job) if job is not None else None,
            run_dir=run_dir,
            outdir=outdir,
            options=options,
            progress=progress,
            meanwhile=None if options.dry_run else preparation.start,
        )
    except WorkflowFailed as exc:
        record(None, exc)
        raise
    if options.dry_run:
        return RecordedRun(result, None)
    if result.up_to_date:
        return RecordedRun(result, result.run_dir / CRATE_DIR)
    return RecordedRun(result, record(result.outputs, None))

"""A checked definition -> a CWL v1.2 Workflow, its job file and its pins, written all at once.

:func:`compose` resolves every entry (``get_entry``, pinned by a lock when one is given), builds
its CommandLineTool (``cwlgen``), checks the wiring (:mod:`ossrflow.compose.wiring`), stages
every input into the content store (:mod:`ossrflow.compose.inputs`), builds the Workflow from
``cwl_utils.parser.cwl_v1_2`` objects with explicit ids, validates the result with cwltool, and
only then writes into the output folder::

    DIR/workflow.cwl          the Workflow; steps run tools/<alias>.cwl
    DIR/tools/<alias>.cwl     one CommandLineTool per entry alias
    DIR/job.yml               the job order: staged File objects and values
    DIR/ossrflow.lock.json    the pins (see :mod:`ossrflow.compose.lock`)

Everything is rendered in memory and validated in a temporary folder beside DIR; a refusal leaves
DIR as it was. Output is deterministic: the same definition, entries and data give the same bytes.
Per-step ``partition``/``queue``/``account`` become a step hint ``ossrflow:Scheduler`` (namespace
:data:`OSSRFLOW_NS`); ``cores``/``mem``/``runtime`` become ``ResourceRequirement`` and
``ToolTimeLimit`` on the step. Nothing reaches a shell: values become CWL job values only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ossrflow.compose.definition import Definition
from ossrflow.compose.definition_reader import load_definition
from ossrflow.compose.entries import ResolvedEntry, resolve_entries
from ossrflow.compose.inputs import input_pin, stage_inputs
from ossrflow.compose.lock import (
    LOCK_NAME,
    EntryPin,
    Lock,
    default_lock_path,
    entry_pin,
    load_lock,
    lock_changes,
    path_pin,
    render_lock,
    text_pin,
    write_lock,
)
from ossrflow.compose.pinning import lock_registry, relock_args, verify_input_files
from ossrflow.compose.wiring import Wiring, check_structure, check_wiring
from ossrflow.compose.workflowgen import (
    TOOLS_DIR,
    build_workflow,
    render_job,
    render_workflow,
    tool_path,
)
from ossrflow.errors import InputError
from ossrflow.integrity import atomic_write

if TYPE_CHECKING:
    import httpx

    from ossrflow.config import Settings
    from ossrflow.staging import StagedInput
    from ossrflow.staging.rucio import RucioClient
    from ossrflow.transfer import ProgressCallback

__all__ = [
    "ComposedWorkflow",
    "Composition",
    "Relock",
    "compose_definition",
    "compose_workflow",
    "lock_definition",
    "plan_composition",
    "write_composition",
]

WORKFLOW_NAME = "workflow.cwl"
JOB_NAME = "job.yml"


@dataclass(frozen=True)
class Composition:
    """Everything compose writes, rendered but not yet written."""

    definition: Definition
    entries: Mapping[str, ResolvedEntry]
    wiring: Wiring
    staged: Mapping[str, tuple[StagedInput, ...]]
    workflow_text: str
    job_text: str
    lock: Lock

    def files(self) -> dict[str, str]:
        """Relative path -> text, for every file written."""
        files = {WORKFLOW_NAME: self.workflow_text, JOB_NAME: self.job_text}
        for alias, resolved in self.entries.items():
            files[tool_path(alias)] = resolved.text
        files[LOCK_NAME] = render_lock(self.lock)
        return files


@dataclass(frozen=True)
class ComposedWorkflow:
    """Where compose wrote, and what."""

    out_dir: Path
    workflow: Path
    job: Path
    lock_path: Path
    composition: Composition
    pinned_by: Path | None = None  # the lock file the composition held to, if any


# --- pins ----------------------------------------------------------------------------------


def _entry_pin(resolved: ResolvedEntry, folder: Path) -> EntryPin:
    interface = resolved.spec.interface
    return entry_pin(
        resolved.spec.ref,
        resolved.entry.record,
        interface=path_pin(interface, folder) if interface else None,
        tool=text_pin(tool_path(resolved.spec.alias), resolved.text),
    )


def build_lock(
    definition: Definition,
    entries: Mapping[str, ResolvedEntry],
    staged: Mapping[str, tuple[StagedInput, ...]],
    *,
    lock: Lock | None = None,
    registry: str | None = None,
) -> Lock:
    """The pins of a composition; with ``lock``, refuse inputs whose bytes changed (the fix
    names ``registry``, the one the composition uses)."""
    folder = definition.folder
    inputs = {}
    for name, spec in definition.inputs.items():
        pin = input_pin(spec, staged.get(name, ()), folder)
        if lock is not None and spec.kind != "value":
            verify_input_files(
                name,
                lock.inputs[name],
                pin.files,
                source=definition.source,
                location=spec.where,
                definition=relock_args(definition.source, registry),
            )
        inputs[name] = pin
    return Lock(
        definition=definition.path.name,
        definition_sha256=definition.sha256,
        entries={alias: _entry_pin(r, folder) for alias, r in entries.items()},
        inputs=inputs,
    )


# --- plan, validate, write ----------------------------------------------------------------


def plan_composition(
    definition: Definition,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    rucio: RucioClient | None = None,
    lock: Lock | None = None,
    progress: ProgressCallback | None = None,
) -> Composition:
    """Resolve, check, stage and render everything; write nothing (``ossrflow lock`` uses this)."""
    check_structure(definition)
    entries = resolve_entries(definition, settings, client=client, lock=lock)
    wiring = check_wiring(definition, {alias: r.signature for alias, r in entries.items()})
    staged = stage_inputs(
        definition, settings, client=None, rucio=rucio, lock=lock, progress=progress
    )
    pins = build_lock(definition, entries, staged, lock=lock, registry=settings.registry)
    signatures = {alias: r.signature for alias, r in entries.items()}
    workflow = build_workflow(definition, signatures, wiring)
    scheduler = any(step.resources.scheduler() for step in definition.steps.values())
    workflow_text = render_workflow(workflow, namespaces=scheduler)
    return Composition(
        definition=definition,
        entries=entries,
        wiring=wiring,
        staged=staged,
        workflow_text=workflow_text,
        job_text=render_job(definition, staged),
        lock=replace(pins, workflow=text_pin(WORKFLOW_NAME, workflow_text)),
    )


def _validate(folder: Path, definition: Definition) -> None:
    from ossrflow.tools.interface import verify_cwl

    try:
        verify_cwl(folder / WORKFLOW_NAME)
    except InputError as exc:
        raise InputError(
            f"the composed workflow does not validate: {exc.problem}",
            source=definition.source,
            hint="this is a bug in ossrflow; please report it with the definition file",
        ) from None


def _stale_tools(out_dir: Path, keep: set[str]) -> list[Path]:
    """Tools an earlier compose wrote into ``out_dir`` that this one no longer has."""
    if not (out_dir / LOCK_NAME).is_file() or not (out_dir / TOOLS_DIR).is_dir():
        return []
    return [p for p in (out_dir / TOOLS_DIR).glob("*.cwl") if p.is_file() and p.name not in keep]


def write_composition(composition: Composition, out_dir: Path) -> ComposedWorkflow:
    """Validate the files in a temporary folder beside ``out_dir``, then move them in."""
    files = composition.files()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.compose.", dir=out_dir.parent))
    try:
        for relative, text in files.items():
            atomic_write(building / relative, text)
        _validate(building, composition.definition)
        if not out_dir.exists():
            building.rename(out_dir)
        else:
            _move_into(building, out_dir, files)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return ComposedWorkflow(
        out_dir=out_dir,
        workflow=out_dir / WORKFLOW_NAME,
        job=out_dir / JOB_NAME,
        lock_path=out_dir / LOCK_NAME,
        composition=composition,
    )


def _move_into(building: Path, out_dir: Path, files: Mapping[str, str]) -> None:
    if not out_dir.is_dir():
        raise InputError(
            "is not a folder", source=str(out_dir), hint="give -o a folder (new or existing)"
        )
    keep = {Path(relative).name for relative in files if relative.startswith(f"{TOOLS_DIR}/")}
    stale = _stale_tools(out_dir, keep)
    for relative in sorted(files, key=lambda r: r == LOCK_NAME):  # the lock last
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        (building / relative).replace(target)
    for path in stale:
        path.unlink(missing_ok=True)


def compose_workflow(
    definition: Definition,
    out_dir: Path,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    rucio: RucioClient | None = None,
    lock: Lock | None = None,
    progress: ProgressCallback | None = None,
) -> ComposedWorkflow:
    """Compose ``definition`` into ``out_dir`` (see the module docstring)."""
    composition = plan_composition(
        definition, settings, client=client, rucio=rucio, lock=lock, progress=progress
    )
    return write_composition(composition, out_dir)


def compose_definition(
    path: Path,
    out_dir: Path,
    settings: Settings,
    *,
    lock_path: Path | None = None,
    use_lock: bool = True,
    allow_absolute_paths: bool = False,
    progress: ProgressCallback | None = None,
    registry_given: bool = True,
) -> ComposedWorkflow:
    """Load the definition at ``path`` and compose it into ``out_dir``.

    The composition holds to the lock file ``lock_path`` (default: the definition's
    ``NAME.lock.json`` beside it, when it exists) unless ``use_lock`` is false. Unless
    ``registry_given`` (the user named one), entries are resolved in the registry the lock
    records (:func:`~ossrflow.compose.lock.lock_registry`).
    """
    definition = load_definition(path, allow_absolute_paths=allow_absolute_paths)
    lock, chosen = None, lock_path or default_lock_path(path)
    if use_lock and (lock_path is not None or chosen.is_file()):
        lock = load_lock(chosen)
    settings = _lock_registry(settings, lock, registry_given)
    composed = compose_workflow(definition, out_dir, settings, lock=lock, progress=progress)
    return replace(composed, pinned_by=chosen if lock is not None else None)


def _lock_registry(settings: Settings, lock: Lock | None, registry_given: bool) -> Settings:
    """The settings with the lock's registry, when the user named none and the lock has one."""
    recorded = lock_registry(lock) if lock is not None and not registry_given else None
    return replace(settings, registry=recorded) if recorded else settings


@dataclass(frozen=True)
class Relock:
    """A definition pinned afresh: the new lock, the one it replaced and what changed."""

    path: Path
    lock: Lock
    previous: Lock | None
    changes: tuple[str, ...]


def lock_definition(
    path: Path,
    settings: Settings,
    *,
    lock_path: Path | None = None,
    allow_absolute_paths: bool = False,
    progress: ProgressCallback | None = None,
    registry_given: bool = True,
) -> Relock:
    """Pin the definition at ``path`` afresh and write its lock file (default: beside it).

    Unless ``registry_given``, entries are resolved in the registry the previous lock records.
    """
    target = lock_path or default_lock_path(path)
    previous = load_lock(target) if target.is_file() else None
    definition = load_definition(path, allow_absolute_paths=allow_absolute_paths)
    settings = _lock_registry(settings, previous, registry_given)
    lock = plan_composition(definition, settings, progress=progress).lock
    write_lock(lock, target)
    return Relock(target, lock, previous, tuple(lock_changes(previous, lock)))

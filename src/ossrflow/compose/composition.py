"""A checked definition -> a CWL v1.2 Workflow, its job file and its pins, written all at once.

:func:`compose` resolves every entry (``get_entry``, pinned by a lock when one is given), builds
its CommandLineTool (``cwlgen``), checks the wiring (:mod:`ossrflow.compose.wiring`), stages every input
into the content store (``staging``), builds the Workflow from ``cwl_utils.parser.cwl_v1_2``
objects with explicit ids, validates the result with cwltool, and only then writes into the
output folder::

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

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.compose.definition import Definition, EntrySpec, InputSpec
from ossrflow.compose.lock import (
    LOCK_NAME,
    EntryPin,
    InputPin,
    Lock,
    entry_pin,
    file_pin,
    path_pin,
    render_lock,
    text_pin,
    verify_entry_files,
    verify_input_files,
)
from ossrflow.compose.wiring import Wiring, check_structure, check_wiring
from ossrflow.compose.workflowgen import (
    TOOLS_DIR,
    build_workflow,
    render_job,
    render_workflow,
    tool_path,
)
from ossrflow.cwl.types import Signature, signature_of
from ossrflow.errors import InputError, NotFound, OssrflowError
from ossrflow.integrity import atomic_write
from ossrflow.registry.entry import Entry, get_entry

if TYPE_CHECKING:
    import httpx

    from ossrflow.config import Settings
    from ossrflow.staging import StagedInput
    from ossrflow.staging.cart import CartItem
    from ossrflow.staging.rucio import RucioClient
    from ossrflow.tools.cwlgen import GeneratedTool
    from ossrflow.transfer import ProgressCallback

__all__ = [
    "ComposedWorkflow",
    "Composition",
    "ResolvedEntry",
    "compose_workflow",
    "plan_composition",
    "write_composition",
]

WORKFLOW_NAME = "workflow.cwl"
JOB_NAME = "job.yml"


@dataclass(frozen=True)
class ResolvedEntry:
    """An entry alias, resolved and turned into a tool."""

    spec: EntrySpec
    entry: Entry
    tool: GeneratedTool
    text: str  # the rendered tool
    signature: Signature


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


# --- entries -----------------------------------------------------------------------------


def _located(exc: OssrflowError, definition: Definition, spec: EntrySpec) -> OssrflowError:
    """An entry error: NotFound points at the reference; others keep their own file."""
    prefix = f"entries.{spec.alias}: "
    if isinstance(exc, NotFound) or exc.source in (None, "REF"):
        where = f" in {exc.source}" if exc.source not in (None, "REF") else ""
        return type(exc)(
            f"{prefix}{exc.problem}{where}",
            source=definition.source,
            location=spec.where,
            hint=exc.hint,
        )
    exc.problem = prefix + exc.problem
    return exc


def _resolve_entry(
    definition: Definition,
    spec: EntrySpec,
    settings: Settings,
    client: httpx.Client | None,
    pin: EntryPin | None,
) -> Entry:
    ref = spec.resolved
    if pin is not None:
        if pin.ref != spec.ref:
            raise definition.error(
                f"entries.{spec.alias}: the lock pins {pin.ref!r}, the definition says {spec.ref!r}",
                spec.where,
                f"run `ossrflow lock {definition.path.name}` to pin the new reference",
            )
        if not pin.registry.startswith("dir:"):
            ref = pin.record_id
    try:
        entry = get_entry(ref, settings, client=client)
    except OssrflowError as exc:
        raise _located(exc, definition, spec) from None
    if spec.version is not None and entry.record.version != spec.version:
        raise definition.error(
            f"entries.{spec.alias}: {spec.ref} is version {entry.record.version}, "
            f"not {spec.version}",
            spec.where,
            "reference the record of that version by its record id or DOI "
            "(`ossrflow search --all-versions`), or change version:",
            NotFound,
        )
    if pin is not None:
        files = {f.key: f.checksum for f in entry.record.files}
        verify_entry_files(
            spec.alias,
            pin,
            entry.record.id,
            files,
            source=definition.source,
            location=spec.where,
            definition=definition.path.name,
        )
    return entry


def _build_tool(definition: Definition, spec: EntrySpec, entry: Entry) -> GeneratedTool:
    from ossrflow.tools.cwlgen import generate_entry_tool

    try:
        return generate_entry_tool(entry, interface=spec.interface, tool=spec.tool)
    except OssrflowError as exc:
        raise _located(exc, definition, spec) from None


def resolve_entries(
    definition: Definition,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    lock: Lock | None = None,
) -> dict[str, ResolvedEntry]:
    """Every entry alias -> its pinned record and generated tool."""
    from ossrflow.tools.cwlgen import render_tool

    resolved = {}
    for alias, spec in definition.entries.items():
        pin = _pin_for(definition, lock, "entries", alias, spec.where)
        entry = _resolve_entry(definition, spec, settings, client, pin)
        tool = _build_tool(definition, spec, entry)
        resolved[alias] = ResolvedEntry(
            spec, entry, tool, render_tool(tool), signature_of(tool.tool)
        )
    return resolved


def _pin_for(definition: Definition, lock: Lock | None, kind: str, name: str, where: str) -> Any:
    if lock is None:
        return None
    pins: Mapping[str, Any] = lock.entries if kind == "entries" else lock.inputs
    if name not in pins:
        raise definition.error(
            f"{kind}.{name}: not pinned in the lock file",
            where,
            f"run `ossrflow lock {definition.path.name}` to pin it",
        )
    return pins[name]


# --- inputs ------------------------------------------------------------------------------


def _expected(items: tuple[CartItem, ...], pin: InputPin | None) -> list[CartItem]:
    """Items to stage; a lock's sha256 becomes the expected checksum of remote items without
    one (local files are read again, so that a changed file is reported, not replaced)."""
    from ossrflow.integrity import Checksum

    if pin is None or len(pin.files) != len(items):
        return list(items)
    return [
        item
        if item.checksum or item.kind == "file"
        else replace(item, checksum=Checksum("sha256", pinned.sha256))
        for item, pinned in zip(items, pin.files, strict=True)
    ]


@contextlib.contextmanager
def _staging_clients(
    items: list[CartItem], settings: Settings, client: httpx.Client | None
) -> Iterator[tuple[httpx.Client, Any]]:
    """The data client (never the registry token: data URLs may point anywhere) and registry."""
    from ossrflow.registry import open_registry
    from ossrflow.transfer import make_client

    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(
                make_client(timeout=settings.timeout, retries=settings.retries)
            )
            client.headers["Accept"] = "*/*"
        registry = None
        if any(item.kind == "zenodo" for item in items):
            registry = stack.enter_context(open_registry(settings))
        yield client, registry


def stage_inputs(
    definition: Definition,
    settings: Settings,
    *,
    client: httpx.Client | None = None,
    rucio: RucioClient | None = None,
    lock: Lock | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, tuple[StagedInput, ...]]:
    """Stage the files of every file and cart input into ``<cache dir>/store``, verified."""
    from ossrflow.staging import stage
    from ossrflow.store import ContentStore

    plan: dict[str, list[CartItem]] = {}
    for name, spec in definition.inputs.items():
        if spec.kind != "value":
            plan[name] = _expected(
                spec.items, _pin_for(definition, lock, "inputs", name, spec.where)
            )
    everything = [item for items in plan.values() for item in items]
    if not everything:
        return {}
    if rucio is None and any(item.kind == "rucio" for item in everything):
        from ossrflow.staging.rucio import connect_rucio

        rucio = connect_rucio()
    store = ContentStore(settings.cache_dir / "store")
    with _staging_clients(everything, settings, client) as (data_client, registry):
        staged = {
            name: tuple(
                stage(
                    items,
                    store,
                    client=data_client,
                    registry=registry,
                    rucio=rucio,
                    progress=progress,
                    offline=settings.offline,
                )
            )
            for name, items in plan.items()
        }
    return staged


# --- pins ----------------------------------------------------------------------------------


def _entry_pin(resolved: ResolvedEntry, folder: Path) -> EntryPin:
    interface = resolved.spec.interface
    return entry_pin(
        resolved.spec.ref,
        resolved.entry.record,
        interface=path_pin(interface, folder) if interface else None,
        tool=text_pin(tool_path(resolved.spec.alias), resolved.text),
    )


def _input_pin(spec: InputSpec, staged: tuple[StagedInput, ...], folder: Path) -> InputPin:
    if spec.kind == "value":
        return InputPin("value", value=spec.value)
    cart = None
    if spec.kind == "cart" and spec.cart is not None:
        cart = path_pin(spec.cart, folder)
    files = tuple(file_pin(s.item, s.size, s.sha256.digest, folder) for s in staged)
    return InputPin(spec.kind, files, cart)


def build_lock(
    definition: Definition,
    entries: Mapping[str, ResolvedEntry],
    staged: Mapping[str, tuple[StagedInput, ...]],
    *,
    lock: Lock | None = None,
) -> Lock:
    """The pins of a composition; with ``lock``, refuse inputs whose bytes changed."""
    folder = definition.folder
    inputs = {}
    for name, spec in definition.inputs.items():
        pin = _input_pin(spec, staged.get(name, ()), folder)
        if lock is not None and spec.kind != "value":
            verify_input_files(
                name,
                lock.inputs[name],
                pin.files,
                source=definition.source,
                location=spec.where,
                definition=definition.path.name,
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
    pins = build_lock(definition, entries, staged, lock=lock)
    signatures = {alias: r.signature for alias, r in entries.items()}
    workflow = build_workflow(definition, signatures, wiring)
    scheduler = any(step.resources.scheduler() for step in definition.steps.values())
    return Composition(
        definition=definition,
        entries=entries,
        wiring=wiring,
        staged=staged,
        workflow_text=render_workflow(workflow, namespaces=scheduler),
        job_text=render_job(definition, staged),
        lock=pins,
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

"""A definition's entries: each alias resolved in its registry (held to the lock) and made a tool.

:func:`resolve_entries` gets every entry (:func:`ossrflow.registry.entry.get_entry`), refuses a
record that is not the version the definition names or the one the lock pins, and builds its
CommandLineTool (:mod:`ossrflow.tools.cwlgen`). Errors point at the definition's ``entries.ALIAS``
line; an entry's own file keeps its location.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ossrflow.compose.definition import Definition, EntrySpec
from ossrflow.compose.lock import EntryPin, Lock
from ossrflow.compose.pinning import relock_args, verify_entry_files
from ossrflow.cwl.types import Signature, signature_of
from ossrflow.errors import NotFound, OssrflowError
from ossrflow.registry.entry import Entry, get_entry

if TYPE_CHECKING:
    import httpx

    from ossrflow.config import Settings
    from ossrflow.tools.cwlgen import GeneratedTool

__all__ = ["ResolvedEntry", "pin_for", "resolve_entries"]


@dataclass(frozen=True)
class ResolvedEntry:
    """An entry alias, resolved and turned into a tool."""

    spec: EntrySpec
    entry: Entry
    tool: GeneratedTool
    text: str  # the rendered tool
    signature: Signature


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
                f"run `ossrflow lock {relock_args(definition.source, settings.registry)}` "
                "to pin the new reference",
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
            definition=relock_args(definition.source, settings.registry),
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
        pin = pin_for(definition, lock, "entries", alias, spec.where, settings.registry)
        entry = _resolve_entry(definition, spec, settings, client, pin)
        tool = _build_tool(definition, spec, entry)
        resolved[alias] = ResolvedEntry(
            spec, entry, tool, render_tool(tool), signature_of(tool.tool)
        )
    return resolved


def pin_for(
    definition: Definition,
    lock: Lock | None,
    kind: str,
    name: str,
    where: str,
    registry: str | None = None,
) -> Any:
    """What ``lock`` pins for ``kind.name`` (entries or inputs); refused when it pins nothing
    (the fix names ``registry``, the one the composition uses)."""
    if lock is None:
        return None
    pins: Mapping[str, Any] = lock.entries if kind == "entries" else lock.inputs
    if name not in pins:
        raise definition.error(
            f"{kind}.{name}: not pinned in the lock file",
            where,
            f"run `ossrflow lock {relock_args(definition.source, registry)}` to pin it",
        )
    return pins[name]

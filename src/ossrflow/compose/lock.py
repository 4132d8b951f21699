"""Pins: which exact record every entry resolved to, and which exact bytes every input holds.

``ossrflow.lock.json`` (written by ``ossrflow compose`` into its output folder, and by
``ossrflow lock`` next to the definition as ``<name>.lock.json``) is JSON with sorted keys::

    {
      "ossrflow_lock": 1,
      "definition": "analysis.yml", "definition_sha256": "…",
      "entries": {"ALIAS": {"ref", "registry", "record_id", "version", "doi", "concept_id",
                            "concept_doi", "title", "files": {KEY: "md5:…"},
                            "interface": {"path", "sha256"} | null, "tool": {"path", "sha256"} | null}},
      "inputs": {"NAME": {"kind": "files" | "cart" | "value",
                          "cart": {"path", "sha256"} | null,
                          "files": [{"name", "location", "size", "sha256", "checksum"}],
                          "value": …}}
    }

Locations of local files are written relative to the definition's folder when they lie in it, so
a lock can be committed with the definition. ``parse_lock`` refuses anything else with a located
error; the ``verify_*`` functions raise :class:`ChecksumMismatch` naming what changed and how to
accept it (``ossrflow lock FILE``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.documents import load_json_document
from ossrflow.errors import ChecksumMismatch, InputError
from ossrflow.integrity import atomic_write, hash_file, parse_checksum

if TYPE_CHECKING:
    from ossrflow.registry.model import SoftwareRecord
    from ossrflow.staging.cart import CartItem

__all__ = [
    "LOCK_NAME",
    "LOCK_VERSION",
    "EntryPin",
    "FilePin",
    "InputPin",
    "Lock",
    "PathPin",
    "default_lock_path",
    "entry_pin",
    "file_pin",
    "load_lock",
    "lock_changes",
    "lock_json",
    "parse_lock",
    "path_pin",
    "render_lock",
    "text_pin",
    "verify_entry_files",
    "verify_input_files",
    "write_lock",
]

LOCK_VERSION = 1
LOCK_NAME = "ossrflow.lock.json"
_RELOCK = "run `ossrflow lock {definition}` to pin the new state, if the change is expected"


@dataclass(frozen=True)
class PathPin:
    """A file the definition names (an interface file, a cart) or that compose wrote (a tool)."""

    path: str
    sha256: str


@dataclass(frozen=True)
class EntryPin:
    """The record an entry alias resolved to, with the checksum of every file it has."""

    ref: str
    registry: str
    record_id: str
    version: str | None
    doi: str | None
    concept_id: str | None
    concept_doi: str | None
    title: str
    files: Mapping[str, str | None]
    interface: PathPin | None = None
    tool: PathPin | None = None


@dataclass(frozen=True)
class FilePin:
    """One staged file: its name, where it came from, its size and digests."""

    name: str
    location: str
    size: int
    sha256: str
    checksum: str | None = None  # the digest its source publishes (md5:…, adler32:…), if any


@dataclass(frozen=True)
class InputPin:
    """A workflow input: the files it holds, or its value."""

    kind: str  # "files" | "cart" | "value"
    files: tuple[FilePin, ...] = ()
    cart: PathPin | None = None
    value: Any = None


@dataclass(frozen=True)
class Lock:
    """Everything a definition resolved to."""

    definition: str
    definition_sha256: str
    entries: Mapping[str, EntryPin] = field(default_factory=dict)
    inputs: Mapping[str, InputPin] = field(default_factory=dict)


# --- building pins ---------------------------------------------------------------------------


def _relative(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` (POSIX) when it lies in it, else as it is."""
    try:
        return path.absolute().relative_to(folder.absolute()).as_posix()
    except ValueError:
        return str(path)


def path_pin(path: Path, folder: Path) -> PathPin:
    """A file's sha256, its path written relative to ``folder`` when it lies in it."""
    return PathPin(_relative(path, folder), hash_file(path)["sha256"])


def text_pin(path: str, text: str) -> PathPin:
    """The sha256 of a text written at ``path``."""
    return PathPin(path, hashlib.sha256(text.encode()).hexdigest())


def file_pin(item: CartItem, size: int, sha256: str, folder: Path) -> FilePin:
    """A staged item: local locations relative to ``folder``; the source's own digest if any."""
    location = _relative(Path(item.location), folder) if item.kind == "file" else item.location
    published = item.checksum if item.checksum and item.checksum.algorithm != "sha256" else None
    return FilePin(item.name, location, size, sha256, str(published) if published else None)


def entry_pin(
    ref: str, record: SoftwareRecord, *, interface: PathPin | None, tool: PathPin | None
) -> EntryPin:
    """The pin of a resolved record; a folder registry is pinned by its absolute path."""
    registry = record.registry
    if registry.startswith("dir:"):
        registry = "dir:" + str(Path(registry[4:]).expanduser().resolve())
    return EntryPin(
        ref=ref,
        registry=registry,
        record_id=record.id,
        version=record.version,
        doi=record.doi,
        concept_id=record.concept_id,
        concept_doi=record.concept_doi,
        title=record.title,
        files={f.key: f.checksum for f in record.files},
        interface=interface,
        tool=tool,
    )


def default_lock_path(definition: Path) -> Path:
    """``analysis.yml`` -> ``analysis.lock.json`` beside it."""
    return definition.with_name(f"{definition.stem}.lock.json")


# --- rendering -------------------------------------------------------------------------------


def _path_pin(pin: PathPin | None) -> dict[str, str] | None:
    return None if pin is None else {"path": pin.path, "sha256": pin.sha256}


def _entry_json(pin: EntryPin) -> dict[str, Any]:
    return {
        "ref": pin.ref,
        "registry": pin.registry,
        "record_id": pin.record_id,
        "version": pin.version,
        "doi": pin.doi,
        "concept_id": pin.concept_id,
        "concept_doi": pin.concept_doi,
        "title": pin.title,
        "files": dict(pin.files),
        "interface": _path_pin(pin.interface),
        "tool": _path_pin(pin.tool),
    }


def _file_json(pin: FilePin) -> dict[str, Any]:
    return {
        "name": pin.name,
        "location": pin.location,
        "size": pin.size,
        "sha256": pin.sha256,
        "checksum": pin.checksum,
    }


def _input_json(pin: InputPin) -> dict[str, Any]:
    return {
        "kind": pin.kind,
        "cart": _path_pin(pin.cart),
        "files": [_file_json(f) for f in pin.files],
        "value": pin.value,
    }


def lock_json(lock: Lock) -> dict[str, Any]:
    """The lock as the JSON object ``ossrflow.lock.json`` holds."""
    return {
        "ossrflow_lock": LOCK_VERSION,
        "definition": lock.definition,
        "definition_sha256": lock.definition_sha256,
        "entries": {alias: _entry_json(pin) for alias, pin in lock.entries.items()},
        "inputs": {name: _input_json(pin) for name, pin in lock.inputs.items()},
    }


def render_lock(lock: Lock) -> str:
    """The lock as JSON text: sorted keys, two-space indent, newline at the end."""
    return json.dumps(lock_json(lock), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def lock_changes(old: Lock | None, new: Lock) -> list[str]:
    """What ``new`` pins differently from ``old``: one line per entry or input (none: first lock)."""
    if old is None:
        return []
    lines = []
    for alias, pin in new.entries.items():
        before = old.entries.get(alias)
        if before is None:
            lines.append(f"entries.{alias}: new, record {pin.record_id}")
        elif (before.record_id, dict(before.files)) != (pin.record_id, dict(pin.files)):
            lines.append(f"entries.{alias}: record {before.record_id} -> {pin.record_id}")
    for name, input_pin in new.inputs.items():
        previous = old.inputs.get(name)
        if (
            previous is None
            or previous.files != input_pin.files
            or previous.value != input_pin.value
        ):
            lines.append(f"inputs.{name}: {'new' if previous is None else 'changed'}")
    return lines


def write_lock(lock: Lock, path: Path) -> Path:
    """Write the lock atomically."""
    return atomic_write(path, render_lock(lock))


# --- parsing ---------------------------------------------------------------------------------


class _Fields:
    """Typed reads from one JSON object, each refusal located as ``entries.x.files``."""

    def __init__(self, data: object, where: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise _bad(where, "is not an object", source)
        self.data, self.where, self.source = data, where, source

    def required(self, key: str) -> str:
        value = self.data.get(key)
        if not isinstance(value, str):
            raise _bad(f"{self.where}.{key}", "is missing or not text", self.source)
        return value

    def optional(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.required(key)

    def path_pin(self, key: str) -> PathPin | None:
        if self.data.get(key) is None:
            return None
        inner = _Fields(self.data[key], f"{self.where}.{key}", self.source)
        return PathPin(inner.required("path"), _sha256(inner, "sha256"))


def _bad(where: str, problem: str, source: str) -> InputError:
    return InputError(
        f"{where}: {problem}",
        source=source,
        location=where,
        hint="the lock file is written by ossrflow; run `ossrflow lock DEFINITION` to rewrite it",
    )


def _sha256(fields: _Fields, key: str) -> str:
    value = fields.required(key)
    return parse_checksum(
        f"sha256:{value}", source=fields.source, location=f"{fields.where}.{key}"
    ).digest


def _parse_entry(data: object, where: str, source: str) -> EntryPin:
    fields = _Fields(data, where, source)
    files = _Fields(fields.data.get("files"), f"{where}.files", source)
    checked: dict[str, str | None] = {}
    for key in files.data:
        value = files.optional(str(key))
        if value is not None:
            value = str(parse_checksum(value, source=source, location=f"{where}.files.{key}"))
        checked[str(key)] = value
    return EntryPin(
        ref=fields.required("ref"),
        registry=fields.required("registry"),
        record_id=fields.required("record_id"),
        version=fields.optional("version"),
        doi=fields.optional("doi"),
        concept_id=fields.optional("concept_id"),
        concept_doi=fields.optional("concept_doi"),
        title=fields.optional("title") or "",
        files=checked,
        interface=fields.path_pin("interface"),
        tool=fields.path_pin("tool"),
    )


def _parse_file(data: object, where: str, source: str) -> FilePin:
    fields = _Fields(data, where, source)
    size = fields.data.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise _bad(f"{where}.size", "is not a byte count", source)
    checksum = fields.optional("checksum")
    if checksum is not None:
        checksum = str(parse_checksum(checksum, source=source, location=f"{where}.checksum"))
    return FilePin(
        name=fields.required("name"),
        location=fields.required("location"),
        size=size,
        sha256=_sha256(fields, "sha256"),
        checksum=checksum,
    )


def _parse_input(data: object, where: str, source: str) -> InputPin:
    fields = _Fields(data, where, source)
    kind = fields.required("kind")
    if kind not in ("files", "cart", "value"):
        raise _bad(f"{where}.kind", f"unknown kind {kind!r}", source)
    files = fields.data.get("files") or []
    if not isinstance(files, list):
        raise _bad(f"{where}.files", "is not a list", source)
    return InputPin(
        kind=kind,
        files=tuple(_parse_file(f, f"{where}.files[{i}]", source) for i, f in enumerate(files)),
        cart=fields.path_pin("cart"),
        value=fields.data.get("value"),
    )


def parse_lock(data: object, *, source: str) -> Lock:
    """A lock from its parsed JSON; every refusal names the field."""
    fields = _Fields(data, "(top)", source)
    if fields.data.get("ossrflow_lock") != LOCK_VERSION:
        raise _bad("ossrflow_lock", f"is not {LOCK_VERSION} (an unknown lock format)", source)
    entries = _Fields(fields.data.get("entries"), "entries", source).data
    inputs = _Fields(fields.data.get("inputs"), "inputs", source).data
    return Lock(
        definition=fields.required("definition"),
        definition_sha256=_sha256(fields, "definition_sha256"),
        entries={str(k): _parse_entry(v, f"entries.{k}", source) for k, v in entries.items()},
        inputs={str(k): _parse_input(v, f"inputs.{k}", source) for k, v in inputs.items()},
    )


def load_lock(path: Path) -> Lock:
    """Read a lock file."""
    return parse_lock(load_json_document(path), source=str(path))


# --- verification ----------------------------------------------------------------------------


def verify_entry_files(
    alias: str,
    pin: EntryPin,
    record_id: str,
    files: Mapping[str, str | None],
    *,
    source: str,
    location: str | None,
    definition: str,
) -> None:
    """Raise :class:`ChecksumMismatch` unless the record and its files are the pinned ones."""
    problem = None
    if record_id != pin.record_id:
        problem = f"resolves to record {record_id}, but the lock pins record {pin.record_id}"
    else:
        for key in sorted(set(files) | set(pin.files)):
            if key not in pin.files:
                problem = f"record {record_id} now has a file {key!r} the lock does not know"
            elif key not in files:
                problem = f"record {record_id} no longer has the pinned file {key!r}"
            elif files[key] != pin.files[key]:
                problem = f"file {key!r} of record {record_id} is {files[key]}, the lock pins {pin.files[key]}"
            if problem:
                break
    if problem:
        raise ChecksumMismatch(
            f"entries.{alias}: {problem}",
            source=source,
            location=location,
            hint=_RELOCK.format(definition=definition),
        )


def verify_input_files(
    name: str,
    pin: InputPin,
    files: tuple[FilePin, ...],
    *,
    source: str,
    location: str | None,
    definition: str,
) -> None:
    """Raise :class:`ChecksumMismatch` unless the input holds exactly the pinned files."""
    problem = None
    if len(files) != len(pin.files):
        problem = f"holds {len(files)} files, the lock pins {len(pin.files)}"
    else:
        for index, (now, pinned) in enumerate(zip(files, pin.files, strict=True)):
            if (now.name, now.sha256) != (pinned.name, pinned.sha256):
                problem = (
                    f"file {index} is {now.name!r} sha256:{now.sha256[:16]}…, "
                    f"the lock pins {pinned.name!r} sha256:{pinned.sha256[:16]}…"
                )
                break
    if problem:
        raise ChecksumMismatch(
            f"inputs.{name}: {problem}",
            source=source,
            location=location,
            hint=_RELOCK.format(definition=definition),
        )

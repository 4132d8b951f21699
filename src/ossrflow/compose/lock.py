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
                          "files": [{"name", "location", "size", "sha256", "checksum",
                                     "member_of"?}],
                          "value": …}},
      "workflow": {"path": "workflow.cwl", "sha256": "…"}
    }

Locations of local files are written relative to the definition's folder when they lie in it, so
a lock can be committed with the definition. A Rucio dataset or container is pinned by its files:
one pin per file, in the order staging lists them, whose ``location`` is the file's own DID,
``checksum`` the adler32 Rucio publishes and ``member_of`` the collection as the definition names
it (the key is absent for other files). A dataset that gains, loses or changes a file then no
longer matches its pins. ``parse_lock`` refuses anything else with a located error. Holding a
composition to a lock is :mod:`ossrflow.compose.pinning`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.documents import load_json_document
from ossrflow.errors import InputError
from ossrflow.integrity import atomic_write, hash_file, parse_checksum

if TYPE_CHECKING:
    from ossrflow.integrity import Checksum
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
    "write_lock",
]

LOCK_VERSION = 1
LOCK_NAME = "ossrflow.lock.json"


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
    member_of: str | None = None  # the Rucio dataset or container it came in (the item's location)


@dataclass(frozen=True)
class InputPin:
    """A workflow input: the files it holds, or its value."""

    kind: str  # "files" | "cart" | "value"
    files: tuple[FilePin, ...] = ()
    cart: PathPin | None = None
    value: Any = None


@dataclass(frozen=True)
class Lock:
    """Everything a definition resolved to, and the workflow compose wrote from it.

    ``workflow`` pins ``workflow.cwl``'s bytes: ``ossrflow run DIR/workflow.cwl`` takes the lock
    beside it only when they match (None in locks written before it was recorded).
    """

    definition: str
    definition_sha256: str
    entries: Mapping[str, EntryPin] = field(default_factory=dict)
    inputs: Mapping[str, InputPin] = field(default_factory=dict)
    workflow: PathPin | None = None

    def pins_workflow(self, path: Path) -> bool:
        """True when this lock was written with the workflow at ``path``, byte for byte."""
        return self.workflow is not None and hash_file(path)["sha256"] == self.workflow.sha256


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


def file_pin(
    item: CartItem,
    size: int,
    sha256: str,
    folder: Path,
    *,
    published: Checksum | None = None,
    member_of: str | None = None,
) -> FilePin:
    """A staged item: local locations relative to ``folder``; the digest the cart gives (other
    than sha256), else the one its source ``published``; ``member_of`` its collection, if any."""
    location = _relative(Path(item.location), folder) if item.kind == "file" else item.location
    given = item.checksum if item.checksum and item.checksum.algorithm != "sha256" else None
    digest = given or published
    return FilePin(item.name, location, size, sha256, str(digest) if digest else None, member_of)


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


def lock_json(lock: Lock) -> dict[str, Any]:
    """The lock as the JSON object ``ossrflow.lock.json`` holds: every field of every pin
    (a file's ``member_of`` only when it has one)."""
    data = asdict(lock)
    for pin in data["inputs"].values():
        for file in pin["files"]:
            if file["member_of"] is None:
                del file["member_of"]
    return {"ossrflow_lock": LOCK_VERSION, **data}


def render_lock(lock: Lock) -> str:
    """The lock as JSON text: sorted keys, two-space indent, newline at the end."""
    return json.dumps(lock_json(lock), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _entry_change(before: EntryPin, pin: EntryPin) -> str | None:
    if before.record_id != pin.record_id:
        return f"record {before.record_id} -> {pin.record_id} (version {before.version} -> {pin.version})"
    keys = sorted(set(before.files) | set(pin.files))
    changed = [k for k in keys if before.files.get(k) != pin.files.get(k)]
    return f"files changed: {', '.join(changed)}" if changed else None


def _file_changes(before: tuple[FilePin, ...], after: tuple[FilePin, ...]) -> list[str]:
    """What changed among an input's files, by name (in its dataset, if any): new, gone, or
    other bytes."""
    old = {(f.member_of, f.name): f for f in before}
    new = {(f.member_of, f.name): f for f in after}
    changes = []
    for key in dict.fromkeys([*old, *new]):
        name = key[1] if key[0] is None else f"{key[1]} (in {key[0]})"
        if key not in old:
            changes.append(f"{name} new")
        elif key not in new:
            changes.append(f"{name} gone")
        elif old[key].sha256 != new[key].sha256:
            changes.append(
                f"{name} sha256:{old[key].sha256[:16]}… -> sha256:{new[key].sha256[:16]}…"
            )
    return changes


def lock_changes(old: Lock | None, new: Lock) -> list[str]:
    """What ``new`` pins differently from ``old``: one line per entry or input, naming the files
    that changed (none: first lock)."""
    if old is None:
        return []
    lines = []
    for alias, pin in new.entries.items():
        before = old.entries.get(alias)
        if before is None:
            lines.append(f"entries.{alias}: new, record {pin.record_id}")
        elif change := _entry_change(before, pin):
            lines.append(f"entries.{alias}: {change}")
    lines += [f"entries.{alias}: removed" for alias in old.entries if alias not in new.entries]
    for name, input_pin in new.inputs.items():
        previous = old.inputs.get(name)
        if previous is None:
            lines.append(f"inputs.{name}: new")
        elif previous.value != input_pin.value:
            lines.append(f"inputs.{name}: value {previous.value!r} -> {input_pin.value!r}")
        elif files := _file_changes(previous.files, input_pin.files):
            lines.append(f"inputs.{name}: {'; '.join(files)}")
        elif previous.files != input_pin.files:
            lines.append(f"inputs.{name}: files reordered or moved")
    lines += [f"inputs.{name}: removed" for name in old.inputs if name not in new.inputs]
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
        member_of=fields.optional("member_of"),
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
        workflow=fields.path_pin("workflow"),
    )


def load_lock(path: Path) -> Lock:
    """Read a lock file."""
    return parse_lock(load_json_document(path), source=str(path))

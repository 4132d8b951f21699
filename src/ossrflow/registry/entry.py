"""A registry entry ready to use: one pinned record, its parsed codemeta.json, and its files.

:func:`get_entry` takes anything :func:`ossrflow.registry.parse_ref` accepts, resolves concept
ids and DOIs to the latest version, and reads the entry's codemeta file the way eossr finds it:
a file named ``codemeta.json`` (the shortest key when several), else a single ``*codemeta*.json``,
else ``codemeta.json`` inside the record's zip archive (GitHub releases), read from a verified
download. ``Entry.file_path`` fetches any other file on demand, verified and cached.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import httpx

from ossrflow.config import Settings
from ossrflow.errors import InputError, NotFound
from ossrflow.integrity import atomic_write, hash_file
from ossrflow.registry import (
    LocalRegistry,
    Ref,
    Registry,
    SoftwareRecord,
    find_codemeta_key,
    open_local,
    open_registry,
    parse_ref,
)
from ossrflow.registry.codemeta import Codemeta, load_codemeta
from ossrflow.registry.refs import check_api_record_id

__all__ = ["INTERFACE_KEYS", "MAX_ZIP_BYTES", "Entry", "get_entry"]

INTERFACE_KEYS = ("ossrflow-interface.yml", "ossrflow-interface.yaml")
MAX_ZIP_BYTES = 200 * 1024 * 1024  # larger archives are not downloaded just to read codemeta.json
MAX_CODEMETA_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class _FileSource:
    """How an entry reaches its files later: the settings and client it was got with."""

    settings: Settings
    client: httpx.Client | None = None

    def get_file(self, record: SoftwareRecord, key: str) -> Path:
        settings = replace(self.settings, registry=record.registry)
        with open_registry(settings, self.client) as registry:
            return registry.get_file(record, key)


@dataclass(frozen=True)
class Entry:
    """A pinned record, its codemeta (None when the record has none) and where that file is."""

    record: SoftwareRecord
    codemeta: Codemeta | None
    codemeta_path: Path | None
    files_from: _FileSource | None = field(default=None, repr=False, compare=False)

    def file_path(self, key: str) -> Path:
        """A local, checksum-verified copy of one record file (for a folder entry, the file)."""
        item = self.record.file(key)
        if self.record.registry.startswith("dir:"):
            local = LocalRegistry(Path(self.record.registry[4:]))
            return local.get_file(self.record, item.key)
        if self.files_from is None:
            raise InputError(
                f"entry {self.record.id} was built without registry settings",
                source=self.record.registry,
                hint="build entries with ossrflow.get_entry(ref, settings)",
            )
        return self.files_from.get_file(self.record, item.key)

    def cwl_keys(self) -> tuple[str, ...]:
        """Keys of the CWL documents the entry ships, in record order."""
        return tuple(f.key for f in self.record.files if f.key.lower().endswith(".cwl"))

    def interface_key(self) -> str | None:
        """``ossrflow-interface.yml`` when the entry ships one."""
        keys = {f.key for f in self.record.files}
        return next((key for key in INTERFACE_KEYS if key in keys), None)

    def require_codemeta(self) -> Codemeta:
        """The codemeta, or :class:`NotFound` naming the record."""
        if self.codemeta is None:
            raise NotFound(
                f"record {self.record.id} has no codemeta.json",
                source=self.record.url or self.record.registry,
                hint="pick a record that ships codemeta.json, or add one to the folder entry",
            )
        return self.codemeta


def _codemeta_from_zip(
    registry: Registry, record: SoftwareRecord, settings: Settings
) -> Path | None:
    """codemeta.json from the record's zip archive (shortest path wins), kept in the cache."""
    archives = [
        f for f in record.files if f.key.lower().endswith(".zip") and f.size <= MAX_ZIP_BYTES
    ]
    for item in archives:
        archive = registry.get_file(record, item.key)
        try:
            with zipfile.ZipFile(archive) as bundle:
                members = [
                    m
                    for m in bundle.infolist()
                    if PurePosixPath(m.filename).name == "codemeta.json"
                    and m.file_size <= MAX_CODEMETA_BYTES
                ]
                if not members:
                    continue
                data = bundle.read(min(members, key=lambda m: len(m.filename)))
        except zipfile.BadZipFile:
            raise InputError(
                f"file {item.key!r} is not a readable zip archive",
                source=item.url,
                hint="report it",
            ) from None
        digest = hash_file(archive, ["sha256"])["sha256"]
        return atomic_write(settings.cache_dir / "codemeta" / f"{digest}.json", data)
    return None


def _load_codemeta(
    registry: Registry, record: SoftwareRecord, settings: Settings
) -> tuple[Codemeta | None, Path | None]:
    key = find_codemeta_key(record)
    local = record.registry.startswith("dir:")
    if key is not None:
        path = registry.get_file(record, key)
        label = str(path) if local else record.file(key).url
    else:
        found = _codemeta_from_zip(registry, record, settings)
        if found is None:
            return None, None
        path, label = found, f"{record.url or record.registry} (codemeta.json in the zip archive)"
    try:
        return load_codemeta(path), path
    except InputError as exc:
        exc.source = label  # the cache path means nothing to the user; the URL does
        if not local:
            exc.hint = "the published codemeta.json is broken; ask the record's authors to fix it"
        raise


def _open_for(
    ref: Ref, settings: Settings, client: httpx.Client | None
) -> tuple[Registry, str | None]:
    """The registry a reference needs, and the entry name when the reference is a local path."""
    if not ref.is_local:
        if not settings.registry.startswith("dir:"):
            check_api_record_id(ref, settings.registry)
        return open_registry(settings, client), None
    registry, name = open_local(ref.value)
    if name is None:
        listed = ", ".join(registry.entry_names()) or "none"
        raise InputError(
            f"{ref.text} is a folder registry, not one entry",
            source="REF",
            hint=f"name one entry as dir:{ref.value.rstrip('/')}/NAME (entries: {listed})",
        )
    return registry, name


def get_entry(ref: str, settings: Settings, *, client: httpx.Client | None = None) -> Entry:
    """Resolve ``ref`` to a pinned record and load its codemeta (None when it has none)."""
    parsed = parse_ref(ref)
    registry, name = _open_for(parsed, settings, client)
    with registry:
        record = registry.get_record(name) if name else registry.resolve_ref(parsed)
        codemeta, path = _load_codemeta(registry, record, settings)
    return Entry(record, codemeta, path, files_from=_FileSource(settings, client))

"""The registry's entries as TRS tools: ids, versions, and the files each version serves.

**Ids** (docs/finder.md). A TRS id must not contain ``/`` (cwltool and trs-cli split on it) nor
``:`` (cwltool splits ``ID:VERSION`` on the first one), so ids use the unreserved URI characters
``A-Z a-z 0-9 . _ ~ -`` only:

- Zenodo registry: the tool is the concept (all versions of a record), id ``zenodo.<concept id>``
  (the concept DOI's suffix: ``10.5281/zenodo.4055175`` is ``zenodo.4055175``); a version is one
  record, id = its record id (``4687123``), name = its version (``v0.0.10``);
- folder registry (``dir:PATH``): the tool is a folder, id = the folder name; its one version has
  the id of its codemeta version (``8.0.1``), or ``current`` when that has other characters.

A version is also found by its name (when only one version has it) and as ``latest`` (the newest
one: cwltool asks for ``latest`` when ``ID`` has no ``:VERSION``). Entries whose id cannot be
written so (a folder named ``a b``) are left out and listed in ``Catalog.left_out``.

**Files** of a version (:class:`Bundle`), built once per record and its files' checksums:
the CWL ``ossrflow cwl`` generates (``PRIMARY_DESCRIPTOR`` ``<tool id>.cwl``), the Dockerfile
``ossrflow containerize`` writes, rendered without building (``CONTAINERFILE`` ``Dockerfile``,
when the entry's codemeta allows a recipe), example jobs the entry ships (``TEST_FILE``: keys
``job.yml``/``.yaml``/``.json`` or ending ``-job.yml``/``.yaml``/``.json``), and its
``ossrflow-interface.yml`` and ``codemeta.json`` (``OTHER``). Each carries its sha-256.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import ossrflow
from ossrflow.errors import InputError, NotFound

__all__ = [
    "LATEST",
    "SAFE_ID",
    "Bundle",
    "BundleFile",
    "Catalog",
    "Tool",
    "Version",
    "is_example_job",
    "tool_id_of",
]

SAFE_ID = re.compile(r"[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}")
LATEST = "latest"
MAX_SHIPPED_BYTES = 1 << 20  # larger example jobs and metadata files are not served
_JOB = re.compile(r"(?:.*-)?job\.(?:ya?ml|json)", re.IGNORECASE)


def is_example_job(key: str) -> bool:
    """``job.yml``, ``job.json``, ``fitscheck-job.yaml``…: an example job the entry ships."""
    return "/" not in key and _JOB.fullmatch(key) is not None


def tool_id_of(record: ossrflow.SoftwareRecord) -> str | None:
    """The TRS id of the tool a record is a version of; None when it cannot be written safely."""
    if record.registry.startswith("dir:"):
        return record.id if SAFE_ID.fullmatch(record.id) else None
    candidate = f"zenodo.{record.concept_id or record.id}"
    return candidate if SAFE_ID.fullmatch(candidate) else None


def _version_id(record: ossrflow.SoftwareRecord) -> str:
    if not record.registry.startswith("dir:"):
        return record.id
    version = record.version or ""
    return version if SAFE_ID.fullmatch(version) and version != LATEST else "current"


def _has_interface(record: ossrflow.SoftwareRecord) -> bool:
    keys = {f.key for f in record.files}
    return bool(keys & set(ossrflow.INTERFACE_KEYS)) or any(k.endswith(".cwl") for k in keys)


@dataclass(frozen=True)
class Version:
    """One version of a tool: a published record (a folder entry as it is now)."""

    id: str
    name: str
    record: ossrflow.SoftwareRecord
    has_interface: bool
    has_codemeta: bool

    @property
    def is_production(self) -> bool:
        return not self.record.registry.startswith("dir:")  # a published record never changes


@dataclass(frozen=True)
class Tool:
    """One registry entry (all its versions, newest first)."""

    id: str
    name: str
    description: str | None
    organization: str
    aliases: tuple[str, ...]
    versions: tuple[Version, ...]

    @property
    def authors(self) -> tuple[str, ...]:
        return self.versions[0].record.creators if self.versions else ()

    def version(self, version_id: str) -> Version:
        """A version by id, by name when only one has it, or ``latest``; NotFound otherwise."""
        if version_id == LATEST and self.versions:
            return self.versions[0]
        for version in self.versions:
            if version.id == version_id:
                return version
        named = [v for v in self.versions if v.name == version_id]
        if len(named) == 1:
            return named[0]
        ids = ", ".join(v.id for v in self.versions) or "none"
        raise NotFound(
            f"tool {self.id} has no version {version_id!r}"
            + (" (several versions have that name)" if named else ""),
            source=f"tools/{self.id}/versions",
            hint=f"versions: {ids} (or {LATEST})",
        )


@dataclass(frozen=True)
class BundleFile:
    """One file a version serves, with its TRS file type."""

    path: str
    file_type: str  # PRIMARY_DESCRIPTOR | TEST_FILE | CONTAINERFILE | OTHER
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Bundle:
    """Every file of one version; ``containerfile_problem`` says why there is no Dockerfile."""

    files: tuple[BundleFile, ...]
    containerfile_problem: str | None = None

    @property
    def descriptor(self) -> BundleFile:
        return next(f for f in self.files if f.file_type == "PRIMARY_DESCRIPTOR")

    def of_type(self, file_type: str) -> tuple[BundleFile, ...]:
        return tuple(f for f in self.files if f.file_type == file_type)

    def file(self, path: str) -> BundleFile:
        for item in self.files:
            if item.path == path:
                return item
        paths = ", ".join(f.path for f in self.files)
        raise NotFound(f"no file {path!r} in this version", hint=f"files: {paths}")


@dataclass
class _Listing:
    tools: tuple[Tool, ...]
    left_out: tuple[str, ...]
    made: float


class Catalog:
    """The TRS view of the registry ``settings`` name, listed at most every ``ttl`` seconds."""

    def __init__(
        self,
        settings: ossrflow.Settings,
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_bundles: int = 256,
    ) -> None:
        self.settings = settings
        self.ttl = ttl
        self.clock = clock
        self.max_bundles = max_bundles
        self._listing: _Listing | None = None
        self._bundles: dict[tuple[str, ...], Bundle | InputError] = {}
        self._lock = threading.Lock()
        self._build_lock = threading.Lock()  # cwltool is not thread-safe

    @property
    def is_folder(self) -> bool:
        return self.settings.registry.startswith("dir:")

    # --- tools ---------------------------------------------------------------------------

    def tools(self) -> tuple[Tool, ...]:
        return self._current().tools

    def left_out(self) -> tuple[str, ...]:
        """Entries not served, each with why (ids that cannot be written safely)."""
        return self._current().left_out

    def tool(self, tool_id: str) -> Tool:
        for tool in self.tools():
            if tool.id == tool_id:
                return tool
        raise NotFound(
            f"no tool {tool_id!r} in this registry",
            source="tools",
            hint="GET /tools lists the tools; ids look like zenodo.4055175 (Zenodo) or the "
            "folder name (folder registry)",
        )

    def _current(self) -> _Listing:
        with self._lock:
            listing = self._listing
            if listing is None or self.clock() - listing.made >= self.ttl:
                listing = self._list()
                self._listing = listing
            return listing

    def _list(self) -> _Listing:
        with ossrflow.open_registry(self.settings) as registry:
            found = registry.search_records("", all_versions=not self.is_folder)
        groups: dict[str, list[ossrflow.SoftwareRecord]] = {}
        left_out = [str(error) for error in found.refused]
        for record in found.records:
            tool_id = tool_id_of(record)
            if tool_id is None:
                left_out.append(
                    f"{record.id}: no TRS id can be made of it (use A-Z a-z 0-9 . _ ~ -)"
                )
                continue
            groups.setdefault(tool_id, []).append(record)
        tools = [self._tool(tool_id, records) for tool_id, records in groups.items()]
        return _Listing(tuple(sorted(tools, key=lambda t: t.id)), tuple(left_out), self.clock())

    def _organization(self) -> str:
        if self.is_folder:
            return Path(self.settings.registry[4:]).name or self.settings.registry
        return self.settings.community or self.settings.registry

    def _tool(self, tool_id: str, records: Iterable[ossrflow.SoftwareRecord]) -> Tool:
        ordered = sorted(records, key=_newest_first)
        versions = tuple(
            Version(
                _version_id(r),
                r.version or r.id,
                r,
                _has_interface(r),
                ossrflow.find_codemeta_key(r) is not None,
            )
            for r in ordered
        )
        latest = ordered[0]
        aliases = [a for r in ordered for a in (r.doi,) if a]
        if latest.concept_doi:
            aliases.insert(0, latest.concept_doi)
        return Tool(
            tool_id,
            latest.title or tool_id,
            latest.description,
            self._organization(),
            tuple(dict.fromkeys(aliases)),
            versions,
        )

    # --- files ---------------------------------------------------------------------------

    def bundle(self, version: Version) -> Bundle:
        """The files of ``version``, generated once per record and file checksums."""
        record = version.record
        key = (record.registry, record.id, *(f"{f.key}={f.checksum}" for f in record.files))
        with self._lock:
            cached = self._bundles.get(key)
        if cached is None:
            with self._build_lock:
                try:
                    cached = self._build(version)
                except InputError as exc:  # the entry's own fault: the same next time
                    cached = exc if isinstance(exc, NotFound) else _no_descriptor(version, exc)
            with self._lock:
                if len(self._bundles) >= self.max_bundles:
                    self._bundles.pop(next(iter(self._bundles)))
                self._bundles[key] = cached
        if isinstance(cached, InputError):
            raise cached
        return cached

    def _entry_ref(self, record: ossrflow.SoftwareRecord) -> str:
        if self.is_folder:
            return f"dir:{Path(self.settings.registry[4:]) / record.id}"
        return record.id

    def _build(self, version: Version) -> Bundle:
        if not version.has_interface:
            raise NotFound(
                f"version {version.id} ships no interface: there is no CWL descriptor",
                source=version.record.url or version.record.registry,
                hint="publish an ossrflow-interface.yml with the entry (`ossrflow publish`)",
            )
        settings = replace(self.settings, registry=version.record.registry)
        entry = ossrflow.get_entry(self._entry_ref(version.record), settings)
        generated = ossrflow.generate_entry_tool(entry)
        text = ossrflow.render_tool(generated)
        files = [BundleFile(f"{generated.tool_id}.cwl", "PRIMARY_DESCRIPTOR", text.encode())]
        dockerfile, problem = _dockerfile(entry)
        if dockerfile is not None:
            files.append(BundleFile("Dockerfile", "CONTAINERFILE", dockerfile.encode()))
        files.extend(_shipped(entry, {f.path for f in files}))
        return Bundle(tuple(files), problem)


def _no_descriptor(version: Version, exc: InputError) -> NotFound:
    """An entry whose interface cannot become a tool has no descriptor (TRS: 404)."""
    return NotFound(
        f"version {version.id} has no CWL descriptor: {exc}",
        source=version.record.url or version.record.registry,
        hint="fix the entry's interface (`ossrflow cwl REF` shows the same problem)",
    )


def _newest_first(record: ossrflow.SoftwareRecord) -> tuple[str, int, str]:
    number = int(record.id) if record.id.isdigit() else 0
    return (_negate(record.publication_date or ""), -number, record.id)


def _negate(text: str) -> str:
    """A key that sorts ISO dates newest first."""
    return "".join(chr(0x10FFFF - ord(c)) for c in text)


def _dockerfile(entry: ossrflow.Entry) -> tuple[str | None, str | None]:
    try:
        return ossrflow.render_dockerfile(ossrflow.plan_recipe(entry)), None
    except InputError as exc:
        return None, str(exc)


def _shipped(entry: ossrflow.Entry, taken: set[str]) -> list[BundleFile]:
    """Example jobs (TEST_FILE), the interface and codemeta.json (OTHER) the entry ships."""
    files = []
    codemeta = ossrflow.find_codemeta_key(entry.record)
    for item in entry.record.files:
        if is_example_job(item.key):
            kind = "TEST_FILE"
        elif item.key in ossrflow.INTERFACE_KEYS or item.key == codemeta:
            kind = "OTHER"
        else:
            continue
        path = PurePosixPath(item.key).name
        if item.size > MAX_SHIPPED_BYTES or path in taken:
            continue
        taken.add(path)
        files.append(BundleFile(path, kind, entry.file_path(item.key).read_bytes()))
    return files

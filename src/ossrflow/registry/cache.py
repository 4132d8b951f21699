"""The offline cache: record JSON and files, so that pinned records work without the network.

Layout under the cache folder (``settings.cache_dir``)::

    records/<registry-slug>/<id>.json     a record's JSON exactly as the registry sent it
    records/<registry-slug>/aliases.json  concept id / DOI -> record id, as last resolved online
    store/                                the ContentStore (shared with `ossrflow stage`): sha256, md5 links

A record is written (atomically) only after it parsed and its file keys passed the safety
checks; a file enters the store only after its published checksum matched. With ``--offline``
:class:`OfflineRegistry` answers from here and never opens a connection.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from filelock import FileLock

from ossrflow.documents import load_json_document
from ossrflow.errors import InputError, NotFound
from ossrflow.integrity import Checksum, atomic_write, check_name, parse_checksum
from ossrflow.registry.model import RecordFile, SearchResults, SoftwareRecord, parse_record
from ossrflow.registry.refs import Ref, check_origin, zenodo_doi_record_id
from ossrflow.store import ContentStore
from ossrflow.transfer import ProgressCallback

__all__ = ["OfflineRegistry", "RecordCache", "expected_checksum", "registry_slug"]

_PIN_HINT = "run the same command once without --offline to put it in the cache"


def registry_slug(registry: str) -> str:
    """A readable, collision-free folder name for one registry URL."""
    readable = re.sub(r"[^A-Za-z0-9]+", "-", registry).strip("-")[:60]
    return f"{readable}-{hashlib.sha256(registry.encode()).hexdigest()[:8]}"


def expected_checksum(record: SoftwareRecord, item: RecordFile) -> Checksum:
    """The checksum a file must have; files without one are refused (nothing unverified is kept)."""
    if item.checksum is None:
        raise InputError(
            f"record {record.id} publishes no checksum for file {item.key!r}",
            source=record.url or record.registry,
            hint="ossrflow only keeps files it can verify; ask the record's owners to fix it",
        )
    return parse_checksum(item.checksum, source=record.url or record.registry)


class RecordCache:
    """Records of one registry, and the shared file store, under ``root``."""

    def __init__(self, root: Path, registry: str) -> None:
        self.root = root
        self.registry = registry
        self.folder = root / "records" / registry_slug(registry)
        self.store = ContentStore(root / "store")  # shared with `ossrflow stage`

    def _record_path(self, record_id: str) -> Path:
        return self.folder / f"{check_name(record_id, location='id')}.json"

    def put_record(self, data: object, record: SoftwareRecord) -> None:
        """Keep a record's JSON (already parsed and checked) under its id."""
        atomic_write(self._record_path(record.id), json.dumps(data, sort_keys=True))

    def get_record(self, record_id: str) -> SoftwareRecord | None:
        """The cached record with this id, or None."""
        path = self._record_path(record_id)
        if not path.is_file():
            return None
        try:
            data = load_json_document(path)  # within the limits of every document
        except InputError as exc:
            raise InputError(
                f"the cached record is corrupt ({exc.problem})",
                source=str(path),
                hint="delete the file and run again online",
            ) from None
        return parse_record(data, str(path), registry=self.registry)

    def _aliases(self) -> dict[str, str]:
        path = self.folder / "aliases.json"
        if not path.is_file():
            return {}
        try:
            data = load_json_document(path)
        except InputError:
            return {}  # a broken index only costs a lookup online
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def note_aliases(self, aliases: Sequence[str], record_id: str) -> None:
        """Remember that each alias (``concept:N``, ``doi:…``) led to ``record_id``."""
        if not aliases:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.folder / "aliases.json.lock")):
            table = self._aliases()
            table.update({alias.lower(): record_id for alias in aliases})
            atomic_write(self.folder / "aliases.json", json.dumps(table, indent=1, sort_keys=True))

    def lookup(self, alias: str) -> str | None:
        return self._aliases().get(alias.lower())

    def cached_file(self, record: SoftwareRecord, key: str) -> Path | None:
        return self.store.get(expected_checksum(record, record.file(key)))


class OfflineRegistry:
    """The :class:`~ossrflow.registry.Registry` of ``--offline``: pinned records from the cache."""

    def __init__(self, cache: RecordCache) -> None:
        self.cache = cache

    @property
    def name(self) -> str:
        return self.cache.registry

    def __enter__(self) -> OfflineRegistry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        return None

    def search_records(
        self, query: str = "", *, keywords: Sequence[str] = (), all_versions: bool = False
    ) -> SearchResults:
        raise InputError(
            "search needs the registry, and --offline is set",
            source=self.name,
            hint="run without --offline; offline, give a record id or DOI that was used before",
        )

    def search_versions(self, record: SoftwareRecord) -> SearchResults:
        raise InputError(
            "listing versions needs the registry, and --offline is set",
            source=self.name,
            hint="run without --offline",
        )

    def get_record(self, record_id: str) -> SoftwareRecord:
        record = self.cache.get_record(record_id)
        if record is None and (pinned := self.cache.lookup(f"concept:{record_id}")):
            record = self.cache.get_record(pinned)
        if record is None:
            raise NotFound(
                f"record {record_id} is not in the offline cache",
                source=str(self.cache.folder),
                hint=_PIN_HINT,
            )
        return record

    def resolve_ref(self, ref: Ref) -> SoftwareRecord:
        check_origin(ref, self.name)
        if ref.kind == "id":
            return self.get_record(ref.value)
        if ref.kind == "doi":
            pinned = self.cache.lookup(f"doi:{ref.value}") or zenodo_doi_record_id(ref.value)
            if pinned is None:
                raise NotFound(
                    f"DOI {ref.value} is not in the offline cache",
                    source=str(self.cache.folder),
                    hint=_PIN_HINT,
                )
            return self.get_record(pinned)
        raise InputError(f"{ref.text!r} is a local path, not a record", source="REF")

    def get_file(
        self, record: SoftwareRecord, key: str, *, progress: ProgressCallback | None = None
    ) -> Path:
        path = self.cache.cached_file(record, key)
        if path is None:
            raise NotFound(
                f"file {key!r} of record {record.id} is not in the offline cache",
                source=str(self.cache.store.root),
                hint=_PIN_HINT,
            )
        return path

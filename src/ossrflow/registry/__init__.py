"""Where software entries come from: a Zenodo API, a folder (``dir:PATH``), or the offline cache.

All three implement :class:`Registry`; :func:`open_registry` picks one from the settings::

    registry = "https://zenodo.org/api"   -> ZenodoRegistry (records cached for --offline)
    registry = "dir:workflows/registry"   -> LocalRegistry
    offline  = true                       -> OfflineRegistry (cache only, no connection)

A registry is a context manager: leaving it closes the HTTP client it opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from ossrflow.config import Settings
from ossrflow.errors import InputError
from ossrflow.registry.cache import OfflineRegistry, RecordCache
from ossrflow.registry.local import LocalRegistry, open_local
from ossrflow.registry.model import (
    RecordFile,
    SearchResults,
    SoftwareRecord,
    find_codemeta_key,
    parse_record,
)
from ossrflow.registry.refs import Ref, parse_ref
from ossrflow.registry.zenodo import ZenodoRegistry
from ossrflow.transfer import ProgressCallback, make_client

__all__ = [
    "LocalRegistry",
    "OfflineRegistry",
    "RecordFile",
    "Ref",
    "Registry",
    "SearchResults",
    "SoftwareRecord",
    "ZenodoRegistry",
    "find_codemeta_key",
    "open_local",
    "open_registry",
    "parse_record",
    "parse_ref",
]


class Registry(Protocol):
    """What every registry offers. ``get_*`` raise NotFound; ``resolve_ref`` pins concepts."""

    @property
    def name(self) -> str:
        """The API base URL or ``dir:PATH``: recorded as ``SoftwareRecord.registry``."""
        ...

    def search_records(
        self, query: str = "", *, keywords: Sequence[str] = (), all_versions: bool = False
    ) -> SearchResults: ...

    def search_versions(self, record: SoftwareRecord) -> SearchResults:
        """Every published version of ``record``'s concept (a folder entry: itself)."""
        ...

    def get_record(self, record_id: str) -> SoftwareRecord: ...

    def resolve_ref(self, ref: Ref) -> SoftwareRecord: ...

    def get_file(
        self, record: SoftwareRecord, key: str, *, progress: ProgressCallback | None = None
    ) -> Path:
        """A local, checksum-verified copy of one file of ``record``."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Registry: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


def _api_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(
            f"registry {value!r} is neither an http(s) URL nor dir:PATH",
            source="--registry",
            hint="give e.g. https://zenodo.org/api or dir:workflows/registry",
        )
    return value.rstrip("/")


def open_registry(settings: Settings, client: httpx.Client | None = None) -> Registry:
    """The registry the settings name. A ``client`` given is used and left open; else one is made
    (timeout, retries and token from the settings) and closed with the registry."""
    if settings.registry.startswith("dir:"):
        return LocalRegistry(Path(settings.registry[4:]).expanduser())
    base_url = _api_url(settings.registry)
    cache = RecordCache(settings.cache_dir, base_url)
    if settings.offline:
        return OfflineRegistry(cache)
    owns = client is None
    if client is None:
        client = make_client(
            timeout=settings.timeout, retries=settings.retries, token=settings.token
        )
    return ZenodoRegistry(
        base_url, community=settings.community, client=client, cache=cache, owns_client=owns
    )

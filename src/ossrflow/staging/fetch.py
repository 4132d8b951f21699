"""Item kind -> fetcher: how each kind of cart item reaches the content store, verified.

======  =====================================================  ==================================
kind    where the bytes come from                              verified against
======  =====================================================  ==================================
file    a local path (checked by the cart parser)              the cart's checksum, if any
http    the URL, resumably                                     the cart's checksum, if any
zenodo  the record file's URL, found through the registry      the md5 Zenodo publishes (+ cart's)
rucio   http(s)/davs replicas of each file of the DID          Rucio's adler32 (+ cart's)
======  =====================================================  ==================================

A fetcher returns :class:`Fetched`: the stored files, and whether they form a directory (a Rucio
dataset or container). Nothing unverified is kept under a published checksum: downloads are
verified before they enter the store (see :mod:`ossrflow.store`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from ossrflow.errors import ChecksumMismatch, InputError, NotFound, ServiceError, UnsafeValue
from ossrflow.integrity import Checksum, hash_file, parse_checksum, verify_checksum
from ossrflow.staging.cart import CartItem, parse_zenodo_ref
from ossrflow.staging.formats import format_for_name
from ossrflow.staging.rucio import ReplicaFile, RucioClient, list_did_files, parse_did
from ossrflow.store import ContentStore
from ossrflow.transfer import ProgressCallback

__all__ = ["FETCHERS", "FetchContext", "Fetched", "RecordSource", "StoredFile", "fetch_item"]


class RecordFileLike(Protocol):
    """What staging needs of a registry's record file (``ossrflow.registry.model.RecordFile``)."""

    @property
    def key(self) -> str: ...
    @property
    def size(self) -> int: ...
    @property
    def checksum(self) -> str | None: ...
    @property
    def url(self) -> str: ...


class RecordLike(Protocol):
    @property
    def registry(self) -> str: ...
    def file(self, key: str) -> RecordFileLike: ...


class RecordSource(Protocol):
    """A registry (``ossrflow.registry``): record id -> record with files."""

    @property
    def name(self) -> str: ...
    def get_record(self, record_id: str) -> RecordLike: ...


@dataclass(frozen=True)
class StoredFile:
    """One verified file in the store, with the name and format it is staged under."""

    name: str
    path: Path
    sha256: Checksum
    size: int
    format: str | None


@dataclass(frozen=True)
class Fetched:
    files: tuple[StoredFile, ...]
    directory: bool = False


@dataclass(frozen=True)
class FetchContext:
    """What fetchers share. With ``offline``, only files already in the store are staged."""

    store: ContentStore
    client: httpx.Client
    registry: RecordSource | None = None
    rucio: RucioClient | None = None
    progress: ProgressCallback | None = None
    offline: bool = False


Fetcher = Callable[[CartItem, FetchContext], Fetched]


def fetch_item(item: CartItem, ctx: FetchContext) -> Fetched:
    """Bring ``item`` into the store with the fetcher for its kind."""
    return FETCHERS[item.kind](item, ctx)


def _one(item: CartItem, path: Path, sha256: Checksum) -> Fetched:
    return Fetched((StoredFile(item.name, path, sha256, path.stat().st_size, item.format),))


def _in_store(store: ContentStore, expected: Checksum | None) -> tuple[Path, Checksum] | None:
    """The stored file with this digest and its sha256, or None."""
    if expected is None or (found := store.get(expected)) is None:
        return None
    if expected.algorithm == "sha256":
        return found, expected
    return found, Checksum("sha256", hash_file(found)["sha256"])


def _store_local(
    store: ContentStore, source: Path, expected: Checksum | None
) -> tuple[Path, Checksum]:
    """A local file: verified in place, then copied into the store unless it is there."""
    if (found := _in_store(store, expected)) is not None:
        return found
    if not source.is_file():
        what = "is a folder" if source.is_dir() else "does not exist"
        raise NotFound(f"{source} {what}", hint="list existing files (folders are not staged)")
    digests = hash_file(source, {"sha256", *([expected.algorithm] if expected else [])})
    if expected is not None and digests[expected.algorithm] != expected.digest:
        raise _mismatch(expected, digests[expected.algorithm], str(source))
    sha256 = Checksum("sha256", digests["sha256"])
    if (stored := store.get(sha256)) is not None:
        return stored, sha256
    path, copied = store.add_file(source, [expected] if expected else [])
    if copied != sha256:
        raise ChecksumMismatch(
            "the file changed while it was being staged",
            source=str(source),
            hint="stage it again once nothing writes to it",
        )
    return path, sha256


def _download(
    ctx: FetchContext, url: str, expected: Checksum | None, size: int | None, label: str
) -> tuple[Path, Checksum]:
    """A verified download into the store (or the stored copy); ``file:`` URLs are copied."""
    if url.startswith("file:"):
        return _store_local(ctx.store, Path(url2pathname(urlsplit(url).path)), expected)
    if ctx.offline:
        if (found := _in_store(ctx.store, expected)) is not None:
            return found
        raise NotFound(
            "not in the store, and --offline forbids downloading it",
            source=url,
            hint="run once without --offline to stage it",
        )
    path, sha256 = ctx.store.fetch(
        ctx.client, url, expected, size=size, progress=ctx.progress, label=label
    )
    _verify_size(path, size, url)
    return path, sha256


def fetch_file(item: CartItem, ctx: FetchContext) -> Fetched:
    """A local file (already confined by the cart parser), verified against the cart."""
    return _one(item, *_store_local(ctx.store, Path(item.location), item.checksum))


def fetch_http(item: CartItem, ctx: FetchContext) -> Fetched:
    """An http(s) URL: resumable download, verified against the cart's checksum when given."""
    return _one(item, *_download(ctx, item.location, item.checksum, item.size, item.name))


def fetch_zenodo(item: CartItem, ctx: FetchContext) -> Fetched:
    """``zenodo:RECORD/KEY``: URL, md5 and size from the registry, then a verified download."""
    if ctx.registry is None:
        raise InputError(
            "a Zenodo item needs a registry to resolve it", hint="pass --registry (or use the CLI)"
        )
    recid, key = parse_zenodo_ref(item.location)
    if item.location.startswith("http") and _origin(item.location) != _origin(ctx.registry.name):
        host = urlsplit(item.location).netloc
        raise InputError(
            f"the cart names a file on {host}, but the registry is {ctx.registry.name}",
            hint=f"pass --registry https://{host}/api, or write zenodo:{recid}/{key}",
        )
    record = ctx.registry.get_record(recid)
    record_file = record.file(key)
    if record_file.checksum is None:
        raise InputError(
            f"record {recid} publishes no checksum for file {key!r}",
            source=record_file.url,
            hint="ossrflow only stages files it can verify; ask the record's owners to fix it",
        )
    _check_host(record_file.url, record.registry)
    published = parse_checksum(record_file.checksum, source=record_file.url)
    _check_declared(item.checksum, published, record_file.url)
    path, sha256 = _download(ctx, record_file.url, published, record_file.size, item.name)
    _verify_extra(path, item.checksum, published, record_file.url)
    return _one(item, path, sha256)


def _check_host(url: str, registry: str) -> None:
    """Record files are fetched only from the registry's own host (as the registry does)."""
    if url.startswith("file:") and registry.startswith("dir:"):
        return
    if _origin(url) != _origin(registry):
        raise UnsafeValue(
            f"the record's file link points to another host: {url}",
            source=registry,
            hint="ossrflow fetches record files only from the registry's host",
        )


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def fetch_rucio(item: CartItem, ctx: FetchContext) -> Fetched:
    """A Rucio DID: each of its files from an http(s) replica, verified with Rucio's adler32."""
    if ctx.offline:
        return _rucio_offline(item, ctx)
    if ctx.rucio is None:
        raise InputError(
            "a Rucio item needs a configured Rucio client",
            hint="install rucio-clients and configure it (see docs/staging.md)",
        )
    did = parse_did(item.location)
    did_type, files = list_did_files(ctx.rucio, did)
    if did_type == "FILE":
        _check_declared(item.checksum, files[0].checksum, f"rucio:{did}")
        stored = _fetch_replica(files[0], ctx, item.name)
        _verify_extra(stored.path, item.checksum, files[0].checksum, f"rucio:{did}")
        return Fetched((stored,))
    return Fetched(tuple(_fetch_replica(f, ctx, f.did.basename) for f in files), directory=True)


def _rucio_offline(item: CartItem, ctx: FetchContext) -> Fetched:
    """Offline, a Rucio file is staged only from the store, by the checksum the cart gives."""
    if (found := _in_store(ctx.store, item.checksum)) is not None:
        return _one(item, *found)
    raise NotFound(
        "Rucio items need the Rucio server, and --offline forbids reaching it",
        source=f"rucio:{item.location}",
        hint="run once without --offline to stage it",
    )


def _fetch_replica(replica: ReplicaFile, ctx: FetchContext, name: str) -> StoredFile:
    """The first replica that can be downloaded; a checksum mismatch is not retried."""
    if not replica.urls:
        raise ServiceError(
            f"no replica of {replica.did} can be read over http(s) or davs",
            source=f"rucio:{replica.did}",
            hint="download it with `rucio download` and list the local path in the cart instead",
        )
    for url in replica.urls[:-1]:
        try:
            return _replica_file(replica, url, ctx, name)
        except (ServiceError, NotFound):
            continue  # try the next replica
    return _replica_file(replica, replica.urls[-1], ctx, name)


def _replica_file(replica: ReplicaFile, url: str, ctx: FetchContext, name: str) -> StoredFile:
    path, sha256 = _download(ctx, url, replica.checksum, replica.size, name)
    return StoredFile(name, path, sha256, path.stat().st_size, format_for_name(name))


def _check_declared(declared: Checksum | None, published: Checksum | None, source: str) -> None:
    """A cart checksum that contradicts the source's, in the same algorithm, fails up front."""
    if declared is None or published is None or declared.algorithm != published.algorithm:
        return
    if declared.digest != published.digest:
        raise ChecksumMismatch(
            f"the cart says {declared} but the source publishes {published}",
            source=source,
            hint="correct the checksum in the cart; nothing was downloaded",
        )


def _verify_extra(
    path: Path, declared: Checksum | None, published: Checksum | None, source: str
) -> None:
    """A cart checksum in another algorithm than the source's is checked after the download."""
    if declared is not None and (published is None or declared.algorithm != published.algorithm):
        verify_checksum(path, declared, source=source)


def _verify_size(path: Path, expected: int | None, source: str) -> None:
    actual = path.stat().st_size
    if expected is not None and actual != expected:
        raise ChecksumMismatch(
            f"size mismatch: expected {expected} bytes, got {actual}",
            source=source,
            hint="correct the size in the cart, or check the source",
        )


def _mismatch(expected: Checksum, actual: str, source: str) -> ChecksumMismatch:
    return ChecksumMismatch(
        f"checksum mismatch: expected {expected}, the bytes have {expected.algorithm}:{actual}",
        source=source,
        hint="correct the checksum in the cart, or check the file; nothing was kept",
    )


FETCHERS: dict[str, Fetcher] = {
    "file": fetch_file,
    "http": fetch_http,
    "zenodo": fetch_zenodo,
    "rucio": fetch_rucio,
}

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
dataset or container). Nothing that failed a check enters the store: sizes (declared, or the
``max_bytes`` of an item without one), checksums and the context's ``verify`` (e.g. the file's
type) are checked before a file is promoted (see :mod:`ossrflow.store`). The files of a Rucio
dataset or container are downloaded ``parallel`` at a time; each keeps its :class:`Origin`
(DID, RSE, Rucio's checksums), which the CWL object carries (``staging.ORIGIN_KEY``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from ossrflow.errors import ChecksumMismatch, InputError, NotFound, ServiceError, UnsafeValue
from ossrflow.integrity import Checksum, hash_file, parse_checksum, verify_checksum
from ossrflow.staging.cart import CartItem, parse_zenodo_ref
from ossrflow.staging.formats import format_for_name
from ossrflow.staging.origin import Origin
from ossrflow.staging.rucio import Replica, ReplicaFile, RucioClient, list_did_files, parse_did
from ossrflow.store import ContentStore, Verify
from ossrflow.transfer import Progress, ProgressCallback

__all__ = [
    "FETCHERS",
    "FetchContext",
    "Fetched",
    "ItemCheck",
    "Origin",
    "RecordSource",
    "StoredFile",
    "fetch_item",
]

T = TypeVar("T")
R = TypeVar("R")
ItemCheck = Callable[[str, Path], None]  # (staged name, file) -> raises to refuse the file


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
    origin: Origin | None = None


@dataclass(frozen=True)
class Fetched:
    files: tuple[StoredFile, ...]
    directory: bool = False
    origin: Origin | None = None  # of the directory (a Rucio dataset or container)


@dataclass(frozen=True)
class FetchContext:
    """What fetchers share. With ``offline``, only files already in the store are staged.

    ``max_bytes`` bounds a download whose size nobody declares; ``parallel`` is how many files
    of a dataset are downloaded at a time; ``verify(name, file)`` may refuse a file before it
    enters the store.
    """

    store: ContentStore
    client: httpx.Client
    registry: RecordSource | None = None
    rucio: RucioClient | None = None
    progress: ProgressCallback | None = None
    offline: bool = False
    max_bytes: int | None = None
    parallel: int = 1
    verify: ItemCheck | None = None

    def check(self, name: str) -> Verify | None:
        """The store's ``verify`` for a file staged as ``name``."""
        if self.verify is None:
            return None
        check = self.verify
        return lambda path: check(name, path)


Fetcher = Callable[[CartItem, FetchContext], Fetched]


def fetch_item(item: CartItem, ctx: FetchContext) -> Fetched:
    """Bring ``item`` into the store with the fetcher for its kind."""
    return FETCHERS[item.kind](item, ctx)


def _in_parallel(work: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """``[work(item) for item in items]``, ``workers`` at a time; the first item's error wins,
    and nothing new starts once one failed."""
    if workers <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ossrflow-fetch") as pool:
        futures: list[Future[R]] = [pool.submit(work, item) for item in items]
        wait(futures, return_when=FIRST_EXCEPTION)
        for future in futures:
            future.cancel()
        wait(futures)
        for future in futures:
            if not future.cancelled() and (error := future.exception()) is not None:
                raise error
        return [future.result() for future in futures]


def _one(item: CartItem, path: Path, sha256: Checksum) -> Fetched:
    return Fetched((StoredFile(item.name, path, sha256, path.stat().st_size, item.format),))


def _in_store(
    store: ContentStore, expected: Checksum | None, size: int | None = None
) -> tuple[Path, Checksum] | None:
    """The stored file with this digest (and ``size``, when known) and its sha256, or None."""
    return None if expected is None else store.find(expected, size=size)


def _store_local(
    store: ContentStore,
    source: Path,
    expected: Checksum | None,
    size: int | None = None,
    verify: Verify | None = None,
) -> tuple[Path, Checksum]:
    """A local file: verified in place, then copied into the store unless it is there."""
    if (found := _in_store(store, expected)) is not None:
        return found
    if not source.is_file():
        what = "is a folder" if source.is_dir() else "does not exist or is not a regular file"
        raise NotFound(f"{source} {what}", hint="list existing files (folders are not staged)")
    _verify_size(source, size, str(source))
    digests = hash_file(source, {"sha256", *([expected.algorithm] if expected else [])})
    if expected is not None and digests[expected.algorithm] != expected.digest:
        raise _mismatch(expected, digests[expected.algorithm], str(source))
    sha256 = Checksum("sha256", digests["sha256"])
    if (stored := store.get(sha256)) is not None:
        return stored, sha256
    path, copied = store.add_file(source, [expected] if expected else [], verify=verify)
    if copied != sha256:
        raise ChecksumMismatch(
            "the file changed while it was being staged",
            source=str(source),
            hint="stage it again once nothing writes to it",
        )
    return path, sha256


def _download(
    ctx: FetchContext,
    url: str,
    expected: Checksum | None,
    size: int | None,
    label: str,
    also: Sequence[Checksum] = (),
) -> tuple[Path, Checksum]:
    """A checked download into the store (or the stored copy); ``file:`` URLs are copied.

    ``also``: more published digests, verified too before the file is stored.
    """
    if url.startswith("file:"):
        local = Path(url2pathname(urlsplit(url).path))
        return _store_local(ctx.store, local, expected, size, ctx.check(label))
    if ctx.offline:
        if (found := _in_store(ctx.store, expected, size)) is not None:
            return found
        raise NotFound(
            "not in the store, and --offline forbids downloading it",
            source=url,
            hint="run once without --offline to stage it",
        )
    return ctx.store.fetch(
        ctx.client,
        url,
        expected,
        size=size,
        max_bytes=ctx.max_bytes,
        progress=ctx.progress,
        label=label,
        verify=ctx.check(label),
        extra=also,
    )


def fetch_file(item: CartItem, ctx: FetchContext) -> Fetched:
    """A local file (already confined by the cart parser), verified against the cart."""
    stored = _store_local(
        ctx.store, Path(item.location), item.checksum, item.size, ctx.check(item.name)
    )
    return _one(item, *stored)


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
    """A Rucio DID: each of its files from an http(s) replica, verified with Rucio's adler32.

    The files of a dataset or container are downloaded ``ctx.parallel`` at a time.
    """
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
        if item.size is not None and files[0].size not in (None, item.size):
            raise ChecksumMismatch(
                f"size mismatch: the cart says {item.size} bytes, Rucio says {files[0].size}",
                source=f"rucio:{did}",
                hint="correct the size in the cart; nothing was downloaded",
            )
        stored = _fetch_replica(files[0], ctx, item.name)
        _verify_extra(stored.path, item.checksum, files[0].checksum, f"rucio:{did}")
        return Fetched((stored,))
    shared = _shared(ctx)
    stored_files = _in_parallel(
        lambda f: _fetch_replica(f, shared, f.did.basename), files, ctx.parallel
    )
    return Fetched(tuple(stored_files), directory=True, origin=Origin(str(did), did_type))


def _shared(ctx: FetchContext) -> FetchContext:
    """The context for threads: progress reports one at a time."""
    if ctx.progress is None or ctx.parallel <= 1:
        return ctx
    lock, report = threading.Lock(), ctx.progress

    def progress(update: Progress) -> None:
        with lock:
            report(update)

    return FetchContext(**{**ctx.__dict__, "progress": progress})


def _rucio_offline(item: CartItem, ctx: FetchContext) -> Fetched:
    """Offline, a Rucio file is staged only from the store, by the checksum the cart gives."""
    if (found := _in_store(ctx.store, item.checksum, item.size)) is not None:
        return _one(item, *found)
    raise NotFound(
        "Rucio items need the Rucio server, and --offline forbids reaching it",
        source=f"rucio:{item.location}",
        hint="run once without --offline to stage it",
    )


def _fetch_replica(replica: ReplicaFile, ctx: FetchContext, name: str) -> StoredFile:
    """The first replica that can be downloaded; a checksum or size mismatch is not retried."""
    if not replica.replicas:
        raise ServiceError(
            f"no replica of {replica.did} can be read over http(s) or davs",
            source=f"rucio:{replica.did}",
            hint="download it with `rucio download` and list the local path in the cart instead",
        )
    for candidate in replica.replicas[:-1]:
        try:
            return _replica_file(replica, candidate, ctx, name)
        except (ServiceError, NotFound):
            continue  # try the next replica
    return _replica_file(replica, replica.replicas[-1], ctx, name)


def _replica_file(
    replica: ReplicaFile, candidate: Replica, ctx: FetchContext, name: str
) -> StoredFile:
    # Rucio's adler32 first, then every other digest it publishes (md5) are verified; the
    # store finds the file by the strongest of them (see ContentStore.fetch).
    expected, also = replica.checksum, replica.checksums[1:]
    path, sha256 = _download(ctx, candidate.url, expected, replica.size, name, also)
    origin = Origin(str(replica.did), "FILE", candidate.rse, replica.size, replica.checksums)
    return StoredFile(name, path, sha256, path.stat().st_size, format_for_name(name), origin)


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

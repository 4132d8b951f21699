"""Staging: cart items (http(s), Zenodo files, Rucio DIDs, paths) become verified, content-addressed inputs.

Takes shopping carts (:mod:`.cart`, ESAP's forms in :mod:`.esap`); gives files in the content
store and the CWL ``File``/``Directory`` objects that name them.

:func:`stage_items` is the one staging session every caller uses (``ossrflow stage``, compose,
rerun): it opens the data client (without the registry's token: cart URLs may point anywhere),
the registry only for ``zenodo:`` items and Rucio only for DIDs, and honours ``--offline``.
``stage(items, store, client=…)`` is the step below it: it fetches every item with the fetcher for its kind
(:mod:`ossrflow.staging.fetch`), verified and content-addressed, and returns one
:class:`StagedInput` per item, in cart order. Its ``cwl`` is the CWL ``File`` object (or, for a
Rucio dataset or container, a ``Directory`` with its ``listing``) to put in a job file.

A directory is materialized in the store as ``dirs/<sha256 of its manifest>/``: hard links to the
stored files under their names. The manifest is one ``<sha256>  <name>`` line per file, sorted, so
the same dataset always lands in the same folder. A directory's :class:`StagedInput` lists its
files as ``members`` (one :class:`StagedInput` each).

A Rucio file or collection keeps where it came from (:class:`~ossrflow.staging.origin.Origin`:
DID, RSE, Rucio's checksums and size) in ``StagedInput.origin`` and, for a job file and the run
record, in its CWL object under the extension field :data:`ORIGIN_KEY`
(``{did, rse, bytes, adler32, md5}``, or ``{did, type}`` for a dataset or container);
:func:`find_origins` reads them back from a job order.

Any error names the item that failed (``cart.yml:items[2]: item 'x.fits': …``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from ossrflow.config import DEFAULT_MAX_DOWNLOAD, Settings
from ossrflow.errors import InputError, OssrflowError
from ossrflow.integrity import Checksum, atomic_write, hash_file
from ossrflow.staging.cart import CartItem
from ossrflow.staging.fetch import (
    FetchContext,
    Fetched,
    ItemCheck,
    RecordSource,
    StoredFile,
    fetch_item,
)
from ossrflow.staging.origin import ORIGIN_KEY, Origin, find_origins
from ossrflow.staging.rucio import RucioClient
from ossrflow.store import ContentStore
from ossrflow.transfer import ProgressCallback

__all__ = [
    "ORIGIN_KEY",
    "Origin",
    "StagedInput",
    "cwl_file",
    "find_origins",
    "render_job_inputs",
    "stage",
    "stage_items",
    "write_job_inputs",
]


@dataclass(frozen=True)
class StagedInput:
    """A staged cart item: where it lies in the store and its CWL File/Directory object.

    For a directory, ``path`` is its folder in the store, ``sha256`` the digest of its manifest,
    ``size`` the total of its files and ``members`` its files. ``origin`` says where the bytes
    came from in their source's terms (a Rucio DID, RSE and checksums), when it has such terms.
    """

    item: CartItem
    path: Path
    sha256: Checksum
    size: int
    cwl: dict[str, Any]
    origin: Origin | None = None
    members: tuple[StagedInput, ...] = ()

    @property
    def files(self) -> tuple[StagedInput, ...]:
        """The files it stages: a directory's members, else itself."""
        return self.members or (self,)


def stage(
    items: Iterable[CartItem],
    store: ContentStore,
    *,
    client: httpx.Client,
    registry: RecordSource | None = None,
    rucio: RucioClient | None = None,
    progress: ProgressCallback | None = None,
    offline: bool = False,
    max_bytes: int | None = DEFAULT_MAX_DOWNLOAD,
    parallel: int = 1,
    verify: ItemCheck | None = None,
) -> list[StagedInput]:
    """Fetch and verify every item (once: verified files are never fetched again).

    ``registry`` resolves ``zenodo:`` items, ``rucio`` Rucio DIDs; ``progress`` is called as
    downloads advance; with ``offline`` only files already in the store are staged.
    ``max_bytes`` bounds downloads whose size nobody declares, ``parallel`` is how many files of
    a Rucio dataset download at a time, and ``verify(name, file)`` may refuse a file (e.g. by
    its type) before it enters the store.
    """
    ctx = FetchContext(
        store, client, registry, rucio, progress, offline, max_bytes, parallel, verify
    )
    return [_stage_one(item, ctx) for item in items]


def stage_items(
    items: Sequence[CartItem],
    settings: Settings,
    *,
    store: ContentStore | None = None,
    client: httpx.Client | None = None,
    rucio: RucioClient | None = None,
    progress: ProgressCallback | None = None,
    verify: ItemCheck | None = None,
) -> list[StagedInput]:
    """Stage ``items`` into ``store`` (default: ``<cache dir>/store``) in one session.

    ``client`` and ``rucio`` are made from ``settings`` (and ``rucio.cfg``) when not given and
    only when an item needs them; with ``settings.offline`` nothing is downloaded. Downloads
    obey ``settings.max_download_size`` and ``settings.parallel_downloads``.
    """
    if not items:
        return []
    store = store or ContentStore(settings.cache_dir / "store")
    if rucio is None and not settings.offline and any(item.kind == "rucio" for item in items):
        from ossrflow.staging.rucio import connect_rucio

        rucio = connect_rucio(timeout=settings.timeout)
    with _session(items, settings, client, rucio) as (data_client, registry):
        return stage(
            items,
            store,
            client=data_client,
            registry=registry,
            rucio=rucio,
            progress=progress,
            offline=settings.offline,
            max_bytes=settings.max_download_size,
            parallel=settings.parallel_downloads,
            verify=verify,
        )


@contextlib.contextmanager
def _session(
    items: Sequence[CartItem],
    settings: Settings,
    client: httpx.Client | None,
    rucio: RucioClient | None,
) -> Iterator[tuple[httpx.Client, RecordSource | None]]:
    from ossrflow.registry import open_registry
    from ossrflow.transfer import make_client

    with contextlib.ExitStack() as stack:
        if client is None:
            ca_cert = getattr(rucio, "ca_cert", None)  # Rucio's CA also signs its storage's
            client = stack.enter_context(
                make_client(
                    timeout=settings.timeout,
                    retries=settings.retries,
                    connections=settings.parallel_downloads,
                    extra_ca=ca_cert if isinstance(ca_cert, Path) else None,
                )
            )
            client.headers["Accept"] = "*/*"  # data, not the API's JSON
        registry = None
        if any(item.kind == "zenodo" for item in items):
            registry = stack.enter_context(open_registry(settings))
        yield client, registry


def _stage_one(item: CartItem, ctx: FetchContext) -> StagedInput:
    try:
        fetched = fetch_item(item, ctx)
        if fetched.directory:
            return _directory_input(item, fetched, ctx.store)
        return _file_input(item, fetched.files[0], item.name, item.format)
    except OssrflowError as exc:
        raise _for_item(item, exc) from None


def _for_item(item: CartItem, exc: OssrflowError) -> OssrflowError:
    """The same error, located at the cart item, keeping where it happened in the text."""
    where = ":".join(str(part) for part in (exc.source, exc.location) if part)
    problem = f"item {item.name!r}: {exc.problem}" + (f" [{where}]" if where else "")
    return type(exc)(problem, source=item.origin or item.location, hint=exc.hint)


def cwl_file(path: Path, name: str, size: int, fmt: str | None) -> dict[str, Any]:
    """The CWL File object for a stored file, with its sha1 (the digest CWL knows)."""
    value: dict[str, Any] = {
        "class": "File",
        "location": path.absolute().as_uri(),
        "basename": name,
        "checksum": "sha1$" + hash_file(path, ["sha1"])["sha1"],
        "size": size,
    }
    if fmt:
        value["format"] = fmt
    return value


def render_job_inputs(staged: Iterable[StagedInput], input_name: str) -> str:
    """A CWL job file (YAML) with the staged items as the array input ``input_name``."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")  # keeps the key order of the CWL objects
    yaml.width = 1 << 16  # long file:// locations stay on one line
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump({input_name: [s.cwl for s in staged]}, buffer)
    return buffer.getvalue()


def write_job_inputs(path: Path, staged: Iterable[StagedInput], input_name: str) -> Path:
    """Write :func:`render_job_inputs` to ``path`` atomically."""
    return atomic_write(path, render_job_inputs(staged, input_name))


def _file_input(
    item: CartItem, stored: StoredFile, name: str, fmt: str | None, path: Path | None = None
) -> StagedInput:
    """A file's StagedInput; ``path`` is where it is staged when not its place in the store."""
    where = path or stored.path
    cwl = cwl_file(where, name, stored.size, fmt or stored.format)
    if stored.origin is not None:
        cwl[ORIGIN_KEY] = stored.origin.to_cwl()
    return StagedInput(item, where, stored.sha256, stored.size, cwl, stored.origin)


def _member(item: CartItem, stored: StoredFile, folder: Path) -> StagedInput:
    """One file of a directory, as the item of its own DID (or name) inside the folder."""
    origin = stored.origin
    location = origin.did if origin is not None else stored.name
    member = replace(
        item, name=stored.name, location=location, checksum=None, size=stored.size, format=None
    )
    return _file_input(member, stored, stored.name, stored.format, folder / stored.name)


def _directory_input(item: CartItem, fetched: Fetched, store: ContentStore) -> StagedInput:
    files = sorted(fetched.files, key=lambda f: f.name)
    names = [f.name for f in files]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise InputError(
            f"the dataset holds several files named {duplicates[0]!r}",
            hint="stage its files one by one as separate items",
        )
    folder, digest = _materialize(store, files)
    members = tuple(_member(item, f, folder) for f in files)
    cwl: dict[str, Any] = {
        "class": "Directory",
        "location": folder.absolute().as_uri(),
        "basename": item.name,
        "listing": [m.cwl for m in members],
    }
    if fetched.origin is not None:
        cwl[ORIGIN_KEY] = fetched.origin.to_cwl()
    size = sum(f.size for f in files)
    return StagedInput(item, folder, digest, size, cwl, fetched.origin, members)


def _materialize(store: ContentStore, files: list[StoredFile]) -> tuple[Path, Checksum]:
    """Hard-link the files under their names into ``dirs/<manifest sha256>``, atomically."""
    manifest = "".join(f"{f.sha256.digest}  {f.name}\n" for f in files)
    digest = hashlib.sha256(manifest.encode()).hexdigest()
    final = store.root / "dirs" / digest[:2] / digest
    if final.is_dir():
        return final, Checksum("sha256", digest)
    (store.root / "tmp").mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=".dir.", dir=store.root / "tmp"))
    try:
        for stored in files:
            os.link(stored.path, building / stored.name)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            building.rename(final)
        except OSError:
            if not final.is_dir():  # not merely another process that made it first
                raise
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return final, Checksum("sha256", digest)

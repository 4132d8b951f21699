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
the same dataset always lands in the same folder.

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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from ossrflow.errors import InputError, OssrflowError
from ossrflow.integrity import Checksum, atomic_write, hash_file
from ossrflow.staging.cart import CartItem
from ossrflow.staging.fetch import FetchContext, Fetched, RecordSource, StoredFile, fetch_item
from ossrflow.staging.rucio import RucioClient
from ossrflow.store import ContentStore
from ossrflow.transfer import ProgressCallback

if TYPE_CHECKING:
    from ossrflow.config import Settings

__all__ = [
    "StagedInput",
    "cwl_file",
    "render_job_inputs",
    "stage",
    "stage_items",
    "write_job_inputs",
]


@dataclass(frozen=True)
class StagedInput:
    """A staged cart item: where it lies in the store and its CWL File/Directory object.

    For a directory, ``path`` is its folder in the store, ``sha256`` the digest of its manifest
    and ``size`` the total of its files.
    """

    item: CartItem
    path: Path
    sha256: Checksum
    size: int
    cwl: dict[str, Any]


def stage(
    items: Iterable[CartItem],
    store: ContentStore,
    *,
    client: httpx.Client,
    registry: RecordSource | None = None,
    rucio: RucioClient | None = None,
    progress: ProgressCallback | None = None,
    offline: bool = False,
) -> list[StagedInput]:
    """Fetch and verify every item (once: verified files are never fetched again).

    ``registry`` resolves ``zenodo:`` items, ``rucio`` Rucio DIDs; ``progress`` is called as
    downloads advance; with ``offline`` only files already in the store are staged.
    """
    ctx = FetchContext(store, client, registry, rucio, progress, offline)
    return [_stage_one(item, ctx) for item in items]


def stage_items(
    items: Sequence[CartItem],
    settings: Settings,
    *,
    store: ContentStore | None = None,
    client: httpx.Client | None = None,
    rucio: RucioClient | None = None,
    progress: ProgressCallback | None = None,
) -> list[StagedInput]:
    """Stage ``items`` into ``store`` (default: ``<cache dir>/store``) in one session.

    ``client`` and ``rucio`` are made from ``settings`` (and ``rucio.cfg``) when not given and
    only when an item needs them; with ``settings.offline`` nothing is downloaded.
    """
    if not items:
        return []
    store = store or ContentStore(settings.cache_dir / "store")
    if rucio is None and any(item.kind == "rucio" for item in items):
        from ossrflow.staging.rucio import connect_rucio

        rucio = connect_rucio()
    with _session(items, settings, client) as (data_client, registry):
        return stage(
            items,
            store,
            client=data_client,
            registry=registry,
            rucio=rucio,
            progress=progress,
            offline=settings.offline,
        )


@contextlib.contextmanager
def _session(
    items: Sequence[CartItem], settings: Settings, client: httpx.Client | None
) -> Iterator[tuple[httpx.Client, RecordSource | None]]:
    from ossrflow.registry import open_registry
    from ossrflow.transfer import make_client

    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(
                make_client(timeout=settings.timeout, retries=settings.retries)
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
        return _file_input(item, fetched.files[0])
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


def _file_input(item: CartItem, stored: StoredFile) -> StagedInput:
    cwl = cwl_file(stored.path, item.name, stored.size, item.format or stored.format)
    return StagedInput(item, stored.path, stored.sha256, stored.size, cwl)


def _directory_input(item: CartItem, fetched: Fetched, store: ContentStore) -> StagedInput:
    files = sorted(fetched.files, key=lambda f: f.name)
    names = [f.name for f in files]
    if duplicates := sorted({n for n in names if names.count(n) > 1}):
        raise InputError(
            f"the dataset holds several files named {duplicates[0]!r}",
            hint="stage its files one by one as separate items",
        )
    folder, digest = _materialize(store, files)
    listing = [cwl_file(folder / f.name, f.name, f.size, f.format) for f in files]
    cwl = {
        "class": "Directory",
        "location": folder.absolute().as_uri(),
        "basename": item.name,
        "listing": listing,
    }
    return StagedInput(item, folder, digest, sum(f.size for f in files), cwl)


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

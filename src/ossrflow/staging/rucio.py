"""Rucio DIDs: parse them, expand datasets and containers to files, find http(s) replicas.

ossrflow talks to Rucio through the small :class:`RucioClient` protocol (``get_did``,
``list_files``, ``list_replicas``: the methods of ``rucio.client.Client`` it uses), so that the
expansion and staging logic runs in tests against an in-process implementation. The real client
comes from :func:`connect_rucio`, which imports ``rucio-clients`` lazily (``pip install
'ossrflow[rucio]'``) and reads Rucio's own configuration (``RUCIO_CONFIG``, ``RUCIO_HOME``, or
``/opt/rucio/etc/rucio.cfg``).

Replicas are downloaded over http(s) (``davs://`` PFNs are WebDAV over https) and verified with
the adler32 Rucio publishes (md5 when there is no adler32). Storage that needs X.509 credentials
or other protocols (``root://``, ``srm://``) is not reachable this way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ossrflow.errors import InputError, NotFound, ServiceError
from ossrflow.integrity import Checksum, check_name, parse_checksum

__all__ = [
    "DID",
    "ReplicaFile",
    "RucioClient",
    "connect_rucio",
    "list_did_files",
    "parse_did",
    "parse_rucio_checksum",
]

SCHEMES = ("https", "davs", "http")
CONFIG_HINT = (
    "install rucio-clients (pip install 'ossrflow[rucio]') and write a rucio.cfg for your "
    "Rucio server, then set RUCIO_CONFIG=/path/to/rucio.cfg or RUCIO_HOME (see docs/staging.md)"
)
_SCOPE = re.compile(r"[A-Za-z0-9_.\-]{1,25}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\s]")


class RucioClient(Protocol):
    """The part of ``rucio.client.Client`` staging uses."""

    def get_did(self, scope: str, name: str) -> Mapping[str, Any]: ...

    def list_files(self, scope: str, name: str) -> Iterable[Mapping[str, Any]]: ...

    def list_replicas(
        self, dids: list[dict[str, str]], schemes: list[str] | None = None
    ) -> Iterable[Mapping[str, Any]]: ...


@dataclass(frozen=True)
class DID:
    """A Rucio data identifier ``scope:name``."""

    scope: str
    name: str

    def __str__(self) -> str:
        return f"{self.scope}:{self.name}"

    @property
    def basename(self) -> str:
        """The last ``/``-separated part of the name: the file name it gets when staged."""
        return self.name.rstrip("/").rpartition("/")[2]


@dataclass(frozen=True)
class ReplicaFile:
    """One file of a DID, with what Rucio publishes about it."""

    did: DID
    size: int | None
    checksum: Checksum | None
    urls: tuple[str, ...]


def parse_did(text: str, *, source: str | None = None, location: str | None = None) -> DID:
    """``SCOPE:NAME`` or ``rucio://SCOPE/NAME`` -> :class:`DID`; refuse anything else."""
    did = (
        text.removeprefix("rucio://").replace("/", ":", 1) if text.startswith("rucio://") else text
    )
    scope, sep, name = did.partition(":")
    problem = None
    if not sep or not _SCOPE.fullmatch(scope):
        problem = f"{text!r} is not a Rucio DID SCOPE:NAME"
    elif not name or _CONTROL.search(name) or ".." in name.split("/") or name.startswith("/"):
        problem = f"Rucio name {name!r} is empty or unsafe"
    if problem:
        raise InputError(
            problem, source=source, location=location, hint="write SCOPE:NAME or rucio://SCOPE/NAME"
        )
    result = DID(scope, name)
    check_name(result.basename, source=source, location=location)
    return result


def parse_rucio_checksum(entry: Mapping[str, Any], *, source: str) -> Checksum | None:
    """The checksum Rucio publishes for a file: adler32 (zero-padded to 8 digits), else md5."""
    if entry.get("adler32"):
        return parse_checksum(f"adler32:{str(entry['adler32']).zfill(8)}", source=source)
    if entry.get("md5"):
        return parse_checksum(f"md5:{entry['md5']}", source=source)
    return None


def list_did_files(client: RucioClient, did: DID) -> tuple[str, list[ReplicaFile]]:
    """The DID's type (FILE, DATASET, CONTAINER) and its files with their http(s) replicas."""
    info = client.get_did(did.scope, did.name)
    did_type = str(info.get("type", "FILE")).upper()
    entries = [info] if did_type == "FILE" else list(client.list_files(did.scope, did.name))
    if not entries:
        raise NotFound(
            f"Rucio {did_type.lower()} {did} holds no files",
            source=f"rucio:{did}",
            hint="check the DID with `rucio list-files`",
        )
    files = [_described(entry, did) for entry in entries]
    urls = _replica_urls(client, [f.did for f in files])
    return did_type, [
        ReplicaFile(f.did, f.size, f.checksum, urls.get(str(f.did), ())) for f in files
    ]


def _described(entry: Mapping[str, Any], parent: DID) -> ReplicaFile:
    source = f"rucio:{parent}"
    did = parse_did(f"{entry.get('scope', parent.scope)}:{entry.get('name', '')}", source=source)
    size = entry.get("bytes")
    return ReplicaFile(
        did, size if isinstance(size, int) else None, parse_rucio_checksum(entry, source=source), ()
    )


def _replica_urls(client: RucioClient, dids: list[DID]) -> dict[str, tuple[str, ...]]:
    request = [{"scope": d.scope, "name": d.name} for d in dids]
    found: dict[str, tuple[str, ...]] = {}
    for replica in client.list_replicas(request, schemes=list(SCHEMES)):
        key = f"{replica.get('scope')}:{replica.get('name')}"
        found[key] = tuple(_http_urls(replica.get("pfns") or {}))
    return found


def _http_urls(pfns: Mapping[str, Any]) -> Iterator[str]:
    """http(s) URLs of the PFNs, by Rucio's priority; ``davs://`` is WebDAV over https."""
    ordered = sorted(pfns, key=lambda pfn: _priority(pfns[pfn]))
    for pfn in ordered:
        scheme, sep, rest = pfn.partition("://")
        if sep and scheme in SCHEMES:
            yield f"{'https' if scheme == 'davs' else scheme}://{rest}"


def _priority(info: object) -> int:
    value = info.get("priority") if isinstance(info, Mapping) else None
    return value if isinstance(value, int) else 1_000_000


def connect_rucio() -> RucioClient:
    """A client for the configured Rucio server; a located error if Rucio is not set up."""
    try:
        from rucio.common.exception import RucioException
    except ImportError:
        raise InputError(
            "the cart names Rucio DIDs but rucio-clients is not installed", hint=CONFIG_HINT
        ) from None
    try:
        from rucio.client import Client  # reads rucio.cfg when imported

        return _RucioAdapter(Client(), RucioException)
    except RucioException as exc:
        raise _mapped_error(exc) from None


class _RucioAdapter:
    """``rucio.client.Client`` with its exceptions mapped onto ossrflow's. Untested here."""

    def __init__(self, client: Any, errors: type[Exception]) -> None:
        self.client = client
        self.errors = errors

    def get_did(self, scope: str, name: str) -> Mapping[str, Any]:
        return dict(self._call(lambda: self.client.get_did(scope, name)))

    def list_files(self, scope: str, name: str) -> Iterable[Mapping[str, Any]]:
        return list(self._call(lambda: list(self.client.list_files(scope, name))))

    def list_replicas(
        self, dids: list[dict[str, str]], schemes: list[str] | None = None
    ) -> Iterable[Mapping[str, Any]]:
        return list(self._call(lambda: list(self.client.list_replicas(dids, schemes=schemes))))

    def _call(self, action: Any) -> Any:
        try:
            return action()
        except self.errors as exc:
            raise _mapped_error(exc) from None


def _mapped_error(exc: Exception) -> InputError | ServiceError:
    name = type(exc).__name__
    text = " ".join(str(exc).split())
    if name in ("ConfigNotFound", "ConfigLoadingError"):
        return InputError(f"Rucio is not configured ({text})", hint=CONFIG_HINT)
    if name == "DataIdentifierNotFound":
        return NotFound(f"Rucio: {text}", hint="check the scope and name with `rucio list-dids`")
    return ServiceError(
        f"Rucio failed: {name}: {text}",
        hint="check the Rucio server, your credentials (rucio whoami) and rucio.cfg",
    )

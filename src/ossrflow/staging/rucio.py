"""Rucio DIDs: parse them, expand datasets and containers to files, find http(s) replicas.

ossrflow talks to Rucio through the small :class:`RucioClient` protocol (``get_did``,
``list_files``, ``list_replicas``: the methods of ``rucio.client.Client`` it uses). The real
client comes from :func:`connect_rucio`, which imports ``rucio-clients`` lazily (``pip install
'ossrflow[rucio]'``) and reads Rucio's own configuration as users write it (``RUCIO_CONFIG``,
``$RUCIO_HOME/etc/rucio.cfg``, …): the server, the account and its credentials (userpass,
x509, OIDC tokens: whatever rucio-clients supports), ``ca_cert``. rucio-clients renews an
expired token by itself; its failures become one ossrflow error each: a DID that does not exist
(:class:`NotFound`, exit 2), refused credentials (:class:`InputError`, exit 2), a server that
is down or silent for ``timeout`` seconds (:class:`ServiceError`, exit 3).

Replicas are downloaded by ossrflow over http(s) (``davs://`` PFNs are WebDAV over https),
trusting rucio.cfg's ``ca_cert`` besides the usual authorities, and verified with the adler32
Rucio publishes (md5 when there is no adler32). Storage that needs X.509 credentials or other
protocols (``root://``, ``srm://``) is not reachable this way.
"""

from __future__ import annotations

import configparser
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from ossrflow.errors import InputError, NotFound, ServiceError
from ossrflow.integrity import Checksum, check_name, parse_checksum

__all__ = [
    "DID",
    "Replica",
    "ReplicaFile",
    "RucioAdapter",
    "RucioClient",
    "connect_rucio",
    "list_did_files",
    "parse_did",
    "parse_rucio_checksum",
    "parse_rucio_checksums",
]

LOG = logging.getLogger(__name__)
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
class Replica:
    """One http(s) copy of a file: its URL and the storage element (RSE) that holds it."""

    url: str
    rse: str | None = None


@dataclass(frozen=True)
class ReplicaFile:
    """One file of a DID, with what Rucio publishes about it."""

    did: DID
    size: int | None
    checksums: tuple[Checksum, ...]  # as Rucio publishes them: adler32 first, then md5
    replicas: tuple[Replica, ...] = ()  # readable over http(s), in Rucio's priority order

    @property
    def checksum(self) -> Checksum | None:
        """The checksum a download is verified with: adler32, else md5."""
        return self.checksums[0] if self.checksums else None

    @property
    def urls(self) -> tuple[str, ...]:
        return tuple(replica.url for replica in self.replicas)


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
    found = parse_rucio_checksums(entry, source=source)
    return found[0] if found else None


def parse_rucio_checksums(entry: Mapping[str, Any], *, source: str) -> tuple[Checksum, ...]:
    """Every checksum Rucio publishes for a file, adler32 (zero-padded) first, then md5."""
    found = []
    if entry.get("adler32"):
        found.append(parse_checksum(f"adler32:{str(entry['adler32']).zfill(8)}", source=source))
    if entry.get("md5"):
        found.append(parse_checksum(f"md5:{entry['md5']}", source=source))
    return tuple(found)


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
    return did_type, _with_replicas(client, files, f"rucio:{did}")


def _described(entry: Mapping[str, Any], parent: DID) -> ReplicaFile:
    source = f"rucio:{parent}"
    did = parse_did(f"{entry.get('scope', parent.scope)}:{entry.get('name', '')}", source=source)
    size = entry.get("bytes")
    checksums = parse_rucio_checksums(entry, source=source)
    return ReplicaFile(did, size if isinstance(size, int) else None, checksums)


def _with_replicas(client: RucioClient, files: list[ReplicaFile], source: str) -> list[ReplicaFile]:
    """The files with their http(s) replicas, and every checksum the replica answer publishes
    (``list_files`` gives adler32 only; ``list_replicas`` adds md5)."""
    request = [{"scope": f.did.scope, "name": f.did.name} for f in files]
    answers = {
        f"{answer.get('scope')}:{answer.get('name')}": answer
        for answer in client.list_replicas(request, schemes=list(SCHEMES))
    }
    found = []
    for file in files:
        answer = answers.get(str(file.did), {})
        checksums = parse_rucio_checksums(answer, source=source) or file.checksums
        size = answer.get("bytes")
        found.append(
            replace(
                file,
                size=size if isinstance(size, int) else file.size,
                checksums=checksums,
                replicas=tuple(_http_replicas(answer.get("pfns") or {})),
            )
        )
    return found


def _http_replicas(pfns: Mapping[str, Any]) -> Iterator[Replica]:
    """http(s) replicas of the PFNs, by Rucio's priority; ``davs://`` is WebDAV over https."""
    ordered = sorted(pfns, key=lambda pfn: _priority(pfns[pfn]))
    for pfn in ordered:
        scheme, sep, rest = pfn.partition("://")
        if sep and scheme in SCHEMES:
            info = pfns[pfn]
            rse = info.get("rse") if isinstance(info, Mapping) else None
            url = f"{'https' if scheme == 'davs' else scheme}://{rest}"
            yield Replica(url, rse if isinstance(rse, str) else None)


def _priority(info: object) -> int:
    value = info.get("priority") if isinstance(info, Mapping) else None
    return value if isinstance(value, int) else 1_000_000


def connect_rucio(*, timeout: float = 30.0) -> RucioClient:
    """A client for the Rucio server of ``rucio.cfg`` (as Rucio finds it); requests give up after
    ``timeout`` seconds. A located error when Rucio is not set up or refuses the credentials."""
    try:
        from rucio.common.config import clean_cached_config
        from rucio.common.exception import RucioException
    except ImportError:
        raise InputError(
            "the cart names Rucio DIDs but rucio-clients is not installed", hint=CONFIG_HINT
        ) from None
    import requests

    errors = (RucioException, requests.RequestException)
    clean_cached_config()  # read rucio.cfg as it is now (RUCIO_CONFIG may have changed)
    try:
        from rucio.client import Client

        client = Client(timeout=timeout, logger=_QuietLogger(LOG, {}))
    except errors as exc:
        raise _mapped_error(exc, _configured_host()) from None
    return RucioAdapter(client, errors)


class _QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """rucio-clients logs failures as ERROR lines; ossrflow raises them as one error instead, so
    the client's own messages go to ossrflow's log at DEBUG (``ossrflow -vv`` shows them)."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        self.logger.log(logging.DEBUG, msg, *args, **kwargs)


def _configured_host() -> str | None:
    from rucio.common.config import config_get
    from rucio.common.exception import RucioException

    try:
        return str(config_get("client", "rucio_host"))
    except (configparser.Error, RucioException):
        return None  # no rucio.cfg, no section, no option: no host to name


class RucioAdapter:
    """``rucio.client.Client`` with its exceptions mapped onto ossrflow's."""

    def __init__(self, client: Any, errors: tuple[type[Exception], ...]) -> None:
        self.client = client
        self.errors = errors

    @property
    def host(self) -> str:
        return str(self.client.host)

    @property
    def ca_cert(self) -> Path | None:
        """The CA certificates rucio.cfg (or X509_CERT_DIR) names, also trusted for replicas."""
        value = getattr(self.client, "ca_cert", None)
        return Path(value) if isinstance(value, str) and value else None

    def get_did(self, scope: str, name: str) -> Mapping[str, Any]:
        return dict(self._call(lambda: self.client.get_did(scope, name), f"{scope}:{name}"))

    def list_files(self, scope: str, name: str) -> Iterable[Mapping[str, Any]]:
        return list(
            self._call(lambda: list(self.client.list_files(scope, name)), f"{scope}:{name}")
        )

    def list_replicas(
        self, dids: list[dict[str, str]], schemes: list[str] | None = None
    ) -> Iterable[Mapping[str, Any]]:
        return list(self._call(lambda: list(self.client.list_replicas(dids, schemes=schemes))))

    def _call(self, action: Callable[[], Any], did: str | None = None) -> Any:
        try:
            return action()
        except self.errors as exc:
            raise _mapped_error(exc, self.host, did) from None


def _mapped_error(
    exc: Exception, host: str | None, did: str | None = None
) -> InputError | ServiceError:
    """One ossrflow error for what rucio-clients (or requests, below it) raised."""
    name = type(exc).__name__
    text = " ".join(str(exc).replace("Details:", "").split()) or name
    if name in ("ConfigNotFound", "ConfigLoadingError", "MissingClientParameter"):
        return InputError(f"Rucio is not configured ({text})", hint=CONFIG_HINT)
    if name in ("DataIdentifierNotFound", "ScopeNotFound"):
        return NotFound(
            f"Rucio has no data identifier {did}" if did else f"Rucio: {text}",
            source=host,
            hint="check the scope and name with `rucio list-dids SCOPE:*`",
        )
    if name == "AccessDenied":
        return InputError(
            f"Rucio refused access{f' to {did}' if did else ''}: {text}",
            source=host,
            hint="ask the owner of the DID for access, or use an account that has it",
        )
    if name in ("CannotAuthenticate", "NoAuthInformation"):
        return InputError(
            f"Rucio refused the credentials: {text}",
            source=host,
            hint="check account, auth_type, username and password in rucio.cfg "
            "(RUCIO_CONFIG); `rucio whoami` tells whether they work",
        )
    if name == "SSLError":
        return ServiceError(
            f"the Rucio server's certificate cannot be verified ({text})",
            source=host,
            hint="point ca_cert in rucio.cfg at the CA that signed it",
        )
    if name == "ServerConnectionException" or name in _UNREACHABLE:
        return ServiceError(
            f"cannot reach the Rucio server ({name})", source=host, hint=_SERVICE_HINT
        )
    if name in ("ReadTimeout", "Timeout"):
        return ServiceError(
            "the Rucio server did not answer in time", source=host, hint=_SERVICE_HINT
        )
    return ServiceError(f"Rucio failed: {name}: {text}", source=host, hint=_SERVICE_HINT)


_UNREACHABLE = frozenset({"ConnectionError", "ConnectTimeout", "ProxyError"})
_SERVICE_HINT = (
    "check that the server rucio.cfg names (rucio_host) is up and reachable, or retry later"
)

"""Where staged bytes came from, in their source's terms, and how a CWL object carries it.

A file staged from Rucio keeps its :class:`Origin`: the DID, the storage element (RSE) its
replica was read from, the size and the checksums Rucio publishes (adler32, md5), all of them
verified against the bytes. A dataset or container keeps its DID and type. Staging writes an
Origin into the CWL ``File``/``Directory`` object under the extension field :data:`ORIGIN_KEY`
(:meth:`Origin.to_cwl`)::

    https://w3id.org/ossrflow#rucio: {did: SCOPE:NAME, rse: RSE, bytes: N, adler32: …, md5: …}
    https://w3id.org/ossrflow#rucio: {did: SCOPE:NAME, type: DATASET}       (a Directory)

:func:`find_origins` reads them back from any CWL value (a job order, with the listings of its
Directories), for the run record. A job order is untrusted: a field that does not parse (a bad
DID, a checksum that is not hex of the right length) is left out, never guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ossrflow.errors import InputError
from ossrflow.integrity import Checksum, parse_checksum
from ossrflow.staging.rucio import parse_did

__all__ = ["ORIGIN_KEY", "Origin", "find_origins", "parse_origin"]

# The CWL File/Directory field that carries an Origin: a full IRI, as CWL wants extension fields
# (a prefix such as ossrflow: would need a $namespaces section in every job file).
ORIGIN_KEY = "https://w3id.org/ossrflow#rucio"

_DID_TYPES = ("FILE", "DATASET", "CONTAINER")
_RSE = re.compile(r"[A-Za-z0-9_\-]{1,255}")  # Rucio's RSE names: letters, digits, _ and -
_CHECKSUMS = ("adler32", "md5")


@dataclass(frozen=True)
class Origin:
    """Where staged bytes came from, in their source's own terms (a Rucio DID and its replica)."""

    did: str
    did_type: str = "FILE"
    rse: str | None = None  # the replica's storage element (read from, or the preferred one)
    size: int | None = None
    checksums: tuple[Checksum, ...] = ()  # as the source publishes them

    def to_cwl(self) -> dict[str, Any]:
        """The value of a CWL File or Directory object's :data:`ORIGIN_KEY` field."""
        value: dict[str, Any] = {"did": self.did}
        if self.did_type != "FILE":
            value["type"] = self.did_type
        if self.rse:
            value["rse"] = self.rse
        if self.size is not None:
            value["bytes"] = self.size
        value.update((checksum.algorithm, checksum.digest) for checksum in self.checksums)
        return value


def parse_origin(value: object) -> Origin | None:
    """The Origin of a :data:`ORIGIN_KEY` field's value; None when it is not one."""
    if not isinstance(value, Mapping) or not isinstance(value.get("did"), str):
        return None
    try:
        did = str(parse_did(value["did"]))
        checksums = tuple(
            parse_checksum(f"{name}:{value[name]}")
            for name in _CHECKSUMS
            if isinstance(value.get(name), str)
        )
    except InputError:
        return None
    did_type = value.get("type", "FILE")
    rse, size = value.get("rse"), value.get("bytes")
    if did_type not in _DID_TYPES or (rse is not None and not _rse(rse)):
        return None
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        return None
    return Origin(did, str(did_type), rse, size, checksums)


def _rse(value: object) -> bool:
    return isinstance(value, str) and _RSE.fullmatch(value) is not None


def find_origins(value: object) -> dict[str, Origin]:
    """Every File and Directory in a CWL value that carries an Origin, by its ``location``
    (the files of a Directory's ``listing`` and secondary files too)."""
    found: dict[str, Origin] = {}
    for obj in _objects(value):
        location = obj.get("location")
        origin = parse_origin(obj.get(ORIGIN_KEY))
        if isinstance(location, str) and origin is not None:
            found.setdefault(location, origin)
    return found


def _objects(value: object, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    """The File and Directory objects of a CWL value, nested ones included (to a sane depth)."""
    if depth > 64:
        return
    if isinstance(value, Mapping):
        if value.get("class") in ("File", "Directory"):
            yield value
            for key in ("listing", "secondaryFiles"):
                yield from _objects(value.get(key), depth + 1)
        else:
            for item in value.values():
                yield from _objects(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item, depth + 1)

"""What a user may type to name a registry entry, parsed without any I/O.

Accepted forms (:data:`ACCEPTED_FORMS`)::

    4687123                                   record id (a concept id resolves to the latest version)
    10.5281/zenodo.4687123   doi:10.5281/…    DOI (a concept DOI resolves to the latest version)
    https://doi.org/10.5281/zenodo.4687123    DOI URL (also dx.doi.org)
    https://zenodo.org/records/4687123        record URL (also /record/N, /api/records/N, /doi/DOI)
    dir:PATH  dir:PATH/NAME                   a folder registry, or one entry folder in it
    ./PATH  /abs/PATH  PATH/codemeta.json     a local entry folder, or its codemeta.json

A bare name such as ``fitsinfo`` is a record id too: folder registries name their entries so.
An API registry (Zenodo, InvenioRDM) has no such names: :func:`check_api_record_id` refuses one
at once, saying that the folder registry is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from ossrflow.errors import InputError

__all__ = [
    "ACCEPTED_FORMS",
    "Ref",
    "check_api_record_id",
    "check_origin",
    "parse_ref",
    "zenodo_doi_record_id",
]

ACCEPTED_FORMS = (
    "a record id (4687123), a DOI (10.5281/zenodo.4687123), a DOI URL "
    "(https://doi.org/10.5281/zenodo.4687123), a record URL (https://zenodo.org/records/4687123), "
    "dir:PATH[/NAME], a folder (./PATH) or a path to a codemeta.json"
)

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_ZENODO_DOI = re.compile(r"^10\.\d{4,9}/zenodo\.(\d+)$", re.IGNORECASE)
_RECORD_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_RECORD_PATH = re.compile(r"^(?:/api)?/records?/([A-Za-z0-9][A-Za-z0-9._-]{0,99})/?$")
_DOI_PATH = re.compile(r"^/doi/(10\..+)$")
_DOI_HOSTS = {"doi.org", "dx.doi.org", "www.doi.org"}
_API_RECORD_ID = re.compile(r"^(?:[0-9]+|[a-z0-9]{5}-[a-z0-9]{5})$")  # Zenodo; InvenioRDM
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

RefKind = Literal["id", "doi", "path"]


@dataclass(frozen=True)
class Ref:
    """A parsed reference: a record id, a DOI, or a local path (``dir:`` prefix removed)."""

    kind: RefKind
    value: str
    text: str  # as the user wrote it
    origin: str | None = None  # scheme://host of a record URL: the registry it names

    @property
    def is_local(self) -> bool:
        return self.kind == "path"


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def check_origin(ref: Ref, base_url: str) -> None:
    """Refuse a record URL of another server than the registry ``base_url``: same id, other record."""
    if ref.origin is not None and _origin(ref.origin) != _origin(base_url):
        raise InputError(
            f"{ref.text} is on {urlsplit(ref.origin).netloc}, but the registry is {base_url}",
            source="REF",
            hint=f"pass --registry {ref.origin}/api, or give the record id alone",
        )


def check_api_record_id(ref: Ref, registry: str) -> None:
    """Refuse a record id that no API registry can have (``gzip-compress``), before any request.

    Zenodo's record ids are numbers (InvenioRDM's are ``abcde-12345``); a name like that is an
    entry of a folder registry, so the fix names ``--registry dir:PATH``.
    """
    if ref.kind != "id" or _API_RECORD_ID.match(ref.value):
        return
    raise InputError(
        f"{ref.value!r} is neither a record id of {registry} (a number) nor a DOI; "
        "a name like this is an entry of a folder registry, and none is given",
        source="REF",
        hint="name the folder registry that holds it: --registry dir:PATH, "
        "or set OSSRFLOW_REGISTRY=dir:PATH",
    )


def zenodo_doi_record_id(doi: str) -> str | None:
    """The record id inside a Zenodo DOI (``10.5281/zenodo.N`` -> ``N``), else None."""
    match = _ZENODO_DOI.match(doi.strip())
    return match.group(1) if match else None


def _unknown(text: str, problem: str | None = None) -> InputError:
    return InputError(
        problem or f"cannot read {text!r} as a reference",
        source="REF",
        hint=f"give {ACCEPTED_FORMS}",
    )


def _from_url(text: str) -> Ref:
    parts = urlsplit(text)
    host = (parts.hostname or "").lower()
    path = unquote(parts.path)
    if host in _DOI_HOSTS:
        doi = path.lstrip("/")
        if _DOI.match(doi):
            return Ref("doi", doi, text)
        raise _unknown(text, f"{text!r} is a DOI URL without a valid DOI")
    origin = f"{parts.scheme}://{parts.netloc}"
    if match := _RECORD_PATH.match(path):
        return Ref("id", match.group(1), text, origin)
    if (match := _DOI_PATH.match(path)) and _DOI.match(match.group(1)):
        return Ref("doi", match.group(1), text, origin)
    raise _unknown(text, f"{text!r} is not a record URL")


def _looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or "/" in text or text in {".", ".."}


def parse_ref(text: str) -> Ref:
    """Parse what the user typed into a :class:`Ref`; :class:`InputError` lists the accepted forms."""
    given = text
    text = text.strip()
    if not text or _CONTROL.search(text):
        raise _unknown(given, f"reference {given!r} is empty or contains a control character")
    if text.startswith("dir:"):
        if not text[4:]:
            raise _unknown(given, "dir: needs a folder, as in dir:workflows/registry/NAME")
        return Ref("path", text[4:], given)
    if re.match(r"^https?://", text, re.IGNORECASE):
        return _from_url(text)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        raise _unknown(given)
    bare = text[4:] if text.lower().startswith("doi:") else text
    if _DOI.match(bare):
        return Ref("doi", bare, given)
    if text.rsplit("/", 1)[-1] == "codemeta.json" or _looks_like_path(text):
        return Ref("path", text, given)
    if _RECORD_ID.match(text):
        return Ref("id", text, given)
    raise _unknown(given)

"""Zenodo record JSON as typed, frozen values: pure parsers, no I/O.

Two record shapes are accepted, as Zenodo has served both:

- current (InvenioRDM, 2023-): ``files`` is a list of ``{key, size, checksum "md5:…", links.self
  …/records/<id>/files/<key>/content}`` (Zenodo's own serializer), or ``files.entries`` as a
  mapping or list (InvenioRDM's native one, with ``links.content``); ids may also come from
  ``pids.doi`` and ``parent``;
- legacy (2021): ``files`` is a list of ``{key, size, checksum, links.self /api/files/<bucket>/<key>}``.

A search answer is ``{"hits": {"hits": [record, …], "total": N}, "links": {"next": URL}}``.

Every file key is untrusted: it is refused at parse time when it is absolute or one of its
``/``-separated parts fails :func:`ossrflow.integrity.check_name` (``..``, ``.``, empty, a
backslash or a control character). A ``/`` *between* safe parts is kept, because Zenodo's
GitHub integration publishes keys such as ``cosimoNigro/agnpy-v0.0.10.zip``; a key therefore
never becomes a path by itself (files are stored by checksum), and whoever names a file after
its key must use :func:`ossrflow.integrity.safe_join`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from ossrflow.errors import InputError, NotFound, UnsafeValue
from ossrflow.integrity import check_name, parse_checksum

__all__ = [
    "RecordFile",
    "SearchPage",
    "SearchResults",
    "SoftwareRecord",
    "check_key",
    "find_codemeta_key",
    "parse_record",
    "parse_search_page",
]

_MALFORMED = "the registry published a malformed record; report it to the registry's operators"
_CODEMETA_LIKE = re.compile(r"codemeta.*\.json$", re.IGNORECASE)


@dataclass(frozen=True)
class RecordFile:
    """One file of a record: its key (a name, maybe ``owner/name``), size, checksum and URL."""

    key: str
    size: int
    checksum: str | None  # "md5:…" as the registry publishes it
    url: str

    def to_json(self) -> dict[str, object]:
        return {"key": self.key, "size": self.size, "checksum": self.checksum, "url": self.url}


@dataclass(frozen=True)
class SoftwareRecord:
    """One published version of a registry entry."""

    id: str
    doi: str | None
    concept_id: str | None
    concept_doi: str | None
    title: str
    version: str | None
    publication_date: str | None
    files: tuple[RecordFile, ...]
    url: str | None  # landing page
    registry: str  # where it came from: an API base URL or dir:PATH
    description: str | None = None  # plain text (HTML tags removed)
    creators: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def file(self, key: str) -> RecordFile:
        """The file called ``key``; :class:`NotFound` names the keys there are."""
        for item in self.files:
            if item.key == key:
                return item
        keys = ", ".join(f.key for f in self.files) or "none"
        raise NotFound(
            f"record {self.id} has no file {key!r}",
            source=self.url or self.registry,
            hint=f"files of this record: {keys}",
        )

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "doi": self.doi,
            "concept_id": self.concept_id,
            "concept_doi": self.concept_doi,
            "title": self.title,
            "version": self.version,
            "publication_date": self.publication_date,
            "files": [f.to_json() for f in self.files],
            "url": self.url,
            "registry": self.registry,
        }


@dataclass(frozen=True)
class SearchPage:
    """One page of search hits; hits that could not be used are in ``refused`` with the reason."""

    records: tuple[SoftwareRecord, ...]
    refused: tuple[InputError, ...]
    total: int | None
    next_url: str | None


@dataclass(frozen=True)
class SearchResults:
    """Every hit of a search, in the registry's order, and the hits refused on the way."""

    records: tuple[SoftwareRecord, ...]
    refused: tuple[InputError, ...] = ()
    total: int | None = None


def find_codemeta_key(record: SoftwareRecord) -> str | None:
    """The key of the record's codemeta file, following eossr's convention, or None.

    A key whose last part is ``codemeta.json`` wins (the shortest one when several do, as in
    eossr's ``Record.get_codemeta``); otherwise a single ``*codemeta*.json`` file is taken.
    """
    exact = [f.key for f in record.files if PurePosixPath(f.key).name == "codemeta.json"]
    if exact:
        return min(exact, key=len)
    similar = [f.key for f in record.files if _CODEMETA_LIKE.search(PurePosixPath(f.key).name)]
    return similar[0] if len(similar) == 1 else None


# --- field readers ---------------------------------------------------------------------------


def _get(data: object, *path: str) -> object:
    """``data[path[0]][path[1]]…`` or None when any step is missing or not a mapping."""
    for name in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(name)
    return data


def _text(value: object) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str | int | float):
        text = str(value).strip()
        return text or None
    return None


def _first_text(data: object, *paths: tuple[str, ...]) -> str | None:
    for path in paths:
        if (text := _text(_get(data, *path))) is not None:
            return text
    return None


def _plain_text(value: object) -> str | None:
    """Description HTML as one line of text (tags dropped, entities decoded)."""
    text = _text(value)
    if text is None:
        return None
    return " ".join(html.unescape(re.sub(r"<[^>]*>", " ", text)).split()) or None


def _names(value: object) -> tuple[str, ...]:
    """Creator names: ``[{name}]`` (Zenodo) or ``[{person_or_org: {name}}]`` (InvenioRDM)."""
    if not isinstance(value, list):
        return ()
    names = (_text(_get(c, "name")) or _text(_get(c, "person_or_org", "name")) for c in value)
    return tuple(n for n in names if n)


def _keywords(metadata: object) -> tuple[str, ...]:
    """``metadata.keywords`` (Zenodo), else the subjects (InvenioRDM)."""
    values = _get(metadata, "keywords")
    if not isinstance(values, list):
        subjects = _get(metadata, "subjects")
        values = [_get(s, "subject") for s in subjects] if isinstance(subjects, list) else []
    return tuple(k for k in (_text(v) for v in values) if k)


def check_key(key: str, *, source: str, location: str) -> str:
    """Refuse a file key that is absolute or has an unsafe part; return it unchanged."""
    if key.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", key):
        raise UnsafeValue(
            f"file key {key!r} is an absolute path",
            source=source,
            location=location,
            hint="the registry must publish plain file names; this record is refused",
        )
    for part in key.split("/"):
        try:
            check_name(part)
        except UnsafeValue as exc:
            problem = "climbs out of its folder with '..'" if part == ".." else exc.problem
            raise UnsafeValue(
                f"file key {key!r} is unsafe: {problem}",
                source=source,
                location=location,
                hint="the registry must publish plain file names; this record is refused",
            ) from None
    return key


def _file_entries(data: Mapping[str, Any]) -> list[tuple[str, object]]:
    """(location, entry) pairs from ``files`` as a list, or ``files.entries`` (list or mapping)."""
    files = data.get("files")
    if isinstance(files, list):
        return [(f"files[{i}]", entry) for i, entry in enumerate(files)]
    entries = _get(files, "entries")
    if isinstance(entries, list):
        return [(f"files.entries[{i}]", entry) for i, entry in enumerate(entries)]
    if isinstance(entries, Mapping):
        return [(f"files.entries.{name}", entry) for name, entry in entries.items()]
    return []


def _file_url(entry: Mapping[str, Any], key: str, files_link: str | None) -> str | None:
    content = _text(_get(entry, "links", "content"))
    if content:
        return content
    own = _text(_get(entry, "links", "self"))
    if own and not own.endswith(f"/files/{quote(key)}") and not own.endswith(f"/files/{key}"):
        return own  # Zenodo's …/content link, or a legacy /api/files/<bucket>/<key> link
    if files_link:
        return f"{files_link.rstrip('/')}/{quote(key)}/content"
    return f"{own}/content" if own else None


def _parse_file(entry: object, location: str, source: str, files_link: str | None) -> RecordFile:
    if not isinstance(entry, Mapping):
        raise InputError(
            f"a file entry must be an object, got {type(entry).__name__}",
            source=source,
            location=location,
            hint=_MALFORMED,
        )
    key = entry.get("key")
    if not isinstance(key, str):
        raise InputError(
            "file key is missing", source=source, location=f"{location}.key", hint=_MALFORMED
        )
    check_key(key, source=source, location=f"{location}.key")
    size = entry.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int | float) or size < 0:
        raise InputError(
            f"file size {size!r} is not a byte count",
            source=source,
            location=f"{location}.size",
            hint=_MALFORMED,
        )
    checksum = _text(entry.get("checksum"))
    if checksum is not None:
        checksum = str(parse_checksum(checksum, source=source, location=f"{location}.checksum"))
    url = _file_url(entry, key, files_link)
    if url is None:
        raise InputError(
            "file has no download link",
            source=source,
            location=f"{location}.links",
            hint=_MALFORMED,
        )
    return RecordFile(key=key, size=int(size), checksum=checksum, url=url)


# --- records and search pages ----------------------------------------------------------------


def parse_record(data: object, source: str, *, registry: str | None = None) -> SoftwareRecord:
    """Turn one record's JSON (either shape) into a :class:`SoftwareRecord`; pure.

    ``source`` names where the JSON came from (used in errors when the record has no
    ``links.self``); ``registry`` is recorded in the result (default: ``source``).
    """
    if not isinstance(data, Mapping):
        raise InputError(
            f"a record must be a JSON object, got {type(data).__name__}",
            source=source,
            hint=_MALFORMED,
        )
    where = _text(_get(data, "links", "self")) or source
    record_id = _text(data.get("id")) or _text(data.get("recid"))
    if record_id is None:
        raise InputError("record has no id", source=where, location="id", hint=_MALFORMED)
    files_link = _text(_get(data, "links", "files"))
    files = tuple(
        _parse_file(entry, location, where, files_link) for location, entry in _file_entries(data)
    )
    return SoftwareRecord(
        id=record_id,
        doi=_first_text(data, ("doi",), ("pids", "doi", "identifier"), ("metadata", "doi")),
        concept_id=_first_text(data, ("conceptrecid",), ("parent", "id")),
        concept_doi=_first_text(data, ("conceptdoi",), ("parent", "pids", "doi", "identifier")),
        title=_first_text(data, ("metadata", "title"), ("title",)) or "",
        version=_first_text(data, ("metadata", "version")),
        publication_date=_first_text(data, ("metadata", "publication_date")),
        files=files,
        url=_first_text(data, ("links", "self_html"), ("links", "html")),
        registry=registry or source,
        description=_plain_text(_get(data, "metadata", "description")),
        creators=_names(_get(data, "metadata", "creators")),
        keywords=_keywords(data.get("metadata")),
    )


def _total(value: object) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_search_page(data: object, source: str, *, registry: str | None = None) -> SearchPage:
    """Turn one search answer into a :class:`SearchPage`; a hit that fails to parse is refused."""
    hits = _get(data, "hits", "hits")
    if not isinstance(hits, list):
        raise InputError(
            "search answer has no hits.hits list",
            source=source,
            location="hits.hits",
            hint="check that --registry names a Zenodo API (e.g. https://zenodo.org/api)",
        )
    records: list[SoftwareRecord] = []
    refused: list[InputError] = []
    for index, hit in enumerate(hits):
        try:
            records.append(parse_record(hit, f"{source}#hits[{index}]", registry=registry))
        except InputError as exc:
            refused.append(exc)
    return SearchPage(
        records=tuple(records),
        refused=tuple(refused),
        total=_total(_get(data, "hits", "total")),
        next_url=_text(_get(data, "links", "next")),
    )

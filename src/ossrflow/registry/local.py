"""A folder registry (``dir:PATH``): one sub-folder per entry, with the Zenodo registry's interface.

::

    PATH/
      fitsinfo/                 record id = folder name
        codemeta.json           title, version, DOI and date come from here
        fitsinfo.cwl            optional: CWL shipped with the entry
        ossrflow-interface.yml  optional: the command-line interface
      other-tool/ …

The files of an entry are the regular files directly in its folder (sub-folders and hidden files
are not part of it), with md5 computed when the entry is read and checked again when a file is
used. Names pass :func:`ossrflow.integrity.check_name`, and a symbolic link that leads outside
the folder is refused. Only the few codemeta keys a record needs are read here (this layer does
not import :mod:`ossrflow.registry.codemeta`); the full model is built by :mod:`ossrflow.registry.entry`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ossrflow.documents import load_json_document
from ossrflow.errors import InputError, NotFound
from ossrflow.integrity import check_name, hash_file, parse_checksum, safe_join, verify_checksum
from ossrflow.registry.model import RecordFile, SearchResults, SoftwareRecord
from ossrflow.registry.refs import Ref
from ossrflow.transfer import ProgressCallback

__all__ = ["LocalRegistry", "open_local"]

_DOI = re.compile(r"(10\.\d{4,9}/\S+)$")


@dataclass(frozen=True)
class _Summary:
    """The codemeta keys a folder entry's record and search need."""

    name: str | None = None
    version: str | None = None
    doi: str | None = None
    date_published: str | None = None
    text: str = ""  # description and keywords, lower-cased, for search
    keywords: tuple[str, ...] = ()
    description: str | None = None
    authors: tuple[str, ...] = ()


def _string(value: object) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip() or None
    return None


def _doi_in(value: object) -> str | None:
    candidates = value if isinstance(value, list) else [value]
    for item in candidates:
        if isinstance(item, Mapping):
            item = item.get("value") or item.get("@id") or item.get("url")
        text = _string(item)
        if text and (match := _DOI.search(text)):
            return match.group(1)
    return None


def _author_names(value: object) -> tuple[str, ...]:
    """codemeta ``author``: Person/Organization objects (name, or givenName familyName) or text."""
    names = []
    for item in value if isinstance(value, list) else [value]:
        if isinstance(item, Mapping):
            given = " ".join(
                filter(None, (_string(item.get(k)) for k in ("givenName", "familyName")))
            )
            text = _string(item.get("name")) or given or None
        else:
            text = _string(item)
        if text:
            names.append(text)
    return tuple(names)


def _summarise(data: object, source: str) -> _Summary:
    if not isinstance(data, Mapping):
        raise InputError(
            "codemeta must be a JSON object", source=source, hint="write one {...} object"
        )
    raw_keywords = data.get("keywords")
    if isinstance(raw_keywords, str):
        raw_keywords = [k.strip() for k in raw_keywords.split(",")]
    keywords = (
        tuple(k for k in (_string(v) for v in raw_keywords or []) if k)
        if isinstance(raw_keywords, list)
        else ()
    )
    description = _string(data.get("description")) or ""
    return _Summary(
        name=_string(data.get("name")),
        version=_string(data.get("softwareVersion")) or _string(data.get("version")),
        doi=_doi_in(data.get("identifier")) or _doi_in(data.get("@id")),
        date_published=_string(data.get("datePublished")),
        text=" ".join([description, *keywords]).lower(),
        keywords=keywords,
        description=description or None,
        authors=_author_names(data.get("author")),
    )


class LocalRegistry:
    """Entries in the sub-folders of ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def name(self) -> str:
        return f"dir:{self.folder}"

    def __enter__(self) -> LocalRegistry:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        return None

    def entry_names(self) -> list[str]:
        """The entry folders, sorted; NotFound when the registry folder does not exist."""
        if not self.folder.is_dir():
            raise NotFound(
                "registry folder does not exist", source=self.name, hint="check the dir:PATH given"
            )
        return sorted(
            p.name for p in self.folder.iterdir() if p.is_dir() and not p.name.startswith(".")
        )

    def _entry_dir(self, name: str) -> Path:
        check_name(name, source=self.name, location="REF")
        folder = safe_join(self.folder, name, source=self.name, location=name)
        if not folder.is_dir():
            listed = ", ".join(self.entry_names()) or "none"
            raise NotFound(f"no entry {name!r}", source=self.name, hint=f"entries here: {listed}")
        return folder

    def _files(self, folder: Path) -> tuple[RecordFile, ...]:
        files = []
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or not path.is_file():
                continue
            check_name(path.name, source=str(folder), location=path.name)
            safe_join(folder, path.name, source=str(folder), location=path.name)
            digest = hash_file(path, ["md5"])["md5"]
            url = path.absolute().as_uri()
            files.append(RecordFile(path.name, path.stat().st_size, f"md5:{digest}", url))
        return tuple(files)

    def _read(self, name: str) -> tuple[SoftwareRecord, _Summary]:
        folder = self._entry_dir(name)
        codemeta = folder / "codemeta.json"
        summary = _Summary()
        if codemeta.is_file():
            summary = _summarise(load_json_document(codemeta), str(codemeta))
        record = SoftwareRecord(
            id=name,
            doi=summary.doi,
            concept_id=None,
            concept_doi=None,
            title=summary.name or name,
            version=summary.version,
            publication_date=summary.date_published,
            files=self._files(folder),
            url=folder.absolute().as_uri(),
            registry=self.name,
            description=summary.description,
            creators=summary.authors,
            keywords=summary.keywords,
        )
        return record, summary

    def get_record(self, record_id: str) -> SoftwareRecord:
        """The entry in the sub-folder ``record_id``."""
        return self._read(record_id)[0]

    def search_records(
        self, query: str = "", *, keywords: Sequence[str] = (), all_versions: bool = False
    ) -> SearchResults:
        """Entries whose name, title, description or keywords hold every word of ``query`` and
        whose keywords include every keyword given (case-insensitive)."""
        words = query.lower().split()
        wanted = {k.lower() for k in keywords}
        records, refused = [], []
        for name in self.entry_names():
            try:
                record, summary = self._read(name)
            except InputError as exc:
                refused.append(exc)
                continue
            text = " ".join([name.lower(), record.title.lower(), summary.text])
            has_keywords = wanted <= {k.lower() for k in summary.keywords}
            if has_keywords and all(word in text for word in words):
                records.append(record)
        return SearchResults(records=tuple(records), refused=tuple(refused), total=len(records))

    def search_versions(self, record: SoftwareRecord) -> SearchResults:
        """A folder entry has one version: itself, read afresh."""
        current = self.get_record(record.id)
        return SearchResults(records=(current,), total=1)

    def resolve_ref(self, ref: Ref) -> SoftwareRecord:
        """An entry by folder name, or by the DOI its codemeta.json gives."""
        if ref.kind == "id":
            return self.get_record(ref.value)
        if ref.kind == "doi":
            for name in self.entry_names():
                record = self.get_record(name)
                if (record.doi or "").lower() == ref.value.lower():
                    return record
            raise NotFound(f"no entry has DOI {ref.value}", source=self.name, hint="check the DOI")
        raise InputError(f"{ref.text!r} is a path; give it as REF on its own", source="REF")

    def get_file(
        self, record: SoftwareRecord, key: str, *, progress: ProgressCallback | None = None
    ) -> Path:
        """The file itself, after checking it still has the checksum it had when listed."""
        item = record.file(key)
        folder = self._entry_dir(record.id)
        path = safe_join(folder, key, source=str(folder), location=key)
        if item.checksum:
            verify_checksum(path, parse_checksum(item.checksum), source=str(path))
        return path


def open_local(text: str) -> tuple[LocalRegistry, str | None]:
    """A folder registry and the entry named by a local path (None when it names a registry)."""
    path = Path(text).expanduser()
    if path.name == "codemeta.json" and path.is_file():
        entry = path.parent.resolve()
    elif (path / "codemeta.json").is_file():
        entry = path.resolve()
    elif path.is_dir():
        return LocalRegistry(path), None
    else:
        raise NotFound(
            "no such folder or codemeta.json",
            source=text,
            hint="check the path; see `ossrflow show -h`",
        )
    return LocalRegistry(entry.parent), entry.name

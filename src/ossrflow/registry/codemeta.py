"""codemeta.json as a typed, frozen :class:`Codemeta`, tolerant of what published files contain.

Real files mix codemeta 2.0 and 3.0, write ``author`` as a list or one object, ORCIDs as ``@id``
or ``identifier``, licenses as SPDX URLs, ids, objects or lists, ``softwareRequirements`` as
pip-style strings, prose, URLs or objects. :func:`parse_codemeta` accepts all of these, keeps the
parsed JSON object in ``Codemeta.raw`` (unknown keys are never an error) and refuses a value of the
wrong type with its location (``author[2].givenName``). Values are kept as data: a name with shell
metacharacters or newlines is returned as written; quoting is the job of whoever uses it.

Rules worth knowing (also in docs/cwlgen.md):

- ``version`` is ``softwareVersion``, else ``version`` (OSSR requires ``softwareVersion``).
- ``license``: the first license when several are given; an SPDX id when recognisable.
- ``doi``: from ``identifier`` (bare ``10.x/...``, a doi.org URL or a DOI ``PropertyValue``), else
  from the top-level ``@id``; never from ``referencePublication`` (a paper, not the software).
- ``executable_names``: ``executableName`` of ``targetProduct`` objects (software-types
  ``CommandLineApplication``).
- ``container_images``: only a ``targetProduct`` or ``hasPart`` object typed software-types
  ``SoftwareImage`` names an image (its ``identifier``, else ``name``). A ``docker://`` or
  registry URL in ``softwareRequirements`` or ``buildInstructions`` is not taken as an image.
- codemeta 3.0 ``Role`` objects in person lists are skipped: they qualify a person listed elsewhere.

Size: over 450 lines because every field's tolerated variants are one table read top to bottom;
splitting the field parsers from the model would send a reader between two files per field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from ossrflow.documents import load_json_document
from ossrflow.errors import InputError

__all__ = [
    "OSSR_REQUIRED_KEYS",
    "Codemeta",
    "Person",
    "Requirement",
    "load_codemeta",
    "parse_codemeta",
]

OSSR_REQUIRED_KEYS = (
    "name",
    "description",
    "softwareVersion",
    "datePublished",
    "license",
    "author",
    "maintainer",
    "readme",
)

_ORCID = re.compile(r"(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$")
_DOI = re.compile(r"(10\.\d{4,9}/\S+)$")
_SPDX_URL = re.compile(r"^https?://spdx\.org/licenses/([A-Za-z0-9.+-]+?)(?:\.html|\.json)?/?$")
_NAME_EMAIL = re.compile(r"^\s*(?P<name>[^<>]*?)\s*<(?P<email>[^<>@\s]+@[^<>\s]+)>\s*$")
_PACKAGE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
_PLAIN_VERSION = re.compile(r"^v?\d+(?:\.\d+)*[A-Za-z0-9.+-]*$")
_ORG_TYPES = {"Organization", "ResearchOrganization", "Consortium", "GovernmentOrganization"}
_IMAGE_TYPES = {
    "SoftwareImage",
    "stype:SoftwareImage",
    "https://w3id.org/software-types#SoftwareImage",
}
_CLI_TYPES = {
    "CommandLineApplication",
    "stype:CommandLineApplication",
    "https://w3id.org/software-types#CommandLineApplication",
}

T = TypeVar("T")


@dataclass(frozen=True)
class Person:
    """An author, maintainer or contributor (a schema.org Person or Organization)."""

    name: str
    given_name: str | None = None
    family_name: str | None = None
    orcid: str | None = None  # full https://orcid.org/XXXX-XXXX-XXXX-XXXX URL
    email: str | None = None
    affiliation: str | None = None
    kind: str = "Person"  # "Person" | "Organization"


@dataclass(frozen=True)
class Requirement:
    """One ``softwareRequirements`` item: ``name`` plus an optional version specifier and URL."""

    name: str
    version: str | None = None  # specifier text as written, e.g. ">=1.0", or a plain "2.3.0"
    url: str | None = None
    text: str = ""  # the item as written (JSON for objects)

    @property
    def is_package(self) -> bool:
        """True when ``name`` looks like a package name (not prose, not a URL)."""
        return bool(_PACKAGE.match(self.name))


@dataclass(frozen=True)
class Codemeta:
    """The fields of a codemeta.json that ossrflow uses; everything else stays in ``raw``."""

    name: str
    description: str | None
    version: str | None
    authors: tuple[Person, ...]
    maintainers: tuple[Person, ...]
    contributors: tuple[Person, ...]
    license: str | None
    license_url: str | None
    code_repository: str | None
    keywords: tuple[str, ...]
    identifier: str | None
    doi: str | None
    date_created: str | None
    date_modified: str | None
    date_published: str | None
    software_requirements: tuple[Requirement, ...]
    runtime_platform: tuple[str, ...]
    programming_languages: tuple[str, ...]
    operating_systems: tuple[str, ...]
    readme: str | None
    executable_names: tuple[str, ...]
    container_images: tuple[str, ...]
    context_version: str
    raw: Mapping[str, object] = field(compare=False, repr=False)
    source: str | None = field(default=None, compare=False)  # where it was read from

    def missing_ossr_keys(self) -> tuple[str, ...]:
        """OSSR-required keys that are absent or empty (``creator`` counts for ``author``)."""
        missing = []
        for key in OSSR_REQUIRED_KEYS:
            present = _filled(self.raw.get(key))
            if key == "author":
                present = present or _filled(self.raw.get("creator"))
            if not present:
                missing.append(key)
        return tuple(missing)


def _filled(value: object) -> bool:
    return value not in (None, "", [], {})


def _wrong_type(location: str, expected: str, value: object, source: str) -> InputError:
    return InputError(
        f"expected {expected}, got {type(value).__name__}",
        source=source,
        location=location,
        hint=f"write {location} as {expected}",
    )


def _text(value: object, location: str, source: str, *, numbers: bool = False) -> str | None:
    """A string field; ``None`` when absent or blank. Numbers are accepted only where asked."""
    if value is None:
        return None
    if numbers and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise _wrong_type(location, "a string", value, source)
    return value.strip() or None


def _items(value: object) -> list[object]:
    """A value that may be one item or a list of items, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _each(
    value: object, location: str, convert: Callable[[object, str], T | None]
) -> tuple[T, ...]:
    """Apply ``convert(item, location)`` to one item or each list item; drop ``None`` results."""
    if isinstance(value, list):
        results = (convert(item, f"{location}[{i}]") for i, item in enumerate(value))
    else:
        results = (convert(value, location) for _ in range(1 if value is not None else 0))
    return tuple(r for r in results if r is not None)


def _string_list(value: object, location: str, source: str) -> tuple[str, ...]:
    """A string or list of strings (objects with a ``name`` count too)."""

    def one(item: object, where: str) -> str | None:
        if isinstance(item, dict):
            return _text(item.get("name"), f"{where}.name", source)
        return _text(item, where, source, numbers=True)

    return _each(value, location, one)


def _keywords(value: object, source: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(word.strip() for word in value.split(",") if word.strip())
    return _string_list(value, "keywords", source)


# --- persons -------------------------------------------------------------------------------


def _orcid_of(value: object) -> str | None:
    """The ORCID in an ``@id``/``identifier`` value, as ``https://orcid.org/...``."""
    for item in _items(value):
        text = item.get("value", item.get("@id")) if isinstance(item, dict) else item
        if not isinstance(text, str):
            continue
        compact = "".join(text.split())
        if "orcid.org/" in compact.lower() or _ORCID.fullmatch(compact):
            match = _ORCID.search(compact)
            if match:
                return f"https://orcid.org/{match.group(1)}"
    return None


def _affiliation(value: object, location: str, source: str) -> str | None:
    for i, item in enumerate(_items(value)):
        where = f"{location}[{i}]" if isinstance(value, list) else location
        if isinstance(item, dict):
            name = _text(item.get("name"), f"{where}.name", source)
        else:
            name = _text(item, where, source)
        if name:
            return name
    return None


def _kind(data: Mapping[str, object], location: str, source: str) -> str | None:
    """ "Person", "Organization", or ``None`` for a codemeta 3.0 Role (skipped)."""
    declared = data.get("@type", data.get("type"))
    types = [t for t in _items(declared) if isinstance(t, str)]
    if declared is not None and not types:
        raise _wrong_type(f"{location}.@type", "a string", declared, source)
    if "Role" in types or "schema:Role" in types:
        return None
    if any(t.removeprefix("schema:") in _ORG_TYPES for t in types):
        return "Organization"
    return "Person"


def _person_from_text(text: str) -> Person:
    match = _NAME_EMAIL.match(text)
    if match and match.group("name"):
        return Person(name=match.group("name"), email=match.group("email"))
    return Person(name=text.strip())


def _person_from_object(data: Mapping[str, object], location: str, source: str) -> Person | None:
    kind = _kind(data, location, source)
    if kind is None:
        return None
    given = _joined(data.get("givenName"), f"{location}.givenName", source)
    family = _joined(data.get("familyName"), f"{location}.familyName", source)
    email = _text(data.get("email"), f"{location}.email", source)
    ident = data.get("@id", data.get("id"))
    name = _text(data.get("name"), f"{location}.name", source)
    name = name or " ".join(p for p in (given, family) if p) or email
    name = name or (ident.strip() if isinstance(ident, str) and ident.strip() else None)
    if not name:
        raise InputError(
            "a person or organization without a name",
            source=source,
            location=location,
            hint="give name, or givenName and familyName",
        )
    return Person(
        name=name,
        given_name=given,
        family_name=family,
        orcid=_orcid_of(ident) or _orcid_of(data.get("identifier")),
        email=email,
        affiliation=_affiliation(data.get("affiliation"), f"{location}.affiliation", source),
        kind=kind,
    )


def _joined(value: object, location: str, source: str) -> str | None:
    """givenName/familyName: a string, or a list of strings joined by spaces."""
    if isinstance(value, list):
        parts = [_text(item, f"{location}[{i}]", source) for i, item in enumerate(value)]
        return " ".join(p for p in parts if p) or None
    return _text(value, location, source)


def _persons(value: object, location: str, source: str) -> tuple[Person, ...]:
    def one(item: object, where: str) -> Person | None:
        if isinstance(item, str):
            return _person_from_text(item) if item.strip() else None
        if isinstance(item, dict):
            return _person_from_object(item, where, source)
        raise _wrong_type(where, "a Person or Organization object", item, source)

    return _each(value, location, one)


# --- license, identifiers, requirements ----------------------------------------------------


def _spdx_id(text: str) -> str | None:
    """The canonical SPDX id/expression of ``text`` (an id or spdx.org URL), else ``None``."""
    from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression

    match = _SPDX_URL.match(text)
    candidate = match.group(1) if match else text
    if "://" in candidate:
        return None
    try:
        return str(canonicalize_license_expression(candidate))
    except InvalidLicenseExpression:
        return None


def _license(value: object, source: str) -> tuple[str | None, str | None]:
    """(SPDX id or text, SPDX URL) of the first license given."""
    items = _items(value)
    if not items:
        return None, None
    first, where = items[0], "license[0]" if isinstance(value, list) else "license"
    if isinstance(first, dict):
        text = next(
            (
                _text(first.get(k), f"{where}.{k}", source)
                for k in ("identifier", "url", "@id", "name")
                if isinstance(first.get(k), str) and str(first.get(k)).strip()
            ),
            None,
        )
    else:
        text = _text(first, where, source)
    if text is None:
        return None, None
    spdx = _spdx_id(text)
    if spdx and re.fullmatch(r"[A-Za-z0-9.+-]+", spdx):
        return spdx, f"https://spdx.org/licenses/{spdx}"
    return spdx or text, None


def _doi_of(value: object) -> str | None:
    for item in _items(value):
        text = item.get("value", item.get("@id")) if isinstance(item, dict) else item
        if isinstance(text, str):
            match = _DOI.search(text.strip())
            if match and ("doi" in text.lower() or text.strip().startswith("10.")):
                return match.group(1)
    return None


def _identifier(value: object, source: str) -> str | None:
    for i, item in enumerate(_items(value)):
        where = f"identifier[{i}]" if isinstance(value, list) else "identifier"
        if isinstance(item, dict):
            text = _text(item.get("value", item.get("@id")), f"{where}.value", source, numbers=True)
        else:
            text = _text(item, where, source, numbers=True)
        if text:
            return text
    return None


def _requirement(item: object, location: str, source: str) -> Requirement | None:
    if isinstance(item, dict):
        name = _text(item.get("name", item.get("identifier")), f"{location}.name", source)
        if not name:
            raise InputError(
                "software requirement without a name",
                source=source,
                location=location,
                hint="give the requirement a name",
            )
        return Requirement(
            name=name,
            version=_text(item.get("version"), f"{location}.version", source, numbers=True),
            url=_text(item.get("url"), f"{location}.url", source),
            text=json.dumps(item, sort_keys=True, ensure_ascii=False),
        )
    text = _text(item, location, source)
    return _requirement_from_text(text) if text else None


def _requirement_from_text(text: str) -> Requirement:
    """pip-style ``name >= 1.0`` / ``name 3.11``, a URL, or prose kept as its own name."""
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement as PipRequirement

    if re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        return Requirement(name=text, url=text, text=text)
    try:
        parsed = PipRequirement(text)
    except InvalidRequirement:
        parts = text.split()
        if len(parts) == 2 and _PACKAGE.match(parts[0]) and _PLAIN_VERSION.match(parts[1]):
            return Requirement(name=parts[0], version=parts[1], text=text)
        return Requirement(name=text, text=text)
    return Requirement(
        name=parsed.name, version=str(parsed.specifier) or None, url=parsed.url, text=text
    )


# --- software-types targetProduct ----------------------------------------------------------


def _typed_objects(data: Mapping[str, object], types: set[str]) -> list[Mapping[str, object]]:
    found: list[Mapping[str, object]] = []
    for key in ("targetProduct", "hasPart"):
        for item in _items(data.get(key)):
            if isinstance(item, dict) and set(_items(item.get("@type"))) & types:
                found.append(item)
    return found


def _executables(data: Mapping[str, object], source: str) -> tuple[str, ...]:
    names: list[str] = []
    for item in _typed_objects(data, _CLI_TYPES):
        names.extend(
            _string_list(item.get("executableName"), "targetProduct.executableName", source)
        )
    return tuple(dict.fromkeys(names))


def _images(data: Mapping[str, object], source: str) -> tuple[str, ...]:
    images: list[str] = []
    for item in _typed_objects(data, _IMAGE_TYPES):
        ref = _text(item.get("identifier") or item.get("name"), "targetProduct.identifier", source)
        if ref:
            images.append(ref.removeprefix("docker://"))
    return tuple(dict.fromkeys(images))


def _context_version(context: object) -> str:
    texts = " ".join(str(c) for c in _items(context) if isinstance(c, str))
    if re.search(r"codemeta[-/]v?3(\.\d+)?", texts):
        return "3.0"
    if re.search(r"codemeta[-/]v?2(\.0)?", texts):
        return "2.0"
    return "unknown"


# --- entry points --------------------------------------------------------------------------


def parse_codemeta(data: object, *, source: str) -> Codemeta:
    """Turn a parsed codemeta.json object into :class:`Codemeta`; pure, located errors."""
    if not isinstance(data, dict):
        raise InputError(
            f"codemeta must be a JSON object, got {type(data).__name__}",
            source=source,
            hint="write codemeta.json as one {...} object",
        )
    name = _text(data.get("name"), "name", source)
    if not name:
        raise InputError(
            "missing or empty name", source=source, location="name", hint='add "name": "<software>"'
        )
    return _build(data, name, source)


def _build(data: Mapping[str, object], name: str, source: str) -> Codemeta:
    def text(key: str, *, numbers: bool = False) -> str | None:
        return _text(data.get(key), key, source, numbers=numbers)

    license_id, license_url = _license(data.get("license"), source)
    identifier = _identifier(data.get("identifier"), source)
    version = text("softwareVersion", numbers=True) or text("version", numbers=True)
    return Codemeta(
        name=name,
        description=text("description"),
        version=version,
        authors=_persons(data.get("author", data.get("creator")), "author", source),
        maintainers=_persons(data.get("maintainer"), "maintainer", source),
        contributors=_persons(data.get("contributor"), "contributor", source),
        license=license_id,
        license_url=license_url,
        code_repository=_text(_first(data.get("codeRepository")), "codeRepository", source),
        keywords=_keywords(data.get("keywords"), source),
        identifier=identifier,
        doi=_doi_of(data.get("identifier")) or _doi_of(data.get("@id")),
        date_created=text("dateCreated"),
        date_modified=text("dateModified"),
        date_published=text("datePublished"),
        software_requirements=_each(
            data.get("softwareRequirements"),
            "softwareRequirements",
            lambda item, where: _requirement(item, where, source),
        ),
        runtime_platform=_string_list(data.get("runtimePlatform"), "runtimePlatform", source),
        programming_languages=_string_list(
            data.get("programmingLanguage"), "programmingLanguage", source
        ),
        operating_systems=_string_list(data.get("operatingSystem"), "operatingSystem", source),
        readme=text("readme"),
        executable_names=_executables(data, source),
        container_images=_images(data, source),
        context_version=_context_version(data.get("@context")),
        raw=MappingProxyType(dict(data)),
        source=source,
    )


def _first(value: object) -> object:
    return value[0] if isinstance(value, list) and value else value


def load_codemeta(path: Path) -> Codemeta:
    """Read and parse a codemeta.json file; JSON syntax errors name ``line:col``."""
    return parse_codemeta(load_json_document(path), source=str(path))

"""File formats as CWL ``format`` IRIs: file suffix or media type -> EDAM term, kept as data.

The table is ``data/formats.csv`` (``suffix,media_type,iri,label``). Identifiers were checked
against EDAM's ``EDAM_dev.owl`` (edamontology/edamontology). EDAM has no term for FITS, so FITS
uses the IANA media-type IRI of RFC 4047; ROOT files have neither and get no format.

- ``format_for_name("x.fits.gz")``: the longest matching suffix wins (``.fits.gz`` before ``.gz``).
- ``format_for_media_type("text/csv")``: parameters such as ``; charset=…`` are ignored.
- ``parse_format(text)``: a format written by a user (IRI, ``edam:format_NNNN`` or a media type)
  -> an IRI, or a located :class:`InputError`.

EDAM's hierarchy comes from the ``edam-ontology`` package (its ``EDAM.tsv``: each term's label,
parents, media type and obsolescence), read once and only for ``format_`` terms:

- ``format_relation(actual, declared)``: how a file's format stands to the one an input declares:
  ``"same"``, ``"narrower"`` (a kind of it: cwltool accepts it when the tool lists EDAM in
  ``$schemas``, as ``cwl_utils.file_formats.formatSubclassOf`` walks ``rdfs:subClassOf``),
  ``"broader"`` (the file is only known as something more general) or None. An IANA media-type IRI
  is the EDAM term whose ``Media type`` names it (``…/media-types/text/csv`` is CSV).
- ``format_label(iri)``: a short name (the table's label, else EDAM's, else the IRI's last part).
"""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Literal

from ossrflow.errors import InputError

__all__ = [
    "EDAM",
    "EdamTerm",
    "FormatEntry",
    "Relation",
    "format_ancestors",
    "format_for_media_type",
    "format_for_name",
    "format_label",
    "format_relation",
    "load_edam_formats",
    "load_formats",
    "parse_format",
]

EDAM = "http://edamontology.org/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"
_EDAM_SHORT = re.compile(r"edam:(format_\d+)")
_IANA = re.compile(r"https?://www\.iana\.org/assignments/media-types/(\S+)$")

Relation = Literal["same", "narrower", "broader"]


@dataclass(frozen=True)
class FormatEntry:
    """One row of the format table."""

    suffix: str
    media_type: str | None
    iri: str
    label: str


@functools.cache
def load_formats() -> tuple[FormatEntry, ...]:
    """The packaged format table, read once."""
    text = resources.files("ossrflow").joinpath("data/formats.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(io.StringIO(text))
    return tuple(
        FormatEntry(row["suffix"].lower(), row["media_type"] or None, row["iri"], row["label"])
        for row in rows
    )


def format_for_name(name: str) -> str | None:
    """The format IRI for a file name, by its longest known suffix; None when unknown."""
    lowered = name.lower()
    matches = [entry for entry in load_formats() if lowered.endswith(entry.suffix)]
    if not matches:
        return None
    return max(matches, key=lambda entry: len(entry.suffix)).iri


def format_for_media_type(media_type: str) -> str | None:
    """The format IRI for a media type such as ``text/csv``; None when unknown."""
    wanted = media_type.split(";")[0].strip().lower()
    for entry in load_formats():
        if entry.media_type == wanted:
            return entry.iri
    return None


def parse_format(text: str, *, source: str | None = None, location: str | None = None) -> str:
    """Turn a user-written format into an IRI: an http(s) IRI, ``edam:format_N`` or a media type."""
    value = text.strip()
    if short := _EDAM_SHORT.fullmatch(value):
        return EDAM + short.group(1)
    if re.fullmatch(r"https?://\S+", value):
        return value
    if "/" in value and (iri := format_for_media_type(value)) is not None:
        return iri
    raise InputError(
        f"format {text!r} is neither an IRI, edam:format_NNNN nor a known media type",
        source=source,
        location=location,
        hint="write e.g. http://edamontology.org/format_3752 or edam:format_3752 (CSV)",
    )


# --- EDAM ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdamTerm:
    """One EDAM format term: its label, direct parents (format IRIs) and media type IRI."""

    iri: str
    label: str
    parents: tuple[str, ...]
    media_type: str | None
    obsolete: bool


@functools.cache
def load_edam_formats() -> dict[str, EdamTerm]:
    """EDAM's format terms from the ``edam-ontology`` package, by IRI (read once, ~0.2 s)."""
    from edam_ontology.streams import tabular_stream

    terms: dict[str, EdamTerm] = {}
    with tabular_stream() as stream:
        rows = csv.reader(stream, delimiter="\t")
        header = next(rows)
        label, parents, media, obsolete = (
            header.index(name) for name in ("Preferred Label", "Parents", "Media type", "Obsolete")
        )
        for row in rows:
            iri = row[0]
            if not iri.startswith(EDAM + "format_"):
                continue
            ups = tuple(p for p in row[parents].split("|") if p.startswith(EDAM + "format_"))
            found = _IANA.match(row[media].strip())
            terms[iri] = EdamTerm(
                iri,
                row[label],
                ups,
                IANA_MEDIA_TYPES + found.group(1) if found else None,
                row[obsolete].upper() == "TRUE",
            )
    return terms


@functools.cache
def _by_media_type() -> dict[str, str]:
    return {t.media_type: t.iri for t in load_edam_formats().values() if t.media_type}


def _canonical(iri: str) -> str:
    """An IANA media-type IRI EDAM knows becomes its EDAM term; anything else is kept."""
    if (found := _IANA.match(iri)) is not None:
        return _by_media_type().get(IANA_MEDIA_TYPES + found.group(1), iri)
    return iri


def _walk_up(iri: str) -> Iterator[str]:
    terms = load_edam_formats()
    seen: set[str] = set()
    todo = [iri]
    while todo:
        current = todo.pop()
        term = terms.get(current)
        for parent in term.parents if term else ():
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
                yield parent


@functools.cache
def format_ancestors(iri: str) -> frozenset[str]:
    """Every EDAM format ``iri`` is a kind of (its ``rdfs:subClassOf`` closure, itself excluded)."""
    return frozenset(_walk_up(_canonical(iri)))


def format_relation(actual: str, declared: str) -> Relation | None:
    """How a file of format ``actual`` stands to an input that declares ``declared``."""
    a, d = _canonical(actual), _canonical(declared)
    if a == d:
        return "same"
    if d in format_ancestors(a):
        return "narrower"
    if a in format_ancestors(d):
        return "broader"
    return None


def format_label(iri: str) -> str:
    """A short name for a format IRI: the table's label, else EDAM's, else the IRI's last part."""
    for entry in load_formats():
        if entry.iri == iri:
            return entry.label.split(" (")[0]
    term = load_edam_formats().get(_canonical(iri)) if iri.startswith(("http:", "https:")) else None
    if term is not None:
        return term.label
    return iri.rstrip("/").rpartition("/")[2].rpartition("#")[2] or iri

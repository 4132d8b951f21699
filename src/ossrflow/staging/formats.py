"""File formats as CWL ``format`` IRIs: file suffix or media type -> EDAM term, kept as data.

The table is ``data/formats.csv`` (``suffix,media_type,iri,label``). Identifiers were checked
against EDAM's ``EDAM_dev.owl`` (edamontology/edamontology). EDAM has no term for FITS, so FITS
uses the IANA media-type IRI of RFC 4047; ROOT files have neither and get no format.

- ``format_for_name("x.fits.gz")``: the longest matching suffix wins (``.fits.gz`` before ``.gz``).
- ``format_for_media_type("text/csv")``: parameters such as ``; charset=…`` are ignored.
- ``parse_format(text)``: a format written by a user (IRI, ``edam:format_NNNN`` or a media type)
  -> an IRI, or a located :class:`InputError`.
"""

from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass
from importlib import resources

from ossrflow.errors import InputError

__all__ = [
    "EDAM",
    "FormatEntry",
    "format_for_media_type",
    "format_for_name",
    "load_formats",
    "parse_format",
]

EDAM = "http://edamontology.org/"
_EDAM_SHORT = re.compile(r"edam:(format_\d+)")


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

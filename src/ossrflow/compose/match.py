"""Matchmaking: data in, candidate tools out. Which registry entries accept these files, and why.

For every entry of a registry, :func:`match_entries` looks at the ``File`` inputs of the entry's
tool (built as ``ossrflow cwl`` builds it) and at its codemeta keywords, and scores how well each
input takes the data:

- **format** (3 points an item, 2 when the input declares several formats): the item's format
  (from the cart, or its file extension through ``data/formats.csv``: EDAM terms, IANA media
  types) is one the input declares;
- **extension** (1 point an item): the input's label or doc names the item's extension
  (``FITS files`` for ``.fits``), for inputs that declare no format;
- **any file** (1 point an item): the input declares no format at all;
- **keyword** (1 point): a codemeta keyword names the items' extension or format (``fits``).

An input that declares formats does not take an item of another format (CWL would refuse it).
A ``File[]`` input takes all items in one run; a ``File`` input takes them one at a time (the
step scatters). Candidates are ranked by the share of items they take, then by score; entries
without a tool interface are ranked on keywords alone. Pure scoring (:func:`score_entry`) is
kept apart from the registry walk (:func:`match_entries`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ossrflow.cwl.types import Param, Signature, signature_of
from ossrflow.errors import InputError, OssrflowError
from ossrflow.staging.cart import CartItem
from ossrflow.staging.formats import format_for_name, load_formats

if TYPE_CHECKING:
    from ossrflow.config import Settings
    from ossrflow.registry.entry import Entry

__all__ = [
    "Candidate",
    "EntryProfile",
    "MatchResult",
    "format_label",
    "match_data_items",
    "match_entries",
    "profile_entry",
    "score_entry",
]

FORMAT_POINTS = 3


@dataclass(frozen=True)
class EntryProfile:
    """What matching needs to know of an entry: its tool's signature and its keywords."""

    ref: str
    title: str
    version: str | None
    keywords: tuple[str, ...]
    signature: Signature | None  # None when the entry has no usable interface
    note: str = ""  # why there is no signature


@dataclass(frozen=True)
class Candidate:
    """One entry that takes some of the data, with the input it would use and the reasons."""

    ref: str
    title: str
    version: str | None
    input: str | None
    input_type: str | None
    accepted: int
    total: int
    score: int
    reasons: tuple[str, ...]
    formats: tuple[str, ...] = ()  # format IRIs of the items the input takes

    @property
    def how(self) -> str:
        if self.input is None:
            return "keywords only (no tool interface)"
        if self.input_type and self.input_type.startswith("File[]"):
            return f"{self.input} ({self.input_type}): all {self.accepted} in one run"
        return f"{self.input} ({self.input_type}): one run per item ({self.accepted})"

    def to_json(self) -> dict[str, object]:
        return {
            "ref": self.ref,
            "title": self.title,
            "version": self.version,
            "input": self.input,
            "input_type": self.input_type,
            "accepted": self.accepted,
            "total": self.total,
            "score": self.score,
            "reasons": list(self.reasons),
            "formats": list(self.formats),
        }


@dataclass(frozen=True)
class MatchResult:
    """Ranked candidates, and the entries that could not be considered (with why)."""

    candidates: tuple[Candidate, ...]
    refused: tuple[OssrflowError, ...] = field(default_factory=tuple)
    considered: int = 0


# --- data --------------------------------------------------------------------------------


def match_data_items(paths: Iterable[str]) -> list[CartItem]:
    """Files named on the command line as items (name and format from the extension)."""
    items = []
    for text in paths:
        name = PurePosixPath(text.replace("\\", "/")).name
        if not name:
            raise InputError(f"{text!r} names no file", source="FILES", hint="give file names")
        items.append(CartItem(name, text, format=format_for_name(name), kind="file", origin=text))
    if not items:
        raise InputError("no files to match", source="FILES", hint="give a cart or file names")
    return items


def format_label(iri: str) -> str:
    """A short name for a format IRI: the table's label, else the IRI's last part."""
    for entry in load_formats():
        if entry.iri == iri:
            return entry.label.split(" (")[0]
    return iri.rstrip("/").rpartition("/")[2].rpartition("#")[2] or iri


def _extension(name: str) -> str:
    lowered = name.lower()
    for entry in sorted(load_formats(), key=lambda e: -len(e.suffix)):
        if lowered.endswith(entry.suffix):
            return entry.suffix.lstrip(".")
    return PurePosixPath(lowered).suffix.lstrip(".")


# --- scoring (pure) ----------------------------------------------------------------------


def _words(text: str | None) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", (text or "").lower()))


def _item_score(item: CartItem, param: Param) -> tuple[int, str | None]:
    """Points for one item on one input, and the reason; 0 when the input refuses it."""
    if param.formats:
        if item.format in param.formats:
            points = FORMAT_POINTS if len(param.formats) == 1 else FORMAT_POINTS - 1
            return points, f"format {format_label(item.format or '')}"
        return 0, None
    extension = _extension(item.name)
    if extension and extension in _words(param.label):
        return 2, f"input label names .{extension}"
    return 1, "input takes any file"


@dataclass(frozen=True)
class _Fit:
    """How one input takes the items."""

    param: Param
    accepted: int
    score: int
    reasons: tuple[str, ...]
    formats: tuple[str, ...]


def _fit(items: Sequence[CartItem], param: Param) -> _Fit:
    accepted, score, reasons, formats = 0, 0, [], []
    for item in items:
        points, reason = _item_score(item, param)
        if not points:
            continue
        accepted += 1
        score += points
        if reason and reason not in reasons:
            reasons.append(reason)
        if param.formats and item.format and item.format not in formats:
            formats.append(item.format)
    return _Fit(param, accepted, score, tuple(reasons), tuple(formats))


def _keyword_reasons(items: Sequence[CartItem], keywords: Sequence[str]) -> list[str]:
    wanted = {_extension(i.name) for i in items} | {
        w for i in items if i.format for w in _words(format_label(i.format))
    }
    found = sorted({k for k in keywords if k.lower() in wanted})
    return [f"codemeta keyword {k!r}" for k in found]


def _keywords_only(
    items: Sequence[CartItem], profile: EntryProfile, reasons: list[str]
) -> Candidate:
    if profile.note:
        reasons = [*reasons, profile.note]
    return Candidate(
        profile.ref,
        profile.title,
        profile.version,
        None,
        None,
        0,
        len(items),
        len(reasons),
        tuple(reasons),
    )


def score_entry(items: Sequence[CartItem], profile: EntryProfile) -> Candidate | None:
    """The best input of one entry for these items, or None when nothing fits."""
    keyword_reasons = _keyword_reasons(items, profile.keywords)
    params = profile.signature.inputs.values() if profile.signature else ()
    fits = [_fit(items, p) for p in params if p.type.base == "File"]
    fits = [f for f in fits if f.accepted]
    if not fits:
        if keyword_reasons and profile.signature is None:
            return _keywords_only(items, profile, keyword_reasons)
        return None
    best = max(fits, key=lambda f: (f.accepted, f.score))
    return Candidate(
        ref=profile.ref,
        title=profile.title,
        version=profile.version,
        input=best.param.name,
        input_type=str(best.param.type),
        accepted=best.accepted,
        total=len(items),
        score=best.score + len(keyword_reasons),
        reasons=(*best.reasons, *keyword_reasons),
        formats=best.formats,
    )


def rank(candidates: Iterable[Candidate]) -> tuple[Candidate, ...]:
    """Most items taken first, then highest score, then by ref."""
    return tuple(sorted(candidates, key=lambda c: (-c.accepted / max(c.total, 1), -c.score, c.ref)))


# --- the registry walk -------------------------------------------------------------------


def profile_entry(entry: Entry) -> EntryProfile:
    """An entry's tool signature (built as ``ossrflow cwl`` builds it) and keywords."""
    from ossrflow.tools.cwlgen import generate_entry_tool

    codemeta = entry.codemeta
    keywords = codemeta.keywords if codemeta else ()
    record = entry.record
    try:
        tool = generate_entry_tool(entry)
    except InputError as exc:
        return EntryProfile(
            record.id, record.title, record.version, keywords, None, f"no tool: {exc.problem}"
        )
    return EntryProfile(record.id, record.title, record.version, keywords, signature_of(tool.tool))


def match_entries(
    items: Sequence[CartItem],
    settings: Settings,
    *,
    query: str = "",
    get_entry: Callable[[str, Settings], Entry] | None = None,
) -> MatchResult:
    """Score every entry the registry lists for ``query`` (all entries when empty)."""
    from ossrflow.registry import open_registry
    from ossrflow.registry.entry import get_entry as default_get_entry

    fetch = get_entry or default_get_entry
    with open_registry(settings) as registry:
        found = registry.search_records(query)
    refused: list[OssrflowError] = list(found.refused)
    candidates = []
    for record in found.records:
        try:
            profile = profile_entry(fetch(record.id, settings))
        except OssrflowError as exc:
            refused.append(exc)
            continue
        candidate = score_entry(items, profile)
        if candidate is not None:
            candidates.append(candidate)
    return MatchResult(rank(candidates), tuple(refused), len(found.records))

"""Matchmaking: data in, candidate tools out. Which registry entries accept these files, and why.

Each item's format comes from its cart entry or its name (``data/formats.csv``: EDAM terms, IANA
media types), checked against its first bytes when it is a local file
(:func:`ossrflow.staging.sniff.describe_items`: FITS, HDF5, NetCDF, gzip, zip, JSON, CSV).
For every entry of a registry, :func:`match_entries` looks at the ``File`` inputs of the entry's
tool (built as ``ossrflow cwl`` builds it) and at its codemeta keywords, and scores how well each
input takes each item (points per item; one fewer when the input declares several formats):

- **same** (4): the item's format is one the input declares;
- **kind of** (3): the item's format is a kind of one the input declares, in EDAM's hierarchy
  (CSV is a Textual format), as cwltool's format check reasons with ``$schemas``;
- **maybe** (2): the item is only known by a more general format than the input declares (a
  ``.txt`` is Textual format; the input wants plain text): it fits once the cart says so;
- **label** (2): the input declares no format and its label names the item's extension;
- **any file** (1): the input declares no format at all;
- **keyword** (1 per entry): a codemeta keyword names the items' extension or format (``fits``).

An input that declares formats takes no item of an unrelated format (CWL would refuse it). A
``File[]`` input takes all items in one run; a ``File`` input takes them one at a time (the step
scatters). Candidates with a tool are ranked before keyword-only ones, then by score, then by the
share of items they take, then by ref; so a declared, matching format outranks "takes any file".
Every entry that is not a candidate is kept in ``MatchResult.skipped`` with the reason. Scoring
(:func:`match_profiles`) is pure; reading items (``describe_items``) and walking the registry
(:func:`profile_registry`) do the I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from ossrflow.cwl.types import Param, Signature, signature_of
from ossrflow.errors import InputError, OssrflowError
from ossrflow.staging.cart import CartItem, Kind
from ossrflow.staging.formats import format_for_name, format_label, format_relation, load_formats
from ossrflow.staging.sniff import DataItem, describe_items

if TYPE_CHECKING:
    from ossrflow.config import Settings
    from ossrflow.registry.entry import Entry

__all__ = [
    "POINTS",
    "Candidate",
    "EntryProfile",
    "MatchResult",
    "Skipped",
    "format_label",
    "match_data_items",
    "match_entries",
    "match_profiles",
    "profile_entry",
    "profile_registry",
    "rank",
    "score_entry",
]

POINTS = {"same": 4, "narrower": 3, "broader": 2, "label": 2, "any": 1}


@dataclass(frozen=True)
class EntryProfile:
    """What matching needs to know of an entry: its tool's signature and its keywords."""

    ref: str
    title: str
    version: str | None
    keywords: tuple[str, ...]
    signature: Signature | None  # None when the entry has no usable interface
    note: str = ""  # why there is no signature
    concept_id: str | None = None


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
    concept_id: str | None = None

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
class Skipped:
    """An entry that takes none of the data, and why."""

    ref: str
    reason: str

    def __str__(self) -> str:
        return f"{self.ref}: {self.reason}"


@dataclass(frozen=True)
class MatchResult:
    """Ranked candidates, the entries skipped (with why) and those that could not be read."""

    candidates: tuple[Candidate, ...]
    refused: tuple[OssrflowError, ...] = field(default_factory=tuple)
    considered: int = 0
    skipped: tuple[Skipped, ...] = ()
    items: tuple[DataItem, ...] = ()


# --- data --------------------------------------------------------------------------------


def match_data_items(paths: Iterable[str]) -> list[CartItem]:
    """Files named on the command line as items (name and format from the extension)."""
    items = []
    for text in paths:
        name = PurePosixPath(text.replace("\\", "/")).name
        if not name:
            raise InputError(f"{text!r} names no file", source="FILES", hint="give file names")
        kind: Kind = "http" if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", text) else "file"
        items.append(CartItem(name, text, format=format_for_name(name), kind=kind, origin=text))
    if not items:
        raise InputError("no files to match", source="FILES", hint="give a cart or file names")
    return items


def _extension(name: str) -> str:
    lowered = name.lower()
    for entry in sorted(load_formats(), key=lambda e: -len(e.suffix)):
        if lowered.endswith(entry.suffix):
            return entry.suffix.lstrip(".")
    return PurePosixPath(lowered).suffix.lstrip(".")


# --- scoring (pure) ----------------------------------------------------------------------


def _words(text: str | None) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", (text or "").lower()))


def _declared(item: DataItem, param: Param) -> tuple[int, str | None]:
    """Points and reason for an item on an input that declares formats; 0 when refused."""
    if item.format is None:
        return 0, None
    relations = [(format_relation(item.format, f), f) for f in param.formats]
    for kind in ("same", "narrower", "broader"):
        found = [f for relation, f in relations if relation == kind]
        if not found:
            continue
        points = POINTS[kind] - (1 if len(param.formats) > 1 and kind != "broader" else 0)
        have, want = format_label(item.format), format_label(found[0])
        if kind == "same":
            return points, f"declared format {have}"
        if kind == "narrower":
            return points, f"{have} is a kind of {want} (EDAM)"
        return points, f"{have} may be {want} (EDAM): say so in the cart to run it"
    return 0, None


def _item_score(item: DataItem, param: Param) -> tuple[int, str | None]:
    """Points for one item on one input, and the reason; 0 when the input refuses it."""
    if param.formats:
        return _declared(item, param)
    extension = _extension(item.name)
    if extension and extension in _words(param.label):
        return POINTS["label"], f"input label names .{extension}"
    return POINTS["any"], "input takes any file"


@dataclass(frozen=True)
class _Fit:
    """How one input takes the items."""

    param: Param
    accepted: int
    score: int
    reasons: tuple[str, ...]
    formats: tuple[str, ...]


def _fit(items: Sequence[DataItem], param: Param) -> _Fit:
    accepted, score, reasons, formats = 0, 0, [], []
    for item in items:
        points, reason = _item_score(item, param)
        if not points:
            continue
        accepted += 1
        score += points
        for text in (reason, item.guess.note and item.describe()):
            if text and text not in reasons:
                reasons.append(text)
        if param.formats and item.format and item.format not in formats:
            formats.append(item.format)
    return _Fit(param, accepted, score, tuple(reasons), tuple(formats))


def _keyword_reasons(items: Sequence[DataItem], keywords: Sequence[str]) -> list[str]:
    wanted = {_extension(i.name) for i in items} | {
        w for i in items if i.format for w in _words(format_label(i.format))
    }
    found = sorted({k for k in keywords if k.lower() in wanted})
    return [f"codemeta keyword {k!r}" for k in found]


def _keywords_only(
    items: Sequence[DataItem], profile: EntryProfile, reasons: list[str]
) -> Candidate:
    if profile.note:
        reasons = [*reasons, profile.note]
    score = sum(1 for r in reasons if r.startswith("codemeta keyword"))
    return Candidate(
        profile.ref,
        profile.title,
        profile.version,
        None,
        None,
        0,
        len(items),
        score,
        tuple(reasons),
        concept_id=profile.concept_id,
    )


def _unusable_format(param: Param) -> str | None:
    """A declared format that is no absolute IRI (``edam:`` without ``$namespaces``)."""
    for value in param.formats:
        if not re.match(r"https?://", value):
            short = value.rpartition("#")[2].rpartition("/")[2]
            return (
                f"input {param.name!r} declares format {short!r}, which is no IRI (the edam: "
                f"prefix needs $namespaces; write http://edamontology.org/{short})"
            )
    return None


def _why_not(items: Sequence[DataItem], profile: EntryProfile) -> str:
    """Why an entry takes none of the items (for ``match -v``)."""
    if profile.signature is None:
        return profile.note or "no tool interface"
    params = [p for p in profile.signature.inputs.values() if p.type.base == "File"]
    if not params:
        return "its tool has no File input"
    for param in params:
        if (problem := _unusable_format(param)) is not None:
            return problem
    have = sorted({format_label(i.format) if i.format else "of no known format" for i in items})
    wants = "; ".join(
        f"{p.name} takes {' or '.join(format_label(f) for f in p.formats)}" for p in params
    )
    return f"{wants}; the data are {', '.join(have)}"


def score_entry(items: Sequence[DataItem], profile: EntryProfile) -> Candidate | Skipped:
    """The best input of one entry for these items, or why none fits."""
    keyword_reasons = _keyword_reasons(items, profile.keywords)
    params = profile.signature.inputs.values() if profile.signature else ()
    fits = [_fit(items, p) for p in params if p.type.base == "File" and not _unusable_format(p)]
    fits = [f for f in fits if f.accepted]
    if not fits:
        if keyword_reasons and profile.signature is None:
            return _keywords_only(items, profile, keyword_reasons)
        return Skipped(profile.ref, _why_not(items, profile))
    best = max(fits, key=lambda f: (f.score, f.accepted))
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
        concept_id=profile.concept_id,
    )


def rank(candidates: Iterable[Candidate]) -> tuple[Candidate, ...]:
    """Entries with a tool first, then highest score, then most items taken, then by ref."""
    return tuple(
        sorted(
            candidates,
            key=lambda c: (c.input is None, -c.score, -c.accepted / max(c.total, 1), c.ref),
        )
    )


def match_profiles(
    items: Sequence[DataItem], profiles: Iterable[EntryProfile]
) -> tuple[tuple[Candidate, ...], tuple[Skipped, ...]]:
    """Ranked candidates and the skipped entries, in ref order."""
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for profile in profiles:
        scored = score_entry(items, profile)
        if isinstance(scored, Candidate):
            candidates.append(scored)
        else:
            skipped.append(scored)
    return rank(candidates), tuple(sorted(skipped, key=lambda s: s.ref))


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
            record.id,
            record.title,
            record.version,
            keywords,
            None,
            f"no tool: {exc.problem}",
            record.concept_id,
        )
    signature = signature_of(tool.tool)
    return EntryProfile(
        record.id, record.title, record.version, keywords, signature, "", record.concept_id
    )


def profile_registry(
    settings: Settings,
    *,
    query: str = "",
    get_entry: Callable[[str, Settings], Entry] | None = None,
) -> tuple[tuple[EntryProfile, ...], tuple[OssrflowError, ...], int]:
    """The profile of every entry the registry lists for ``query``, the entries refused, and how
    many entries the registry listed."""
    from ossrflow.registry import open_registry
    from ossrflow.registry.entry import get_entry as default_get_entry

    fetch = get_entry or default_get_entry
    with open_registry(settings) as registry:
        found = registry.search_records(query)
    refused: list[OssrflowError] = list(found.refused)
    profiles = []
    for record in found.records:
        try:
            profiles.append(profile_entry(fetch(record.id, settings)))
        except OssrflowError as exc:
            refused.append(exc)
    return tuple(profiles), tuple(refused), len(found.records)


def match_entries(
    items: Sequence[CartItem],
    settings: Settings,
    *,
    query: str = "",
    get_entry: Callable[[str, Settings], Entry] | None = None,
    sniff: bool = True,
) -> MatchResult:
    """Score every entry the registry lists for ``query`` (all entries when empty)."""
    described = describe_items(items, sniff=sniff)
    profiles, refused, considered = profile_registry(settings, query=query, get_entry=get_entry)
    candidates, skipped = match_profiles(described, profiles)
    return MatchResult(candidates, refused, considered, skipped, described)

"""A file's format from its first bytes, for names that say nothing or lie.

:func:`sniff_bytes` reads a few KiB and answers with a :class:`Sniffed` format, or None:

- **signatures** (``strong``): FITS (``SIMPLE  =`` in the first card), HDF5 (``\\x89HDF\\r\\n\\x1a\\n``
  at 0, 512, 1024 or 2048: the user block), NetCDF classic (``CDF\\x01``, ``\\x02``, ``\\x05``),
  gzip (``\\x1f\\x8b``) and zip (``PK\\x03\\x04``, ``PK\\x05\\x06`` for an empty archive);
- **text** (``weak``, a guess): UTF-8 without NUL bytes that parses as JSON (an object or array;
  a head cut short must at least start like one), or whose complete lines split into the same
  number (two or more) of comma- or tab-separated fields (CSV, TSV); other text is Textual format.

:func:`reconcile_format` weighs what the name (or the cart) says against the bytes: a signature
wins over a name it contradicts (``image.csv`` holding FITS), but not over a name it is the
container of (``x.fits.gz`` is gzip bytes, ``model.nc`` may be HDF5: NetCDF-4). A text guess only
refines a name that says "Textual format" or something it is a kind of (``readings.txt`` holding
CSV or JSON), or replaces a binary format it contradicts (``image.fits`` holding CSV).
Pure apart from :func:`sniff_file`, which reads the head of one regular file, and
:func:`describe_items`, which gives every cart item its :class:`DataItem` format that way.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ossrflow.staging.cart import CartItem
from ossrflow.staging.formats import EDAM, format_for_name, format_label, format_relation

__all__ = [
    "HEAD_BYTES",
    "DataItem",
    "FormatGuess",
    "Origin",
    "Sniffed",
    "describe_items",
    "reconcile_format",
    "sniff_bytes",
    "sniff_file",
]

HEAD_BYTES = 4096

FITS = "https://www.iana.org/assignments/media-types/application/fits"
HDF5 = EDAM + "format_3590"
NETCDF = EDAM + "format_3650"
GZIP = EDAM + "format_3989"
ZIP = EDAM + "format_3987"
JSON = EDAM + "format_3464"
CSV = EDAM + "format_3752"
TSV = EDAM + "format_3475"
TEXT = EDAM + "format_2330"

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"SIMPLE  =", FITS),
    (b"CDF\x01", NETCDF),
    (b"CDF\x02", NETCDF),
    (b"CDF\x05", NETCDF),
    (b"\x1f\x8b", GZIP),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),
)
# A signature that is the container of what the name says: the name stands.
_CONTAINERS: dict[str, tuple[str, ...]] = {
    GZIP: (".gz", ".tgz"),
    ZIP: (".zip", ".npz", ".jar", ".docx", ".xlsx", ".pptx", ".odt", ".ods"),
    HDF5: (".nc", ".nc4", ".h5", ".hdf5", ".he5", ".mat"),
}
# Formats read as text even though EDAM does not place them under Textual format.
_TEXTUAL = frozenset({JSON, EDAM + "format_3750", EDAM + "format_2332", EDAM + "format_2331"})

Origin = Literal["cart", "name", "bytes", "none"]


@dataclass(frozen=True)
class Sniffed:
    """A format read from a file's first bytes; ``strong`` for a signature, weak for a guess."""

    iri: str
    strong: bool

    @property
    def label(self) -> str:
        return format_label(self.iri)


@dataclass(frozen=True)
class FormatGuess:
    """The format matching uses for one item, where it came from, and what disagreed."""

    iri: str | None
    origin: Origin
    note: str = ""  # e.g. "the name says CSV", when the bytes overrode the name


def sniff_bytes(head: bytes) -> Sniffed | None:
    """The format these first bytes show, or None when they show none."""
    for signature, iri in _SIGNATURES:
        if head.startswith(signature):
            return Sniffed(iri, strong=True)
    if any(head[offset:].startswith(_HDF5_SIGNATURE) for offset in (0, 512, 1024, 2048)):
        return Sniffed(HDF5, strong=True)
    text = _text(head)
    if text is None or not text.strip():
        return None
    return Sniffed(_text_format(text, complete=len(head) < HEAD_BYTES), strong=False)


def sniff_file(path: Path) -> Sniffed | None:
    """The format of a regular file's first :data:`HEAD_BYTES`; None when unreadable or unknown."""
    try:
        if not path.is_file():
            return None
        with path.open("rb") as stream:
            head = stream.read(HEAD_BYTES)
    except OSError:
        return None
    return sniff_bytes(head)


def _text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:
            return None
        return head[: exc.start].decode("utf-8")  # a character cut by the head's end


def _text_format(text: str, *, complete: bool) -> str:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        if not complete:
            return JSON if stripped[:2] in ('{"', "{}", "[{", "[[", "[]") else TEXT
        try:
            json.loads(stripped)
        except (ValueError, RecursionError):
            pass  # not JSON, or nested past the parser's depth: not a document we read
        else:
            return JSON
    lines = text.splitlines()
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    for delimiter, iri in ((",", CSV), ("\t", TSV)):
        if _delimited(lines, delimiter):
            return iri
    return TEXT


def _delimited(lines: list[str], delimiter: str) -> bool:
    rows = [row for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter) if row]
    widths = {len(row) for row in rows}
    return len(rows) >= 2 and len(widths) == 1 and widths.pop() >= 2


def _textual(iri: str) -> bool:
    return iri in _TEXTUAL or format_relation(iri, TEXT) in ("same", "narrower")


def reconcile_format(
    name: str, given: str | None, sniffed: Sniffed | None, *, origin: Origin = "name"
) -> FormatGuess:
    """The format of an item called ``name``: ``given`` (from its name or cart) against its bytes."""
    if sniffed is None:
        return FormatGuess(given, origin if given else "none")
    if given is None:
        return FormatGuess(sniffed.iri, "bytes")
    if given == sniffed.iri or format_relation(given, sniffed.iri) in ("same", "narrower"):
        return FormatGuess(given, origin)
    says = f"the {'cart' if origin == 'cart' else 'name'} says {format_label(given)}"
    if sniffed.strong:
        if name.lower().endswith(_CONTAINERS.get(sniffed.iri, ())):
            return FormatGuess(given, origin)
        return FormatGuess(sniffed.iri, "bytes", says)
    if not _textual(given):
        return FormatGuess(sniffed.iri, "bytes", says)
    if given == TEXT or format_relation(sniffed.iri, given) == "narrower":
        return FormatGuess(sniffed.iri, "bytes", f"{says}, the bytes are more precise")
    return FormatGuess(given, origin)


# --- cart items ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataItem:
    """One cart item as matching sees it: its format and where that format came from."""

    item: CartItem
    guess: FormatGuess

    @property
    def format(self) -> str | None:
        return self.guess.iri

    @property
    def name(self) -> str:
        return self.item.name

    def describe(self) -> str:
        """``m67.csv: FITS (from its first bytes; the name says CSV)``."""
        if self.guess.iri is None:
            return f"{self.name}: no known format"
        where = {"cart": "from the cart", "name": "from its name", "bytes": "from its first bytes"}
        text = f"{self.name}: {format_label(self.guess.iri)} ({where[self.guess.origin]}"
        return text + (f"; {self.guess.note})" if self.guess.note else ")")

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "location": self.item.location,
            "format": self.guess.iri,
            "format_from": self.guess.origin,
            "note": self.guess.note or None,
        }


def describe_items(
    items: Sequence[CartItem],
    *,
    sniff: bool = True,
    readable: Callable[[CartItem], bool] | None = None,
) -> tuple[DataItem, ...]:
    """Each item with its format: the cart's or the name's, checked against the first bytes of
    local files when ``sniff`` (and ``readable(item)``, when given); nothing is downloaded."""
    described = []
    for item in items:
        named = format_for_name(item.name)
        origin: Origin = "cart" if item.format is not None and item.format != named else "name"
        read = sniff and item.kind == "file" and (readable is None or readable(item))
        sniffed = sniff_file(Path(item.location)) if read else None
        guess = reconcile_format(item.name, item.format, sniffed, origin=origin)
        described.append(DataItem(item, guess))
    return tuple(described)

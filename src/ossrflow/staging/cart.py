"""Shopping carts -> :class:`CartItem` list: what to stage, from where, checked against what.

Accepted cart shapes (every value in them is untrusted):

- an ESAP shopping cart (items read by :mod:`.esap`), in any of the forms the platform produces: a list of
  ``{"archive": …, "record": …}`` items (the GUI basket), ``{"shopping_cart": [...]}`` (the PATCH
  payload), the stored ``[{"item_data": "<json>", …}]`` rows, or the whole
  ``user-profiles`` answer ``{"results": [{"shopping_cart": [...]}]}``;
- a plain YAML/JSON list of URLs, Rucio DIDs or paths, or a text file with one per line;
- ``{items: [{location: …, name: …, checksum: …, size: …, format: …}]}`` (YAML or JSON).

A location is an ``http(s)://`` URL, ``zenodo:RECID/KEY`` (or a ``zenodo.org/records/…/files/…``
URL), a Rucio DID ``SCOPE:NAME`` / ``rucio://SCOPE/NAME``, a ``file:`` URL or a path. Relative
paths are resolved in the cart's folder and may not leave it; absolute paths must lie inside
``data_root`` (by default the cart's folder). ESAP rows may only name http(s) URLs and Rucio DIDs.

Errors are located as ``cart.json:items[2].record.name: problem`` (YAML adds ``line:col``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from ossrflow.documents import (
    load_json_document,
    load_yaml_document,
    location_of,
    read_document_text,
)
from ossrflow.errors import InputError, UnsafeValue
from ossrflow.integrity import Checksum, check_name, parse_checksum, safe_join
from ossrflow.staging.formats import format_for_name, parse_format

__all__ = [
    "CartItem",
    "Kind",
    "load_cart",
    "parse_cart",
    "parse_cart_text",
    "parse_zenodo_ref",
]

Kind = Literal["file", "http", "zenodo", "rucio"]

_ITEM_KEYS = frozenset({"location", "name", "checksum", "size", "format"})
_TEXT_SUFFIXES = frozenset({".txt", ".list", ".lst", ".urls"})
_DID = re.compile(r"(?P<scope>[A-Za-z0-9_.\-]{1,25}):(?P<name>[^\s:/][^\s]*)")
_ZENODO_REF = re.compile(r"zenodo:(?P<recid>[A-Za-z0-9._\-]+)/(?P<key>[^/].*)")
_ZENODO_HOSTS = frozenset({"zenodo.org", "www.zenodo.org", "sandbox.zenodo.org"})
_ZENODO_PATH = re.compile(r"/(?:api/)?records/(?P<recid>\d+)/files/(?P<key>[^/]+)(?:/content)?/?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class CartItem:
    """One thing to stage. ``origin`` says where it was written: ``cart.json:items[2]``."""

    name: str
    location: str
    checksum: Checksum | None = None
    size: int | None = None
    format: str | None = None
    kind: Kind = "http"
    origin: str = ""


@dataclass(frozen=True)
class _Ctx:
    source: str
    base: Path
    data_root: Path


class _At:
    """Where a value sits: a path like ``items[2].record`` plus the YAML node when there is one.

    ``item`` is the path of the cart item the value belongs to (``items[2]``).
    """

    def __init__(
        self,
        ctx: _Ctx,
        path: str,
        node: object = None,
        key: str | int | None = None,
        item: str = "",
    ) -> None:
        self.ctx, self.path, self.node, self.key = ctx, path, node, key
        self.item = item or path

    def child(self, key: str | int, container: object = None) -> _At:
        """The value under ``key``; pass its ``container`` to get its line:col in YAML."""
        path = self.path + (f"[{key}]" if isinstance(key, int) else f".{key}")
        if container is None:
            return _At(self.ctx, path, self.node, self.key, self.item)
        return _At(self.ctx, path, container, key, self.item)

    @property
    def location(self) -> str:
        line = location_of(self.node, self.key) if self.node is not None else None
        return f"{line}: {self.path}" if line else self.path

    @property
    def origin(self) -> str:
        """The item's address for later messages: ``cart.json:items[2]``."""
        return f"{self.ctx.source}:{self.item}"

    def fail(self, problem: str, hint: str, cls: type[InputError] = InputError) -> NoReturn:
        raise cls(problem, source=self.ctx.source, location=self.location, hint=hint)


def parse_zenodo_ref(location: str) -> tuple[str, str]:
    """``zenodo:RECID/KEY`` or a ``zenodo.org/records/RECID/files/KEY`` URL -> ``(RECID, KEY)``."""
    parts = urlsplit(location)
    if parts.scheme in ("http", "https") and (found := _ZENODO_PATH.fullmatch(parts.path)):
        return found["recid"], unquote(found["key"])
    if (match := _ZENODO_REF.fullmatch(location)) is None:
        raise InputError(
            f"{location!r} is not a Zenodo file reference",
            hint="write zenodo:RECORD_ID/FILE_KEY, e.g. zenodo:393433/data.fits",
        )
    return match["recid"], match["key"]


def load_cart(path: Path, *, data_root: Path | None = None) -> list[CartItem]:
    """Read a cart file (ESAP JSON, YAML/JSON list or mapping, or a text list)."""
    base = path.parent.absolute()
    if path.suffix.lower() in _TEXT_SUFFIXES:
        text = read_document_text(path)  # within the limits of every document: size, UTF-8
        return parse_cart_text(text, source=str(path), base=base, data_root=data_root)
    loader = load_json_document if path.suffix.lower() == ".json" else load_yaml_document
    return parse_cart(loader(path), source=str(path), base=base, data_root=data_root)


def parse_cart_text(
    text: str, *, source: str, base: Path, data_root: Path | None = None
) -> list[CartItem]:
    """One URL, DID or path per line; blank lines and ``#`` comments are skipped."""
    ctx = _Ctx(source, base, (data_root or base).absolute())
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        value = line.strip()
        if value and not value.startswith("#"):
            items.append(_location_item(value, _At(ctx, f"line {number}"), local=True))
    return _nonempty(items, ctx)


def parse_cart(
    data: object, *, source: str, base: Path | None = None, data_root: Path | None = None
) -> list[CartItem]:
    """Parse a loaded cart document (JSON or YAML value) into items; pure apart from path checks."""
    folder = (base or Path(source).parent).absolute()
    ctx = _Ctx(source, folder, (data_root or folder).absolute())
    items = [_parse_item(node, at) for node, at in _item_nodes(data, ctx)]
    return _nonempty(items, ctx)


def _nonempty(items: list[CartItem], ctx: _Ctx) -> list[CartItem]:
    if not items:
        raise InputError(
            "the cart has no items", source=ctx.source, hint="add at least one URL, DID or path"
        )
    return items


def _item_nodes(data: object, ctx: _Ctx) -> Iterator[tuple[object, _At]]:
    """Find the item list in any accepted cart shape; yield each item with its location."""
    if isinstance(data, list):
        yield from _enumerate(data, _At(ctx, "items", data))
        return
    if isinstance(data, Mapping):
        for key in ("items", "shopping_cart"):
            if key in data:
                yield from _enumerate(data[key], _At(ctx, key, data, key))
                return
        if "results" in data and isinstance(data["results"], list):
            for index, result in enumerate(data["results"]):
                at = _At(ctx, f"results[{index}]", data["results"], index)
                cart = result.get("shopping_cart") if isinstance(result, Mapping) else None
                yield from _enumerate(cart, at.child("shopping_cart", result))
            return
    _At(ctx, "").fail(
        "not a shopping cart: expected a list of items, or a mapping with 'items', "
        "'shopping_cart' or 'results'",
        "see docs/staging.md for the accepted cart formats",
    )


def _enumerate(value: object, at: _At) -> Iterator[tuple[object, _At]]:
    if not isinstance(value, list):
        at.fail("is not a list of items", "give the items as a list")
    for index, node in enumerate(value):
        yield node, _At(at.ctx, f"{at.path}[{index}]", value, index)


def _parse_item(node: object, at: _At) -> CartItem:
    if isinstance(node, str):
        return _location_item(node, at, local=True)
    if isinstance(node, Mapping):
        from ossrflow.staging.esap import esap_item, item_data  # ESAP's forms build on this module

        if "item_data" in node:
            data_at = at.child("item_data", node)
            return esap_item(item_data(node["item_data"], data_at), data_at)
        if "archive" in node:
            return esap_item(node, at)
        if "location" in node:
            return _mapping_item(node, at)
    at.fail(
        "item is neither a URL/path, an ESAP item {archive, record} nor {location: …}",
        "see docs/staging.md for the accepted item forms",
    )


# --- the mapping form -------------------------------------------------------------------------


def _mapping_item(node: Mapping[str, object], at: _At) -> CartItem:
    unknown = sorted(str(key) for key in node if key not in _ITEM_KEYS)
    if unknown:
        at.child(unknown[0], node).fail(
            f"unknown key {unknown[0]!r}", f"an item has only {', '.join(sorted(_ITEM_KEYS))}"
        )
    location_at = at.child("location", node)
    item = _location_item(node["location"], location_at, local=True)
    name, fmt = item.name, item.format
    if node.get("name") is not None:
        name = _name(node["name"], at.child("name", node))
        fmt = format_for_name(name)
    if node.get("format") is not None:
        fmt = parse_format(
            _string(node["format"], at.child("format", node)),
            source=at.ctx.source,
            location=at.child("format", node).location,
        )
    checksum = None
    if node.get("checksum") is not None:
        checksum = _checksum(node["checksum"], at.child("checksum", node))
    size = _size(node.get("size"), at.child("size", node))
    return CartItem(name, item.location, checksum, size, fmt, item.kind, item.origin)


def _string(value: object, at: _At) -> str:
    if not isinstance(value, str) or not value.strip():
        at.fail("must be a non-empty string", "write the value as text")
    if _CONTROL.search(value):
        at.fail(f"{value!r} contains a control character", "remove it", UnsafeValue)
    return value.strip()


def _name(value: object, at: _At) -> str:
    if not isinstance(value, str):
        at.fail("a name must be text", "write the file name as a string")
    return check_name(value, source=at.ctx.source, location=at.location)


def _checksum(value: object, at: _At) -> Checksum:
    return parse_checksum(str(value), source=at.ctx.source, location=at.location)


def _size(value: object, at: _At) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        at.fail(f"size {value!r} is not a whole number of bytes", "give the size in bytes")
    return value


# --- locations --------------------------------------------------------------------------------


def _location_item(value: object, at: _At, *, local: bool) -> CartItem:
    """Classify a location string and derive the item's name from it."""
    value = _string(value, at)
    scheme = urlsplit(value).scheme.lower() if "://" in value else ""
    if scheme in ("http", "https"):
        return _url_item(value, at)
    if value.startswith("zenodo:"):
        return _zenodo_item(value, at)
    if scheme == "rucio" or (not value.startswith("file:") and _DID.fullmatch(value)):
        return _rucio_item(value, at)
    if scheme and scheme != "file":
        at.fail(
            f"cannot stage {scheme}:// locations",
            "use http(s)://, zenodo:RECID/KEY, a Rucio DID SCOPE:NAME, file: or a path",
        )
    if not local:
        at.fail(
            f"{value!r} is not an http(s) URL or a Rucio DID",
            "ESAP items are staged from http(s) URLs or Rucio DIDs only, never local files",
            UnsafeValue,
        )
    return _path_item(value, at)


def _item(name: str, location: str, kind: Kind, at: _At) -> CartItem:
    return CartItem(name, location, None, None, format_for_name(name), kind, at.origin)


def _url_item(url: str, at: _At) -> CartItem:
    parts = urlsplit(url)
    if not parts.hostname:
        at.fail(f"URL {url!r} has no host", "write a full http(s):// URL")
    zenodo = _ZENODO_PATH.fullmatch(parts.path)
    if parts.hostname in _ZENODO_HOSTS and zenodo:
        return _zenodo_item(f"zenodo:{zenodo['recid']}/{unquote(zenodo['key'])}", at, url)
    basename = unquote(parts.path.rstrip("/").rpartition("/")[2])
    if not basename:
        at.fail(f"cannot tell a file name from {url!r}", "give the item a name")
    return _item(_name(basename, at), url, "http", at)


def _zenodo_item(ref: str, at: _At, url: str | None = None) -> CartItem:
    """A record file; a zenodo.org URL is kept as the location so its host can be checked."""
    match = _ZENODO_REF.fullmatch(ref)
    if match is None:
        at.fail(f"{ref!r} is not a Zenodo file reference", "write zenodo:RECORD_ID/FILE_NAME")
    parts = match["key"].split("/")
    for part in parts[:-1]:
        _name(part, at)
    name = _name(parts[-1], at)
    return _item(name, url or f"zenodo:{match['recid']}/{match['key']}", "zenodo", at)


def _rucio_item(text: str, at: _At) -> CartItem:
    did = (
        text.removeprefix("rucio://").replace("/", ":", 1) if text.startswith("rucio://") else text
    )
    match = _DID.fullmatch(did)
    if match is None or ".." in match["name"].split("/"):
        at.fail(f"{text!r} is not a Rucio DID", "write SCOPE:NAME or rucio://SCOPE/NAME")
    return _item(_name(match["name"].rstrip("/").rpartition("/")[2], at), did, "rucio", at)


def _path_item(text: str, at: _At) -> CartItem:
    raw = text
    if text.startswith("file:"):
        parts = urlsplit(text)
        if parts.netloc not in ("", "localhost"):
            at.fail(f"file URL {text!r} names another host", "copy the file here", UnsafeValue)
        raw = url2pathname(parts.path)
    path = _confined(raw, at)
    return _item(_name(path.name, at), str(path), "file", at)


def _confined(raw: str, at: _At) -> Path:
    """Relative paths stay in the cart's folder; absolute ones must lie in the data root."""
    ctx = at.ctx
    if not Path(raw).is_absolute():
        joined = safe_join(ctx.base, raw, source=ctx.source, location=at.location)
        return joined.absolute()
    resolved = Path(raw).resolve()
    if not resolved.is_relative_to(ctx.data_root.resolve()):
        at.fail(
            f"path {raw!r} lies outside the data root {ctx.data_root}",
            "move the file under the cart's folder, or allow its folder with --data-root",
            UnsafeValue,
        )
    return resolved

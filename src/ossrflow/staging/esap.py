"""ESAP shopping-cart items: ``{archive, record}`` rows of the platform's GUI basket.

The platform stores each item as ``item_data``, a JSON string inside JSON, and dispatches on
``archive``. ossrflow stages ``rucio`` rows (a DID, with ``bytes`` and ``adler32``/``md5`` when
the row has them), ``astron_vo``/``apertif``/``multi_query`` rows by their ``record.url``, and
VOTable rows (``vo_reg``, ``samp``) by their one access URL. Only http(s) URLs and Rucio DIDs
are taken from ESAP rows: a row never names a local path. Errors are located like every cart
error (``cart.json:items[2].record.name: …``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ossrflow.documents import parse_json_text
from ossrflow.errors import InputError, UnsafeValue
from ossrflow.staging.cart import (
    CartItem,
    _At,
    _checksum,
    _location_item,
    _name,
    _rucio_item,
    _size,
)
from ossrflow.staging.formats import format_for_name

__all__ = ["ESAP_ARCHIVES", "esap_item", "item_data"]


# ESAP archive -> what ossrflow stages from its rows.
ESAP_ARCHIVES = {
    "rucio": "Rucio DID (scope, name)",
    "astron_vo": "record.url",
    "apertif": "record.url",
    "multi_query": "record.url",
    "vo_reg": "the row's access URL",
    "samp": "the row's access URL",
}


_URL_KEYS = ("access_url", "accessURL", "access_reference", "url")


def esap_item(node: Mapping[str, object], at: _At) -> CartItem:
    """The cart item an ESAP row names (see the module docstring)."""
    archive = node.get("archive")
    if not isinstance(archive, str) or archive not in ESAP_ARCHIVES:
        at.child("archive", node).fail(
            f"archive {archive!r} cannot be staged",
            f"ossrflow stages ESAP items from {_supported()}; "
            "download this item yourself and list its path or URL instead",
        )
    record = node.get("record")
    record_at = at.child("record", node)
    if archive == "rucio":
        return _esap_rucio(record, record_at)
    if archive in ("vo_reg", "samp"):
        return _esap_row(record, record_at, archive)
    if not isinstance(record, Mapping) or not isinstance(record.get("url"), str):
        record_at.fail(f"a {archive} record needs a 'url'", "export the item again from ESAP")
    item = _esap_url(str(record["url"]), record_at.child("url", record))
    if isinstance(record.get("name"), str) and str(record["name"]).strip():
        name = _name(str(record["name"]).strip(), record_at.child("name", record))
        return CartItem(
            name, item.location, None, None, format_for_name(name), item.kind, at.origin
        )
    return item


def _supported() -> str:
    return ", ".join(f"{name} ({what})" for name, what in ESAP_ARCHIVES.items())


def _esap_url(url: str, at: _At) -> CartItem:
    if not re.match(r"https?://", url.strip()):
        at.fail(
            f"{url!r} is not an http(s) URL",
            "ESAP records are staged over http(s) only",
            UnsafeValue,
        )
    return _location_item(url, at, local=False)


def _esap_row(record: object, at: _At, archive: str) -> CartItem:
    """A VOTable row (vo_reg, samp): stage its access URL when it has exactly one."""
    values: Sequence[object] = []
    if isinstance(record, Mapping):
        for key in _URL_KEYS:
            if isinstance(record.get(key), str):
                return _esap_url(str(record[key]), at.child(key, record))
        values = list(record.values())
    elif isinstance(record, list):
        values = record
    urls = [v for v in values if isinstance(v, str) and re.match(r"https?://", v)]
    if len(urls) != 1:
        at.fail(
            f"this {archive} row has {'more than one' if urls else 'no'} http(s) access URL",
            "only rows with one access URL can be staged; "
            "download the data yourself and list its path or URL instead",
        )
    return _esap_url(urls[0], at)


def _esap_rucio(record: object, at: _At) -> CartItem:
    if not isinstance(record, Mapping):
        at.fail("a rucio record must be an object", "export the item again from ESAP")
    for key in ("scope", "name"):
        if not isinstance(record.get(key), str):
            at.child(key, record).fail(f"{key} is missing or not text", "export the item again")
    item = _rucio_item(f"{record['scope']}:{record['name']}", at.child("name", record))
    did_type = str(record.get("type") or "FILE").upper()
    size = _size(record.get("bytes"), at.child("bytes", record)) if did_type == "FILE" else None
    checksum = None
    if isinstance(record.get("adler32"), str):
        checksum = _checksum(
            f"adler32:{str(record['adler32']).zfill(8)}", at.child("adler32", record)
        )
    elif isinstance(record.get("md5"), str):
        checksum = _checksum(f"md5:{record['md5']}", at.child("md5", record))
    return CartItem(item.name, item.location, checksum, size, item.format, "rucio", item.origin)


def item_data(value: object, at: _At) -> Mapping[str, object]:
    """A stored row's ``item_data``: a JSON object, or a JSON string holding one.

    The string is a document of its own, parsed within the same limits as the cart (size,
    nesting depth): a refusal names the row and the place inside the string.
    """
    if isinstance(value, str):
        try:
            value = parse_json_text(value, source="item_data")
        except InputError as exc:
            where = f" at {exc.location}" if exc.location else ""
            at.fail(f"item_data: {exc.problem}{where}", "export the cart again from ESAP")
    if not isinstance(value, Mapping):
        at.fail("item_data is not a JSON object", "export the cart again from ESAP")
    return value

"""What an uploaded document may point at: its own attachments, http(s), and the data roots.

A CWL document (or a definition, a cart, a job order) is read by cwltool and schema-salad,
which follow references: ``run:``, ``$import``, ``$include``, ``$mixin``, ``$schemas``,
``dockerLoad`` load other documents or files, and ``location``/``path`` name input files.
A workflow uploaded to a service could thus read the service's own files
(``$include: /etc/shadow``, ``run: file:///var/lib/ossrflow/…``) and carry them into an output.
:func:`check_references` refuses that before anything is run:

- relative references must stay inside the attachments (resolved from the referring document's
  folder; ``#fragment`` references are fine);
- ``location``/``path`` may also be ``file:`` URLs or absolute paths inside a ``--data-root``;
- ``http://``/``https://`` references are allowed (like any http(s) input);
- any other scheme, ``$base`` and ``//host/…`` references are refused.

Documents are the attachments named ``*.cwl``, ``*.yml``, ``*.yaml``, ``*.json``, ``*.jsonld``,
plus every attachment such a document loads (``run:``, ``$import``, ``$mixin``, ``$schemas``),
whatever its name. Values holding a CWL expression or parameter reference (``$(``, ``${``) are
evaluated at run time over the (checked) job values and are not references here. Each document
is read and parsed within the limits of :mod:`ossrflow.documents` (size, nesting depth, YAML alias
expansion): one beyond them is refused like a bad reference.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import ossrflow
from ossrflow.documents import (
    DEFAULT_LIMITS,
    Limits,
    parse_json_text,
    parse_yaml_text,
    read_document_text,
)

__all__ = ["DOCUMENT_SUFFIXES", "check_references", "inside_roots"]

DOCUMENT_SUFFIXES = (".cwl", ".yml", ".yaml", ".json", ".jsonld")
_LOADS = frozenset({"run", "$import", "$mixin", "$schemas"})  # load another document
_FILES = frozenset({"$include", "dockerLoad"})  # read a file as it is
_INPUTS = frozenset({"location", "path"})  # an input file or folder
_HINT = (
    "refer only to attachments (relative paths inside them), http(s) URLs, or files under the "
    "service's data roots"
)


def inside_roots(path: Path, roots: Sequence[Path]) -> bool:
    """``path`` (symbolic links resolved) lies in one of ``roots``."""
    real = path.resolve()
    return any(real.is_relative_to(root.resolve()) for root in roots)


def _refs(value: object, where: str) -> Iterator[tuple[str, str, str]]:
    """(key, reference, location) of every reference-like string under ``value``."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key)
            at = f"{where}.{name}" if where else name
            if name == "$base":
                yield name, str(item), at
            elif name in _LOADS | _FILES | _INPUTS:
                items = item if isinstance(item, list) and name == "$schemas" else [item]
                for index, ref in enumerate(items):
                    if isinstance(ref, str):
                        yield name, ref, at if len(items) == 1 else f"{at}[{index}]"
            yield from _refs(item, at)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _refs(item, f"{where}[{index}]")


def _check(
    key: str, ref: str, *, document: str, at: str, names: frozenset[str], roots: Sequence[Path]
) -> str | None:
    """None for a fine reference to outside the attachments; the attachment name it loads."""

    def refuse(problem: str) -> ossrflow.UnsafeValue:
        return ossrflow.UnsafeValue(problem, source=document, location=at, hint=_HINT)

    if key == "$base":
        raise refuse("$base would move every relative reference of the document")
    if "$(" in ref or "${" in ref or ref.startswith("_:"):
        return None
    parts = urlsplit(ref)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return None
    if scheme == "file" or (not scheme and ref.startswith("/")):
        if parts.netloc not in ("", "localhost") and scheme == "file":
            raise refuse(f"{key} {ref!r} names another host")
        local = Path(unquote(parts.path))
        if key in _INPUTS and inside_roots(local, roots):
            return None
        raise refuse(f"{key} {ref!r} names a file of the service outside the data roots")
    if scheme or parts.netloc:
        raise refuse(f"{key} {ref!r}: scheme {scheme or '//'} is not allowed")
    if not parts.path:
        return None  # "#fragment": a reference inside the same document
    base = posixpath.dirname(document)
    joined = posixpath.normpath(posixpath.join(base, unquote(parts.path)))
    if joined.startswith(("../", "/")) or joined == "..":
        raise refuse(f"{key} {ref!r} leads outside the attachments")
    if key in _LOADS | _FILES and joined not in names:
        raise ossrflow.NotFound(
            f"{key} {ref!r} names no attachment ({joined})",
            source=document,
            location=at,
            hint="attach that file too (under the same relative name)",
        )
    return joined if key in _LOADS else None


def _parse(folder: Path, name: str, limits: Limits) -> object:
    """The attachment ``name`` as YAML or JSON, within ``limits`` (never read past them)."""
    path = folder / name
    try:
        text = read_document_text(path, limits)
    except ossrflow.InputError as exc:
        exc.source = name  # not the service's folder
        exc.hint = "documents must be UTF-8 YAML or JSON within the service's limits"
        raise
    if name.endswith((".json", ".jsonld")):
        return parse_json_text(text, source=name, limits=limits)
    return parse_yaml_text(text, source=name, limits=limits)


def check_references(
    folder: Path,
    names: Iterable[str],
    *,
    roots: Sequence[Path],
    start: Iterable[str] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> None:
    """Check every document among the attachments ``names`` in ``folder`` (module docstring).

    ``start`` are attachments read as documents whatever their name (the workflow itself);
    each is parsed within ``limits`` (a document beyond them is refused, 400).
    """
    known = frozenset(names)
    queue = [n for n in sorted(known) if n.lower().endswith(DOCUMENT_SUFFIXES)] + list(start)
    seen: set[str] = set()
    while queue:
        name = queue.pop(0)
        if name in seen or name not in known:
            continue
        seen.add(name)
        document = _parse(folder, name, limits)
        for key, ref, at in _refs(document, ""):
            loaded = _check(key, ref, document=name, at=at, names=known, roots=roots)
            if loaded is not None:
                queue.append(loaded)

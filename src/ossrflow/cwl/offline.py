"""Loading CWL without the network: what a run reads is on this machine, and nothing is fetched.

Documents written for the OSSR name schema.org terms (``$namespaces: {s: https://schema.org/}``,
``class: s:Person``) and often ``$schemas: [https://schema.org/…rdf]``. cwltool would download
each ``$schemas`` file and send a HEAD request for every http(s) link it meets, warning twice
per job when there is no network. For a run, ossrflow loads offline, as ``ossrflow cwl``
validates tools (``docs/cwlgen.md``):

- http(s) links are taken as existing (no request);
- remote ``$schemas`` are not fetched and say nothing (local ones, e.g. ``EDAM.owl`` beside the
  tool, are read as cwltool reads them: ``format`` checks use them);
- a remote document (``run: https://…``, ``$import``) is refused with one line: download it;
- every local document read at plan time (``bounded=True``: ``run:`` tools, ``$import``-ed
  parts, the job order and its imports) is untrusted: it must be a regular file within the
  size, nesting and alias limits of :mod:`ossrflow.documents` before schema-salad's YAML
  parser sees it (a "billion laughs" in a step's tool would keep the loader busy for minutes).
  RDF/XML ``$schemas`` files are parsed by rdflib, not as YAML: only their size is checked.
"""

from __future__ import annotations

import logging
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = ["RemoteRefused", "check_local_document", "offline_fetcher", "silence_remote_schemas"]

_REFUSED = "is not fetched: ossrflow loads CWL offline"


class RemoteRefused(Exception):
    """An http(s) address a run would have to download."""


@cache
def offline_fetcher(
    *,
    bounded: bool = False,
    refuse: type[Exception] = RemoteRefused,
    reason: str = _REFUSED,
) -> type[Any]:
    """A schema-salad fetcher that reads local files and never touches the network.

    An http(s) address raises ``refuse(f"{url} {reason}")``. ``bounded`` also checks every local
    document against the limits of untrusted documents (module docstring) before handing its
    text over.
    """
    from schema_salad.fetcher import DefaultFetcher

    class OfflineFetcher(DefaultFetcher):
        def check_exists(self, url: str) -> bool:
            if url.startswith(("http://", "https://")):
                return True
            return bool(super().check_exists(url))

        def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
            if url.startswith(("http://", "https://")):
                raise refuse(f"{url} {reason}")
            if bounded:
                check_local_document(url)
            return str(super().fetch_text(url, content_types))

    return OfflineFetcher


def check_local_document(url: str) -> None:
    """Refuse a local document (``file:`` URL or path) that breaks the limits of untrusted
    documents: not a regular file, too large, too deeply nested, an alias bomb (one line)."""
    parts = urlsplit(url)
    if parts.scheme not in ("", "file"):
        return  # not read from this machine's files (schema-salad's own data:, package URLs)
    path = Path(unquote(parts.path))
    try:
        info = path.stat()
    except OSError:
        return  # schema-salad says that it is missing, with its own message
    _check_once(str(path), info.st_size, info.st_mtime_ns)


@lru_cache(maxsize=256)
def _check_once(path: str, size: int, mtime_ns: int) -> None:
    """A document is checked once per content version (a loader may fetch it several times)."""
    from ossrflow.documents import check_document_limits, read_document_text

    if read_document_text(Path(path))[:64].lstrip().startswith("<"):
        return  # RDF/XML (a $schemas file): rdflib reads it, within the size limit just checked
    check_document_limits(Path(path))


class _RemoteSchemaFilter(logging.Filter):
    """Drops schema-salad's warning about a remote ``$schemas`` file it was told not to fetch."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not (text.startswith("Could not load extension schema") and _REFUSED in text)


_FILTER = _RemoteSchemaFilter()


def silence_remote_schemas() -> None:
    """Install the filter on schema-salad's logger, first (a filter that forwards records to
    other handlers, as the CLI's does, must not see the record)."""
    logger = logging.getLogger("salad")
    if logger.filters[:1] != [_FILTER]:
        if _FILTER in logger.filters:
            logger.removeFilter(_FILTER)
        logger.filters.insert(0, _FILTER)

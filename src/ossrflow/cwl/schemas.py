"""The CWL schemas cwltool parses, cached on disk so that a run's jobs skip parsing them (~1 s).

Two kinds of cache file, keyed by the cwltool version (another version parses afresh), each
holding cwltool's parsed schemas and schema-salad's metaschema. The user's cache (``--cache-dir``)
holds the standard versions as parsed, written once before any document is loaded. A run
folder's ``.ossrflow/`` holds them as the planner left them, with the ontologies its documents
named (``$schemas``, for format checks): every job of that run loads it back before loading its
document (a job forked from the planner inherits it in memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["STANDARD_VERSIONS", "load_schema_cache", "parse_standard_schemas", "save_schema_cache"]

# cache file -> what it holds (loaded or saved by this process): per CWL version, the number of
# triples in its document loader's graph, which grows when a document's ``$schemas`` (an
# ontology such as EDAM, for format checks) are loaded into it
_LOADED_SCHEMAS: dict[Path, dict[str, int]] = {}
_FORMAT = 3  # 2: the schemas and schema-salad's metaschema; 3: the shared cache without ontologies
STANDARD_VERSIONS = ("v1.0", "v1.1", "v1.2")  # what a shared cache holds


def _schema_cache_name() -> str:
    from importlib.metadata import version

    return f"cwl-schemas-{_FORMAT}-cwltool-{version('cwltool')}.pickle"


def _pickle_normdict() -> None:
    """schema-salad's NormDict sets items through ``normalize``: rebuild it that way."""
    import copyreg

    from schema_salad.ref_resolver import NormDict

    def reduce(value: Any) -> Any:
        return (NormDict, (value.normalize,), None, None, iter(dict(value).items()))

    copyreg.pickle(NormDict, reduce)


def _fingerprint() -> dict[str, int]:
    from cwltool.process import SCHEMA_CACHE

    return {version: len(entry[0].graph) for version, entry in SCHEMA_CACHE.items()}


def _holds(have: dict[str, int], wanted: dict[str, int]) -> bool:
    return all(have.get(version, -1) >= size for version, size in wanted.items())


def parse_standard_schemas() -> bool:
    """Parse the standard CWL versions this process lacks (True when one was parsed)."""
    from cwltool.process import SCHEMA_CACHE, get_schema

    missing = [version for version in STANDARD_VERSIONS if version not in SCHEMA_CACHE]
    for version in missing:
        get_schema(version)
    return bool(missing)


def save_schema_cache(folder: Path, *, shared: bool = False) -> Path:
    """Store the CWL schemas cwltool parsed in this process, so jobs skip parsing them (~1 s).

    A run folder's cache holds them as they are now, with the ontologies (``$schemas``) of the
    documents loaded since: its jobs check formats against them. A ``shared`` cache (the
    user's, between runs) is written only when it lacks a CWL version this process parsed; call
    it before loading a document (:func:`parse_standard_schemas`, then this), so that it holds
    no document's ontology. When
    this process loaded exactly what it holds now from another cache file, that file is linked
    (or copied) instead of pickled again.
    """
    import pickle

    import schema_salad.schema
    from cwltool.process import SCHEMA_CACHE

    path = folder / _schema_cache_name()
    now = _fingerprint()
    held = _LOADED_SCHEMAS.get(path)
    if path.is_file() and held is not None and (set(now) <= set(held) if shared else held == now):
        return path
    from ossrflow.integrity import atomic_hardlink, atomic_write

    same = [old for old, kept in _LOADED_SCHEMAS.items() if kept == now and old != path]
    if not (same and atomic_hardlink(same[0], path)):
        _pickle_normdict()
        cached = {"schemas": dict(SCHEMA_CACHE), "metaschema": schema_salad.schema.get_metaschema()}
        atomic_write(path, pickle.dumps(cached, protocol=pickle.HIGHEST_PROTOCOL))
    _LOADED_SCHEMAS[path] = now
    return path


def load_schema_cache(folder: Path) -> bool:
    """Reuse schemas stored by :func:`save_schema_cache` (written by this run's planner)."""
    import pickle

    import schema_salad.schema
    from cwltool.process import SCHEMA_CACHE

    path = folder / _schema_cache_name()
    if path in _LOADED_SCHEMAS and _holds(_fingerprint(), _LOADED_SCHEMAS[path]):
        return True  # this process (or the planner it was forked from) has them already
    if not path.is_file():
        return False
    _pickle_normdict()
    # The file is written by ossrflow itself into the run directory, which holds the
    # Snakefile too: whoever can write it can already change what runs.
    try:
        cached = pickle.loads(path.read_bytes())  # noqa: S301
        schemas, metaschema = cached["schemas"], cached["metaschema"]
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, KeyError):
        return False  # written by another cwltool build: parse the schemas again
    SCHEMA_CACHE.update(schemas)
    if schema_salad.schema.cached_metaschema is None:
        schema_salad.schema.cached_metaschema = metaschema
    _LOADED_SCHEMAS[path] = _fingerprint()
    return True

"""The CWL schemas cwltool parses, cached on disk so that a run's jobs skip parsing them (~1 s).

The planner (:mod:`ossrflow.run.execute`) saves what its own cwltool parsed into the run
folder's ``.ossrflow/``; every job of that run loads it back before loading its document. The
file is keyed by the cwltool version: another version parses afresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_schema_cache", "save_schema_cache"]

# cache file -> the schema keys it holds (loaded or saved by this process)
_LOADED_SCHEMAS: dict[Path, set[str]] = {}


def _schema_cache_name() -> str:
    from importlib.metadata import version

    return f"cwl-schemas-cwltool-{version('cwltool')}.pickle"


def _pickle_normdict() -> None:
    """schema-salad's NormDict sets items through ``normalize``: rebuild it that way."""
    import copyreg

    from schema_salad.ref_resolver import NormDict

    def reduce(value: Any) -> Any:
        return (NormDict, (value.normalize,), None, None, iter(dict(value).items()))

    copyreg.pickle(NormDict, reduce)


def save_schema_cache(folder: Path) -> Path:
    """Store the CWL schemas cwltool parsed in this process, so jobs skip parsing them (~1 s)."""
    import pickle

    from cwltool.process import SCHEMA_CACHE

    _pickle_normdict()
    path = folder / _schema_cache_name()
    if not path.is_file() or not set(SCHEMA_CACHE) <= _LOADED_SCHEMAS.get(path, set()):
        from ossrflow.integrity import atomic_write

        atomic_write(path, pickle.dumps(dict(SCHEMA_CACHE), protocol=pickle.HIGHEST_PROTOCOL))
        _LOADED_SCHEMAS[path] = set(SCHEMA_CACHE)
    return path


def load_schema_cache(folder: Path) -> bool:
    """Reuse schemas stored by :func:`save_schema_cache` (written by this run's planner)."""
    import pickle

    from cwltool.process import SCHEMA_CACHE

    path = folder / _schema_cache_name()
    if not path.is_file():
        return False
    _pickle_normdict()
    # The file is written by ossrflow itself into the run directory, which holds the
    # Snakefile too: whoever can write it can already change what runs.
    try:
        cached = pickle.loads(path.read_bytes())  # noqa: S301
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return False  # written by another cwltool build: parse the schemas again
    SCHEMA_CACHE.update(cached)
    _LOADED_SCHEMAS[path] = set(cached)
    return True

"""Is a finished run still up to date? Answered without cwltool or Snakemake (milliseconds).

After a successful run, :func:`write_stamp` records what its result depends on: the content
(sha256) of every CWL document and the job file cwltool read, the content (sha256, through the
run folder's :class:`~ossrflow.run.keys.DigestCache`: a file is read again only when its inode,
size or times changed) of every local input file (inside input folders too), and the output
object with the size and modification time of each output file. :func:`check_stamp` compares
all of it on the next run of the same command: when nothing changed and every output is still
in place, nothing would run, so the stored output object is the answer. A touched input (same
bytes) is still up to date. Anything different, missing or unreadable means "run": the check
can only make a run skip work that the run would skip too.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ossrflow.integrity import atomic_write
from ossrflow.run.keys import DigestCache
from ossrflow.run.rundir import DOCUMENTS_STAMP, UP_TO_DATE_STAMP

__all__ = [
    "check_stamp",
    "clear_stamp",
    "write_documents",
    "write_stamp",
]

_VERSION = 2


def _local(location: str) -> Path | None:
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return Path(location) if not parts.scheme and location.startswith("/") else None


def _cwl_paths(value: Any) -> Iterator[Path]:
    """Every local File and Directory path in a CWL value (secondary files too)."""
    if isinstance(value, Mapping):
        if value.get("class") in ("File", "Directory"):
            where = _local(str(value.get("location") or value.get("path") or ""))
            if where is not None:
                yield where
        for item in value.values():
            yield from _cwl_paths(item)
    elif isinstance(value, list):
        for item in value:
            yield from _cwl_paths(item)


def _stat(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


def _files(paths: Iterable[Path]) -> dict[str, list[int] | None]:
    """Size and mtime of each path; a folder contributes every entry below it."""
    found: dict[str, list[int] | None] = {}
    for path in paths:
        found[str(path)] = _stat(path)
        if path.is_dir():
            for folder, dirs, names in os.walk(path):
                for name in dirs + names:
                    entry = Path(folder, name)
                    found[str(entry)] = _stat(entry)
    return found


def _contents(paths: Iterable[Path], cache: DigestCache) -> dict[str, str | None]:
    """The sha256 of each file; a folder contributes each entry below it (folders as ``dir``)."""
    found: dict[str, str | None] = {}
    for path in paths:
        if not path.is_dir():
            found[str(path)] = cache.digest(path)
            continue
        found[str(path)] = "dir"
        for folder, dirs, names in os.walk(path):
            for name in dirs:
                found[str(Path(folder, name))] = "dir"
            for name in names:
                found[str(Path(folder, name))] = cache.digest(Path(folder, name))
    return found


def _digest(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def write_documents(run_dir: Path, uris: Iterable[str]) -> None:
    """Remember the local documents a run was planned from (for :func:`write_stamp`).

    ``uris`` are the keys of cwltool's document index: documents, their fragments and files
    pulled in with ``$include`` (as ``include:file://...``).
    """
    local = (_local(uri.removeprefix("include:").split("#")[0]) for uri in uris)
    paths = sorted({str(path) for path in local if path is not None and path.is_file()})
    atomic_write(run_dir / DOCUMENTS_STAMP, json.dumps(paths) + "\n")


def _command(
    tool: str, job: str | None, outdir: Path | None, choices: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "tool": tool if "://" in tool else str(Path(tool).resolve()),
        "job": str(Path(job).resolve()) if job else None,
        "outdir": str(outdir.resolve()) if outdir else None,
        "choices": json.loads(json.dumps(dict(choices), sort_keys=True, default=str)),
    }


def _state(
    documents: list[str], inputs: Any, outputs: Any, result: str, cache: DigestCache
) -> dict[str, Any]:
    return {
        "result": _stat(Path(result)),
        "documents": {path: _digest(Path(path)) for path in documents},
        "inputs": _contents(_cwl_paths(inputs), cache),
        "outputs": _files(_cwl_paths(outputs)),
    }


def write_stamp(
    run_dir: Path,
    *,
    tool: str,
    job: str | None,
    outdir: Path | None,
    inputs: Any,
    outputs: dict[str, Any] | None,
    result: Path,
    choices: Mapping[str, Any] | None = None,
) -> None:
    """Record a successful run's dependencies and output object (see the module docstring).

    ``result`` is the run directory's own result object (the last job's output); ``choices``
    are run options that change what runs (e.g. the container engines), compared as they are.
    """
    try:
        documents = json.loads((run_dir / DOCUMENTS_STAMP).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    if job:
        documents.append(str(Path(job).resolve()))
    cache = DigestCache(run_dir)
    stamp = {
        "version": _VERSION,
        "command": _command(tool, job, outdir, choices or {}),
        "state": _state(documents, inputs, outputs, str(result), cache),
        "result": str(result),
        "documents": documents,
        "inputs": inputs,
        "outputs": outputs,
    }
    cache.save()
    atomic_write(run_dir / UP_TO_DATE_STAMP, json.dumps(stamp, sort_keys=True, default=str) + "\n")


def check_stamp(
    run_dir: Path,
    *,
    tool: str,
    job: str | None,
    outdir: Path | None,
    choices: Mapping[str, Any] | None = None,
) -> dict[str, Any] | None:
    """The stored output object when the run is up to date, else None."""
    try:
        stamp = json.loads((run_dir / UP_TO_DATE_STAMP).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(stamp, dict) or stamp.get("version") != _VERSION:
        return None
    if stamp.get("command") != _command(tool, job, outdir, choices or {}):
        return None
    cache = DigestCache(run_dir)
    state = _state(stamp["documents"], stamp["inputs"], stamp["outputs"], stamp["result"], cache)
    cache.save()  # a touched input was read again: remember it
    if state != stamp.get("state") or None in state["documents"].values():
        return None
    if state["result"] is None:
        return None
    if any(value is None for value in (*state["inputs"].values(), *state["outputs"].values())):
        return None
    outputs = stamp.get("outputs")
    return outputs if isinstance(outputs, dict) else None


def clear_stamp(run_dir: Path) -> None:
    """Forget the stamp: the run is about to change."""
    (run_dir / UP_TO_DATE_STAMP).unlink(missing_ok=True)

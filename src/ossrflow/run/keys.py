"""Content keys: what a job reads, by content, so that an edited input reruns what reads it.

:class:`DigestCache` gives a file's sha256 and remembers it with the file's device, inode, size,
modification and change times (``RUN_DIR/.ossrflow/digests.json``): a file is read again only
when one of them changed, so touching a file costs one read and no rerun, and an unchanged
run costs one ``stat`` per input. :func:`content_key` is the sha256 of a CWL value in which every
File and Directory is replaced by what it holds (basename, format, the content's sha256, its
secondary files; a folder's entries by relative name), so moving nothing and touching nothing
keeps the key, and changing one byte changes it.

Files under the run folder's ``steps/`` were written by the run's own jobs: their ``checksum``
(cwltool's sha1 of the output) is taken as it is, so a job needs not read its inputs to know
their key. Any other checksum in a job order is ignored (the file may have changed since).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ossrflow.integrity import atomic_write, hash_file
from ossrflow.run.rundir import DIGESTS_FILE, STEPS_DIR

__all__ = ["DigestCache", "content_key", "local_path"]

_VERSION = 1


def local_path(location: str) -> Path | None:
    """The path of a ``file:`` URI or an absolute path; None for anything else."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    return Path(location) if not parts.scheme and location.startswith("/") else None


class DigestCache:
    """sha256 of files, kept by (device, inode, size, mtime, ctime) in ``RUN_DIR/.ossrflow``.

    Jobs open it read-only (``writable=False``); the planner and ``split`` jobs save what they
    added (:meth:`save`; a lost update only costs a read next time).
    """

    def __init__(self, run_dir: Path, *, writable: bool = True) -> None:
        self.run_dir = run_dir
        self.path = run_dir / DIGESTS_FILE
        self.steps = str(run_dir / STEPS_DIR) + os.sep
        self.writable = writable
        self.changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {}
        files = data.get("files") if isinstance(data, dict) and data.get("version") else None
        self.files: dict[str, list[Any]] = files if isinstance(files, dict) else {}

    def digest(self, path: Path) -> str | None:
        """The sha256 of the file at ``path`` (links followed); None when it cannot be read."""
        try:
            info = path.stat()
        except OSError:
            return None
        stamp = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns]
        known = self.files.get(str(path))
        if known is not None and known[:5] == stamp:
            return str(known[5])
        try:
            digest = hash_file(path)["sha256"]
        except OSError:
            return None
        self.files[str(path)] = [*stamp, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        """Write what was added (planner and ``split`` jobs only)."""
        if self.writable and self.changed:
            text = json.dumps({"version": _VERSION, "files": self.files}, sort_keys=True)
            atomic_write(self.path, text + "\n")
            self.changed = False

    def own_output(self, path: Path) -> bool:
        """Whether ``path`` was written by a job of this run (its checksum can be trusted)."""
        return str(path).startswith(self.steps)


def content_key(value: Any, cache: DigestCache) -> str:
    """The sha256 of ``value`` with every File and Directory replaced by its content."""
    text = json.dumps(_canonical(value, cache), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any, cache: DigestCache) -> Any:
    if isinstance(value, Mapping):
        kind = value.get("class")
        if kind == "File":
            return _file(value, cache)
        if kind == "Directory":
            return _directory(value, cache)
        return {str(key): _canonical(item, cache) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item, cache) for item in value]
    return value


def _file(value: Mapping[str, Any], cache: DigestCache) -> dict[str, Any]:
    location = str(value.get("location") or value.get("path") or "")
    path = local_path(location)
    basename = value.get("basename") or (path.name if path is not None else None)
    found: dict[str, Any] = {"class": "File", "basename": basename}
    if value.get("format") is not None:
        found["format"] = value["format"]
    checksum = value.get("checksum")
    if location.startswith("_:") or (not location and "contents" in value):
        found["contents"] = value.get("contents")
    elif path is None:
        found["location"] = location  # a remote file: its address is all that is known here
    elif isinstance(checksum, str) and cache.own_output(path):
        found["checksum"] = checksum
    else:
        found["sha256"] = cache.digest(path)
    if value.get("secondaryFiles"):
        found["secondaryFiles"] = [_canonical(item, cache) for item in value["secondaryFiles"]]
    return found


def _directory(value: Mapping[str, Any], cache: DigestCache) -> dict[str, Any]:
    location = str(value.get("location") or value.get("path") or "")
    path = local_path(location)
    found: dict[str, Any] = {"class": "Directory"}
    if path is None or not path.is_dir():
        found["basename"] = value.get("basename")
        found["listing"] = [_canonical(item, cache) for item in value.get("listing") or []]
        if path is None and not location.startswith("_:"):
            found["location"] = location
        return found
    found["basename"] = value.get("basename") or path.name
    entries: list[list[Any]] = []
    for folder, dirs, names in os.walk(path):
        dirs.sort()
        base = Path(folder)
        for name in dirs:
            entries.append([(base / name).relative_to(path).as_posix(), "dir"])
        for name in sorted(names):
            entry = base / name
            entries.append([entry.relative_to(path).as_posix(), cache.digest(entry)])
    found["entries"] = entries
    return found

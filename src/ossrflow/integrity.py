"""Checksums, safe paths and atomic writes: the three guards every byte ossrflow keeps goes through.

- ``parse_checksum("md5:…")`` / ``hash_file`` / ``verify_checksum``: streaming digests in the
  ``algorithm:hexdigest`` form Zenodo publishes (md5, sha1, sha256, sha512, and Rucio's adler32).
- ``check_name`` / ``safe_join``: a name from a registry, cart or workflow file becomes part of a
  path only after it is refused for ``/``, ``..``, absolute paths and control characters.
- ``atomic_write`` / ``atomic_symlink`` / ``atomic_hardlink`` / ``promote``: content (or a link)
  appears under its final name whole, or not at all: it is made under a temporary name beside the
  final one, then renamed onto it, so a reader sees the old entry or the new one, never neither.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ossrflow.errors import ChecksumMismatch, InputError, UnsafeValue

__all__ = [
    "ALGORITHMS",
    "Checksum",
    "atomic_hardlink",
    "atomic_symlink",
    "atomic_write",
    "check_name",
    "hash_file",
    "parse_checksum",
    "promote",
    "safe_join",
    "verify_checksum",
    "write_if_changed",
]

CHUNK = 1 << 20
ALGORITHMS = ("md5", "sha1", "sha256", "sha512", "adler32")
_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "adler32": 8}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class _Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


class _Adler32:
    """hashlib-like wrapper around zlib.adler32 (Rucio's checksum)."""

    def __init__(self) -> None:
        self.value = 1

    def update(self, data: bytes, /) -> None:
        self.value = zlib.adler32(data, self.value)

    def hexdigest(self) -> str:
        return f"{self.value:08x}"


def _new_hasher(algorithm: str) -> _Hasher:
    if algorithm == "adler32":
        return _Adler32()
    return hashlib.new(algorithm, usedforsecurity=False)


@dataclass(frozen=True)
class Checksum:
    """A digest in the ``algorithm:hexdigest`` form, e.g. ``md5:2942bfabb3d05332b66eb128e0842cff``."""

    algorithm: str
    digest: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.digest}"


def parse_checksum(
    text: str, *, source: str | None = None, location: str | None = None
) -> Checksum:
    """Parse ``algorithm:hexdigest``; refuse unknown algorithms and malformed digests."""
    algorithm, sep, digest = str(text).strip().partition(":")
    algorithm, digest = algorithm.lower(), digest.lower()
    if not sep or algorithm not in ALGORITHMS:
        raise InputError(
            f"checksum {text!r} is not of the form ALGORITHM:HEX",
            source=source,
            location=location,
            hint=f"write it as one of {', '.join(a + ':…' for a in ALGORITHMS)}",
        )
    if len(digest) != _HEX_LENGTH[algorithm] or not re.fullmatch(r"[0-9a-f]+", digest):
        raise InputError(
            f"checksum {text!r} has a malformed {algorithm} digest",
            source=source,
            location=location,
            hint=f"a {algorithm} digest is {_HEX_LENGTH[algorithm]} hexadecimal characters",
        )
    return Checksum(algorithm, digest)


def hash_file(path: Path, algorithms: Iterable[str] = ("sha256",)) -> dict[str, str]:
    """Stream ``path`` once and return ``{algorithm: hexdigest}`` for every algorithm asked."""
    hashers = {name: _new_hasher(name) for name in algorithms}
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            for hasher in hashers.values():
                hasher.update(chunk)
    return {name: hasher.hexdigest() for name, hasher in hashers.items()}


def verify_checksum(path: Path, expected: Checksum, *, source: str | None = None) -> None:
    """Raise :class:`ChecksumMismatch` unless ``path`` has the ``expected`` digest."""
    actual = hash_file(path, [expected.algorithm])[expected.algorithm]
    if actual != expected.digest:
        raise ChecksumMismatch(
            f"checksum mismatch: expected {expected}, got {expected.algorithm}:{actual}",
            source=source or str(path),
            hint="the source changed or the transfer was corrupted; nothing was kept",
        )


def check_name(name: str, *, source: str | None = None, location: str | None = None) -> str:
    """Return ``name`` if it is safe as one path component, else raise :class:`UnsafeValue`."""
    problem = None
    if not name or name in {".", ".."}:
        problem = f"name {name!r} is empty or a relative directory"
    elif "/" in name or "\\" in name:
        problem = f"name {name!r} contains a path separator"
    elif _CONTROL.search(name):
        problem = f"name {name!r} contains a control character"
    if problem:
        raise UnsafeValue(
            problem, source=source, location=location, hint="use a plain file name without / or .."
        )
    return name


def safe_join(
    root: Path, relative: str, *, source: str | None = None, location: str | None = None
) -> Path:
    """Join an untrusted relative path under ``root``, refusing anything that could leave it.

    Absolute paths, ``..`` components, control characters and symlinks that point outside
    ``root`` are refused.
    """
    parts = relative.replace("\\", "/").split("/")
    if relative.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", relative):
        raise UnsafeValue(
            f"path {relative!r} is absolute",
            source=source,
            location=location,
            hint="give a path relative to its folder",
        )
    for part in parts:
        if part == "..":
            raise UnsafeValue(
                f"path {relative!r} climbs out of its folder with '..'",
                source=source,
                location=location,
                hint="give a path inside its folder",
            )
        if _CONTROL.search(part):
            raise UnsafeValue(
                f"path {relative!r} contains a control character",
                source=source,
                location=location,
                hint="rename the file",
            )
    candidate = root.joinpath(*[p for p in parts if p not in {"", "."}])
    real_root = root.resolve()
    if not candidate.resolve().is_relative_to(real_root):
        raise UnsafeValue(
            f"path {relative!r} leads outside {root} through a symbolic link",
            source=source,
            location=location,
            hint="replace the link by the file itself",
        )
    return candidate


def _replace(target: Path, make: Callable[[Path], object]) -> Path:
    """Have ``make`` create an entry under a temporary name beside ``target``, then rename it onto
    ``target`` (atomic, replacing what is there); the temporary entry never stays behind.

    The temporary name, ``.<name>.<pid>.<random>.part``, is unique per process and per call, so
    processes and threads placing the same target at once never share one.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(8)}.part")
    try:
        make(temporary)
        temporary.replace(target)
    finally:
        # gone after a rename, except when both names already were links to one file (a hard
        # link put where it is already): rename(2) then leaves both in place
        temporary.unlink(missing_ok=True)
    return target


def atomic_write(path: Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename it.

    The file is flushed to disk before the rename and has mode 0600 (as ``tempfile.mkstemp``'s).
    """
    payload = data.encode() if isinstance(data, str) else data

    def write(temporary: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        with os.fdopen(os.open(temporary, flags, 0o600), "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())

    return _replace(path, write)


def atomic_symlink(source: Path, target: Path) -> Path:
    """Make ``target`` a symbolic link to ``source``, replacing an entry there in one rename.

    Raises :class:`OSError` when the link cannot be made or renamed (e.g. ``target`` is a folder).
    """
    return _replace(target, lambda temporary: temporary.symlink_to(source))


def atomic_hardlink(source: Path, target: Path) -> bool:
    """Put the file ``source`` at ``target`` (a hard link, else a copy) in one rename.

    Returns False, leaving ``target`` as it was, when neither a link nor a copy could be put there.
    """

    def link_or_copy(temporary: Path) -> None:
        try:
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)

    try:
        _replace(target, link_or_copy)
    except OSError:
        return False
    return True


def write_if_changed(path: Path, text: str) -> None:
    """:func:`atomic_write` unless ``path`` already holds ``text`` (its mtime then stays, so
    Snakemake sees nothing new)."""
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return
    atomic_write(path, text)


def promote(tmp: Path, final: Path) -> Path:
    """Move a finished temporary file to its final name atomically; keep an existing final file.

    Content-addressed stores never overwrite: when ``final`` exists, ``tmp`` is removed.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        tmp.unlink(missing_ok=True)
        return final
    tmp.replace(final)
    return final

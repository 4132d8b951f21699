"""A content-addressed file store: each file lives once, under every digest known for it.

Layout under the store root::

    sha256/ab/abcdef…      the file itself (sha256 is always computed)
    md5/12/1234…           hard links to the same file, for each digest the source published
    tmp/                   downloads in progress (``*.part``, resumable)

A file enters only after its published checksum was verified, by an atomic rename, and is
never overwritten. Looking a file up by the digest its source publishes (Zenodo's md5, Rucio's
adler32) finds it without downloading again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import httpx

from ossrflow.integrity import ALGORITHMS, Checksum, hash_file, promote
from ossrflow.transfer import ProgressCallback, download

__all__ = ["ContentStore"]


class ContentStore:
    """Files keyed by content. Safe for several processes: every step ends in an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, checksum: Checksum) -> Path:
        """Where a file with this digest lives (whether or not it is there)."""
        digest = checksum.digest
        return self.root / checksum.algorithm / digest[:2] / digest

    def get(self, checksum: Checksum) -> Path | None:
        """The stored file with this digest, or None."""
        path = self.path_for(checksum)
        return path if path.is_file() else None

    def add_file(self, source: Path, extra: Iterable[Checksum] = ()) -> tuple[Path, Checksum]:
        """Copy ``source`` into the store; return its stored path and sha256."""
        tmp = self._tmp_path(source.name)
        with source.open("rb") as src, tmp.open("wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        return self._admit(tmp, extra)

    def fetch(
        self,
        client: httpx.Client,
        url: str,
        expected: Checksum | None,
        *,
        size: int | None = None,
        progress: ProgressCallback | None = None,
        label: str | None = None,
    ) -> tuple[Path, Checksum]:
        """Return the stored file for ``expected``, downloading (resumably) only when absent."""
        if expected is not None and (found := self.get(expected)) is not None:
            return found, Checksum("sha256", hash_file(found)["sha256"])
        key = str(expected) if expected else url
        part_name = hash_file_name(key)
        tmp = self.root / "tmp" / part_name
        download(client, url, tmp, expected=expected, size=size, progress=progress, label=label)
        return self._admit(tmp, [expected] if expected else [])

    def _tmp_path(self, hint: str) -> Path:
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".add.", suffix=".part", dir=folder)
        os.close(fd)
        return Path(name)

    def _admit(self, tmp: Path, extra: Iterable[Checksum]) -> tuple[Path, Checksum]:
        extra = [c for c in extra if c.algorithm in ALGORITHMS and c.algorithm != "sha256"]
        digests = hash_file(tmp, ["sha256", *(c.algorithm for c in extra)])
        sha = Checksum("sha256", digests["sha256"])
        final = promote(tmp, self.path_for(sha))
        for checksum in extra:
            alias = self.path_for(Checksum(checksum.algorithm, digests[checksum.algorithm]))
            if not alias.exists():
                alias.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    os.link(final, alias)
        return final, sha


def hash_file_name(key: str) -> str:
    """A stable, safe file name for a temporary download keyed by ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()[:32] + ".download"

"""A content-addressed file store, and the bounded, verified downloads that fill it.

Layout under the store root::

    sha256/ab/abcdef…      the file itself (sha256 is always computed)
    md5/12/1234…           hard links to the same file, for each digest the source published
    tmp/                   downloads in progress (``*.part``, resumable when verifiable)

A file enters only after every check passed (its size, its published checksum, and any
``verify`` the caller gives, such as its type), by an atomic rename, and is never overwritten.
Looking a file up by the digest its source publishes (Zenodo's md5, Rucio's adler32) finds it
without downloading again.

:func:`download` never reads more than it may: it stops as soon as the bytes pass the size the
source declares or, without one, the maximum it is given (``Settings.max_download_size``), and
refuses at once an answer whose ``Content-Length`` contradicts either or exceeds the free disk
space. A refused download leaves nothing behind; a broken one is kept for a resume only when its
checksum is known (an unverifiable partial file is never resumed). Downloads of the same file by
several threads or processes wait for each other (:func:`exclusive`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from ossrflow.errors import ChecksumMismatch, InputError
from ossrflow.integrity import ALGORITHMS, Checksum, hash_file, promote
from ossrflow.transfer import (
    HINT_MISBEHAVING,
    Progress,
    ProgressCallback,
    check_response,
    service_error,
    transport_error,
)

__all__ = ["ContentStore", "Verify", "download", "exclusive", "hash_file_name", "strongest"]

Verify = Callable[[Path], None]  # raises (an InputError) to refuse a file before it is stored
_HINT_SIZE = "correct the size in the cart, or check the source"
_HINT_MAXIMUM = "declare the item's size (size: in the cart), or raise OSSRFLOW_MAX_DOWNLOAD_SIZE"


class ContentStore:
    """Files keyed by content. Safe for several processes: every step ends in an atomic rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, checksum: Checksum) -> Path:
        """Where a file with this digest lives (whether or not it is there)."""
        digest = checksum.digest
        return self.root / checksum.algorithm / digest[:2] / digest

    def get(self, checksum: Checksum, *, size: int | None = None) -> Path | None:
        """The stored file with this digest (and this size, when given), or None."""
        path = self.path_for(checksum)
        if not path.is_file() or (size is not None and path.stat().st_size != size):
            return None
        return path

    def find(self, checksum: Checksum, *, size: int | None = None) -> tuple[Path, Checksum] | None:
        """The stored file with this digest (and size), by its sha256 path, and its sha256."""
        if (found := self.get(checksum, size=size)) is None:
            return None
        if checksum.algorithm == "sha256":
            return found, checksum
        sha = Checksum("sha256", hash_file(found)["sha256"])
        canonical = self.path_for(sha)
        return (canonical if canonical.is_file() else found), sha

    def add_file(
        self, source: Path, extra: Iterable[Checksum] = (), *, verify: Verify | None = None
    ) -> tuple[Path, Checksum]:
        """Copy ``source`` into the store; return its stored path and sha256.

        ``verify(copy)`` may refuse the copy before it is stored (nothing is then kept).
        """
        tmp = self._tmp_path(source.name)
        try:
            with source.open("rb") as src, tmp.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    dst.write(chunk)
            if verify is not None:
                verify(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return self._admit(tmp, extra)

    def fetch(
        self,
        client: httpx.Client,
        url: str,
        expected: Checksum | None,
        *,
        size: int | None = None,
        max_bytes: int | None = None,
        progress: ProgressCallback | None = None,
        label: str | None = None,
        verify: Verify | None = None,
        extra: Iterable[Checksum] = (),
    ) -> tuple[Path, Checksum]:
        """Return the stored file for ``expected`` (and ``size``), downloading only when absent.

        ``extra``: more digests the source publishes (Rucio: md5 besides adler32), verified too;
        the store is searched by the strongest digest given (adler32's 32 bits collide) and the
        file is kept under each. See :func:`download` for ``size``, ``max_bytes`` and ``verify``.
        """
        extra = list(extra)
        key = strongest([*([expected] if expected else []), *extra])
        if key is not None and (found := self.find(key, size=size)) is not None:
            return found
        tmp = self.root / "tmp" / hash_file_name(str(expected) if expected else url)
        with exclusive(tmp.with_suffix(".lock")):
            if key is not None and (found := self.find(key, size=size)) is not None:
                return found  # another thread or process finished it meanwhile
            download(
                client,
                url,
                tmp,
                expected=expected,
                also=extra,
                size=size,
                max_bytes=max_bytes,
                progress=progress,
                label=label,
                verify=verify,
            )
            return self._admit(tmp, [*([expected] if expected else []), *extra])

    def _tmp_path(self, hint: str) -> Path:
        folder = self.root / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".add.", suffix=".part", dir=folder)
        os.close(fd)
        # mkstemp makes 0600; a stored copy gets the mode a download gets (the umask's), so that
        # a step running as another user (a service's container) can read its input.
        path = Path(name)
        path.chmod(0o666 & ~_current_umask())
        return path

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


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_STRENGTH = ("sha512", "sha256", "sha1", "md5", "adler32")


def strongest(checksums: Iterable[Checksum]) -> Checksum | None:
    """The checksum of the strongest algorithm (sha512 … md5, adler32 last), or None."""
    known = [c for c in checksums if c.algorithm in _STRENGTH]
    return min(known, key=lambda c: _STRENGTH.index(c.algorithm), default=None)


def hash_file_name(key: str) -> str:
    """A stable, safe file name for a temporary download keyed by ``key``."""
    return hashlib.sha256(key.encode()).hexdigest()[:32] + ".download"


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


@contextlib.contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Hold the lock file ``lock`` exclusively against other threads and processes.

    The file exists only while it is held (it is removed before it is released): whoever waited
    on a removed file takes the new one, so nothing is left behind.
    """
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            if os.fstat(fd).st_ino == lock.stat().st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)
        os.close(fd)


def download(
    client: httpx.Client,
    url: str,
    dest: Path,
    *,
    expected: Checksum | None = None,
    also: Sequence[Checksum] = (),
    size: int | None = None,
    max_bytes: int | None = None,
    progress: ProgressCallback | None = None,
    label: str | None = None,
    verify: Verify | None = None,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part``; check it; only then rename it.

    - Size: reading stops as soon as the bytes pass ``size`` (the size the source declares) or,
      without one, ``max_bytes``; an answer whose ``Content-Length`` contradicts ``size`` or
      exceeds ``max_bytes`` (or the free disk space) is refused before its body is read.
    - Checks, in order: the size, the ``expected`` checksum, the ``also`` checksums (more that
      the source publishes), then ``verify(part)`` (e.g. the file's type), which raises to
      refuse it.
    - Nothing that failed a check is kept: ``dest.part`` is deleted. It is kept for a later
      resume (a ``Range`` request) only when the transfer itself broke *and* ``expected`` can
      verify the result; without ``expected`` every download starts from zero.

    The caller is the only writer of ``dest.part`` (see :func:`exclusive`).
    """
    part = _part_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if expected is None:
        part.unlink(missing_ok=True)  # an unverifiable partial file is never resumed
    limit = size if size is not None else max_bytes
    try:
        _receive(
            client,
            url,
            part,
            _Limit(size, max_bytes, limit),
            progress,
            label or dest.name,
            resumable=expected is not None,
        )
        _check_size(part, size, url)
        _check_digests(part, [*([expected] if expected else []), *also], url)
        if verify is not None:
            verify(part)
    except BaseException as exc:
        resumable = expected is not None and not isinstance(exc, InputError)
        if not resumable or (part.exists() and part.stat().st_size == 0):
            part.unlink(missing_ok=True)
        raise
    part.replace(dest)
    return dest


def _check_digests(part: Path, published: Sequence[Checksum], url: str) -> None:
    if not published:
        return
    actual = hash_file(part, {c.algorithm for c in published})
    for checksum in published:
        if actual[checksum.algorithm] != checksum.digest:
            raise ChecksumMismatch(
                f"checksum mismatch: the source publishes {checksum}, "
                f"the bytes have {checksum.algorithm}:{actual[checksum.algorithm]}",
                source=url,
                hint="the file changed or was corrupted on the way; nothing was kept",
            )


@dataclass(frozen=True)
class _Limit:
    declared: int | None  # the size the source declares
    maximum: int | None  # without a declared size
    bytes: int | None  # what may be read in all


def _receive(
    client: httpx.Client,
    url: str,
    part: Path,
    limit: _Limit,
    progress: ProgressCallback | None,
    label: str,
    resumable: bool,
) -> None:
    offset = part.stat().st_size if part.exists() else 0
    if limit.bytes is not None and offset > limit.bytes:
        part.unlink()
        offset = 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and offset:
                return  # the part file already holds everything: it is checked next
            check_response(response, what=f"file {label}")
            if offset and response.status_code == 206:
                _check_resumed_at(response, offset, url)
            elif offset:
                offset = 0  # the server ignored Range: start over
            total = _content_total(response, offset)
            _check_announced(total, offset, limit, part, url)
            _write_body(response, part, offset, limit, progress, label, total)
    except httpx.TransportError as exc:
        again = "; run again to resume it" if resumable else "; run again"
        if isinstance(exc, (httpx.TimeoutException, httpx.ConnectError)):
            raise transport_error(url, exc, again) from None
        raise service_error(url, f"the download broke ({type(exc).__name__}){again}") from None
    except httpx.DecodingError as exc:
        raise service_error(url, f"the server sent undecodable bytes ({exc})") from None


def _check_resumed_at(response: httpx.Response, offset: int, url: str) -> None:
    found = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    if found is None or int(found[1]) != offset:
        raise service_error(
            url,
            f"asked to resume at byte {offset}, the server sent "
            f"{response.headers.get('Content-Range') or 'no Content-Range'}",
            HINT_MISBEHAVING,
        )


def _content_total(response: httpx.Response, offset: int) -> int | None:
    length = response.headers.get("Content-Length", "")
    if not length.isdigit() or response.headers.get("Content-Encoding"):
        return None
    return int(length) + (offset if response.status_code == 206 else 0)


def _check_announced(total: int | None, offset: int, limit: _Limit, part: Path, url: str) -> None:
    """Refuse, before reading the body, what cannot fit: a size contradicting the declared one,
    one over the maximum, or one over the free disk space."""
    if total is None:
        return
    if limit.declared is not None and total != limit.declared:
        raise ChecksumMismatch(
            f"size mismatch: the source declares {limit.declared} bytes, "
            f"the server announces {total}",
            source=url,
            hint=_HINT_SIZE + "; nothing was downloaded",
        )
    if limit.maximum is not None and limit.declared is None and total > limit.maximum:
        raise InputError(
            f"the server announces {total} bytes, more than the {limit.maximum} bytes allowed "
            "for an item without a declared size",
            source=url,
            hint=_HINT_MAXIMUM + "; nothing was downloaded",
        )
    free = shutil.disk_usage(part.parent).free
    if total - offset > free:
        raise InputError(
            f"the file needs {total - offset} bytes, but only {free} are free in {part.parent}",
            source=url,
            hint="free some space, or stage into another store (--store DIR); nothing was kept",
        )


def _write_body(
    response: httpx.Response,
    part: Path,
    offset: int,
    limit: _Limit,
    progress: ProgressCallback | None,
    label: str,
    total: int | None,
) -> None:
    mode = "ab" if offset and response.status_code == 206 else "wb"
    done = offset if mode == "ab" else 0
    total = limit.declared if limit.declared is not None else total
    with part.open(mode) as handle:
        for chunk in response.iter_bytes():
            done += len(chunk)
            if limit.bytes is not None and done > limit.bytes:
                raise _oversize(limit, str(response.request.url))
            handle.write(chunk)
            if progress:
                progress(Progress(label, done, total))


def _oversize(limit: _Limit, url: str) -> InputError:
    if limit.declared is not None:
        return ChecksumMismatch(
            f"size mismatch: the source declares {limit.declared} bytes, the server sends more; "
            "stopped reading",
            source=url,
            hint=_HINT_SIZE + "; nothing was kept",
        )
    return InputError(
        f"the download passed the {limit.maximum} bytes allowed for an item without a declared "
        "size; stopped reading",
        source=url,
        hint=_HINT_MAXIMUM + "; nothing was kept",
    )


def _check_size(part: Path, declared: int | None, url: str) -> None:
    actual = part.stat().st_size
    if declared is not None and actual != declared:
        raise ChecksumMismatch(
            f"size mismatch: the source declares {declared} bytes, the server sent {actual}",
            source=url,
            hint=_HINT_SIZE + "; nothing was kept",
        )

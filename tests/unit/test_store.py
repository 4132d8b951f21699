"""The content store and its downloads: bounded, verified, one per content, never overwritten."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import zlib
from pathlib import Path

import pytest

from ossrflow.errors import ChecksumMismatch, InputError, NotFound, ServiceError
from ossrflow.integrity import Checksum
from ossrflow.store import ContentStore, download, exclusive, strongest
from ossrflow.transfer import Progress, make_client
from tests.hostile.servers import LyingServer, SilentServer
from tests.support.httpserver import LoopbackServer

BODY = b"astroparticle data\n" * 100
MD5 = Checksum("md5", hashlib.md5(BODY, usedforsecurity=False).hexdigest())
SHA = Checksum("sha256", hashlib.sha256(BODY).hexdigest())


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_fetch_stores_under_sha256_with_md5_alias(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=BODY)
    store = ContentStore(tmp_path / "store")
    with make_client(timeout=2, retries=0) as client:
        path, sha = store.fetch(client, f"{http_server.url}/f", MD5)
    assert sha == SHA
    assert path == tmp_path / "store" / "sha256" / SHA.digest[:2] / SHA.digest
    alias = store.path_for(MD5)
    assert alias.read_bytes() == BODY
    assert alias.stat().st_ino == path.stat().st_ino  # a hard link, not a copy


def test_store_never_downloads_twice(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=BODY)
    store = ContentStore(tmp_path / "store")
    with make_client(timeout=2, retries=0) as client:
        first, _ = store.fetch(client, f"{http_server.url}/f", MD5)
        second, sha = store.fetch(client, f"{http_server.url}/f", MD5)
    assert len(http_server.requests) == 1
    assert second.read_bytes() == BODY
    assert sha == SHA
    assert store.get(MD5) is not None and store.get(SHA) == first


def test_checksum_mismatch_leaves_the_store_empty(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=BODY)
    store = ContentStore(tmp_path / "store")
    with make_client(timeout=2, retries=0) as client, pytest.raises(ChecksumMismatch):
        store.fetch(client, f"{http_server.url}/f", Checksum("md5", "f" * 32))
    assert files_under(tmp_path / "store") == []
    assert store.get(Checksum("md5", "f" * 32)) is None


def test_add_file_never_overwrites(tmp_path: Path):
    source = tmp_path / "a.txt"
    source.write_bytes(BODY)
    store = ContentStore(tmp_path / "store")
    path, sha = store.add_file(source, [MD5])
    path.chmod(0o444)
    again, _ = store.add_file(source, [MD5])
    assert again == path and sha == SHA
    assert [p.name for p in files_under(tmp_path / "store")] == [MD5.digest, SHA.digest]


DATA = b"0123456789" * 1000
DATA_MD5 = Checksum("md5", hashlib.md5(DATA, usedforsecurity=False).hexdigest())
MB = 1 << 20


# --- downloads ----------------------------------------------------------------------------


def test_an_added_file_is_readable_as_the_umask_allows(tmp_path: Path):
    """A step running as another user (a service's container) must read its staged input."""
    source = tmp_path / "private.txt"
    source.write_bytes(b"data")
    source.chmod(0o600)
    previous = os.umask(0o022)
    try:
        stored, _ = ContentStore(tmp_path / "store").add_file(source)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o644


def test_download_verifies_and_renames(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=DATA)
    seen: list[Progress] = []
    dest = tmp_path / "out" / "file.bin"
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest, expected=DATA_MD5, progress=seen.append)
    assert dest.read_bytes() == DATA
    assert not dest.with_name("file.bin.part").exists()
    assert seen[-1] == Progress("file.bin", len(DATA), len(DATA))


def test_partial_download_resumes_with_range(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=DATA)
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(DATA[:1234])
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest, expected=DATA_MD5, size=len(DATA))
    assert dest.read_bytes() == DATA
    assert http_server.requests[0].headers["range"] == "bytes=1234-"


def test_complete_part_file_is_verified_after_416(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=DATA)
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(DATA)
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest, expected=DATA_MD5)
    assert dest.read_bytes() == DATA


def test_server_ignoring_range_starts_over(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", answers=[(200, {}, DATA)])  # no Range support on this route
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(b"garbage!")
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest, expected=DATA_MD5)
    assert dest.read_bytes() == DATA


def test_checksum_mismatch_keeps_nothing(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=DATA)
    dest = tmp_path / "file.bin"
    wrong = Checksum("md5", "0" * 32)
    with make_client(timeout=2, retries=0) as client, pytest.raises(ChecksumMismatch) as caught:
        download(client, f"{http_server.url}/f", dest, expected=wrong)
    assert str(caught.value) == (
        f"{http_server.url}/f: checksum mismatch: the source publishes md5:{'0' * 32}, "
        f"the bytes have md5:{DATA_MD5.digest} "
        "(fix: the file changed or was corrupted on the way; nothing was kept)"
    )
    assert list(tmp_path.iterdir()) == []


def test_download_of_missing_file_is_not_found(http_server: LoopbackServer, tmp_path: Path):
    with make_client(timeout=2, retries=0) as client, pytest.raises(NotFound):
        download(client, f"{http_server.url}/nothing", tmp_path / "x", expected=DATA_MD5)
    assert not (tmp_path / "x").exists()


# --- limits: a download never reads more than it may --------------------------------------------


def test_a_size_contradicting_the_content_length_is_refused_before_the_body(tmp_path: Path):
    dest = tmp_path / "f"
    with (
        LyingServer(300 * MB, announce=300 * MB) as server,
        make_client(timeout=5, retries=0) as client,
        pytest.raises(ChecksumMismatch) as caught,
    ):
        download(client, f"{server.url}/f", dest, size=1000)
    assert str(caught.value) == (
        f"{server.url}/f: size mismatch: the source declares 1000 bytes, the server announces "
        f"{300 * MB} (fix: correct the size in the cart, or check the source; nothing was "
        "downloaded)"
    )
    assert server.sent < 16 * MB
    assert list(tmp_path.iterdir()) == []


def test_reading_stops_as_soon_as_the_bytes_pass_the_declared_size(tmp_path: Path):
    with (
        LyingServer(300 * MB, announce=None) as server,
        make_client(timeout=5, retries=0) as client,
        pytest.raises(ChecksumMismatch) as caught,
    ):
        download(client, f"{server.url}/f", tmp_path / "f", size=1000, expected=DATA_MD5)
    assert caught.value.problem == (
        "size mismatch: the source declares 1000 bytes, the server sends more; stopped reading"
    )
    assert server.sent < 16 * MB
    assert list(tmp_path.iterdir()) == []  # refused: not even kept for a resume


def test_without_a_declared_size_the_maximum_applies(tmp_path: Path):
    with (
        LyingServer(300 * MB, announce=300 * MB) as announced,
        LyingServer(300 * MB, announce=None) as unannounced,
        make_client(timeout=5, retries=0) as client,
    ):
        with pytest.raises(InputError) as before:
            download(client, f"{announced.url}/f", tmp_path / "a", max_bytes=MB)
        with pytest.raises(InputError) as during:
            download(client, f"{unannounced.url}/f", tmp_path / "b", max_bytes=MB)
    assert before.value.problem == (
        f"the server announces {300 * MB} bytes, more than the {MB} bytes allowed for an item "
        "without a declared size"
    )
    assert before.value.hint == (
        "declare the item's size (size: in the cart), or raise OSSRFLOW_MAX_DOWNLOAD_SIZE; "
        "nothing was downloaded"
    )
    assert during.value.problem == (
        f"the download passed the {MB} bytes allowed for an item without a declared size; "
        "stopped reading"
    )
    assert unannounced.sent < 16 * MB
    assert list(tmp_path.iterdir()) == []


def test_a_file_larger_than_the_free_disk_space_is_refused_before_the_body(tmp_path: Path):
    huge = 1 << 60
    with (
        LyingServer(MB, announce=huge) as server,
        make_client(timeout=5, retries=0) as client,
        pytest.raises(InputError) as caught,
    ):
        download(client, f"{server.url}/f", tmp_path / "f", size=huge)
    assert caught.value.problem.startswith(f"the file needs {huge} bytes, but only ")
    assert caught.value.problem.endswith(f" are free in {tmp_path}")
    assert list(tmp_path.iterdir()) == []


def test_a_broken_transfer_is_kept_for_a_resume_only_when_verifiable(tmp_path: Path):
    with LyingServer(500, announce=1000) as server, make_client(timeout=5, retries=0) as client:
        for dest, expected in ((tmp_path / "verifiable", DATA_MD5), (tmp_path / "unknown", None)):
            with pytest.raises(ServiceError, match="the download broke"):
                download(client, f"{server.url}/f", dest, expected=expected)
    assert [(p.name, p.stat().st_size) for p in tmp_path.iterdir()] == [("verifiable.part", 500)]


def test_an_unverifiable_partial_file_is_never_resumed(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=DATA)
    dest = tmp_path / "f"
    dest.with_name("f.part").write_bytes(b"not the start of the file")
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest)
    assert dest.read_bytes() == DATA
    assert "range" not in http_server.requests[0].headers


def test_a_resume_at_the_wrong_offset_is_refused(http_server: LoopbackServer, tmp_path: Path):
    wrong = (206, {"Content-Range": f"bytes 0-{len(DATA) - 1}/{len(DATA)}"}, DATA)
    http_server.route("/f", answers=[wrong])
    dest = tmp_path / "f"
    dest.with_name("f.part").write_bytes(DATA[:100])
    with make_client(timeout=2, retries=0) as client, pytest.raises(ServiceError) as caught:
        download(client, f"{http_server.url}/f", dest, expected=DATA_MD5)
    assert caught.value.problem == (
        f"asked to resume at byte 100, the server sent bytes 0-{len(DATA) - 1}/{len(DATA)}"
    )


def test_a_server_that_never_answers_times_out_and_keeps_nothing(tmp_path: Path):
    with (
        SilentServer() as server,
        make_client(timeout=0.5, retries=0) as client,
        pytest.raises(ServiceError) as caught,
    ):
        download(client, f"{server.url}/f", tmp_path / "f", expected=DATA_MD5)
    assert caught.value.problem == "the server did not answer in time; run again to resume it"
    assert list(tmp_path.iterdir()) == []


def test_verify_refuses_a_file_before_it_is_stored(http_server: LoopbackServer, tmp_path: Path):
    """A check of the caller's (a file's type) runs before promotion: nothing refused is kept."""
    http_server.route("/image.fits", body=b"<html>not FITS</html>")
    store = ContentStore(tmp_path / "store")

    def fits_only(path: Path) -> None:
        if not path.read_bytes().startswith(b"SIMPLE  ="):
            raise InputError("not a FITS file", source=str(path))

    with make_client(timeout=2, retries=0) as client, pytest.raises(InputError, match="not a FITS"):
        store.fetch(client, f"{http_server.url}/image.fits", None, verify=fits_only)
    (source := tmp_path / "local.fits").write_bytes(b"<html/>")
    with pytest.raises(InputError, match="not a FITS"):
        store.add_file(source, verify=fits_only)
    assert files_under(tmp_path / "store") == []


def test_every_published_digest_is_verified_and_the_strongest_finds_the_file(
    http_server: LoopbackServer, tmp_path: Path
):
    http_server.route("/f", body=BODY)
    store = ContentStore(tmp_path / "store")
    adler = Checksum("adler32", f"{zlib.adler32(BODY):08x}")
    with make_client(timeout=2, retries=0) as client:
        with pytest.raises(ChecksumMismatch, match="the source publishes md5:0000"):
            store.fetch(client, f"{http_server.url}/f", adler, extra=[Checksum("md5", "0" * 32)])
        assert files_under(tmp_path / "store") == []
        path, _ = store.fetch(client, f"{http_server.url}/f", adler, extra=[MD5])
    assert all(store.path_for(c).samefile(path) for c in (MD5, adler, SHA))
    assert strongest([adler, MD5]) == MD5
    assert store.get(adler, size=len(BODY) + 1) is None  # same adler32, another size: not it


def test_one_download_at_a_time_per_file(tmp_path: Path):
    """Threads (or processes) fetching the same file wait for each other: one GET, one file."""
    store = ContentStore(tmp_path / "store")
    with LyingServer(4 * MB, announce=4 * MB) as server, make_client(timeout=5, retries=0) as c:
        expected = Checksum("sha256", hashlib.sha256(b"\0" * 4 * MB).hexdigest())
        results: list[Path] = []
        threads = [
            threading.Thread(target=lambda: results.append(store.fetch(c, server.url, expected)[0]))
            for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert server.requests == 1
    assert len(set(results)) == 1 and len(results) == 4
    assert [p.name for p in (tmp_path / "store" / "tmp").iterdir()] == []


def test_exclusive_leaves_no_lock_file(tmp_path: Path):
    with exclusive(tmp_path / "x.lock"):
        assert (tmp_path / "x.lock").exists()
    assert list(tmp_path.iterdir()) == []

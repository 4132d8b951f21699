"""The content-addressed store: verified entry, one download per content, never overwritten."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ossrflow.errors import ChecksumMismatch
from ossrflow.integrity import Checksum
from ossrflow.store import ContentStore
from ossrflow.transfer import make_client
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

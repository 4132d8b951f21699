"""Staging against real servers on 127.0.0.1: local files, http, Zenodo (loopback) and Rucio.

Here ``InMemoryRucio`` implements the three calls of the Rucio client protocol and points its
replicas at files served by the loopback HTTP server: replica order, fallback and the CWL objects
of datasets, cheaply. The real Rucio server (its authentication, its answers, its storage) is
exercised in ``test_rucio.py``; servers that lie about sizes or never answer are
``tests/hostile/servers.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ossrflow.config import Settings
from ossrflow.errors import ChecksumMismatch, InputError, NotFound, ServiceError, UnsafeValue
from ossrflow.integrity import Checksum
from ossrflow.registry import Registry, open_registry
from ossrflow.staging import ORIGIN_KEY as RUCIO_KEY
from ossrflow.staging import StagedInput, stage
from ossrflow.staging.cart import CartItem, parse_cart
from ossrflow.store import ContentStore, hash_file_name
from ossrflow.transfer import Progress, make_client
from tests.hostile.servers import LyingServer, SilentServer
from tests.support.httpserver import LoopbackServer
from tests.support.zenodo import FakeFile, FakeRecord, ZenodoApp

EDAM = "http://edamontology.org/"
BODY = b"col_a,col_b\n" + b"1,2\n" * 5000


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha1(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def adler32(data: bytes) -> str:
    return f"{zlib.adler32(data):08x}"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with make_client(timeout=5, retries=0) as http:
        yield http


@pytest.fixture
def store(tmp_path: Path) -> ContentStore:
    return ContentStore(tmp_path / "store")


def items_of(data: object, base: Path) -> list[CartItem]:
    return parse_cart(data, source="cart.yml", base=base)


def stored_files(store: ContentStore) -> list[str]:
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


def gets(server: LoopbackServer, path: str) -> list[dict[str, str]]:
    return [r.headers for r in server.requests if r.path == path]


# --- local files -----------------------------------------------------------------------------


def test_local_file_is_verified_copied_and_described_as_cwl(tmp_path: Path, store, client):
    (tmp_path / "table.csv").write_bytes(BODY)
    cart = [{"location": "table.csv", "checksum": f"md5:{md5(BODY)}"}]
    [staged] = stage(items_of(cart, tmp_path), store, client=client)
    stored = store.root / "sha256" / sha256(BODY)[:2] / sha256(BODY)
    assert staged.path == stored and staged.path.read_bytes() == BODY
    assert (staged.sha256, staged.size) == (Checksum("sha256", sha256(BODY)), len(BODY))
    assert staged.cwl == {
        "class": "File",
        "location": stored.as_uri(),
        "basename": "table.csv",
        "checksum": f"sha1${sha1(BODY)}",
        "size": len(BODY),
        "format": EDAM + "format_3752",
    }
    assert (store.root / "md5" / md5(BODY)[:2] / md5(BODY)).samefile(stored)


def test_local_checksum_mismatch_keeps_nothing_and_names_the_item(tmp_path: Path, store, client):
    (tmp_path / "a.csv").write_bytes(BODY)
    (tmp_path / "b.csv").write_bytes(b"other")
    cart = ["a.csv", {"location": "b.csv", "checksum": f"md5:{md5(BODY)}"}]
    with pytest.raises(ChecksumMismatch) as info:
        stage(items_of(cart, tmp_path), store, client=client)
    assert str(info.value) == (
        f"cart.yml:items[1]: item 'b.csv': checksum mismatch: expected md5:{md5(BODY)}, the bytes "
        f"have md5:{md5(b'other')} [{tmp_path / 'b.csv'}] (fix: correct the checksum in the cart, "
        "or check the file; nothing was kept)"
    )
    assert stored_files(store) == [f"sha256/{sha256(BODY)[:2]}/{sha256(BODY)}"]  # only a.csv


def test_a_missing_local_file_is_not_found(tmp_path: Path, store, client):
    with pytest.raises(NotFound, match=r"^cart.yml:items\[0\]: item 'gone.csv': .*does not exist"):
        stage(items_of(["gone.csv"], tmp_path), store, client=client)


# --- http --------------------------------------------------------------------------------------


def test_http_download_is_verified_and_never_repeated(
    tmp_path: Path, store, client, http_server: LoopbackServer
):
    http_server.route("/data/table.csv", body=BODY)
    cart = [{"location": f"{http_server.url}/data/table.csv", "checksum": f"sha256:{sha256(BODY)}"}]
    seen: list[Progress] = []
    [first] = stage(items_of(cart, tmp_path), store, client=client, progress=seen.append)
    [again] = stage(items_of(cart, tmp_path), store, client=client, progress=seen.append)
    assert first == again
    assert first.path.read_bytes() == BODY
    assert len(gets(http_server, "/data/table.csv")) == 1
    assert seen[-1] == Progress("table.csv", len(BODY), len(BODY))
    assert stored_files(store) == [f"sha256/{sha256(BODY)[:2]}/{sha256(BODY)}"]


def test_http_without_a_checksum_is_fetched_each_time(
    tmp_path: Path, store, client, http_server: LoopbackServer
):
    http_server.route("/x.json", body=b"{}")
    items = items_of([f"{http_server.url}/x.json"], tmp_path)
    stage(items, store, client=client)
    [staged] = stage(items, store, client=client)
    assert len(gets(http_server, "/x.json")) == 2
    assert staged.cwl["format"] == EDAM + "format_3464"


def test_partial_download_is_resumed_with_range(
    tmp_path: Path, store, client, http_server: LoopbackServer
):
    http_server.route("/big.csv", body=BODY)
    expected = Checksum("md5", md5(BODY))
    part = store.root / "tmp" / (hash_file_name(str(expected)) + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(BODY[:1000])
    cart = [{"location": f"{http_server.url}/big.csv", "checksum": str(expected)}]
    [staged] = stage(items_of(cart, tmp_path), store, client=client)
    assert [h.get("range") for h in gets(http_server, "/big.csv")] == ["bytes=1000-"]
    assert staged.path.read_bytes() == BODY
    assert not part.exists()


def test_http_checksum_mismatch_keeps_nothing_and_names_the_item(
    tmp_path: Path, store, client, http_server: LoopbackServer
):
    http_server.route("/t.csv", body=b"tampered")
    url = f"{http_server.url}/t.csv"
    cart = [{"location": url, "name": "table.csv", "checksum": f"md5:{md5(BODY)}"}]
    with pytest.raises(ChecksumMismatch) as info:
        stage(items_of(cart, tmp_path), store, client=client)
    assert str(info.value) == (
        f"cart.yml:items[0]: item 'table.csv': checksum mismatch: the source publishes "
        f"md5:{md5(BODY)}, the bytes have md5:{md5(b'tampered')} [{url}] (fix: the file changed "
        "or was corrupted on the way; nothing was kept)"
    )
    assert stored_files(store) == []


def test_wrong_size_in_the_cart_keeps_nothing(
    tmp_path: Path, store, client, http_server: LoopbackServer
):
    http_server.route("/s.txt", body=b"12345")
    cart = [{"location": f"{http_server.url}/s.txt", "size": 4}]
    with pytest.raises(ChecksumMismatch) as info:
        stage(items_of(cart, tmp_path), store, client=client)
    assert str(info.value) == (
        "cart.yml:items[0]: item 's.txt': size mismatch: the source declares 4 bytes, the server "
        f"announces 5 [{http_server.url}/s.txt] (fix: correct the size in the cart, or check the "
        "source; nothing was downloaded)"
    )
    (tmp_path / "local.txt").write_bytes(b"12345")
    with pytest.raises(ChecksumMismatch, match="size mismatch: expected 4 bytes, got 5"):
        stage(items_of([{"location": "local.txt", "size": 4}], tmp_path), store, client=client)
    assert stored_files(store) == []


# --- hostile servers: a cart item never fills the disk, never hangs ----------------------------

MB = 1 << 20


def test_a_server_that_lies_about_the_size_is_cut_off(tmp_path: Path, store, client):
    """The cart declares 1000 bytes; the server sends 300 MB (generated), with and without a
    Content-Length: refused before the body, or as soon as byte 1001 arrives."""
    for announce in (300 * MB, None):
        with LyingServer(300 * MB, announce=announce) as server:
            cart = [{"location": f"{server.url}/small.fits", "size": 1000}]
            with pytest.raises(ChecksumMismatch) as info:
                stage(items_of(cart, tmp_path), store, client=client)
        assert info.value.problem.startswith("item 'small.fits': size mismatch: the source ")
        assert server.sent < 16 * MB
    assert stored_files(store) == []


def test_an_item_without_a_size_obeys_the_maximum(tmp_path: Path, store, client):
    with LyingServer(300 * MB, announce=None) as server:
        items = items_of([f"{server.url}/huge.bin"], tmp_path)
        with pytest.raises(InputError) as info:
            stage(items, store, client=client, max_bytes=MB)
    assert str(info.value) == (
        f"cart.yml:items[0]: item 'huge.bin': the download passed the {MB} bytes allowed for an "
        f"item without a declared size; stopped reading [{server.url}/huge.bin] (fix: declare "
        "the item's size (size: in the cart), or raise OSSRFLOW_MAX_DOWNLOAD_SIZE; nothing was "
        "kept)"
    )
    assert server.sent < 16 * MB
    assert stored_files(store) == []


def test_a_server_that_never_answers_is_given_up(tmp_path: Path, store):
    with SilentServer() as server, make_client(timeout=0.5, retries=0) as impatient:
        items = items_of(
            [{"location": f"{server.url}/x.csv", "checksum": f"md5:{md5(BODY)}"}], tmp_path
        )
        with pytest.raises(ServiceError) as info:
            stage(items, store, client=impatient)
    assert info.value.problem == (
        f"item 'x.csv': the server did not answer in time; run again to resume it [{server.url}/x.csv]"
    )
    assert stored_files(store) == []


def test_a_file_that_fails_the_type_check_is_not_stored(
    tmp_path: Path, store, client, http_server: LoopbackServer
):
    """``verify`` (the format check of the caller) runs before promotion, for every kind."""
    http_server.route("/image.fits", body=b"<html>sign in first</html>")
    (tmp_path / "local.fits").write_bytes(b"also not FITS")
    seen: list[str] = []

    def fits_only(name: str, path: Path) -> None:
        seen.append(name)
        if not path.read_bytes().startswith(b"SIMPLE  ="):
            raise InputError(f"{name} is not a FITS file")

    for location in (f"{http_server.url}/image.fits", "local.fits"):
        with pytest.raises(InputError, match="is not a FITS file"):
            stage(items_of([location], tmp_path), store, client=client, verify=fits_only)
    assert seen == ["image.fits", "local.fits"]
    assert stored_files(store) == []


def test_http_404_names_the_item(tmp_path: Path, store, client, http_server: LoopbackServer):
    with pytest.raises(NotFound, match=r"^cart.yml:items\[0\]: item 'nope.csv': file .* not found"):
        stage(items_of([f"{http_server.url}/nope.csv"], tmp_path), store, client=client)


def test_offline_stages_only_what_the_store_holds(
    tmp_path: Path, store, client, http_server: LoopbackServer
):
    http_server.route("/a.csv", body=BODY)
    cart = [{"location": f"{http_server.url}/a.csv", "checksum": f"md5:{md5(BODY)}"}]
    with pytest.raises(NotFound, match="--offline forbids downloading it"):
        stage(items_of(cart, tmp_path), store, client=client, offline=True)
    stage(items_of(cart, tmp_path), store, client=client)
    [staged] = stage(items_of(cart, tmp_path), store, client=client, offline=True)
    assert staged.sha256.digest == sha256(BODY)
    assert len(gets(http_server, "/a.csv")) == 1


# --- Zenodo (loopback registry) -----------------------------------------------------------------


def zenodo_settings(app: ZenodoApp, tmp_path: Path) -> Settings:
    return Settings(registry=app.api, cache_dir=tmp_path / "cache", retries=0, timeout=5)


@pytest.fixture
def registry(zenodo_server: ZenodoApp, tmp_path: Path) -> Iterator[Registry]:
    with open_registry(zenodo_settings(zenodo_server, tmp_path)) as opened:
        yield opened


def test_zenodo_record_file_is_verified_with_the_published_md5(
    tmp_path: Path, store, client, zenodo_server: ZenodoApp
):
    items = items_of(
        ["zenodo:310/data.txt", "zenodo:4687123/cosimoNigro/agnpy-v0.0.10.zip"], tmp_path
    )
    with open_registry(zenodo_settings(zenodo_server, tmp_path)) as registry:
        text, archive = stage(items, store, client=client, registry=registry)
    assert text.path.read_bytes() == b"42\n"
    assert text.cwl["basename"] == "data.txt"
    assert text.cwl["format"] == EDAM + "format_2330"
    assert (store.root / "md5" / md5(b"42\n")[:2] / md5(b"42\n")).samefile(text.path)
    assert (archive.item.name, archive.cwl["format"]) == ("agnpy-v0.0.10.zip", EDAM + "format_3987")
    with open_registry(zenodo_settings(zenodo_server, tmp_path)) as registry:
        stage(items[:1], store, client=client, registry=registry)
    content = "/api/records/310/files/data.txt/content"
    assert len(gets(zenodo_server.server, content)) == 1


def test_zenodo_tampered_file_fails_and_keeps_nothing(tmp_path: Path, store, client, registry):
    items = items_of(["zenodo:320/codemeta.json"], tmp_path)
    with pytest.raises(ChecksumMismatch) as info:
        stage(items, store, client=client, registry=registry)
    assert str(info.value).startswith(
        "cart.yml:items[0]: item 'codemeta.json': checksum mismatch: the source publishes md5:000"
    )
    assert stored_files(store) == []


def test_zenodo_cart_checksum_contradicting_the_record_fails_before_download(
    tmp_path: Path, store, client, registry, zenodo_server: ZenodoApp
):
    cart = [{"location": "zenodo:310/data.txt", "checksum": "md5:" + "1" * 32}]
    with pytest.raises(ChecksumMismatch, match="the cart says md5:1111"):
        stage(items_of(cart, tmp_path), store, client=client, registry=registry)
    assert gets(zenodo_server.server, "/api/records/310/files/data.txt/content") == []


def test_zenodo_unknown_file_and_missing_registry(tmp_path: Path, store, client, registry):
    with pytest.raises(NotFound, match=re.escape("record 310 has no file 'nope.txt'")):
        stage(items_of(["zenodo:310/nope.txt"], tmp_path), store, client=client, registry=registry)
    with pytest.raises(InputError, match="a Zenodo item needs a registry"):
        stage(items_of(["zenodo:310/data.txt"], tmp_path), store, client=client)


def test_zenodo_url_on_another_host_than_the_registry(
    tmp_path: Path, store, client, registry, zenodo_server: ZenodoApp
):
    items = items_of(["https://zenodo.org/records/310/files/data.txt"], tmp_path)
    with pytest.raises(InputError) as info:
        stage(items, store, client=client, registry=registry)
    assert str(info.value) == (
        "cart.yml:items[0]: item 'data.txt': the cart names a file on zenodo.org, but the "
        f"registry is {zenodo_server.api} (fix: pass --registry https://zenodo.org/api, or write "
        "zenodo:310/data.txt)"
    )
    assert zenodo_server.server.requests == []


def test_zenodo_items_from_a_folder_registry(tmp_path: Path, store, client):
    entry = tmp_path / "registry" / "demo"
    entry.mkdir(parents=True)
    (entry / "sample.csv").write_bytes(BODY)
    settings = Settings(registry=f"dir:{tmp_path / 'registry'}", cache_dir=tmp_path / "cache")
    with open_registry(settings) as registry:
        [staged] = stage(
            items_of(["zenodo:demo/sample.csv"], tmp_path), store, client=client, registry=registry
        )
    assert staged.sha256.digest == sha256(BODY)


# --- Rucio (in-process client, real files over loopback HTTP) -----------------------------------


class InMemoryRucio:
    """The Rucio client protocol over a dict: DIDs -> files served by the loopback server."""

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.dids: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, list[str]] = {}
        self.pfns: dict[str, list[str]] = {}

    def add_file(self, scope: str, name: str, data: bytes, *, adler: str | None = None) -> None:
        did = f"{scope}:{name}"
        path = f"/rse/{scope}/{name}"
        self.server.route(path, body=data)
        self.dids[did] = {
            "scope": scope,
            "name": name,
            "type": "FILE",
            "bytes": len(data),
            "adler32": adler or adler32(data).lstrip("0"),
            "md5": md5(data),
        }
        self.pfns[did] = [f"{self.server.url}{path}"]

    def add_dataset(self, scope: str, name: str, files: list[str], kind: str = "DATASET") -> None:
        self.dids[f"{scope}:{name}"] = {"scope": scope, "name": name, "type": kind}
        self.contents[f"{scope}:{name}"] = files

    def get_did(self, scope: str, name: str) -> dict[str, Any]:
        return dict(self.dids[f"{scope}:{name}"])

    def list_files(self, scope: str, name: str) -> list[dict[str, Any]]:
        found = []
        for did in self.contents[f"{scope}:{name}"]:
            info = self.dids[did]
            if info["type"] == "FILE":
                found.append({k: info[k] for k in ("scope", "name", "bytes", "adler32", "md5")})
            else:
                found.extend(self.list_files(info["scope"], info["name"]))
        return found

    def list_replicas(
        self, dids: list[dict[str, str]], schemes: list[str] | None = None
    ) -> list[dict[str, Any]]:
        answer = []
        for did in dids:
            key = f"{did['scope']}:{did['name']}"
            pfns = {
                url: {"priority": rank, "type": "DISK", "rse": f"RSE{rank}"}
                for rank, url in enumerate(self.pfns[key], start=1)
                if schemes is None or url.partition("://")[0] in schemes
            }
            answer.append(
                {**{k: v for k, v in self.dids[key].items() if k != "type"}, "pfns": pfns}
            )
        return answer


@pytest.fixture
def rucio(http_server: LoopbackServer) -> InMemoryRucio:
    return InMemoryRucio(http_server)


def test_rucio_file_is_verified_with_adler32(tmp_path: Path, store, client, rucio):
    rucio.add_file("user.jdoe", "run1/events.h5", BODY)
    [staged] = stage(
        items_of(["rucio://user.jdoe/run1/events.h5"], tmp_path), store, client=client, rucio=rucio
    )
    assert staged.path.read_bytes() == BODY
    assert staged.cwl["basename"] == "events.h5"
    assert staged.cwl["format"] == EDAM + "format_3590"
    assert (store.root / "adler32" / adler32(BODY)[:2] / adler32(BODY)).samefile(staged.path)
    stage(items_of(["user.jdoe:run1/events.h5"], tmp_path), store, client=client, rucio=rucio)
    assert len(gets(rucio.server, "/rse/user.jdoe/run1/events.h5")) == 1


def test_rucio_adler32_mismatch_keeps_nothing(tmp_path: Path, store, client, rucio):
    rucio.add_file("s", "f.fits", b"bytes", adler="deadbeef")
    with pytest.raises(ChecksumMismatch) as info:
        stage(items_of(["s:f.fits"], tmp_path), store, client=client, rucio=rucio)
    assert str(info.value).startswith(
        "cart.yml:items[0]: item 'f.fits': checksum mismatch: the source publishes "
        f"adler32:deadbeef, the bytes have adler32:{adler32(b'bytes')}"
    )
    assert stored_files(store) == []


def test_rucio_container_becomes_a_cwl_directory(tmp_path: Path, store, client, rucio):
    rucio.add_file("s", "a.csv", b"a\n")
    rucio.add_file("s", "sub/b.fits", b"b" * 10)
    rucio.add_dataset("s", "ds1", ["s:a.csv"])
    rucio.add_dataset("s", "ds2", ["s:sub/b.fits"])
    rucio.add_dataset("s", "all", ["s:ds1", "s:ds2"], kind="CONTAINER")
    [staged] = stage(items_of(["s:all"], tmp_path), store, client=client, rucio=rucio)
    manifest = f"{sha256(b'a' + bytes([10]))}  a.csv\n{sha256(b'b' * 10)}  b.fits\n"
    digest = sha256(manifest.encode())
    folder = store.root / "dirs" / digest[:2] / digest
    assert (staged.path, staged.sha256, staged.size) == (folder, Checksum("sha256", digest), 12)
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv", "b.fits"]
    assert staged.cwl == {
        "class": "Directory",
        "location": folder.as_uri(),
        "basename": "all",
        "listing": [
            {
                "class": "File",
                "location": (folder / "a.csv").as_uri(),
                "basename": "a.csv",
                "checksum": f"sha1${sha1(b'a' + bytes([10]))}",
                "size": 2,
                "format": EDAM + "format_3752",
                RUCIO_KEY: {
                    "did": "s:a.csv",
                    "rse": "RSE1",
                    "bytes": 2,
                    "adler32": adler32(b"a\n"),
                    "md5": md5(b"a\n"),
                },
            },
            {
                "class": "File",
                "location": (folder / "b.fits").as_uri(),
                "basename": "b.fits",
                "checksum": f"sha1${sha1(b'b' * 10)}",
                "size": 10,
                "format": "https://www.iana.org/assignments/media-types/application/fits",
                RUCIO_KEY: {
                    "did": "s:sub/b.fits",
                    "rse": "RSE1",
                    "bytes": 10,
                    "adler32": adler32(b"b" * 10),
                    "md5": md5(b"b" * 10),
                },
            },
        ],
        RUCIO_KEY: {"did": "s:all", "type": "CONTAINER"},
    }
    assert [(m.item.name, m.item.location, m.path) for m in staged.members] == [
        ("a.csv", "s:a.csv", folder / "a.csv"),
        ("b.fits", "s:sub/b.fits", folder / "b.fits"),
    ]
    [again] = stage(items_of(["s:all"], tmp_path), store, client=client, rucio=rucio)
    assert again == staged


def test_rucio_tries_the_next_replica(tmp_path: Path, store, client, rucio, http_server):
    rucio.add_file("s", "f.txt", b"hello\n")
    rucio.pfns["s:f.txt"].insert(0, f"{http_server.url}/dead/f.txt")
    rucio.pfns["s:f.txt"].append("root://eos.example.org//f.txt")  # not http: never tried
    [staged] = stage(items_of(["s:f.txt"], tmp_path), store, client=client, rucio=rucio)
    assert staged.path.read_bytes() == b"hello\n"
    assert [r.path for r in http_server.requests] == ["/dead/f.txt", "/rse/s/f.txt"]


def test_rucio_without_http_replicas_or_client(tmp_path: Path, store, client, rucio):
    rucio.add_file("s", "f.txt", b"x")
    rucio.pfns["s:f.txt"] = ["root://eos.example.org//f.txt"]
    with pytest.raises(
        ServiceError, match=re.escape("no replica of s:f.txt can be read over http")
    ):
        stage(items_of(["s:f.txt"], tmp_path), store, client=client, rucio=rucio)
    with pytest.raises(InputError, match="a Rucio item needs a configured Rucio client"):
        stage(items_of(["s:f.txt"], tmp_path), store, client=client)


class LinkElsewhere(ZenodoApp):
    """A Zenodo whose record points its file link at another host."""

    def file_url(self, record: FakeRecord, key: str) -> str:
        return f"http://localhost:{self.server.port}/x/{key}"


def test_record_file_links_to_other_hosts_are_refused(tmp_path: Path, store, client, http_server):
    app = LinkElsewhere(http_server)
    app.add(FakeRecord("1", "0", "elsewhere", "1.0", [FakeFile("x.txt", b"x")]))
    items = items_of(["zenodo:1/x.txt"], tmp_path)
    refused = pytest.raises(UnsafeValue, match="the record's file link points to another host")
    with open_registry(zenodo_settings(app, tmp_path)) as registry, refused:
        stage(items, store, client=client, registry=registry)
    assert [r.path for r in http_server.requests] == ["/api/records/1"]


def test_staged_inputs_keep_cart_order(tmp_path: Path, store, client, http_server):
    http_server.route("/1.txt", body=b"1")
    (tmp_path / "2.txt").write_bytes(b"2")
    staged: list[StagedInput] = stage(
        items_of([f"{http_server.url}/1.txt", "2.txt"], tmp_path), store, client=client
    )
    assert [s.item.name for s in staged] == ["1.txt", "2.txt"]


TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'for f in $0; do echo "$(basename "$f"): $(cat "$f")"; done; echo "$(basename "$1"):"; ls "$1"']
inputs:
  data: {type: "File[]", inputBinding: {position: 0, itemSeparator: " "}}
  folder: {type: Directory, inputBinding: {position: 1}}
outputs:
  out: stdout
stdout: out.txt
"""


def test_staged_inputs_run_in_cwltool(tmp_path: Path, store, client, rucio):
    """The CWL objects are valid job inputs: cwltool stages them under their basenames."""
    (tmp_path / "notes.txt").write_bytes(b"hello")
    rucio.add_file("s", "a.csv", b"1,2")
    rucio.add_file("s", "b.fits", b"SIMPLE")
    rucio.add_dataset("s", "run7", ["s:a.csv", "s:b.fits"])
    notes, run = stage(
        items_of(["notes.txt", "s:run7"], tmp_path), store, client=client, rucio=rucio
    )
    (tmp_path / "tool.cwl").write_text(TOOL)
    (tmp_path / "job.json").write_text(json.dumps({"data": [notes.cwl], "folder": run.cwl}))
    result = subprocess.run(
        [sys.executable, "-m", "cwltool", "--quiet", "--no-container", "--outdir", str(tmp_path / "out"), "tool.cwl", "job.json"],
        cwd=tmp_path, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "out.txt").read_text() == "notes.txt: hello\nrun7:\na.csv\nb.fits\n"

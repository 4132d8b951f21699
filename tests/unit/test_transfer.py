"""HTTP retries, error mapping and resumable verified downloads, against a real loopback server."""

from __future__ import annotations

import hashlib
import socket
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from ossrflow.errors import ChecksumMismatch, NotFound, ServiceError
from ossrflow.integrity import Checksum
from ossrflow.transfer import Progress, RetryTransport, download, get_json, make_client
from tests.support.httpserver import Answer, LoopbackServer

BODY = b"0123456789" * 1000
MD5 = Checksum("md5", hashlib.md5(BODY, usedforsecurity=False).hexdigest())


def retrying_client(retries: int, sleeps: list[float]) -> httpx.Client:
    transport = RetryTransport(retries=retries, backoff=0.25, sleep=sleeps.append)
    return httpx.Client(transport=transport, timeout=5)


def hits(server: LoopbackServer, path: str) -> int:
    return sum(1 for seen in server.requests if seen.path.split("?")[0] == path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- retries ------------------------------------------------------------------------------


def test_429_is_retried_after_the_delay_the_server_asks(http_server: LoopbackServer):
    http_server.route("/x", answers=[(429, {"Retry-After": "7"}, b""), (200, {}, b'{"ok": 1}')])
    sleeps: list[float] = []
    with retrying_client(3, sleeps) as client:
        assert get_json(client, f"{http_server.url}/x") == {"ok": 1}
    assert sleeps == [7.0]
    assert hits(http_server, "/x") == 2


def test_503_then_200_backs_off_exponentially(http_server: LoopbackServer):
    answers: list[Answer] = [(503, {}, b""), (503, {}, b""), (200, {}, b"[]")]
    http_server.route("/x", answers=answers)
    sleeps: list[float] = []
    with retrying_client(3, sleeps) as client:
        assert get_json(client, f"{http_server.url}/x") == []
    assert sleeps == [0.25, 0.5]


def test_retry_after_as_http_date_and_unreadable(http_server: LoopbackServer):
    past = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    answers = [
        (429, {"Retry-After": past}, b""),
        (429, {"Retry-After": "soon"}, b""),
        (200, {}, b"1"),
    ]
    http_server.route("/x", answers=answers)
    sleeps: list[float] = []
    with retrying_client(3, sleeps) as client:
        assert get_json(client, f"{http_server.url}/x") == 1
    assert sleeps == [0.0, 0.5]  # a date in the past: no wait; "soon": our own backoff


def test_retry_after_is_capped(http_server: LoopbackServer):
    http_server.route("/x", answers=[(429, {"Retry-After": "86400"}, b""), (200, {}, b"1")])
    sleeps: list[float] = []
    with retrying_client(1, sleeps) as client:
        get_json(client, f"{http_server.url}/x")
    assert sleeps == [60.0]


def test_giving_up_is_a_service_error_exit_3(http_server: LoopbackServer):
    http_server.route("/x", status=503, body=b"busy")
    sleeps: list[float] = []
    with retrying_client(2, sleeps) as client, pytest.raises(ServiceError) as caught:
        get_json(client, f"{http_server.url}/x", what="record 1")
    assert str(caught.value) == (
        f"{http_server.url}/x: the server failed (HTTP 503) after retries "
        "(fix: check the URL and your network, or retry later (or use --offline))"
    )
    assert caught.value.exit_code == 3
    assert hits(http_server, "/x") == 3


def test_connection_refused_is_a_service_error():
    url = f"http://127.0.0.1:{free_port()}/api/records/1"
    with (
        make_client(timeout=2, retries=1, backoff=0.001) as client,
        pytest.raises(ServiceError) as caught,
    ):
        get_json(client, url)
    assert str(caught.value) == (
        f"{url}: cannot reach the server (ConnectError) "
        "(fix: check the URL and your network, or retry later (or use --offline))"
    )


@pytest.mark.parametrize(
    ("status", "problem"),
    [(404, "record 5 not found (HTTP 404)"), (410, "record 5 was deleted (HTTP 410 Gone)")],
)
def test_404_and_410_are_not_found(http_server: LoopbackServer, status: int, problem: str):
    http_server.route("/r", status=status, body=b"{}")
    with make_client(timeout=2, retries=0) as client, pytest.raises(NotFound) as caught:
        get_json(client, f"{http_server.url}/r", what="record 5")
    assert caught.value.problem == problem
    assert caught.value.exit_code == 2


def test_invalid_json_is_a_service_error(http_server: LoopbackServer):
    http_server.route("/r", body=b"<html>maintenance</html>")
    with make_client(timeout=2, retries=0) as client, pytest.raises(ServiceError) as caught:
        get_json(client, f"{http_server.url}/r", what="record 5")
    assert caught.value.problem.startswith("the server sent invalid JSON for record 5 (")


def test_token_goes_only_into_the_authorization_header(http_server: LoopbackServer):
    http_server.route("/r", body=b"{}")
    with make_client(timeout=2, retries=0, token="s3cret-t0ken") as client:
        get_json(client, f"{http_server.url}/r", params={"q": "x"})
    (seen,) = http_server.requests
    assert seen.headers["authorization"] == "Bearer s3cret-t0ken"
    assert "s3cret" not in seen.path
    assert seen.headers["user-agent"].startswith("ossrflow/")


# --- downloads ----------------------------------------------------------------------------


def test_download_verifies_and_renames(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=BODY)
    seen: list[Progress] = []
    dest = tmp_path / "out" / "file.bin"
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest, expected=MD5, progress=seen.append)
    assert dest.read_bytes() == BODY
    assert not dest.with_name("file.bin.part").exists()
    assert seen[-1] == Progress("file.bin", len(BODY), len(BODY))


def test_partial_download_resumes_with_range(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=BODY)
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(BODY[:1234])
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest, expected=MD5, size=len(BODY))
    assert dest.read_bytes() == BODY
    assert http_server.requests[0].headers["range"] == "bytes=1234-"


def test_complete_part_file_is_verified_after_416(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=BODY)
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(BODY)
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest, expected=MD5)
    assert dest.read_bytes() == BODY


def test_server_ignoring_range_starts_over(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", answers=[(200, {}, BODY)])  # no Range support on this route
    dest = tmp_path / "file.bin"
    dest.with_name("file.bin.part").write_bytes(b"garbage!")
    with make_client(timeout=2, retries=0) as client:
        download(client, f"{http_server.url}/f", dest, expected=MD5)
    assert dest.read_bytes() == BODY


def test_checksum_mismatch_keeps_nothing(http_server: LoopbackServer, tmp_path: Path):
    http_server.route("/f", body=BODY)
    dest = tmp_path / "file.bin"
    wrong = Checksum("md5", "0" * 32)
    with make_client(timeout=2, retries=0) as client, pytest.raises(ChecksumMismatch) as caught:
        download(client, f"{http_server.url}/f", dest, expected=wrong)
    assert str(caught.value) == (
        f"{http_server.url}/f: checksum mismatch: the source publishes md5:{'0' * 32}, "
        f"the bytes have md5:{MD5.digest} "
        "(fix: the file changed or was corrupted on the way; nothing was kept)"
    )
    assert list(tmp_path.iterdir()) == []


def test_download_of_missing_file_is_not_found(http_server: LoopbackServer, tmp_path: Path):
    with make_client(timeout=2, retries=0) as client, pytest.raises(NotFound):
        download(client, f"{http_server.url}/nothing", tmp_path / "x", expected=MD5)
    assert not (tmp_path / "x").exists()

"""HTTP retries, error mapping and bounded answers, against real servers on 127.0.0.1."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from ossrflow.errors import NotFound, ServiceError
from ossrflow.transfer import MAX_RESPONSE_BYTES, RetryTransport, get_json, make_client, send
from tests.hostile.servers import LyingServer, SilentServer, TlsSilent, tls_context
from tests.support.httpserver import Answer, LoopbackServer


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


# --- bounded answers ------------------------------------------------------------------------


def test_an_answer_larger_than_allowed_is_refused_before_it_is_read():
    with (
        LyingServer(300 << 20, announce=300 << 20) as server,
        make_client(timeout=5, retries=0) as client,
        pytest.raises(ServiceError) as caught,
    ):
        get_json(client, f"{server.url}/api/records/1", what="record 1")
    assert str(caught.value) == (
        f"{server.url}/api/records/1: the server's answer announces {300 << 20} bytes, more than "
        f"the {MAX_RESPONSE_BYTES} bytes allowed (fix: the server is misbehaving; retry later or "
        "report it to its operators)"
    )
    assert server.sent < 16 << 20


def test_an_answer_without_length_is_cut_at_the_limit():
    with (
        LyingServer(300 << 20, announce=None) as server,
        make_client(timeout=5, retries=0) as client,
        pytest.raises(ServiceError) as caught,
    ):
        send(client, "GET", f"{server.url}/x", max_bytes=1 << 20)
    assert caught.value.problem == (
        f"the server's answer sends more than the {1 << 20} bytes allowed; stopped reading"
    )
    assert server.sent < 16 << 20


def test_json_nested_too_deep_is_a_service_error(http_server: LoopbackServer):
    http_server.route("/r", body=b"[" * 1000 + b"]" * 1000)
    with make_client(timeout=2, retries=0) as client, pytest.raises(ServiceError) as caught:
        get_json(client, f"{http_server.url}/r", what="record 5")
    assert caught.value.problem == (
        "the server sent invalid JSON for record 5 (values are nested more than 128 levels deep)"
    )


def test_a_server_that_never_answers_is_a_service_error():
    with (
        SilentServer() as server,
        make_client(timeout=0.5, retries=0) as client,
        pytest.raises(ServiceError) as caught,
    ):
        get_json(client, f"{server.url}/api/records/1")
    assert str(caught.value) == (
        f"{server.url}/api/records/1: the server did not answer in time "
        "(fix: check the URL and your network, or retry later (or use --offline))"
    )


def test_an_untrusted_certificate_is_not_retried(tmp_path: Path):
    """A TLS server whose certificate no authority we trust: one attempt, a message that says so."""
    context, _ = tls_context(tmp_path)
    sleeps: list[float] = []
    transport = RetryTransport(retries=3, backoff=0.25, sleep=sleeps.append)
    with (
        TlsSilent(context) as server,
        httpx.Client(transport=transport, timeout=5) as client,
        pytest.raises(ServiceError) as caught,
    ):
        get_json(client, server.url)
    assert sleeps == []
    assert caught.value.problem.startswith("the server's certificate cannot be verified (")
    assert caught.value.hint == (
        "trust its certificate authority (Rucio: ca_cert in rucio.cfg), or check the URL"
    )


def test_an_extra_certificate_authority_is_trusted(tmp_path: Path):
    context, ca = tls_context(tmp_path)
    with (
        TlsSilent(context) as server,
        make_client(timeout=0.5, retries=0, extra_ca=ca) as client,
        pytest.raises(ServiceError) as caught,
    ):
        get_json(client, server.url)
    assert caught.value.problem == "the server did not answer in time"  # past the handshake

"""HTTP with timeouts and polite retries, and resumable, checksum-verified downloads.

- :func:`make_client` builds the one ``httpx.Client`` a command uses: a timeout always, the token
  only in the ``Authorization`` header, and a transport that retries 429 and 5xx answers (and
  refused connections) with exponential backoff, honouring ``Retry-After``.
- :func:`get_json` maps HTTP outcomes onto the error hierarchy: 404/410 -> ``NotFound`` (exit 2),
  unreachable or failing servers -> ``ServiceError`` (exit 3).
- :func:`send` reads an answer as it arrives and refuses one larger than ``max_bytes``;
  :func:`response_json` parses it within :class:`ossrflow.documents.Limits` (size, depth).
- Untrusted certificates are not retried and say so (:func:`tls_failure`).

Downloads into the content store (bounded, resumable, verified) are in :mod:`ossrflow.store`.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ossrflow._version import __version__
from ossrflow.documents import DEFAULT_LIMITS, Limits, parse_json_text
from ossrflow.errors import InputError, NotFound, ServiceError

__all__ = [
    "Progress",
    "ProgressCallback",
    "RetryTransport",
    "check_response",
    "get_json",
    "make_client",
    "response_json",
    "send",
    "service_error",
    "tls_failure",
    "transport_error",
]

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 60.0
MAX_RESPONSE_BYTES = DEFAULT_LIMITS.max_bytes  # an API answer (JSON) larger than this is refused
HINT_MISBEHAVING = "the server is misbehaving; retry later or report it to its operators"
_HINT_NETWORK = "check the URL and your network, or retry later (or use --offline)"


@dataclass(frozen=True)
class Progress:
    """How far one transfer has come; ``total`` is None when the size is unknown."""

    label: str
    done: int
    total: int | None


ProgressCallback = Callable[[Progress], None]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # an unreadable header: fall back to our own backoff
    return max(0.0, parsed.timestamp() - time.time())


class RetryTransport(httpx.BaseTransport):
    """Retry 429/5xx answers and refused connections with backoff; honour ``Retry-After``."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        *,
        retries: int = 4,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.inner = inner or httpx.HTTPTransport()
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = self.inner.handle_request(request)
            except (httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError) as exc:
                if attempt >= self.retries or tls_failure(exc) is not None:
                    raise  # an untrusted certificate stays untrusted
                self.sleep(min(MAX_BACKOFF, self.backoff * 2**attempt))
                attempt += 1
                continue
            if response.status_code not in RETRY_STATUS or attempt >= self.retries:
                return response
            delay = _retry_after(response)
            response.close()
            self.sleep(min(MAX_BACKOFF, delay if delay is not None else self.backoff * 2**attempt))
            attempt += 1

    def close(self) -> None:
        self.inner.close()


def make_client(
    *,
    timeout: float,
    retries: int,
    token: str | None = None,
    backoff: float = 0.5,
    connections: int | None = None,
    extra_ca: Path | None = None,
) -> httpx.Client:
    """The HTTP client every ossrflow command uses.

    ``connections`` bounds the connections open at once (threads wait for a free one);
    ``extra_ca`` (a PEM file or a folder of hashed CA certificates, such as a Rucio ``ca_cert``)
    is trusted in addition to the usual certificate authorities.
    """
    headers = {"User-Agent": f"ossrflow/{__version__}", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    verify: ssl.SSLContext | bool = True
    if extra_ca is not None:
        verify = httpx.create_ssl_context()
        try:
            if extra_ca.is_dir():
                verify.load_verify_locations(capath=str(extra_ca))
            else:
                verify.load_verify_locations(cafile=str(extra_ca))
        except (OSError, ssl.SSLError) as exc:
            raise InputError(
                f"cannot read the CA certificates ({exc})",
                source=str(extra_ca),
                hint="point ca_cert in rucio.cfg at a PEM file or a folder of CA certificates",
            ) from None
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.Client(
        timeout=timeout,
        headers=headers,
        follow_redirects=True,
        transport=RetryTransport(
            httpx.HTTPTransport(verify=verify, limits=limits), retries=retries, backoff=backoff
        ),
    )


def tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The TLS error behind a connection failure (an untrusted certificate), if that is what it was."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def service_error(url: str, problem: str, hint: str = _HINT_NETWORK) -> ServiceError:
    """A :class:`ServiceError` at ``url``; the hint says to check the network unless given."""
    return ServiceError(problem, source=url, hint=hint)


def transport_error(url: str, exc: httpx.TransportError, what: str = "") -> ServiceError:
    """The :class:`ServiceError` for a request that failed on the way (``what`` ends the problem)."""
    if isinstance(exc, httpx.TimeoutException):
        return service_error(url, f"the server did not answer in time{what}")
    if (tls := tls_failure(exc)) is not None:
        reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or tls
        return service_error(
            url,
            f"the server's certificate cannot be verified ({reason})",
            "trust its certificate authority (Rucio: ca_cert in rucio.cfg), or check the URL",
        )
    return service_error(url, f"cannot reach the server ({type(exc).__name__}){what}")


def send(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    max_bytes: int = MAX_RESPONSE_BYTES,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request and read its answer, refusing one larger than ``max_bytes``.

    An unreachable, silent or overlong server becomes :class:`ServiceError`. The body is read as
    it arrives and reading stops at ``max_bytes`` (decompressed), so no answer fills memory.
    """
    try:
        with client.stream(method, url, **kwargs) as response:
            body = _bounded_body(response, max_bytes)
    except httpx.TransportError as exc:
        raise transport_error(url, exc, "") from None
    except httpx.DecodingError as exc:
        raise service_error(url, f"the server sent an undecodable answer ({exc})") from None
    headers = [
        (key, value)
        for key, value in response.headers.multi_items()
        if key.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    complete = httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        history=response.history,
        extensions={
            key: value
            for key, value in response.extensions.items()
            if key in ("http_version", "reason_phrase")
        },
    )
    complete.elapsed = response.elapsed
    return complete


def _bounded_body(response: httpx.Response, max_bytes: int) -> bytes:
    url = str(response.request.url)
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise _too_long(url, f"announces {int(length)} bytes", max_bytes)
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise _too_long(url, "sends more", max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_long(url: str, what: str, max_bytes: int) -> ServiceError:
    return service_error(
        url,
        f"the server's answer {what} than the {max_bytes} bytes allowed; stopped reading"
        if what == "sends more"
        else f"the server's answer {what}, more than the {max_bytes} bytes allowed",
        HINT_MISBEHAVING,
    )


def check_response(response: httpx.Response, *, what: str) -> None:
    """Raise the matching ossrflow error for a non-2xx answer."""
    url = str(response.request.url)
    status = response.status_code
    if status < 400:
        return
    if status == 404:
        raise NotFound(f"{what} not found (HTTP 404)", source=url, hint="check the identifier")
    if status == 410:
        raise NotFound(
            f"{what} was deleted (HTTP 410 Gone)", source=url, hint="pick another version or record"
        )
    if status in (401, 403):
        raise ServiceError(
            f"access to {what} refused (HTTP {status})",
            source=url,
            hint="set OSSRFLOW_TOKEN to a token that may read it",
        )
    if status >= 500 or status == 429:
        raise service_error(url, f"the server failed (HTTP {status}) after retries")
    raise ServiceError(f"the server refused the request (HTTP {status})", source=url)


def get_json(
    client: httpx.Client, url: str, *, params: dict[str, str] | None = None, what: str = "resource"
) -> Any:
    """GET ``url`` and return its JSON body, or raise NotFound / ServiceError."""
    response = send(client, "GET", url, params=params)
    check_response(response, what=what)
    return response_json(response, what=what)


def response_json(response: httpx.Response, *, what: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """The JSON body of a successful answer, within ``limits`` (size, nesting depth).

    A body that is not JSON, or breaks the limits, is a :class:`ServiceError`: the server is at
    fault, not the user.
    """
    url = str(response.request.url)
    try:
        return parse_json_text(response.content, source=url, limits=limits)
    except InputError as exc:
        where = f" at {exc.location}" if exc.location else ""
        raise service_error(
            url, f"the server sent invalid JSON for {what} ({exc.problem}{where})", HINT_MISBEHAVING
        ) from None

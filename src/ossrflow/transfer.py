"""HTTP with timeouts and polite retries, and resumable, checksum-verified downloads.

- :func:`make_client` builds the one ``httpx.Client`` a command uses: a timeout always, the token
  only in the ``Authorization`` header, and a transport that retries 429 and 5xx answers (and
  refused connections) with exponential backoff, honouring ``Retry-After``.
- :func:`get_json` maps HTTP outcomes onto the error hierarchy: 404/410 -> ``NotFound`` (exit 2),
  unreachable or failing servers -> ``ServiceError`` (exit 3).
- :func:`download` writes to ``<dest>.part``, resumes it with a ``Range`` request when a previous
  attempt left one, verifies the checksum, and only then renames it to ``dest``.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ossrflow._version import __version__
from ossrflow.errors import ChecksumMismatch, NotFound, ServiceError
from ossrflow.integrity import Checksum, hash_file

__all__ = [
    "Progress",
    "ProgressCallback",
    "RetryTransport",
    "check_response",
    "download",
    "get_json",
    "make_client",
    "response_json",
    "send",
]

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_BACKOFF = 60.0


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
            except (httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError):
                if attempt >= self.retries:
                    raise
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
    *, timeout: float, retries: int, token: str | None = None, backoff: float = 0.5
) -> httpx.Client:
    """The HTTP client every ossrflow command uses."""
    headers = {"User-Agent": f"ossrflow/{__version__}", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(
        timeout=timeout,
        headers=headers,
        follow_redirects=True,
        transport=RetryTransport(retries=retries, backoff=backoff),
    )


def _service_error(url: str, problem: str) -> ServiceError:
    return ServiceError(
        problem,
        source=url,
        hint="check the URL and your network, or retry later (or use --offline)",
    )


def send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request; an unreachable or silent server becomes :class:`ServiceError`."""
    try:
        return client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise _service_error(url, "the server did not answer in time") from None
    except httpx.TransportError as exc:
        raise _service_error(url, f"cannot reach the server ({type(exc).__name__})") from None


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
        raise _service_error(url, f"the server failed (HTTP {status}) after retries")
    raise ServiceError(f"the server refused the request (HTTP {status})", source=url)


def get_json(
    client: httpx.Client, url: str, *, params: dict[str, str] | None = None, what: str = "resource"
) -> Any:
    """GET ``url`` and return its JSON body, or raise NotFound / ServiceError."""
    response = send(client, "GET", url, params=params)
    check_response(response, what=what)
    return response_json(response, what=what)


def response_json(response: httpx.Response, *, what: str) -> Any:
    """The JSON body of a successful answer; a body that is not JSON is a ServiceError."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ServiceError(
            f"the server sent invalid JSON for {what} ({exc})",
            source=str(response.request.url),
            hint="the registry is misbehaving; retry later or report it to its operators",
        ) from None


def _part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def download(
    client: httpx.Client,
    url: str,
    dest: Path,
    *,
    expected: Checksum | None = None,
    size: int | None = None,
    progress: ProgressCallback | None = None,
    label: str | None = None,
) -> Path:
    """Download ``url`` to ``dest`` (resuming ``dest.part``), verify, and rename into place.

    On a checksum mismatch the partial file is deleted and :class:`ChecksumMismatch` is raised;
    ``dest`` is never created with unverified content.
    """
    part = _part_path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and offset:
                # The part file already holds everything: verify it below.
                pass
            else:
                check_response(response, what=f"file {dest.name}")
                if offset and response.status_code != 206:
                    offset = 0  # the server ignored Range: start over
                total = size or _content_total(response, offset)
                _write_body(response, part, offset, total, progress, label or dest.name)
    except httpx.TimeoutException:
        raise _service_error(url, "the download stalled; run again to resume it") from None
    except httpx.TransportError as exc:
        raise _service_error(url, f"the download broke ({type(exc).__name__}); run again") from None
    if expected is not None:
        actual = hash_file(part, [expected.algorithm])[expected.algorithm]
        if actual != expected.digest:
            part.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"checksum mismatch: the source publishes {expected}, "
                f"the bytes have {expected.algorithm}:{actual}",
                source=url,
                hint="the file changed or was corrupted on the way; nothing was kept",
            )
    part.replace(dest)
    return dest


def _content_total(response: httpx.Response, offset: int) -> int | None:
    length = response.headers.get("Content-Length")
    return int(length) + (offset if response.status_code == 206 else 0) if length else None


def _write_body(
    response: httpx.Response,
    part: Path,
    offset: int,
    total: int | None,
    progress: ProgressCallback | None,
    label: str,
) -> None:
    mode = "ab" if offset and response.status_code == 206 else "wb"
    done = offset if mode == "ab" else 0
    with part.open(mode) as handle:
        for chunk in response.iter_bytes(1 << 20):
            handle.write(chunk)
            done += len(chunk)
            if progress:
                progress(Progress(label, done, total))

"""A real HTTP server on 127.0.0.1, in a thread, with scripted routes.

Tests register routes (`server.route("/path", body=..., status=..., headers=...)`), or a
sequence of answers for the same path (`server.route("/x", answers=[(429, {...}, b""), ...])`).
Static bodies honour `Range: bytes=N-` with 206, as Zenodo's file server does; every request
is recorded in `server.requests` (method, path, headers) for assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Route:
    answers: list[Answer]
    repeat_last: bool = True
    body: bytes | None = None  # static body: Range requests supported
    headers: dict[str, str] = field(default_factory=dict)
    handler: Callable[[str, dict[str, str]], Answer] | None = None


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class LoopbackServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.fallback: Callable[[str, dict[str, str]], Answer] | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Seen("GET", self.path, headers))
                status, extra, body = server.answer(self.path, headers)
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                if "content-length" not in {k.lower() for k in extra}:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def start(self) -> LoopbackServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(
        self,
        path: str,
        *,
        body: bytes | str | None = None,
        json_body: object = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
        answers: list[Answer] | None = None,
        handler: Callable[[str, dict[str, str]], Answer] | None = None,
    ) -> None:
        """Serve `path` (query string included when given, else any query)."""
        if json_body is not None:
            body = json.dumps(json_body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        data = body.encode() if isinstance(body, str) else body
        if answers is None and handler is None:
            answers = [(status, headers or {}, data or b"")]
        self.routes[path] = Route(
            answers=answers or [],
            body=data if status == 200 and answers is None else None,
            headers=headers or {},
            handler=handler,
        )

    def answer(self, raw_path: str, headers: dict[str, str]) -> Answer:
        path = urlsplit(raw_path).path
        route = self.routes.get(raw_path) or self.routes.get(path)
        if route is None:
            if self.fallback is not None:
                return self.fallback(raw_path, headers)
            return (
                404,
                {"Content-Type": "application/json"},
                b'{"status": 404, "message": "not found"}',
            )
        if route.handler is not None:
            return route.handler(raw_path, headers)
        if route.body is not None and headers.get("range", "").startswith("bytes="):
            start = int(headers["range"][6:].split("-")[0] or 0)
            if start >= len(route.body):
                return 416, {}, b""
            chunk = route.body[start:]
            extra = {
                **route.headers,
                "Content-Range": f"bytes {start}-{len(route.body) - 1}/{len(route.body)}",
            }
            return 206, extra, chunk
        if len(route.answers) > 1 or not route.repeat_last:
            return route.answers.pop(0)
        return route.answers[0]

"""Run the service with uvicorn on a socket bound first, so ``--port 0`` can say its port.

:class:`Server` binds ``host:port`` (0: a free port), and once uvicorn has started calls
``on_ready(url)``; ``ossrflow serve`` prints ``listening on http://HOST:PORT`` there, tests wait
for it. :meth:`Server.run` blocks (signals stop it in the main thread); :meth:`Server.start`
runs it in a thread and returns when it listens.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import uvicorn

import ossrflow
from ossrflow.serve.app import create_app
from ossrflow.serve.config import ServeConfig

__all__ = ["Server", "bind"]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port``; ServiceError when the address is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ossrflow.ServiceError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            source="ossrflow serve",
            hint="choose another --port (0 picks a free one) or --host",
        ) from None
    sock.listen(2048)
    sock.set_inheritable(False)
    return sock


class _Uvicorn(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_ready()


class Server:
    """The service on its socket (see the module docstring)."""

    def __init__(
        self,
        config: ServeConfig,
        *,
        on_ready: Callable[[str], None] | None = None,
        workdir: Path | None = None,
        log_level: str = "warning",
    ) -> None:
        self.app = create_app(config, workdir=workdir)
        self.socket = bind(config.host, config.port)
        host, port = self.socket.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{port}"
        self.ready = threading.Event()
        self._callback = on_ready
        settings = uvicorn.Config(
            self.app, log_level=log_level, lifespan="on", timeout_graceful_shutdown=5
        )
        self._server = _Uvicorn(settings, self._started)
        self._thread: threading.Thread | None = None

    def _started(self) -> None:
        self.ready.set()
        if self._callback is not None:
            self._callback(self.url)

    def run(self) -> None:
        """Serve until stopped (SIGINT/SIGTERM in the main thread, or :meth:`stop`)."""
        try:
            asyncio.run(self._server.serve(sockets=[self.socket]))
        finally:
            self.socket.close()

    def start(self, timeout: float = 30.0) -> Server:
        """Serve in a thread; return once listening."""
        self._thread = threading.Thread(target=self.run, name="ossrflow-serve", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout):
            raise ossrflow.ServiceError("the service did not start", source=self.url)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)

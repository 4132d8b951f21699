"""The ASGI application: :func:`create_app` wires config, auth, database, runs and routers.

The database and the authenticator are opened here, so that a bad ``--db``, tokens file or
issuer fails before the service says it listens. The run manager starts with the application
(lifespan) and stops with it; its workers go on (:mod:`ossrflow.serve.manager`). The TRS and
matchmaking routers (``ossrflow.serve.trs``, ``ossrflow.serve.finder``) are mounted when their
modules are present.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ossrflow._version import __version__
from ossrflow.serve.auth import Authenticator, OidcVerifier, TokenFile
from ossrflow.serve.config import ServeConfig
from ossrflow.serve.db import RunStore
from ossrflow.serve.errors import error_response, install_error_handlers
from ossrflow.serve.manager import RunManager
from ossrflow.serve.shapes import WES_PREFIX
from ossrflow.serve.uploads import too_large
from ossrflow.serve.wes import INCOMING, Service

__all__ = ["BodyLimit", "create_app"]

_ROUTERS = ("ossrflow.serve.wes", "ossrflow.serve.extras", "ossrflow.serve.web")
_MOUNTED = ("ossrflow.serve.trs", "ossrflow.serve.finder")


class BodyLimit:
    """Refuse a ``POST /runs`` body larger than ``limit`` bytes with 413, while it streams in."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not str(scope["path"]).rstrip("/").endswith(f"{WES_PREFIX}/runs")
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length", b"").decode()
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise too_large(self.limit)
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        error = too_large(self.limit)
        response = error_response(Request(scope, receive), error.status_code, str(error.detail))
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _authenticator(config: ServeConfig) -> Authenticator:
    tokens = TokenFile(config.tokens_file) if config.tokens_file is not None else None
    oidc = None
    if config.oidc_issuer:
        oidc = OidcVerifier(
            config.oidc_issuer, config.oidc_audience, timeout=config.settings.timeout
        )
    return Authenticator(tokens, oidc)


def create_app(config: ServeConfig, *, workdir: Path | None = None) -> FastAPI:
    """The service's application (``app.state.config``, ``.service``, ``.authenticator``)."""
    config.runs_dir.mkdir(parents=True, exist_ok=True)
    incoming = config.runs_dir / INCOMING
    shutil.rmtree(incoming, ignore_errors=True)  # submissions a crash cut short
    incoming.mkdir()
    store = RunStore(config.db_url)
    manager = RunManager(config, store, workdir=workdir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        manager.start()
        try:
            yield
        finally:
            manager.stop()
            store.close()

    app = FastAPI(
        title="ossrflow",
        version=__version__,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.config = config
    app.state.authenticator = _authenticator(config)
    app.state.service = Service(config, store, manager)
    install_error_handlers(app)
    for name in _ROUTERS:
        app.include_router(importlib.import_module(name).router)
    for name in _MOUNTED:
        if importlib.util.find_spec(name) is not None:
            module: Any = importlib.import_module(name)
            module.mount(app)
    app.add_middleware(BodyLimit, limit=config.limits.max_request_bytes)
    return app

"""Every error the service answers with, in the shape of the API the path belongs to.

WES paths (and everything else) get GA4GH WES 1.1 ``ErrorResponse`` ``{"msg", "status_code"}``;
TRS paths (``/ga4gh/trs/v2/…``, ``/api/ga4gh/trs/v2/…``, ``/api/ga4gh/v2/…``) get TRS 2.0.1
``Error`` ``{"code", "message"}``. Status: :class:`ossrflow.NotFound` 404, any other
:class:`ossrflow.InputError` 400, :class:`ossrflow.ServiceError` 502, ``HTTPException`` its own
status, request validation 400; anything else is a bug: 500 with a generic message and the
traceback in the server's log only. Routers raise; they never build error bodies.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import ossrflow

__all__ = ["Conflict", "error_response", "install_error_handlers", "is_trs_path", "status_of"]

_LOG = logging.getLogger("ossrflow.serve")
TRS_PREFIXES = ("/ga4gh/trs/v2/", "/api/ga4gh/trs/v2/", "/api/ga4gh/v2/")
_GENERIC = "internal error: the service failed to answer (its log has the details)"


class Conflict(ossrflow.InputError):
    """What was asked does not fit the run's state (cancel a finished run): HTTP 409."""


def is_trs_path(path: str) -> bool:
    return path.startswith(TRS_PREFIXES) or path.rstrip("/") in {
        p.rstrip("/") for p in TRS_PREFIXES
    }


def status_of(exc: ossrflow.OssrflowError) -> int:
    if isinstance(exc, ossrflow.NotFound):
        return 404
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, ossrflow.InputError):
        return 400
    if isinstance(exc, ossrflow.ServiceError):
        return 502
    return 500


def error_response(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The API's error body for ``request``'s path (one line, never a traceback)."""
    message = " ".join(message.split())
    if is_trs_path(request.url.path):
        body: dict[str, object] = {"code": status, "message": message}
    else:
        body = {"msg": message, "status_code": status}
    return JSONResponse(body, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return f"{where}: {first.get('msg', 'invalid value')}" if where else str(first.get("msg"))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers described in the module docstring on ``app``."""

    async def ossrflow_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, ossrflow.OssrflowError):
            return await unexpected(request, exc)
        status = status_of(exc)
        if status == 500:
            _LOG.error("unexpected error on %s: %s", request.url.path, exc)
            return error_response(request, 500, _GENERIC)
        return error_response(request, status, str(exc))

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, StarletteHTTPException):
            return await unexpected(request, exc)
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(request, exc.status_code, detail, dict(exc.headers or {}))

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        if not isinstance(exc, RequestValidationError):
            return await unexpected(request, exc)
        return error_response(request, 400, _validation_message(exc))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        _LOG.error("unexpected error on %s", request.url.path, exc_info=exc)
        return error_response(request, 500, _GENERIC)

    app.add_exception_handler(ossrflow.OssrflowError, ossrflow_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected)

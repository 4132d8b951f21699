"""GA4GH TRS 2.0.1: the registry's entries as runnable CWL tools (docs/finder.md).

Served under three prefixes, the same routes each: ``/ga4gh/trs/v2`` (the spec's),
``/api/ga4gh/trs/v2`` (where Toil looks) and ``/api/ga4gh/v2`` (Dockstore's older layout, which
cwltool's ``--add-ga4gh-tool-registry`` uses, with the type spelt ``plain-CWL``). Reads are public
(:func:`ossrflow.serve.auth.optional_user`: a token, when sent, must be valid). Every route answers
``HEAD`` too (cwltool probes with it). What the ids mean and which files a version serves:
:mod:`ossrflow.serve.trs_catalog`.

Two optional 2.0.1 fields are not served: ``ToolVersion.descriptor_type_version`` and
``FileWrapper.image_type``; trs-cli 0.7.0, whose models predate them and forbid unknown fields,
refuses whole answers that carry them. ``ToolFile.checksum`` is served (it is how a client checks
what it fetched), so trs-cli's ``get_files`` needs ``TRSClient.config(no_validate=True)``.
"""

from __future__ import annotations

import io
import threading
import zipfile
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

import ossrflow
from ossrflow.errors import InputError, NotFound
from ossrflow.serve.auth import User, optional_user
from ossrflow.serve.trs_catalog import Bundle, BundleFile, Catalog, Tool, Version

__all__ = ["CANONICAL_PREFIX", "PREFIXES", "TOOL_CLASS", "catalog_of", "mount", "router"]

CANONICAL_PREFIX = "/ga4gh/trs/v2"
PREFIXES = (CANONICAL_PREFIX, "/api/ga4gh/trs/v2", "/api/ga4gh/v2")
TRS_VERSION = "2.0.1"
MAX_LIMIT = 1000
TOOL_CLASS = {
    "id": "CommandLineTool",
    "name": "CommandLineTool",
    "description": "A CWL CommandLineTool: one command-line program with typed inputs and outputs",
}
_OTHER_TYPES = frozenset({"WDL", "NFL", "GALAXY", "SMK"})
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_CATALOG_LOCK = threading.Lock()

Caller = Annotated[User | None, Depends(optional_user)]
router = APIRouter(tags=["GA4GH TRS 2.0.1"])
both = ["GET", "HEAD"]


def mount(app: FastAPI) -> None:
    """Add the TRS routes under each of :data:`PREFIXES`."""
    for prefix in PREFIXES:
        app.include_router(router, prefix=prefix)


def catalog_of(request: Request) -> Catalog:
    """The app's catalog, made on first use from ``app.state.config.settings``."""
    state = request.app.state
    with _CATALOG_LOCK:
        catalog: Catalog | None = getattr(state, "trs_catalog", None)
        if catalog is None:
            catalog = Catalog(state.config.settings)
            state.trs_catalog = catalog
    return catalog


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + CANONICAL_PREFIX


def _checksum(item: BundleFile) -> list[dict[str, str]]:
    return [{"checksum": item.sha256, "type": "sha-256"}]


# --- JSON shapes -----------------------------------------------------------------------------


def version_json(tool: Tool, version: Version, base: str) -> dict[str, Any]:
    """A TRS ToolVersion."""
    return {
        "id": version.id,
        "name": version.name,
        "url": f"{base}/tools/{tool.id}/versions/{version.id}",
        "author": list(version.record.creators),
        "is_production": version.is_production,
        "images": [],
        "descriptor_type": ["CWL"] if version.has_interface else [],
        "containerfile": version.has_interface and version.has_codemeta,
        "verified": False,
        "verified_source": [],
        "signed": False,
        "included_apps": [],
    }


def tool_json(tool: Tool, base: str) -> dict[str, Any]:
    """A TRS Tool, with every version."""
    return {
        "url": f"{base}/tools/{tool.id}",
        "id": tool.id,
        "aliases": list(tool.aliases),
        "organization": tool.organization,
        "name": tool.name,
        "toolclass": TOOL_CLASS,
        "description": tool.description or "",
        "has_checker": False,
        "versions": [version_json(tool, v, base) for v in tool.versions],
    }


def _wrapper(item: BundleFile, url: str) -> dict[str, Any]:
    return {"content": item.text, "checksum": _checksum(item), "url": url}


# --- service-info, tool classes, tools -------------------------------------------------------


@router.api_route("/service-info", methods=both)
def service_info(request: Request, user: Caller) -> JSONResponse:
    settings = catalog_of(request).settings
    folder = settings.registry.startswith("dir:")
    registry = "a folder registry" if folder else settings.registry
    community = f" (community {settings.community})" if settings.community and not folder else ""
    return JSONResponse(
        {
            "id": "org.ossrflow.trs",
            "name": "ossrflow workflow finder",
            "type": {"group": "org.ga4gh", "artifact": "trs", "version": TRS_VERSION},
            "description": f"The entries of {registry}{community} as runnable CWL v1.2 tools",
            "organization": {"name": "ossrflow", "url": str(request.base_url)},
            "version": ossrflow.__version__,
        }
    )


@router.api_route("/toolClasses", methods=both)
def tool_classes(user: Caller) -> JSONResponse:
    return JSONResponse([TOOL_CLASS])


def _contains(value: str | None, wanted: str | None) -> bool:
    return wanted is None or wanted.lower() in (value or "").lower()


def _selected(tool: Tool, filters: dict[str, Any]) -> bool:
    descriptor = filters["descriptorType"]
    tests = [
        filters["id"] is None or tool.id == filters["id"],
        filters["alias"] is None or filters["alias"].lower() in {a.lower() for a in tool.aliases},
        filters["toolClass"] is None or filters["toolClass"].lower() == "commandlinetool",
        descriptor is None
        or (descriptor.upper() == "CWL" and any(v.has_interface for v in tool.versions)),
        filters["registry"] is None,  # no tool names an image registry (images are not listed)
        _contains(tool.organization, filters["organization"]),
        _contains(tool.name, filters["name"]),
        _contains(tool.name, filters["toolname"]),
        _contains(tool.description, filters["description"]),
        filters["author"] is None
        or any(_contains(a, filters["author"]) for v in tool.versions for a in v.record.creators),
        not filters["checker"],
    ]
    return all(tests)


def _offset(text: str | None) -> int:
    if text is None or text == "":
        return 0
    if not text.isdigit():
        raise InputError(
            f"offset {text!r} is not a whole number", location="offset", hint="give 0, 10, …"
        )
    return int(text)


def _page_url(request: Request, offset: int, limit: int) -> str:
    return str(request.url.include_query_params(offset=str(offset), limit=str(limit)))


@router.api_route("/tools", methods=both)
def list_tools(
    request: Request,
    user: Caller,
    id: str | None = None,
    alias: str | None = None,
    toolClass: str | None = None,
    descriptorType: str | None = None,
    registry: str | None = None,
    organization: str | None = None,
    name: str | None = None,
    toolname: str | None = None,
    description: str | None = None,
    author: str | None = None,
    checker: bool | None = None,
    offset: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = MAX_LIMIT,
) -> JSONResponse:
    filters = dict(locals())
    start = _offset(offset)
    tools = [t for t in catalog_of(request).tools() if _selected(t, filters)]
    page = tools[start : start + limit]
    last = max(0, (len(tools) - 1) // limit * limit)
    headers = {
        "self_link": _page_url(request, start, limit),
        "current_offset": str(start),
        "current_limit": str(limit),
        "last_page": _page_url(request, last, limit),
    }
    if start + limit < len(tools):
        headers["next_page"] = _page_url(request, start + limit, limit)
    base = _base(request)
    return JSONResponse([tool_json(t, base) for t in page], headers=headers)


@router.api_route("/tools/{tool_id}", methods=both)
def get_tool(request: Request, tool_id: str, user: Caller) -> JSONResponse:
    return JSONResponse(tool_json(catalog_of(request).tool(tool_id), _base(request)))


@router.api_route("/tools/{tool_id}/versions", methods=both)
def list_versions(request: Request, tool_id: str, user: Caller) -> JSONResponse:
    tool = catalog_of(request).tool(tool_id)
    base = _base(request)
    return JSONResponse([version_json(tool, v, base) for v in tool.versions])


@router.api_route("/tools/{tool_id}/versions/{version_id}", methods=both)
def get_version(request: Request, tool_id: str, version_id: str, user: Caller) -> JSONResponse:
    tool = catalog_of(request).tool(tool_id)
    return JSONResponse(version_json(tool, tool.version(version_id), _base(request)))


# --- files of one version --------------------------------------------------------------------


def _descriptor_type(text: str) -> bool:
    """True for a PLAIN_ type; NotFound for a language other than CWL."""
    normalized = text.upper().replace("-", "_")
    if normalized in ("CWL", "PLAIN_CWL"):
        return normalized == "PLAIN_CWL"
    known = normalized.removeprefix("PLAIN_") in _OTHER_TYPES
    raise NotFound(
        f"no {text} descriptor: this registry serves CWL only"
        if known
        else f"{text!r} is not a TRS descriptor type",
        location="type",
        hint="ask for CWL or PLAIN_CWL (plain-CWL)",
    )


def _bundle(request: Request, tool_id: str, version_id: str) -> tuple[Tool, Version, Bundle]:
    catalog = catalog_of(request)
    tool = catalog.tool(tool_id)
    version = tool.version(version_id)
    return tool, version, catalog.bundle(version)


def _file_url(request: Request, tool: Tool, version: Version, path: str) -> str:
    return f"{_base(request)}/tools/{tool.id}/versions/{version.id}/PLAIN_CWL/descriptor/{path}"


def _wants_text(request: Request, plain: bool) -> bool:
    accept = request.headers.get("accept", "")
    return plain or ("text/plain" in accept and "application/json" not in accept)


def _one_file(
    request: Request, tool: Tool, version: Version, item: BundleFile, plain: bool
) -> Response:
    if _wants_text(request, plain):
        return PlainTextResponse(item.text)
    return JSONResponse(_wrapper(item, _file_url(request, tool, version, item.path)))


@router.api_route("/tools/{tool_id}/versions/{version_id}/{kind}/descriptor", methods=both)
def get_descriptor(
    request: Request, tool_id: str, version_id: str, kind: str, user: Caller
) -> Response:
    plain = _descriptor_type(kind)
    tool, version, bundle = _bundle(request, tool_id, version_id)
    return _one_file(request, tool, version, bundle.descriptor, plain)


@router.api_route(
    "/tools/{tool_id}/versions/{version_id}/{kind}/descriptor/{relative_path:path}",
    methods=both,
)
def get_descriptor_file(
    request: Request, tool_id: str, version_id: str, kind: str, relative_path: str, user: Caller
) -> Response:
    plain = _descriptor_type(kind)
    tool, version, bundle = _bundle(request, tool_id, version_id)
    return _one_file(request, tool, version, bundle.file(relative_path), plain)


def _zip(files: tuple[BundleFile, ...]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in files:
            info = zipfile.ZipInfo(item.path, date_time=_ZIP_DATE)
            info.external_attr = 0o644 << 16
            archive.writestr(info, item.content, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


@router.api_route("/tools/{tool_id}/versions/{version_id}/{kind}/files", methods=both)
def list_files(
    request: Request,
    tool_id: str,
    version_id: str,
    kind: str,
    user: Caller,
    format: str | None = None,
) -> Response:
    _descriptor_type(kind)
    tool, version, bundle = _bundle(request, tool_id, version_id)
    if format is not None and format != "zip":
        raise InputError(f"format {format!r} is not zip", location="format", hint="omit it, or zip")
    if format == "zip":
        name = f"{tool.id}-{version.id}.zip"
        return Response(
            _zip(bundle.files),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(
        [
            {"path": f.path, "file_type": f.file_type, "checksum": _checksum(f)[0]}
            for f in bundle.files
        ]
    )


@router.api_route("/tools/{tool_id}/versions/{version_id}/{kind}/tests", methods=both)
def list_tests(
    request: Request, tool_id: str, version_id: str, kind: str, user: Caller
) -> JSONResponse:
    _descriptor_type(kind)
    tool, version, bundle = _bundle(request, tool_id, version_id)
    return JSONResponse(
        [
            _wrapper(f, _file_url(request, tool, version, f.path))
            for f in bundle.of_type("TEST_FILE")
        ]
    )


@router.api_route("/tools/{tool_id}/versions/{version_id}/containerfile", methods=both)
def get_containerfile(
    request: Request, tool_id: str, version_id: str, user: Caller
) -> JSONResponse:
    tool, version, bundle = _bundle(request, tool_id, version_id)
    files = bundle.of_type("CONTAINERFILE")
    if not files:
        raise NotFound(
            f"no containerfile for {tool.id} version {version.id}: "
            f"{bundle.containerfile_problem or 'no recipe'}",
            hint="the Dockerfile is the one `ossrflow containerize` writes from codemeta.json",
        )
    return JSONResponse([_wrapper(f, _file_url(request, tool, version, f.path)) for f in files])

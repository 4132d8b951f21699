"""Matchmaking over HTTP: ``POST /ossrflow/v1/match`` with a shopping cart (docs/finder.md).

The body is a cart in any JSON form ``ossrflow stage`` reads (ESAP's GUI basket, its PATCH
payload ``{"shopping_cart": [...]}``, the stored ``[{"item_data": "<json>"}]`` rows, a
``user-profiles`` answer, ``{"items": [...]}`` or a list of URLs and DIDs). The answer ranks the
registry's entries as ``ossrflow match`` does, with each candidate's TRS id and version, so a
platform can offer "software for your cart" and then fetch the tool (TRS) and run it (WES).

Nothing is downloaded. A local path's first bytes (which may correct its name) are read only
inside the service's data roots (``ossrflow serve --data-root``); other local paths, like URLs
and Rucio DIDs, are matched on their names (a relative path is taken in the first data root). Query parameters:
``query`` (only the entries the registry finds for it) and ``limit`` (candidates returned).
The entries' profiles (their tools' inputs) are kept for ``ttl`` seconds per query.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import ossrflow
from ossrflow.documents import Limits, parse_json_text
from ossrflow.errors import InputError
from ossrflow.serve.auth import User, optional_user
from ossrflow.serve.trs import CANONICAL_PREFIX
from ossrflow.serve.trs_catalog import LATEST, SAFE_ID

__all__ = ["MATCH_PATH", "MAX_CART_BYTES", "Finder", "mount", "router", "trs_ids"]

MATCH_PATH = "/ossrflow/v1/match"
MAX_CART_BYTES = 4 << 20
SOURCE = "request body"

router = APIRouter(tags=["matchmaking"])
_FINDER_LOCK = threading.Lock()

Profiles = tuple[tuple[ossrflow.EntryProfile, ...], tuple[ossrflow.OssrflowError, ...], int]


def mount(app: FastAPI) -> None:
    """Add ``POST /ossrflow/v1/match``."""
    app.include_router(router)


@dataclass
class _Cached:
    profiles: Profiles
    made: float


class Finder:
    """The registry's entry profiles, computed at most every ``ttl`` seconds per query."""

    def __init__(
        self,
        settings: ossrflow.Settings,
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, _Cached] = {}
        self._lock = threading.Lock()  # one profile walk at a time: cwltool is not thread-safe

    def profiles(self, query: str) -> Profiles:
        with self._lock:
            cached = self._cache.get(query)
            if cached is None or self.clock() - cached.made >= self.ttl:
                cached = _Cached(ossrflow.profile_registry(self.settings, query=query), 0.0)
                cached.made = self.clock()
                self._cache[query] = cached
            return cached.profiles


def finder_of(request: Request) -> Finder:
    state = request.app.state
    with _FINDER_LOCK:
        finder: Finder | None = getattr(state, "finder", None)
        if finder is None:
            finder = Finder(state.config.settings)
            state.finder = finder
    return finder


def trs_ids(candidate: ossrflow.Candidate, settings: ossrflow.Settings) -> tuple[str, str] | None:
    """The TRS tool id and version id of a candidate (as :mod:`.trs_catalog` names them)."""
    if settings.registry.startswith("dir:"):
        version = candidate.version or ""
        ok = SAFE_ID.fullmatch(version) and version != LATEST
        ids = (candidate.ref, version if ok else "current")
    else:
        ids = (f"zenodo.{candidate.concept_id or candidate.ref}", candidate.ref)
    return ids if all(SAFE_ID.fullmatch(part) for part in ids) else None


def _read_cart(body: bytes, roots: tuple[Path, ...]) -> list[ossrflow.CartItem]:
    if len(body) > MAX_CART_BYTES:
        raise InputError(
            f"the cart has {len(body)} bytes, more than {MAX_CART_BYTES}",
            source=SOURCE,
            hint="send fewer items at a time",
        )
    data = parse_json_text(body, source=SOURCE, limits=Limits(max_bytes=MAX_CART_BYTES))
    base = roots[0] if roots else Path("/")
    return ossrflow.parse_cart(data, source=SOURCE, base=base, data_root=Path("/"))


def _in_roots(roots: tuple[Path, ...]) -> Callable[[ossrflow.CartItem], bool]:
    """Whether the service may read an item's first bytes: a path inside a data root."""

    def readable(item: ossrflow.CartItem) -> bool:
        resolved = Path(item.location).resolve()  # a link out of a root is not followed
        return any(resolved.is_relative_to(root) for root in roots)

    return readable


def _candidate_json(
    rank: int, candidate: ossrflow.Candidate, settings: ossrflow.Settings, base: str
) -> dict[str, Any]:
    ids = trs_ids(candidate, settings)
    trs = None
    if ids is not None and candidate.input is not None:
        tool, version = ids
        trs = {
            "id": tool,
            "version": version,
            "tool": f"{base}{CANONICAL_PREFIX}/tools/{tool}",
            "descriptor": f"{base}{CANONICAL_PREFIX}/tools/{tool}/versions/{version}"
            "/PLAIN_CWL/descriptor",
        }
    return {"rank": rank, **candidate.to_json(), "how": candidate.how, "trs": trs}


@router.post(MATCH_PATH)
async def match(
    request: Request,
    user: Annotated[User | None, Depends(optional_user)],
    query: str = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> JSONResponse:
    """Rank the registry's entries for the cart in the body (JSON)."""
    body = await request.body()
    config = request.app.state.config
    roots = tuple(config.data_roots)
    items = _read_cart(body, roots)
    finder = finder_of(request)
    described = ossrflow.describe_items(items, readable=_in_roots(roots))
    return await run_in_threadpool(_answer, request, finder, described, query, limit)


def _answer(
    request: Request,
    finder: Finder,
    described: tuple[ossrflow.DataItem, ...],
    query: str,
    limit: int,
) -> JSONResponse:
    profiles, refused, considered = finder.profiles(query)
    candidates, skipped = ossrflow.match_profiles(described, profiles)
    base = str(request.base_url).rstrip("/")
    return JSONResponse(
        {
            "considered": considered,
            "items": [item.to_json() for item in described],
            "candidates": [
                _candidate_json(rank, c, finder.settings, base)
                for rank, c in enumerate(candidates[:limit], start=1)
            ],
            "skipped": [{"ref": s.ref, "reason": s.reason} for s in skipped],
            "refused": [str(error) for error in refused],
        }
    )

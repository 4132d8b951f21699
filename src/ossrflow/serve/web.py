"""The page for people at ``/``, the JSON it polls, and the auth instructions.

``GET /`` is a static page (``page.html``): it takes a token from the login form or from the URL
fragment ``#token=…`` (never sent to the server in a URL), keeps it in the tab's
``sessionStorage``, and every 2 seconds reads ``GET /ossrflow/runs`` with it: the user's runs with
state, jobs done / total, facility, start time and links to outputs, crate, report and log.
Links are fetched with the token when clicked. ``GET /auth-instructions`` is the
``auth_instructions_url`` of service-info.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from ossrflow.serve.auth import User, current_user
from ossrflow.serve.db import RunInfo
from ossrflow.serve.shapes import iso, run_url
from ossrflow.serve.wes import base_url, service

__all__ = ["router"]

router = APIRouter()
UserDep = Annotated[User, Depends(current_user)]

AUTH_TEXT = """\
How to authenticate to this ossrflow service

Every request except GET /ga4gh/wes/v1/service-info carries
    Authorization: Bearer TOKEN
where TOKEN is either
  - an API token: the operator runs `ossrflow serve token USER`, adds the line it prints on
    stderr to the service's tokens file and gives you the token it prints on stdout; or
  - an OpenID Connect access token (a JWT) from the identity provider this service trusts
    ({issuer}), as an analysis platform forwards it for its logged-in user.
You see, cancel and download only your own runs.
The web page at / asks for the token once per browser tab.
"""


@router.get("/", response_class=HTMLResponse)
def page() -> HTMLResponse:
    return HTMLResponse((files("ossrflow.serve") / "page.html").read_text(encoding="utf-8"))


@router.get("/auth-instructions", response_class=PlainTextResponse)
def auth_instructions(request: Request) -> PlainTextResponse:
    issuer = service(request).config.oidc_issuer or "none configured here"
    return PlainTextResponse(AUTH_TEXT.format(issuer=issuer))


def _summary(run: RunInfo, base: str) -> dict[str, Any]:
    url = run_url(base, run.run_id)
    links = {"log": f"{url}/logs/stderr"}
    if run.state == "COMPLETE":
        links = {"outputs": f"{url}/outputs", "crate": f"{url}/crate",
                 "report": f"{url}/report", **links}  # fmt: skip
    elif run.state == "EXECUTOR_ERROR":
        links = {"crate": f"{url}/crate", **links}
    workflow = str(run.request.get("workflow_url", ""))
    return {
        "run_id": run.run_id,
        "workflow": Path(urlsplit(workflow).path).name or workflow,
        "state": run.state,
        "done": run.done,
        "total": run.total,
        "facility": run.profile,
        "start_time": iso(run.started),
        "end_time": iso(run.ended),
        "tags": run.tags,
        "links": links,
    }


@router.get("/ossrflow/runs")
def page_runs(
    request: Request, user: UserDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> dict[str, Any]:
    runs, _ = service(request).store.page(user.name, size=limit)
    base = base_url(request)
    return {"runs": [_summary(run, base) for run in runs]}

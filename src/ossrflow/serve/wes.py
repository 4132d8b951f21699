"""GA4GH WES 1.1 under ``/ga4gh/wes/v1``: service-info, runs, status, cancel, tasks.

Every endpoint but ``service-info`` needs a user (:func:`ossrflow.serve.auth.current_user`);
a run of another user is a 404, exactly like a run that does not exist. Listing is newest
first; beyond WES 1.1, ``GET /runs`` also filters by ``state=`` (repeatable) and
``tag=KEY=VALUE`` / ``tag=KEY`` (repeatable, all must match).
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

import ossrflow
from ossrflow._version import __version__
from ossrflow.serve.auth import User, current_user
from ossrflow.serve.config import ServeConfig
from ossrflow.serve.db import RunInfo, RunStore
from ossrflow.serve.manager import RunManager
from ossrflow.serve.shapes import WES_PREFIX, run_log, run_summary, task_log
from ossrflow.serve.uploads import ATTACHMENTS, read_submission, save_attachments, validate
from ossrflow.serve.worker import RUN_DIR, SPEC

__all__ = ["INCOMING", "Service", "base_url", "get_run", "router", "service"]

router = APIRouter(prefix=WES_PREFIX)
INCOMING = ".incoming"  # submissions being checked, renamed into place when accepted
UserDep = Annotated[User, Depends(current_user)]
_STATES = [
    "UNKNOWN",
    "QUEUED",
    "INITIALIZING",
    "RUNNING",
    "PAUSED",
    "COMPLETE",
    "EXECUTOR_ERROR",
    "SYSTEM_ERROR",
    "CANCELED",
    "CANCELING",
    "PREEMPTED",
]


@dataclass(frozen=True)
class Service:
    """What the routers share (``app.state.service``)."""

    config: ServeConfig
    store: RunStore
    manager: RunManager

    def folder(self, run_id: str) -> Path:
        return self.config.runs_dir / run_id

    def results(self, run_id: str) -> Path:
        return self.folder(run_id) / RUN_DIR / "results"


def service(request: Request) -> Service:
    found: Service = request.app.state.service
    return found


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def get_run(request: Request, run_id: str, user: User) -> RunInfo:
    """The user's run, or 404 (also for another user's run)."""
    run = service(request).store.get(run_id, owner=user.name)
    if run is None:
        raise ossrflow.NotFound(
            f"no run {run_id!r}", source=f"{WES_PREFIX}/runs", hint="list your runs: GET /runs"
        )
    return run


def _parameters(config: ServeConfig) -> list[dict[str, str]]:
    facilities = ", ".join(config.profiles)
    containers = "docker, podman, apptainer" + (", none" if config.allow_native else "")
    return [
        {"name": "profile", "type": f"string (a facility: {facilities})",
         "default_value": config.default_profile},
        {"name": "container", "type": f"string ({containers})", "default_value": ""},
        {"name": "retries", "type": "integer (0-10)", "default_value": "0"},
        {"name": "jobs", "type": "integer (1-1000)", "default_value": ""},
        {"name": "carts", "type": "object {INPUT: CART_ATTACHMENT}", "default_value": "{}"},
    ]  # fmt: skip


@router.get("/service-info")
def service_info(request: Request) -> dict[str, Any]:
    config = service(request).config
    base = base_url(request)
    protocols = ["http", "https", "zenodo", "rucio"] + (["file"] if config.data_roots else [])
    return {
        "id": "org.ossrflow.wes",
        "name": "ossrflow",
        "type": {"group": "org.ga4gh", "artifact": "wes", "version": "1.1.0"},
        "description": "CWL workflows and ossrflow definitions run through Snakemake on the "
        "facilities below; every step in a container.",
        "organization": {"name": "ossrflow", "url": base},
        "documentationUrl": f"{base}/auth-instructions",
        "version": __version__,
        "workflow_type_versions": {
            "CWL": {"workflow_type_version": ["v1.0", "v1.1", "v1.2"]},
            "OSSRFLOW": {"workflow_type_version": ["1"]},
        },
        "supported_wes_versions": ["1.1.0"],
        "supported_filesystem_protocols": protocols,
        "workflow_engine_versions": {"ossrflow": {"workflow_engine_version": [__version__]}},
        "default_workflow_engine_parameters": _parameters(config),
        "system_state_counts": service(request).store.counts(),
        "auth_instructions_url": f"{base}/auth-instructions",
        "tags": {
            "facilities": ",".join(config.profiles),
            "containers": "optional" if config.allow_native else "required",
            "max_request_bytes": str(config.limits.max_request_bytes),
        },
    }


def _tag_filter(values: list[str]) -> dict[str, str | None]:
    tags: dict[str, str | None] = {}
    for value in values:
        key, sep, wanted = value.partition("=")
        if not key:
            raise ossrflow.InputError("tag filter needs a key: tag=KEY or tag=KEY=VALUE")
        tags[key] = wanted if sep else None
    return tags


def _page_token(token: str | None) -> int | None:
    if not token:
        return None
    if not token.isdigit() or len(token) > 18:
        raise ossrflow.InputError(
            f"page_token {token[:40]!r} is not one this service gave", location="page_token"
        )
    return int(token)


@router.get("/runs")
def list_runs(
    request: Request,
    user: UserDep,
    page_size: Annotated[int, Query(ge=1, le=1000)] = 50,
    page_token: str | None = None,
    state: Annotated[list[str] | None, Query()] = None,
    tag: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    for value in state or []:
        if value not in _STATES:
            raise ossrflow.InputError(f"state {value!r} is not a WES state", location="state")
    runs, after = service(request).store.page(
        user.name,
        size=page_size,
        after=_page_token(page_token),
        states=state or [],
        tags=_tag_filter(tag or []),
    )
    return {"runs": [run_summary(r) for r in runs], "next_page_token": str(after or "")}


@router.post("/runs")
async def run_workflow(request: Request, user: UserDep) -> dict[str, str]:
    svc = service(request)
    config = svc.config
    submission = await read_submission(request, config)
    run_id = uuid.uuid4().hex
    incoming = config.runs_dir / INCOMING / run_id
    try:
        (incoming / ATTACHMENTS).mkdir(parents=True)
        await save_attachments(submission, incoming / ATTACHMENTS)
        echo, spec, tags = await run_in_threadpool(
            partial(validate, final=svc.folder(run_id) / ATTACHMENTS),
            submission,
            incoming / ATTACHMENTS,
            config,
        )
        engine = spec["engine"]
        spec.update(
            allow_native=config.allow_native,
            data_roots=[str(root) for root in config.data_roots],
            profile=engine["profile"],
            profile_path=str(config.profiles[engine["profile"]]),
            container_user=config.container_user,
            limits={
                "max_download_bytes": config.limits.max_download_bytes,
                "max_output_bytes": config.limits.max_output_bytes,
            },
        )
        (incoming / SPEC).write_text(json.dumps(spec, indent=1, sort_keys=True), encoding="utf-8")
        incoming.rename(svc.folder(run_id))
    except ossrflow.NotFound as exc:  # a request naming what is not there: bad input, 400
        shutil.rmtree(incoming, ignore_errors=True)
        raise ossrflow.InputError(
            exc.problem, source=exc.source, location=exc.location, hint=exc.hint
        ) from None
    except BaseException:
        shutil.rmtree(incoming, ignore_errors=True)
        raise
    finally:
        await submission.close()
    await run_in_threadpool(
        svc.store.add,
        run_id,
        user.name,
        request=echo,
        spec=spec,
        profile=engine["profile"],
        tags=tags,
    )
    svc.manager.notify()
    return {"run_id": run_id}


@router.get("/runs/{run_id}")
def get_run_log(request: Request, run_id: str, user: UserDep) -> dict[str, Any]:
    run = get_run(request, run_id, user)
    return run_log(run, base_url(request), service(request).results(run_id))


@router.get("/runs/{run_id}/status")
def get_run_status(request: Request, run_id: str, user: UserDep) -> dict[str, str]:
    run = get_run(request, run_id, user)
    return {"run_id": run.run_id, "state": run.state}


@router.post("/runs/{run_id}/cancel")
def cancel_run(request: Request, run_id: str, user: UserDep) -> dict[str, str]:
    run = get_run(request, run_id, user)
    service(request).manager.cancel(run)
    return {"run_id": run.run_id}


def _jobs(request: Request, run: RunInfo) -> list[ossrflow.RunJob]:
    return ossrflow.list_run_jobs(service(request).folder(run.run_id) / RUN_DIR, active=run.active)


@router.get("/runs/{run_id}/tasks")
def list_tasks(
    request: Request,
    run_id: str,
    user: UserDep,
    page_size: Annotated[int, Query(ge=1, le=10000)] = 100,
    page_token: str | None = None,
) -> dict[str, Any]:
    run = get_run(request, run_id, user)
    jobs = _jobs(request, run)
    start = _page_token(page_token) or 0
    page = jobs[start : start + page_size]
    more = start + page_size < len(jobs)
    base = base_url(request)
    return {
        "task_logs": [task_log(job, run, base) for job in page],
        "next_page_token": str(start + page_size) if more else "",
    }


@router.get("/runs/{run_id}/tasks/{task_id}")
def get_task(request: Request, run_id: str, task_id: str, user: UserDep) -> dict[str, Any]:
    run = get_run(request, run_id, user)
    for job in _jobs(request, run):
        if job.id == task_id:
            return task_log(job, run, base_url(request))
    raise ossrflow.NotFound(
        f"run {run_id} has no task {task_id!r}", hint=f"list them: GET /runs/{run_id}/tasks"
    )

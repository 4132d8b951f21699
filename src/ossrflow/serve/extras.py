"""Beyond WES 1.1, under ``/ga4gh/wes/v1/runs/{run_id}``: what a run's users ask for.

- ``GET /outputs``: the output files (path, size, URL); ``GET /outputs/{path}``: one file;
- ``GET /crate``: the run's Workflow Run RO-Crate (``provenance/``) as a zip;
- ``GET /report``: Snakemake's HTML report of a finished run (made on first request);
- ``GET /logs/{stderr|stdout|snakemake}`` and ``GET /logs/tasks/{task_id}``: plain text;
  ``?follow=true`` streams the log while the run goes on, and ends when it has ended;
- ``DELETE``: a finished run, with its folder and its row (a running one is a 409).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

import ossrflow
from ossrflow.integrity import safe_join
from ossrflow.serve.auth import User, current_user
from ossrflow.serve.shapes import WES_PREFIX, run_url
from ossrflow.serve.wes import base_url, get_run, service
from ossrflow.serve.worker import REPORT, RUN_DIR

__all__ = ["router"]

router = APIRouter(prefix=f"{WES_PREFIX}/runs/{{run_id}}")
UserDep = Annotated[User, Depends(current_user)]
_LOGS = {"stderr": "worker.log", "snakemake": f"{RUN_DIR}/snakemake.log"}
_FOLLOW_POLL = 0.5
_report_locks: dict[str, asyncio.Lock] = {}


def _conflict(message: str) -> HTTPException:
    return HTTPException(status_code=409, detail=message)


@router.get("/outputs")
def list_outputs(request: Request, run_id: str, user: UserDep) -> dict[str, Any]:
    run = get_run(request, run_id, user)
    results = service(request).results(run_id)
    base = run_url(base_url(request), run.run_id)
    files = []
    if run.state == "COMPLETE" and results.is_dir():
        for path in sorted(p for p in results.rglob("*") if p.is_file() and not p.is_symlink()):
            relative = path.relative_to(results).as_posix()
            files.append(
                {"path": relative, "size": path.stat().st_size,
                 "url": f"{base}/outputs/{quote(relative)}"}
            )  # fmt: skip
    return {"run_id": run.run_id, "state": run.state, "outputs": files}


@router.get("/outputs/{path:path}")
def get_output(request: Request, run_id: str, path: str, user: UserDep) -> FileResponse:
    run = get_run(request, run_id, user)
    if run.state != "COMPLETE":
        raise _conflict(f"run {run_id} is {run.state}: outputs come with COMPLETE")
    results = service(request).results(run_id)
    target = safe_join(results, path, source=f"/runs/{run_id}/outputs", location=path)
    if not target.is_file() or target.is_symlink():
        raise ossrflow.NotFound(
            f"no output file {path!r}", hint=f"list them: GET /runs/{run_id}/outputs"
        )
    return FileResponse(target, filename=target.name)


def _zip_folder(folder: Path, prefix: str) -> Path:
    handle, name = tempfile.mkstemp(suffix=".zip")
    archive = Path(name)
    with os.fdopen(handle, "wb") as out, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not path.is_symlink():
                zipped.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return archive


@router.get("/crate")
async def get_crate(request: Request, run_id: str, user: UserDep) -> FileResponse:
    run = get_run(request, run_id, user)
    crate = service(request).folder(run_id) / RUN_DIR / "provenance"
    if run.active or not (crate / "ro-crate-metadata.json").is_file():
        raise ossrflow.NotFound(
            f"run {run_id} has no record (yet)",
            hint="a run is recorded when it ends (COMPLETE or EXECUTOR_ERROR)",
        )
    archive = await run_in_threadpool(_zip_folder, crate, f"{run_id}-crate")
    return FileResponse(
        archive,
        media_type="application/zip",
        filename=f"{run_id}-crate.zip",
        background=BackgroundTask(archive.unlink),
    )


async def _make_report(folder: Path, env: dict[str, str], cwd: Path) -> None:
    command = [sys.executable, "-m", "ossrflow.serve.worker", "report", str(folder)]
    with (folder / "report.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd
        )
        await process.wait()


@router.get("/report")
async def get_report(request: Request, run_id: str, user: UserDep) -> FileResponse:
    run = get_run(request, run_id, user)
    svc = service(request)
    folder = svc.folder(run_id)
    if run.state != "COMPLETE":
        raise _conflict(f"run {run_id} is {run.state}: a report comes with COMPLETE")
    lock = _report_locks.setdefault(run_id, asyncio.Lock())
    async with lock:
        if not (folder / REPORT).is_file():
            manager = svc.manager
            await _make_report(folder, manager.worker_environment, manager.workdir)
    if not (folder / REPORT).is_file():
        raise ossrflow.ServiceError(
            "Snakemake could not write the report", source=f"/runs/{run_id}/report"
        )
    return FileResponse(folder / REPORT, media_type="text/html")


def _log_path(request: Request, run_id: str, name: str, user: User) -> Path:
    run = get_run(request, run_id, user)
    folder = service(request).folder(run.run_id)
    if name in _LOGS:
        return folder / _LOGS[name]
    raise ossrflow.NotFound(f"no log {name!r}", hint="logs: stderr, stdout, snakemake, tasks/ID")


async def _follow(request: Request, run_id: str, path: Path) -> AsyncIterator[bytes]:
    position = 0
    store = service(request).store
    while True:
        run = await run_in_threadpool(store.get, run_id)
        chunk = await run_in_threadpool(_read_from, path, position)
        if chunk:
            position += len(chunk)
            yield chunk
        elif run is None or not run.active or await request.is_disconnected():
            return
        else:
            await asyncio.sleep(_FOLLOW_POLL)


def _read_from(path: Path, position: int) -> bytes:
    try:
        with path.open("rb") as handle:
            handle.seek(position)
            return handle.read(1 << 20)
    except OSError:
        return b""


def _log_response(request: Request, run_id: str, path: Path, follow: bool) -> Any:
    if follow:
        return StreamingResponse(_follow(request, run_id, path), media_type="text/plain")
    return PlainTextResponse(_read_from(path, 0) if path.is_file() else b"")


@router.get("/logs/stdout")
def get_stdout(request: Request, run_id: str, user: UserDep) -> PlainTextResponse:
    """The run's stdout, as ``ossrflow run`` prints it: the CWL output object (when done)."""
    run = get_run(request, run_id, user)
    outputs = run.outputs if run.state == "COMPLETE" else None
    text = json.dumps(outputs, indent=2, sort_keys=True) + "\n" if outputs is not None else ""
    return PlainTextResponse(text)


@router.get("/logs/tasks/{task_id}")
def get_task_log(
    request: Request, run_id: str, task_id: str, user: UserDep, follow: bool = False
) -> Any:
    run = get_run(request, run_id, user)
    jobs = ossrflow.list_run_jobs(service(request).folder(run_id) / RUN_DIR, active=run.active)
    for job in jobs:
        if job.id == task_id:
            if job.log is None:
                return PlainTextResponse("")
            return _log_response(request, run_id, job.log, follow)
    raise ossrflow.NotFound(f"run {run_id} has no task {task_id!r}")


@router.get("/logs/{name}")
def get_log(request: Request, run_id: str, name: str, user: UserDep, follow: bool = False) -> Any:
    return _log_response(request, run_id, _log_path(request, run_id, name, user), follow)


@router.delete("")
def delete_run(request: Request, run_id: str, user: UserDep) -> dict[str, str]:
    run = get_run(request, run_id, user)
    if run.active:
        raise _conflict(
            f"run {run_id} is {run.state}: cancel it first (POST /runs/{run_id}/cancel)"
        )
    svc = service(request)
    shutil.rmtree(svc.folder(run_id), ignore_errors=True)
    svc.store.delete(run_id)
    return {"run_id": run_id}

"""The JSON bodies of GA4GH WES 1.1, built from runs and their jobs (pure functions).

Times are ISO 8601 in UTC, ``%Y-%m-%dT%H:%M:%SZ``. Log URLs are absolute (clients such as
``wes-client`` fetch ``run_log.stderr`` as it is). In a run's outputs every File and Directory
``location`` becomes its download URL (``/runs/{id}/outputs/…``) and ``path`` is dropped: the
service's own paths are not the client's business. Extensions beyond WES 1.1 (allowed by its
schemas, which do not forbid other properties): a TaskLog's ``state`` and
``scheduler_job_id``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import ossrflow
from ossrflow.serve.db import RunInfo

__all__ = [
    "WES_PREFIX",
    "iso",
    "outputs_for_client",
    "request_echo",
    "run_log",
    "run_status",
    "run_summary",
    "task_log",
    "task_state",
]

WES_PREFIX = "/ga4gh/wes/v1"


def iso(moment: datetime | None) -> str | None:
    """``%Y-%m-%dT%H:%M:%SZ`` (UTC), or None."""
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_text(text: str | None) -> str | None:
    if not text:
        return None
    return iso(datetime.fromisoformat(text))


def run_url(base: str, run_id: str) -> str:
    return f"{base}{WES_PREFIX}/runs/{run_id}"


def run_status(run: RunInfo) -> dict[str, Any]:
    return {"run_id": run.run_id, "state": run.state}


def run_summary(run: RunInfo) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "state": run.state,
        "start_time": iso(run.started),
        "end_time": iso(run.ended),
        "tags": dict(run.tags),
    }


def request_echo(request: Mapping[str, Any]) -> dict[str, Any]:
    """The RunRequest as submitted (engine parameters as strings, as the schema types them)."""
    echo = dict(request)
    params = echo.get("workflow_engine_parameters") or {}
    echo["workflow_engine_parameters"] = {
        str(k): v if isinstance(v, str) else json.dumps(v, sort_keys=True)
        for k, v in params.items()
    }
    return echo


def outputs_for_client(outputs: Any, results: Path, base: str) -> Any:
    """``outputs`` with file locations under ``results`` turned into download URLs."""
    if isinstance(outputs, Mapping):
        value = {str(k): outputs_for_client(v, results, base) for k, v in outputs.items()}
        if value.get("class") in ("File", "Directory"):
            value.pop("path", None)
            value.pop("dirname", None)
            location = str(value.get("location", ""))
            parts = urlsplit(location)
            if parts.scheme == "file":
                local = Path(unquote(parts.path))
                if local.is_relative_to(results):
                    relative = local.relative_to(results).as_posix()
                    value["location"] = f"{base}/outputs/{quote(relative)}"
        return value
    if isinstance(outputs, list):
        return [outputs_for_client(item, results, base) for item in outputs]
    return outputs


def _command(run: RunInfo, workflow: str) -> list[str]:
    """The ``ossrflow run`` command line the run amounts to (a definition takes no job)."""
    job = [] if run.request.get("workflow_type") == "OSSRFLOW" else ["job.json"]
    return ["ossrflow", "run", workflow, *job, "--profile", run.profile]


def run_log(run: RunInfo, base: str, results: Path) -> dict[str, Any]:
    """The RunLog of ``run``; ``base`` is the service's URL, ``results`` its output folder."""
    url = run_url(base, run.run_id)
    workflow = str(run.request.get("workflow_url", ""))
    system_logs = [run.error] if run.error else []
    outputs = outputs_for_client(run.outputs or {}, results, url)
    return {
        "run_id": run.run_id,
        "request": request_echo(run.request),
        "state": run.state,
        "run_log": {
            "name": Path(urlsplit(workflow).path).name or workflow,
            "cmd": _command(run, workflow),
            "start_time": iso(run.started),
            "end_time": iso(run.ended),
            "stdout": f"{url}/logs/stdout",
            "stderr": f"{url}/logs/stderr",
            "exit_code": run.exit_code,
            "system_logs": system_logs,
        },
        "task_logs_url": f"{url}/tasks",
        "task_logs": None,
        "outputs": outputs,
    }


def task_state(job: ossrflow.RunJob, run: RunInfo) -> str:
    """A job's WES state, given its run's."""
    if job.status == "completed":
        return "COMPLETE"
    if job.status == "failed":
        return "EXECUTOR_ERROR"
    if job.status == "running":
        return "CANCELING" if run.state == "CANCELING" else "RUNNING"
    if run.state == "CANCELED":
        return "CANCELED"
    return "QUEUED" if run.active else "UNKNOWN"


def task_log(job: ossrflow.RunJob, run: RunInfo, base: str) -> dict[str, Any]:
    """The TaskLog of one Snakemake job."""
    url = run_url(base, run.run_id)
    log = f"{url}/logs/tasks/{job.id}"
    system_logs = [f"scheduler job id: {job.job_id}"] if job.job_id else []
    return {
        "id": job.id,
        "name": job.step if job.element is None else f"{job.step}[{job.element}]",
        "cmd": ["python", "-m", "ossrflow.run.job", "run", job.step]
        + ([str(job.element)] if job.element is not None else []),
        "start_time": _iso_text(job.started),
        "end_time": _iso_text(job.ended),
        "stdout": log,
        "stderr": log,
        "exit_code": job.exit_code,
        "system_logs": system_logs,
        "tes_uri": None,
        "state": task_state(job, run),
        "scheduler_job_id": job.job_id,
    }

"""The run manager: queues runs, starts their workers, watches them, cancels, recovers.

One thread in the server process looks at every unfinished run each ``poll_seconds`` (and at
once when woken by a submission or a cancel):

- ``QUEUED``: started when fewer than ``max_runs`` runs are going: a worker process
  (:mod:`ossrflow.serve.worker`) in a session of its own, its pid and start time recorded;
- ``INITIALIZING`` / ``RUNNING`` / ``CANCELING``: the worker's ``status.json`` gives the phase and
  the jobs done / total; when the worker has ended, its ``result.json`` gives the final state;
- a worker gone without a result was interrupted (killed, or the machine went down): the run is
  queued again and resumes in the same folder, finished steps kept (at most ``max_attempts``
  starts); a worker that failed on its own (a bug, exit status > 0) ends the run in
  ``SYSTEM_ERROR``.

Workers outlive the server: a server started again on the same runs folder and database finds
them by pid and start time and goes on watching them; finished runs keep their outputs in the
database; queued ones start. A cancel sends SIGTERM to the worker's process group (Snakemake
stops its jobs and cancels what it submitted), SIGKILL after ``CANCEL_GRACE`` seconds; then the
run's containers are killed and its Slurm jobs still queued or running are ``scancel``-led.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

import ossrflow
from ossrflow.serve.config import ServeConfig
from ossrflow.serve.db import FINAL, RunInfo, RunStore, utcnow
from ossrflow.serve.errors import Conflict
from ossrflow.serve.process import (
    cancel_scheduler_jobs,
    kill_containers,
    process_start,
    running,
    signal_group,
)
from ossrflow.serve.worker import RESULT, RUN_DIR, STATUS, read_json

__all__ = ["CANCEL_GRACE", "RunManager", "worker_env"]

_LOG = logging.getLogger("ossrflow.serve")
CANCEL_GRACE = 60.0  # seconds between SIGTERM and SIGKILL of a canceled run's worker
_STATUS_BYTES = 64 << 10  # status.json is a few numbers


def worker_env(settings: ossrflow.Settings) -> dict[str, str]:
    """The environment of a worker: this process's, with exactly the service's settings.

    Every ``OSSRFLOW_*`` variable is dropped, then each setting is passed in its own variable
    (``Settings`` field metadata names it), so the worker resolves the very same settings.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("OSSRFLOW_")}
    for spec in fields(settings):
        variable = spec.metadata.get("env")
        value = getattr(settings, spec.name)
        if variable and value is not None and spec.name != "profile":
            env[variable] = str(value).lower() if isinstance(value, bool) else str(value)
    env[ossrflow.EnvVars.CONFIG] = os.devnull
    return env


class RunManager:
    """See the module docstring. ``start()`` runs the loop in a thread; ``stop()`` ends it."""

    def __init__(self, config: ServeConfig, store: RunStore, *, workdir: Path | None = None):
        self.config = config
        self.store = store
        self.workdir = workdir or Path.cwd()
        self._env = worker_env(config.settings)
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._term_sent: dict[str, float] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def worker_environment(self) -> dict[str, str]:
        """The environment workers (and report makers) run with."""
        return dict(self._env)

    # -- the loop -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="ossrflow-runs", daemon=True)
        self._thread.start()

    def stop(self, *, kill_workers: bool = False) -> None:
        """End the loop; workers go on (a restarted service adopts them) unless ``kill_workers``."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if kill_workers:
            for run in self.store.active():
                if run.worker_pid and running(run.worker_pid, run.worker_start):
                    signal_group(run.worker_pid, signal.SIGKILL)
                kill_containers(run.run_id)
        for child in list(self._children.values()):
            child.poll()

    def notify(self) -> None:
        """Look at the runs now (a submission or a cancel happened)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except (SQLAlchemyError, OSError, ossrflow.OssrflowError) as exc:
                _LOG.error("run manager: %s", exc)
            self._wake.wait(self.config.poll_seconds)
            self._wake.clear()

    def tick(self) -> None:
        """One look at every unfinished run (see the module docstring)."""
        with self._lock:
            runs = self.store.active()
            going = sum(1 for run in runs if run.state != "QUEUED")
            for run in runs:
                if run.state == "QUEUED":
                    if run.cancel_requested:
                        self._finish(run, {"state": "CANCELED", "error": "canceled"})
                    elif going < self.config.max_runs:
                        self._launch(run)
                        going += 1
                else:
                    self._watch(run)

    # -- one run ------------------------------------------------------------------------

    def folder(self, run_id: str) -> Path:
        return self.config.runs_dir / run_id

    def _log(self, run_id: str, message: str) -> None:
        with (self.folder(run_id) / "worker.log").open("a", encoding="utf-8") as log:
            log.write(f"[ossrflow serve] {message}\n")

    def _launch(self, run: RunInfo) -> None:
        folder = self.folder(run.run_id)
        command = [sys.executable, "-m", "ossrflow.serve.worker", "run", str(folder)]
        try:
            with (folder / "worker.log").open("ab") as log:
                child = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    env=self._env,
                    start_new_session=True,
                )
        except OSError as exc:
            self._finish(run, {"state": "SYSTEM_ERROR", "error": f"cannot start a worker: {exc}"})
            return
        self._children[run.run_id] = child
        (folder / STATUS).unlink(missing_ok=True)
        self.store.update(
            run.run_id,
            state="INITIALIZING",
            started=run.started or utcnow(),
            worker_pid=child.pid,
            worker_start=process_start(child.pid),
            attempts=run.attempts + 1,
        )

    def _alive(self, run: RunInfo) -> tuple[bool, int | None]:
        """Whether the worker runs, and its exit status when it was ours and has ended."""
        child = self._children.get(run.run_id)
        if child is not None and child.pid == run.worker_pid:
            status = child.poll()
            return status is None, status
        return running(run.worker_pid, run.worker_start), None

    def _status(self, run_id: str) -> dict[str, Any]:
        """The worker's ``status.json`` (phase, counts); {} when absent or not what it writes."""
        try:
            found = read_json(self.folder(run_id) / STATUS, _STATUS_BYTES)
        except ossrflow.InputError:
            return {}
        return found if isinstance(found, dict) else {}

    def _result(self, run_id: str) -> dict[str, Any] | None:
        """The worker's ``result.json``, None when it wrote none; read within the limits (its
        outputs come from the run's tools), a result beyond them or of the wrong shape is the
        run's ``SYSTEM_ERROR``."""
        limit = self.config.limits.max_output_bytes + _STATUS_BYTES
        try:
            found = read_json(self.folder(run_id) / RESULT, limit)
        except ossrflow.InputError as exc:
            return {"state": "SYSTEM_ERROR", "error": f"the run's result is unreadable: {exc}"}
        if found is None:
            return None
        shape = (
            isinstance(found, dict)
            and found.get("state") in FINAL
            and isinstance(found.get("outputs", {}), dict)
            and isinstance(found.get("exit_code", 0), int | None)
            and isinstance(found.get("error"), str | None)
        )
        if not shape:
            return {"state": "SYSTEM_ERROR", "error": "the run's result is not one a worker writes"}
        result: dict[str, Any] = found
        return result

    def _watch(self, run: RunInfo) -> None:
        alive, exit_status = self._alive(run)
        status = self._status(run.run_id)
        updates: dict[str, Any] = {}
        if alive and status.get("phase") == "running" and run.state == "INITIALIZING":
            updates["state"] = "RUNNING"
        for name in ("done", "total"):
            if isinstance(status.get(name), int) and status[name] != getattr(run, name):
                updates[name] = status[name]
        if updates:
            self.store.update(run.run_id, **updates)
        if alive:
            if run.state == "CANCELING":
                self._press_cancel(run)
            return
        self._children.pop(run.run_id, None)
        self._term_sent.pop(run.run_id, None)
        result = self._result(run.run_id)
        if result is not None:
            self._finish(run, result)
        elif run.cancel_requested:
            self._finish(run, {"state": "CANCELED", "error": "canceled"})
        elif exit_status is not None and exit_status > 0:
            error = f"the run's worker failed (exit status {exit_status}); its log has the details"
            self._finish(run, {"state": "SYSTEM_ERROR", "error": error})
        elif run.attempts < self.config.max_attempts:
            self._log(
                run.run_id, "the worker was interrupted; the run resumes (finished steps kept)"
            )
            self._clean(run)
            self.store.update(run.run_id, state="QUEUED", worker_pid=None, worker_start=None)
            self._wake.set()
        else:
            error = f"the run was interrupted {run.attempts} times; giving up"
            self._finish(run, {"state": "SYSTEM_ERROR", "error": error})

    def _press_cancel(self, run: RunInfo) -> None:
        sent = self._term_sent.get(run.run_id)
        if sent is None and run.worker_pid is not None:
            signal_group(run.worker_pid, signal.SIGTERM)
            self._term_sent[run.run_id] = time.monotonic()
        elif sent is not None and time.monotonic() - sent > CANCEL_GRACE and run.worker_pid:
            self._log(run.run_id, f"the worker did not stop within {CANCEL_GRACE:.0f} s: killed")
            signal_group(run.worker_pid, signal.SIGKILL)

    def _clean(self, run: RunInfo) -> None:
        """Kill the run's leftover containers and scancel its Slurm jobs still in the queue."""
        killed = kill_containers(run.run_id)
        if killed:
            self._log(run.run_id, f"killed containers {' '.join(k[:12] for k in killed)}")
        jobs = ossrflow.list_run_jobs(self.folder(run.run_id) / RUN_DIR)
        canceled = cancel_scheduler_jobs(j.job_id for j in jobs if j.job_id)
        if canceled:
            self._log(run.run_id, f"scancel {' '.join(canceled)}")

    def _finish(self, run: RunInfo, result: dict[str, Any]) -> None:
        state = str(result["state"])
        if state in ("CANCELED", "SYSTEM_ERROR") and run.state != "QUEUED":
            self._clean(run)
        status = self._status(run.run_id)
        counted = [status.get(name) for name in ("done", "total")]
        done, total = counted if all(isinstance(n, int) for n in counted) else [run.done, run.total]
        self.store.update(
            run.run_id,
            state=state,
            ended=utcnow(),
            exit_code=result.get("exit_code"),
            outputs=result.get("outputs") if state == "COMPLETE" else None,
            error=result.get("error"),
            done=total if state == "COMPLETE" else done,
            total=total,
            worker_pid=None,
            worker_start=None,
        )
        _LOG.info("run %s: %s", run.run_id, state)

    # -- requests -----------------------------------------------------------------------

    def cancel(self, run: RunInfo) -> None:
        """Cancel a queued or running run; :class:`Conflict` for a finished one."""
        with self._lock:
            current = self.store.get(run.run_id) or run
            if current.state == "QUEUED":
                self.store.update(run.run_id, cancel_requested=True)
                self._finish(current, {"state": "CANCELED", "error": "canceled before it started"})
            elif current.state in ("INITIALIZING", "RUNNING"):
                self.store.update(run.run_id, state="CANCELING", cancel_requested=True)
                self._log(run.run_id, "cancel requested")
                self._press_cancel(current)
            elif current.state != "CANCELING":
                raise Conflict(
                    f"run {run.run_id} is {current.state}: only queued or running runs can be "
                    "canceled",
                    source=f"/runs/{run.run_id}",
                    hint="a finished run can be deleted (DELETE /runs/{run_id})",
                )
        self._wake.set()

"""A service killed with `kill -9` mid-run and started again on the same runs folder and database
finds every run: a finished one reports its outputs, a running one whose worker survived goes
on, one whose worker died too resumes with its finished step kept, a queued one starts.

The service runs as the CLI (`ossrflow serve --port 0`), which prints `listening on …`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import httpx

from tests.support.wes import Client, CliService, busybox_tool, write_tokens

QUICK = busybox_tool('echo "$0"', inputs="{message: {type: string, inputBinding: {}}}")
TWO_STEPS = """\
cwlVersion: v1.2
class: Workflow
inputs:
  seconds: int
outputs:
  slept:
    type: File
    outputSource: slow/out
steps:
  quick:
    run: quick.cwl
    in:
      message: {default: first step}
    out: [out]
  slow:
    run: slow.cwl
    in:
      previous: quick/out
      seconds: seconds
    out: [out]
"""
SLOW = busybox_tool(
    'cat "$0"; sleep "$1"; echo slept',
    inputs="{previous: {type: File, inputBinding: {position: 1}}, "
    "seconds: {type: int, inputBinding: {position: 2}}}",
)


def worker_of(db: Path, run_id: str) -> tuple[int | None, int]:
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT worker_pid, attempts FROM ossrflow_runs WHERE run_id = ?", (run_id,)
        ).fetchone()
    return row[0], row[1]


def wait_until(client: Client, run_id: str, task: str, state: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tasks = client.get(f"/runs/{run_id}/tasks").json()["task_logs"]
        if any(t["id"] == task and t["state"] == state for t in tasks):
            return
        time.sleep(0.3)
    raise AssertionError(f"{run_id}: task {task} never {state}: {tasks}")


def test_kill_9_and_restart_finds_every_run(docker_engine, tmp_path):
    tokens = write_tokens(tmp_path / "tokens.txt", ["alice"])
    args = ["--port", "0", "--tokens", "tokens.txt", "--runs-dir", "runs", "--max-runs", "2"]
    first = CliService.start(args, cwd=tmp_path, log=tmp_path / "first.log")
    client = Client(first.url, tokens)
    files = {"two.cwl": TWO_STEPS, "quick.cwl": QUICK, "slow.cwl": SLOW}
    try:
        done = client.submit(files={"quick.cwl": QUICK}, workflow_url="quick.cwl",
                             workflow_params={"message": "finished before"})  # fmt: skip
        assert client.wait(done)["state"] == "COMPLETE"
        resumed = client.submit(
            files=files, workflow_url="two.cwl", workflow_params={"seconds": 10}
        )
        adopted = client.submit(files=files, workflow_url="two.cwl", workflow_params={"seconds": 6})
        queued = client.submit(files={"quick.cwl": QUICK}, workflow_url="quick.cwl",
                               workflow_params={"message": "queued"})  # fmt: skip
        for run_id in (resumed, adopted):
            wait_until(client, run_id, "slow", "RUNNING")
        assert client.state(queued) == "QUEUED"
        quick_output = tmp_path / "runs" / resumed / "run" / "steps" / "quick" / "cwl.output.json"
        kept = quick_output.stat().st_mtime_ns
        db = tmp_path / "runs" / "ossrflow-serve.db"
        adopted_worker, _ = worker_of(db, adopted)
        resumed_worker, _ = worker_of(db, resumed)
        assert adopted_worker and resumed_worker
    finally:
        first.kill()  # kill -9 of the server alone
    os.killpg(resumed_worker, signal.SIGKILL)  # this run's worker dies too (a crashed node)

    second = CliService.start(args, cwd=tmp_path, log=tmp_path / "second.log")
    client = Client(second.url, tokens)
    try:
        log = client.wait(done)
        assert log["state"] == "COMPLETE"
        output = httpx.get(log["outputs"]["out"]["location"], headers=client.headers("alice"))
        assert output.text == "finished before\n"

        log = client.wait(adopted)
        assert log["state"] == "COMPLETE"
        assert worker_of(db, adopted)[1] == 1  # never started again: the same worker finished

        log = client.wait(resumed)
        assert log["state"] == "COMPLETE"
        assert worker_of(db, resumed)[1] == 2
        assert quick_output.stat().st_mtime_ns == kept  # the finished step was kept
        stderr = client.get(f"/runs/{resumed}/logs/stderr").text
        assert (
            "[ossrflow serve] the worker was interrupted; the run resumes (finished steps kept)"
            in stderr
        )
        text = httpx.get(log["outputs"]["slept"]["location"], headers=client.headers("alice")).text
        assert text == "first step\nslept\n"

        assert client.wait(queued)["state"] == "COMPLETE"
        listed = [r["run_id"] for r in client.get("/runs").json()["runs"]]
        assert listed == [queued, adopted, resumed, done]
    finally:
        second.stop()
    assert "Traceback" not in (tmp_path / "second.log").read_text()

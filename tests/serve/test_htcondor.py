"""A service run on HTCondor: `ossrflow serve --profile htcondor` runs a submitted workflow through
Snakemake's htcondor executor (the path of `ossrflow run --profile htcondor`); its tasks carry the
HTCondor job ids that `condor_history` knows; a cancel removes the HTCondor job.

Snakemake's htcondor executor must run beside the pool, which lives in a chroot
(scripts/cluster/htcondor.sh), so the service itself runs there (`htcondor.sh exec`, the chroot
venv's ossrflow, installed from this repository) and is reached over 127.0.0.1. The chroot has no
container engine (no Podman, no Apptainer), so this service allows native steps: what is tested is
the facility path, not the container rules (tests/serve/test_trust.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.services import REPO, start_cluster
from tests.support.wes import Client, CliService, write_tokens

pytestmark = pytest.mark.htcondor
SCRIPT = REPO / "scripts" / "cluster" / "htcondor.sh"
COMPLETED, REMOVED, RUNNING = "4", "3", "2"  # HTCondor JobStatus values
TWO_STEPS = """\
cwlVersion: v1.2
class: Workflow
inputs:
  word: string
outputs:
  count:
    type: File
    outputSource: count/out
steps:
  say:
    run:
      class: CommandLineTool
      baseCommand: [sh, -c, 'echo "$0"; echo "$0"']
      inputs: {word: {type: string, inputBinding: {}}}
      stdout: said.txt
      outputs: {out: stdout}
    in: {word: word}
    out: [out]
  count:
    run:
      class: CommandLineTool
      baseCommand: [wc, -l]
      inputs: {file: {type: File, inputBinding: {}}}
      stdout: count.txt
      outputs: {out: stdout}
    in: {file: say/out}
    out: [out]
"""
SLOW = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, 'echo started; sleep 300']
inputs: []
stdout: out.txt
outputs: {out: stdout}
"""


def in_pool(*command: str) -> str:
    """``command`` inside the pool's chroot as its user; its stdout."""
    done = subprocess.run(
        ["bash", str(SCRIPT), "exec", "--", *command],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{' '.join(command)} failed: {done.stderr}"
    return done.stdout


def job_status(job_id: str) -> str:
    """HTCondor's JobStatus of ``CLUSTER.PROC``, from the queue or else the history ('' if none)."""
    for tool in ("condor_q", "condor_history"):
        if status := in_pool(tool, job_id, "-af", "JobStatus").strip():
            return status
    return ""


def wait_for_status(job_id: str, wanted: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while (status := job_status(job_id)) != wanted and time.monotonic() < deadline:
        time.sleep(1)
    return status


@pytest.fixture(scope="module")
def condor_wes() -> Iterator[Client]:
    """``ossrflow serve --profile htcondor --allow-native`` in the chroot, in a folder its user
    owns; a client with user alice."""
    start_cluster(SCRIPT, "HTCondor test pool", 900)
    made = subprocess.run(["bash", str(SCRIPT), "workdir"], capture_output=True, text=True,
                          check=True)  # fmt: skip
    folder = Path(made.stdout.strip())
    tokens_file = folder / "tokens.txt"
    tokens = write_tokens(tokens_file, ["alice"])
    owner = folder.stat()
    shutil.chown(tokens_file, owner.st_uid, owner.st_gid)
    args = ["--port", "0", "--runs-dir", str(folder / "runs"), "--tokens", str(tokens_file),
            "--profile", "htcondor", "--allow-native", "--cache-dir", str(folder / "cache")]  # fmt: skip
    command = ["bash", str(SCRIPT), "exec", "-e", f"OSSRFLOW_CONFIG={folder / 'none.toml'}", "--",
               "python", "-m", "ossrflow", "serve", *args]  # fmt: skip
    log = folder.parent / f"{folder.name}-serve.log"
    service = start_in(command, cwd=folder, log=log)
    try:
        yield Client(service.url, tokens, timeout=60)
    finally:
        service.stop()
        shutil.rmtree(folder)
        log.unlink()


def start_in(command: list[str], *, cwd: Path, log: Path, timeout: float = 120) -> CliService:
    """``command`` (a service in the chroot) until it prints ``listening on URL``."""
    with log.open("w", encoding="utf-8") as handle:
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=handle,
                                   text=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8")
        if match := re.search(r"^listening on (http://\S+)$", text, re.MULTILINE):
            return CliService(process, match[1], log)
        if process.poll() is not None:
            raise AssertionError(f"ossrflow serve exited {process.returncode}:\n{text}")
        time.sleep(0.2)
    process.kill()
    raise AssertionError(f"ossrflow serve did not listen within {timeout} s")


def scheduled_task(wes: Client, run_id: str) -> dict[str, Any]:
    """The first running task that has its HTCondor job id."""
    deadline = time.monotonic() + 180
    tasks: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        tasks = wes.get(f"/runs/{run_id}/tasks").json()["task_logs"]
        for task in tasks:
            if task["state"] == "RUNNING" and task["scheduler_job_id"]:
                return task
        time.sleep(0.5)
    raise AssertionError(f"no scheduled running task in {run_id}: {tasks}")


def test_a_service_run_on_htcondor_completes_with_its_jobs_in_condor_history(condor_wes):
    wes = condor_wes
    run_id = wes.submit(
        files={"two.cwl": TWO_STEPS},
        workflow_url="two.cwl",
        workflow_params={"word": "hello"},
        workflow_engine_parameters={"profile": "htcondor"},
    )
    log = wes.wait(run_id, timeout=420)
    stderr = wes.get(f"/runs/{run_id}/logs/stderr").text
    assert log["state"] == "COMPLETE", stderr
    assert "running on htcondor (htcondor)" in stderr
    count = httpx.get(log["outputs"]["count"]["location"], headers=wes.headers("alice")).text
    assert count.split()[0] == "2"
    tasks = wes.get(f"/runs/{run_id}/tasks").json()["task_logs"]
    assert [t["state"] for t in tasks] == ["COMPLETE", "COMPLETE"], tasks
    job_ids = [t["scheduler_job_id"] for t in tasks]
    assert all(re.fullmatch(r"\d+\.\d+", str(j)) for j in job_ids), job_ids
    assert len(set(job_ids)) == 2
    for job_id in job_ids:
        assert wait_for_status(job_id, COMPLETED) == COMPLETED, job_id


def test_a_canceled_service_run_removes_its_htcondor_job(condor_wes):
    wes = condor_wes
    run_id = wes.submit(
        files={"slow.cwl": SLOW},
        workflow_url="slow.cwl",
        workflow_engine_parameters={"profile": "htcondor"},
    )
    task = scheduled_task(wes, run_id)
    job_id = task["scheduler_job_id"]
    assert task["system_logs"] == [f"scheduler job id: {job_id}"]
    assert wait_for_status(job_id, RUNNING, timeout=120) == RUNNING
    assert wes.post(f"/runs/{run_id}/cancel").json() == {"run_id": run_id}
    assert wes.wait(run_id, timeout=180)["state"] == "CANCELED"
    assert wait_for_status(job_id, REMOVED) == REMOVED
    deadline = time.monotonic() + 60
    while in_pool("condor_q", job_id, "-af", "JobStatus").strip() and time.monotonic() < deadline:
        time.sleep(1)
    assert in_pool("condor_q", job_id, "-af", "JobStatus").strip() == ""  # left the queue
    assert in_pool("condor_history", job_id, "-af", "JobStatus").strip() == REMOVED

"""Cancel really stops: the local job and its container are gone; on Slurm the job is
`scancel`led (sacct says CANCELLED); a queued run never starts."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import REPO, start_cluster
from tests.support.wes import WesService, busybox_tool

SLOW = busybox_tool("echo started; sleep 300")


def containers(engine: str, run_id: str) -> list[str]:
    found = subprocess.run(
        [engine, "ps", "-q", "--filter", f"label=org.ossrflow.run={run_id}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return found.stdout.split()


def processes_in(folder: Path) -> list[str]:
    """Command lines of live processes that name ``folder`` (the run's workers and jobs)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if str(folder) in cmdline and state != "Z":
            found.append(cmdline)
    return found


def wait_for_task(wes: WesService, run_id: str, *, scheduled: bool = False) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        tasks = wes.get(f"/runs/{run_id}/tasks").json()["task_logs"]
        running = [t for t in tasks if t["state"] == "RUNNING"]
        if running and (not scheduled or running[0]["scheduler_job_id"]):
            task: dict[str, Any] = running[0]
            return task
        time.sleep(0.5)
    raise AssertionError(f"no running task in {run_id}: {tasks}")


@pytest.fixture(scope="module")
def wes(docker_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesService]:
    with WesService(tmp_path_factory.mktemp("cancel"), max_runs=1) as service:
        yield service


def test_cancel_stops_the_local_job_and_its_container_and_a_queued_run_never_starts(wes):
    running = wes.submit(files={"slow.cwl": SLOW}, workflow_url="slow.cwl")
    queued = wes.submit(files={"slow.cwl": SLOW}, workflow_url="slow.cwl")
    wait_for_task(wes, running)
    deadline = time.monotonic() + 60
    while not containers("docker", running) and time.monotonic() < deadline:
        time.sleep(0.3)
    assert len(containers("docker", running)) == 1
    assert wes.state(queued) == "QUEUED"
    folder = wes.config.runs_dir / running
    assert processes_in(folder)

    assert wes.post(f"/runs/{queued}/cancel").json() == {"run_id": queued}
    assert wes.state(queued) == "CANCELED"
    assert wes.post(f"/runs/{running}/cancel").json() == {"run_id": running}
    assert wes.state(running) in ("CANCELING", "CANCELED")
    log = wes.wait(running, timeout=120)
    assert log["state"] == "CANCELED"
    assert containers("docker", running) == []
    assert processes_in(folder) == []
    [task] = wes.get(f"/runs/{running}/tasks").json()["task_logs"]
    assert task["state"] in ("CANCELED", "EXECUTOR_ERROR")
    assert "canceled" in log["run_log"]["system_logs"][0]
    assert not (wes.config.runs_dir / queued / "worker.log").exists()  # never started
    again = wes.post(f"/runs/{running}/cancel")
    assert again.status_code == 409


def sacct_state(job_id: str) -> str:
    done = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-o", "State", "-j", job_id],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip().split()[0] if done.stdout.strip() else ""


@pytest.mark.slurm
def test_cancel_scancels_the_slurm_job(podman_engine, tmp_path):
    start_cluster(REPO / "scripts" / "cluster" / "slurm.sh", "Slurm test cluster", 600)
    with WesService(tmp_path, profiles=("local", "slurm")) as wes:
        run_id = wes.submit(
            files={"slow.cwl": SLOW},
            workflow_url="slow.cwl",
            workflow_engine_parameters={"profile": "slurm"},
        )
        task = wait_for_task(wes, run_id, scheduled=True)
        job_id = task["scheduler_job_id"]
        deadline = time.monotonic() + 60
        while sacct_state(job_id) != "RUNNING" and time.monotonic() < deadline:
            time.sleep(0.5)
        assert sacct_state(job_id) == "RUNNING"
        assert task["system_logs"] == [f"scheduler job id: {job_id}"]
        assert (
            "running on slurm (slurm), containers: podman"
            in wes.get(f"/runs/{run_id}/logs/stderr").text
        )
        wes.post(f"/runs/{run_id}/cancel")
        assert wes.wait(run_id, timeout=180)["state"] == "CANCELED"
        deadline = time.monotonic() + 60
        while (
            sacct_state(job_id) not in ("CANCELLED", "CANCELLED+") and time.monotonic() < deadline
        ):
            time.sleep(0.5)
        assert sacct_state(job_id).startswith("CANCELLED")
        queued = subprocess.run(["squeue", "-h", "-j", job_id], capture_output=True, text=True)
        assert queued.stdout.strip() == ""
        assert containers("podman", run_id) == []

"""The local profile's warm job worker: jobs forked from one pre-loaded interpreter behave as
cold jobs do (arguments, folder, environment, log, exit status), and the client runs the cold
command when no worker listens."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from ossrflow.run.warm import CLIENT, ENV, warm_jobs

JOB = [sys.executable, "-m", "ossrflow.run.job"]


def client(args: list[str], cwd: Path, env: dict[str, str], log: Path) -> int:
    """Run a job through the client as a Snakefile does: its streams are the job's log."""
    with log.open("w") as out:
        command = [sys.executable, "-I", "-S", str(CLIENT), *JOB, *args]
        return subprocess.run(
            command, cwd=cwd, env=env, stdout=out, stderr=out, check=False
        ).returncode


def test_a_job_runs_in_a_forked_worker_with_the_clients_folder_streams_and_status(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != ENV}
    with warm_jobs(run_dir) as worker:
        worker.go()
        extra = worker.env
        assert set(extra) == {ENV}
        socket_folder = Path(extra[ENV]).parent
        assert socket_folder.stat().st_mode & 0o777 == 0o700  # only this user can connect
        # A job of a run folder without a plan: exit status 2 and the error in the job's log.
        status = client(["run", "step"], run_dir, env | extra | {"MARK": "x"}, tmp_path / "a.log")
        assert status == 2
        assert "error:" in (tmp_path / "a.log").read_text()
        assert client(["--help"], run_dir, env | extra, tmp_path / "b.log") == 0
        assert "usage: python -m ossrflow.run.job" in (tmp_path / "b.log").read_text()
    worker_log = (run_dir / ".ossrflow" / "warm-worker.log").read_text()
    assert ": run step\n" in worker_log
    assert ": --help\n" in worker_log
    assert not socket_folder.exists()  # the worker is gone with its socket


def test_without_a_worker_the_client_runs_the_cold_command(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    assert client(["--help"], tmp_path, env, tmp_path / "a.log") == 0
    assert "usage:" in (tmp_path / "a.log").read_text()
    # A socket nobody listens on any more: the same.
    stale = env | {ENV: str(tmp_path / "gone.sock")}
    assert client(["run", "step"], tmp_path, stale, tmp_path / "b.log") == 2


def test_killing_the_client_kills_its_job(tmp_path):
    """A job whose client dies (Snakemake cancelled it) dies too, with its children."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    marker = tmp_path / "started"
    env = {k: v for k, v in os.environ.items() if k != ENV}
    with warm_jobs(run_dir) as worker:
        worker.go()
        extra = worker.env
        # A job that never ends: its run folder's plan is a FIFO nobody writes to.
        blocked = tmp_path / "blocked"
        blocked.mkdir()
        os.mkfifo(blocked / "plan.json")
        command = [sys.executable, "-I", "-S", str(CLIENT), *JOB, "run", "step"]
        command += ["--run-dir", str(blocked)]
        with (tmp_path / "c.log").open("w") as out:
            process = subprocess.Popen(
                command, cwd=run_dir, env=env | extra, stdout=out, stderr=out
            )
        deadline = time.monotonic() + 60
        log = run_dir / ".ossrflow" / "warm-worker.log"
        while ": run step --run-dir" not in log.read_text():
            assert time.monotonic() < deadline, "the worker never started the job"
            time.sleep(0.05)
        found = re.search(r"^job (\d+): run step --run-dir", log.read_text(), re.MULTILINE)
        assert found is not None
        pid = int(found[1])
        marker.write_text(str(pid))
        process.kill()
        process.wait()
        while Path(f"/proc/{pid}").exists() and "Z" not in _state(pid):
            assert time.monotonic() < deadline, "the job outlived its client"
            time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"

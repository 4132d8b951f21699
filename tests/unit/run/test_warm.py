"""The local profile's warm job worker: jobs forked from the planning process behave as cold
jobs do (arguments, folder, environment, log, exit status), the worker keeps nothing of the
planner's (files, log handlers), and the client runs the cold command when no worker listens."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ossrflow.run.warm import CLIENT, ENV, NAME, warm_jobs

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


def test_the_worker_keeps_none_of_the_planners_files_or_log_handlers(tmp_path):
    """Forked from the planner, it holds its socket, its stop pipe and its log, nothing else; a
    job's log gets the job's lines only, however the planner set up logging."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != ENV}
    root = logging.getLogger()
    handler = logging.FileHandler(tmp_path / "planner.log")
    root.addHandler(handler)
    try:
        with (tmp_path / "planner-file").open("w"), warm_jobs(run_dir) as worker:
            worker.go()
            assert worker.pid is not None
            proc = Path(f"/proc/{worker.pid}")
            deadline = time.monotonic() + 30
            while (proc / "cwd").readlink() != run_dir:  # it settles in a few milliseconds
                assert time.monotonic() < deadline, "the worker never settled"
                time.sleep(0.01)
            assert (proc / "comm").read_text().strip() == NAME
            held = sorted(str(fd.readlink()) for fd in (proc / "fd").iterdir())
            assert len(held) == 5, held  # /dev/null (stdin, stdout), its log, socket, pipe
            assert held.count(os.devnull) == 2
            assert str(run_dir / ".ossrflow" / "warm-worker.log") in held
            assert not any("planner" in name for name in held), held
            log = tmp_path / "job.log"
            assert client(["run", "step"], run_dir, env | worker.env, log) == 2
            assert log.read_text().startswith("error: "), log.read_text()
        assert not proc.exists()  # killed and reaped with the run
    finally:
        root.removeHandler(handler)
        handler.close()
    assert (tmp_path / "planner.log").read_text() == ""


def test_no_worker_is_forked_from_a_process_with_other_threads(tmp_path):
    """fork copies one thread: with another running, jobs start cold."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        with warm_jobs(run_dir) as worker:
            worker.go()
            assert worker.pid is None
            env = {k: v for k, v in os.environ.items() if k != ENV}
            assert client(["--help"], run_dir, env | worker.env, tmp_path / "a.log") == 0
    finally:
        release.set()
        other.join()
    assert not (run_dir / ".ossrflow" / "warm-worker.log").exists()


def test_a_deep_temporary_folder_still_gets_a_worker(tmp_path, monkeypatch):
    """A Unix socket's path holds 107 bytes: under a deeper TMPDIR the socket goes to /tmp."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    monkeypatch.setenv("TMPDIR", str(deep))
    monkeypatch.setattr(tempfile, "tempdir", None)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with warm_jobs(run_dir) as worker:
        assert set(worker.env) == {ENV}
        assert len(os.fsencode(worker.env[ENV])) <= 107
        worker.go()
        env = {k: v for k, v in os.environ.items() if k != ENV}
        assert client(["--help"], run_dir, env | worker.env, tmp_path / "a.log") == 0
    assert ": --help\n" in (run_dir / ".ossrflow" / "warm-worker.log").read_text()

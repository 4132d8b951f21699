"""The warm job worker of a local run: one pre-loaded interpreter that forks per job.

A job that needs cwltool (a non-scattered step, the collecting of a batched scatter, the
workflow's outputs) costs about a second of Python start, imports and CWL loading when it starts
cold, which on the local profile is most of a small workflow's time. :func:`warm_jobs` starts
a worker beside Snakemake: it listens on a Unix socket in a private folder (mode 0700, so only
this user can connect), imports what jobs need while ossrflow plans the run, loads the run's
workflow once told the plan is written (``go`` on its stdin) while Snakemake starts, then forks
one process per job that
:mod:`ossrflow.run.warmclient` hands it. The forked process takes the client's standard streams
(the job's log), working folder and environment, makes itself a process group, runs
:func:`ossrflow.run.job.main` exactly as the cold command would, and sends back its exit status.
A signal the client gets is passed on to the job's process group; a client that dies takes its
job with it (SIGKILL to the group when the connection closes).

The worker ends when the ossrflow process that started it closes its standard input or dies
(``PR_SET_PDEATHSIG``). It is a local-profile optimisation only: Slurm and HTCondor jobs run the
plain command on their node (their Snakefiles do not name the client, and ``OSSRFLOW_WARM`` is
set only for local runs). Without a worker the client runs the cold command itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ossrflow.run.forked import FORK_SAFE_THREAD
from ossrflow.run.rundir import CACHE_DIR
from ossrflow.run.snakehost import signal_on_parent_death
from ossrflow.run.warmclient import ENV

__all__ = ["CLIENT", "ENV", "WarmWorker", "main", "warm_jobs"]

CLIENT = Path(__file__).with_name("warmclient.py")
# The worker binds its socket before any import of ossrflow (a few tens of milliseconds), so
# that Snakemake's first job finds it; the CLI waits for that, at most _BIND_SECONDS.
_BOOTSTRAP = (
    "import socket, sys\n"
    "listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "listener.bind(sys.argv[1])\n"
    "listener.listen(128)\n"
    "from ossrflow.run.warm import serve\n"
    "serve(listener, sys.argv[2])\n"
)
_BIND_SECONDS = 10.0
_GO = b"go\n"
_LOG = f"{CACHE_DIR}/warm-worker.log"


@dataclass
class WarmWorker:
    """A started worker: the environment jobs need to find it, and its go-ahead."""

    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def go(self) -> None:
        """The run is planned: load its workflow and take jobs."""
        if self.process is not None and self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.write(_GO)
                self.process.stdin.flush()


@contextlib.contextmanager
def warm_jobs(run_dir: Path) -> Iterator[WarmWorker]:
    """Start the run's warm worker; it imports at once, loads the run at :meth:`WarmWorker.go`."""
    folder = Path(tempfile.mkdtemp(prefix="ossrflow-warm-"))  # 0700: only this user connects
    path = folder / "socket"
    log = run_dir / _LOG
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log.open("w", encoding="utf-8") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-c", _BOOTSTRAP, str(path), str(run_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=run_dir,
            )
    except OSError:
        folder.rmdir()
        yield WarmWorker({})
        return
    deadline = time.monotonic() + _BIND_SECONDS
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    try:
        yield WarmWorker({ENV: str(path)} if path.exists() else {}, process)
    finally:
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()  # the worker's signal to stop
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()


def _wait_for_go() -> bool:
    """Block until the CLI says the run is planned (True) or closes stdin (False)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = os.read(sys.stdin.fileno(), 16)
        if not chunk:
            return False
        data += chunk
    return data == _GO


def _preload(run_dir: Path) -> bool:
    """Import what jobs use; once the run is planned, load its workflow (False: not needed)."""
    from ossrflow.run import batches, job

    del batches
    if not _wait_for_go():
        return False
    job.preload(run_dir)
    return True


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    header, fds, _, _ = socket.recv_fds(conn, 4, 3)
    if len(header) != 4 or len(fds) != 3:
        raise OSError("a malformed request")
    (length,) = struct.unpack("!I", header)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise OSError("a truncated request")
        body += chunk
    request: dict[str, Any] = json.loads(body)
    return request, fds


def _watch(conn: socket.socket) -> None:
    """Pass the client's signals on to the job's group; kill the group if the client is gone."""
    while True:
        try:
            data = conn.recv(1)
        except OSError:
            data = b""
        if not data:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgrp(), signal.SIGKILL)
            return
        with contextlib.suppress(OSError, ValueError):
            os.killpg(os.getpgrp(), data[0])


def _run_job(conn: socket.socket) -> None:
    """In the forked process: become the job the client asked for, then report its status."""
    os.setpgid(0, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    status = 1
    try:
        request, fds = _receive(conn)
        line = f"job {os.getpid()}: {' '.join(request['argv'])}\n"
        os.write(2, line.encode("utf-8", "replace"))  # the worker's log
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None  # read TMPDIR from the job's environment again
        sys.argv = ["python -m ossrflow.run.job", *request["argv"]]
        threading.Thread(target=_watch, args=(conn,), name=FORK_SAFE_THREAD, daemon=True).start()
        from ossrflow.run.job import main as job_main

        status = job_main(request["argv"])
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - report whatever ended the job, as a cold job would
        traceback.print_exc()
        status = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(OSError):
            conn.sendall(struct.pack("!i", status))
        os._exit(status)


def serve(listener: socket.socket, run_dir: str | Path) -> None:
    """Preload, then fork one process per job ``listener`` accepts until stdin closes."""
    signal_on_parent_death(signal.SIGKILL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the jobs; stdin ends this
    try:
        if not _preload(Path(run_dir)):
            return
    except Exception:  # noqa: BLE001 - jobs then load the workflow themselves
        traceback.print_exc()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked jobs are reaped by the kernel
    while True:
        ready, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in ready and not os.read(sys.stdin.fileno(), 1):
            return
        if listener not in ready:
            continue
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            _run_job(conn)
        conn.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m ossrflow.run.warm SOCKET RUN_DIR``."""
    path, run_dir = (sys.argv[1:] if argv is None else argv)[:2]
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(128)
    serve(listener, run_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The warm job worker of a local run: the planning process, forked, forks again per job.

A job that needs cwltool (a non-scattered step, the collecting of a batched scatter, the
workflow's outputs) costs about a second of Python start, imports and CWL loading when it starts
cold, which on the local profile is most of a small workflow's time. Once ossrflow has planned
the run, it has cwltool imported and the CWL schemas parsed: :meth:`WarmWorker.go` forks the
worker from it then, at the cost of a fork instead of a new interpreter. The worker drops what
it inherited (file descriptors, log handlers), loads the run's workflow from its folder and
listens on a Unix socket in a private folder (mode 0700, so only this user can connect); it
forks one process per job that :mod:`ossrflow.run.warmclient` hands it. The forked process takes
the client's standard streams (the job's log), working folder and environment, makes itself a
process group, runs :func:`ossrflow.run.job.main` exactly as the cold command would, and sends
back its exit status. A signal the client gets is passed on to the job's process group; a client
that dies takes its job with it (SIGKILL to the group when the connection closes).

The worker (``ossrflow-warm`` in ``ps -o comm``, its working folder the run folder) is killed
once Snakemake has ended, and ends when the ossrflow process that forked it closes their pipe
or dies (``PR_SET_PDEATHSIG``). It is
forked only from a process with no other thread (``fork`` copies the calling thread alone);
otherwise jobs start cold. It is a local-profile optimisation only: Slurm and HTCondor jobs run
the plain command on their node (their Snakefiles do not name the client, and ``OSSRFLOW_WARM``
is set only for local runs). Without a worker the client runs the cold command itself.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import select
import signal
import socket
import struct
import sys
import tempfile
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ossrflow.run.forked import FORK_SAFE_THREAD, single_threaded
from ossrflow.run.rundir import CACHE_DIR
from ossrflow.run.snakehost import set_process_name, signal_on_parent_death
from ossrflow.run.warmclient import ENV

__all__ = ["CLIENT", "ENV", "NAME", "WarmWorker", "warm_jobs"]

CLIENT = Path(__file__).with_name("warmclient.py")
NAME = "ossrflow-warm"  # the worker's process name (/proc/PID/comm)
_LOG = f"{CACHE_DIR}/warm-worker.log"
_MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with its final NUL
_SHORT_TMP = Path("/tmp")  # noqa: S108 - the socket's folder under a deep TMPDIR (mkdtemp: 0700)


class WarmWorker:
    """A run's worker: the environment jobs find it by, forked by :meth:`go`, ended by :meth:`stop`."""

    def __init__(self, run_dir: Path, socket_path: Path) -> None:
        self.run_dir = run_dir
        self.socket_path = socket_path
        fits = len(os.fsencode(socket_path)) <= _MAX_SOCKET_PATH
        self.env: dict[str, str] = {ENV: str(socket_path)} if fits else {}
        self.pid: int | None = None
        self._stop: int | None = None

    def go(self) -> None:
        """The run is planned: fork the worker from this process (it has cwltool loaded)."""
        if not self.env or self.pid is not None or not single_threaded():
            return  # jobs find no socket and start cold
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.socket_path))
            listener.listen(128)
            log = self.run_dir / _LOG
            log.parent.mkdir(parents=True, exist_ok=True)
            log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError:
            listener.close()
            return
        stop_read, stop_write = os.pipe()
        for stream in (sys.stdout, sys.stderr):  # nothing buffered here reaches a job's log
            with contextlib.suppress(Exception):
                stream.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the worker ends with os._exit
            _become_worker(listener, stop_read, log_fd, self.run_dir, os.getppid())
        os.close(stop_read)
        os.close(log_fd)
        listener.close()
        self.pid, self._stop = pid, stop_write

    def stop(self) -> None:
        """End the worker at once and reap it: Snakemake has ended, so no job needs it (one it
        forked carries on until its client ends), and it may still be loading the workflow."""
        if self._stop is not None:
            os.close(self._stop)
            self._stop = None
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        self.pid = None


@contextlib.contextmanager
def warm_jobs(run_dir: Path) -> Iterator[WarmWorker]:
    """A worker for the run in ``run_dir``: pass its ``env`` to Snakemake, call ``go`` once the
    run is planned; it ends, and its socket is removed, when the block does."""
    folder = Path(tempfile.mkdtemp(prefix="ossrflow-warm-"))  # 0700: only this user connects
    if len(os.fsencode(folder / "socket")) > _MAX_SOCKET_PATH and _SHORT_TMP.is_dir():
        folder.rmdir()  # a deep TMPDIR: a socket's path holds 107 bytes at most
        folder = Path(tempfile.mkdtemp(prefix="ossrflow-warm-", dir=_SHORT_TMP))
    worker = WarmWorker(run_dir, folder / "socket")
    try:
        yield worker
    finally:
        worker.stop()
        worker.socket_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()


def _become_worker(
    listener: socket.socket, stop: int, log: int, run_dir: Path, parent: int
) -> None:
    """In the forked process: shed the planner's state, then serve jobs until told to stop."""
    status = 0
    try:
        gc.freeze()  # what the planner left is never collected (or finalized) here
        signal_on_parent_death(signal.SIGKILL)
        if os.getppid() != parent:
            return  # the planner died before the signal was asked for
        set_process_name(NAME)
        null = os.open(os.devnull, os.O_RDWR)
        for target, source in ((0, null), (1, null), (2, log)):
            os.dup2(source, target)
        _close_all_but({0, 1, 2, listener.fileno(), stop})
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the planner's may be a test's capture
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        _fresh_logging()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(run_dir)
        serve(listener, stop, run_dir)
    except BaseException:  # noqa: BLE001 - the worker's log says why; jobs then start cold
        with contextlib.suppress(Exception):
            traceback.print_exc()
        status = 1
    finally:
        os._exit(status)


def _close_all_but(keep: set[int]) -> None:
    """Close every file descriptor but ``keep`` (the planner's files, pipes and sockets)."""
    low = 0
    for fd in sorted(keep):
        if fd > low:  # closerange(n, n) would close everything from n on
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def _fresh_logging() -> None:
    """Undo the planner's log set-up: a job logs as it would in a new process."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            for log_filter in list(logger.filters):
                logger.removeFilter(log_filter)


def _preload(run_dir: Path) -> None:
    """Import what jobs use and load the run's workflow once, for every job to inherit."""
    from ossrflow.run import batches, job

    del batches
    try:
        job.preload(run_dir)
    except Exception:  # noqa: BLE001 - jobs then load the workflow themselves
        traceback.print_exc()


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


def serve(listener: socket.socket, stop: int, run_dir: str | Path) -> None:
    """Preload, then fork one process per job ``listener`` accepts until ``stop`` closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the jobs; ``stop`` ends this
    _preload(Path(run_dir))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # forked jobs are reaped by the kernel
    while True:
        ready, _, _ = select.select([listener.fileno(), stop], [], [])
        if stop in ready and not os.read(stop, 1):
            return
        if listener.fileno() not in ready:
            continue
        conn, _ = listener.accept()
        if os.fork() == 0:
            listener.close()
            os.close(stop)
            _run_job(conn)
        conn.close()

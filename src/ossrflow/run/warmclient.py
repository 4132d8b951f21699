"""A job's command on the local profile: hand it to the run's warm worker, or run it cold.

``python -I -S warmclient.py PYTHON -m ossrflow.run.job ARGS...`` is what a local Snakefile says
(:mod:`ossrflow.run.snakegen`). When ``OSSRFLOW_WARM`` names the socket of the run's warm worker
(:mod:`ossrflow.run.warm`), this sends the job's arguments, working folder, environment and its
standard streams (the job's log) to the worker, which forks a process that has cwltool and the
workflow loaded already; this waits for the job's exit status and exits with it. Ctrl-C and
SIGTERM are passed on to the job; if this process is killed, the job is killed with it (the
worker sees the connection close). Without a worker (no ``OSSRFLOW_WARM``, or nobody
listening) it runs the cold command itself, so the Snakefile always works.

It imports nothing but the standard library, and runs with ``-I -S`` so that it starts in a few
milliseconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys

ENV = "OSSRFLOW_WARM"
_JOB = ["-m", "ossrflow.run.job"]


def _cold(command: list[str]) -> None:
    os.execv(command[0], command)  # noqa: S606 - the job command the Snakefile wrote


def _connect(path: str) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    return sock


def _receive_status(sock: socket.socket) -> int | None:
    data = b""
    while len(data) < 4:
        chunk = sock.recv(4 - len(data))
        if not chunk:
            return None
        data += chunk
    status: int = struct.unpack("!i", data)[0]
    return status


def main(argv: list[str]) -> int:
    """Run ``argv`` (the cold job command) through the warm worker when there is one."""
    command = list(argv)
    path = os.environ.get(ENV)
    if not path or len(command) < 3 or command[1:3] != _JOB:
        _cold(command)
    sock = _connect(path or "")
    if sock is None:
        _cold(command)
        return 1  # not reached
    cwd = os.getcwd()  # noqa: PTH109 - no pathlib: this must start in milliseconds
    body = json.dumps({"argv": command[3:], "cwd": cwd, "env": dict(os.environ)})
    data = body.encode("utf-8")
    socket.send_fds(sock, [struct.pack("!I", len(data))], [0, 1, 2])
    sock.sendall(data)

    def forward(signum: int, frame: object) -> None:
        with contextlib.suppress(OSError):
            sock.send(bytes([signum]))

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    status = _receive_status(sock)
    if status is None:
        sys.stderr.write("error: the run's warm job worker stopped before the job ended\n")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

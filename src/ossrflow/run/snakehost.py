"""Run Snakemake so that it stops, with its jobs, when the ossrflow process that started it dies.

``python -m ossrflow.run.snakehost PARENT_PID ARGS...`` is ``python -m snakemake ARGS...`` plus one
guard: when the
parent ossrflow process ends for any reason (even SIGKILL), Snakemake and its local jobs are
interrupted as if by Ctrl-C in a terminal (SIGINT to the process group): the jobs stop, Snakemake
cancels what it submitted (``scancel`` on Slurm) and marks it incomplete; 30 s later whatever is
left of the process group is killed. Without this guard an
orphaned Snakemake would finish a job while a resumed run starts the same job again.
``execute`` starts this module in a new session, so the process group holds Snakemake and its
local jobs only.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import signal
import sys
import threading
from types import FrameType

__all__ = ["main"]

GRACE_SECONDS = 30.0
_PR_SET_PDEATHSIG = 1


def _kill_group() -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(0), signal.SIGKILL)


def _parent_died(signum: int, frame: FrameType | None) -> None:
    """Do what Ctrl-C in a terminal does: interrupt Snakemake and its local jobs together."""
    timer = threading.Timer(GRACE_SECONDS, _kill_group)
    timer.daemon = True
    timer.start()
    # Nobody reads our output pipe any more. Snakemake's log handler re-raises BrokenPipeError,
    # which would end it before it cancels its scheduler jobs: write to /dev/null instead.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(os.getpgid(0), signal.SIGINT)


def _watch_parent(parent: int) -> None:
    """Ask Linux for SIGUSR2 when the parent dies (no-op elsewhere)."""
    signal.signal(signal.SIGUSR2, _parent_died)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGUSR2))
    if os.getppid() != parent:  # the parent died before the request took effect
        raise SystemExit(130)


def main(argv: list[str] | None = None) -> None:
    """Run Snakemake with ``argv`` (``PARENT_PID ARGS...``) under the guard described above."""
    parent, *args = sys.argv[1:] if argv is None else argv
    # A background start may leave SIGINT ignored; Snakemake cancels its jobs on KeyboardInterrupt.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _watch_parent(int(parent))
    sys.argv = ["snakemake", *args]
    runpy.run_module("snakemake", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()

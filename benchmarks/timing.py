"""Run one command and measure it, for ``benchmarks/scatter.py``.

``run_timed`` starts the command in a session of its own, waits for it with ``os.wait4`` and
returns its wall time, exit status and three peak-memory figures:

- ``largest_rss_mb``: the exact peak RSS of the largest single process of the tree (the kernel's
  ``ru_maxrss`` of the command and every descendant it waited for);
- ``root_rss_mb``: the peak RSS of the started process itself, sampled from ``/proc``;
- ``tree_rss_mb``: the peak of the summed RSS of the whole process tree, sampled from ``/proc``
  (pages shared between processes count once per process, so this is an upper bound).

Sampling reads ``/proc/*/stat`` every ``interval`` seconds (Linux only; 0 turns it off); a run
that lasts fewer than three samples gets no sampled figures. Processes that leave the tree
(daemons re-parented to init) are not followed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Timed", "read_processes", "run_timed", "tree_rss"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MB = 1024 * 1024
_GRACE_S = 30.0
_MIN_SAMPLES = 3


@dataclass(frozen=True)
class Timed:
    """What one command took."""

    wall_s: float
    status: int
    timed_out: bool
    largest_rss_mb: float
    root_rss_mb: float | None
    tree_rss_mb: float | None


def read_processes(proc: Path = Path("/proc")) -> dict[int, tuple[int, int]]:
    """``pid -> (parent pid, RSS in bytes)`` for every process ``/proc`` shows now."""
    table: dict[int, tuple[int, int]] = {}
    entries: list[os.DirEntry[str]] = []
    with contextlib.suppress(OSError):
        entries = list(os.scandir(proc))
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            text = Path(entry.path, "stat").read_text(encoding="ascii", errors="replace")
        except OSError:  # the process ended meanwhile
            continue
        # After "pid (comm) ": state ppid ... rss is field 24 of stat(5); comm may hold ")".
        fields = text[text.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[21]) * _PAGE)
    return table


def tree_rss(table: Mapping[int, tuple[int, int]], root: int) -> tuple[int, int]:
    """``(RSS of root, summed RSS of root and all its descendants)`` in bytes."""
    children: dict[int, list[int]] = defaultdict(list)
    for pid, (parent, _) in table.items():
        children[parent].append(pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += table.get(pid, (0, 0))[1]
        stack.extend(children.get(pid, ()))
    return table.get(root, (0, 0))[1], total


class _Sampler(threading.Thread):
    """Keeps the peak RSS of one process and of its tree until stopped."""

    def __init__(self, root: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.root_peak = self.tree_peak = self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            root, tree = tree_rss(read_processes(), self.root)
            self.root_peak = max(self.root_peak, root)
            self.tree_peak = max(self.tree_peak, tree)
            self.samples += 1
            self.stopped.wait(self.interval)

    def stop(self) -> tuple[float | None, float | None]:
        self.stopped.set()
        self.join()
        if self.samples < _MIN_SAMPLES or not self.tree_peak:
            return None, None  # too short a run to say
        return self.root_peak / _MB, self.tree_peak / _MB


class _Stopper:
    """Ctrl-C for the command's whole session, then SIGKILL if it is still there after a grace."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.expired = threading.Event()
        self.killer = threading.Timer(_GRACE_S, self._signal, (signal.SIGKILL,))
        self.killer.daemon = True

    def _signal(self, number: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, number)

    def interrupt(self, expired: bool = False) -> None:
        if expired:
            self.expired.set()
        self._signal(signal.SIGINT)
        with contextlib.suppress(RuntimeError):  # already started
            self.killer.start()

    def cancel(self) -> None:
        self.killer.cancel()


def _wait(process: subprocess.Popen[bytes], stopper: _Stopper) -> Any:
    """``os.wait4`` the process; its rusage covers the descendants it waited for."""
    try:
        _, status, usage = os.wait4(process.pid, 0)
    except KeyboardInterrupt:
        stopper.interrupt()
        os.wait4(process.pid, 0)
        process.returncode = -signal.SIGINT
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage


def run_timed(
    command: Sequence[str],
    *,
    cwd: Path,
    stdout: Path,
    stderr: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 3600.0,
    interval: float = 0.25,
) -> Timed:
    """Run ``command`` to the end (interrupted after ``timeout`` s) and measure it.

    The disk is flushed first (``os.sync``): what an earlier run wrote or deleted is written
    back before the clock starts, not on this command's time.
    """
    os.sync()
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            list(command), cwd=cwd, stdout=out, stderr=err, env=env, start_new_session=True
        )
        sampler = _Sampler(process.pid, interval)
        if interval > 0:
            sampler.start()
        stopper = _Stopper(process.pid)
        deadline = threading.Timer(timeout, stopper.interrupt, (True,))
        deadline.daemon = True
        deadline.start()
        try:
            usage = _wait(process, stopper)
        finally:
            deadline.cancel()
            stopper.cancel()
            root_mb, tree_mb = sampler.stop() if interval > 0 else (None, None)
        wall = time.perf_counter() - started
    return Timed(
        wall,
        process.returncode,
        stopper.expired.is_set(),
        usage.ru_maxrss / 1024,
        root_mb,
        tree_mb,
    )

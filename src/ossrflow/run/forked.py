"""Per-element cwltool work of a wide scatter, spread over this machine's cores by ``fork``.

Planning a batched scatter builds every element's cwltool job (its command line), and
collecting it rebuilds each one to let cwltool gather its outputs: about 2 to 3 ms of Python
per element, one core busy while the other waits. :func:`map_parts` runs a function over parts
of the element range in forked processes (which inherit the loaded workflow) and returns their
JSON-able results in order. It forks only when the process is single-threaded, the machine has
more than one core for it and the work is wide enough; otherwise it calls the function in
process. A part that fails fails the whole: an ossrflow error keeps its message and exit status.
"""

from __future__ import annotations

import json
import os
import threading
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from ossrflow.errors import OssrflowError, WorkflowFailed

__all__ = ["FORK_SAFE_THREAD", "PER_PROCESS", "map_parts", "single_threaded", "split_range"]

# The warm worker's watcher thread (ossrflow.run.warm) only waits on its socket and holds no
# lock: a job it watches may fork anyway.
FORK_SAFE_THREAD = "ossrflow-warm-watch"

# At least this many elements per forked process (a fork and its result cost ~10 ms).
PER_PROCESS = 250
_MAX_PROCESSES = 4


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def single_threaded() -> bool:
    """Whether this process may fork: no thread but this one (and warm-job watchers)."""
    current = threading.current_thread()
    return all(t is current or t.name == FORK_SAFE_THREAD for t in threading.enumerate())


def split_range(count: int, per_process: int | None = None) -> list[range]:
    """``range(count)`` in as many near-equal parts as cores allow (one when forking won't pay)."""
    per = PER_PROCESS if per_process is None else per_process
    parts = max(1, min(_cores(), _MAX_PROCESSES, count // max(1, per)))
    if not single_threaded():
        parts = 1  # fork copies only this thread: never fork a process that has others
    size = -(-count // parts) if count else 1
    return [range(start, min(count, start + size)) for start in range(0, count, size)] or [range(0)]


def map_parts(function: Callable[[range], Any], parts: Sequence[range]) -> list[Any]:
    """``[function(part) for part in parts]``, each part in a forked process when more than one."""
    if len(parts) <= 1:
        return [function(part) for part in parts]
    children: list[tuple[int, int]] = []
    for part in parts:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the forked process reports through its pipe
            os.close(read)
            _child(function, part, write)
        os.close(write)
        children.append((pid, read))
    results: list[Any] = []
    failure: dict[str, Any] | None = None
    for pid, read in children:
        with os.fdopen(read, "rb") as pipe:
            text = pipe.read()
        _, status = os.waitpid(pid, 0)
        try:
            answer = json.loads(text)
        except ValueError:
            code = os.waitstatus_to_exitcode(status)
            answer = {"error": f"a forked process ended with status {code}", "code": 1}
        if "error" in answer:
            failure = failure or answer
        else:
            results.append(answer["result"])
    if failure is not None:
        error = WorkflowFailed(str(failure["error"]))
        error.exit_code = int(failure.get("code") or 1)
        raise error
    return results


def _child(function: Callable[[range], Any], part: range, write: int) -> None:
    status = 1
    try:
        answer: dict[str, Any] = {"result": function(part)}
        status = 0
    except OssrflowError as exc:
        answer = {"error": str(exc), "code": exc.exit_code}
    except BaseException as exc:  # noqa: BLE001 - told to the parent, which fails with it
        traceback.print_exc()
        answer = {"error": f"elements {part.start}-{part.stop - 1}: {exc!r}", "code": 1}
    try:
        data = json.dumps(answer).encode("utf-8")
        while data:
            data = data[os.write(write, data) :]
    finally:
        os._exit(status)

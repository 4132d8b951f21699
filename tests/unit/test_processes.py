"""exit_now ends a process like sys.exit, after the exit handlers, without waiting on threads."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROGRAM = """\
import atexit, threading, time
from ossrflow.processes import exit_now
atexit.register(print, "handlers ran")
threading.Thread(target=time.sleep, args=(60,)).start()  # not a daemon: sys.exit would wait
print("unflushed", end="")
exit_now({code})
"""


@pytest.mark.parametrize(
    ("code", "status", "stderr"),
    [("0", 0, ""), ("3", 3, ""), ("'no such run'", 1, "no such run\n")],
)
def test_exit_now_runs_the_handlers_flushes_and_ends_at_once(code: str, status: int, stderr: str):
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM.format(code=code)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (done.returncode, done.stderr) == (status, stderr)
    assert done.stdout == "unflushedhandlers ran\n"

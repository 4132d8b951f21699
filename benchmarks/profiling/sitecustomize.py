"""Profile every Python process of one benchmark run (``scatter.py --profile-python``).

``scatter.py`` puts this folder first on ``PYTHONPATH`` and sets ``OSSRFLOW_BENCH_PROFILE_DIR``
for the ossrflow run it profiles. Every Python process started with that environment (the
ossrflow CLI, Snakemake under ``ossrflow.run.snakehost``, every job) imports this module at start-up,
runs under :mod:`cProfile` and writes ``<program>-<pid>.prof`` into that folder when it exits
normally (a process ended by ``os._exit`` or a signal writes nothing). Only the main thread of
each process is profiled. Without the variable this module does nothing.
"""

from __future__ import annotations

import atexit
import cProfile
import os
import re
import sys
from pathlib import Path

PROFILE_DIR_VARIABLE = "OSSRFLOW_BENCH_PROFILE_DIR"


def _program() -> str:
    """``ossrflow``, ``snakemake``, ``job`` (ossrflow.run.job), ...: the stem of ``sys.argv[0]`` at exit."""
    stem = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "python"
    return re.sub(r"[^A-Za-z0-9_.]", "_", stem) or "python"


def _start(folder: Path) -> None:
    profiler = cProfile.Profile()

    def dump() -> None:
        profiler.disable()
        folder.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(folder / f"{_program()}-{os.getpid()}.prof")

    atexit.register(dump)
    profiler.enable()


_folder = os.environ.get(PROFILE_DIR_VARIABLE)
if _folder:
    _start(Path(_folder))

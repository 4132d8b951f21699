"""Summarise the cProfile dumps of ``scatter.py --profile-python`` (one file per process).

The dumps come from ``profiling/sitecustomize.py``: ``<program>-<pid>.prof``. They are grouped by
program (ossrflow, snakemake, job, ...) and summed within a group.
"""

from __future__ import annotations

import contextlib
import pstats
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, cast

__all__ = ["summarize_profiles"]

_Entry = tuple[int, int, float, float, dict[Any, Any]]
_LIBRARY = re.compile(r"^.*/(?:site-packages|lib/python3\.\d+)/")
# A wrapper: holds more than this share of a program's time, nearly all of it in callees.
_WRAPPER = 0.75
_Label = tuple[str, int, str]


def _load(files: list[Path]) -> dict[_Label, _Entry]:
    stats = pstats.Stats(str(files[0]))
    for path in files[1:]:
        stats.add(str(path))
    return cast("dict[_Label, _Entry]", vars(stats)["stats"])


def _where(label: _Label, root: Path) -> str:
    file, line, name = label
    if file == "~":
        return name  # a built-in, e.g. <method 'read' of '_io.FileIO' objects>
    if library := _LIBRARY.search(file):
        file = file[library.end() :]
    else:
        with contextlib.suppress(ValueError):
            file = str(Path(file).relative_to(root))
    return f"{file}:{line}({name})"


def _top(entries: dict[_Label, _Entry], cumulative: bool, top: int, root: Path) -> list[str]:
    """The ``top`` functions by self or cumulative time.

    The cumulative ranking leaves out wrappers, functions that hold most of the run but spend
    almost none of it themselves (``<module>``, ``main``, click's ``invoke``, runpy): they say
    nothing about where the time goes.
    """
    total = sum(entry[2] for entry in entries.values())

    def seconds(item: tuple[_Label, _Entry]) -> float:
        return item[1][3] if cumulative else item[1][2]

    def wrapper(entry: _Entry) -> bool:
        return entry[3] > _WRAPPER * total and entry[2] < 0.05 * entry[3]

    kept = [i for i in entries.items() if not (cumulative and wrapper(i[1]))]
    ranked = sorted(kept, key=seconds, reverse=True)[:top]
    return [
        f"    {entry[2]:9.2f} {entry[3]:9.2f} {entry[1]:9d}  {_where(label, root)}"
        for label, entry in ranked
    ]


def summarize_profiles(folder: Path, top: int, root: Path) -> str:
    """Per program (ossrflow, snakemake, job, ...): processes, seconds, top functions.

    Functions are ranked by self time (``tottime``) and by time including callees (``cumtime``),
    summed over every process of the program. cProfile counts wall time: time a function spends
    blocked (reading a child's output, waiting on a lock) is its self time.
    """
    by_program: dict[str, list[Path]] = defaultdict(list)
    for path in sorted(folder.glob("*.prof")):
        by_program[path.stem.rsplit("-", 1)[0]].append(path)
    lines: list[str] = []
    header = "    {:>9} {:>9} {:>9}  function".format("self s", "cum s", "calls")
    for program, files in sorted(by_program.items(), key=lambda item: -len(item[1])):
        entries = _load(files)
        total = sum(entry[2] for entry in entries.values())
        lines += ["", f"{program}: {len(files)} process(es), {total:.2f} s profiled in all"]
        lines += ["  by self time:", header, *_top(entries, False, top, root)]
        lines += [f"  by cumulative time (wrappers over {_WRAPPER:.0%} of it left out):"]
        lines += [header, *_top(entries, True, top, root)]
    return "\n".join(lines).lstrip("\n") + "\n"

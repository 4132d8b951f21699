"""Which jobs a run ran itself and which it reused, by the job facts files (:mod:`.facts`).

Before Snakemake starts, :func:`snapshot_facts` notes every facts file in the run folder (its
inode and modification time); afterwards :func:`count_jobs` counts the facts files that are new
or rewritten (jobs this run ran) and reads the others (jobs an earlier run did, with the profile
that did them). :func:`render_reuse` says it in one line, e.g. ``3 of 3 jobs were already done by
profile local; nothing was submitted``: a finished run folder run again with another profile
never looks as if the new profile ran it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ossrflow.errors import InputError
from ossrflow.run.facts import parse_job_facts
from ossrflow.run.rundir import JOB_FACTS, STEPS_DIR

__all__ = ["JobCounts", "count_jobs", "render_reuse", "snapshot_facts"]


@dataclass(frozen=True)
class JobCounts:
    """Tool jobs of a finished run: how many it ran, and how many earlier runs did (by profile)."""

    ran: int = 0
    reused: Mapping[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Every tool job of the run (scatter elements count one each)."""
        return self.ran + sum(self.reused.values())


def _facts_stats(run_dir: Path) -> Iterator[tuple[str, os.stat_result]]:
    """``steps/<key>/ossrflow-job.json`` and ``steps/<key>/<i>/ossrflow-job.json``, stat'ed."""
    try:
        nodes = [entry for entry in os.scandir(run_dir / STEPS_DIR) if entry.is_dir()]
    except OSError:
        return
    for node in nodes:
        candidates = [f"{node.path}/{JOB_FACTS}"]
        candidates += [
            f"{entry.path}/{JOB_FACTS}"
            for entry in os.scandir(node.path)
            if entry.name.isdigit() and entry.is_dir()
        ]
        for path in candidates:
            try:
                yield path, Path(path).stat()
            except OSError:
                continue


def snapshot_facts(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Every facts file of ``run_dir`` now: path -> (inode, mtime in ns)."""
    return {path: (info.st_ino, info.st_mtime_ns) for path, info in _facts_stats(run_dir)}


def count_jobs(run_dir: Path, before: Mapping[str, tuple[int, int]]) -> JobCounts:
    """Jobs with facts now: those new since ``before`` ran in this run, the others are reused."""
    ran = 0
    reused: Counter[str] = Counter()
    for path, info in _facts_stats(run_dir):
        if before.get(path) != (info.st_ino, info.st_mtime_ns):
            ran += 1
            continue
        try:
            facts = parse_job_facts(Path(path).read_text(encoding="utf-8"), source=path)
        except (OSError, InputError):
            reused["an unknown profile"] += 1
            continue
        reused[facts.profile] += 1
    return JobCounts(ran, dict(sorted(reused.items())))


def render_reuse(counts: JobCounts, *, profile: str, executor: str) -> str | None:
    """One line on reused jobs (None when the run ran every job itself)."""
    if not counts.reused:
        return None
    earlier = sum(counts.reused.values())
    if len(counts.reused) == 1:
        by = f"by profile {next(iter(counts.reused))}"
    else:
        by = "(" + ", ".join(f"{n} by profile {name}" for name, n in counts.reused.items()) + ")"
    line = f"{earlier} of {counts.total} jobs were already done {by}"
    if counts.ran == 0:
        return line + ("; nothing ran" if executor == "local" else "; nothing was submitted")
    verb = "ran" if executor == "local" else "submitted"
    return f"{line}; {counts.ran} {verb} with profile {profile}"

"""The scatter benchmark's results: one ``Measurement`` per command, the machine, the tables.

``render_report`` prints what ``docs/performance.md`` shows: the machine the numbers come from,
one row per (N, runner) with medians and the ratio to ``cwltool --parallel``, how ossrflow's
peak memory grows with N, the no-op rerun and Slurm rows, and the issue's targets, each marked
met or missed (only those that were measured).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import itertools
import os
import platform
import statistics
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workload import LABELS

__all__ = ["Measurement", "machine", "render_report", "render_table", "summarise"]


@dataclass
class Measurement:
    """One timed command and what was checked about it."""

    kind: str  # run | noop | slurm | slurm-rerun | profile
    runner: str
    size: int
    repeat: int
    wall_s: float
    ok: bool
    problem: str | None
    largest_rss_mb: float
    root_rss_mb: float | None
    tree_rss_mb: float | None
    run_dir: str
    extra: dict[str, Any] = field(default_factory=dict)


# -- the machine ---------------------------------------------------------------------------------


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    with contextlib.suppress(OSError, ValueError, IndexError):
        first = Path("/proc/meminfo").read_text(encoding="utf-8").splitlines()[0]
        return f"{int(first.split()[1]) / 1024 / 1024:.1f} GiB"
    return "unknown"


def _toil_version(toil: str | None) -> str:
    if toil is None:
        return "not installed"
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        done = subprocess.run([toil, "--version"], capture_output=True, text=True, timeout=120)
        return (done.stdout.strip() or done.stderr.strip()).splitlines()[-1]
    return "unknown"


def _ossrflow_source() -> str:
    """The folder the runs import ossrflow from (PYTHONPATH can point them at another tree)."""
    spec = importlib.util.find_spec("ossrflow")
    origin = spec.origin if spec is not None else None
    return str(Path(origin).parent.parent) if origin else "not found"


def _io_pressure() -> str:
    """The share of time some task waited on I/O over the last 10 and 60 s (Linux PSI)."""
    try:
        line = Path("/proc/pressure/io").read_text(encoding="ascii").splitlines()[0]
    except (OSError, IndexError):
        return "not available"
    fields = dict(part.split("=", 1) for part in line.split()[1:] if "=" in part)
    return f"{fields.get('avg10', '?')} % (10 s), {fields.get('avg60', '?')} % (60 s)"


def machine(repo: Path, toil: str | None) -> dict[str, str]:
    """Where the numbers come from: commit, hardware, load, versions."""
    commit = _git(repo, "rev-parse", "--short", "HEAD") or "unknown"
    if _git(repo, "status", "--porcelain", "--untracked-files=no"):
        commit += " with uncommitted changes"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "commit": commit,
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "memory": _memory_gib(),
        "system": f"{platform.system()} {platform.release()}",
        "load average at start": ", ".join(f"{value:.2f}" for value in os.getloadavg()),
        "io pressure at start": _io_pressure(),
        "python": platform.python_version(),
        "ossrflow": f"{_version('ossrflow')} from {_ossrflow_source()}",
        "snakemake": _version("snakemake"),
        "cwltool": _version("cwltool"),
        "toil": _toil_version(toil),
    }


# -- summaries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """The repeats of one runner at one N (of one kind of measurement), summarised."""

    size: int
    runner: str
    good: list[Measurement]
    total: int

    @property
    def median(self) -> float | None:
        return statistics.median(m.wall_s for m in self.good) if self.good else None

    def memory(self, attribute: str) -> float | None:
        values = [getattr(m, attribute) for m in self.good if getattr(m, attribute) is not None]
        return statistics.median(values) if values else None


def summarise(results: Sequence[Measurement], kind: str = "run") -> list[Row]:
    """One row per (N, runner), in the order first measured; medians over correct runs only."""
    keys = dict.fromkeys((m.size, m.runner) for m in results if m.kind == kind)
    rows = []
    for size, runner in keys:
        mine = [m for m in results if m.kind == kind and (m.size, m.runner) == (size, runner)]
        rows.append(Row(size, runner, [m for m in mine if m.ok], len(mine)))
    return rows


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ratios(rows: Sequence[Row]) -> dict[tuple[int, str], float]:
    """Median wall time of each (N, runner) divided by cwltool's at the same N."""
    base = {row.size: row.median for row in rows if row.runner == "cwltool"}
    return {
        (row.size, row.runner): row.median / cwltool
        for row in rows
        if row.median is not None and (cwltool := base.get(row.size))
    }


RUN_HEADERS = [
    "N",
    "runner",
    "ok/runs",
    "median wall s",
    "min–max s",
    "÷ cwltool",
    "main process MB",
    "largest process MB",
    "process tree MB",
]


def run_rows(rows: Sequence[Row]) -> list[list[str]]:
    ratios = _ratios(rows)
    table = []
    for row in rows:
        walls = [m.wall_s for m in row.good]
        ratio = ratios.get((row.size, row.runner))
        table.append(
            [
                str(row.size),
                LABELS.get(row.runner, row.runner),
                f"{len(row.good)}/{row.total}",
                _number(row.median, 2),
                f"{min(walls):.1f}–{max(walls):.1f}" if walls else "–",
                _number(ratio, 2),
                _number(row.memory("root_rss_mb"), 0),
                _number(row.memory("largest_rss_mb"), 0),
                _number(row.memory("tree_rss_mb"), 0),
            ]
        )
    return table


_SLURM_LABELS = {
    "slurm-interrupted": "ossrflow Slurm run, interrupted on purpose",
    "slurm": "ossrflow Slurm run (a resume after an interruption)",
    "slurm-rerun": "ossrflow Slurm rerun of the finished run",
}


def _slurm_row(m: Measurement) -> list[str]:
    label = _SLURM_LABELS.get(m.kind, m.kind)
    if m.kind == "slurm" and not m.extra.get("resumed"):
        label = "ossrflow Slurm run"
    sacct = m.extra.get("sacct_jobs")
    detail = (
        f"{'–' if sacct is None else sacct} jobs in sacct, {m.extra.get('array_tasks')} array tasks"
    )
    state = "outputs correct" if m.ok else f"FAILED: {m.problem}"
    if m.extra.get("interrupted"):
        state = "interrupted as planned"
    if m.extra.get("snakemake_started") is False:
        state += " (Snakemake not started)"
    result = f"{m.extra.get('sbatch_calls')} sbatch calls, {m.wall_s:.1f} s"
    return [label, str(m.size), result, f"{detail}; {state}"]


def other_rows(results: Sequence[Measurement]) -> list[list[str]]:
    table = []
    for row in summarise(results, "noop"):
        detail = f"median of {row.total}, {len(row.good)} correct"
        table.append(
            ["no-op rerun (ossrflow)", str(row.size), f"{_number(row.median, 2)} s", detail]
        )
    return table + [_slurm_row(m) for m in results if m.kind.startswith("slurm")]


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    """A Markdown table, or aligned plain-text columns."""
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"
    table = [list(headers), *rows]
    widths = [max(len(cell) for cell in column) for column in zip(*table, strict=True)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in table]
    return "\n".join(line.rstrip() for line in lines) + "\n"


def memory_growth(rows: Sequence[Row]) -> list[str]:
    """How ossrflow's peak memory grows from one N to the next, against how N grows."""
    mine = sorted((r for r in rows if r.runner == "ossrflow" and r.good), key=lambda r: r.size)
    lines = []
    for small, large in itertools.pairwise(mine):
        for attribute, what in (("tree_rss_mb", "process tree"), ("root_rss_mb", "main process")):
            a, b = small.memory(attribute), large.memory(attribute)
            if a and b:
                lines.append(
                    f"ossrflow {what} peak RSS, N={small.size} → {large.size}: "
                    f"×{b / a:.2f} for ×{large.size / small.size:.0f} elements"
                )
    return lines


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _speed_targets(results: Sequence[Measurement]) -> list[str]:
    lines = []
    if (ratio := _ratios(summarise(results)).get((1000, "ossrflow"))) is not None:
        verdict = _verdict(ratio <= 0.5)
        lines.append(f"local N=1000, ossrflow ≤ 0.5 × cwltool --parallel: {ratio:.2f} ({verdict})")
    for row in summarise(results, "noop"):
        if row.size == 1000 and row.median is not None:
            verdict = _verdict(row.median < 2)
            lines.append(
                f"no-op rerun of a finished N=1000 run < 2 s: {row.median:.2f} s ({verdict})"
            )
    return lines


def _growth(small: Row, large: Row) -> str:
    """Tree-memory growth from the smaller N to the larger, met when not faster than N."""
    a, b = small.memory("tree_rss_mb"), large.memory("tree_rss_mb")
    if not (a and b):
        return "not sampled"
    verdict = _verdict(b / a <= large.size / small.size)
    return (
        f"×{b / a:.2f} for ×{large.size / small.size:.0f} elements from N={small.size} ({verdict})"
    )


def _memory_targets(results: Sequence[Measurement]) -> list[str]:
    mine = sorted((r for r in summarise(results) if r.runner == "ossrflow"), key=lambda r: r.size)
    lines = []
    for row in (r for r in mine if r.size >= 5000):
        done = _verdict(bool(row.good) and len(row.good) == row.total)
        lines.append(f"N={row.size} completes: {len(row.good)}/{row.total} ({done})")
        small = next((r for r in mine if r.good and r.size < row.size), None)
        growth = _growth(small, row) if small else "no smaller N in this run (add one to --sizes)"
        lines.append(f"N={row.size} tree memory grows no faster than N: {growth}")
    return lines


def _slurm_targets(results: Sequence[Measurement]) -> list[str]:
    runs = [m for m in results if m.size == 1000 and m.kind.startswith("slurm")]
    full = [m for m in runs if m.kind in {"slurm-interrupted", "slurm"}]
    if not any(m.kind == "slurm" for m in full):
        return []
    jobs = sum(max(m.extra.get("sbatch_calls") or 0, m.extra.get("sacct_jobs") or 0) for m in full)
    ok = all(m.ok for m in full)
    lines = [
        f"Slurm N=1000 ≤ 50 jobs, outputs correct: {jobs} jobs ({_verdict(jobs <= 50 and ok)})"
    ]
    for m in (m for m in runs if m.kind == "slurm-rerun"):
        again = m.extra.get("sbatch_calls") or 0
        verdict = _verdict(again == 0 and m.ok)
        lines.append(f"Slurm N=1000 rerun of the finished run submits nothing: {again} ({verdict})")
    return lines


def target_lines(results: Sequence[Measurement]) -> list[str]:
    """The issue's targets that this run measured, each met or MISSED."""
    return _speed_targets(results) + _memory_targets(results) + _slurm_targets(results)


def render_report(info: dict[str, str], results: Sequence[Measurement], markdown: bool) -> str:
    """Machine, run table, memory growth, no-op/Slurm table, targets."""
    bullet = "- " if markdown else "  "
    parts = ["Machine:\n" + "".join(f"{bullet}{key}: {value}\n" for key, value in info.items())]
    if rows := summarise(results):
        parts.append(render_table(RUN_HEADERS, run_rows(rows), markdown))
        if growth := memory_growth(rows):
            parts.append("".join(f"{bullet}{line}\n" for line in growth))
    if others := other_rows(results):
        parts.append(render_table(["measurement", "N", "result", "detail"], others, markdown))
    if targets := target_lines(results):
        parts.append("Targets:\n" + "".join(f"{bullet}{line}\n" for line in targets))
    return "\n".join(parts)

"""The scatter benchmark's measurements: runs per N, the no-op rerun, Slurm, the cProfile run.

Every command runs in a fresh folder under ``WORK/runs/`` with its stdout and stderr kept beside
it (``<folder>.out``/``.err``, or ``<folder>.<kind>-<k>.out`` for reruns); each measurement
prints one progress line on stderr.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyprofile import summarize_profiles
from report import Measurement
from slurmcount import count_sacct_jobs, parse_submissions, slurm_ready
from timing import Timed, run_timed
from workload import LABELS, Case, check_outputs, ossrflow_command, prepare_case, runner_command

__all__ = [
    "Settings",
    "note",
    "remove",
    "run_noop",
    "run_profile",
    "run_sizes",
    "run_slurm",
]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


@dataclass(frozen=True)
class Settings:
    """What every measurement needs from the command line."""

    work: Path
    timeout: float
    interval: float
    toil: str | None
    keep_runs: bool


def note(message: str) -> None:
    """A progress line on stderr (stdout carries only the report)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class Command:
    """One command to measure: what it is, its argv, its folder and environment."""

    kind: str  # run | noop | slurm-interrupted | slurm | slurm-rerun | profile
    runner: str
    repeat: int
    argv: list[str]
    run_dir: Path
    env: dict[str, str] | None = None

    def logs(self) -> tuple[Path, Path]:
        suffix = "" if self.kind == "run" else f".{self.kind}-{self.repeat}"
        stem = self.run_dir.parent / f"{self.run_dir.name}{suffix}"
        return Path(f"{stem}.out"), Path(f"{stem}.err")


def measure(command: Command, case: Case, settings: Settings, timeout: float = 0) -> Measurement:
    """Run ``command``, check its outputs, print one progress line, return the measurement."""
    command.run_dir.parent.mkdir(parents=True, exist_ok=True)
    stdout, stderr = command.logs()
    timed = run_timed(
        command.argv,
        cwd=case.job.parent,
        stdout=stdout,
        stderr=stderr,
        env=command.env,
        timeout=timeout or settings.timeout,
        interval=settings.interval,
    )
    problem = _problem(timed, stdout, stderr, case, timeout or settings.timeout)
    result = Measurement(
        command.kind,
        command.runner,
        case.size,
        command.repeat,
        round(timed.wall_s, 3),
        problem is None,
        problem,
        round(timed.largest_rss_mb, 1),
        _rounded(timed.root_rss_mb),
        _rounded(timed.tree_rss_mb),
        str(command.run_dir),
    )
    if not command.kind.startswith("slurm"):
        note(_progress_line(result))
    return result


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _problem(timed: Timed, stdout: Path, stderr: Path, case: Case, timeout: float) -> str | None:
    if timed.timed_out:
        return f"interrupted after {timeout:.0f} s (--timeout)"
    if timed.status != 0:
        lines = stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return f"exit status {timed.status}: {lines[-1] if lines else 'no message'} ({stderr})"
    return check_outputs(stdout.read_text(encoding="utf-8", errors="replace"), case)


def _progress_line(result: Measurement) -> str:
    label = LABELS.get(result.runner, result.runner)
    if result.kind.startswith("slurm"):
        label = f"ossrflow ({result.extra.get('profile', 'slurm')})"
    state = "ok" if result.ok else f"FAILED: {result.problem}"
    memory = f"largest process {result.largest_rss_mb:.0f} MB"
    if result.tree_rss_mb is not None:
        memory += f", tree {result.tree_rss_mb:.0f} MB"
    return (
        f"N={result.size} {result.kind} {label} #{result.repeat}: "
        f"{result.wall_s:.2f} s, {memory}, {state}"
    )


# -- local runs and the no-op rerun ----------------------------------------------------------------


def run_sizes(
    sizes: Sequence[int], runners: Sequence[str], repeat: int, settings: Settings
) -> tuple[list[Measurement], dict[int, Measurement]]:
    """Every runner ``repeat`` times per N, interleaved; also the newest good ossrflow run per N."""
    results: list[Measurement] = []
    finished: dict[int, Measurement] = {}
    for size in sizes:
        case = prepare_case(settings.work, size)
        for index in range(1, repeat + 1):
            for runner in runners:
                run_dir = settings.work / "runs" / str(size) / f"{runner}-{index}"
                remove(run_dir)
                argv = runner_command(runner, case, run_dir, settings.work, settings.toil)
                command = Command("run", runner, index, argv, run_dir, _environment(argv[0]))
                result = measure(command, case, settings)
                results.append(result)
                _tidy(result, finished, settings)
    return results, finished


def _environment(program: str) -> dict[str, str]:
    """This environment with the program's folder first on PATH (toil in a venv of its own
    calls helpers such as ``cwl-docker-extract`` from there)."""
    folder = str(Path(program).parent)
    return os.environ | {"PATH": os.pathsep.join([folder, os.environ.get("PATH", "")])}


def _tidy(result: Measurement, finished: dict[int, Measurement], settings: Settings) -> None:
    """Keep the newest good ossrflow run per N (for the no-op rerun); delete the others."""
    if result.runner == "ossrflow" and result.ok:
        previous = finished.get(result.size)
        finished[result.size] = result
        if previous is not None and not settings.keep_runs:
            remove(Path(previous.run_dir))
    elif not settings.keep_runs:
        remove(Path(result.run_dir))


def run_noop(finished: Measurement, repeat: int, settings: Settings) -> list[Measurement]:
    """``ossrflow run`` again on a finished run folder: nothing to run, only check and collect."""
    case = prepare_case(settings.work, finished.size)
    run_dir = Path(finished.run_dir)
    argv = ossrflow_command(case, run_dir, settings.work)
    return [
        measure(Command("noop", "ossrflow", index, argv, run_dir), case, settings)
        for index in range(1, repeat + 1)
    ]


# -- Slurm -----------------------------------------------------------------------------------------


def _stamp(path: Path) -> tuple[int, int] | None:
    """(mtime, inode) of a file, or None when it is missing."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_ino


def _slurm_step(
    kind: str, case: Case, run_dir: Path, profile: str, settings: Settings, timeout: float = 0
) -> Measurement:
    since = time.time()
    log = run_dir / "snakemake.log"
    before = _stamp(log)
    argv = ossrflow_command(case, run_dir, settings.work, profile)
    result = measure(Command(kind, "ossrflow", 1, argv, run_dir), case, settings, timeout)
    # A run that starts no Snakemake leaves the previous run's log: it submitted nothing.
    fresh = _stamp(log) not in {before, None}
    text = log.read_text(encoding="utf-8", errors="replace") if fresh else ""
    sacct = count_sacct_jobs(text, since) if fresh else 0
    result.extra = parse_submissions(text) | {"sacct_jobs": sacct}
    result.extra |= {"profile": profile, "snakemake_started": fresh}
    if kind == "slurm-interrupted" and (result.problem or "").startswith("interrupted"):
        result.ok, result.problem = True, None  # interrupted on purpose
        result.extra["interrupted"] = True
    note(_progress_line(result))
    note(f"N={case.size} {kind}: submitted {result.extra}")
    return result


def run_slurm(size: int, profile: str, interrupt: float, settings: Settings) -> list[Measurement]:
    """ossrflow with a Slurm profile: [interrupted after ``interrupt`` s,] run (resume), rerun.

    The rerun of the finished run must submit nothing; when ``interrupt`` is set, the run after
    the interruption is a resume and must submit only what was not finished.
    """
    note("checking the Slurm test cluster (bash scripts/cluster/slurm.sh status|start)")
    if (reason := slurm_ready(REPO)) is not None:
        note(f"Slurm measurement skipped: {reason}")
        return []
    case = prepare_case(settings.work, size)
    run_dir = settings.work / "runs" / f"slurm-{size}" / "ossrflow"
    remove(run_dir)
    results = []
    if interrupt > 0:
        results.append(
            _slurm_step("slurm-interrupted", case, run_dir, profile, settings, interrupt)
        )
    for kind in ("slurm", "slurm-rerun"):
        results.append(_slurm_step(kind, case, run_dir, profile, settings))
    results[-2].extra["resumed"] = interrupt > 0
    if not settings.keep_runs:
        remove(run_dir)
    return results


# -- cProfile --------------------------------------------------------------------------------------


def run_profile(size: int, top: int, settings: Settings) -> Measurement:
    """One ossrflow run with every Python process under cProfile; print the top functions."""
    case = prepare_case(settings.work, size)
    run_dir = settings.work / "runs" / f"profile-{size}" / "ossrflow"
    dumps = settings.work / "runs" / f"profile-{size}" / "cprofile"
    remove(run_dir)
    remove(dumps)
    hook = str(HERE / "profiling")
    path = os.pathsep.join(p for p in (hook, os.environ.get("PYTHONPATH", "")) if p)
    env = os.environ | {"PYTHONPATH": path, "OSSRFLOW_BENCH_PROFILE_DIR": str(dumps)}
    argv = ossrflow_command(case, run_dir, settings.work)
    result = measure(Command("profile", "ossrflow", 1, argv, run_dir, env), case, settings)
    print(f"cProfile of `ossrflow run` at N={size}: {result.wall_s:.1f} s wall under the profiler")
    print(f"(one .prof per Python process in {dumps}; read them with pstats or snakeviz)\n")
    if any(dumps.glob("*.prof")):
        print(summarize_profiles(dumps, top, REPO), end="")
    else:
        print("no profile was written (did the processes exit normally?)")
    return result

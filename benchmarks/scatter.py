"""Scatter benchmark: ossrflow against cwltool --parallel (and toil) on N tiny `wc -c` jobs.

Run ``python benchmarks/scatter.py --help`` for what it measures and how; ``make bench`` runs it
with its defaults. ``docs/performance.md`` explains the method and holds the results. The
helpers beside it: ``workload`` (workflow, data, output check, runner commands), ``runs`` (the
measurements), ``timing`` (one measured process), ``slurmcount``, ``pyprofile``, ``report``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict
from pathlib import Path

from report import Measurement, machine, render_report
from runs import REPO, Settings, note, remove, run_noop, run_profile, run_sizes, run_slurm
from sidebyside import new_parser, run_script, whole_number
from workload import RUNNERS, executable


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give numbers, e.g. 100,1000") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: every N must be at least 1")
    return sizes


_count = whole_number(0)


def _runners(text: str) -> list[str]:
    if text.strip() == "none":
        return []
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    if unknown := [name for name in chosen if name not in RUNNERS]:
        raise argparse.ArgumentTypeError(f"unknown runner {unknown[0]!r}: choose from {RUNNERS}")
    return chosen


DESCRIPTION = """\
Time ossrflow against cwltool --parallel (and toil-cwl-runner when installed) on a CWL v1.2
scatter of N tiny `wc -c` jobs, check every output, and print medians, ratios and peak memory.
"""

EPILOG = """\
what is measured:
  For each N in --sizes, the script generates N files (file i holds i+1 bytes) and a CWL v1.2
  workflow scattering `wc -c` over them, then runs every runner --repeat times, interleaved
  (ossrflow, cwltool, toil, ossrflow, ...), each in a fresh folder. Every run must print a CWL
  output object listing N files whose text is exactly what `wc -c` gives, else it counts as
  failed. Reported: median/min/max wall time, the ratio to cwltool --parallel, and peak memory:
  "main process" is the peak RSS of the started process itself (for ossrflow, the CLI) and
  "process tree" the peak of the summed RSS of all its processes, both sampled from /proc every
  --sample-interval s; "largest process" is the exact peak RSS of the biggest single process of
  the tree (os.wait4 rusage; for ossrflow the CLI, Snakemake or a job).
  ossrflow runs as users run it (`ossrflow run WORKFLOW JOB --profile local --run-dir DIR`,
  provenance recording and output collection included). Then `ossrflow run` is timed again on
  the newest finished run of --noop-size (a no-op rerun). --slurm adds runs with the slurm
  profile and counts the jobs submitted (sbatch calls in Snakemake's log, and sacct). Progress
  goes to stderr, the report to stdout; data and runs go to --work.

examples:
  python benchmarks/scatter.py                              # N=100,1000, 3 repeats, no-op rerun
  python benchmarks/scatter.py --sizes 100 --repeat 1       # a quick look
  python benchmarks/scatter.py --sizes 5000 --runners ossrflow,cwltool --repeat 1
  python benchmarks/scatter.py --runners none --slurm       # only the Slurm job count, N=1000
  python benchmarks/scatter.py --runners none --slurm --slurm-interrupt 20  # with a resume
  python benchmarks/scatter.py --markdown --json bench.json # the table of docs/performance.md
  python benchmarks/scatter.py --profile-python --profile-size 100

toil is not a dependency: install it in a venv of its own and pass --toil PATH (see
docs/performance.md).

exit status: 0 every run was correct, 1 some run failed or gave wrong outputs, 2 bad usage.
"""


def _what_options(add: Callable[..., object]) -> None:
    """What to run and how often."""
    add(
        "--sizes",
        type=_sizes,
        default=[100, 1000],
        metavar="N,N",
        help="problem sizes (default: 100,1000)",
    )
    add(
        "--repeat",
        type=_count,
        default=3,
        metavar="K",
        help="runs per runner and size; the median is reported (default: 3)",
    )
    add(
        "--runners",
        type=_runners,
        default=list(RUNNERS),
        metavar="NAMES",
        help="comma-separated from ossrflow,cwltool,toil, or none (default: all three; toil "
        "only when installed)",
    )
    add(
        "--noop-size",
        type=_count,
        metavar="N",
        help="N of the no-op rerun, 0 for none (default: 1000 if measured, else the largest N)",
    )


def _slurm_options(add: Callable[..., object]) -> None:
    """The Slurm measurement."""
    add(
        "--slurm",
        action="store_true",
        help="also run ossrflow at --slurm-size with the slurm profile, then again (a rerun must "
        "submit nothing), counting the jobs submitted; starts the test cluster (bash "
        "scripts/cluster/slurm.sh start) or skips with a message when it cannot",
    )
    add(
        "--slurm-interrupt",
        type=float,
        default=0.0,
        metavar="S",
        help="first interrupt a Slurm run after S seconds, so that the next run is a resume "
        "(default: 0, no interruption)",
    )
    add(
        "--slurm-size",
        type=_count,
        default=1000,
        metavar="N",
        help="N of the Slurm measurement (default: 1000)",
    )
    add(
        "--slurm-profile",
        default="slurm",
        metavar="NAME|PATH",
        help="profile of the Slurm measurement (default: slurm)",
    )


def _profile_options(add: Callable[..., object]) -> None:
    """The cProfile run."""
    add(
        "--profile-python",
        action="store_true",
        help="instead of the benchmark: run ossrflow once with every Python process under "
        "cProfile and print the top functions per program",
    )
    add(
        "--profile-size",
        type=_count,
        default=100,
        metavar="N",
        help="N of --profile-python (default: 100)",
    )
    add(
        "--profile-top",
        type=_count,
        default=15,
        metavar="K",
        help="functions listed per program and ranking (default: 15)",
    )


def _where_options(add: Callable[..., object]) -> None:
    """Where things go, limits, output forms."""
    add(
        "--work",
        type=Path,
        default=REPO / "benchmarks" / ".work",
        metavar="DIR",
        help="where data and runs go (default: benchmarks/.work, git-ignored)",
    )
    add(
        "--keep-runs",
        action="store_true",
        help="keep every run folder (default: each is deleted once measured)",
    )
    add(
        "--timeout",
        type=float,
        default=3600.0,
        metavar="S",
        help="interrupt a run after S seconds; it counts as failed (default: 3600)",
    )
    add(
        "--sample-interval",
        type=float,
        default=0.25,
        metavar="S",
        help="seconds between /proc memory samples, 0 for none (default: 0.25)",
    )
    add(
        "--toil",
        default=None,
        metavar="PATH",
        help="toil-cwl-runner to use (default: the one on PATH or beside this Python)",
    )
    add(
        "--json",
        type=Path,
        metavar="FILE",
        help="also write every measurement and the machine facts to FILE",
    )
    add(
        "--markdown",
        action="store_true",
        help="print the tables as Markdown, as docs/performance.md shows them",
    )


def parser() -> argparse.ArgumentParser:
    p = new_parser("benchmarks/scatter.py", DESCRIPTION, EPILOG)
    _what_options(p.add_argument_group("what to run").add_argument)
    _slurm_options(p.add_argument_group("Slurm job count").add_argument)
    _profile_options(p.add_argument_group("profile (instead of the benchmark)").add_argument)
    _where_options(p.add_argument_group("where, limits, output").add_argument)
    return p


def _noop_size(args: argparse.Namespace, finished: dict[int, Measurement]) -> int | None:
    if args.noop_size == 0:
        return None
    wanted = args.noop_size or (1000 if 1000 in args.sizes else max(args.sizes, default=0))
    if wanted not in finished:
        note(f"no-op rerun skipped: no finished ossrflow run at N={wanted}")
        return None
    return int(wanted)


def _available(runners: list[str], settings: Settings) -> Iterator[str]:
    for runner in runners:
        if runner == "toil" and settings.toil is None:
            note("toil-cwl-runner is not installed: toil skipped (see docs/performance.md)")
        else:
            yield runner


def benchmark(args: argparse.Namespace, settings: Settings) -> list[Measurement]:
    runners = list(_available(args.runners, settings))
    sizes = args.sizes if runners else []
    results, finished = run_sizes(sizes, runners, args.repeat, settings)
    if "ossrflow" in runners and (size := _noop_size(args, finished)) is not None:
        results += run_noop(finished[size], args.repeat, settings)
    if not settings.keep_runs:
        for run in finished.values():
            remove(Path(run.run_dir))
    if args.slurm:
        results += run_slurm(args.slurm_size, args.slurm_profile, args.slurm_interrupt, settings)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.repeat < 1 or args.slurm_size < 1 or args.profile_size < 1:
        parser().error("--repeat, --slurm-size and --profile-size must be at least 1")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    toil = args.toil or executable("toil-cwl-runner")
    settings = Settings(work, args.timeout, args.sample_interval, toil, args.keep_runs)
    info = machine(REPO, toil)
    if args.profile_python:
        results = [run_profile(args.profile_size, args.profile_top, settings)]
    else:
        results = benchmark(args, settings)
        print(render_report(info, results, args.markdown), end="")
    if args.json:
        payload = {
            "machine": info,
            "argv": sys.argv[1:],
            "measurements": [asdict(m) for m in results],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        note(f"raw results written to {args.json}")
    return 0 if all(m.ok for m in results) else 1


if __name__ == "__main__":
    run_script(main)

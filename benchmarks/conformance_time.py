"""Conformance timing: `make conformance-required` under ossrflow against the same tests under cwltool.

Run ``python benchmarks/conformance_time.py --help`` for what it measures and how. It runs cwltest
on the CWL v1.2 suite with the same selection, ``-j`` and container engine as
``scripts/conformance.sh --required``, once with ``ossrflow-cwl-runner`` and once with
``cwltool`` as the tool, ``--repeat`` times each, and prints the wall time of each cwltest
invocation, the tests each runner passed, and the ratio the issue 17 target is about (ossrflow
≤ 1.5 × cwltool). ``docs/performance.md`` explains the method.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

import sidebyside
from report import machine
from runs import REPO, note, remove
from timing import run_timed

sys.path.insert(0, str(REPO / "scripts"))
from conformance_report import parse_junit

__all__ = [
    "Counts",
    "Measured",
    "count_junit",
    "cwltest_command",
    "exit_status",
    "main",
    "render_report",
    "runner_args",
    "target_line",
]

TARGET = sidebyside.Target("make conformance-required", 1.5, "crashed")  # issue 17
target_line = TARGET.line
ENGINES = ("docker", "podman", "none")
TOOLS = {"ossrflow": "ossrflow-cwl-runner", "cwltool": "cwltool"}


# -- one cwltest invocation ----------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """The outcomes in one cwltest JUnit file."""

    passed: int
    failed: int
    unsupported: int

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.unsupported


def count_junit(junit: str, log: str = "") -> Counts:
    """Passed, failed and unsupported tests of a cwltest JUnit file (and its log).

    cwltest writes no ``<failure>`` for a ``should_fail`` test that exited 0, only ``Test N
    failed`` in its log: those count as failed, as ``scripts/conformance_report.py`` counts them.
    """
    failed_numbers = {int(n) for n in re.findall(r"^Test (\d+) failed", log, re.MULTILINE)}
    outcomes = [case.outcome for case in parse_junit(junit, failed_numbers)]
    return Counts(outcomes.count("passed"), outcomes.count("failed"), outcomes.count("unsupported"))


def runner_args(runner: str, engine: str) -> list[str]:
    """What cwltest hands the runner after ``--``, so both use the same container engine."""
    if runner == "ossrflow":
        return ["--container", engine]
    return {"none": ["--no-container"], "podman": ["--podman"]}.get(engine, [])


def cwltest_command(
    venv: Path, runner: str, engine: str, selection: Sequence[str], jobs: int, junit: Path
) -> list[str]:
    """The cwltest invocation of scripts/conformance.sh, with ``runner`` as the tool.

    ``selection`` holds the test choice (``--tags``, ``--exclude-tags``, the extra arguments).
    """
    tool = str(venv / "bin" / TOOLS[runner])
    return [
        str(venv / "bin" / "cwltest"),
        "--test",
        "conformance_tests.yaml",
        "--tool",
        tool,
        *selection,
        f"-j{jobs}",
        "--junit-xml",
        str(junit),
        "--",
        *runner_args(runner, engine),
    ]


@dataclass(frozen=True)
class Measured:
    """One cwltest invocation: how long it took and what its JUnit file says."""

    runner: str
    repeat: int
    wall_s: float
    status: int
    counts: Counts | None  # None: the invocation crashed (see problem)
    problem: str | None
    folder: str

    @property
    def ok(self) -> bool:
        return self.counts is not None


def _read_counts(folder: Path, status: int, timed_out: bool) -> tuple[Counts | None, str | None]:
    if timed_out:
        return None, "timed out (see --timeout)"
    junit, log = folder / "junit.xml", folder / "cwltest.log"
    if not junit.is_file():
        return None, f"cwltest exited {status} without a JUnit file (see {log})"
    try:
        counts = count_junit(junit.read_text(encoding="utf-8"), log.read_text(encoding="utf-8"))
    except (ParseError, UnicodeDecodeError) as error:
        return None, f"unreadable JUnit file {junit}: {error}"
    if status not in (0, 1):  # cwltest exits 1 when a test fails; anything else is a crash
        return None, f"cwltest exited {status} (see {log})"
    if counts.total == 0:
        return None, f"no test ran (check the selection; see {log})"
    return counts, None


def measure(
    runner: str, repeat: int, settings: argparse.Namespace, selection: Sequence[str]
) -> Measured:
    """Run cwltest once with ``runner`` in a fresh folder under --work and read its results."""
    folder = settings.work / f"{runner}-{repeat}"
    remove(folder)
    (folder / "tmp").mkdir(parents=True)
    command = cwltest_command(
        settings.venv, runner, settings.container, selection, settings.jobs, folder / "junit.xml"
    )
    # Each test's --outdir (tempfile.mkdtemp) and the runner's temporary files go to the folder.
    env = os.environ | {"TMPDIR": str(folder / "tmp")}
    log = folder / "cwltest.log"
    timed = run_timed(
        command,
        cwd=settings.suite,
        stdout=log,
        stderr=folder / "cwltest.err",
        env=env,
        timeout=settings.timeout,
        interval=0,
    )
    with log.open("ab") as out:  # one log, as conformance.sh keeps it (2>&1)
        out.write((folder / "cwltest.err").read_bytes())
    (folder / "cwltest.err").unlink()
    counts, problem = _read_counts(folder, timed.status, timed.timed_out)
    if not settings.keep_runs:
        remove(folder / "tmp")
    result = f"{counts.passed}/{counts.total} passed" if counts else f"CRASHED: {problem}"
    note(f"{runner} run {repeat}: {timed.wall_s:.1f} s, {result}")
    return Measured(runner, repeat, timed.wall_s, timed.status, counts, problem, str(folder))


# -- summaries -----------------------------------------------------------------------------------

Row = sidebyside.Row[Measured]  # over the invocations that did not crash


def _counts(row: Row, what: str) -> list[int]:
    return [getattr(m.counts, what) for m in row.ran]


def _span(row: Row, what: str) -> str:
    low, high = min(_counts(row, what)), max(_counts(row, what))
    return str(low) if low == high else f"{low}–{high}"


def _test_cells(row: Row) -> list[str]:
    """passed/total, failed, unsupported: a range when the repeats differ, – without any."""
    if not row.ran:
        return ["–", "–", "–"]
    spans = [_span(row, what) for what in ("passed", "total", "failed", "unsupported")]
    return [f"{spans[0]}/{spans[1]}", *spans[2:]]


HEADERS = [
    "runner",
    "runs",
    "passed/total",
    "failed",
    "unsupported",
    "median wall s",
    "min–max s",
    "÷ cwltool",
]


def table_rows(rows: Sequence[Row], engine: str) -> list[list[str]]:
    table = []
    for row in rows:
        label = " ".join([TOOLS[row.runner], *runner_args(row.runner, engine)])
        table.append([label, row.tally, *_test_cells(row), *sidebyside.wall_cells(row, rows, 1)])
    return table


def render_report(
    info: dict[str, str],
    results: Sequence[Measured],
    engine: str,
    markdown: bool,
    subset: str | None = None,
) -> str:
    """Machine block, the table, crashes and fewer passes, the target line.

    ``subset`` names a selection other than the `required` tests: the target line says so.
    """
    rows = sidebyside.summarise(results)
    problems = sidebyside.problem_lines(results, "crashed")
    if (fewer := _fewer_passes(rows)) is not None:
        problems.append(f"ossrflow passed fewer tests than cwltool: {fewer[0]} < {fewer[1]}")
    failures = [
        f"{m.runner} run {m.repeat}: {m.counts.failed} failed, see {m.folder}/cwltest.log"
        for m in results
        if m.counts is not None and m.counts.failed
    ]
    target = [target_line(sidebyside.ratio(rows))]
    target += [f"measured on {subset} only"] if subset else []
    sections = [("Problems", problems), ("Failed tests", failures), ("Target", target)]
    return sidebyside.render_report(info, HEADERS, table_rows(rows, engine), sections, markdown)


def _fewer_passes(rows: Sequence[Row]) -> tuple[int, int] | None:
    """(ossrflow's, cwltool's) median tests passed when ossrflow's is lower, else None.

    The median of an even count is the lower one of the middle two.
    """
    passed = {row.runner: statistics.median_low(_counts(row, "passed")) for row in rows if row.ran}
    ours, theirs = passed.get("ossrflow"), passed.get("cwltool")
    if ours is not None and theirs is not None and ours < theirs:
        return ours, theirs
    return None


def exit_status(results: Sequence[Measured]) -> int:
    """0 both runners ran; 1 one crashed or ossrflow passed fewer tests than cwltool."""
    ran = sidebyside.all_ran(results)
    return 0 if ran and _fewer_passes(sidebyside.summarise(results)) is None else 1


# -- the command line ----------------------------------------------------------------------------

DESCRIPTION = """\
Time `make conformance-required` under ossrflow against the same CWL v1.2 conformance tests under
cwltool, side by side, and print the ratio of issue 17's target (ossrflow ≤ 1.5 × cwltool).
"""

EPILOG = """\
what is measured:
  cwltest runs the suite's conformance_tests.yaml (--suite) with the selection of
  scripts/conformance.sh --required: --tags required, -j2, plus --exclude-tags docker when the
  engine is none. It runs once with --tool VENV/bin/ossrflow-cwl-runner (runner arguments
  --container ENGINE) and once with --tool VENV/bin/cwltool (--no-container for none, --podman
  for podman, nothing for docker, cwltool's default), --repeat times each, alternating
  (ossrflow, cwltool, cwltool, ossrflow, ...). Each invocation runs in a fresh folder
  WORK/<runner>-<k>/ (TMPDIR points into it: every test's output folder goes there) that keeps
  cwltest's junit.xml and cwltest.log. The wall time is that of the whole cwltest invocation;
  passed/failed/unsupported come from its JUnit file (a should_fail test that exited 0 counts
  as failed, as scripts/conformance_report.py counts it). Reported: the median wall time, the
  tests passed, ÷ cwltool, and the target line. With docker or podman the images the suite
  pulls are made first, untimed (bash containers/base/build.sh --engine ENGINE conformance).
  Progress goes to stderr, the report to stdout.

examples:
  python benchmarks/conformance_time.py                         # the target: required tests
  python benchmarks/conformance_time.py --container none -- -n 1-10   # a quick look
  python benchmarks/conformance_time.py --repeat 3 --markdown --json conformance-time.json
  python benchmarks/conformance_time.py --tags command_line_tool --jobs 1
  python benchmarks/conformance_time.py -- -s cl_basic_generation,nested_prefixes_arrays

environment: OSSRFLOW_CWL_SUITE (suite folder, default ../shared/cwl-v1.2 beside the repository),
OSSRFLOW_CONFORMANCE_JOBS (default of --jobs), VENV (default of --venv), CI (CI=true: a missing
suite is an error).

exit status: 0 both runners ran (whether the target is met or not); 1 a cwltest invocation
crashed (no JUnit file, timed out, no test ran) or ossrflow passed fewer tests than cwltool;
2 bad usage. A missing suite is reported and exits 0, or 2 under CI=true.
"""


def _default_engine() -> str:
    """docker when a Docker daemon answers, else none (as scripts/conformance.sh)."""
    script = REPO / "scripts" / "containers" / "dockerd.sh"
    done = subprocess.run(["bash", str(script), "status"], capture_output=True, check=False)
    return "docker" if done.returncode == 0 else "none"


def parser() -> argparse.ArgumentParser:
    usage = "%(prog)s [options] [-- CWLTEST_ARGS ...]"
    p = sidebyside.new_parser("benchmarks/conformance_time.py", DESCRIPTION, EPILOG, usage)
    add = p.add_argument
    add(
        "--container",
        choices=ENGINES,
        help="container engine of both runners (default: docker "
        "when `bash scripts/containers/dockerd.sh status` succeeds, else none)",
    )
    jobs = os.environ.get("OSSRFLOW_CONFORMANCE_JOBS", "2")
    add(
        "--jobs",
        "-j",
        type=sidebyside.whole_number(1),
        default=jobs,
        metavar="J",
        help=f"tests at a time, cwltest -j (default: {jobs})",
    )
    add(
        "--repeat",
        type=sidebyside.whole_number(1),
        default=1,
        metavar="K",
        help="cwltest invocations per runner; the median is reported (default: 1)",
    )
    add(
        "--tags",
        default="required",
        metavar="TAGS",
        help="cwltest --tags, comma-separated; '' for every test (default: required)",
    )
    suite = os.environ.get("OSSRFLOW_CWL_SUITE", str(REPO.parent / "shared" / "cwl-v1.2"))
    add(
        "--suite",
        type=Path,
        default=Path(suite),
        metavar="DIR",
        help="the CWL v1.2 suite folder (default: $OSSRFLOW_CWL_SUITE or ../shared/cwl-v1.2)",
    )
    venv = os.environ.get("VENV", str(REPO / ".venv"))
    add(
        "--venv",
        type=Path,
        default=Path(venv),
        metavar="DIR",
        help="the venv holding cwltest, cwltool and ossrflow-cwl-runner (default: .venv)",
    )
    add(
        "--work",
        type=Path,
        default=REPO / "benchmarks" / ".work" / "conformance",
        metavar="DIR",
        help="where the run folders go (default: benchmarks/.work/conformance, git-ignored)",
    )
    add(
        "--keep-runs",
        action="store_true",
        help="keep each test's output folders (default: only junit.xml and cwltest.log stay)",
    )
    add(
        "--timeout",
        type=float,
        default=7200.0,
        metavar="S",
        help="interrupt a cwltest invocation after S seconds; it counts as crashed (default: 7200)",
    )
    sidebyside.add_output_options(add, "invocation")
    return p


def parse_arguments(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """The options, and the cwltest arguments after ``--``."""
    argv = list(argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1 :]
    return parser().parse_args(argv), extra


def selection_of(tags: str, engine: str, extra: Sequence[str]) -> list[str]:
    """cwltest's test choice: ``--tags``, and without an engine ``--exclude-tags docker``.

    scripts/conformance.sh excludes the `docker` tag only from a full run, but no `required`
    test of CWL v1.2 carries it, so `make conformance-required` runs the same tests.
    """
    chosen = ["--tags", tags] if tags else []
    if engine == "none":
        chosen += ["--exclude-tags", "docker"]
    return [*chosen, *extra]


def _ready(args: argparse.Namespace) -> int | None:
    """None when everything is there to run; else the exit status, with a message."""
    if not (args.suite / "conformance_tests.yaml").is_file():
        skipped = f"no CWL v1.2 suite at {args.suite} (set OSSRFLOW_CWL_SUITE to its folder)"
        return sidebyside.skip_or_fail(
            skipped, f"no CWL suite at {args.suite}", "the suite must run"
        )
    missing = [
        name for name in ("cwltest", *TOOLS.values()) if not (args.venv / "bin" / name).is_file()
    ]
    if missing:
        note(f"{', '.join(missing)} not in {args.venv}/bin (make install, or --venv)")
        return 2
    if args.container != "none":
        build = [
            "bash",
            str(REPO / "containers" / "base" / "build.sh"),
            "--engine",
            args.container,
            "conformance",
        ]
        if subprocess.run(build, stdout=sys.stderr, check=False).returncode != 0:
            note(f"cannot make the suite's images with {args.container}")
            return 2
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parse_arguments(argv)
    args.suite, args.venv, args.work = (p.absolute() for p in (args.suite, args.venv, args.work))
    args.container = args.container or _default_engine()
    if (status := _ready(args)) is not None:
        return status
    selection = selection_of(args.tags, args.container, extra)
    chosen = f"{' '.join(selection)} -j{args.jobs}, containers: {args.container}"
    info = machine(REPO, None)
    del info["toil"]
    info |= {"cwltest": _cwltest_version(args.venv), "suite": str(args.suite), "selection": chosen}
    note(f"cwltest {chosen}, in {args.work}")
    results = sidebyside.run_all(
        args.repeat, lambda runner, repeat: measure(runner, repeat, args, selection)
    )
    default = args.tags == "required" and not extra
    subset = None if default else " ".join(selection)
    print(render_report(info, results, args.container, args.markdown, subset), end="")
    if args.json:
        sidebyside.write_json(args.json, info, argv, results, TARGET)
    return exit_status(results)


def _cwltest_version(venv: Path) -> str:
    done = subprocess.run(
        [str(venv / "bin" / "cwltest"), "--version"], capture_output=True, text=True, check=False
    )
    return (done.stdout.strip() or done.stderr.strip() or "unknown").split()[-1]


if __name__ == "__main__":
    sidebyside.run_script(main, "cwltest")

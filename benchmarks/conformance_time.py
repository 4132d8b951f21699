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
import json
import os
import re
import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

from report import machine, render_table
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
    "summarise",
    "target_line",
]

TARGET = 1.5  # issue 17: make conformance-required ≤ 1.5 × cwltool
RUNNERS = ("ossrflow", "cwltool")
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


def run_all(settings: argparse.Namespace, selection: Sequence[str]) -> list[Measured]:
    """Every repeat of both runners, alternating: ossrflow first in odd repeats, cwltool in even."""
    results = []
    for repeat in range(1, settings.repeat + 1):
        order = RUNNERS if repeat % 2 else RUNNERS[::-1]
        results += [measure(runner, repeat, settings, selection) for runner in order]
    return results


# -- summaries -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """The repeats of one runner, summarised over the invocations that did not crash."""

    runner: str
    ran: list[Measured]
    total_runs: int

    @property
    def median(self) -> float | None:
        return statistics.median(m.wall_s for m in self.ran) if self.ran else None

    @property
    def passed(self) -> int | None:
        """The median number of tests passed (the lower one of an even count)."""
        return statistics.median_low(self.counts("passed")) if self.ran else None

    def counts(self, what: str) -> list[int]:
        return [getattr(m.counts, what) for m in self.ran]


def summarise(results: Sequence[Measured]) -> list[Row]:
    rows = []
    for runner in RUNNERS:
        mine = [m for m in results if m.runner == runner]
        rows.append(Row(runner, [m for m in mine if m.counts is not None], len(mine)))
    return rows


def ratio(rows: Sequence[Row]) -> float | None:
    """ossrflow's median wall time over cwltool's."""
    by = {row.runner: row.median for row in rows}
    ours, theirs = by.get("ossrflow"), by.get("cwltool")
    return ours / theirs if ours is not None and theirs else None


def target_line(value: float | None) -> str:
    """The issue's target, met or MISSED."""
    head = f"make conformance-required ≤ {TARGET} × cwltool: "
    if value is None:
        return head + "not measured (a runner crashed in every repeat)"
    return head + f"{value:.2f} ({'met' if value <= TARGET else 'MISSED'})"


def _span(values: Sequence[int]) -> str:
    low, high = min(values), max(values)
    return str(low) if low == high else f"{low}–{high}"


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
    base = next((r.median for r in rows if r.runner == "cwltool"), None)
    table = []
    for row in rows:
        label = " ".join([TOOLS[row.runner], *runner_args(row.runner, engine)])
        walls = [m.wall_s for m in row.ran]
        if not row.ran or row.median is None:
            table.append([label, f"0/{row.total_runs}", "–", "–", "–", "–", "–", "–"])
            continue
        share = f"{row.median / base:.2f}" if base else "–"
        table.append(
            [
                label,
                f"{len(row.ran)}/{row.total_runs}",
                f"{_span(row.counts('passed'))}/{_span(row.counts('total'))}",
                _span(row.counts("failed")),
                _span(row.counts("unsupported")),
                f"{row.median:.1f}",
                f"{min(walls):.1f}–{max(walls):.1f}",
                share,
            ]
        )
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
    bullet = "- " if markdown else "  "
    rows = summarise(results)
    parts = ["Machine:\n" + "".join(f"{bullet}{key}: {value}\n" for key, value in info.items())]
    parts.append(render_table(HEADERS, table_rows(rows, engine), markdown))
    problems = [
        f"{m.runner} run {m.repeat} crashed: {m.problem}" for m in results if m.counts is None
    ]
    if (fewer := _fewer_passes(rows)) is not None:
        problems.append(f"ossrflow passed fewer tests than cwltool: {fewer[0]} < {fewer[1]}")
    if problems:
        parts.append("Problems:\n" + "".join(f"{bullet}{line}\n" for line in problems))
    failures = [
        f"{m.runner} run {m.repeat}: {m.counts.failed} failed, see {m.folder}/cwltest.log"
        for m in results
        if m.counts is not None and m.counts.failed
    ]
    if failures:
        parts.append("Failed tests:\n" + "".join(f"{bullet}{line}\n" for line in failures))
    target = [target_line(ratio(rows))] + ([f"measured on {subset} only"] if subset else [])
    parts.append("Target:\n" + "".join(f"{bullet}{line}\n" for line in target))
    return "\n".join(parts)


def _fewer_passes(rows: Sequence[Row]) -> tuple[int, int] | None:
    """(ossrflow's, cwltool's) median tests passed when ossrflow's is lower, else None."""
    passed = {row.runner: row.passed for row in rows}
    ours, theirs = passed.get("ossrflow"), passed.get("cwltool")
    if ours is not None and theirs is not None and ours < theirs:
        return ours, theirs
    return None


def exit_status(results: Sequence[Measured]) -> int:
    """0 both runners ran; 1 one crashed or ossrflow passed fewer tests than cwltool."""
    runners = {m.runner for m in results}
    if runners != set(RUNNERS) or any(m.counts is None for m in results):
        return 1
    return 0 if _fewer_passes(summarise(results)) is None else 1


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


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or more")
    return value


def _default_engine() -> str:
    """docker when a Docker daemon answers, else none (as scripts/conformance.sh)."""
    script = REPO / "scripts" / "containers" / "dockerd.sh"
    done = subprocess.run(["bash", str(script), "status"], capture_output=True, check=False)
    return "docker" if done.returncode == 0 else "none"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="benchmarks/conformance_time.py",
        usage="%(prog)s [options] [-- CWLTEST_ARGS ...]",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
        type=_positive,
        default=jobs,
        metavar="J",
        help=f"tests at a time, cwltest -j (default: {jobs})",
    )
    add(
        "--repeat",
        type=_positive,
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
    add(
        "--json",
        type=Path,
        metavar="FILE",
        help="also write every invocation and the machine to FILE",
    )
    add("--markdown", action="store_true", help="print the report as Markdown")
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
        if os.environ.get("CI", "").lower() == "true":
            note(f"no CWL suite at {args.suite} (CI=true: the suite must run)")
            return 2
        note(f"skipped: no CWL v1.2 suite at {args.suite} (set OSSRFLOW_CWL_SUITE to its folder)")
        return 0
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
    args, extra = parse_arguments(sys.argv[1:] if argv is None else argv)
    args.suite, args.venv, args.work = (p.absolute() for p in (args.suite, args.venv, args.work))
    args.container = args.container or _default_engine()
    if (status := _ready(args)) is not None:
        return status
    selection = selection_of(args.tags, args.container, extra)
    info = machine(REPO, None)
    del info["toil"]
    info |= {
        "cwltest": _cwltest_version(args.venv),
        "suite": str(args.suite),
        "selection": f"{' '.join(selection)} -j{args.jobs}, containers: {args.container}",
    }
    note(
        f"cwltest {' '.join(selection)} -j{args.jobs}, containers: {args.container}, in {args.work}"
    )
    results = run_all(args, selection)
    default = args.tags == "required" and not extra
    subset = None if default else " ".join(selection)
    print(render_report(info, results, args.container, args.markdown, subset), end="")
    if args.json:
        rows = summarise(results)
        payload = {
            "machine": info,
            "argv": list(sys.argv[1:] if argv is None else argv),
            "runs": [asdict(m) for m in results],
            "ratio": ratio(rows),
            "target": target_line(ratio(rows)),
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        note(f"raw results written to {args.json}")
    return exit_status(results)


def _cwltest_version(venv: Path) -> str:
    done = subprocess.run(
        [str(venv / "bin" / "cwltest"), "--version"], capture_output=True, text=True, check=False
    )
    return (done.stdout.strip() or done.stderr.strip() or "unknown").split()[-1]


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        note("interrupted: the running cwltest was stopped; nothing was reported")
        sys.exit(130)

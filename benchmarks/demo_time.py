"""Demo timing: the composed demo workflow under ossrflow against the same workflow under cwltool.

Run ``python benchmarks/demo_time.py --help`` for what it measures and how. It prepares the demo
of ``make demo`` once (the astropy image, ``workflow.cwl`` + ``job.yml`` + ``tools/``, one
warm-up run), then runs that workflow ``--repeat`` times with ``ossrflow run`` (local profile,
provenance included) and with ``cwltool --parallel``, alternating, in the same container engine;
checks that every run gave the same output files, byte for byte; and prints the median wall
times and the ratio the issue 17 target is about (demo ≤ 1.0 × cwltool).
``docs/performance.md`` explains the method.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import sidebyside
from report import machine
from runs import REPO, note, remove
from timing import run_timed

__all__ = [
    "Measured",
    "check_outputs",
    "digest_outputs",
    "exit_status",
    "main",
    "output_differences",
    "prepare_command",
    "render_report",
    "run_problem",
    "runner_command",
    "target_line",
]

TARGET = sidebyside.Target("demo", 1.0, "failed")  # issue 17: the composed demo ≤ 1.0 × cwltool
target_line = TARGET.line
ENGINES = ("docker", "podman")
OUTPUTS = ("obslog", "report")  # the demo's workflow outputs (workflows/demo/analysis.yml)
RUN_DEMO = REPO / "workflows" / "demo" / "run_demo.py"
IMAGE_RECORD = Path("containers") / "astropy" / "image.json"  # written by ossrflow containerize
PREPARE_TIMEOUT_S = 3600.0  # the base image's first build alone takes minutes
BIN = Path(sys.executable).parent


# -- the commands --------------------------------------------------------------------------------


def prepare_command(demo: Path, engine: str, python: str = sys.executable) -> list[str]:
    """``make demo``'s script, into ``demo``, through ossrflow (the warm-up run) in ``engine``."""
    return [python, str(RUN_DEMO), "--out", str(demo), "--container", engine,
            "--runner", "ossrflow"]  # fmt: skip


def runner_command(runner: str, engine: str, demo: Path, folder: Path, bin_dir: Path) -> list[str]:
    """One measured run of the demo's workflow in ``folder`` (``out/`` receives the outputs).

    cwltool's temporary and step output folders go to ``folder/tmp/``, so both runners work on the
    same file system and leave nothing behind in $TMPDIR.
    """
    workflow, job, out = str(demo / "workflow.cwl"), str(demo / "job.yml"), str(folder / "out")
    if runner == "ossrflow":
        return [str(bin_dir / "ossrflow"), "run", workflow, job, "--profile", "local",
                "--container", engine, "--run-dir", str(folder / "run"), "--outdir", out]  # fmt: skip
    tmp = f"{folder / 'tmp'}/"
    podman = ["--podman"] if engine == "podman" else []
    return [str(bin_dir / "cwltool"), "--parallel", *podman, "--outdir", out,
            "--tmpdir-prefix", tmp, "--tmp-outdir-prefix", tmp, workflow, job]  # fmt: skip


def runner_label(runner: str, engine: str) -> str:
    """How the table names a runner: its command without the paths."""
    if runner == "ossrflow":
        return f"ossrflow run --profile local --container {engine}"
    return "cwltool --parallel" + (" --podman" if engine == "podman" else "")


# -- the outputs of one run ----------------------------------------------------------------------


def digest_outputs(outdir: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file under ``outdir``."""
    if not outdir.is_dir():
        return {}
    files = sorted(path for path in outdir.rglob("*") if path.is_file())
    return {
        path.relative_to(outdir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in files
    }


def _file_path(value: object) -> str | None:
    if not isinstance(value, dict) or value.get("class") != "File":
        return None
    path = value.get("path") or str(value.get("location", "")).removeprefix("file://")
    return str(path) or None


def check_outputs(stdout: str, outdir: Path) -> str | None:
    """None when the run's CWL output object names every demo output as a file in ``outdir``;
    else what is wrong."""
    try:
        outputs = json.loads(stdout)
    except ValueError:
        return "no CWL output object on stdout"
    if not isinstance(outputs, dict):
        return "the output object is not a JSON object"
    root = outdir.resolve()
    for name in OUTPUTS:
        path = _file_path(outputs.get(name))
        if path is None:
            return f"output {name!r} is missing or not a File"
        where = Path(path).resolve()
        if not where.is_relative_to(root) or not where.is_file():
            return f"output {name!r} is not a file in {outdir}: {path}"
        if where.stat().st_size == 0:
            return f"output {name!r} is empty: {path}"
    return None


# -- one run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One run of the demo's workflow: how long it took, and what it produced."""

    runner: str
    repeat: int
    wall_s: float
    status: int
    problem: str | None  # None: exited 0 with every output in place
    folder: str
    outputs: dict[str, str] = field(default_factory=dict)  # relative path -> sha256

    @property
    def ok(self) -> bool:
        return self.problem is None


# Known causes of a failed run, by what its stderr says, and what they mean.
KNOWN_FAILURES = {
    "keep-id is only supported in rootless mode": "cwltool passes --userns=keep-id, which Podman "
    "refuses as root (docs/containers.md): use docker, or run as another user",
}


def run_problem(
    status: int, timed_out: bool, stdout: Path, stderr: Path, outdir: Path
) -> str | None:
    """None when a run went well; else what went wrong, with the cause when it is a known one."""
    if timed_out:
        return "timed out (see --timeout)"
    if status != 0:
        said = stderr.read_text(encoding="utf-8", errors="replace")
        known = [meaning for text, meaning in KNOWN_FAILURES.items() if text in said]
        return f"exited {status} (see {stderr})" + "".join(f": {line}" for line in known)
    found = check_outputs(stdout.read_text(encoding="utf-8", errors="replace"), outdir)
    return None if found is None else f"{found} (see {stdout})"


def measure(runner: str, repeat: int, settings: argparse.Namespace) -> Measured:
    """Run the workflow once with ``runner`` in a fresh folder under WORK/runs/; check it."""
    folder = settings.work / "runs" / f"{runner}-{repeat}"
    remove(folder)
    (folder / "tmp").mkdir(parents=True)
    command = runner_command(runner, settings.container, settings.demo, folder, BIN)
    stdout, stderr = folder.with_suffix(".out"), folder.with_suffix(".err")
    # The venv's programs first on PATH, as `make demo` runs them.
    env = os.environ | {"PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])}
    timed = run_timed(
        command,
        cwd=settings.demo,
        stdout=stdout,
        stderr=stderr,
        env=env,
        timeout=settings.timeout,
        interval=0,
    )
    problem = run_problem(timed.status, timed.timed_out, stdout, stderr, folder / "out")
    outputs = digest_outputs(folder / "out")
    if problem is None and not settings.keep_runs:
        remove(folder)  # a failed run's folder stays, for its logs
    note(f"{runner} run {repeat}: {timed.wall_s:.2f} s, {problem or 'ok'}")
    return Measured(runner, repeat, timed.wall_s, timed.status, problem, str(folder), outputs)


# -- summaries -----------------------------------------------------------------------------------


def _compare(name: str, theirs: Mapping[str, str], mine: Mapping[str, str]) -> list[str]:
    lines = []
    if only := sorted(set(theirs) - set(mine)):
        lines.append(f"lacks {', '.join(only)}")
    if extra := sorted(set(mine) - set(theirs)):
        lines.append(f"has {', '.join(extra)} in addition")
    lines += [
        f"{path} differs (sha256 {mine[path][:12]} ≠ {theirs[path][:12]})"
        for path in sorted(set(theirs) & set(mine))
        if theirs[path] != mine[path]
    ]
    return [f"{name}: {line}" for line in lines]


def output_differences(results: Sequence[Measured]) -> list[str]:
    """How each good run's output files differ from the reference run's (names or sha256).

    The reference is the first good cwltool run (cwltool is the reference runner), else the
    first good run.
    """
    good = [m for m in results if m.ok]
    reference = next((m for m in good if m.runner == "cwltool"), good[0] if good else None)
    if reference is None:
        return []
    against = f"{reference.runner} run {reference.repeat}"
    lines = []
    for m in good:
        if m is not reference:
            name = f"{m.runner} run {m.repeat} vs {against}"
            lines += _compare(name, reference.outputs, m.outputs)
    return lines


HEADERS = ["runner", "runs ok", "median wall s", "min–max s", "÷ cwltool"]


def table_rows(rows: Sequence[sidebyside.Row[Measured]], engine: str) -> list[list[str]]:
    return [
        [runner_label(row.runner, engine), row.tally, *sidebyside.wall_cells(row, rows, 2)]
        for row in rows
    ]


def render_report(
    info: Mapping[str, str], results: Sequence[Measured], engine: str, markdown: bool
) -> str:
    """Machine block, the table, failed runs and differing outputs, the target line."""
    rows = sidebyside.summarise(results)
    problems = sidebyside.problem_lines(results, "failed")
    problems += [f"outputs differ: {line}" for line in output_differences(results)]
    sections = [("Problems", problems), ("Target", [target_line(sidebyside.ratio(rows))])]
    return sidebyside.render_report(info, HEADERS, table_rows(rows, engine), sections, markdown)


def exit_status(results: Sequence[Measured]) -> int:
    """0 both runners ran every repeat with the same outputs; 1 a run failed or outputs differ."""
    return 0 if sidebyside.all_ran(results) and not output_differences(results) else 1


# -- preparing the demo --------------------------------------------------------------------------


def usable_engine(wanted: str) -> str | None:
    """``wanted`` (docker or podman), or for auto docker else podman, when it runs containers
    here (ossrflow's own probe, as ``ossrflow run`` and ``make demo`` choose); else None."""
    from ossrflow import detect_engines

    usable = {engine.name for engine in detect_engines() if engine.usable}
    candidates = ENGINES if wanted == "auto" else (wanted,)
    return next((name for name in candidates if name in usable), None)


def image_of(demo: Path) -> dict[str, str] | None:
    """The record of the image the demo's tools pin (None: the demo was prepared without one)."""
    try:
        record = json.loads((demo / IMAGE_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def not_prepared(demo: Path, engine: str) -> str | None:
    """None when ``demo`` holds a demo prepared in ``engine`` whose image is still there; else why
    not."""
    missing = [name for name in ("workflow.cwl", "job.yml", "tools") if not (demo / name).exists()]
    if missing:
        return f"no {', '.join(missing)} in {demo}"
    record = image_of(demo)
    if record is None:
        return f"no {IMAGE_RECORD} in {demo}: its steps would not run in a container"
    if record.get("engine") != engine:
        return f"its image was built with {record.get('engine')}, not {engine}"
    digest = str(record.get("digest", ""))
    found = subprocess.run([engine, "image", "inspect", digest], capture_output=True, check=False)
    return None if found.returncode == 0 else f"{engine} has no image {digest} any more"


def prepare(settings: argparse.Namespace) -> str | None:
    """Prepare the demo in WORK/demo (or reuse it with --reuse); None when ready, else why not."""
    demo, engine = settings.demo, settings.container
    if settings.reuse:
        if (why := not_prepared(demo, engine)) is None:
            note(f"reusing the demo prepared in {demo}")
            return None
        note(f"cannot reuse {demo} ({why}): preparing it again")
    remove(demo)
    demo.mkdir(parents=True)
    stdout, stderr = settings.work / "prepare.out", settings.work / "prepare.err"
    note(f"preparing the demo in {demo} (image, compose, one warm-up run; log {stdout})")
    timed = run_timed(
        prepare_command(demo, engine),
        cwd=REPO,
        stdout=stdout,
        stderr=stderr,
        timeout=PREPARE_TIMEOUT_S,
        interval=0,
    )
    if timed.timed_out or timed.status != 0:
        how = "timed out" if timed.timed_out else f"exited {timed.status}"
        return f"run_demo.py {how} (see {stderr})"
    note(f"prepared in {timed.wall_s:.1f} s (not measured)")
    why = not_prepared(demo, engine)
    return None if why is None else f"{why} (the image could not be built? see {stdout})"


# -- the command line ----------------------------------------------------------------------------

DESCRIPTION = """\
Time the composed demo workflow of `make demo` under ossrflow against the same workflow.cwl +
job.yml under cwltool, side by side, and print the ratio of issue 17's target (demo ≤ 1.0 ×
cwltool).
"""

EPILOG = """\
what is measured:
  First the demo is prepared in WORK/demo, untimed: python workflows/demo/run_demo.py --out
  WORK/demo --container ENGINE --runner ossrflow builds the astropy image (ossrflow
  containerize; the base image too on first use, minutes), composes workflows/demo/analysis.yml
  into workflow.cwl + job.yml + tools/ (every step pinned to that image) and runs it once: a
  warm-up (image layers, page cache, the parsed-schema cache). --reuse keeps a folder prepared
  before, as long as its image is still in ENGINE. Then, --repeat times each, alternating
  (ossrflow, cwltool, cwltool, ossrflow, ...), each in a fresh folder WORK/runs/<runner>-<k>/:
    ossrflow run workflow.cwl job.yml --profile local --container ENGINE --run-dir DIR/run
        --outdir DIR/out        (planning, Snakemake, output collection, provenance record)
    cwltool --parallel [--podman] --outdir DIR/out --tmpdir-prefix DIR/tmp/
        --tmp-outdir-prefix DIR/tmp/ workflow.cwl job.yml
  The wall time is that of the whole command, from start to exit. A run is ok when it exits 0
  and its CWL output object names both outputs (obslog: headers.csv, report: table.txt) as
  non-empty files in DIR/out; then the sha256 of every file in DIR/out is compared with the first good
  cwltool run's: other or missing file names, or other bytes, are reported as a problem.
  Reported: runs ok, the median wall time of the good runs, min–max, ÷ cwltool, and the target
  line. Each run's stdout and stderr stay in WORK/runs/<runner>-<k>.out|.err; its folder is
  deleted once measured (kept when the run failed, or with --keep-runs). Progress goes to
  stderr, the report to stdout. With podman, run it as a user other than root: cwltool passes
  --userns=keep-id, which rootful Podman refuses (ossrflow drops it; docs/containers.md), so
  cwltool's runs fail as root.

examples:
  python benchmarks/demo_time.py                           # the target: 3 repeats, docker
  python benchmarks/demo_time.py --repeat 1 --reuse        # a quick look, demo prepared before
  python benchmarks/demo_time.py --container podman --repeat 5
  python benchmarks/demo_time.py --markdown --json demo-time.json

environment: CI (CI=true: a missing container engine is an error); the programs are the
ossrflow and cwltool beside this interpreter (run it with .venv/bin/python).

exit status: 0 both runners ran every repeat with the same outputs (whether the target is met
or not); 1 the demo could not be prepared, a run failed (non-zero exit, timed out, an output
missing) or the outputs differ; 2 bad usage, or ossrflow/cwltool not beside this interpreter.
Without a container engine that runs here (the demo's steps need the astropy image) it says it
skips and exits 0, or 2 under CI=true.
"""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give more than 0")
    return value


def parser() -> argparse.ArgumentParser:
    p = sidebyside.new_parser("benchmarks/demo_time.py", DESCRIPTION, EPILOG)
    add = p.add_argument
    add(
        "--container",
        choices=("auto", *ENGINES),
        default="auto",
        help="container engine of both runners (default: auto, docker when it runs "
        "containers here, else podman)",
    )
    add(
        "--repeat",
        type=sidebyside.whole_number(1),
        default=3,
        metavar="K",
        help="runs per runner; the median is reported (default: 3)",
    )
    add(
        "--work",
        type=Path,
        default=REPO / "benchmarks" / ".work" / "demo",
        metavar="DIR",
        help="where the prepared demo and the runs go (default: benchmarks/.work/demo, "
        "git-ignored)",
    )
    add(
        "--reuse",
        action="store_true",
        help="keep WORK/demo when it was prepared before with the same engine (no warm-up run)",
    )
    add("--keep-runs", action="store_true", help="keep every run's folder (default: failed only)")
    add(
        "--timeout",
        type=_seconds,
        default=600.0,
        metavar="S",
        help="interrupt a run after S seconds; it counts as failed (default: 600)",
    )
    sidebyside.add_output_options(add, "run")
    return p


def _ready(args: argparse.Namespace) -> int | None:
    """None when everything is there to run (the engine set in args); else the exit status."""
    engine = usable_engine(args.container)
    if engine is None:
        wanted = "docker or podman" if args.container == "auto" else args.container
        cannot = f"{wanted} cannot run containers here"
        return sidebyside.skip_or_fail(
            f"{cannot} (the demo's steps need its image)", cannot, "the demo must run"
        )
    args.container = engine
    missing = [name for name in ("ossrflow", "cwltool") if not (BIN / name).is_file()]
    if missing:
        note(f"{', '.join(missing)} not in {BIN} (make install; run this with .venv/bin/python)")
        return 2
    return None


def _machine(args: argparse.Namespace) -> dict[str, str]:
    info, record = machine(REPO, None), image_of(args.demo) or {}
    del info["toil"]
    return info | {
        "engine": args.container,
        "image": f"{record.get('image', '?')} {record.get('digest', '?')}",
        "demo": str(args.demo),
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser().parse_args(argv)
    args.work = args.work.absolute()
    args.demo = args.work / "demo"
    if (status := _ready(args)) is not None:
        return status
    args.work.mkdir(parents=True, exist_ok=True)
    if (why := prepare(args)) is not None:
        note(f"the demo could not be prepared: {why}")
        return 1
    info = _machine(args)
    note(f"{args.repeat} run(s) each of ossrflow and cwltool, containers: {args.container}")
    remove(args.work / "runs")
    results = sidebyside.run_all(args.repeat, lambda runner, repeat: measure(runner, repeat, args))
    print(render_report(info, results, args.container, args.markdown), end="")
    if args.json:
        differences = output_differences(results)
        sidebyside.write_json(
            args.json, info, argv, results, TARGET, output_differences=differences
        )
    return exit_status(results)


if __name__ == "__main__":
    sidebyside.run_script(main)

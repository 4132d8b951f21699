"""``ossrflow-cwl-runner``: a drop-in ``cwl-runner`` that executes through Snakemake.

``ossrflow-cwl-runner [--outdir DIR] [--quiet] [--profile P] tool_or_workflow.cwl [job]`` prints the
CWL output object (JSON) on stdout, exits 33 for a CWL feature ossrflow does not support, 1 when
the run fails and 2 for bad input.

``--provenance DIR`` keeps the run's record there: the Workflow Run RO-Crate that ``ossrflow run``
leaves in ``RUN_DIR/provenance`` (``ossrflow.run_and_record``), for a finished or a failed run.

Containers follow cwltool's convention (a tool with a DockerRequirement runs in a container
unless ``--no-container``), with one difference: the engine is the profile's ``container:``, else
the first of docker, podman, apptainer that runs here, else none (then hinted images are ignored
and a required one exits 33). ``--container``, ``--podman`` and ``--singularity`` choose one.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import ossrflow
from ossrflow._version import __version__
from ossrflow.config import resolve_settings
from ossrflow.errors import InputError, OssrflowError

__all__ = ["arg_parser", "main", "run"]

EPILOG = """exit codes: 0 success, 1 the run failed, 2 bad input, 3 scheduler unreachable,
33 unsupported CWL feature"""


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def arg_parser() -> argparse.ArgumentParser:
    """The runner's options (cwl-runner conventions plus ossrflow's profile and run folder)."""
    parser = argparse.ArgumentParser(
        prog="ossrflow-cwl-runner",
        description="Run a CWL tool or workflow through Snakemake; print its output object.",
        epilog=EPILOG,
    )
    parser.add_argument("--outdir", type=Path, default=Path.cwd(), help="output folder [.]")
    parser.add_argument("--quiet", action="store_true", help="only errors on stderr")
    parser.add_argument(
        "--profile", default="local", help="local, slurm, htcondor or a profile folder [local]"
    )
    parser.add_argument(
        "--run-dir", type=Path, help="keep the run folder here (default: a temporary one)"
    )
    parser.add_argument(
        "--provenance",
        type=Path,
        metavar="DIR",
        help="write the run's record (Workflow Run RO-Crate) into DIR, a new or empty folder",
    )
    parser.add_argument("--jobs", type=_count(1), help="jobs (local: cores) at a time")
    parser.add_argument("--retries", type=_count(0), default=0, help="retries of a failed job [0]")
    engines = parser.add_mutually_exclusive_group()
    engines.add_argument(
        "--container",
        choices=["docker", "podman", "apptainer", "none"],
        help="engine for tools with a DockerRequirement [profile's, else the first that runs]",
    )
    engines.add_argument(
        "--no-container",
        dest="container",
        action="store_const",
        const="none",
        help="no containers: ignore hinted images (= --container none)",
    )
    engines.add_argument(
        "--podman",
        dest="container",
        action="store_const",
        const="podman",
        help="= --container podman",
    )
    engines.add_argument(
        "--singularity",
        dest="container",
        action="store_const",
        const="apptainer",
        help="= --container apptainer (cwltool's name for it)",
    )
    parser.add_argument("--version", action="version", version=f"ossrflow {__version__}")
    parser.add_argument("processfile", help="CWL tool or workflow")
    parser.add_argument("jobfile", nargs="?", help="job order (YAML or JSON)")
    return parser


def run(argv: Sequence[str]) -> int:
    """Run with ``argv``; errors are raised as :class:`OssrflowError`, the result printed."""
    args = arg_parser().parse_args(argv)
    ossrflow.quiet_cwltool(logging.ERROR if args.quiet else logging.WARNING)
    settings = resolve_settings({}, os.environ)
    options = ossrflow.RunOptions.from_settings(
        settings,
        ossrflow.load_profile(args.profile),
        jobs=args.jobs,
        retries=args.retries,
        container=args.container,
    )
    if args.provenance is not None:
        _check_record_dir(args.provenance)
    temporary = args.run_dir is None
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="ossrflow-run-"))

    shown: list[tuple[int, int]] = []

    def show(progress: ossrflow.Progress) -> None:
        if not args.quiet and progress.total and (progress.done, progress.total) not in shown:
            shown.append((progress.done, progress.total))
            print(f"[ossrflow] {progress.done}/{progress.total} jobs done", file=sys.stderr)

    try:
        try:
            result = _run(args, run_dir, options, show, temporary)
        finally:
            if args.provenance is not None:
                _keep_record(run_dir, args.provenance, copy=not temporary)
    except BaseException:
        # A temporary folder where Snakemake never ran holds nothing the error could point to.
        if temporary and not (run_dir / "snakemake.log").is_file():
            shutil.rmtree(run_dir, ignore_errors=True)
        raise
    if result.reuse is not None and not args.quiet:
        print(f"[ossrflow] {result.reuse}", file=sys.stderr)
    print(json.dumps(result.outputs, indent=4, ensure_ascii=False))
    if temporary:
        shutil.rmtree(run_dir, ignore_errors=True)
    return 0


def _run(
    args: argparse.Namespace,
    run_dir: Path,
    options: ossrflow.RunOptions,
    show: Callable[[ossrflow.Progress], None],
    temporary: bool,
) -> ossrflow.RunResult:
    if args.provenance is None:
        return ossrflow.run_workflow(
            args.processfile,
            args.jobfile,
            run_dir=run_dir,
            outdir=args.outdir,
            options=options,
            progress=show,
            move_outputs=temporary,
        )
    job = Path(args.jobfile) if args.jobfile else None
    recorded = ossrflow.run_and_record(
        args.processfile, job, run_dir=run_dir, outdir=args.outdir, options=options, progress=show
    )
    return recorded.result


def _check_record_dir(folder: Path) -> None:
    """``--provenance DIR`` must be new or empty: a record is never mixed with another."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError(
            "the record folder exists and is not empty",
            source=str(folder),
            hint="name a new folder for --provenance",
        )


def _keep_record(run_dir: Path, folder: Path, *, copy: bool) -> None:
    """Put the run's crate (``RUN_DIR/provenance``) at ``folder``: moved, or copied when the run
    folder is kept (``--run-dir``)."""
    crate = run_dir / ossrflow.CRATE_DIR
    if not crate.is_dir():
        return
    if folder.exists():
        folder.rmdir()
    folder.parent.mkdir(parents=True, exist_ok=True)
    if copy:
        shutil.copytree(crate, folder, symlinks=True)
    else:
        shutil.move(str(crate), str(folder))


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console entry point: one line on stderr and the documented exit code on error."""
    try:
        status = run(list(sys.argv[1:] if argv is None else argv))
    except OssrflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(status)

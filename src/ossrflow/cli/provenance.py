"""Workflows: ``ossrflow rerun`` (rebuild a run from its crate, verify it) and ``ossrflow diff``."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ossrflow.cli.common import AppContext, echo_table, registry_options, settings_from
from ossrflow.errors import VerificationFailed

if TYPE_CHECKING:
    from ossrflow.provenance.model import RunRecord
    from ossrflow.provenance.rerun import Difference, Verification
    from ossrflow.run.execute import Progress
    from ossrflow.run.profiles import Profile

__all__ = ["diff_command", "echo_verification", "rerun_command"]

_DIGEST = re.compile(r"\b([0-9a-f]{16})[0-9a-f]{48}\b")


def _short(digest: str | None) -> str:
    return f"{digest[:16]}…" if digest else "-"


def _size(size: int | None) -> str:
    return "-" if size is None else str(size)


def echo_verification(verification: Verification) -> None:
    """The table of outputs that differ, and the earliest differing step file."""
    rows = [
        (
            row.step or "-",
            row.output,
            row.problem,
            _short(row.expected_sha256),
            _short(row.obtained_sha256),
            f"{_size(row.expected_size)} -> {_size(row.obtained_size)}",
        )
        for row in verification.rows
    ]
    headers = ["step", "output", "problem", "expected sha256", "obtained sha256", "size"]
    echo_table(headers, rows, max_width=80)
    if (first := verification.first_cause) is not None:
        click.echo(
            f"first difference: step {first.name}: {_brief(first.before)} -> {_brief(first.after)}"
        )


def _default_run_dir(record: RunRecord) -> Path:
    """``<RUN>-rerun``, ``<RUN>-rerun-2`` … beside the recorded run (or its crate)."""
    base = record.crate.parent if record.crate.name == "provenance" else record.crate
    candidate = base.with_name(f"{base.name}-rerun")
    number = 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-rerun-{number}")
    return candidate


def _profile(name: str | None, record: RunRecord) -> Profile:
    """The profile asked for; by default the recorded one (a custom one from the crate's copy)."""
    from ossrflow.run.profiles import BUILTIN_PROFILES, load_profile

    if name is not None:
        return load_profile(name)
    if record.profile in BUILTIN_PROFILES:
        return load_profile(record.profile)
    return load_profile(str(record.crate / "profile"))


def _progress(ctx: click.Context) -> Callable[[Progress], None] | None:
    """Jobs done, on stderr, when it is a terminal (and cwltool's chatter kept quiet)."""
    from ossrflow.cwl.load import quiet_cwltool

    app = ctx.find_object(AppContext) or AppContext()
    quiet_cwltool(logging.INFO if app.verbosity > 0 else logging.ERROR)
    if app.verbosity < 0 or not sys.stderr.isatty():
        return None
    shown: set[tuple[int, int]] = set()

    def show(progress: Progress) -> None:
        key = (progress.done, progress.total)
        if progress.total and key not in shown:
            shown.add(key)
            click.echo(f"[ossrflow] {progress.done}/{progress.total} jobs done", err=True)

    return show


@click.command("rerun")
@click.argument("crate", metavar="RUN_DIR_OR_CRATE", type=click.Path(path_type=Path))
@click.option(
    "--profile",
    metavar="NAME|PATH",
    help="local, slurm, htcondor or a profile folder. [default: the recorded profile]",
)
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="New folder for the rerun. [default: RUN_DIR-rerun beside the recorded run]",
)
@click.option(
    "--tolerance",
    "rules",
    multiple=True,
    metavar="PATTERN=ignore|size",
    help="Outputs known not to be bit-reproducible: skip them (ignore) or compare their size "
    "only (size). PATTERN is a glob over output ids and file labels. Repeatable; written "
    "into the new record.",
)
@click.option("--jobs", type=int, help="Jobs (local: cores) at a time.")
@registry_options
@click.pass_context
def rerun_command(
    ctx: click.Context,
    /,
    crate: Path,
    profile: str | None,
    run_dir: Path | None,
    rules: tuple[str, ...],
    jobs: int | None,
    **flags: object,
) -> None:
    """Rerun a recorded run from its crate alone and verify every output.

    Checks the crate, resolves every pinned entry again (same record, version and file
    checksums), stages every input again (refusing any whose sha256 changed), runs the packed
    workflow, records the rerun in NEW/provenance/ and compares every output file with the
    record. Prints "reproduced N/N outputs" and exits 0, or prints the outputs that differ and
    exits 4. Nothing runs when an entry or input changed (exit 2).

    \b
    Examples:
      ossrflow rerun demo-run
      ossrflow rerun demo-run/provenance --profile slurm --run-dir /scratch/demo-again
      ossrflow rerun run/ --tolerance 'report=size' --tolerance '*.log=ignore'
    """
    from ossrflow.provenance.model import parse_tolerance
    from ossrflow.provenance.record import load_record
    from ossrflow.provenance.rerun import rerun

    settings = settings_from(ctx, **flags)
    tolerance = [parse_tolerance(rule) for rule in rules]
    record = load_record(crate)
    result = rerun(
        record,
        profile=_profile(profile, record),
        run_dir=run_dir or _default_run_dir(record),
        settings=settings,
        tolerance=tolerance,
        jobs=jobs,
        progress=_progress(ctx),
    )
    verification = result.verification
    if not verification.ok:
        echo_verification(verification)
        raise VerificationFailed(
            f"{len(verification.rows)} of {verification.total} outputs differ from the record",
            source=str(result.new.crate),
            hint=f"compare the records: ossrflow diff {record.crate} {result.new.crate}",
        )
    click.echo(verification.summary())
    click.echo(f"record: {result.new.crate}")


def _brief(text: str) -> str:
    """Digests cut to 16 hex digits (the records hold them whole)."""
    return _DIGEST.sub(lambda m: m[1] + "…", text)


def _difference_rows(differences: list[Difference]) -> list[tuple[str, ...]]:
    return [(d.kind, d.name, _brief(d.before), _brief(d.after)) for d in differences]


@click.command("diff")
@click.argument("run_a", metavar="RUN_A", type=click.Path(path_type=Path))
@click.argument("run_b", metavar="RUN_B", type=click.Path(path_type=Path))
def diff_command(run_a: Path, run_b: Path) -> None:
    """Compare two run records: entries, inputs, workflow, versions, steps and outputs.

    RUN_A and RUN_B are run directories, crate folders or ro-crate-metadata.json files. The first
    line names what changed first: the earliest possible cause of every later difference.

    \b
    Examples:
      ossrflow diff demo-run demo-run-rerun
      ossrflow diff old/provenance new/provenance
    """
    from ossrflow.provenance.record import load_record
    from ossrflow.provenance.rerun import diff_records

    differences = diff_records(load_record(run_a), load_record(run_b))
    if not differences:
        click.echo("no differences: same entries, inputs, workflow, versions and outputs")
        return
    first = differences[0]
    click.echo(
        f"first difference: {first.kind} {first.name}: {_brief(first.before)} -> "
        f"{_brief(first.after)}"
    )
    click.echo()
    echo_table(["kind", "name", "RUN_A", "RUN_B"], _difference_rows(differences), max_width=70)

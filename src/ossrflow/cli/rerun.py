"""``ossrflow rerun``: rebuild a run from its crate alone, run it again, verify every output."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

import click

import ossrflow
from ossrflow.cli.common import (
    echo_json,
    echo_table,
    job_progress,
    jobs_option,
    json_option,
    profile_option,
    registry_options,
    settings_from,
)
from ossrflow.cli.diff import brief
from ossrflow.errors import VerificationFailed

if TYPE_CHECKING:
    from ossrflow import Verification

__all__ = ["echo_verification", "rerun_command"]


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
            f"first difference: step {first.name}: {brief(first.before)} -> {brief(first.after)}"
        )


@click.command("rerun")
@click.argument("crate", metavar="RUN_DIR_OR_CRATE", type=click.Path(path_type=Path))
@profile_option("the recorded profile")
@click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="New run folder for the rerun. [default: RUN_DIR-rerun beside the recorded run]",
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
@jobs_option
@json_option("the verification")
@registry_options()
@click.pass_context
def rerun_command(
    ctx: click.Context,
    /,
    crate: Path,
    profile: str | None,
    run_dir: Path | None,
    rules: tuple[str, ...],
    jobs: int | None,
    as_json: bool,
    **flags: object,
) -> None:
    """Rerun a recorded run from its crate alone and verify every output.

    Checks the crate and the commands the native steps ran (the recorded run's own venv goes
    first on PATH; a missing or other version of a command is refused), resolves every pinned
    entry again (same record, version and file checksums), stages every input again (refusing
    any whose sha256 changed), runs the packed workflow (container steps in the recorded image,
    by digest), records the rerun in NEW/provenance/ and compares every output file with the
    record. Prints "reproduced N/N outputs" and exits 0, or prints the outputs that differ and
    exits 4. Nothing runs when an entry or input changed (exit 2). With --offline nothing is
    downloaded: inputs come from where the run read them, the crate or the content store.

    \b
    Examples:
      ossrflow rerun demo-run/run
      ossrflow rerun demo-run/run/provenance --profile slurm --run-dir runs/demo-on-slurm
      ossrflow rerun demo-run/run --tolerance 'report=size' --tolerance '*.log=ignore'
    """
    settings = settings_from(ctx, profile=profile, **flags)
    tolerance = [ossrflow.parse_tolerance(rule) for rule in rules]
    record = ossrflow.load_record(crate)
    result = ossrflow.rerun(
        record,
        profile=ossrflow.load_profile(settings.profile) if settings.profile else None,
        run_dir=run_dir or ossrflow.default_rerun_dir(record),
        settings=settings,
        tolerance=tolerance,
        jobs=jobs,
        progress=job_progress(ctx),
    )
    verification = result.verification
    if as_json:
        echo_json(
            {
                "reproduced": verification.ok,
                "summary": verification.summary(),
                "record": str(result.new.crate),
                "rerun_of": str(record.crate),
                "differ": [dataclasses.asdict(row) for row in verification.rows],
            }
        )
    elif verification.ok:
        click.echo(verification.summary())
        click.echo(f"record: {result.new.crate}")
    else:
        echo_verification(verification)
    if not verification.ok:
        raise VerificationFailed(
            f"{len(verification.rows)} of {verification.total} outputs differ from the record",
            source=str(result.new.crate),
            hint=f"compare the records: ossrflow diff {record.crate} {result.new.crate}",
        )

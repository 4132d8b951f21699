"""``ossrflow compose``: a workflow definition -> workflow.cwl, tools, job.yml and its lock."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import ossrflow
from ossrflow.cli.common import (
    echo_json,
    echo_table,
    json_option,
    registry_given,
    registry_options,
    settings_from,
    transfer_progress,
)

if TYPE_CHECKING:
    from ossrflow import Lock

__all__ = ["compose_command", "definition_options", "echo_pins"]

F = TypeVar("F", bound=Callable[..., Any])


def definition_options(func: F) -> F:
    """The DEFINITION argument, ``--allow-absolute-paths`` and ``--lock`` (compose, lock)."""
    options = [
        click.argument("definition", type=click.Path(dir_okay=False, path_type=Path)),
        click.option(
            "--allow-absolute-paths",
            is_flag=True,
            help="Accept absolute paths in the definition (never '..' out of its folder).",
        ),
        click.option(
            "--lock",
            "lock_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Lock file. [default: DEFINITION's name with .lock.json, beside it]",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _entry_rows(lock: Lock) -> list[tuple[str, ...]]:
    return [
        (alias, pin.ref, pin.record_id, pin.version or "-", pin.doi or "-")
        for alias, pin in lock.entries.items()
    ]


def _input_rows(lock: Lock) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for name, pin in lock.inputs.items():
        if pin.kind == "value":
            rows.append((name, "value", "-", "-"))
        else:
            size = sum(f.size for f in pin.files)
            rows.append((name, pin.kind, str(len(pin.files)), str(size)))
    return rows


def echo_pins(lock: Lock) -> None:
    """The entries and inputs a lock pins, as two tables."""
    echo_table(["entry", "ref", "record", "version", "doi"], _entry_rows(lock), max_width=80)
    if lock.inputs:
        click.echo()
        echo_table(["input", "kind", "files", "bytes"], _input_rows(lock))


@click.command("compose")
@definition_options
@click.option(
    "--outdir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives workflow.cwl, tools/, job.yml and ossrflow.lock.json.",
)
@click.option("--no-lock", is_flag=True, help="Ignore the lock file: resolve everything afresh.")
@json_option("the files written and the pins")
@registry_options()
@click.pass_context
def compose_command(
    ctx: click.Context,
    /,
    definition: Path,
    allow_absolute_paths: bool,
    lock_path: Path | None,
    outdir: Path,
    no_lock: bool,
    as_json: bool,
    **flags: object,
) -> None:
    """Compose a workflow definition into a CWL v1.2 Workflow, its job file and its pins.

    Resolves every entry (pinned by the lock file when there is one), builds its tool, checks the
    wiring (unknown entries, steps and outputs, type mismatches, cycles), stages every input into
    the content store, validates the result with cwltool, then writes OUTDIR/workflow.cwl,
    OUTDIR/tools/ALIAS.cwl, OUTDIR/job.yml and OUTDIR/ossrflow.lock.json. On any error nothing
    is written and the message points at the definition's line and column. Paths in the
    definition must stay in its folder (see docs/definition.md).

    \b
    Examples:
      ossrflow compose workflows/demo/analysis.yml --registry dir:workflows/registry --outdir demo-run
      ossrflow compose workflows/demo/analysis.yml --outdir demo-run --no-lock --json
      ossrflow run demo-run/workflow.cwl demo-run/job.yml
    """
    settings = settings_from(ctx, **flags)
    composed = ossrflow.compose_definition(
        definition,
        outdir,
        settings,
        lock_path=lock_path,
        use_lock=not no_lock,
        allow_absolute_paths=allow_absolute_paths,
        progress=transfer_progress(ctx),
        registry_given=registry_given(settings, flags),
    )
    lock = composed.composition.lock
    written = [composed.workflow, composed.job, composed.lock_path]
    if as_json:
        files = {"workflow": composed.workflow, "job": composed.job, "lock": composed.lock_path}
        pinned = str(composed.pinned_by) if composed.pinned_by else None
        echo_json(
            {
                **{name: str(path) for name, path in files.items()},
                "pinned_by": pinned,
                "pins": ossrflow.lock_json(lock),
            }
        )
        return
    echo_pins(lock)
    click.echo()
    if composed.pinned_by is not None:
        click.echo(f"pinned by {composed.pinned_by}")
    for path in written:
        click.echo(f"wrote {path}")

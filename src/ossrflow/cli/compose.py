"""Workflows: ``ossrflow compose`` (definition -> workflow.cwl + job.yml + lock) and ``ossrflow lock``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

import ossrflow
from ossrflow.cli.common import AppContext, echo_table, registry_options, settings_from

if TYPE_CHECKING:
    from ossrflow.compose.composition import Composition
    from ossrflow.compose.lock import Lock

__all__ = ["compose_command", "lock_command"]

F = TypeVar("F", bound=Callable[..., Any])


def _definition_options(func: F) -> F:
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


def _progress(ctx: click.Context) -> Any:
    from ossrflow.cli.data import ProgressLine

    app = ctx.find_object(AppContext) or AppContext()
    return ProgressLine(sys.stderr) if app.verbosity >= 0 and sys.stderr.isatty() else None


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


def _echo_pins(lock: Lock) -> None:
    echo_table(["entry", "ref", "record", "version", "doi"], _entry_rows(lock), max_width=80)
    if lock.inputs:
        click.echo()
        echo_table(["input", "kind", "files", "bytes"], _input_rows(lock))


@click.command("compose")
@_definition_options
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write workflow.cwl, tools/, job.yml and ossrflow.lock.json into.",
)
@click.option("--no-lock", is_flag=True, help="Ignore the lock file: resolve everything afresh.")
@registry_options
@click.pass_context
def compose_command(
    ctx: click.Context,
    /,
    definition: Path,
    allow_absolute_paths: bool,
    lock_path: Path | None,
    out_dir: Path,
    no_lock: bool,
    **flags: object,
) -> None:
    """Compose a workflow definition into a CWL v1.2 Workflow, its job file and its pins.

    Resolves every entry (pinned by the lock file when there is one), builds its tool, checks the
    wiring (unknown entries, steps and outputs, type mismatches, cycles), stages every input into
    the content store, validates the result with cwltool, then writes DIR/workflow.cwl,
    DIR/tools/ALIAS.cwl, DIR/job.yml and DIR/ossrflow.lock.json. On any error nothing is written
    and the message points at the definition's line and column. Paths in the definition must stay
    in its folder (see docs/definition.md).

    \b
    Examples:
      ossrflow compose workflows/demo/analysis.yml --registry dir:workflows/registry -o run/
      ossrflow compose analysis.yml -o run/ --no-lock
      ossrflow-cwl-runner --outdir out/ run/workflow.cwl run/job.yml
    """
    settings = settings_from(ctx, **flags)
    parsed = ossrflow.load_definition(definition, allow_absolute_paths=allow_absolute_paths)
    lock = None
    path = lock_path or ossrflow.default_lock_path(definition)
    if not no_lock and (lock_path is not None or path.is_file()):
        lock = ossrflow.load_lock(path)
    result = ossrflow.compose_workflow(
        parsed, out_dir, settings, lock=lock, progress=_progress(ctx)
    )
    _echo_pins(result.composition.lock)
    click.echo()
    if lock is not None:
        click.echo(f"pinned by {path}")
    for written in (result.workflow, result.job, result.lock_path):
        click.echo(f"wrote {written}")


def _changes(old: Lock | None, new: Lock) -> list[str]:
    if old is None:
        return []
    lines = []
    for alias, pin in new.entries.items():
        before = old.entries.get(alias)
        if before is None:
            lines.append(f"entries.{alias}: new, record {pin.record_id}")
        elif (before.record_id, dict(before.files)) != (pin.record_id, dict(pin.files)):
            lines.append(f"entries.{alias}: record {before.record_id} -> {pin.record_id}")
    for name, input_pin in new.inputs.items():
        previous = old.inputs.get(name)
        if (
            previous is None
            or previous.files != input_pin.files
            or previous.value != input_pin.value
        ):
            lines.append(f"inputs.{name}: {'new' if previous is None else 'changed'}")
    return lines


def _composition(
    ctx: click.Context, definition: Path, allow: bool, flags: dict[str, object]
) -> Composition:
    settings = settings_from(ctx, **flags)
    parsed = ossrflow.load_definition(definition, allow_absolute_paths=allow)
    return ossrflow.plan_composition(parsed, settings, progress=_progress(ctx))


@click.command("lock")
@_definition_options
@registry_options
@click.pass_context
def lock_command(
    ctx: click.Context,
    /,
    definition: Path,
    allow_absolute_paths: bool,
    lock_path: Path | None,
    **flags: object,
) -> None:
    """Pin a definition afresh: the record of every entry and the bytes of every input.

    Resolves every entry again (a concept DOI to its latest version), stages every input and
    writes the lock file that `ossrflow compose` then holds to: a later compose refuses an entry
    or input whose record or bytes differ, until you lock again. Prints the pins and what
    changed since the previous lock.

    \b
    Examples:
      ossrflow lock analysis.yml                  # writes analysis.lock.json beside it
      ossrflow lock analysis.yml --lock pins/analysis.lock.json
    """
    path = lock_path or ossrflow.default_lock_path(definition)
    old = ossrflow.load_lock(path) if path.is_file() else None
    composition = _composition(ctx, definition, allow_absolute_paths, flags)
    ossrflow.write_lock(composition.lock, path)
    _echo_pins(composition.lock)
    click.echo()
    for line in _changes(old, composition.lock):
        click.echo(line)
    click.echo(f"wrote {path}")

"""``ossrflow lock``: pin a definition afresh (every entry's record, every input's bytes)."""

from __future__ import annotations

from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import (
    echo_json,
    json_option,
    registry_given,
    registry_options,
    settings_from,
    transfer_progress,
)
from ossrflow.cli.compose import definition_options, echo_pins

__all__ = ["lock_command"]


@click.command("lock")
@definition_options
@json_option("the lock file written, the pins and what changed")
@registry_options()
@click.pass_context
def lock_command(
    ctx: click.Context,
    /,
    definition: Path,
    allow_absolute_paths: bool,
    lock_path: Path | None,
    as_json: bool,
    **flags: object,
) -> None:
    """Pin a definition afresh: the record of every entry and the bytes of every input.

    Resolves every entry again (a concept DOI to its latest version), stages every input and
    writes the lock file that `ossrflow compose` then holds to: a later compose refuses an entry
    or input whose record or bytes differ, until you lock again. Prints the pins and what
    changed since the previous lock.

    \b
    Examples:
      ossrflow lock workflows/demo/analysis.yml --registry dir:workflows/registry
      ossrflow lock workflows/demo/analysis.yml --lock /tmp/analysis.lock.json --json
    """
    settings = settings_from(ctx, **flags)
    relock = ossrflow.lock_definition(
        definition,
        settings,
        lock_path=lock_path,
        allow_absolute_paths=allow_absolute_paths,
        progress=transfer_progress(ctx),
        registry_given=registry_given(settings, flags),
    )
    if as_json:
        pins = ossrflow.lock_json(relock.lock)
        echo_json({"lock": str(relock.path), "pins": pins, "changes": list(relock.changes)})
        return
    echo_pins(relock.lock)
    click.echo()
    for line in relock.changes:
        click.echo(line)
    click.echo(f"wrote {relock.path}")

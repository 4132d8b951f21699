"""``ossrflow interface draft``: a draft interface file from an installed program's ``--help``."""

from __future__ import annotations

from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import registry_options, settings_from

__all__ = ["interface_group"]


@click.group("interface")
def interface_group() -> None:
    """Interface files: the command line of an entry, as a CWL CommandLineTool fragment."""


@interface_group.command("draft")
@click.argument("ref")
@click.option(
    "--command", metavar="NAME", help="Program to ask (default: codemeta executableName)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the draft to this file. [default: stdout]",
)
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds for --help.")
@registry_options()
@click.pass_context
def draft_command(
    ctx: click.Context,
    /,
    ref: str,
    command: str | None,
    output: Path | None,
    timeout: float,
    **flags: object,
) -> None:
    """Run an installed program of the entry with --help and write a draft interface file.

    Reads argparse, click and GNU help. The draft starts with "DRAFT: review before use": its
    types are guesses, and ossrflow cwl uses it only when given with --interface, with a
    warning until that line is deleted.

    \b
    Examples:
      ossrflow interface draft dir:workflows/registry/astropy-fitsheader --command fitsheader
      ossrflow interface draft dir:workflows/registry/astropy-fitscheck -o demo-run/draft.yml
    """
    entry = ossrflow.get_entry(ref, settings_from(ctx, **flags))
    text = ossrflow.draft_interface(entry.codemeta, command=command, timeout=timeout)
    if output is None:
        click.echo(text, nl=False)
    else:
        ossrflow.write_interface_draft(text, output)
        click.echo(f"wrote {output}", err=True)

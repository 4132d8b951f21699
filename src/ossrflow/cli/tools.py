"""Tools: ``ossrflow cwl`` (entry -> CWL CommandLineTool) and ``ossrflow interface draft``."""

from __future__ import annotations

from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import echo_table, registry_options, settings_from

__all__ = ["cwl_command", "interface_group"]


@click.command("cwl")
@click.argument("ref")
@click.option(
    "--interface",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Interface file (a CWL CommandLineTool fragment); wins over what the entry ships.",
)
@click.option(
    "--tool", "tool_name", metavar="NAME", help="Which shipped .cwl tool (file, stem or id)."
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write here (a folder with --all)."
)
@click.option("--all", "convert_all", is_flag=True, help="Convert every entry of REF (dir:PATH).")
@registry_options
@click.pass_context
def cwl_command(
    ctx: click.Context,
    /,
    ref: str,
    interface: Path | None,
    tool_name: str | None,
    output: Path | None,
    convert_all: bool,
    **flags: object,
) -> None:
    """Turn an entry into a CWL v1.2 CommandLineTool carrying its codemeta metadata.

    The command line comes from --interface, else a .cwl CommandLineTool the entry ships, else
    its ossrflow-interface.yml; without one, exit 2 naming what to provide. Writes to stdout
    unless -o is given. With --all, REF is a folder registry (dir:PATH), -o a folder, and a table
    "entry result reason" is printed; exit 0 if every entry converted, 2 if any was refused.

    \b
    Examples:
      ossrflow cwl ./my-entry                       # folder with codemeta.json + a .cwl
      ossrflow cwl 10.5281/zenodo.4687123 --interface agnpy-interface.yml -o agnpy.cwl
      ossrflow cwl dir:registry/water-bodies --tool crop
      ossrflow cwl --all dir:registry -o tools/
    """
    settings = settings_from(ctx, **flags)
    if convert_all:
        if output is None or interface is not None or tool_name is not None:
            raise click.UsageError("--all takes -o DIR, and neither --interface nor --tool")
        results = ossrflow.generate_registry_tools(
            ref, lambda entry_ref: ossrflow.get_entry(entry_ref, settings), output
        )
        rows = [(r.entry, "converted" if r.error is None else "refused", r.reason) for r in results]
        echo_table(["entry", "result", "reason"], rows, max_width=4000)
        ctx.exit(0 if all(r.error is None for r in results) else 2)
    entry = ossrflow.get_entry(ref, settings)
    generated = ossrflow.generate_entry_tool(entry, interface=interface, tool=tool_name)
    if output is None:
        click.echo(ossrflow.render_tool(generated), nl=False)
    else:
        ossrflow.write_tool(generated, output)
        click.echo(f"wrote {output}", err=True)


@click.group("interface")
def interface_group() -> None:
    """Interface files: the command line of an entry, as a CWL CommandLineTool fragment."""


@interface_group.command("draft")
@click.argument("ref")
@click.option(
    "--command", metavar="NAME", help="Program to ask (default: codemeta executableName)."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds for --help.")
@registry_options
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

    Reads argparse and click help. The draft starts with "DRAFT: review before use": its types
    are guesses, and ossrflow cwl uses it only when given with --interface.

    \b
    Examples:
      ossrflow interface draft ./pyhf -o ossrflow-interface.yml
      ossrflow interface draft dir:workflows/registry/astropy-fitsheader --command fitsheader
    """
    entry = ossrflow.get_entry(ref, settings_from(ctx, **flags))
    text = ossrflow.draft_interface(entry.codemeta, command=command, timeout=timeout)
    if output is None:
        click.echo(text, nl=False)
    else:
        ossrflow.write_interface_draft(text, output)
        click.echo(f"wrote {output}", err=True)

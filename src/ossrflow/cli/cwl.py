"""``ossrflow cwl``: an entry becomes a CWL v1.2 CommandLineTool carrying its codemeta metadata."""

from __future__ import annotations

from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import echo_json, echo_table, json_option, registry_options, settings_from

__all__ = ["cwl_command"]


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
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the tool to this file. [default: stdout]",
)
@click.option("--all", "convert_all", is_flag=True, help="Convert every entry of REF (dir:PATH).")
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --all: the folder that receives one ENTRY.cwl per entry.",
)
@json_option("the tool (with --all: the table)")
@registry_options()
@click.pass_context
def cwl_command(
    ctx: click.Context,
    /,
    ref: str,
    interface: Path | None,
    tool_name: str | None,
    output: Path | None,
    convert_all: bool,
    outdir: Path | None,
    as_json: bool,
    **flags: object,
) -> None:
    """Turn an entry into a CWL v1.2 CommandLineTool carrying its codemeta metadata.

    The command line comes from --interface, else a .cwl CommandLineTool the entry ships, else
    its ossrflow-interface.yml; without one, exit 2 naming what to provide. Writes to stdout
    unless -o is given. With --all, REF is a folder registry (dir:PATH), --outdir a folder, and a
    table "entry result reason" is printed; exit 0 if every entry converted, 2 if any was refused.

    \b
    Examples:
      ossrflow cwl workflows/registry/astropy-fitsheader
      ossrflow cwl dir:workflows/registry/astropy-fitscheck -o demo-run/fitscheck.cwl
      ossrflow cwl 10.5281/zenodo.4687123 --interface tests/data/cwlgen/interfaces/linecount.yml
      ossrflow cwl --all dir:workflows/registry --outdir demo-run/tools
    """
    settings = settings_from(ctx, **flags)
    if convert_all:
        if outdir is None or output is not None or interface is not None or tool_name is not None:
            raise click.UsageError("--all takes --outdir DIR, and none of -o, --interface, --tool")
        results = ossrflow.generate_registry_tools(
            ref, lambda entry_ref: ossrflow.get_entry(entry_ref, settings), outdir
        )
        if as_json:
            echo_json(
                [
                    {"entry": r.entry, "converted": r.error is None, "reason": r.reason}
                    for r in results
                ]
            )
        else:
            rows = [
                (r.entry, "converted" if r.error is None else "refused", r.reason) for r in results
            ]
            echo_table(["entry", "result", "reason"], rows, max_width=4000)
        ctx.exit(0 if all(r.error is None for r in results) else 2)
    if outdir is not None:
        raise click.UsageError("--outdir goes with --all; write one tool with -o FILE")
    entry = ossrflow.get_entry(ref, settings)
    generated = ossrflow.generate_entry_tool(entry, interface=interface, tool=tool_name)
    if output is not None:
        ossrflow.write_tool(generated, output)
        click.echo(f"wrote {output}", err=True)
    elif as_json:
        echo_json(ossrflow.tool_document(generated))
    else:
        click.echo(ossrflow.render_tool(generated), nl=False)

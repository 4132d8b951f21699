"""``ossrflow match``: a cart or data files -> ranked registry entries whose inputs accept them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

import ossrflow
from ossrflow.cli.common import echo_json, echo_table, json_option, registry_options, settings_from
from ossrflow.errors import NotFound

if TYPE_CHECKING:
    from ossrflow import Candidate

__all__ = ["match_command"]

CART_SUFFIXES = (".json", ".yml", ".yaml", ".txt", ".list", ".lst", ".urls")


@click.command("match")
@click.argument("data", nargs=-1, required=True)
@click.option("--files", "as_files", is_flag=True, help="Take DATA as data files, never as a cart.")
@click.option(
    "--query", default="", metavar="TEXT", help="Only entries the registry finds for TEXT."
)
@click.option(
    "--top", type=click.IntRange(min=1), default=10, show_default=True, help="Rows shown."
)
@json_option("all candidates")
@registry_options(search=True)
@click.pass_context
def match_command(
    ctx: click.Context,
    /,
    data: tuple[str, ...],
    as_files: bool,
    query: str,
    top: int,
    as_json: bool,
    **flags: object,
) -> None:
    """Rank registry entries whose tool inputs accept the data, and say why each matched.

    DATA is one shopping cart (a .json/.yml/.txt cart file, as `ossrflow stage` reads) or data
    file names or URLs. Nothing is downloaded: an item's format comes from the cart or its name,
    and a local file's first bytes correct a name that says nothing or lies (FITS, HDF5, NetCDF,
    gzip, zip, JSON, CSV). Each entry's tool is built as `ossrflow cwl` builds it; a File input
    that declares the item's format scores highest, then one declaring a format the item's is a
    kind of (EDAM), then inputs that take any file; codemeta keywords naming the format add a
    point. -v also lists each item's format and every entry skipped, with why. Exit 0 with
    candidates, 2 when none takes the data.

    \b
    Examples:
      ossrflow match workflows/demo/cart.json --registry dir:workflows/registry
      ossrflow match --files m67_V_001.fits obslog.csv
      ossrflow match cart.json --query gammapy --json
    """
    settings = settings_from(ctx, **flags)
    cart = len(data) == 1 and not as_files and data[0].lower().endswith(CART_SUFFIXES)
    items = ossrflow.load_cart(Path(data[0])) if cart else ossrflow.match_data_items(data)
    result = ossrflow.match_entries(items, settings, query=query)
    verbose = bool(ctx.find_root().params.get("verbose"))
    if verbose:
        click.echo("data:", err=True)
        for item in result.items:
            click.echo(f"  {item.describe()}", err=True)
        if result.skipped:
            click.echo(f"skipped {len(result.skipped)} entries:", err=True)
            for skipped in result.skipped:
                click.echo(f"  {skipped}", err=True)
    if result.refused:
        click.echo(f"{len(result.refused)} entries could not be read (-v lists them)", err=True)
        if verbose:
            for error in result.refused:
                click.echo(f"  {error}", err=True)
    if not result.candidates:
        raise NotFound(
            f"none of the {result.considered} entries takes these data",
            source=data[0] if cart else "FILES",
            hint="try another registry (--registry), or check the files' names and formats",
        )
    if as_json:
        echo_json([c.to_json() for c in result.candidates])
    else:
        headers = ["rank", "entry", "version", "takes", "score", "input", "why"]
        echo_table(headers, _rows(result.candidates[:top]), max_width=120)


def _rows(candidates: Sequence[Candidate]) -> list[tuple[object, ...]]:
    return [
        (
            rank,
            c.ref,
            c.version or "-",
            f"{c.accepted}/{c.total}",
            c.score,
            c.how,
            "; ".join(c.reasons),
        )
        for rank, c in enumerate(candidates, start=1)
    ]

"""``ossrflow stage``: a shopping cart -> verified files in the content store -> CWL job inputs."""

from __future__ import annotations

import re
from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import (
    echo_json,
    echo_table,
    json_option,
    registry_options,
    settings_from,
    transfer_progress,
)

__all__ = ["stage_command"]

_CWL_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _input_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not _CWL_ID.fullmatch(value):
        raise click.BadParameter(f"{value!r} is not a CWL input id (letters, digits, _)")
    return value


@click.command("stage")
@click.argument("cart", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--store",
    "store_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Content store folder. [default: <cache dir>/store]",
)
@click.option(
    "--data-root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that absolute paths in the cart may lie in. [default: the cart's folder]",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the CWL job inputs to this file (YAML).",
)
@click.option(
    "--input-name",
    default="data",
    show_default=True,
    callback=_input_name,
    help="Job input that lists the staged items (in -o).",
)
@json_option("the staged items")
@registry_options()
@click.pass_context
def stage_command(
    ctx: click.Context,
    /,
    cart: Path,
    store_dir: Path | None,
    data_root: Path | None,
    output: Path | None,
    input_name: str,
    as_json: bool,
    **flags: object,
) -> None:
    """Stage a shopping cart's data, checksum-verified, as CWL File inputs.

    CART is an ESAP shopping cart (JSON), a YAML/JSON list of URLs, Rucio DIDs and paths, a
    text file with one per line, or {items: [{location, name, checksum, size, format}]}.
    Downloads resume; a verified file is never fetched again. Prints a table "name size sha256
    source" (or --json); -o also writes the job inputs {INPUT_NAME: [File, ...]} for a workflow.

    \b
    Examples:
      ossrflow stage workflows/demo/cart.json
      ossrflow stage workflows/demo/cart.json -o demo-run/job.yml --input-name images
      ossrflow stage workflows/demo/cart.json --store demo-run/store --json
    """
    settings = settings_from(ctx, **flags)
    items = ossrflow.load_cart(cart, data_root=data_root)
    store = ossrflow.ContentStore(store_dir) if store_dir else None
    staged = ossrflow.stage_items(items, settings, store=store, progress=transfer_progress(ctx))
    if output is not None:
        ossrflow.write_job_inputs(output, staged, input_name)
    if as_json:
        echo_json([_summary(s) for s in staged])
    else:
        rows = [(s.item.name, s.size, s.sha256.digest[:16], s.item.location) for s in staged]
        echo_table(["name", "size", "sha256", "source"], rows, max_width=100)
    if output is not None:
        click.echo(f"wrote {output}", err=True)


def _summary(staged: ossrflow.StagedInput) -> dict[str, object]:
    return {
        "name": staged.item.name,
        "kind": staged.item.kind,
        "source": staged.item.location,
        "origin": staged.item.origin,
        "path": str(staged.path),
        "sha256": staged.sha256.digest,
        "size": staged.size,
        "cwl": staged.cwl,
    }

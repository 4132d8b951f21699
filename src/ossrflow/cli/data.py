"""Data: ``ossrflow stage`` (shopping cart -> verified files in the store -> CWL job inputs)."""

from __future__ import annotations

import contextlib
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

import ossrflow
from ossrflow.cli.common import AppContext, echo_json, echo_table, registry_options, settings_from

if TYPE_CHECKING:
    from ossrflow.config import Settings
    from ossrflow.transfer import Progress

__all__ = ["ProgressLine", "stage"]

LARGE = 8 << 20  # bytes: smaller downloads get no progress line
_CWL_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ProgressLine:
    """One self-overwriting line per large download on ``stream``, at most 5 updates a second."""

    def __init__(self, stream: TextIO, threshold: int = LARGE) -> None:
        self.stream = stream
        self.threshold = threshold
        self.last = 0.0

    def __call__(self, progress: Progress) -> None:
        total = progress.total
        if total is not None and total < self.threshold:
            return
        done = total is not None and progress.done >= total
        now = time.monotonic()
        if not done and now - self.last < 0.2:
            return
        self.last = now
        text = f"{progress.label}: {_human(progress.done)}"
        if total:
            text += f" / {_human(total)} ({100 * progress.done // total}%)"
        self.stream.write(f"\r{text}\x1b[K" + ("\n" if done else ""))
        self.stream.flush()


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


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
    help="Write the CWL job inputs here (YAML).",
)
@click.option(
    "--input-name",
    default="data",
    show_default=True,
    callback=_input_name,
    help="Job input that lists the staged items (in -o).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the staged items as JSON.")
@registry_options
@click.pass_context
def stage(
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
      ossrflow stage cart.json
      ossrflow stage cart.yml -o job.yml --input-name images
      ossrflow stage urls.txt --store /scratch/store --json
    """
    settings = settings_from(ctx, **flags)
    items = ossrflow.load_cart(cart, data_root=data_root)
    store = ossrflow.ContentStore(store_dir or settings.cache_dir / "store")
    staged = _stage(items, store, settings, _progress(ctx))
    if output is not None:
        ossrflow.write_job_inputs(output, staged, input_name)
    if as_json:
        echo_json([_summary(s) for s in staged])
    else:
        rows = [(s.item.name, s.size, s.sha256.digest[:16], s.item.location) for s in staged]
        echo_table(["name", "size", "sha256", "source"], rows, max_width=100)
    if output is not None:
        click.echo(f"wrote {output}", err=True)


def _stage(
    items: list[ossrflow.CartItem],
    store: ossrflow.ContentStore,
    settings: Settings,
    progress: ProgressLine | None,
) -> list[ossrflow.StagedInput]:
    from ossrflow.transfer import make_client

    # No token here: cart URLs may point anywhere, and the Zenodo token must not go with them.
    with make_client(timeout=settings.timeout, retries=settings.retries) as client:
        client.headers["Accept"] = "*/*"
        rucio = ossrflow.connect_rucio() if any(i.kind == "rucio" for i in items) else None
        with _registry(items, settings) as registry:
            return ossrflow.stage(
                items,
                store,
                client=client,
                registry=registry,
                rucio=rucio,
                progress=progress,
                offline=settings.offline,
            )


@contextlib.contextmanager
def _registry(
    items: list[ossrflow.CartItem], settings: Settings
) -> Iterator[ossrflow.Registry | None]:
    if not any(item.kind == "zenodo" for item in items):
        yield None
        return
    with ossrflow.open_registry(settings) as registry:
        yield registry


def _progress(ctx: click.Context) -> ProgressLine | None:
    app = ctx.find_object(AppContext) or AppContext()
    stream = sys.stderr
    return ProgressLine(stream) if app.verbosity >= 0 and stream.isatty() else None


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

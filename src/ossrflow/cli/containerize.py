"""``ossrflow containerize``: an entry -> OUTDIR/<name>/ (Dockerfile, apptainer.def, image)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import echo_json, json_option, registry_options, settings_from

__all__ = ["containerize_command"]


@click.command("containerize")
@click.argument("ref")
@click.option(
    "--outdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("containers"),
    show_default=True,
    help="Folder that receives <name>/.",
)
@click.option(
    "--container",
    type=click.Choice(["docker", "podman"]),
    default="docker",
    show_default=True,
    help="Container engine that builds the image.",
)
@click.option("--no-build", is_flag=True, help="Write the recipe and wheels only; build nothing.")
@click.option(
    "--base",
    metavar="IMAGE",
    default="ossrflow/debian-python:local",
    show_default=True,
    help="Base image (made by containers/base/build.sh).",
)
@click.option("--package", metavar="NAME", help="PyPI project, when not the codemeta name.")
@click.option(
    "--from-archive",
    is_flag=True,
    help="Install the record's own wheel or source archive instead of the PyPI release.",
)
@json_option("the result")
@registry_options()
@click.pass_context
def containerize_command(
    ctx: click.Context,
    /,
    ref: str,
    outdir: Path,
    container: str,
    no_build: bool,
    base: str,
    package: str | None,
    from_archive: bool,
    as_json: bool,
    **flags: object,
) -> None:
    """Write a container recipe for an entry's software, build it, and record its digest.

    From the entry's codemeta (name, softwareVersion, pip-style softwareRequirements) this
    writes OUTPUT/<name>/Dockerfile and apptainer.def, fills OUTPUT/<name>/wheels with `pip
    wheel` on this host (builds get no network), builds ossrflow/<name>:<version> and writes
    OUTPUT/<name>/image.json with its digest, which `ossrflow cwl` uses to pin the image.

    \b
    Examples:
      ossrflow containerize dir:workflows/registry/astropy-fitscheck
      ossrflow containerize 10.5281/zenodo.4687123 --package agnpy --container podman
      ossrflow containerize dir:workflows/registry/astropy-fitsheader --no-build --outdir /tmp/recipes
    """
    settings = settings_from(ctx, **flags)
    entry = ossrflow.get_entry(ref, settings)
    chosen = None if no_build else ossrflow.get_engine(container, ossrflow.detect_engines())
    recipe, folder, record = ossrflow.containerize_entry(
        entry,
        outdir,
        engine=chosen,
        pip=[sys.executable, "-m", "pip"],
        base=base,
        package=package,
        source="archive" if from_archive else "pypi",
        progress=lambda message: click.echo(message, err=True),
    )
    if as_json:
        echo_json({"folder": str(folder), "image": recipe.image, "record": _json(record)})
        return
    for name in ("Dockerfile", "apptainer.def", "requirements.txt"):
        click.echo(f"wrote {folder / name}")
    for skipped in recipe.skipped:
        click.echo(f"not installed (not pip-style): {skipped}")
    if record is not None:
        click.echo(f"built {record.image} {record.digest}")
        click.echo(f"wrote {folder / 'image.json'}")


def _json(record: ossrflow.ImageRecord | None) -> dict[str, object] | None:
    return None if record is None else record.to_json()

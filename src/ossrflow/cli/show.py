"""``ossrflow show``: one entry, pinned (record id, DOI, concept DOI, version, files, codemeta)."""

from __future__ import annotations

import click

import ossrflow
from ossrflow.cli.common import (
    echo_json,
    echo_table,
    json_option,
    registry_options,
    settings_from,
)

__all__ = ["show_command"]


def _summary_rows(entry: ossrflow.Entry) -> list[tuple[str, str]]:
    record, codemeta = entry.record, entry.codemeta
    rows = [
        ("record", " ".join(part for part in (record.id, record.url) if part)),
        ("version", record.version or "-"),
        ("DOI", record.doi or "-"),
        ("concept DOI", record.concept_doi or "-"),
        ("published", record.publication_date or "-"),
    ]
    if codemeta is not None:
        authors = ", ".join(person.name for person in codemeta.authors) or "-"
        rows += [("authors", authors), ("license", codemeta.license or "-")]
    rows.append(("codemeta", str(entry.codemeta_path) if entry.codemeta_path else "none"))
    rows.append(("registry", record.registry))
    return rows


def _echo_summary(entry: ossrflow.Entry) -> None:
    click.echo(entry.record.title)
    rows = _summary_rows(entry)
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        click.echo(f"  {label.ljust(width)}  {value}")
    click.echo("files:")
    files = [(f.key, f.size, f.checksum or "-") for f in entry.record.files]
    echo_table(["KEY", "SIZE", "CHECKSUM"], files, max_width=80)


@click.command("show")
@click.argument("ref")
@json_option("the entry")
@registry_options()
@click.pass_context
def show_command(ctx: click.Context, /, ref: str, as_json: bool, **flags: object) -> None:
    """Show one entry: its pinned version, files with checksums, and codemeta.

    REF is a record id, a DOI, a DOI URL, a record URL, a concept id or concept DOI (resolved
    to the latest version), dir:PATH/NAME, a folder, or a codemeta.json path. codemeta.json is
    downloaded, verified against the published md5 and cached; --offline answers from the cache.

    \b
    Examples:
      ossrflow show 10.5281/zenodo.4687123
      ossrflow show https://zenodo.org/records/4687123 --json
      ossrflow show dir:workflows/registry/astropy-fitsheader
    """
    settings = settings_from(ctx, **flags)
    entry = ossrflow.get_entry(ref, settings)
    if entry.codemeta is None:
        click.echo(f"warning: record {entry.record.id} has no codemeta.json", err=True)
    if as_json:
        codemeta = dict(entry.codemeta.raw) if entry.codemeta is not None else None
        echo_json({**entry.record.to_json(), "codemeta": codemeta})
        return
    _echo_summary(entry)

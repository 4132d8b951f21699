"""Registry: ``ossrflow search`` (records of the community) and ``ossrflow show`` (one entry)."""

from __future__ import annotations

import click

import ossrflow
from ossrflow.cli.common import echo_json, echo_table, registry_options, settings_from

__all__ = ["search_command", "show_command"]


@click.command("search")
@click.argument("query", required=False, default="")
@click.option(
    "-k",
    "--keyword",
    "keywords",
    multiple=True,
    metavar="K",
    help="Only records with this keyword (repeat: all must match).",
)
@click.option("--all-versions", is_flag=True, help="Every version, not only the latest of each.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@registry_options
@click.pass_context
def search_command(
    ctx: click.Context,
    /,
    query: str,
    keywords: tuple[str, ...],
    all_versions: bool,
    as_json: bool,
    **flags: object,
) -> None:
    """Search the community's software records (every page of hits).

    QUERY is Zenodo search text (free words, or fields such as title:"…"); each --keyword adds
    AND keywords:"K". Hits that cannot be used safely (e.g. an unsafe file name) are left out
    with a warning on stderr. The token, if any, is read from OSSRFLOW_TOKEN.

    \b
    Examples:
      ossrflow search gammapy
      ossrflow search --keyword CTA --all-versions --json
      ossrflow search --registry dir:workflows/registry
    """
    settings = settings_from(ctx, **flags)
    with ossrflow.open_registry(settings) as registry:
        results = registry.search_records(query, keywords=keywords, all_versions=all_versions)
    for refused in results.refused:
        click.echo(f"warning: left out: {refused}", err=True)
    if as_json:
        echo_json([record.to_json() for record in results.records])
        return
    if not results.records:
        click.echo("no records found", err=True)
        return
    rows = [(r.id, r.version or "-", r.doi or "-", r.title) for r in results.records]
    echo_table(["ID", "VERSION", "DOI", "TITLE"], rows)


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
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@registry_options
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

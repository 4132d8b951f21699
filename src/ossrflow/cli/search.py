"""``ossrflow search``: the records of a community (or a folder registry), every page."""

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

__all__ = ["search_command"]


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
@json_option("the records")
@registry_options(search=True)
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

"""``ossrflow publish``: an interface file and its CWL, published as a new version of a record."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import echo_json, echo_table, json_option, registry_options, settings_from

__all__ = ["publish_command"]


@click.command("publish")
@click.argument("ref")
@click.option(
    "--interface",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The interface file (a CWL CommandLineTool fragment) to publish with the entry.",
)
@click.option(
    "--sandbox", is_flag=True, help="Publish to sandbox.zenodo.org (its records and its token)."
)
@click.option("--dry-run", is_flag=True, help="Show the new version's files; publish nothing.")
@click.option(
    "--version", "new_version", metavar="TEXT", help="The new version's version [default: kept]."
)
@json_option("the plan (or the published record)")
@registry_options()
@click.pass_context
def publish_command(
    ctx: click.Context,
    /,
    ref: str,
    interface: Path,
    sandbox: bool,
    dry_run: bool,
    new_version: str | None,
    as_json: bool,
    **flags: object,
) -> None:
    """Publish an interface back to the OSSR: a new version of REF's record with it and its CWL.

    The new version is made from the latest version of REF's record (Zenodo's deposition API):
    every file is kept, and ossrflow-interface.yml (FILE) and the CWL `ossrflow cwl` generates
    from it are added next to codemeta.json (replaced when already there); then it is published.
    The token comes from OSSRFLOW_ZENODO_TOKEN only (scopes deposit:write and deposit:actions)
    and is sent in the Authorization header. --dry-run needs no token and shows the files.
    Exit 2 for a refused token, a record you do not own or a refused publication (the draft is
    deleted), 3 when Zenodo cannot be reached.

    \b
    Examples:
      ossrflow publish 10.5281/zenodo.4687123 --interface agnpy-interface.yml --dry-run
      ossrflow publish 393433 --interface crop.yml --sandbox  # token: OSSRFLOW_ZENODO_TOKEN
    """
    if sandbox:
        if flags.get("registry"):
            raise click.UsageError("--sandbox and --registry name two registries; give one")
        flags["registry"] = ossrflow.SANDBOX_API
    settings = settings_from(ctx, **flags)
    entry = ossrflow.get_entry(ref, settings)
    latest = ossrflow.latest_version(entry.record, settings)
    if latest.id != entry.record.id:
        click.echo(
            f"{ref} is version {entry.record.version}; the latest is record {latest.id}", err=True
        )
        entry = ossrflow.get_entry(latest.id, settings)
    generated = ossrflow.generate_entry_tool(entry, interface=interface, containers_dir=None)
    files = {
        ossrflow.INTERFACE_KEY: interface.read_bytes(),
        f"{generated.tool_id}.cwl": ossrflow.render_tool(generated).encode(),
    }
    plan = ossrflow.plan_new_version(entry.record, files, version=new_version)
    if dry_run:
        _show_plan(plan, as_json)
        return
    token = os.environ.get(ossrflow.TOKEN_ENV, "")
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    published = ossrflow.publish_new_version(plan, settings=settings, token=token, today=today)
    if as_json:
        echo_json(published.to_json())
        return
    click.echo(
        f"published record {published.record_id} (DOI {published.doi or '-'}): {published.url or '-'}"
    )
    echo_table(["file", "action"], plan.rows(), max_width=100)


def _show_plan(plan: ossrflow.VersionPlan, as_json: bool) -> None:
    record = plan.record
    if as_json:
        echo_json(
            {
                "record": record.id,
                "registry": record.registry,
                "version": plan.version or record.version,
                "files": [{"key": key, "action": action} for key, action in plan.rows()],
                "notes": list(plan.notes),
            }
        )
        return
    version = plan.version or record.version or "-"
    click.echo(
        f"new version of record {record.id} ({record.title}, version {version}) on {record.registry}"
    )
    echo_table(["file", "action"], plan.rows(), max_width=100)
    for note in plan.notes:
        click.echo(f"note: {note}")
    click.echo("dry run: nothing was published")

"""``ossrflow serve``: the GA4GH WES 1.1 service (and ``ossrflow serve token USER``)."""

from __future__ import annotations

from pathlib import Path

import click

import ossrflow
from ossrflow.cli.common import registry_options, settings_from

__all__ = ["serve_group"]


@click.group("serve", invoke_without_command=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8642,
    show_default=True,
    help="Port to listen on; 0 picks a free one.",
)
@click.option(
    "--runs-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/serve"),
    show_default=True,
    help="Folder of the runs (one subfolder each) and of the default SQLite database.",
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="SQLAlchemy database URL, e.g. postgresql+psycopg://USER:PASS@HOST/DB. "
    "[default: sqlite:///RUNS_DIR/ossrflow-serve.db]",
)
@click.option(
    "--tokens",
    "tokens_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="API tokens file: `USER sha256:HEX` lines (from `ossrflow serve token USER`).",
)
@click.option("--oidc-issuer", metavar="URL", help="Accept JWTs signed by this OIDC issuer.")
@click.option("--oidc-audience", metavar="AUD", help="...whose `aud` claim contains AUD.")
@click.option(
    "--data-root",
    "data_roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Shared folder whose files runs may name as file: inputs (repeatable).",
)
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="NAME=PATH",
    help="A facility runs may ask for: a Snakemake profile folder, or a builtin name alone "
    "(local, slurm, htcondor); repeatable, the first is the default. [default: local]",
)
@click.option(
    "--max-runs",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Runs going at once; more wait QUEUED.",
)
@click.option(
    "--allow-native",
    is_flag=True,
    help="Let steps without a container, and JavaScript expressions, run on this machine "
    "(a trusted, single-user deployment only).",
)
@registry_options()
@click.pass_context
def serve_group(
    ctx: click.Context,
    /,
    host: str,
    port: int,
    runs_dir: Path,
    db_url: str | None,
    tokens_file: Path | None,
    oidc_issuer: str | None,
    oidc_audience: str | None,
    data_roots: tuple[Path, ...],
    profiles: tuple[str, ...],
    max_runs: int,
    allow_native: bool,
    **flags: object,
) -> None:
    """Serve GA4GH WES 1.1: platforms submit, watch, cancel and fetch runs over HTTP.

    Runs go through the same path as `ossrflow run`, on the facilities given with --profile;
    each runs in a worker process of its own, every step in a container (docs/service.md: the
    trust model). Requests need `Authorization: Bearer TOKEN`: an API token (--tokens) or an
    OIDC JWT (--oidc-issuer). State lives in --db; the same --runs-dir and --db after a restart
    is the same service. A web page at / shows each user's runs. Prints
    `listening on http://HOST:PORT` on stderr once ready; stop with Ctrl-C (runs go on and are
    found again by the next start).

    \b
    Examples:
      ossrflow serve token alice > alice.token 2>> tokens.txt
      ossrflow serve --tokens tokens.txt --port 8642 --profile local --profile slurm=profiles/slurm
      ossrflow serve --oidc-issuer https://iam.example.org/ --oidc-audience ossrflow \\
          --db postgresql+psycopg://ossrflow:secret@db.example.org/ossrflow --data-root /shared
    """
    if ctx.invoked_subcommand is not None:
        return
    from ossrflow.serve.config import ServeConfig, default_db_url, parse_profiles
    from ossrflow.serve.server import Server

    if tokens_file is None and oidc_issuer is None:
        raise ossrflow.InputError(
            "no way to authenticate users",
            source="ossrflow serve",
            hint="give --tokens FILE (lines from `ossrflow serve token USER`) or --oidc-issuer URL",
        )
    settings = settings_from(ctx, **flags)
    config = ServeConfig(
        host=host,
        port=port,
        runs_dir=runs_dir,
        db_url=db_url or default_db_url(runs_dir),
        tokens_file=tokens_file,
        oidc_issuer=oidc_issuer,
        oidc_audience=oidc_audience,
        data_roots=data_roots,
        profiles=parse_profiles(profiles),
        max_runs=max_runs,
        allow_native=allow_native,
        settings=settings,
    )
    server = Server(config, on_ready=lambda url: click.echo(f"listening on {url}", err=True))
    server.run()


@serve_group.command("token")
@click.argument("user")
def token_command(user: str) -> None:
    """Make an API token for USER: the token on stdout, its tokens-file line on stderr.

    Give the token to the user; add the line (`USER sha256:HEX`) to the file passed as
    --tokens. The service keeps only the hash; it reads the file again when it changes.

    \b
    Examples:
      ossrflow serve token alice
      ossrflow serve token alice > alice.token 2>> tokens.txt
    """
    from ossrflow.serve.auth import new_token, token_line

    token = new_token()
    line = token_line(user, token)
    click.echo(token)
    click.echo(line, err=True)

"""The ``ossrflow`` command: a thin click layer over the typed API, and the one error boundary.

Commands are listed in :data:`SECTIONS` (data-flow order) and imported only when used, so that
``ossrflow --help`` does not import snakemake or cwltool. Each command module holds argument
plumbing, one API call and presentation; nothing else.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

import click

from ossrflow._version import __version__
from ossrflow.cli.common import AppContext
from ossrflow.config import EnvVars
from ossrflow.errors import OssrflowError

__all__ = ["SECTIONS", "cli", "main"]

# (section title, [(command name, "module:attribute"), ...]) in data-flow order.
SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Registry",
        [
            ("search", "ossrflow.cli.search:search_command"),
            ("show", "ossrflow.cli.show:show_command"),
        ],
    ),
    (
        "Tools",
        [
            ("cwl", "ossrflow.cli.cwl:cwl_command"),
            ("interface", "ossrflow.cli.interface:interface_group"),
            ("match", "ossrflow.cli.match:match_command"),
            ("containerize", "ossrflow.cli.containerize:containerize_command"),
        ],
    ),
    ("Data", [("stage", "ossrflow.cli.stage:stage_command")]),
    (
        "Workflows",
        [
            ("compose", "ossrflow.cli.compose:compose_command"),
            ("lock", "ossrflow.cli.lock:lock_command"),
            ("run", "ossrflow.cli.run:run_command"),
            ("rerun", "ossrflow.cli.rerun:rerun_command"),
            ("diff", "ossrflow.cli.diff:diff_command"),
        ],
    ),
]

EXIT_CODES = """\b
Exit codes:
  0  success
  1  the workflow ran and a step failed
  2  bad input (file, reference, value or flag); the message names file, field and fix
  3  a registry, scheduler or data service is unreachable
  4  a rerun's outputs differ from its record
  33 (ossrflow-cwl-runner) a CWL feature ossrflow does not support"""


class SectionedGroup(click.Group):
    """A group whose commands are imported lazily and listed by section in ``--help``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for _, commands in SECTIONS for name, _ in commands]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for _, commands in SECTIONS:
            for name, target in commands:
                if name == cmd_name:
                    module_name, _, attribute = target.partition(":")
                    command = getattr(importlib.import_module(module_name), attribute)
                    if not isinstance(command, click.Command):
                        raise TypeError(f"{target} is not a click command")
                    return command
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        for title, commands in SECTIONS:
            rows = []
            for name, _ in commands:
                command = self.get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(limit=formatter.width - 20)))
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


@click.group(
    cls=SectionedGroup,
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
        "terminal_width": 100,
    },
    epilog=EXIT_CODES,
)
@click.version_option(__version__, "-V", "--version", prog_name="ossrflow")
@click.option("-v", "--verbose", count=True, help="More detail on stderr (repeat for debug logs).")
@click.option("-q", "--quiet", count=True, help="Only errors on stderr.")
@click.option(
    "--debug",
    is_flag=True,
    envvar=EnvVars.DEBUG,
    help=f"Show tracebacks for errors. [env var: {EnvVars.DEBUG}]",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    envvar=EnvVars.CONFIG,
    help=f"Settings file (TOML). [env var: {EnvVars.CONFIG}; default: ~/.config/ossrflow/config.toml]",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int, debug: bool, config_path: str | None) -> None:
    """Find OSSR software, turn it into CWL, stage data and run workflows through Snakemake.

    Settings come from flags, then environment variables, then the config file, then defaults.

    \b
    Examples:
      ossrflow search gammapy
      ossrflow show 10.5281/zenodo.4687123 --json
      ossrflow show dir:workflows/registry/astropy-fitsheader
    """
    level = logging.WARNING + 10 * (quiet - verbose)
    logging.basicConfig(level=max(logging.DEBUG, level), format="%(levelname)s: %(message)s")
    ctx.obj = AppContext(verbosity=verbose - quiet, debug=debug, config_path=config_path)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI; the single place where ossrflow errors become one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get(EnvVars.DEBUG, "") not in ("", "0", "false")
    try:
        result = cli.main(args=args, prog_name="ossrflow", standalone_mode=False)
    except OssrflowError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(result if isinstance(result, int) else 0)

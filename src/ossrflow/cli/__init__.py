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
from ossrflow.processes import exit_now

__all__ = [
    "LIBRARY_LOGGERS",
    "SECTIONS",
    "cli",
    "configure_logging",
    "main",
    "route_library_logs",
    "usage_error",
]

# (section title, [(command name, "module:attribute"), ...]) in data-flow order.
SECTIONS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Registry",
        [
            ("search", "ossrflow.cli.search:search_command"),
            ("show", "ossrflow.cli.show:show_command"),
            ("publish", "ossrflow.cli.publish:publish_command"),
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
    ("Service", [("serve", "ossrflow.cli.serve:serve_group")]),
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
    configure_logging(max(logging.DEBUG, logging.WARNING + 10 * (quiet - verbose)))
    ctx.obj = AppContext(verbosity=verbose - quiet, debug=debug, config_path=config_path)


# Loggers of the libraries ossrflow drives in-process; their records obey -q/-v like ossrflow's.
LIBRARY_LOGGERS = ("cwltool", "salad", "schema_salad", "cwl_utils", "rdflib", "snakemake")


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Log lines on the current ``sys.stderr`` (which tests swap), as ``warning: message``."""

    def emit(self, record: logging.LogRecord) -> None:
        self.setStream(sys.stderr)
        super().emit(record)

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{record.levelname.lower()}: {record.getMessage()}".split("\n"))


def configure_logging(level: int) -> None:
    """ossrflow's own log lines and the libraries' at ``level`` and above, one line each."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(old)
    handler = _Stderr()
    handler.setLevel(level)
    root.addHandler(handler)
    root.setLevel(level)
    route_library_logs(level)


class _ThroughRoot(logging.Filter):
    """Hands a library's records at or above ``level`` to the root handlers, once, and drops
    them from the library's own handlers (cwltool adds one, and resets its level, on import)."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= self.level:
            for handler in logging.getLogger().handlers:
                if record.levelno >= handler.level:
                    handler.handle(record)
        return False


def route_library_logs(level: int) -> None:
    """Send cwltool's, schema-salad's, rdflib's and Snakemake's loggers through ``-q``/``-v``.

    A logger-level filter outlives what the libraries do to their loggers when imported later
    (handlers added, levels set), and costs no import now.
    """
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, _ThroughRoot)]:
            logger.removeFilter(old)
        logger.addFilter(_ThroughRoot(level))


def usage_error(exc: click.ClickException) -> OssrflowError:
    """A click usage error as ossrflow's one line: the command, the problem and the fix."""
    ctx = exc.ctx if isinstance(exc, click.UsageError) else None
    command = ctx.command_path if ctx is not None else "ossrflow"
    problem = " ".join(exc.format_message().split()).rstrip(".")
    if isinstance(exc, click.exceptions.NoSuchOption):
        hint = f"`{command} --help` lists its options"
    elif ctx is not None and isinstance(ctx.command, click.Group) and "No such command" in problem:
        hint = f"`{command} --help` lists the commands"
    else:
        hint = f"see `{command} --help`"
    return OssrflowError(problem, source=command, hint=hint)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Run the CLI; the single place where ossrflow errors become one line and an exit code.

    Called as the ``ossrflow`` program (``argv`` None), it ends the process at once after the
    exit handlers ran and the streams are flushed, without tearing down every object (a run
    holds cwltool's schemas: a quarter of a second); called with ``argv`` it raises SystemExit.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    code = _run(args)
    if argv is None:
        exit_now(code)
    sys.exit(code)


def _run(args: list[str]) -> int:
    debug = "--debug" in args or os.environ.get(EnvVars.DEBUG, "") not in ("", "0", "false")
    try:
        result = cli.main(args=args, prog_name="ossrflow", standalone_mode=False)
    except OssrflowError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {usage_error(exc)}", err=True)
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return 130
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        click.echo(str(exc.code), err=True)
        return 1
    return result if isinstance(result, int) else 0

"""What every command shares: the context object, settings resolution and output helpers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from ossrflow.config import EnvVars, Settings, resolve_settings

__all__ = [
    "AppContext",
    "echo_json",
    "echo_table",
    "registry_options",
    "settings_from",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class AppContext:
    """Global flags, set once by the top-level group."""

    verbosity: int = 0
    debug: bool = False
    config_path: str | None = None


def settings_from(ctx: click.Context, **flags: object | None) -> Settings:
    """Resolve settings once: these flags > environment > config file > defaults."""
    app = ctx.find_object(AppContext) or AppContext()
    config_path = Path(app.config_path) if app.config_path else None
    return resolve_settings(flags, os.environ, config_path)


def registry_options(func: F) -> F:
    """``--registry``, ``--community``, ``--offline`` and ``--cache-dir``, shared by registry users."""
    options = [
        click.option(
            "--registry",
            metavar="URL|dir:PATH",
            help="Zenodo API base URL or a folder registry (dir:PATH). "
            f"[env var: {EnvVars.REGISTRY}; default: https://zenodo.org/api]",
        ),
        click.option(
            "--community",
            metavar="NAME",
            help=f"Zenodo community to search. [env var: {EnvVars.COMMUNITY}; default: escape2020]",
        ),
        click.option(
            "--offline",
            is_flag=True,
            default=None,
            help=f"Use only records and files already in the cache. [env var: {EnvVars.OFFLINE}]",
        ),
        click.option(
            "--cache-dir",
            type=click.Path(file_okay=False, path_type=Path),
            help=f"Cache folder. [env var: {EnvVars.CACHE_DIR}; default: ~/.cache/ossrflow]",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def echo_json(value: object) -> None:
    """Print ``value`` as indented, key-sorted JSON on stdout."""
    click.echo(json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


def echo_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], max_width: int = 60
) -> None:
    """Print a plain aligned table; cells are single-line and cut to ``max_width``."""

    def cell(value: object) -> str:
        text = " ".join(str("" if value is None else value).split())
        return text if len(text) <= max_width else text[: max_width - 1] + "…"

    table = [[cell(h) for h in headers], *[[cell(v) for v in row] for row in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    for row in table:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())

"""What every command shares: the context object, settings, shared options and output helpers.

One word per meaning, in every command:

- ``-o/--output FILE``  the one file a command writes its result to (stdout without it)
- ``--outdir DIR``      a folder that receives several files (a composed workflow, recipes,
                        a run's output files)
- ``--run-dir DIR``     a run folder (Snakefile, step folders, logs, the crate)
- ``--container NAME``  the container engine (docker, podman, apptainer, none)
- ``--json``            print the result as JSON on stdout instead of a table
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from ossrflow.config import DEFAULT_REGISTRY, EnvVars, Settings, resolve_settings

if TYPE_CHECKING:
    from ossrflow import Progress
    from ossrflow.transfer import Progress as TransferProgress

__all__ = [
    "AppContext",
    "ProgressLine",
    "app_context",
    "echo_json",
    "echo_table",
    "job_progress",
    "jobs_option",
    "json_option",
    "profile_option",
    "registry_given",
    "registry_options",
    "settings_from",
    "transfer_progress",
]

F = TypeVar("F", bound=Callable[..., Any])
LARGE = 8 << 20  # bytes: smaller downloads get no progress line


@dataclass(frozen=True)
class AppContext:
    """Global flags, set once by the top-level group."""

    verbosity: int = 0
    debug: bool = False
    config_path: str | None = None


def app_context(ctx: click.Context) -> AppContext:
    """The global flags (defaults when a command runs without the group, as in tests)."""
    return ctx.find_object(AppContext) or AppContext()


def settings_from(ctx: click.Context, **flags: object | None) -> Settings:
    """Resolve settings once: these flags > environment > config file > defaults."""
    app = app_context(ctx)
    config_path = Path(app.config_path) if app.config_path else None
    return resolve_settings(flags, os.environ, config_path)


def registry_given(settings: Settings, flags: Mapping[str, object | None]) -> bool:
    """True when the user chose the registry (flag, environment or config file), so that a
    lock's recorded registry must not replace it."""
    return flags.get("registry") is not None or settings.registry != DEFAULT_REGISTRY


def registry_options(*, search: bool = False) -> Callable[[F], F]:
    """``--registry``, ``--offline``, ``--cache-dir`` (and ``--community`` where a command searches)."""
    options = [
        click.option(
            "--registry",
            metavar="URL|dir:PATH",
            help="Zenodo API base URL or a folder registry (dir:PATH). "
            f"[env var: {EnvVars.REGISTRY}; default: https://zenodo.org/api]",
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
    if search:
        options.insert(
            1,
            click.option(
                "--community",
                metavar="NAME",
                help="Zenodo community to search. "
                f"[env var: {EnvVars.COMMUNITY}; default: escape2020]",
            ),
        )

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def json_option(what: str) -> Callable[[F], F]:
    """``--json``: print ``what`` as JSON on stdout."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON.")


def profile_option(default: str) -> Callable[[F], F]:
    """``--profile``, backed by ``OSSRFLOW_PROFILE`` (resolved with the other settings)."""
    return click.option(
        "--profile",
        metavar="local|slurm|htcondor|PATH",
        help=f"Snakemake profile (a name or a profile folder). "
        f"[env var: {EnvVars.PROFILE}; default: {default}]",
    )


def jobs_option(func: F) -> F:
    """``--jobs N`` (N >= 1): jobs at a time; local cores."""
    return click.option(
        "--jobs", type=click.IntRange(min=1), help="Jobs at a time (local: cores)."
    )(func)


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


def job_progress(ctx: click.Context) -> Callable[[Progress], None] | None:
    """Jobs done, running and pending, on stderr, once per change (nothing with ``-q``)."""
    if app_context(ctx).verbosity < 0:
        return None
    shown: set[tuple[int, int, int]] = set()

    def show(progress: Progress) -> None:
        key = (progress.done, progress.running, progress.total)
        if progress.total and key not in shown:
            shown.add(key)
            click.echo(
                f"[ossrflow] {progress.done}/{progress.total} jobs done, "
                f"{progress.running} running, {progress.pending} pending",
                err=True,
            )

    return show


class ProgressLine:
    """One self-overwriting line per large download on ``stream``, at most 5 updates a second."""

    def __init__(self, stream: TextIO, threshold: int = LARGE) -> None:
        self.stream = stream
        self.threshold = threshold
        self.last = 0.0

    def __call__(self, progress: TransferProgress) -> None:
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


def transfer_progress(ctx: click.Context) -> ProgressLine | None:
    """Download progress on stderr when it is a terminal (nothing with ``-q``)."""
    stream = sys.stderr
    return ProgressLine(stream) if app_context(ctx).verbosity >= 0 and stream.isatty() else None


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")

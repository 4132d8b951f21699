"""Run ``ossrflow ARGS`` in-process through ``main()``, the error boundary, as a user runs it."""

from __future__ import annotations

from dataclasses import dataclass

from click.testing import CliRunner

from ossrflow.cli import main


@dataclass
class Run:
    code: int | str | None
    stdout: str
    stderr: str


def run(*args: str) -> Run:
    """Exit code, stdout and stderr of ``ossrflow ARGS`` (stderr kept apart)."""
    runner = CliRunner()
    code: int | str | None = None
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    return Run(code, out.getvalue().decode(), err.getvalue().decode())

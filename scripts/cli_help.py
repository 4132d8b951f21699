"""Render `--help` of every ossrflow command into one text file, or check it has not drifted.

python scripts/cli_help.py --write docs/cli.txt   # regenerate after changing a command
python scripts/cli_help.py --check docs/cli.txt   # run by `make check`
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from ossrflow.cli import cli


def _commands(group: click.Group, ctx: click.Context, prefix: list[str]) -> list[list[str]]:
    found: list[list[str]] = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        path = [*prefix, name]
        found.append(path)
        if isinstance(command, click.Group):
            found.extend(_commands(command, click.Context(command, info_name=name), path))
    return found


def render() -> str:
    runner = CliRunner()
    paths = [[], *_commands(cli, click.Context(cli, info_name="ossrflow"), [])]
    sections = []
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"], prog_name="ossrflow", terminal_width=100)
        if result.exit_code != 0:
            raise SystemExit(f"`ossrflow {' '.join(path)} --help` failed:\n{result.output}")
        title = " ".join(["ossrflow", *path, "--help"])
        sections.append(f"$ {title}\n{result.output}")
    return "\n".join(sections)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", type=Path)
    mode.add_argument("--check", type=Path)
    args = parser.parse_args()
    text = render()
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        return 0
    current = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
    if current != text:
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), str(args.check), "ossrflow --help", lineterm=""
        )
        print("\n".join(diff), file=sys.stderr)
        print(f"{args.check} is out of date: run `make cli-docs` and commit it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

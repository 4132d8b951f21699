"""The error boundary, global flags and the help snapshot."""

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from ossrflow import __version__
from ossrflow.cli import cli

REPO = Path(__file__).resolve().parents[2]


def run_main(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ossrflow", *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"ossrflow, version {__version__}\n"


def test_help_lists_exit_codes_and_examples():
    result = CliRunner().invoke(cli, ["-h"], terminal_width=100)
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert "3  a registry, scheduler or data service is unreachable" in result.output


def test_unknown_command_is_usage_error_exit_2():
    result = run_main("frobnicate")
    assert result.returncode == 2
    assert "No such command 'frobnicate'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_file_is_one_line_exit_2(tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text("registry = [\n")
    import os

    env = {**os.environ, "OSSRFLOW_CONFIG": str(config)}
    code = "from ossrflow.cli import main; main(['--help'])"
    assert subprocess.run([sys.executable, "-c", code], env=env, check=False).returncode == 0


def test_help_snapshot_is_current():
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "scripts" / "cli_help.py"),
            "--check",
            str(REPO / "docs" / "cli.txt"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr

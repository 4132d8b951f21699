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


# --- one error format: click's usage errors --------------------------------------------------


def test_usage_errors_are_one_line_with_the_fix(tmp_path: Path):
    from tests.support.cli import run

    cases = {
        ("frobnicate",): "error: ossrflow: No such command 'frobnicate' "
        "(fix: `ossrflow --help` lists the commands)\n",
        (
            "show",
        ): "error: ossrflow show: Missing argument 'REF' (fix: see `ossrflow show --help`)\n",
        ("show", "--bogus", "x"): "error: ossrflow show: No such option '--bogus' "
        "(fix: `ossrflow show --help` lists its options)\n",
        ("run", str(tmp_path / "none.yml")): "error: ossrflow run: Invalid value for "
        f"'DEFINITION.yml|WORKFLOW.cwl': File '{tmp_path / 'none.yml'}' does not exist "
        "(fix: see `ossrflow run --help`)\n",
    }
    for args, line in cases.items():
        result = run(*args)
        assert (result.code, result.stdout, result.stderr) == (2, "", line), args


def test_no_command_prints_the_help():
    result = run_main()
    assert result.returncode == 2
    assert "Usage: ossrflow [OPTIONS] COMMAND [ARGS]..." in result.stderr + result.stdout
    assert "error:" not in result.stderr


# --- -q / -v reach the libraries' loggers -----------------------------------------------------

LOG_SCRIPT = """\
import logging, sys
import click
from ossrflow.cli import SECTIONS, cli

@click.command("speak")
def speak():
    import cwltool.loghandler  # imported after the flags: adds its own handler, sets INFO
    for name in ("cwltool", "salad", "rdflib.term", "snakemake"):
        logging.getLogger(name).info("%s info", name)
        logging.getLogger(name).warning("%s warning", name)
        logging.getLogger(name).error("%s error", name)

SECTIONS.append(("Test", [("speak", "__main__:speak")]))
cli.main(args=sys.argv[1:], prog_name="ossrflow", standalone_mode=False)
"""


def test_quiet_and_verbose_reach_cwltool_salad_rdflib_and_snakemake(tmp_path: Path):
    script = tmp_path / "speak.py"
    script.write_text(LOG_SCRIPT)

    def stderr(*flags: str) -> list[str]:
        done = subprocess.run(
            [sys.executable, str(script), *flags, "speak"], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stderr.splitlines()

    names = ("cwltool", "salad", "rdflib.term", "snakemake")
    assert stderr("-q") == [f"error: {n} error" for n in names]
    assert stderr() == [
        line for n in names for line in (f"warning: {n} warning", f"error: {n} error")
    ]
    assert stderr("-v") == [
        line
        for n in names
        for line in (f"info: {n} info", f"warning: {n} warning", f"error: {n} error")
    ]

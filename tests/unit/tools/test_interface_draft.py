"""Draft interface files from real argparse and click programs' --help."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ossrflow.cwl.offline import offline_fetcher
from ossrflow.errors import InputError, NotFound, UnsafeValue
from ossrflow.registry.codemeta import Codemeta, parse_codemeta
from ossrflow.tools.cwlgen import generate_tool, write_tool
from ossrflow.tools.interface_draft import (
    HelpArgument,
    HelpOption,
    draft_command,
    draft_interface,
    parse_help,
    query_help,
    render_interface_draft,
    write_interface_draft,
)
from tests.conftest import DATA

PROGRAMS = DATA / "helpdraft"

# Recorded verbatim from tests/data/helpdraft/click_tool.py --help (click 8.x).
CLICK_HELP = """\
Usage: click_tool.py [OPTIONS] EVENTS OUTDIR

  Bin the EVENTS list into histograms written to OUTDIR.

Options:
  -n, --bins INTEGER            Number of bins.  [default: 10]
  --emin FLOAT                  Minimum energy in TeV.  [required]
  --name TEXT                   Run name.
  --overwrite / --no-overwrite  Replace existing output.
  --dry-run                     Only show what would be done.
  --kind [hist|kde]             Estimator.
  --mask PATH                   Mask file.
  --help                        Show this message and exit.
"""


def _program(tmp_path: Path, name: str) -> Path:
    """A copy of a test program whose shebang is the running interpreter (which has click)."""
    source = (PROGRAMS / name).read_text(encoding="utf-8").split("\n", 1)[1]
    path = tmp_path / name
    path.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
    path.chmod(0o755)
    return path


def _codemeta(**fields: object) -> Codemeta:
    return parse_codemeta({"name": "demo", **fields}, source="codemeta.json")


def test_parse_recorded_click_help() -> None:
    parsed = parse_help(CLICK_HELP)
    assert parsed.arguments == (HelpArgument("EVENTS"), HelpArgument("OUTDIR"))
    assert parsed.description == "Bin the EVENTS list into histograms written to OUTDIR."
    assert parsed.options == (
        HelpOption(("-n", "--bins"), "INTEGER", "Number of bins. [default: 10]"),
        HelpOption(("--emin",), "FLOAT", "Minimum energy in TeV. [required]", required=True),
        HelpOption(("--name",), "TEXT", "Run name."),
        HelpOption(("--overwrite",), None, "Replace existing output."),
        HelpOption(("--dry-run",), None, "Only show what would be done."),
        HelpOption(("--kind",), "[hist|kde]", "Estimator."),
        HelpOption(("--mask",), "PATH", "Mask file."),
    )


def test_argparse_program_draft(tmp_path: Path) -> None:
    program = _program(tmp_path, "argparse_tool.py")
    text = draft_interface(None, command=str(program))
    assert text.startswith("# DRAFT: review before use.\n")
    draft = YAML(typ="safe").load(text)
    assert draft["baseCommand"] == [str(program)]
    assert draft["inputs"]["input_file"] == {"type": "File[]", "inputBinding": {"position": 1}}
    assert draft["inputs"]["label"] == {"type": "string", "inputBinding": {"position": 2}}
    assert draft["inputs"]["hdu"]["type"] == "int?"
    assert draft["inputs"]["verbose"] == {
        "type": "boolean?",
        "inputBinding": {"prefix": "--verbose"},
        "doc": "say more",
    }
    assert draft["inputs"]["mode"]["type"] == [
        "null",
        {"type": "enum", "symbols": ["fast", "full"]},
    ]
    assert draft["inputs"]["config_dir"]["type"] == "Directory?"
    assert draft["outputs"] == {
        "output_out": {"type": "File", "outputBinding": {"glob": "$(inputs.output)"}}
    }


def test_click_program_draft_becomes_a_valid_tool_that_runs(tmp_path: Path) -> None:
    program = _program(tmp_path, "click_tool.py")
    draft = tmp_path / "ossrflow-interface.yml"
    write_interface_draft(draft_interface(None, command=str(program)), draft)
    document = YAML(typ="safe").load(draft.read_text(encoding="utf-8"))
    assert document["inputs"]["emin"]["type"] == "float"
    assert document["inputs"]["events"]["type"] == "File"
    assert document["outputs"] == {
        "outdir_out": {"type": "Directory", "outputBinding": {"glob": "$(inputs.outdir)"}}
    }
    tool = write_tool(generate_tool(_codemeta(), interface=draft), tmp_path / "tool.cwl")
    events = tmp_path / "events.txt"
    events.write_text("0.5 1.5 2.5 3.5\n", encoding="utf-8")
    code, err = _run_cwltool(
        tool, tmp_path, "--events", str(events), "--outdir", "hist", "--emin", "2"
    )
    assert code == 0, err
    assert (tmp_path / "out/hist/summary.txt").read_text() == "2 events >= 2.0 in 10 bins\n"


def _run_cwltool(tool: Path, tmp: Path, *job: str) -> tuple[int, str]:
    """cwltool's main(), in-process and offline."""
    from cwltool.context import LoadingContext
    from cwltool.main import main

    out, err = io.StringIO(), io.StringIO()
    context = LoadingContext({"fetcher_constructor": offline_fetcher()})
    args = ["--outdir", str(tmp / "out"), "--tmpdir-prefix", f"{tmp}/t-", str(tool), *job]
    return main(args, loadingContext=context, stdout=out, stderr=err), err.getvalue()


def test_command_comes_from_codemeta_executable_name() -> None:
    codemeta = _codemeta(
        targetProduct={"@type": "CommandLineApplication", "executableName": "pyhf"}
    )
    assert draft_command(codemeta, None) == "pyhf"
    assert draft_command(codemeta, "other") == "other"


@pytest.mark.parametrize(
    ("fields", "error", "line"),
    [
        (
            {},
            InputError,
            "codemeta.json: codemeta names no command (no targetProduct executableName) "
            "(fix: name the installed program with --command NAME)",
        ),
        (
            {"targetProduct": {"@type": "CommandLineApplication", "executableName": "../x"}},
            UnsafeValue,
            "codemeta.json:targetProduct.executableName: executableName '../x' is not a plain "
            "command name (fix: name the installed program with --command NAME)",
        ),
    ],
)
def test_no_or_unsafe_command(fields: dict[str, object], error: type, line: str) -> None:
    with pytest.raises(error) as info:
        draft_command(_codemeta(**fields), None)
    assert str(info.value) == line


def test_missing_program_is_not_found(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-program")
    with pytest.raises(NotFound) as info:
        query_help(missing)
    assert str(info.value) == (
        f"{missing}: command {missing!r} is not installed or not on PATH "
        "(fix: install the entry, or pass --command PATH)"
    )


def test_hanging_program_times_out(tmp_path: Path) -> None:
    program = tmp_path / "sleeper"
    program.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(30)\n", encoding="utf-8")
    program.chmod(0o755)
    with pytest.raises(InputError) as info:
        query_help(str(program), timeout=0.5)
    assert str(info.value) == (
        f"{program}: `{program} --help` did not finish within 0.5 s "
        "(fix: check the program, or raise --timeout)"
    )


def test_program_without_usage_is_refused(tmp_path: Path) -> None:
    program = tmp_path / "mute"
    program.write_text(f"#!{sys.executable}\nprint('hello')\n", encoding="utf-8")
    program.chmod(0o755)
    with pytest.raises(InputError) as info:
        query_help(str(program))
    assert str(info.value) == (
        f"{program}: `{program} --help` printed no usage line (exit 0) "
        "(fix: write the interface file by hand (docs/cwlgen.md))"
    )


# --- GNU programs (recorded help: tests/data/helpdraft/*.help.txt) ------------------------------


@pytest.mark.parametrize(
    ("program", "description"),
    [
        ("sha256sum", "Print or check SHA256 (256-bit) checksums."),
        ("gzip", "Compress or uncompress FILEs (by default, compress FILES in-place)."),
        ("sort", "Write sorted concatenation of all FILE(s) to standard output."),
    ],
)
def test_gnu_help_gives_the_file_positional_and_its_own_description(
    program: str, description: str
) -> None:
    """Issue 14: `[FILE]...` was missed and doc: took option text ("Mandatory arguments …")."""
    parsed = parse_help((PROGRAMS / f"{program}.help.txt").read_text(encoding="utf-8"))
    assert parsed.arguments == (HelpArgument("FILE", repeated=True, optional=True),)
    assert parsed.description == description


def test_gnu_draft_has_no_input_named_stdout_and_is_a_valid_tool(tmp_path: Path) -> None:
    text = render_interface_draft(
        parse_help((PROGRAMS / "gzip.help.txt").read_text(encoding="utf-8")), "gzip"
    )
    draft = YAML(typ="safe").load(text)
    assert draft["inputs"]["file"] == {"type": "File[]?", "inputBinding": {"position": 1}}
    assert draft["inputs"]["to_stdout"] == {
        "type": "boolean?",
        "inputBinding": {"prefix": "--stdout"},
        "doc": "write on standard output, keep original files unchanged",
    }
    assert "stdout" not in draft["inputs"]
    assert draft["inputs"]["suffix"]["type"] == "string?"
    assert draft["inputs"]["synchronous"]["doc"] == (
        "synchronous output (safer if system crashes, but slower)"
    )
    assert draft["outputs"] == {"stdout": {"type": "stdout"}}
    path = tmp_path / "ossrflow-interface.yml"
    write_interface_draft(text, path)
    generate_tool(_codemeta(), interface=path)  # validates with cwltool

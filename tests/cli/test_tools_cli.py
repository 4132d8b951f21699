"""`ossrflow cwl` and `ossrflow interface draft`: whole outputs, exact error lines, exit codes.

Commands run through `main()` (the error boundary) inside CliRunner's isolation, so stdout,
stderr and the exit code are exactly what a user sees.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import DATA, FIXTURES
from tests.support.cli import run
from tests.support.zenodo import FakeFile, FakeRecord, ZenodoApp, codemeta_bytes

CWLGEN = DATA / "cwlgen"
ENTRIES = CWLGEN / "entries"
EXPECTED = CWLGEN / "expected"


def expected(name: str) -> str:
    return (EXPECTED / f"{name}.cwl").read_text(encoding="utf-8")


def test_folder_with_codemeta_and_cwl_prints_an_annotated_tool() -> None:
    """Done when: a real codemeta.json and a .cwl -> a valid tool with authors, license, DOI."""
    result = run("cwl", str(ENTRIES / "gammapy-info"))
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == expected("gammapy-info")
    document = YAML(typ="safe").load(result.stdout)
    assert document["s:author"][1] == {
        "s:name": "Fabio Acero",
        "s:identifier": "https://orcid.org/0000-0002-6606-2816",
    }
    assert document["s:license"] == "https://spdx.org/licenses/BSD-3-Clause"
    assert document["s:citation"] == "https://doi.org/10.5281/zenodo.4701488"


@pytest.mark.parametrize(
    ("args", "golden"),
    [
        (["dir:{entries}/water-bodies", "--tool", "crop"], "water-bodies-crop"),
        (["{entries}/linecount"], "linecount"),
        (["{entries}/linecount/codemeta.json"], "linecount"),
        (["{entries}/pyhf", "--interface", "{cwlgen}/interfaces/pyhf-cls.yml"], "pyhf-cls"),
    ],
)
def test_entries_convert(args: list[str], golden: str) -> None:
    args = [a.format(entries=ENTRIES, cwlgen=CWLGEN) for a in args]
    result = run("cwl", *args)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == expected(golden)


def test_output_file_is_written(tmp_path: Path) -> None:
    out = tmp_path / "tools" / "linecount.cwl"
    result = run("cwl", str(ENTRIES / "linecount"), "-o", str(out))
    assert (result.code, result.stdout, result.stderr) == (0, "", f"wrote {out}\n")
    assert out.read_text(encoding="utf-8") == expected("linecount")


def _entry(tmp_path: Path, codemeta: bytes, **files: str) -> Path:
    folder = tmp_path / "registry" / "entry"
    folder.mkdir(parents=True)
    (folder / "codemeta.json").write_bytes(codemeta)
    for name, text in files.items():
        (folder / name.replace("_", "-")).write_text(text, encoding="utf-8")
    return folder


LINECOUNT_INTERFACE = (ENTRIES / "linecount/ossrflow-interface.yml").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("codemeta", "files", "line"),
    [
        (
            (FIXTURES / "codemeta/KM3NeT__KM3-230213A-data.json").read_bytes(),
            {},
            "{entry}/codemeta.json:13:164: invalid JSON: Expecting ',' delimiter (fix: fix the "
            "JSON syntax (a validator such as `python -m json.tool` shows where))",
        ),
        (
            b'{"name": "x", "author": [{"givenName": 3}]}',
            {"ossrflow_interface.yml": LINECOUNT_INTERFACE},
            "{entry}/codemeta.json:author[0].givenName: expected a string, got int "
            "(fix: write author[0].givenName as a string)",
        ),
        (
            b'{"description": "no name"}',
            {"ossrflow_interface.yml": LINECOUNT_INTERFACE},
            '{entry}/codemeta.json:name: missing or empty name (fix: add "name": "<software>")',
        ),
        (
            json.dumps({"name": "two\nlines"}).encode(),
            {"ossrflow_interface.yml": LINECOUNT_INTERFACE},
            "{entry}/codemeta.json:name: name: contains the control character '\\n' "
            "(fix: write the name as plain text on one line)",
        ),
        (
            b'{"name": "x"}',
            {"ossrflow_interface.yml": "baseCommand: [wc]\ninputs: {}\noutputs: {}\nrun: x\n"},
            "{entry}/ossrflow-interface.yml:4:1: run: unknown key 'run' (fix: allowed keys are "
            "id, label, doc, baseCommand, arguments, inputs, outputs, requirements, hints, "
            "stdin, stdout, stderr, successCodes, temporaryFailCodes, permanentFailCodes)",
        ),
        (
            b'{"name": "x"}',
            {"tool.cwl": "cwlVersion: v1.2\nclass: CommandLineTool\ninputs: []\noutputs: 3\n"},
            '{entry}/tool.cwl:4:1: invalid CWL: "outputs" section is not valid. '
            "(fix: fix the tool so that `cwltool --validate` accepts it)",
        ),
        (
            b'{"name": "x"}',
            {},
            "{entry}/codemeta.json: the entry ships no .cwl CommandLineTool or "
            "ossrflow-interface.yml (fix: pass --interface FILE (draft one with `ossrflow "
            "interface draft REF`), or ship ossrflow-interface.yml or a .cwl tool with the entry)",
        ),
    ],
    ids=[
        "truncated-json",
        "wrong-type",
        "no-name",
        "newline-name",
        "unknown-key",
        "bad-cwl",
        "none",
    ],
)
def test_bad_entries_are_one_line_exit_2_nothing_written(
    tmp_path: Path, codemeta: bytes, files: dict[str, str], line: str
) -> None:
    folder = _entry(tmp_path, codemeta, **files)
    out = tmp_path / "out.cwl"
    result = run("cwl", str(folder), "-o", str(out))
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {line.format(entry=folder.resolve())}\n"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "registry"]


def test_ambiguous_entry_names_candidates_and_the_fix() -> None:
    result = run("cwl", f"dir:{ENTRIES}/water-bodies")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: {ENTRIES.resolve()}/water-bodies/codemeta.json: the entry ships 3 "
        "CommandLineTools: crop.cwl, norm-diff.cwl, otsu.cwl "
        "(fix: choose one with --tool NAME (a file name, stem or id))\n"
    )


def test_all_converts_a_folder_registry_and_reports(tmp_path: Path) -> None:
    registry = shutil.copytree(ENTRIES, tmp_path / "registry")
    out = tmp_path / "tools"
    result = run("cwl", "--all", f"dir:{registry}", "--outdir", str(out))
    assert (result.code, result.stderr) == (2, "")
    assert result.stdout == (
        "entry         result     reason\n"
        f"gammapy-info  converted  {out}/gammapy-info.cwl\n"
        f"linecount     converted  {out}/linecount.cwl\n"
        f"pyhf          refused    {registry}/pyhf/codemeta.json: codemeta names the command "
        "'pyhf' but not its inputs and outputs, and the entry ships no .cwl CommandLineTool or "
        "ossrflow-interface.yml (fix: pass --interface FILE (draft one with `ossrflow interface "
        "draft REF`), or ship ossrflow-interface.yml or a .cwl tool with the entry)\n"
        f"water-bodies  refused    {registry}/water-bodies/codemeta.json: the entry ships 3 "
        "CommandLineTools: crop.cwl, norm-diff.cwl, otsu.cwl (fix: choose one with --tool NAME "
        "(a file name, stem or id))\n"
    )
    assert sorted(p.name for p in out.iterdir()) == ["gammapy-info.cwl", "linecount.cwl"]
    assert (out / "linecount.cwl").read_text(encoding="utf-8") == expected("linecount")


def test_all_exits_0_when_every_entry_converts(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    for name in ("linecount", "gammapy-info"):
        shutil.copytree(ENTRIES / name, registry / name)
    result = run("cwl", "--all", f"dir:{registry}", "--outdir", str(tmp_path / "tools"))
    assert result.code == 0
    assert result.stdout.splitlines()[1:] == [
        f"gammapy-info  converted  {tmp_path}/tools/gammapy-info.cwl",
        f"linecount     converted  {tmp_path}/tools/linecount.cwl",
    ]


def test_all_needs_an_output_folder() -> None:
    result = run("cwl", "--all", f"dir:{ENTRIES}")
    assert result.code == 2
    assert result.stderr == (
        "error: ossrflow cwl: --all takes --outdir DIR, and none of -o, --interface, --tool "
        "(fix: see `ossrflow cwl --help`)\n"
    )


def test_remote_entry_shipping_cwl(zenodo_server: ZenodoApp) -> None:
    result = run("cwl", "100", "--registry", zenodo_server.api)
    assert (result.code, result.stderr) == (0, "")
    document = YAML(typ="safe").load(result.stdout)
    assert (document["id"], document["label"], document["baseCommand"]) == (
        "km3io-info",
        "km3io",
        ["km3io-info"],
    )
    assert document["s:citation"] == "https://doi.org/10.5281/zenodo.100"


def test_remote_errors_name_the_file_url(zenodo_server: ZenodoApp) -> None:
    bad = b"cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: x\ninputs: {a: Flie}\noutputs: []\n"
    record = zenodo_server.add(
        FakeRecord(
            "500",
            "499",
            "broken tool",
            "1.0",
            [
                FakeFile("codemeta.json", codemeta_bytes("cta-observatory__ctaplot")),
                FakeFile("broken.cwl", bad),
            ],
        )
    )
    result = run("cwl", "500", "--registry", zenodo_server.api)
    url = zenodo_server.file_url(record, "broken.cwl")
    assert result.code == 2
    assert result.stderr == (
        f"error: {url}:4:10: invalid CWL: Field 'type' references unknown identifier 'Flie', "
        f"tried {url}#Flie (fix: fix the tool so that `cwltool --validate` accepts it)\n"
    )


def _program(tmp_path: Path) -> Path:
    source = (DATA / "helpdraft/argparse_tool.py").read_text(encoding="utf-8").split("\n", 1)[1]
    path = tmp_path / "fitscount"
    path.write_text(f"#!{sys.executable}\n{source}", encoding="utf-8")
    path.chmod(0o755)
    return path


def test_interface_draft_writes_a_reviewable_file(tmp_path: Path) -> None:
    program = _program(tmp_path)
    out = tmp_path / "ossrflow-interface.yml"
    result = run(
        "interface", "draft", str(ENTRIES / "pyhf"), "--command", str(program), "-o", str(out)
    )
    assert (result.code, result.stdout, result.stderr) == (0, "", f"wrote {out}\n")
    text = out.read_text(encoding="utf-8")
    assert text.splitlines()[:2] == [
        "# DRAFT: review before use.",
        f"# Written by `ossrflow interface draft` from `{program} --help`.",
    ]
    converted = run("cwl", str(ENTRIES / "pyhf"), "--interface", str(out))
    assert converted.code == 0, converted.stderr
    assert YAML(typ="safe").load(converted.stdout)["baseCommand"] == [str(program)]


def test_interface_draft_of_a_missing_program(tmp_path: Path) -> None:
    result = run("interface", "draft", str(ENTRIES / "pyhf"))
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: pyhf: command 'pyhf' is not installed or not on PATH "
        "(fix: install the entry, or pass --command PATH)\n"
    )


def test_a_draft_interface_is_used_with_one_warning_line(tmp_path: Path) -> None:
    """Issue 14: an interface still marked DRAFT was used without a word."""
    draft = tmp_path / "draft.yml"
    draft.write_text(
        "# DRAFT: review before use.\n"
        + (CWLGEN / "interfaces" / "linecount.yml").read_text(encoding="utf-8")
    )
    result = run("cwl", str(ENTRIES / "linecount"), "--interface", str(draft))
    assert result.code == 0
    assert result.stderr == (
        f"warning: {draft}: the interface is still marked DRAFT (ossrflow interface draft "
        "guessed its types); review it, then delete the '# DRAFT' line\n"
    )

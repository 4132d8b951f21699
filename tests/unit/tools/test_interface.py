"""Interface files and shipped CWL: loading, choosing among several tools, offline validation."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ossrflow.errors import InputError, Unsupported
from ossrflow.tools.interface import (
    INTERFACE_KEYS,
    interface_schema,
    load_interface,
    load_shipped_cwl,
    select_shipped_cwl,
    verify_cwl,
)
from tests.conftest import DATA, FIXTURES

ENTRIES = DATA / "cwlgen" / "entries"
WATER = ENTRIES / "water-bodies"
TERRADUE = FIXTURES / "cwl-pairs" / "Terradue__app-package-training-bids23"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Validation must work offline: any name lookup other than localhost fails the test."""
    real = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object) -> object:
        if host not in ("localhost", "127.0.0.1", None):
            raise AssertionError(f"network lookup of {host!r} during validation")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    yield


def test_interface_keys_are_the_schema_properties() -> None:
    assert set(INTERFACE_KEYS) == set(interface_schema()["properties"])


def test_interface_is_kept_with_positions() -> None:
    spec = load_interface(ENTRIES / "linecount/ossrflow-interface.yml")
    assert spec.kind == "interface"
    assert list(spec.document) == ["baseCommand", "inputs", "outputs", "stdout", "requirements"]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- baseCommand\n", "1:1: an interface file must be a mapping of CommandLineTool keys"),
        ("baseCommand: 3\n", "1:1: baseCommand: 3 is not valid under any of the given schemas"),
        (
            "baseCommand: [x]\ninputs:\n  - type: File\n",
            "3:5: inputs.0: 'id' is a required property",
        ),
        ("baseCommand: [x]\nhints:\n  Docker: 3\n", "3:3: hints.Docker: 3 is not of type 'object'"),
        ("baseCommand: [x]\nstdout: [a]\n", "2:1: stdout: ['a'] is not of type 'string'"),
        ("cwlVersion: v1.2\n", "1:1: cwlVersion: unknown key 'cwlVersion'"),
        ("baseCommand: [x\n", "2:1: invalid YAML: expected ',' or ']', but got '<stream end>'"),
    ],
)
def test_bad_interfaces_are_located(tmp_path: Path, text: str, line: str) -> None:
    path = tmp_path / "ossrflow-interface.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_interface(path)
    assert str(info.value).startswith(f"{path}:{line} (fix: ")


def test_shipped_v1_0_tool_is_upgraded_to_v1_2() -> None:
    spec = load_shipped_cwl(WATER / "crop.cwl")
    assert spec.kind == "cwl"
    assert spec.document["cwlVersion"] == "v1.2"
    requirements = spec.document["requirements"]
    assert requirements["NetworkAccess"] == {"networkAccess": True}
    assert requirements["LoadListingRequirement"] == {"loadListing": "deep_listing"}


def test_unsupported_cwl_version(tmp_path: Path) -> None:
    path = tmp_path / "old.cwl"
    path.write_text("cwlVersion: draft-3\nclass: CommandLineTool\n", encoding="utf-8")
    with pytest.raises(Unsupported) as info:
        load_shipped_cwl(path)
    assert str(info.value) == (
        f"{path}:1:1: cwlVersion: 'draft-3' is not supported (fix: use one of v1.0, v1.1, v1.2)"
    )


def test_every_terradue_tool_validates_offline() -> None:
    for path in sorted((TERRADUE / "cwl-cli").glob("*.cwl")):
        verify_cwl(path)


def _candidates() -> dict[str, Path]:
    return {p.name: p for p in sorted(WATER.glob("*.cwl"))}


def test_several_tools_need_a_choice() -> None:
    with pytest.raises(InputError) as info:
        select_shipped_cwl(_candidates(), names=("Water Bodies Detection",), tool=None, source="E")
    assert str(info.value) == (
        "E: the entry ships 3 CommandLineTools: crop.cwl, norm-diff.cwl, otsu.cwl "
        "(fix: choose one with --tool NAME (a file name, stem or id))"
    )


@pytest.mark.parametrize("tool", ["crop", "crop.cwl", "norm_diff", "norm-diff"])
def test_tool_is_chosen_by_file_stem_or_id(tool: str) -> None:
    chosen = select_shipped_cwl(_candidates(), names=(), tool=tool, source="E")
    assert chosen == ("crop.cwl" if tool.startswith("crop") else "norm-diff.cwl")


def test_unknown_tool_names_the_candidates() -> None:
    with pytest.raises(InputError) as info:
        select_shipped_cwl(_candidates(), names=(), tool="app-water-body", source="E")
    assert str(info.value) == (
        "E: --tool 'app-water-body' matches 3 CommandLineTools: crop.cwl, norm-diff.cwl, "
        "otsu.cwl (fix: choose one with --tool NAME (a file name, stem or id))"
    )


def test_entry_name_picks_the_tool_and_workflows_are_skipped() -> None:
    assert select_shipped_cwl(_candidates(), names=("otsu",), tool=None, source="E") == "otsu.cwl"
    only_workflow = {"app-water-body.cwl": WATER / "app-water-body.cwl"}
    assert select_shipped_cwl(only_workflow, names=(), tool=None, source="E") is None
    assert select_shipped_cwl({}, names=(), tool=None, source="E") is None


FORMATS = """\
baseCommand: [sort]
inputs:
  table:
    type: File
    format: edam:format_3752
    inputBinding: {position: 1}
  extra:
    type: File?
    format: [edam:format_3475, https://www.iana.org/assignments/media-types/application/fits]
outputs:
  - id: sorted
    type: stdout
    format: edam:format_3752
stdout: sorted.csv
"""


def test_edam_short_formats_are_expanded_as_definitions_and_carts_do(tmp_path: Path) -> None:
    """Issue 14: `edam:format_N` became the relative IRI 'format_3752'; now EDAM's IRI."""
    path = tmp_path / "ossrflow-interface.yml"
    path.write_text(FORMATS, encoding="utf-8")
    document = load_interface(path).document
    assert document["inputs"]["table"]["format"] == "http://edamontology.org/format_3752"
    assert document["inputs"]["extra"]["format"] == [
        "http://edamontology.org/format_3475",
        "https://www.iana.org/assignments/media-types/application/fits",
    ]
    assert document["outputs"][0]["format"] == "http://edamontology.org/format_3752"


@pytest.mark.parametrize("value", ["format_3752", "text/csv", "iana:text/csv"])
def test_a_format_that_is_no_iri_is_refused_where_it_is_written(tmp_path: Path, value: str) -> None:
    path = tmp_path / "ossrflow-interface.yml"
    path.write_text(
        FORMATS.replace("format: edam:format_3752\n    input", f"format: {value}\n    input")
    )
    with pytest.raises(InputError) as info:
        load_interface(path)
    assert str(info.value) == (
        f"{path}:5:5: inputs.table.format: {value!r} is not a format IRI (fix: write "
        "edam:format_N (e.g. edam:format_3752 for CSV) or a full IRI such as "
        "https://www.iana.org/assignments/media-types/application/fits)"
    )


def test_a_draft_interface_is_used_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "ossrflow-interface.yml"
    path.write_text("# DRAFT: review before use.\n" + FORMATS, encoding="utf-8")
    with caplog.at_level("WARNING"):
        assert load_interface(path).kind == "interface"
    assert [r.getMessage() for r in caplog.records] == [
        f"{path}: the interface is still marked DRAFT (ossrflow interface draft guessed its "
        "types); review it, then delete the '# DRAFT' line"
    ]

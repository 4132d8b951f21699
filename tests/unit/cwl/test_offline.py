"""Loading for a run is offline: no schema.org download, no HEAD request, no warning."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from ossrflow.cwl.load import load_process, load_root
from ossrflow.errors import InputError

ANNOTATED = """\
cwlVersion: v1.2
class: CommandLineTool
$namespaces:
  s: https://schema.org/
$schemas:
  - https://schema.org/version/latest/schemaorg-current-https.rdf
s:author:
  - class: s:Person
    s:name: Someone
baseCommand: echo
inputs:
  msg: {type: string, inputBinding: {position: 1}}
outputs:
  out: stdout
"""


def test_remote_schemas_and_links_are_neither_fetched_nor_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    tool = tmp_path / "annotated.cwl"
    tool.write_text(ANNOTATED)
    job = tmp_path / "job.yml"
    job.write_text("msg: hi\n")
    with caplog.at_level(logging.DEBUG):
        root = load_root(str(tool), str(job))
        load_process(root.uri)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []
    assert root.job_order["msg"] == "hi"


def test_a_remote_document_is_refused_in_one_line(tmp_path: Path):
    workflow = tmp_path / "remote.cwl"
    workflow.write_text(
        "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n"
        "  s: {run: 'https://example.org/tool.cwl', in: [], out: []}\n"
    )
    with pytest.raises(InputError) as caught:
        load_root(str(workflow), None)
    assert str(caught.value) == (
        f"{workflow}: https://example.org/tool.cwl is not fetched: ossrflow loads CWL offline "
        "(fix: download the file and name its path)"
    )


BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}' if previous else 'lol'] * 9)}]\n"
    for previous, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)


def _workflow_running(tmp_path: Path, tool: str) -> Path:
    workflow = tmp_path / "workflow.cwl"
    workflow.write_text(
        "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n"
        f"  s: {{run: {tool}, in: [], out: []}}\n"
    )
    return workflow


def test_a_step_tool_that_is_an_alias_bomb_is_refused_in_one_line(tmp_path: Path):
    (tmp_path / "bomb.cwl").write_text(BOMB)
    with pytest.raises(InputError) as caught:
        load_root(str(_workflow_running(tmp_path, "bomb.cwl")), None)
    assert str(caught.value) == (
        f"{tmp_path / 'bomb.cwl'}:7:4: its aliases expand to more than 5000000 values (a YAML "
        "alias bomb?) (fix: this is not a document ossrflow reads; check where it came from)"
    )


def test_a_step_tool_nested_too_deep_is_refused_in_one_line(tmp_path: Path):
    (tmp_path / "deep.cwl").write_text("inputs: " + "[" * 10_000 + "]" * 10_000 + "\n")
    with pytest.raises(InputError) as caught:
        load_root(str(_workflow_running(tmp_path, "deep.cwl")), None)
    assert str(caught.value) == (
        f"{tmp_path / 'deep.cwl'}: values are nested more than 128 levels deep (fix: this is "
        "not a document ossrflow reads; check where it came from)"
    )


def test_a_step_tool_that_is_a_device_is_refused_in_one_line(tmp_path: Path):
    (tmp_path / "zero.cwl").symlink_to("/dev/zero")
    with pytest.raises(InputError) as caught:
        load_root(str(_workflow_running(tmp_path, "zero.cwl")), None)
    assert str(caught.value) == (
        f"{tmp_path / 'zero.cwl'}: is not a regular file (a device, pipe or socket) "
        "(fix: name a file)"
    )


def test_an_imported_part_of_a_job_order_is_held_to_the_limits(tmp_path: Path):
    tool = tmp_path / "tool.cwl"
    tool.write_text(ANNOTATED)
    (tmp_path / "bomb.yml").write_text(BOMB)
    job = tmp_path / "job.yml"
    job.write_text("msg: {$import: bomb.yml}\n")
    with pytest.raises(InputError) as caught:
        load_root(str(tool), str(job))
    assert str(caught.value).startswith(
        f"{tmp_path / 'bomb.yml'}:7:4: its aliases expand to more than 5000000 values"
    )


def test_a_local_rdf_schema_is_read_not_refused(tmp_path: Path):
    tool = tmp_path / "tool.cwl"
    tool.write_text(
        ANNOTATED.replace(
            "https://schema.org/version/latest/schemaorg-current-https.rdf", "schema.rdf"
        )
    )
    (tmp_path / "schema.rdf").write_text(
        '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        + "<!-- [[[[ -->" * 200
        + "</rdf:RDF>\n"
    )
    job = tmp_path / "job.yml"
    job.write_text("msg: hi\n")
    assert load_root(str(tool), str(job)).job_order["msg"] == "hi"

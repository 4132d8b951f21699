"""A rerun's checks of this machine: recorded commands, the run's own venv, recorded digests."""

from __future__ import annotations

import copy
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ossrflow.errors import InputError, NotFound
from ossrflow.provenance.environment import (
    native_commands,
    pin_recorded_images,
    restored_path,
    verify_commands,
)
from ossrflow.provenance.model import CommandFact, ContainerImage, RunRecord, StepJob
from ossrflow.provenance.record import load_record
from tests.unit.provenance.test_record import make_run, record


def fake_venv(root: Path, command: str, package: str, version: str) -> Path:
    """A virtual environment whose bin/COMMAND is the console script of PACKAGE VERSION."""
    (root / "pyvenv.cfg").parent.mkdir(parents=True, exist_ok=True)
    (root / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    script = root / "bin" / command
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("#!/bin/sh\necho hi\n", encoding="utf-8")
    script.chmod(0o755)
    info = root / f"lib/python3.11/site-packages/{package}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        f"[console_scripts]\n{command} = {package}.main:run\n", encoding="utf-8"
    )
    return script


@pytest.fixture
def recorded(tmp_path: Path) -> RunRecord:
    return load_record(record(make_run(tmp_path)))


def with_command(base: RunRecord, fact: CommandFact) -> RunRecord:
    job = StepJob("measure", 1, "completed", commands=(fact,))
    return replace(base, steps=(*base.steps, job))


def test_the_recorded_venv_goes_first_on_path(recorded: RunRecord, tmp_path: Path):
    script = fake_venv(tmp_path / "venv", "fitscheck", "astropy", "8.0.1")
    fact = CommandFact("fitscheck.cwl", "fitscheck", str(script), "astropy", "8.0.1")
    rerun_of = with_command(recorded, fact)
    assert native_commands(rerun_of) == {"fitscheck": ("measure[1]", fact)}
    assert restored_path(rerun_of, "/usr/bin:/bin") == f"{script.parent}:/usr/bin:/bin"
    verify_commands(rerun_of, restored_path(rerun_of, "/usr/bin:/bin"))  # found, same version


def test_a_missing_command_stops_the_rerun_with_its_step_and_the_fix(
    recorded: RunRecord, tmp_path: Path
):
    gone = tmp_path / "gone" / "bin" / "fitscheck"
    fact = CommandFact("fitscheck.cwl", "fitscheck", str(gone), "astropy", "8.0.1")
    with pytest.raises(NotFound) as info:
        verify_commands(with_command(recorded, fact), str(tmp_path / "empty"))
    assert str(info.value) == (
        f"{recorded.crate}: step measure[1] ran 'fitscheck' ({gone}, astropy 8.0.1), and "
        "'fitscheck' is not on PATH here (fix: install astropy==8.0.1 (e.g. `pip install "
        "'astropy==8.0.1'`) or put the environment that has it first on PATH)"
    )


def test_another_version_of_the_command_stops_the_rerun(recorded: RunRecord, tmp_path: Path):
    other = fake_venv(tmp_path / "other", "fitscheck", "astropy", "7.0.0")
    fact = CommandFact("fitscheck.cwl", "fitscheck", "/old/bin/fitscheck", "astropy", "8.0.1")
    with pytest.raises(InputError) as info:
        verify_commands(with_command(recorded, fact), str(other.parent))
    assert str(info.value) == (
        f"{recorded.crate}: step measure[1] ran 'fitscheck' (/old/bin/fitscheck, astropy 8.0.1), "
        f"but here 'fitscheck' is {other}, astropy 7.0.0 (fix: install astropy==8.0.1 (e.g. "
        "`pip install 'astropy==8.0.1'`) or put the environment that has it first on PATH)"
    )


def test_container_commands_are_the_images_business(recorded: RunRecord):
    fact = CommandFact("t.cwl", "fitscheck", None, None, None, "sha256:" + "a" * 64)
    assert native_commands(with_command(recorded, fact)) == {}
    verify_commands(with_command(recorded, fact), os.defpath)


PACKED: dict[str, Any] = {
    "cwlVersion": "v1.2",
    "$graph": [
        {
            "id": "#main",
            "class": "Workflow",
            "steps": [
                {"id": "#main/check", "run": "#check.cwl"},
                {"id": "#main/show", "run": "#show.cwl"},
            ],
        },
        {
            "id": "#check.cwl",
            "class": "CommandLineTool",
            "hints": [{"class": "DockerRequirement", "dockerPull": "ossrflow/astropy:8.0.1"}],
        },
        {
            "id": "#show.cwl",
            "class": "CommandLineTool",
            "requirements": {
                "DockerRequirement": {"dockerFile": "FROM x\n", "dockerOutputDirectory": "/out"}
            },
        },
    ],
}


def test_container_steps_rerun_by_the_recorded_digest_never_a_fresh_resolution():
    packed = copy.deepcopy(PACKED)
    images = [
        ContainerImage("ossrflow/astropy:8.0.1", "sha256:" + "a" * 64, "docker", "check"),
        ContainerImage("ossrflow/dockerfile:1", "sha256:" + "b" * 64, "docker", "show"),
    ]
    assert pin_recorded_images(packed, images) == 2
    check, show = packed["$graph"][1], packed["$graph"][2]
    assert check["hints"] == [{"class": "DockerRequirement", "dockerImageId": "sha256:" + "a" * 64}]
    assert show["requirements"] == [
        {
            "class": "DockerRequirement",
            "dockerOutputDirectory": "/out",
            "dockerImageId": "sha256:" + "b" * 64,
        }
    ]


def test_a_lone_tool_is_pinned_too():
    tool = copy.deepcopy(PACKED["$graph"][1])
    image = ContainerImage("ossrflow/astropy:8.0.1", "sha256:" + "c" * 64, "podman", "tool")
    assert pin_recorded_images(tool, [image]) == 1
    assert tool["hints"][0]["dockerImageId"] == "sha256:" + "c" * 64


def test_tools_inline_in_their_steps_are_pinned_by_step():
    """cwl_utils.pack puts each tool inline in its step: the step's name finds its image."""
    packed: dict[str, Any] = {
        "id": "analysis",
        "class": "Workflow",
        "steps": [
            {"id": "checksum", "run": copy.deepcopy(PACKED["$graph"][1])},
            {"id": "show", "run": {"class": "CommandLineTool", "hints": []}},
        ],
    }
    image = ContainerImage("ossrflow/astropy:8.0.1", "sha256:" + "d" * 64, "docker", "checksum")
    assert pin_recorded_images(packed, [image]) == 1
    assert packed["steps"][0]["run"]["hints"] == [
        {"class": "DockerRequirement", "dockerImageId": "sha256:" + "d" * 64}
    ]

"""What a native step ran: the command resolved on PATH, and the package that provides it."""

from __future__ import annotations

import shutil
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from ossrflow.run import commands
from ossrflow.run.commands import (
    command_facts,
    find_package,
    tool_label,
    warm_packages,
    written_command,
)
from ossrflow.run.facts import CommandFacts

BIN = Path(sys.executable).parent


def test_the_command_is_base_command_or_a_literal_first_argument():
    assert written_command({"baseCommand": ["wc", "-c"]}) == "wc"
    assert written_command({"baseCommand": "cat"}) == "cat"
    assert written_command({"arguments": ["sh", "-c", "x"]}) == "sh"
    assert written_command({"arguments": ["$(inputs.tool)"]}) is None


def test_a_tool_is_named_by_its_file():
    assert (
        tool_label({"id": "file:///w/tools/fitscheck.cwl#fitscheck"}) == "fitscheck.cwl#fitscheck"
    )
    assert tool_label({"id": "file:///w/shout.cwl"}) == "shout.cwl"
    assert tool_label({"id": "_:8a1e"}) == "inline"


def test_a_console_script_belongs_to_its_python_distribution():
    facts = command_facts({"id": "file:///t.cwl", "baseCommand": ["cwltool"]}, search_path=str(BIN))
    assert facts == CommandFacts(
        "t.cwl", "cwltool", str(BIN / "cwltool"), "cwltool", version("cwltool")
    )


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="no dpkg on this machine")
def test_a_system_command_belongs_to_its_debian_package():
    package, found = find_package(Path("/usr/bin/sha256sum"))
    assert package == "coreutils" and found


def test_a_command_not_found_and_a_container_command_have_no_path():
    tool = {"id": "file:///t.cwl", "baseCommand": "no-such-command-here"}
    assert command_facts(tool, search_path="/nonexistent") == CommandFacts(
        "t.cwl", "no-such-command-here"
    )
    inside = command_facts(tool, search_path="/usr/bin", container="sha256:ab")
    assert inside == CommandFacts("t.cwl", "no-such-command-here", container="sha256:ab")


def test_warming_looks_each_command_up_once_for_later_jobs():
    tools = [
        {"baseCommand": ["cwltool", "--version"]},
        {"baseCommand": "cwltool"},  # the same file: once
        {"baseCommand": "./run.sh"},  # relative to the job's folder: left to the job
        {"arguments": ["$(inputs.tool)"]},  # not written
        {"baseCommand": "no-such-command-here"},
    ]
    assert warm_packages(tools, str(BIN)) == 1
    before = commands._find_package.cache_info().hits
    assert find_package(BIN / "cwltool") == ("cwltool", version("cwltool"))
    assert commands._find_package.cache_info().hits == before + 1


def test_warming_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    tools = []
    for index in range(4):
        script = tmp_path / f"tool{index}"
        script.write_text("#!/bin/sh\n", encoding="utf-8")
        script.chmod(0o755)
        tools.append({"baseCommand": script.name})
    monkeypatch.setattr(commands, "_WARM_LIMIT", 2)
    assert warm_packages(tools, str(tmp_path)) == 2
    monkeypatch.setattr(commands, "_WARM_SECONDS", 0.0)
    assert warm_packages(tools[2:], str(tmp_path)) <= 1  # the first may start before the deadline

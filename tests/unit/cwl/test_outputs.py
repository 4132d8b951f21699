"""A tool's own ``cwl.output.json`` is untrusted: held to the limits of documents first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ossrflow.cwl.outputs import check_tool_output
from ossrflow.errors import InputError

HINT = "(fix: the step's tool wrote this file: fix the tool, or have it write its outputs)"


def test_a_tool_without_an_output_object_or_with_a_fair_one_passes(tmp_path: Path):
    check_tool_output(str(tmp_path))
    (tmp_path / "cwl.output.json").write_text('{"out": [[1, 2], {"a": null}]}')
    check_tool_output(str(tmp_path))
    check_tool_output(tmp_path.as_uri())


def _sparse(path: Path) -> None:
    with path.open("wb") as out:
        out.truncate(64 * 1024 * 1024 + 1)


@pytest.mark.parametrize(
    ("write", "problem"),
    [
        (
            lambda path: path.write_text('{"out": ' + "[" * 100_000 + "]" * 100_000 + "}"),
            ": values are nested more than 128 levels deep",
        ),
        (_sparse, ": document of 67108865 bytes is larger than the 67108864 bytes allowed"),
        (
            lambda path: path.symlink_to("/dev/zero"),
            ": is not a regular file (a device, pipe or socket)",
        ),
        (lambda path: path.write_text('{"out": '), ":1:9: invalid JSON: Expecting value"),
    ],
    ids=["deep", "oversized", "device", "invalid"],
)
def test_a_hostile_output_object_is_one_line(
    tmp_path: Path, write: Callable[[Path], None], problem: str
):
    path = tmp_path / "cwl.output.json"
    write(path)
    with pytest.raises(InputError) as caught:
        check_tool_output(str(tmp_path))
    assert str(caught.value) == f"{path}{problem} {HINT}"

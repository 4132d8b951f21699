"""A tool's own ``cwl.output.json`` is untrusted: held to the limits of documents first; a
run's outputs are placed in its output folder as cwltool's relocation places them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ossrflow.cwl.outputs import _plain_files, check_tool_output, collect_outputs
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


def _step_file(steps: Path, relative: str, data: bytes, **extra: object) -> dict[str, object]:
    path = steps / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"class": "File", "location": path.as_uri(), "basename": path.name, **extra}


def _result(tmp_path: Path) -> Path:
    """A run's output object: a scatter's files, one File, a record holding one, a value."""
    steps = tmp_path / "run" / "steps"
    elements = [_step_file(steps, f"count/{i}/out/{i:05d}.count", b"%d\n" % i) for i in range(7)]
    elements[3]["checksum"] = "sha1$" + hashlib.sha1(b"3\n", usedforsecurity=False).hexdigest()
    real = _step_file(steps, "report/out/real.txt", b"report\n", format="edam:format_1964")
    link = steps / "report/out/report.txt"
    link.symlink_to("real.txt")  # copied as its target's bytes, as cwltool does
    report = {**real, "location": link.as_uri(), "basename": "report.txt"}
    record = {"summary": _step_file(steps, "sum/out/summary.json", b"{}\n"), "n": 7}
    result = {"counts": elements, "report": report, "record": record, "label": "seven"}
    path = steps / "@outputs" / "cwl.output.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(result), encoding="utf-8")
    return path


def _normal(value: object, outdir: Path) -> object:
    return json.loads(json.dumps(value).replace(outdir.as_uri(), "OUT").replace(str(outdir), "OUT"))


def test_plain_files_are_placed_as_cwltools_relocation_places_them(tmp_path: Path):
    from cwltool.mutation import MutationManager
    from cwltool.process import relocateOutputs
    from cwltool.stdfsaccess import StdFsAccess
    from cwltool.utils import visit_class

    from ossrflow.cwl.outputs import _location_to_path

    result = _result(tmp_path)
    assert _plain_files(json.loads(result.read_text()), tmp_path / "ours") is not None
    ours = collect_outputs(result, tmp_path / "ours")
    reference = relocateOutputs(
        json.loads(result.read_text()), str(tmp_path / "cwltool"), set(), "copy", StdFsAccess("")
    )
    visit_class(reference, ("File", "Directory"), _location_to_path)
    visit_class(reference, ("File",), MutationManager().unset_generation)
    assert _normal(ours, tmp_path / "ours") == _normal(reference, tmp_path / "cwltool")
    names = sorted(p.name for p in (tmp_path / "ours").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "cwltool").iterdir())
    for name in names:
        placed, expected = tmp_path / "ours" / name, tmp_path / "cwltool" / name
        assert placed.read_bytes() == expected.read_bytes() and not placed.is_symlink()
        assert placed.stat().st_mtime_ns == expected.stat().st_mtime_ns  # copy2, both
    again = collect_outputs(result, tmp_path / "ours")  # a second run overwrites its copies
    assert again == ours


def test_clashing_names_and_directories_are_left_to_cwltool(tmp_path: Path):
    steps = tmp_path / "run" / "steps"
    same = [_step_file(steps, f"count/{i}/out/out.txt", b"%d\n" % i) for i in range(2)]
    folder = steps / "tree/out/d"
    folder.mkdir(parents=True)
    (folder / "inner.txt").write_text("x\n")
    tree = {"class": "Directory", "location": folder.as_uri(), "basename": "d"}
    result = steps / "@outputs" / "cwl.output.json"
    result.parent.mkdir(parents=True)
    result.write_text(json.dumps({"same": same, "tree": tree}), encoding="utf-8")
    assert _plain_files(json.loads(result.read_text()), tmp_path / "out") is None
    placed = collect_outputs(result, tmp_path / "out")
    assert [Path(f["path"]).name for f in placed["same"]] == ["out.txt", "out.txt_2"]
    assert (tmp_path / "out" / "d" / "inner.txt").read_text() == "x\n"

"""The up-to-date check: a finished run is skipped only when nothing it depends on changed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ossrflow.run.rundir import UP_TO_DATE_STAMP as STAMP
from ossrflow.run.uptodate import check_stamp, clear_stamp, write_documents, write_stamp


def file_value(path: Path) -> dict[str, Any]:
    return {"class": "File", "location": path.as_uri()}


@pytest.fixture
def finished(tmp_path: Path) -> dict[str, Any]:
    """A run directory as a successful run leaves it, with its stamp."""
    tool = tmp_path / "wf.cwl"
    tool.write_text("cwlVersion: v1.2\n", encoding="utf-8")
    job = tmp_path / "job.yml"
    job.write_text("x: 1\n", encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("a", encoding="utf-8")
    folder = data / "folder"
    folder.mkdir()
    (folder / "inner.txt").write_text("inner", encoding="utf-8")
    outdir = tmp_path / "results"
    outdir.mkdir()
    (outdir / "out.txt").write_text("out", encoding="utf-8")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    result = run_dir / "result.json"
    result.write_text("{}", encoding="utf-8")
    script = tmp_path / "script.sh"
    script.write_text("echo included\n", encoding="utf-8")
    uris = [
        tool.as_uri(),
        tool.as_uri() + "#main",
        "https://w3id.org/cwl",
        "include:" + script.as_uri(),
    ]
    write_documents(run_dir, uris)
    inputs = {"a": file_value(data / "a.txt"), "d": {"class": "Directory", "location": str(folder)}}
    outputs = {"out": file_value(outdir / "out.txt")}
    command: dict[str, Any] = {"tool": str(tool), "job": str(job), "outdir": outdir}
    write_stamp(run_dir, inputs=inputs, outputs=outputs, result=result, **command)
    return {"run_dir": run_dir, "command": command, "outputs": outputs, "paths": locals()}


def check(finished: dict[str, Any], **changes: Any) -> Any:
    return check_stamp(finished["run_dir"], **{**finished["command"], **changes})


def test_an_unchanged_run_is_up_to_date(finished: dict[str, Any]):
    assert check(finished) == finished["outputs"]


def bump(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))


@pytest.mark.parametrize(
    "change",
    [
        lambda p: (p["data"] / "a.txt").write_text("b"),
        lambda p: (p["data"] / "folder" / "inner.txt").write_text("edited"),
        lambda p: (p["data"] / "folder" / "new.txt").write_text("new"),
        lambda p: p["tool"].write_text("cwlVersion: v1.2\n# edited\n"),
        lambda p: p["script"].write_text("echo edited\n"),
        lambda p: p["job"].write_text("x: 2\n"),
        lambda p: (p["outdir"] / "out.txt").unlink(),
        lambda p: p["result"].unlink(),
        lambda p: (p["outdir"] / "out.txt").write_text("tampered"),
        lambda p: (p["run_dir"] / STAMP).write_text("{not json"),
        lambda p: clear_stamp(p["run_dir"]),
    ],
    ids=[
        "input edited, same size",
        "file in input folder edited",
        "file added to input folder",
        "document edited",
        "$include'd file edited",
        "job edited",
        "output deleted",
        "run's result object deleted",
        "output changed",
        "stamp damaged",
        "stamp cleared",
    ],
)
def test_any_change_means_run(finished: dict[str, Any], change: Any):
    change(finished["paths"])
    assert check(finished) is None


def test_a_touched_input_with_the_same_bytes_is_up_to_date(finished: dict[str, Any]):
    bump(finished["paths"]["data"] / "a.txt")
    bump(finished["paths"]["data"] / "folder" / "inner.txt")
    assert check(finished) == finished["outputs"]
    assert check(finished) == finished["outputs"]  # the new times are remembered


def test_another_command_is_not_this_run(finished: dict[str, Any], tmp_path: Path):
    assert check(finished, outdir=tmp_path / "elsewhere") is None
    assert check(finished, job=None) is None
    assert check(finished, choices={"engines": ["docker"]}) is None

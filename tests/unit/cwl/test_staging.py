"""Deterministic staging: a job's inputs at the same paths in every run of the same content."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from ossrflow.cwl.load import load_root, runtime_context
from ossrflow.cwl.staging import ensure_stage_root, path_mapper, stage_dir, stage_root
from ossrflow.errors import UnsafeValue


def test_the_stage_folder_depends_on_step_element_and_content_only():
    first = stage_dir("checksum", 0, "a" * 64)
    assert first == stage_dir("checksum", 0, "a" * 64)
    assert first.parent == stage_root() == Path(f"/tmp/ossrflow-{os.getuid()}/stage")
    others = {stage_dir("checksum", 1, "a" * 64), stage_dir("other", 0, "a" * 64)}
    others |= {stage_dir("checksum", 0, "b" * 64), stage_dir("checksum", None, "a" * 64)}
    assert first not in others and len(others) == 4


def test_inputs_are_staged_in_numbered_folders(tmp_path: Path):
    files = []
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
        files.append({"class": "File", "location": (tmp_path / name).as_uri(), "basename": name})
    mapper = path_mapper()(files, str(tmp_path), "/stage", True)
    targets = sorted(entry.target for _, entry in mapper.items_exclude_children())
    assert targets == ["/stage/stg0/a.txt", "/stage/stg1/b.txt"]


def test_a_stage_root_that_is_a_link_or_not_a_folder_is_refused(tmp_path: Path):
    root = tmp_path / "mine" / "stage"
    assert ensure_stage_root(root) == root
    assert oct(root.stat().st_mode & 0o777) == "0o700"
    planted = tmp_path / "planted" / "stage"
    planted.parent.mkdir()
    planted.symlink_to(tmp_path)
    with pytest.raises(UnsafeValue, match="not a plain folder"):
        ensure_stage_root(planted)


def test_a_native_job_stages_under_the_stage_folder_it_is_given(tmp_path: Path):
    tool = tmp_path / "cat.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\n"
        "inputs:\n  f: {type: File, inputBinding: {}}\noutputs: []\n"
    )
    data = tmp_path / "data.txt"
    data.write_text("x")
    job = tmp_path / "job.yml"
    job.write_text(f"f: {{class: File, path: {data}}}\n")
    root = load_root(str(tool), str(job))
    for name in ("tmp", "out"):
        (tmp_path / "work" / name).mkdir(parents=True)
    context = runtime_context(root.basedir, tmp_path / "work")
    context.stagedir = "/tmp/somewhere/fixed"
    built = next(root.process.job(root.job_order, lambda out, status: None, context))
    assert getattr(built, "command_line", None) == ["cat", "/tmp/somewhere/fixed/stg0/data.txt"]


def _jobs(root, work: Path, stagedir: Path) -> tuple[Any, list[Any], list[str]]:
    """The context, the runnable jobs of ``root`` staging into ``stagedir``, and the list their
    statuses land in."""
    for name in ("tmp", "out"):
        (work / name).mkdir(parents=True)
    context = runtime_context(root.basedir, work)
    context.stagedir = str(stagedir)
    context.outdir = str(work / "out")
    context.workflow_eval_lock = threading.Condition(threading.RLock())
    results: list[str] = []
    runnables = list(root.process.job(root.job_order, lambda o, s: results.append(s), context))
    return context, runnables, results


def _run_once(root, work: Path, stagedir: Path) -> None:
    context, runnables, results = _jobs(root, work, stagedir)
    for runnable in runnables:
        runnable.run(context)
    assert results == ["success"]


def test_a_file_literal_written_by_an_earlier_run_is_kept(tmp_path: Path):
    tool = tmp_path / "cat.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\n"
        "inputs:\n  d:\n    type: Directory\n    inputBinding: {valueFrom: '$(self.listing[0].path)'}\n"
        "outputs: []\n"
    )
    job = tmp_path / "job.yml"
    job.write_text(
        "d: {class: Directory, basename: cwl, listing: "
        "[{class: File, basename: literal.txt, contents: howdy}]}\n"
    )
    root = load_root(str(tool), str(job))
    stagedir = tmp_path / "stage"
    _run_once(root, tmp_path / "first", stagedir)
    literal = stagedir / "stg0" / "cwl" / "literal.txt"
    before = literal.stat()
    assert (literal.read_text(), oct(before.st_mode & 0o777)) == ("howdy", "0o400")
    # cwltool leaves it read-only: a second run as its owner (not root) could not rewrite it
    _run_once(root, tmp_path / "second", stagedir)
    after = literal.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def _stage_at_once(root, work: Path, stagedir: Path, barrier, failures) -> None:
    context, runnables, results = _jobs(root, work, stagedir)
    barrier.wait()
    try:
        for runnable in runnables:
            runnable.run(context)
    except Exception as exc:  # noqa: BLE001 - reported to the test
        failures.put(repr(exc))
        return
    if results != ["success"]:
        failures.put(f"status {results}")


def test_runs_staging_the_same_folder_at_the_same_moment_all_succeed(tmp_path: Path):
    """Two runs of the same step on the same content share a stage folder: when both stage it
    for the first time at once, both links land (cwltool's own os.symlink fails the second)."""
    import multiprocessing

    tool = tmp_path / "cat.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\n"
        "inputs:\n  f: {type: File, inputBinding: {}}\n  g: {type: File, inputBinding: {}}\n"
        "outputs: []\n"
    )
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name)
    job = tmp_path / "job.yml"
    job.write_text(f"f: {{class: File, path: {tmp_path / 'a.txt'}}}\n"
                   f"g: {{class: File, path: {tmp_path / 'b.txt'}}}\n")  # fmt: skip
    root = load_root(str(tool), str(job))
    fork = multiprocessing.get_context("fork")
    failures = fork.Queue()
    for round_ in range(8):
        stagedir, barrier = tmp_path / f"stage{round_}", fork.Barrier(6)
        workers = [
            fork.Process(
                target=_stage_at_once,
                args=(root, tmp_path / f"w{round_}-{i}", stagedir, barrier, failures),
            )
            for i in range(6)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
            assert worker.exitcode == 0
        assert failures.empty(), failures.get()
        assert (stagedir / "stg0" / "a.txt").resolve() == (tmp_path / "a.txt").resolve()

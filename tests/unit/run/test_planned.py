"""Outputs the planner named: ``collect`` makes the same output objects cwltool makes.

Each test plans a real scatter with cwltool, runs its batch with bash and collects it twice:
from the planned names, and (the file removed) by cwltool rebuilding every element's job.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ossrflow.cwl.load import load_root
from ossrflow.errors import InputError
from ossrflow.run.batches import Batching, batch_script, prepare_batches
from ossrflow.run.job import collect_node, read_output
from ossrflow.run.plan import plan_run
from ossrflow.run.planned import PLANNED_OUTPUTS, plain_globs, plain_outputs, read_planned
from ossrflow.run.snakegen import write_run_dir

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {{}}
  InlineJavascriptRequirement: {{}}
inputs:
  files: File[]
outputs: {{}}
steps:
  step:
    scatter: f
    in: {{f: files}}
    out: [{names}]
    run:
      class: CommandLineTool
      baseCommand: [sh, -c]
      arguments: [{script}]
      inputs:
        f: File
{extra}
      outputs:
{outputs}
"""

# name -> (the tool's extra lines, its outputs, the shell script that makes them)
TOOLS = {
    "stdout named by an expression": (
        "      stdout: $(inputs.f.nameroot).count",
        "        counted: stdout",
        "'wc -c < \"$0\"', $(inputs.f.path)",
    ),
    "two literal globs": (
        "",
        "        one: {type: File, outputBinding: {glob: one.txt}}\n"
        "        two: {type: File, outputBinding: {glob: 'two-words.dat'}}",
        '\'cat "$0" > one.txt; printf two > "two-words.dat"\', $(inputs.f.path)',
    ),
    "a glob of parameter references": (
        "",
        "        copy: {type: File, outputBinding: {glob: '$(inputs.f.basename).$(inputs.f.size)'}}",
        '\'cp "$0" "`basename "$0"`.$1"\', $(inputs.f.path), $(inputs.f.size)',
    ),
}


def plan_and_run(folder: Path, tool: str) -> tuple[Path, Any]:
    extra, outputs, script = TOOLS[tool]
    names = [line.split(":")[0].strip() for line in outputs.splitlines()]
    data = folder / "data"
    data.mkdir()
    files = []
    for index, name in enumerate(["a.txt", "b.", ".hidden", "d-e.tar.gz"]):
        (data / name).write_text("x" * (index + 1), encoding="utf-8")
        files.append({"class": "File", "path": str(data / name)})
    text = WORKFLOW.format(names=", ".join(names), script=script, extra=extra, outputs=outputs)
    (folder / "wf.cwl").write_text(text, encoding="utf-8")
    (folder / "job.json").write_text(json.dumps({"files": files}), encoding="utf-8")
    root = load_root(str(folder / "wf.cwl"), str(folder / "job.json"))
    plan = plan_run(root)
    run_dir = folder / "run"
    batches = prepare_batches(root.process, plan, run_dir, batching=Batching(max_jobs=1))
    assert "step" in batches, "the step runs as precomputed commands"
    write_run_dir(plan, run_dir, python="python3", batches=batches)
    done = subprocess.run(
        ["bash", batch_script("step", 0)], cwd=run_dir, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return run_dir, root


def collected(run_dir: Path) -> list[dict[str, Any]]:
    collect_node(run_dir, "step")
    return [read_output(run_dir, "step", index) for index in range(4)]


@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_planned_outputs_are_collected_exactly_as_cwltool_collects_them(tmp_path: Path, tool: str):
    run_dir, _ = plan_and_run(tmp_path, tool)
    planned = run_dir / "steps/step" / PLANNED_OUTPUTS
    assert planned.is_file(), "the planner named every output"
    ours = collected(run_dir)
    planned.unlink()
    for index in range(4):
        (run_dir / f"steps/step/{index}/ossrflow-job.json").unlink()
    assert collected(run_dir) == ours  # cwltool rebuilt every job and collected
    assert all((run_dir / f"steps/step/{i}/ossrflow-job.json").is_file() for i in range(4))
    assert read_output(run_dir, "step")  # the gathered object


def test_an_element_whose_file_is_missing_fails_in_cwltools_words(tmp_path: Path):
    run_dir, _ = plan_and_run(tmp_path, "two literal globs")
    (run_dir / "steps/step/2/out/one.txt").unlink()
    with pytest.raises(
        InputError, match=r"Did not find output file with glob pattern: \[.one.txt.\]"
    ):
        collect_node(run_dir, "step")


def test_an_element_that_wrote_cwl_output_json_keeps_it(tmp_path: Path):
    run_dir, _ = plan_and_run(tmp_path, "two literal globs")
    out = run_dir / "steps/step/1/out"
    record = {"class": "File", "location": "one.txt"}
    (out / "cwl.output.json").write_text(json.dumps({"one": record, "two": record}))
    elements = collected(run_dir)
    assert elements[1]["one"]["basename"] == elements[1]["two"]["basename"] == "one.txt"
    assert elements[0]["two"]["basename"] == "two-words.dat"


def test_odd_files_are_left_to_cwltool(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "real").write_text("data", encoding="utf-8")
    (out / "link").symlink_to(out / "real")
    (out / "folder").mkdir()
    made = plain_outputs(["x"], ["real"], out)
    assert made is not None
    assert made["x"]["size"] == 4
    assert made["x"]["checksum"] == "sha1$a17c9aaa61e80a1bf71d0d850af4e5baa9800bbd"
    for odd in ("link", "folder", "missing"):
        assert plain_outputs(["x"], [odd], out) is None, odd


@pytest.mark.parametrize(
    "output",
    [
        "{type: File, outputBinding: {glob: '*.txt'}}",
        "{type: 'File?', outputBinding: {glob: a.txt}}",
        "{type: File, outputBinding: {glob: a.txt, outputEval: '$(self[0])'}}",
        "{type: File, outputBinding: {glob: a.txt, loadContents: true}}",
        "{type: File, secondaryFiles: [.bai], outputBinding: {glob: a.txt}}",
        "{type: File, format: 'http://edamontology.org/format_1929', outputBinding: {glob: a}}",
        "{type: File, outputBinding: {glob: '${return \"a.txt\"}'}}",
        "{type: File, outputBinding: {glob: '$(runtime.exitCode).txt'}}",
        "{type: File, outputBinding: {glob: sub/a.txt}}",
        "{type: 'File[]', outputBinding: {glob: a.txt}}",
        "{type: Directory, outputBinding: {glob: a}}",
    ],
)
def test_outputs_that_are_not_plain_keep_cwltools_collection(tmp_path: Path, output: str):
    tool = tmp_path / "tool.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        "requirements: {InlineJavascriptRequirement: {}}\n"
        f"baseCommand: 'true'\ninputs: {{}}\noutputs:\n  x: {output}\n",
        encoding="utf-8",
    )
    assert plain_globs(load_root(str(tool), None).process) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"outputs": ["x"], "files": [["../../secret"]]}',
        '{"outputs": ["x"], "files": [["sub/a.txt"]]}',
        '{"outputs": ["x"], "files": [[".."]]}',
        '{"outputs": ["x"], "files": [["a", "b"]]}',
        '{"outputs": ["x"], "files": [[3]]}',
        '{"outputs": [["x"]], "files": [["a"]]}',
        '{"outputs": ["x"], "files": [["a"], ["b"]]}',
        '["outputs"]',
        "not json",
    ],
)
def test_planned_names_read_back_are_checked_as_when_written(tmp_path: Path, text: str):
    # An edited or damaged file (or one naming a path outside the element's output folder)
    # leaves collecting to cwltool.
    (tmp_path / PLANNED_OUTPUTS).write_text(text, encoding="utf-8")
    assert read_planned(tmp_path, 1) is None


def test_planned_names_read_back(tmp_path: Path):
    (tmp_path / PLANNED_OUTPUTS).write_text('{"outputs": ["x"], "files": [["a.txt"]]}\n')
    assert read_planned(tmp_path, 1) == (["x"], [["a.txt"]])

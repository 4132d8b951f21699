"""Scatter elements as precomputed commands: batches, exact commands, resume, failures, quoting.

Each test loads a real workflow with cwltool, writes the batch scripts, runs them with bash and
collects the outputs with cwltool, as the Snakemake jobs do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ossrflow.cwl.load import load_root
from ossrflow.errors import InputError, WorkflowFailed
from ossrflow.run.batches import (
    Batches,
    Batching,
    batch_marker,
    batch_ranges,
    batch_script,
    prepare_batches,
)
from ossrflow.run.job import collect_node, read_output
from ossrflow.run.plan import Plan, plan_run
from ossrflow.run.snakegen import write_run_dir

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {{}}
inputs:
  files: File[]
outputs:
  counts:
    type: File[]
    outputSource: count/counted
steps:
  count:
    scatter: f
    in: {{f: files}}
    out: [counted]
    run:
      class: CommandLineTool
      {requirements}
      baseCommand: {command}
      inputs:
        f: {{type: File, inputBinding: {{position: 1}}}}
      stdout: counted.txt
      outputs:
        counted: stdout
"""


def write_workflow(
    folder: Path,
    names: list[str],
    command: str = "[wc, -c]",
    requirements: str = "",
) -> tuple[Path, Path]:
    data = folder / "data"
    data.mkdir()
    files = []
    for index, name in enumerate(names):
        (data / name).write_text("x" * (index + 1), encoding="utf-8")
        files.append({"class": "File", "path": str(data / name)})
    tool = folder / "wf.cwl"
    tool.write_text(WORKFLOW.format(command=command, requirements=requirements), encoding="utf-8")
    job = folder / "job.json"
    job.write_text(json.dumps({"files": files}), encoding="utf-8")
    return tool, job


def prepare(tool: Path, job: Path, run_dir: Path, max_jobs: int | None) -> tuple[Plan, Batches]:
    root = load_root(str(tool), str(job))
    plan = plan_run(root)
    batches = prepare_batches(root.process, plan, run_dir, batching=Batching(max_jobs))
    write_run_dir(plan, run_dir, python="python3", batches=batches)
    return plan, batches["count"]


def run_batch(run_dir: Path, index: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", batch_script("count", index)],
        cwd=run_dir,
        capture_output=True,
        text=True,
        check=False,
    )


def counted(run_dir: Path) -> list[str]:
    outputs: dict[str, Any] = read_output(run_dir, "count")
    files = [Path(item["location"].removeprefix("file://")) for item in outputs["counted"]]
    return [path.read_text(encoding="utf-8") for path in files]


@pytest.mark.parametrize(("count", "max_jobs"), [(1, 4), (7, 3), (10, 10), (5, None), (3, 8)])
def test_batches_cover_every_element_once_in_near_equal_runs(count: int, max_jobs: int | None):
    ranges = batch_ranges(count, max_jobs)
    assert [i for start, end in ranges for i in range(start, end)] == list(range(count))
    sizes = [end - start for start, end in ranges]
    assert max(sizes) - min(sizes) <= 1
    assert len(ranges) == (count if max_jobs is None else min(count, max_jobs))


@pytest.mark.parametrize(
    ("batching", "count", "jobs"),
    [
        (Batching(16, 25, 2), 100, 4),  # a small scatter: a few jobs, not 16
        (Batching(16, 25, 2), 1000, 16),  # a wide one: the maximum
        (Batching(16, 25, 8), 100, 8),  # never fewer jobs than run at once
        (Batching(16, 25, 2), 30, 2),
        (Batching(16, 25, 2), 1, 1),
        (Batching(16, 1, 2), 100, 16),  # no minimum
        (Batching(None, 25, 2), 100, 4),
        (Batching(None, 1, 1), 5, 5),  # one job per element
    ],
)
def test_a_job_runs_at_least_min_elements_unless_a_slot_would_idle(
    batching: Batching, count: int, jobs: int
):
    ranges = batching.ranges(count)
    assert len(ranges) == jobs
    assert [i for start, end in ranges for i in range(start, end)] == list(range(count))


def test_split_checkpoints_batch_as_the_planner_does():
    assert Batching(16, 25, 3).arguments() == [
        "--max-jobs",
        "16",
        "--min-elements",
        "25",
        "--slots",
        "3",
    ]
    assert Batching().arguments() == []


def test_elements_run_as_the_commands_cwltool_computed(tmp_path: Path):
    tool, job = write_workflow(tmp_path, ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"])
    run_dir = tmp_path / "run"
    _, batches = prepare(tool, job, run_dir, max_jobs=2)
    assert batches.ranges == ((0, 3), (3, 5))
    snakefile = (run_dir / "Snakefile").read_text(encoding="utf-8")
    assert "5 scatter elements (dotproduct) as precomputed commands" in snakefile
    assert "ossrflow.run.job collect count" in snakefile
    for index in range(2):
        done = run_batch(run_dir, index)
        assert done.returncode == 0, done.stderr
        assert (run_dir / batch_marker("count", index)).is_file()
    collect_node(run_dir, "count")
    sizes = [text.split()[0] for text in counted(run_dir)]
    assert sizes == ["1", "2", "3", "4", "5"]
    keys = [(run_dir / f"steps/count/{i}/inputs.sha256").read_text().strip() for i in range(5)]
    assert len(set(keys)) == 5 and all(re.fullmatch("[0-9a-f]{64}", key) for key in keys)
    element = read_output(run_dir, "count", 3)
    assert element["counted"]["checksum"].startswith("sha1$")
    assert not (run_dir / "steps/count/3/tmp").exists(), "scratch folders are removed"
    assert sorted(p.name for p in (run_dir / "steps/count/3").iterdir()) == [
        "cwl.output.json",
        "exit.code",
        "inputs.sha256",
        "job.log",
        "ossrflow-job.json",
        "out",
    ]


def test_a_wide_scatter_is_collected_by_forked_processes_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Planned and collected in forked parts of at least 2 elements here (250 in a run): the
    same scripts, outputs, facts and order as one process gives, the digests the parts computed
    kept, and a missing output fails the step with cwltool's own message."""
    import ossrflow.run.forked as forked

    monkeypatch.setattr(forked, "PER_PROCESS", 2)
    names = [f"{chr(97 + i)}.txt" for i in range(7)]
    tool, job = write_workflow(tmp_path, names)
    run_dir = tmp_path / "run"
    prepare(tool, job, run_dir, max_jobs=1)
    assert len(forked.split_range(7)) > 1 or len(os.sched_getaffinity(0)) == 1
    digests = json.loads((run_dir / ".ossrflow/digests.json").read_text())["files"]
    assert {Path(path).name for path in digests} >= set(names)  # what the forks hashed is kept
    assert run_batch(run_dir, 0).returncode == 0
    collect_node(run_dir, "count")
    assert [text.split()[0] for text in counted(run_dir)] == [str(i + 1) for i in range(7)]
    assert all((run_dir / f"steps/count/{i}/ossrflow-job.json").is_file() for i in range(7))
    (run_dir / "steps/count/5/out/counted.txt").unlink()
    with pytest.raises(WorkflowFailed, match="collecting output for parameter 'counted'"):
        collect_node(run_dir, "count")


def test_a_rerun_batch_redoes_only_unfinished_elements(tmp_path: Path):
    tool, job = write_workflow(tmp_path, ["a.txt", "b.txt", "c.txt"])
    run_dir = tmp_path / "run"
    prepare(tool, job, run_dir, max_jobs=1)
    assert run_batch(run_dir, 0).returncode == 0
    kept = run_dir / "steps/count/0/out/counted.txt"
    before = kept.stat().st_mtime_ns
    (run_dir / "steps/count/1/exit.code").unlink()
    (run_dir / "steps/count/1/out/counted.txt").write_text("partial", encoding="utf-8")
    (run_dir / "steps/count/2/exit.code").write_text("", encoding="utf-8")  # killed mid-write
    assert run_batch(run_dir, 0).returncode == 0
    assert kept.stat().st_mtime_ns == before
    collect_node(run_dir, "count")
    assert [text.split()[0] for text in counted(run_dir)] == ["1", "2", "3"]


def test_a_failing_element_fails_its_batch_and_is_named(tmp_path: Path):
    command = '[sh, -c, \'test $(wc -c < "$0") -ne 2 && wc -c < "$0"\']'
    tool, job = write_workflow(tmp_path, ["a.txt", "b.txt", "c.txt"], command=command)
    run_dir = tmp_path / "run"
    prepare(tool, job, run_dir, max_jobs=1)
    done = run_batch(run_dir, 0)
    assert done.returncode == 1
    assert done.stderr == (
        f"element 1 (f=b.txt) failed with exit status 1 (log: {run_dir}/steps/count/1/job.log)\n"
        "1 element(s) of this batch failed\n"
    )
    assert not (run_dir / batch_marker("count", 0)).exists()
    record = (run_dir / "steps/count/0/exit.code").read_text(encoding="utf-8")
    assert re.fullmatch(r"0 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ ){2}\S+ -\n", record), record
    assert not (run_dir / "steps/count/1/exit.code").exists()


ECHO = """\
cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs:
  words: string[]
outputs:
  said:
    type: File[]
    outputSource: say/said
steps:
  say:
    scatter: word
    in: {word: words}
    out: [said]
    run:
      class: CommandLineTool
      baseCommand: [printf, '%s']
      inputs:
        word: {type: string, inputBinding: {position: 1}}
      stdout: said.txt
      outputs: {said: stdout}
"""


def test_untrusted_values_stay_data(tmp_path: Path):
    words = ["it's $(touch pwned)", 'a;b `touch pwned2` "c" | touch pwned3', "new\nline {x}"]
    tool = tmp_path / "echo.cwl"
    tool.write_text(ECHO, encoding="utf-8")
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"words": words}), encoding="utf-8")
    run_dir = tmp_path / "run"
    root = load_root(str(tool), str(job))
    plan = plan_run(root)
    batches = prepare_batches(root.process, plan, run_dir, batching=Batching())
    write_run_dir(plan, run_dir, python="python3", batches=batches)
    for index in range(3):
        done = subprocess.run(
            ["bash", batch_script("say", index)], cwd=run_dir, capture_output=True, check=False
        )
        assert done.returncode == 0, done.stderr
    said = [(run_dir / f"steps/say/{i}/out/said.txt").read_text(encoding="utf-8") for i in range(3)]
    assert said == words
    assert not list(tmp_path.rglob("pwned*"))


def test_a_file_name_cwltool_refuses_is_refused_when_planning(tmp_path: Path):
    tool, job = write_workflow(tmp_path, ["it's $(touch pwned).txt"])
    with pytest.raises(InputError, match=r"count .*Invalid filename"):
        prepare(tool, job, tmp_path / "run", max_jobs=None)


def test_the_tool_sees_exactly_the_environment_cwltool_gives(tmp_path: Path):
    requirements = "requirements: {EnvVarRequirement: {envDef: {GREETING: 'hello world'}}}"
    command = "[awk, 'BEGIN { for (k in ENVIRON) print k \"=\" ENVIRON[k] }']"
    tool, job = write_workflow(tmp_path, ["a.txt"], command=command, requirements=requirements)
    run_dir = tmp_path / "run"
    prepare(tool, job, run_dir, max_jobs=None)
    assert run_batch(run_dir, 0).returncode == 0
    # gawk adds AWKPATH and AWKLIBPATH itself
    env = (run_dir / "steps/count/0/out/counted.txt").read_text(encoding="utf-8").splitlines()
    names = sorted(line.split("=", 1)[0] for line in env if not line.startswith("AWK"))
    assert names == ["GREETING", "HOME", "PATH", "TMPDIR"]
    assert "GREETING=hello world" in env
    assert f"HOME={run_dir}/steps/count/0/out" in env


@pytest.mark.parametrize(
    "requirements",
    [
        "requirements: {InitialWorkDirRequirement: {listing: [$(inputs.f)]}}",
        "hints: {DockerRequirement: {dockerPull: 'debian:stable-slim'}}",
    ],
)
def test_steps_needing_cwltools_runtime_keep_the_job_runner(tmp_path: Path, requirements: str):
    tool, job = write_workflow(tmp_path, ["a.txt", "b.txt"], requirements=requirements)
    root = load_root(str(tool), str(job))
    plan = plan_run(root)
    assert prepare_batches(root.process, plan, tmp_path / "run", batching=Batching(2)) == {}


def test_resources_from_expressions_reach_the_scheduler(tmp_path: Path):
    requirements = (
        "requirements: {ResourceRequirement: "
        "{coresMin: $(inputs.f.size), ramMin: $(inputs.f.size * 100)}, "
        "ToolTimeLimit: {timelimit: $(inputs.f.size * 60)}, InlineJavascriptRequirement: {}}"
    )
    tool, job = write_workflow(tmp_path, ["a.txt", "b.txt", "c.txt"], requirements=requirements)
    run_dir = tmp_path / "run"
    _, batches = prepare(tool, job, run_dir, max_jobs=2)
    assert batches.resources == {"cores": 3, "ram": 300, "timelimit": 180}
    snakefile = (run_dir / "Snakefile").read_text(encoding="utf-8")
    rule = snakefile[snakefile.index("rule count:") : snakefile.index("rule count_gather:")]
    assert "threads: 3" in rule
    assert "mem_mb=300," in rule
    assert "runtime=6," in rule  # 3 minutes per element, batches of up to 2 elements


# The same workflow with a tool that reads its input on stdin; its output type is the %s.
STDIN_WORKFLOW = (
    WORKFLOW.format(command="[wc, -c]", requirements="")
    .replace("f: {type: File, inputBinding: {position: 1}}", "f: File")
    .replace("stdout: counted.txt", "stdin: $(inputs.f.path)\n      stdout: counted.txt")
    .replace("counted: stdout", "counted: %s")
)


@pytest.mark.parametrize(
    ("output", "links"),
    [
        ("stdout", False),  # read on stdin (from the file itself), output named when planning
        ("{type: 'File?', outputBinding: {glob: counted.txt}}", True),  # collected by cwltool
    ],
    ids=["named", "collected"],
)
def test_an_input_link_nothing_can_name_is_not_made(tmp_path: Path, output: str, links: bool):
    """cwltool links every input into a stage folder; a link no argument, variable or
    redirection names (and no output is collected through) cannot be reached: one fork less."""
    tool, job = write_workflow(tmp_path, ["a.txt", "b.txt", "c.txt"])
    tool.write_text(STDIN_WORKFLOW % output, encoding="utf-8")
    run_dir = tmp_path / "run"
    prepare(tool, job, run_dir, max_jobs=1)
    script = (run_dir / batch_script("count", 0)).read_text(encoding="utf-8")
    assert ("ln -sfn" in script) is links
    done = run_batch(run_dir, 0)
    assert done.returncode == 0, done.stderr
    collect_node(run_dir, "count")
    assert [text.split()[0] for text in counted(run_dir)] == ["1", "2", "3"]


def test_an_input_the_command_names_is_linked(tmp_path: Path):
    tool, job = write_workflow(tmp_path, ["a.txt", "b.txt"])
    run_dir = tmp_path / "run"
    prepare(tool, job, run_dir, max_jobs=1)
    script = (run_dir / batch_script("count", 0)).read_text(encoding="utf-8")
    assert script.count("ln -sfn") == 2

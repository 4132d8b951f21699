"""The profile contract on the local profile (always available), and what only it tests:
the job runner's per-element reruns, staging at the same paths in every run folder, and a
finished run folder run again with another profile."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ossrflow.run.execute import RunOptions, RunResult, run_workflow
from ossrflow.run.facts import read_job_facts
from ossrflow.run.profiles import load_profile
from ossrflow.run.rundir import default_run_dir
from tests.integration.contract import ProfileContract, facts_files, rewritten, write_job


class TestLocalProfile(ProfileContract):
    __test__ = True
    profile_name = "local"


# sha256sum prints its input's path: staged at a path that depends on content, not the run.
SUMS = """\
cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs:
  files: File[]
outputs:
  sums: {type: "File[]", outputSource: sum/out}
  hinted_sums: {type: "File[]", outputSource: hinted/out}
steps:
  sum:
    scatter: f
    in: {f: files}
    out: [out]
    run: &tool
      class: CommandLineTool
      baseCommand: sha256sum
      inputs:
        f: {type: File, inputBinding: {position: 1}}
      stdout: sum.txt
      outputs: {out: stdout}
  hinted:
    scatter: f
    in: {f: files}
    out: [out]
    hints: {DockerRequirement: {dockerPull: "ossrflow/none:local"}}
    run: *tool
"""


def sums_job(folder: Path) -> tuple[Path, Path]:
    tool = folder / "sums.cwl"
    tool.write_text(SUMS, encoding="utf-8")
    files = []
    for name in ("a", "b", "c"):
        (folder / f"{name}.txt").write_text(f"{name}\n", encoding="utf-8")
        files.append({"class": "File", "path": str(folder / f"{name}.txt")})
    return tool, write_job(folder, "sums.json", {"files": files})


def run(tool: Path, job: Path, run_dir: Path, profile: str = "local") -> RunResult:
    options = RunOptions(load_profile(profile), jobs=2, container="none")
    return run_workflow(str(tool), str(job), run_dir=run_dir, outdir=None, options=options)


def output_texts(run_dir: Path, step: str) -> list[str]:
    return [(run_dir / f"steps/{step}/{i}/out/sum.txt").read_text() for i in range(3)]


def test_tools_that_print_their_input_paths_rerun_identically(tmp_path: Path):
    tool, job = sums_job(tmp_path)
    for folder in ("first", "second"):
        run(tool, job, tmp_path / folder)
    for step in ("sum", "hinted"):  # precomputed commands, and the job runner
        first, second = (
            output_texts(tmp_path / "first", step),
            output_texts(tmp_path / "second", step),
        )
        assert first == second
        assert "/work/" not in first[0] and "/stage/" in first[0]


def test_the_job_runner_reruns_only_the_element_whose_input_changed(tmp_path: Path):
    tool, job = sums_job(tmp_path)
    run_dir = tmp_path / "run"
    run(tool, job, run_dir)
    before = facts_files(run_dir)
    (tmp_path / "c.txt").write_text("C\n", encoding="utf-8")
    result = run(tool, job, run_dir)
    assert rewritten(before, facts_files(run_dir)) == ["hinted/2", "sum/2"]
    assert (
        result.reuse == "4 of 6 jobs were already done by profile local; 2 ran with profile local"
    )
    digest = hashlib.sha256(b"C\n").hexdigest()
    assert [text.split()[0] for text in output_texts(run_dir, "hinted")][2] == digest


def test_another_profile_says_the_jobs_were_done_and_keeps_their_facts(tmp_path: Path):
    tool, job = sums_job(tmp_path)
    run_dir = tmp_path / "run"
    run(tool, job, run_dir)
    mine = tmp_path / "my-profile"
    shutil.copytree(load_profile("local").path, mine)
    options = RunOptions(load_profile(str(mine)), jobs=2, container="none")
    result = run_workflow(str(tool), str(job), run_dir=run_dir, outdir=None, options=options)
    assert result.reuse == "6 of 6 jobs were already done by profile local; nothing ran"
    facts = read_job_facts(run_dir, "sum", 0)
    assert facts is not None and facts.profile == "local"
    assert default_run_dir(tool, job, "local") != default_run_dir(tool, job, str(mine))
    assert default_run_dir(tool, job, "local") == default_run_dir(tool, job)


SCHEDULER_TOOLS = ("scontrol", "sinfo", "squeue", "sbatch", "sacct", "condor_q", "condor_submit")


def test_a_local_run_never_calls_a_scheduler_tool(tmp_path: Path, monkeypatch):
    """Slurm's and HTCondor's commands on PATH that hang: a local run finishes without them."""
    tools, called = tmp_path / "bin", tmp_path / "called.txt"
    tools.mkdir()
    for name in SCHEDULER_TOOLS:
        fake = tools / name
        fake.write_text(f'#!/bin/sh\necho "{name} $*" >> "{called}"\nsleep 600\n')
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    tool, job = sums_job(tmp_path)
    result = run(tool, job, tmp_path / "run")
    assert result.jobs is not None and result.jobs.ran > 0
    assert not called.exists(), called.read_text()


# A format checked against the tool's own ontology ($schemas): only the ontology says that
# ex:fasta is an ex:sequence (the tool, its ontology and a job: tests/data/cwl/formatted).
FORMATTED = Path(__file__).resolve().parents[1] / "data" / "cwl" / "formatted"


def test_a_job_checks_formats_against_the_tools_ontology_warm_and_cold(tmp_path: Path):
    """The forked job sees the ontology the planner loaded; a cold job (a cluster's) reads it
    from the run folder's schema cache, also when the planner took the schemas from the user's
    cache, which an earlier run wrote without that ontology."""
    formatted = shutil.copytree(FORMATTED, tmp_path / "formatted")
    tool, job = formatted / "formatted.cwl", formatted / "formatted-job.yml"
    env = {k: v for k, v in os.environ.items() if k != "OSSRFLOW_WARM"}
    cache, run_dir = tmp_path / "cache", tmp_path / "run"
    for what in (sums_job(tmp_path), (tool, job)):  # the first fills the user's cache
        folder = tmp_path / "first" if what[0] != tool else run_dir
        command = [sys.executable, "-m", "ossrflow", "-q", "run", str(what[0]), str(what[1])]
        command += ["--run-dir", str(folder), "--cache-dir", str(cache), "--container", "none"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
    assert ": run tool" in (run_dir / ".ossrflow" / "warm-worker.log").read_text()
    (run_dir / "steps" / "tool" / "cwl.output.json").unlink()
    cold = subprocess.run(
        [sys.executable, "-m", "ossrflow.run.job", "run", "tool"],
        cwd=run_dir, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert cold.returncode == 0, cold.stderr
    assert (run_dir / "steps" / "tool" / "cwl.output.json").is_file()

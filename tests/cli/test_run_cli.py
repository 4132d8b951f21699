"""``ossrflow run`` and ``ossrflow-cwl-runner``: whole outputs and exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ossrflow.cli import main
from ossrflow.run.warm import CLIENT as WARM_CLIENT
from tests.conftest import DATA
from tests.integration.contract import file_output

CWL = DATA / "cwl"
RUNNER = [sys.executable, "-c", "from ossrflow.cli.cwl_runner import main; main()"]


def invoke(*args: str) -> tuple[int | str | None, str, str]:
    """Run through ``main()`` (the error boundary) inside CliRunner's isolation."""
    code: int | str | None = None
    with CliRunner().isolation() as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    run_dir = tmp_path / "run"
    code, out, _ = invoke(
        "run",
        str(CWL / "shout.cwl"),
        str(CWL / "shout-job.yml"),
        "--run-dir",
        str(run_dir),
        "--dry-run",
    )
    assert code == 0
    profile = Path(__file__).resolve().parents[2] / "profiles" / "local"
    assert out == (
        f"run directory: {run_dir}\n"
        f"Snakefile:     {run_dir / 'Snakefile'}\n"
        f"profile:       local ({profile}), executor local\n"
        "nothing was run (dry run); jobs that would run or be submitted:\n"
        "\n"
        "Job stats:\n"
        "job      count\n"
        "-----  -------\n"
        "tool         1\n"
        "all          1\n"
        "total        2\n"
        "\n"
        "\n"
        "rule tool:\n"
        "    output: steps/tool/cwl.output.json\n"
        "    log: steps/tool/job.log\n"
        "    reason: Missing output files: steps/tool/cwl.output.json\n"
        f"    resources: tmpdir={tmp_path}\n"
        f"Shell command: {sys.executable} -I -S {WARM_CLIENT} {sys.executable} -m ossrflow.run.job"
        " run tool > steps/tool/job.log 2>&1\n"
    )
    assert not (run_dir / "steps" / "tool" / "job.log").exists()
    assert not (run_dir / "results").exists()


def test_run_prints_the_output_object_and_resumes(tmp_path: Path):
    args = ["run", str(CWL / "shout.cwl"), str(CWL / "shout-job.yml"), "--run-dir", str(tmp_path)]
    code, out, err = invoke(*args, "--outdir", str(tmp_path / "out"))
    assert code == 0, err
    expected = {"shouted": file_output(tmp_path / "out" / "shout.txt", "HELLO OSSRFLOW\n")}
    assert json.loads(out) == expected
    assert err.splitlines()[-2:] == [
        "[ossrflow] 2/2 jobs done, 0 running, 0 pending",
        f"record: {tmp_path / 'provenance'}",
    ]
    marker = tmp_path / "steps" / "tool" / "cwl.output.json"
    before = marker.stat().st_mtime_ns
    code, out, err = invoke(*args, "--outdir", str(tmp_path / "out"), "--report")
    assert (code, json.loads(out), marker.stat().st_mtime_ns) == (0, expected, before)
    assert err.splitlines()[-1] == f"report: {tmp_path / 'report.html'}"
    assert (tmp_path / "report.html").stat().st_size > 0


def test_a_failed_step_is_one_line_and_exit_1(tmp_path: Path):
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"counter": str(tmp_path / "count")}))
    command = [sys.executable, "-m", "ossrflow", "run", str(CWL / "flaky.cwl"), str(job)]
    result = subprocess.run(
        [*command, "--run-dir", str(tmp_path / "run")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[-1] == (
        f"error: {tmp_path / 'run' / 'steps' / 'tool' / 'job.log'}: step tool failed: "
        "exit status 1 (fix: read the log; once the cause is fixed, the same command reruns "
        "only what failed)"
    )


def test_a_run_folder_run_with_another_profile_says_what_was_already_done(tmp_path: Path):
    args = ["run", str(CWL / "shout.cwl"), str(CWL / "shout-job.yml"), "--run-dir", str(tmp_path)]
    assert invoke(*args)[0] == 0
    mine = tmp_path / "my-profile"
    shutil.copytree(Path(__file__).resolve().parents[2] / "profiles" / "local", mine)
    code, out, err = invoke(*args, "--profile", str(mine))
    assert code == 0
    assert json.loads(out)["shouted"]["size"] == 15
    assert err.splitlines()[-2:] == [
        "1 of 1 jobs were already done by profile local; nothing ran",
        f"record: {tmp_path / 'provenance'}",
    ]


def test_a_definition_takes_no_job_file(tmp_path: Path):
    definition = tmp_path / "analysis.yml"
    definition.write_text("steps: {}\n")
    code, _, err = invoke("run", str(definition), str(CWL / "shout-job.yml"))
    assert code == 2
    assert err == (
        f"error: {CWL / 'shout-job.yml'}: a definition names its own inputs; no job file is taken "
        "(fix: drop the job file, or run the composed workflow.cwl with it)\n"
    )


def runner(*args: str, cwd: Path, tmp: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ | ({"TMPDIR": str(tmp)} if tmp is not None else {})
    return subprocess.run(
        [*RUNNER, *args], capture_output=True, text=True, check=False, cwd=cwd, env=env
    )


def test_cwl_runner_prints_the_output_object(tmp_path: Path):
    done = runner(
        "--outdir",
        str(tmp_path),
        "--quiet",
        str(CWL / "shout.cwl"),
        str(CWL / "shout-job.yml"),
        cwd=tmp_path,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {
        "shouted": file_output(tmp_path / "shout.txt", "HELLO OSSRFLOW\n")
    }


def test_cwl_runner_keeps_a_record_where_provenance_says(tmp_path: Path):
    record = tmp_path / "record"
    args = ["--outdir", str(tmp_path / "out"), "--quiet", "--provenance", str(record)]
    done = runner(*args, str(CWL / "shout.cwl"), str(CWL / "shout-job.yml"), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    crate = json.loads((record / "ro-crate-metadata.json").read_text(encoding="utf-8"))
    assert crate["@graph"]
    again = runner(*args, str(CWL / "shout.cwl"), str(CWL / "shout-job.yml"), cwd=tmp_path)
    assert (again.returncode, again.stdout) == (2, "")
    assert again.stderr == (
        f"error: {record}: the record folder exists and is not empty "
        "(fix: name a new folder for --provenance)\n"
    )


@pytest.mark.parametrize(
    ("entry", "kind", "where"),
    [
        ({"class": "File", "path": "b.txt"}, "file", "files[1]"),
        ({"class": "Directory", "location": "nowhere"}, "folder", "folder"),
    ],
)
def test_a_missing_input_is_named_with_its_input_and_the_fix(
    tmp_path: Path, entry: dict[str, str], kind: str, where: str
):
    (tmp_path / "a.txt").write_text("a\n")
    (tmp_path / "data").mkdir()
    files = [{"class": "File", "path": "a.txt"}]
    folder = {"class": "Directory", "location": "data"}
    if kind == "file":
        files.append(entry)
    else:
        folder = entry
    job = {"files": files, "folder": folder}
    (tmp_path / "job.json").write_text(json.dumps(job))
    run_dir = tmp_path / "run"
    code, out, err = invoke(
        "run", str(CWL / "content.cwl"), str(tmp_path / "job.json"), "--run-dir", str(run_dir)
    )
    missing = tmp_path / ("b.txt" if kind == "file" else "nowhere")
    assert (code, out) == (2, "")
    assert err == (
        f"error: {tmp_path / 'job.json'}:{where}: the {kind} {missing} does not exist "
        f"(fix: correct its path; a relative path is read from {tmp_path})\n"
    )
    assert not (run_dir / "Snakefile").exists(), "nothing was planned"


@pytest.mark.parametrize(
    ("tool", "job", "code", "message"),
    [
        ("operation.cwl", None, 33, "abstract Operation cannot run (fix: not supported yet)"),
        ("shout.cwl", None, 2, "Missing required input parameter 'message'"),
    ],
)
def test_cwl_runner_exit_codes(tmp_path: Path, tool, job, code, message):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = runner("--quiet", str(CWL / tool), *([job] if job else []), cwd=tmp_path, tmp=scratch)
    assert done.returncode == code
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr
    # Nothing ran: its temporary run folder is gone (one that ran keeps the logs its error names).
    assert list(scratch.glob("ossrflow-run-*")) == []


# --- containers ------------------------------------------------------------------------------

BUSYBOX_TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
{section}:
  DockerRequirement:
    dockerPull: ossrflow/busybox:local
baseCommand: [echo, natively]
stdout: out.txt
inputs: []
outputs:
  out: stdout
"""


def busybox_tool(folder: Path, section: str) -> Path:
    path = folder / f"{section}.cwl"
    path.write_text(BUSYBOX_TOOL.format(section=section))
    return path


def test_run_refuses_an_unknown_engine(tmp_path: Path):
    code, out, err = invoke("run", str(busybox_tool(tmp_path, "hints")), "--container", "rkt")
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        "error: ossrflow run: Invalid value for '--container': 'rkt' is not one of 'docker', "
        "'podman', 'apptainer', 'none' (fix: see `ossrflow run --help`)"
    )


def test_run_without_containers_exits_33_for_a_required_image(tmp_path: Path):
    tool = busybox_tool(tmp_path, "requirements")
    args = ["run", str(tool), "--container", "none", "--run-dir", str(tmp_path / "run")]
    code, out, err = invoke(*args)
    assert (code, out) == (33, "")
    assert err == (
        f"error: {tool}:requirements.DockerRequirement: the tool requires a container "
        "(DockerRequirement under requirements) and this run uses no container engine (fix: "
        "choose an engine with --container docker|podman|apptainer (set one up with "
        "scripts/containers/), or move the DockerRequirement to hints)\n"
    )
    assert not (tmp_path / "run" / "Snakefile").exists()  # refused before anything was planned


def test_cwl_runner_no_container_runs_a_hinted_tool_natively(tmp_path: Path):
    tool = busybox_tool(tmp_path, "hints")
    done = runner("--outdir", str(tmp_path), "--quiet", "--no-container", str(tool), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == {"out": file_output(tmp_path / "out.txt", "natively\n")}


def test_cwl_runner_no_container_exits_33_for_a_required_image(tmp_path: Path):
    tool = busybox_tool(tmp_path, "requirements")
    done = runner("--quiet", "--no-container", str(tool), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (33, "")
    assert done.stderr.count("\n") == 1
    assert "the tool requires a container (DockerRequirement under requirements)" in done.stderr


def test_cwl_runner_takes_one_engine_option(tmp_path: Path):
    tool = busybox_tool(tmp_path, "hints")
    done = runner("--container", "docker", "--no-container", str(tool), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.splitlines()[-1] == (
        "ossrflow-cwl-runner: error: argument --no-container: not allowed with argument --container"
    )

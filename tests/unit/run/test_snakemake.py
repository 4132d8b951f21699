"""Parsing Snakemake's log (progress, failures) and the Snakemake command line ossrflow runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ossrflow.errors import InputError, WorkflowFailed
from ossrflow.run.options import RunOptions
from ossrflow.run.profiles import load_profile
from ossrflow.run.snakehost import EXECUTOR_ENV
from ossrflow.run.snakemake import (
    JobFailure,
    Progress,
    failure_of,
    parse_failures,
    parse_progress,
    run_snakemake,
    snakemake_command,
)
from ossrflow.run.warm import NAME as WARM_NAME

# Recorded from Snakemake 9.27.1 (a tool exiting 1, then a job exiting 33).
FAILED_LOG = """\
[Sat Nov 28 11:12:05 2026]
localrule tool:
    input: steps/@inputs/cwl.output.json
    output: steps/tool/cwl.output.json
    log: steps/tool/job.log
    jobid: 1
RuleException:
CalledProcessError in file "/tmp/rf/Snakefile", line 14:
Command 'set -euo pipefail;  /venv/bin/python3 -m ossrflow.run.job run tool > steps/tool/job.log 2>&1' returned non-zero exit status 1.
[Sat Nov 28 11:12:06 2026]
Error in rule tool:
    message: None
    jobid: 1
    input: steps/@inputs/cwl.output.json
    output: steps/tool/cwl.output.json
    log: steps/tool/job.log (check log file(s) for error details)
    shell:
        /venv/bin/python3 -m ossrflow.run.job run tool > steps/tool/job.log 2>&1
        (command exited with non-zero exit code)
Command 'set -euo pipefail;  /venv/bin/python3 -m ossrflow.run.job run other 3 > steps/other/3/job.log 2>&1' returned non-zero exit status 33.
Error in rule other:
    message: None
    jobid: 7
    shell:
        /venv/bin/python3 -m ossrflow.run.job run other 3
Shutting down, this might take some time.
Exiting because a job execution failed. Look above for error messages
"""


def test_progress_lines_give_done_and_total():
    assert parse_progress("3 of 10 steps (30%) done") == (3, 10)
    assert parse_progress("  10 of 10 steps (100%) done\n") == (10, 10)
    assert parse_progress("Finished jobid: 3 (Rule: tool)") is None


def test_progress_counts_pending_jobs():
    assert Progress(done=2, total=10, running=3).pending == 5
    assert Progress(done=10, total=10, running=1).pending == 0


def test_failures_name_rule_log_and_exit_status():
    assert parse_failures(FAILED_LOG) == [
        JobFailure("tool", "steps/tool/job.log", 1),
        JobFailure("other", None, 33),
    ]
    assert parse_failures("Nothing to be done.\n") == []


def test_snakemake_command_for_a_local_run(tmp_path: Path):
    profile = load_profile("local")
    command = snakemake_command(tmp_path, RunOptions(profile, jobs=3, retries=2, dry_run=True))
    assert command == [
        sys.executable,
        "-m",
        "ossrflow.run.snakehost",
        str(os.getpid()),
        "--snakefile",
        str(tmp_path / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--profile",
        str(profile.path),
        "--nolock",
        "--rerun-incomplete",
        "--retries",
        "2",
        "--cores",
        "3",
        "--dry-run",
    ]


def test_cluster_profiles_limit_jobs_not_cores(tmp_path: Path):
    command = snakemake_command(tmp_path, RunOptions(load_profile("slurm"), jobs=50))
    assert command[-2:] == ["--jobs", "50"]


# Recorded from Snakemake 9.27.1: batch 1 of a scatter of precomputed commands failed.
BATCH_LOG = """\
RuleException:
CalledProcessError in file "/tmp/st/f1/Snakefile", line 25:
Command 'set -euo pipefail;  bash steps/check/batches/1.sh > steps/check/batches/1.log 2>&1' returned non-zero exit status 1.
[Wed Dec  2 23:19:11 2026]
Error in rule check:
    message: None
    jobid: 3
    output: steps/check/batches/1.done
    log: steps/check/batches/1.log (check log file(s) for error details)
    shell:
        bash steps/check/batches/1.sh > steps/check/batches/1.log 2>&1
        (command exited with non-zero exit code)
Shutting down, this might take some time.
Exiting because a job execution failed. Look above for error messages
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_failed_element_of_a_batch_is_named_with_its_input_status_and_stderr(tmp_path: Path):
    element_log = write(tmp_path / "steps/check/1/job.log", "checking b.txt\nno a in b.txt\n")
    write(
        tmp_path / "steps/check/batches/1.log",
        f"element 1 (f=b.txt) failed with exit status 3 (log: {element_log})\n"
        "1 element(s) of this batch failed\n",
    )
    error = failure_of(tmp_path, BATCH_LOG, 1)
    assert isinstance(error, WorkflowFailed)
    assert str(error) == (
        f"{element_log}: step check, element 1 (f=b.txt) failed: exit status 3: no a in b.txt "
        "(fix: read the log; once the cause is fixed, the same command reruns only what failed)"
    )


def test_a_killed_element_says_that_running_again_resumes(tmp_path: Path):
    element_log = write(tmp_path / "steps/check/0/job.log", "")
    write(
        tmp_path / "steps/check/batches/1.log",
        f"element 0 failed with exit status 137 (log: {element_log})\n",
    )
    assert str(failure_of(tmp_path, BATCH_LOG, 1)) == (
        f"{element_log}: step check, element 0 failed: killed by signal SIGKILL (exit status "
        "137) (fix: run the same command again to resume: finished jobs are kept)"
    )


def test_a_job_runner_failure_is_the_jobs_own_line(tmp_path: Path):
    log = write(
        tmp_path / "steps/tool/job.log",
        "WARNING [job tool] exited with status: 1\n"
        "error: step tool failed: exit status 1: cat: x: No such file (fix: read the step's log)\n",
    )
    assert str(failure_of(tmp_path, FAILED_LOG, 1)) == (
        f"{log}: step tool failed: exit status 1: cat: x: No such file (fix: read the log; once "
        "the cause is fixed, the same command reruns only what failed)"
    )


def test_a_job_that_died_without_its_error_line_is_resumable(tmp_path: Path):
    log = write(tmp_path / "steps/tool/job.log", "half a line of tool output\n")
    assert str(failure_of(tmp_path, FAILED_LOG, 1)) == (
        f"{log}: step tool stopped without an error of its own (exit status 1) (fix: run the "
        "same command again to resume: finished jobs are kept)"
    )


def test_a_job_refused_on_bad_input_keeps_its_error_and_exit_2(tmp_path: Path):
    output = tmp_path / "steps/tool/out/cwl.output.json"
    write(
        tmp_path / "steps/tool/job.log",
        f"ERROR Exception while running job: {output}: values are nested more than 128 levels "
        "deep (fix: the tool wrote it).\n"
        f"error: {output}: values are nested more than 128 levels deep (fix: the tool wrote it)\n",
    )
    snakemake_log = FAILED_LOG.replace("exit status 1.", "exit status 2.")
    error = failure_of(tmp_path, snakemake_log, 1)
    assert (type(error), error.exit_code) == (InputError, 2)
    assert str(error) == (
        f"{output}: values are nested more than 128 levels deep (fix: the tool wrote it)"
    )


# Snakemake's own process parses the Snakefile (after it discovered its plugins) and records
# which executor plugins it imported; the shell job needs no Python of its own.
SNIFF_SNAKEFILE = """\
import sys

with open("modules.txt", "w") as handle:
    handle.write(" ".join(m for m in sys.modules if m.startswith("snakemake_executor_plugin_")))

rule all:
    output: "done.txt"
    shell: "touch {output}"
"""


@pytest.mark.parametrize(
    ("executor", "status"), [("local", 0), (None, 0), ("local", 1)], ids=["local", "all", "fails"]
)
def test_snakehost_loads_only_the_profiles_executor_plugin(tmp_path: Path, executor, status):
    """A local run never imports the slurm plugin (pandas, `scontrol show config`), and the
    host ends with Snakemake's own exit status without waiting on its idle timers."""
    snakefile = SNIFF_SNAKEFILE if status == 0 else "rule all:\n    shell: 'exit 3'\n"
    (tmp_path / "Snakefile").write_text(snakefile)
    env = {k: v for k, v in os.environ.items() if k != EXECUTOR_ENV}
    if executor:
        env[EXECUTOR_ENV] = executor
    command = [sys.executable, "-m", "ossrflow.run.snakehost", str(os.getpid())]
    command += ["--snakefile", "Snakefile", "--cores", "1", "--quiet", "all"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == status, done.stderr
    if status:
        return
    loaded = (tmp_path / "modules.txt").read_text().split()
    if executor == "local":
        assert loaded == []
    else:
        assert "snakemake_executor_plugin_slurm" in loaded


def _run_processes(run_dir: Path) -> list[str]:
    """This machine's processes that belong to ``run_dir``: its Snakemake host (by command
    line) and its warm worker (by process name and working folder)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            name = (proc / "comm").read_text().strip()
            cwd = str((proc / "cwd").readlink())
        except (OSError, ValueError):
            continue
        if str(run_dir) in command and "snakehost" in command:
            found.append(command)
        elif name == WARM_NAME and cwd == str(run_dir):
            found.append(name)
    return found


def test_snakemake_waits_for_the_plan_and_stops_without_it(tmp_path: Path):
    """The host starts before planning (its imports overlap it); a planning error ends it, and
    no warm worker is forked for a run that was never planned."""
    options = RunOptions(load_profile("local"))
    seen: list[str] = []

    def prepare() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not seen:
            seen[:] = _run_processes(tmp_path)  # a just-started process may not show at once
            time.sleep(0.05)
        raise InputError("the job order is bad", source="job.yml")

    with pytest.raises(InputError, match="the job order is bad"):
        run_snakemake(tmp_path, options, prepare=prepare)
    assert any("snakehost" in c for c in seen), seen
    assert WARM_NAME not in seen
    assert _run_processes(tmp_path) == []
    assert not (tmp_path / "snakemake.log").exists()  # Snakemake never ran


def _python(script: str, *args: str, cwd: Path | None = None) -> str:
    """What ``script`` prints, run by a fresh interpreter (the host's imports start empty)."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout


LISTING_SCRIPT = """
import pkgutil, sys
scans = []
original = pkgutil.iter_modules
def counted(*args, **kwargs):
    scans.append(args)
    return original(*args, **kwargs)
pkgutil.iter_modules = counted
everything = [m.name for m in original()]
from ossrflow.run.snakehost import only_executor_plugin
only_executor_plugin("local")
first = [m.name for m in pkgutil.iter_modules()]
second = [m.name for m in pkgutil.iter_modules()]
sys.path.append(sys.argv[1])  # a new folder on the path: listed again
third = [m.name for m in pkgutil.iter_modules()]
print(len(scans), first == second, "tool_on_new_path" in third, "tool_on_new_path" in first)
print(sorted(set(everything) - set(first)))
"""


def test_snakehost_lists_the_installed_modules_once_for_every_plugin_registry(tmp_path: Path):
    (tmp_path / "tool_on_new_path.py").write_text("")
    counts, hidden = _python(LISTING_SCRIPT, str(tmp_path)).splitlines()
    assert counts == "2 True True False"  # one scan per sys.path, the same list each time
    hidden_names = hidden.strip("[]").replace("'", "").split(", ")
    assert "snakemake_executor_plugin_slurm" in hidden_names  # other executors stay hidden
    assert all(name.startswith("snakemake_executor_plugin_") for name in hidden_names)


REPORTS_SCRIPT = """
import sys
from ossrflow.run.snakehost import without_reports
args = sys.argv[1:]
without_reports(args)
from snakemake.cli import parse_args
from snakemake_interface_report_plugins.registry import ReportPluginRegistry
parse_args(["--snakefile", "Snakefile", *args])
print(ReportPluginRegistry().get_registered_plugins(), "docutils" in sys.modules)
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "[] False"),
        (["--report", "r.html"], "['html'] True"),
        (["--report=r.html"], "['html'] True"),
    ],
)
def test_snakehost_imports_the_report_package_only_for_a_report(
    tmp_path: Path, args: list[str], expected: str
):
    assert _python(REPORTS_SCRIPT, *args, cwd=tmp_path).strip() == expected


YTE_SCRIPT = """
import sys
from ossrflow.run.snakehost import only_executor_plugin, without_reports, yte_without_numpy
only_executor_plugin("local")  # as the host does: the slurm plugin imports pandas
without_reports([])
yte_without_numpy()
from snakemake.cli import parse_args
_, parsed = parse_args(["--snakefile", "Snakefile", "--profile", sys.argv[1]])
print(parsed.scheduler, parsed.latency_wait, "numpy" in sys.modules)
import numpy
print(numpy.__name__)
"""


def test_snakehost_reads_the_profile_without_importing_numpy(tmp_path: Path):
    printed = _python(YTE_SCRIPT, str(load_profile("local").path), cwd=tmp_path)
    assert printed.splitlines() == ["greedy 1 False", "numpy"]  # still importable

"""Parsing Snakemake's log (progress, failures) and the Snakemake command line ossrflow runs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ossrflow.run.options import RunOptions
from ossrflow.run.profiles import load_profile
from ossrflow.run.snakemake import (
    JobFailure,
    Progress,
    parse_failures,
    parse_progress,
    snakemake_command,
)

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

"""The profile contract on HTCondor: every tool job runs as an HTCondor job (checked in history).

The single-node pool comes from ``scripts/cluster/htcondor.sh start`` (``make test`` starts it
first; starting it again is a no-op). It runs in a Debian trixie chroot, and Snakemake's htcondor
executor must run beside it, so each case runs the real ``ossrflow run`` command inside the chroot
(``htcondor.sh exec``, with the chroot venv's ossrflow, installed from this repository) in a work
folder that the pool's user owns. Where the pool cannot start, these tests skip with the reason,
or fail when ``CI=true``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ossrflow.errors import WorkflowFailed
from ossrflow.run.execute import RunResult
from ossrflow.run.facts import JobFacts
from ossrflow.run.profiles import Profile, load_profile
from tests.conftest import REPO
from tests.integration.contract import CWL, ProfileContract
from tests.support.services import start_cluster

pytestmark = pytest.mark.htcondor
SCRIPT = REPO / "scripts" / "cluster" / "htcondor.sh"
_SUBMITTED = re.compile(r"^Job (\d+) submitted to HTCondor Cluster ID (\d+)", re.MULTILINE)
_REMOTE_RULE = re.compile(r"^rule \w+:$", re.MULTILINE)
_COMPLETED = "4"  # HTCondor JobStatus of a job that terminated on its own


@pytest.fixture(scope="session")
def htcondor_pool() -> Iterator[None]:
    start_cluster(SCRIPT, "HTCondor test pool", 900)
    yield


def in_pool(*command: str) -> str:
    """Run ``command`` inside the pool's chroot as its user; its stdout (fails on an error)."""
    done = subprocess.run(
        ["bash", str(SCRIPT), "exec", "--", *command],
        capture_output=True,
        text=True,
        cwd=REPO,  # exec runs in the caller's directory, which the chroot must share
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{' '.join(command)} failed: {done.stderr}"
    return done.stdout


def parse_submissions(log_text: str) -> list[tuple[str, str]]:
    """(Snakemake job id, HTCondor cluster id) of every submission, in order (retries too)."""
    return _SUBMITTED.findall(log_text)


def history(clusters: set[str]) -> dict[str, tuple[str, str]]:
    """``cluster id -> (JobStatus, ExitCode)`` of the clusters that have left the queue."""
    fields = ("ClusterId", "JobStatus", "ExitCode")
    text = in_pool("condor_history", *sorted(clusters), "-af", *fields)
    rows = [line.split() for line in text.splitlines() if line.strip()]
    return {row[0]: (row[1], row[2]) for row in rows if len(row) == 3}


class TestHTCondorProfile(ProfileContract):
    __test__ = True
    profile_name = "htcondor"
    slow_seconds = 10  # the kill must land while the HTCondor job still runs

    @pytest.fixture
    def profile(self, htcondor_pool: None) -> Profile:
        return load_profile("htcondor")

    @pytest.fixture
    def workdir(self, htcondor_pool: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
        """A fresh /tmp folder the pool's user owns (pytest's tmp_path is closed to it)."""
        made = subprocess.run(
            ["bash", str(SCRIPT), "workdir"], capture_output=True, text=True, check=True
        )
        folder = Path(made.stdout.strip())
        # `exec` passes OSSRFLOW_* on; the suite's isolated config and cache must be reachable.
        monkeypatch.setenv("OSSRFLOW_CONFIG", str(folder / "no-config.toml"))
        monkeypatch.setenv("OSSRFLOW_CACHE_DIR", str(folder / "cache"))
        try:
            yield folder
        finally:
            shutil.rmtree(folder)

    def cli_command(self, *args: str) -> list[str]:
        """``ossrflow ARGS...`` inside the chroot, from the repository (a dir the chroot shares).

        ``env`` and ``exec`` replace themselves: the pid of this command is ossrflow's.
        """
        chroot = ["bash", str(SCRIPT), "exec", "--", "python", "-m", "ossrflow", *args]
        return ["env", "-C", str(REPO), *chroot]

    def run(
        self, profile: Profile, tool: str, job: Path, run_dir: Path, **options: Any
    ) -> RunResult:
        """``ossrflow run`` in the chroot: its output object, or its one-line error."""
        args = ["run", str(CWL / tool), str(job), "--run-dir", str(run_dir)]
        args += ["--outdir", str(run_dir / "results"), "--profile", str(profile.path)]
        args += ["--jobs", "4", "--retries", str(options.pop("retries", 0))]
        assert not options, f"options the CLI runner does not pass: {options}"
        done = subprocess.run(
            self.cli_command(*args),
            capture_output=True,
            text=True,
            timeout=self.timeout,
            check=False,
        )
        if done.returncode == WorkflowFailed.exit_code:
            errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
            assert errors, done.stderr
            raise WorkflowFailed(errors[-1].removeprefix("error: "))
        assert done.returncode == 0, done.stderr
        return RunResult(run_dir, json.loads(done.stdout), run_dir / "snakemake.log")

    def busy(self, run_dir: Path) -> bool:
        """Local processes (the chroot's are visible here), or HTCondor jobs working in run_dir."""
        if super().busy(run_dir):
            return True
        folders = in_pool("condor_q", "-af", "Iwd").split()
        return any(Path(folder).is_relative_to(run_dir) for folder in folders)

    def check_scheduler_id(self, facts: JobFacts) -> None:
        """``ClusterId.ProcId`` of an HTCondor job that history shows completed."""
        assert facts.scheduler_job_id is not None, facts
        assert re.fullmatch(r"\d+\.\d+", facts.scheduler_job_id), facts
        cluster = facts.scheduler_job_id.split(".")[0]
        deadline = time.monotonic() + 30
        while (states := history({cluster})).get(cluster, ("", ""))[0] != _COMPLETED:
            if time.monotonic() > deadline:
                pytest.fail(f"condor_history does not show {cluster} completed: {states}")
            time.sleep(1)

    def check_jobs(self, run_dir: Path, tool_jobs: int) -> None:
        """Every job Snakemake did not run locally was submitted, and HTCondor ran each one.

        Counted per Snakemake job, not per scatter element: elements may be batched into fewer
        jobs, so there are at most ``tool_jobs`` jobs (and at least one).
        """
        log = (run_dir / "snakemake.log").read_text(encoding="utf-8")
        submissions = parse_submissions(log)
        assert len(submissions) == len(_REMOTE_RULE.findall(log)), "a job was not submitted"
        assert 0 < len({job for job, _ in submissions}) <= tool_jobs, submissions
        final = dict(submissions)  # the last attempt of each Snakemake job
        clusters = {cluster for _, cluster in submissions}
        deadline = time.monotonic() + 30
        while set(states := history(clusters)) != clusters:
            if time.monotonic() > deadline:
                pytest.fail(f"condor_history lacks jobs: {sorted(clusters - set(states))}")
            time.sleep(1)
        assert {c: s for c, (s, _) in states.items()} == dict.fromkeys(clusters, _COMPLETED)
        assert {c: states[c][1] for c in final.values()} == dict.fromkeys(final.values(), "0")

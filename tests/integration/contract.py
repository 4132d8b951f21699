"""What every execution profile must do, written once: simple, scatter, resume after kill, retry,
and rerun exactly what read an edited input (with each job's facts: who ran it, where, what).

``ProfileContract`` is not collected itself (``__test__ = False``); each profile's test module
subclasses it, names the profile and may override the ``profile`` and ``workdir`` fixtures (a
scheduler that cannot start: skip locally, fail when ``CI=true``) and ``check_jobs`` (e.g. every
step ran as a Slurm job). Every case runs ``ossrflow run``'s code path on real processes.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ossrflow.errors import WorkflowFailed
from ossrflow.run.batches import read_batches
from ossrflow.run.execute import RunOptions, RunResult, run_workflow
from ossrflow.run.facts import JobFacts, read_job_facts
from ossrflow.run.plan import node_output
from ossrflow.run.profiles import OSSRFLOW_FILE, Profile, load_profile
from ossrflow.run.reuse import snapshot_facts
from ossrflow.run.rundir import STEPS_DIR, UP_TO_DATE_STAMP
from ossrflow.run.warm import NAME as WARM_NAME
from tests.conftest import DATA

CWL = DATA / "cwl"
# What a run's processes carry in their command line: cold jobs and Snakemake under its host.
# The local warm worker and the jobs it forks carry the planner's: they are found by name
# (ossrflow-warm) and working folder (the run folder, or a job's folder in it).
_RUN_PROCESSES = (b"ossrflow.run.job", b"snakehost")


def write_job(folder: Path, name: str, values: dict[str, Any]) -> Path:
    path = folder / name
    path.write_text(json.dumps(values), encoding="utf-8")
    return path


def content_job(folder: Path) -> Path:
    """Three files and a folder of two for ``content.cwl``, and the job naming them."""
    data = folder / "data"
    (data / "folder").mkdir(parents=True)
    for name in ("a", "b", "c"):
        (data / f"{name}.txt").write_text(f"{name}\n", encoding="utf-8")
    for name in ("x", "y"):
        (data / "folder" / f"{name}.txt").write_text(f"{name}\n", encoding="utf-8")
    files = [{"class": "File", "path": str(data / f"{n}.txt")} for n in ("a", "b", "c")]
    folder_value = {"class": "Directory", "path": str(data / "folder")}
    return write_job(folder, "content.json", {"files": files, "folder": folder_value})


def facts_files(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Every job's facts file (``step`` or ``step/element``) with its inode and mtime."""
    steps = run_dir / STEPS_DIR
    return {
        str(Path(path).parent.relative_to(steps)): stamp
        for path, stamp in snapshot_facts(run_dir).items()
    }


def rewritten(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """The jobs whose facts are new: they ran again."""
    return sorted(name for name, stamp in after.items() if before.get(name) != stamp)


def file_output(path: Path, text: str, basename: str | None = None) -> dict[str, Any]:
    """The output object cwltool gives for a file with ``text`` in ``path``.

    Files of the same name land as ``name``, ``name_2``, ... and keep their ``basename``.
    """
    import hashlib

    data = text.encode()
    return {
        "basename": basename or path.name,
        "checksum": f"sha1${hashlib.sha1(data, usedforsecurity=False).hexdigest()}",
        "class": "File",
        "location": path.as_uri(),
        "path": str(path),
        "size": len(data),
    }


class ProfileContract:
    """The cases; subclasses set ``profile_name`` (and ``__test__ = True``)."""

    __test__ = False
    profile_name: ClassVar[str]
    timeout: ClassVar[float] = 300.0
    # How long the step that the resume case interrupts runs: long enough to be killed mid-way.
    slow_seconds: ClassVar[int] = 3

    @pytest.fixture
    def profile(self) -> Profile:
        return load_profile(self.profile_name)

    @pytest.fixture
    def workdir(self, tmp_path: Path) -> Path:
        return tmp_path

    def check_jobs(self, run_dir: Path, tool_jobs: int) -> None:
        """Profile-specific checks after a successful run of ``tool_jobs`` tool jobs."""

    def check_scheduler_id(self, facts: JobFacts) -> None:
        """The job id the scheduler gave the job (none when it ran locally)."""
        assert facts.scheduler_job_id is None, facts

    def busy(self, run_dir: Path) -> bool:
        """Whether anything still works for ``run_dir`` (here: local processes)."""
        return local_processes(run_dir)

    def cli_command(self, *args: str) -> list[str]:
        """The command line of ``ossrflow ARGS...`` (a profile may run it elsewhere: a chroot)."""
        return [sys.executable, "-m", "ossrflow", *args]

    def run(
        self, profile: Profile, tool: str, job: Path, run_dir: Path, **options: Any
    ) -> RunResult:
        return run_workflow(
            str(CWL / tool),
            str(job),
            run_dir=run_dir,
            outdir=run_dir / "results",
            options=RunOptions(profile, jobs=4, **options),
        )

    def test_simple(self, profile: Profile, workdir: Path) -> None:
        job = write_job(workdir, "job.json", {"message": "hello ossrflow"})
        result = self.run(profile, "shout.cwl", job, workdir / "run")
        shouted = workdir / "run" / "results" / "shout.txt"
        assert result.outputs == {"shouted": file_output(shouted, "HELLO OSSRFLOW\n")}
        self.check_jobs(workdir / "run", 1)

    def test_scatter(self, profile: Profile, workdir: Path) -> None:
        job = write_job(workdir, "job.json", {"words": ["alpha", "beta", "gamma"]})
        result = self.run(profile, "scatter.cwl", job, workdir / "run")
        results = workdir / "run" / "results"
        assert result.outputs == {
            "joined": file_output(results / "joined.txt", "ALPHA\nBETA\nGAMMA\n"),
            "lengths": [6, 5, 6],
            "shouted": [
                file_output(results / "shout.txt", "ALPHA\n"),
                file_output(results / "shout.txt_2", "BETA\n", "shout.txt"),
                file_output(results / "shout.txt_3", "GAMMA\n", "shout.txt"),
            ],
        }
        for step, count in (("shout", 3), ("measure", 3)):
            elements = sorted(p.name for p in (workdir / "run" / "steps" / step).glob("[0-9]*"))
            assert elements == [str(i) for i in range(count)], step
        self.check_jobs(workdir / "run", 7)

    def test_grouped_scatter_reruns_only_what_is_missing(
        self, profile: Profile, workdir: Path
    ) -> None:
        words = [f"word{i}" for i in range(10)]
        grouped = workdir / "grouped-profile"
        shutil.copytree(profile.path, grouped)
        (grouped / OSSRFLOW_FILE).write_text("max-jobs-per-step: 3\n", encoding="utf-8")
        job = write_job(workdir, "job.json", {"words": words})
        run_dir = workdir / "run"
        result = self.run(load_profile(str(grouped)), "wide.cwl", job, run_dir)
        shouted = [Path(item["path"]).read_text() for item in (result.outputs or {})["shouted"]]
        assert shouted == [f"WORD{i}\n" for i in range(10)]
        assert read_batches(run_dir, "shout").ranges == ((0, 4), (4, 7), (7, 10))
        self.check_jobs(run_dir, 3)
        # As a run killed before batch 1 finished leaves it: element 5 and everything after it
        # missing. Only batch 1 runs again, and in it only element 5.
        kept = run_dir / "steps/shout/4/out/shout.txt"
        before = kept.stat().st_mtime_ns
        lost = ["steps/shout/5/exit.code", "steps/shout/batches/1.done"]
        lost += [node_output("shout"), node_output("@outputs")]
        for path in lost:
            (run_dir / path).unlink()
        result = self.run(load_profile(str(grouped)), "wide.cwl", job, run_dir)
        shouted = [Path(item["path"]).read_text() for item in (result.outputs or {})["shouted"]]
        assert shouted == [f"WORD{i}\n" for i in range(10)]
        assert kept.stat().st_mtime_ns == before
        assert (run_dir / "steps/shout/5/exit.code").read_text().split()[0] == "0"
        log = (run_dir / "snakemake.log").read_text(encoding="utf-8")
        submitted = [line.split()[-1] for line in log.splitlines() if "output: " in line]
        assert [path for path in submitted if "/batches/" in path] == ["steps/shout/batches/1.done"]

    def test_an_edited_input_reruns_exactly_what_reads_it(
        self, profile: Profile, workdir: Path
    ) -> None:
        job = content_job(workdir)
        run_dir = workdir / "run"
        result = self.run(profile, "content.cwl", job, run_dir)
        first = facts_files(run_dir)
        every = ["join", "list", "size/0", "size/1", "size/2", "upper/0", "upper/1", "upper/2"]
        assert sorted(first) == every
        facts = read_job_facts(run_dir, "upper", 1)
        assert facts is not None and (facts.step, facts.element) == ("upper", 1)
        assert (facts.executor, facts.exit_code) == (profile.executor, 0)
        assert facts.profile in (profile.name, str(profile.path)) and facts.host
        assert [(c.command, c.package, c.container) for c in facts.commands] == [
            ("tr", "coreutils", None)
        ]
        assert str(facts.commands[0].path).endswith("/tr")
        self.check_scheduler_id(facts)

        (workdir / "data" / "b.txt").write_text("bb\n", encoding="utf-8")
        result = self.run(profile, "content.cwl", job, run_dir)
        second = facts_files(run_dir)
        assert rewritten(first, second) == ["join", "size/1", "upper/1"]
        outputs = result.outputs or {}
        assert outputs["sizes"] == [2, 3, 2]
        assert Path(outputs["joined"]["path"]).read_text() == "A\nBB\nC\n"

        # Same bytes, new times: nothing runs, even when Snakemake is asked (no up-to-date stamp).
        for touched in (workdir / "data" / "a.txt", workdir / "data" / "folder" / "x.txt"):
            touched.write_text(touched.read_text())
        (run_dir / UP_TO_DATE_STAMP).unlink()
        result = self.run(profile, "content.cwl", job, run_dir)
        assert rewritten(second, facts_files(run_dir)) == []
        assert (result.outputs or {})["sizes"] == [2, 3, 2]

        (workdir / "data" / "folder" / "y.txt").write_text("why\n", encoding="utf-8")
        result = self.run(profile, "content.cwl", job, run_dir)
        assert rewritten(second, facts_files(run_dir)) == ["list"]
        listed = Path((result.outputs or {})["listed"]["path"]).read_text()
        assert listed == "x.txt: x\ny.txt: why\n"

    def test_resume_after_kill(self, profile: Profile, workdir: Path) -> None:
        job = write_job(workdir, "job.json", {"message": "resume", "seconds": self.slow_seconds})
        run_dir = workdir / "run"
        command = self.cli_command("run", str(CWL / "slow.cwl"), str(job))
        command += ["--run-dir", str(run_dir), "--profile", str(profile.path)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for(run_dir / "steps" / "wait" / "job.log", process, self.timeout)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
        quick = run_dir / "steps" / "quick" / "cwl.output.json"
        finished = quick.stat().st_mtime_ns
        deadline = time.monotonic() + self.timeout
        while self.busy(run_dir):
            if time.monotonic() > deadline:
                pytest.fail(f"{run_dir} still busy {self.timeout} s after ossrflow was killed")
            time.sleep(0.5)
        assert not (run_dir / "steps" / "wait" / "cwl.output.json").exists()

        result = self.run(profile, "slow.cwl", job, run_dir)
        assert quick.stat().st_mtime_ns == finished
        log = (run_dir / "snakemake.log").read_text(encoding="utf-8")
        assert "rule quick:" not in log
        assert "rule wait:" in log
        assert result.outputs == {"slept": file_output(run_dir / "results" / "slept.txt", "")}

    def test_failure_names_the_step_and_a_rerun_retries_it(
        self, profile: Profile, workdir: Path
    ) -> None:
        counter = workdir / "attempts.txt"
        job = write_job(workdir, "job.json", {"counter": str(counter)})
        with pytest.raises(WorkflowFailed) as caught:
            self.run(profile, "flaky.cwl", job, workdir / "run")
        log = workdir / "run" / "steps" / "tool" / "job.log"
        assert str(caught.value) == (
            f"{log}: step tool failed: exit status 1 (fix: read the log; once the cause is "
            "fixed, the same command reruns only what failed)"
        )
        result = self.run(profile, "flaky.cwl", job, workdir / "run")
        assert result.outputs is not None and result.outputs["done"]["size"] == 5
        assert counter.read_text() == "x\nx\n"

    def test_retries_rerun_a_failed_step(self, profile: Profile, workdir: Path) -> None:
        counter = workdir / "attempts.txt"
        job = write_job(workdir, "job.json", {"counter": str(counter)})
        result = self.run(profile, "flaky.cwl", job, workdir / "run", retries=1)
        assert result.outputs is not None and result.outputs["done"]["basename"] == "done.txt"
        assert counter.read_text() == "x\nx\n"
        self.check_jobs(workdir / "run", 1)


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until ``path`` exists (the run reached it) or fail if the process ended first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before {path} appeared")
        if time.monotonic() > deadline:
            pytest.fail(f"{path} did not appear within {timeout} s")
        time.sleep(0.2)


def local_processes(run_dir: Path) -> bool:
    """Whether a Snakemake or job process of ``run_dir`` still runs on this machine."""
    marker = str(run_dir).encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            comm = (proc / "comm").read_text().strip()
            cwd = (proc / "cwd").readlink()
        except OSError:
            continue
        if marker in command and any(name in command for name in _RUN_PROCESSES):
            return True
        if comm == WARM_NAME and cwd.is_relative_to(run_dir):
            return True
    return False

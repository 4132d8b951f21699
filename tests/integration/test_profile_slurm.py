"""The profile contract on Slurm: every CWL step runs as a Slurm job (checked with sacct).

The single-node test cluster comes from ``scripts/cluster/slurm.sh start`` (``make test`` starts
it first; starting it again is a no-op). Where it cannot start, these tests skip with the reason,
or fail when ``CI=true``.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ossrflow.provenance.scan import parse_job_ids
from ossrflow.run.batches import batch_marker, read_batches
from ossrflow.run.facts import JobFacts
from ossrflow.run.job import read_plan
from ossrflow.run.plan import node_output
from ossrflow.run.profiles import Profile, load_profile
from ossrflow.run.rundir import BATCHES_FILE
from tests.conftest import REPO
from tests.integration.contract import ProfileContract
from tests.support.services import start_cluster

pytestmark = pytest.mark.slurm
SCRIPT = REPO / "scripts" / "cluster" / "slurm.sh"


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[None]:
    start_cluster(SCRIPT, "Slurm test cluster", 600)
    yield


def tool_outputs(run_dir: Path) -> list[str]:
    """The Snakemake output of every job that runs a tool (not the local bookkeeping jobs):
    a node's output object, an element's, or a batch marker for elements run in batches."""
    plan = read_plan(run_dir)
    outputs = []
    for node in plan.nodes:
        if node.kind not in {"tool", "step"}:
            continue
        if not node.scattered:
            outputs.append(node_output(node.key))
            continue
        if (run_dir / "steps" / node.key / BATCHES_FILE).is_file():
            batches = read_batches(run_dir, node.key)
            outputs += [batch_marker(node.key, b) for b in range(len(batches.ranges))]
            continue
        elements = sorted(
            int(p.name) for p in (run_dir / "steps" / node.key).glob("[0-9]*") if p.is_dir()
        )
        outputs += [node_output(node.key, i) for i in elements]
    return outputs


def sacct_states(job_ids: set[str]) -> dict[str, str]:
    done = subprocess.run(
        ["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", ",".join(sorted(job_ids))],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("|", 1) for line in done.stdout.split())


class TestSlurmProfile(ProfileContract):
    __test__ = True
    profile_name = "slurm"
    slow_seconds = 20  # the kill must land while the Slurm job still runs

    def busy(self, run_dir: Path) -> bool:
        """Local processes, or Slurm jobs of this run (named after its SLURM run ID) in squeue."""
        if super().busy(run_dir):
            return True
        log = (run_dir / "snakemake.log").read_text(encoding="utf-8")
        names = re.findall(r"SLURM run ID: (\S+)", log)
        if not names:
            return False
        queued = subprocess.run(
            ["squeue", "-h", "-o", "%i", "-n", ",".join(names)],
            capture_output=True,
            text=True,
            check=True,
        )
        return bool(queued.stdout.strip())

    @pytest.fixture
    def profile(self, slurm_cluster: None) -> Profile:
        return load_profile("slurm")

    def check_scheduler_id(self, facts: JobFacts) -> None:
        """A Slurm job id that sacct knows, COMPLETED."""
        assert facts.scheduler_job_id is not None and facts.scheduler_job_id.isdigit(), facts
        deadline = time.monotonic() + 30
        while sacct_states({facts.scheduler_job_id}) != {facts.scheduler_job_id: "COMPLETED"}:
            if time.monotonic() > deadline:
                pytest.fail(f"sacct does not show job {facts.scheduler_job_id} COMPLETED")
            time.sleep(1)

    def check_jobs(self, run_dir: Path, tool_jobs: int) -> None:
        ids = parse_job_ids((run_dir / "snakemake.log").read_text(encoding="utf-8"))
        outputs = tool_outputs(run_dir)
        assert len(outputs) == tool_jobs
        missing = [output for output in outputs if output not in ids]
        assert missing == [], f"not submitted to Slurm: {missing}"
        wanted = {ids[output] for output in outputs}
        deadline = time.monotonic() + 30
        while (states := sacct_states(wanted)) != dict.fromkeys(wanted, "COMPLETED"):
            if time.monotonic() > deadline:
                pytest.fail(f"sacct does not show every job COMPLETED: {states}")
            time.sleep(1)

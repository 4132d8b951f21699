"""Job facts: the file each finished job writes, read back typed; the scheduler's job id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ossrflow.errors import InputError
from ossrflow.run.facts import (
    CommandFacts,
    JobFacts,
    parse_job_facts,
    read_job_facts,
    render_job_facts,
    scheduler_job_id,
    write_job_facts,
)

FACTS = JobFacts(
    step="checksum",
    element=2,
    executor="slurm",
    profile="slurm",
    host="node3",
    scheduler_job_id="4711",
    started="2026-12-02T10:00:01Z",
    ended="2026-12-02T10:00:03Z",
    exit_code=0,
    commands=(
        CommandFacts(
            "fitscheck.cwl#fitscheck",
            "fitscheck",
            "/opt/venv/bin/fitscheck",
            "astropy",
            "8.0.1",
            None,
        ),
    ),
)


def test_facts_are_written_beside_the_jobs_output_and_read_back(tmp_path: Path):
    path = write_job_facts(tmp_path, FACTS)
    assert path == tmp_path / "steps" / "checksum" / "2" / "ossrflow-job.json"
    assert json.loads(path.read_text()) == {
        "version": 1,
        "step": "checksum",
        "element": 2,
        "executor": "slurm",
        "profile": "slurm",
        "host": "node3",
        "scheduler_job_id": "4711",
        "started": "2026-12-02T10:00:01Z",
        "ended": "2026-12-02T10:00:03Z",
        "exit_code": 0,
        "commands": [
            {
                "tool": "fitscheck.cwl#fitscheck",
                "command": "fitscheck",
                "path": "/opt/venv/bin/fitscheck",
                "package": "astropy",
                "version": "8.0.1",
                "container": None,
            }
        ],
    }
    assert read_job_facts(tmp_path, "checksum", 2) == FACTS
    assert read_job_facts(tmp_path, "checksum", 3) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"version": 2}, "not job facts of this ossrflow version"),
        ({"exit_code": "0"}, "exit_code is '0'"),
        ({"element": True}, "element is True"),
        ({"host": None}, "host is None, not text"),
    ],
)
def test_damaged_facts_are_one_located_error(change: dict[str, object], message: str):
    data = json.loads(render_job_facts(FACTS))
    data.update(change)
    with pytest.raises(InputError) as caught:
        parse_job_facts(json.dumps(data), source="f.json")
    assert message in str(caught.value) and str(caught.value).startswith("f.json")


def test_the_scheduler_job_id_comes_from_slurm_or_the_htcondor_job_ad(tmp_path: Path):
    assert scheduler_job_id({"SLURM_JOB_ID": "812"}) == "812"
    ad = tmp_path / ".job.ad"
    ad.write_text('Cmd = "/bin/sh"\nClusterId = 95\nProcId = 0\nOwner = "ossrflow"\n')
    assert scheduler_job_id({"_CONDOR_JOB_AD": str(ad)}) == "95.0"
    assert scheduler_job_id({"_CONDOR_JOB_AD": str(tmp_path / "gone")}) is None
    assert scheduler_job_id({}) is None

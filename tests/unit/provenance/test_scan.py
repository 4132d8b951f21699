"""What each job says of itself (ossrflow-job.json) in the record and the crate (issue 13.4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ossrflow.provenance.model import CommandFact, StepJob
from ossrflow.provenance.record import load_record
from ossrflow.run.facts import CommandFacts, JobFacts, write_job_facts
from tests.unit.provenance.test_record import T0, FakeRun, make_run, record

FITSCHECK = CommandFacts("shout.cwl#shout", "tr", "/usr/bin/tr", "coreutils", "9.1")


def _facts(fake: FakeRun, step: str, element: int | None, ended: float, **extra: Any) -> None:
    def iso(moment: float) -> str:
        return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    facts = JobFacts(
        step=step,
        element=element,
        executor=extra.get("executor", "slurm"),
        profile=extra.get("profile", "slurm"),
        host=extra.get("host", "node3"),
        scheduler_job_id=extra.get("job_id", "4711"),
        started=iso(ended - 2),
        ended=iso(ended),
        exit_code=0,
        commands=(FITSCHECK,),
    )
    write_job_facts(fake.run_dir, facts)


def _graph(crate: Path) -> dict[str, dict[str, Any]]:
    data = json.loads((crate / "ro-crate-metadata.json").read_text(encoding="utf-8"))
    return {entity["@id"]: entity for entity in data["@graph"]}


def test_each_job_names_its_executor_profile_host_scheduler_id_and_commands(tmp_path: Path):
    fake = make_run(tmp_path)
    _facts(fake, "shout", None, T0 + 5, job_id="9001")
    loaded = load_record(record(fake))
    assert loaded.steps[0] == StepJob(
        "shout",
        None,
        "completed",
        "9001",  # the job's own scheduler id wins over the log's
        "2026-11-28T10:20:45+00:00",
        "2026-11-28T10:20:47+00:00",
        executor="slurm",
        profile="slurm",
        host="node3",
        exit_code=0,
        commands=(CommandFact("shout.cwl#shout", "tr", "/usr/bin/tr", "coreutils", "9.1"),),
    )
    assert loaded.steps[1] == StepJob("measure", 0, "completed")  # no facts: as before
    graph = _graph(loaded.crate)
    job = graph[f"#job-{loaded.run_id}-shout"]
    assert (job["identifier"], job["description"]) == (
        "9001",
        "ran by executor slurm, profile slurm, host node3 (exit 0)",
    )
    step = graph["#step-shout"]
    command = graph[step["softwareRequirements"][0]["@id"]]
    assert command == {
        "@id": command["@id"],
        "@type": "SoftwareApplication",
        "name": "tr",
        "description": "tr (/usr/bin/tr, from coreutils 9.1)",
        "softwareVersion": "9.1",
    }


def test_a_run_that_reused_jobs_done_earlier_says_so(tmp_path: Path):
    """Jobs that ended before the run started were done by an earlier run: reused, by whom."""
    fake = make_run(tmp_path)
    _facts(fake, "shout", None, T0 - 3600, executor="local", profile="local", job_id=None)
    _facts(fake, "measure", 0, T0 + 5)
    loaded = load_record(record(fake))
    assert [(j.step, j.element, j.profile, j.reused) for j in loaded.steps] == [
        ("shout", None, "local", True),
        ("measure", 0, "slurm", False),
        ("measure", 1, None, False),
    ]
    graph = _graph(loaded.crate)
    assert graph[f"#job-{loaded.run_id}-shout"]["description"] == (
        "done before this run started, by executor local, profile local, host node3; "
        "reused, not run again"
    )
    assert graph[f"#run-{loaded.run_id}"]["description"] == (
        "ossrflow run, profile slurm (executor slurm); 1 of 3 jobs were done earlier "
        "(profile local) and reused, not run again"
    )


def test_damaged_facts_leave_what_snakemake_says(tmp_path: Path):
    fake = make_run(tmp_path)
    (fake.run_dir / "steps/shout/ossrflow-job.json").write_text("{", encoding="utf-8")
    loaded = load_record(record(fake))
    assert loaded.steps[0].job_id == "4242"
    assert loaded.steps[0].commands == ()


def test_the_profiles_ossrflow_yaml_goes_into_the_crate(tmp_path: Path):
    fake = make_run(tmp_path)
    (fake.profile.path / "ossrflow.yaml").write_text("container: none\n", encoding="utf-8")
    crate = record(fake)
    assert (crate / "profile/ossrflow.yaml").read_text(encoding="utf-8") == "container: none\n"
    assert (crate / "profile/config.yaml").is_file()
    assert _graph(crate)["profile/ossrflow.yaml"]["description"] == (
        "ossrflow's settings of profile slurm (ossrflow.yaml)"
    )

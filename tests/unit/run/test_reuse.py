"""Which jobs a run ran and which it reused: said in one line, never silently."""

from __future__ import annotations

from pathlib import Path

from ossrflow.run.facts import JobFacts, write_job_facts
from ossrflow.run.reuse import JobCounts, count_jobs, render_reuse, snapshot_facts


def facts(step: str, element: int | None, profile: str) -> JobFacts:
    return JobFacts(step, element, "local", profile, "vm", None, "t0", "t1", 0)


def test_jobs_with_new_facts_ran_the_others_were_reused_by_their_profile(tmp_path: Path):
    write_job_facts(tmp_path, facts("a", 0, "local"))
    write_job_facts(tmp_path, facts("a", 1, "local"))
    write_job_facts(tmp_path, facts("b", None, "/p/mine"))
    before = snapshot_facts(tmp_path)
    write_job_facts(tmp_path, facts("a", 1, "slurm"))
    write_job_facts(tmp_path, facts("c", None, "slurm"))
    assert count_jobs(tmp_path, before) == JobCounts(2, {"/p/mine": 1, "local": 1})


def test_reuse_is_said_in_one_line():
    assert render_reuse(JobCounts(3), profile="slurm", executor="slurm") is None
    assert render_reuse(JobCounts(0, {"local": 3}), profile="slurm", executor="slurm") == (
        "3 of 3 jobs were already done by profile local; nothing was submitted"
    )
    assert render_reuse(JobCounts(0, {"local": 2}), profile="local", executor="local") == (
        "2 of 2 jobs were already done by profile local; nothing ran"
    )
    both = JobCounts(1, {"local": 2, "slurm": 1})
    assert render_reuse(both, profile="htcondor", executor="htcondor") == (
        "3 of 4 jobs were already done (2 by profile local, 1 by profile slurm); "
        "1 submitted with profile htcondor"
    )

"""Profiles: the shipped ones load, owned keys are refused with their line, resources map."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ossrflow.errors import InputError, NotFound
from ossrflow.run.batches import Batching
from ossrflow.run.execute import RunOptions, batching_of
from ossrflow.run.profiles import (
    BUILTIN_PROFILES,
    load_profile,
    profiles_root,
    snakemake_resources,
    step_overrides,
)


@pytest.mark.parametrize("name", BUILTIN_PROFILES)
def test_shipped_profiles_load_and_name_their_executor(name):
    profile = load_profile(name)
    assert profile.name == name
    assert profile.path == (profiles_root() / name).resolve()
    assert profile.executor == name
    assert (profile.path / "README.md").is_file()


def test_a_profile_folder_is_taken_by_path(tmp_path: Path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.yaml").write_text("executor: slurm\njobs: 3\n")
    profile = load_profile(str(tmp_path / "mine"))
    assert (profile.name, profile.executor, profile.settings["jobs"]) == ("mine", "slurm", 3)


def test_an_empty_profile_runs_locally(tmp_path: Path):
    (tmp_path / "config.yaml").write_text("")
    assert load_profile(str(tmp_path)).executor == "local"


def test_a_folder_without_config_is_not_a_profile(tmp_path: Path):
    with pytest.raises(NotFound) as caught:
        load_profile(str(tmp_path))
    assert str(caught.value) == (
        f"{tmp_path}: profile has no config.yaml "
        "(fix: name one of local, slurm, htcondor or a folder holding config.yaml)"
    )


def test_keys_ossrflow_sets_itself_are_refused_with_their_line(tmp_path: Path):
    (tmp_path / "config.yaml").write_text("jobs: 2\nsnakefile: /elsewhere/Snakefile\n")
    with pytest.raises(InputError) as caught:
        load_profile(str(tmp_path))
    assert str(caught.value) == (
        f"{tmp_path / 'config.yaml'}:2:1: profile sets 'snakefile', which ossrflow sets itself "
        "(fix: remove the key; use the matching `ossrflow run` option instead)"
    )


@pytest.mark.parametrize("key", ["reporter", "report-after-run"])
def test_a_profile_may_not_turn_a_run_into_a_report(tmp_path: Path, key: str):
    # Snakemake writes a report instead of running when `reporter` is set: only
    # `ossrflow run --report` asks for one (and the host leaves reports out otherwise).
    (tmp_path / "config.yaml").write_text(f"{key}: html\n")
    with pytest.raises(InputError, match=f"profile sets '{key}', which ossrflow sets itself"):
        load_profile(str(tmp_path))


def test_a_profile_must_be_a_mapping(tmp_path: Path):
    (tmp_path / "config.yaml").write_text("- executor\n")
    with pytest.raises(InputError, match="profile is not a mapping"):
        load_profile(str(tmp_path))


def test_cwl_resources_become_snakemake_resources():
    raw = {"cores": 4, "ram": 2048, "tmpdir": 100, "outdir": 50, "timelimit": 61}
    assert snakemake_resources(raw) == {
        "threads": 4,
        "mem_mb": 2048,
        "disk_mb": 150,
        "runtime": 2,
    }
    assert snakemake_resources({}) == {}


def test_step_overrides_use_each_plugins_names():
    settings = {"partition": "debug", "account": "astro", "extra": "--qos=short"}
    assert step_overrides(settings, "slurm", source="d.yml") == {
        "slurm_partition": "debug",
        "slurm_account": "astro",
        "slurm_extra": "--qos=short",
    }
    assert step_overrides(settings, "htcondor", source="d.yml") == {
        "accounting_group": "astro",
        "requirements": "--qos=short",
    }
    assert step_overrides(settings, "local", source="d.yml") == {}


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ({"nodes": 3}, "unknown step setting 'nodes'"),
        ({"partition": "a\nb"}, "step setting 'partition' must be one line of text"),
        ({"partition": True}, "step setting 'partition' must be one line of text"),
    ],
)
def test_bad_step_overrides_are_refused(settings, problem):
    with pytest.raises(InputError) as caught:
        step_overrides(settings, "slurm", source="d.yml", location="steps.fit")
    assert str(caught.value).startswith(f"d.yml:steps.fit: {problem} (fix: ")


def test_shipped_profiles_name_their_container_engines():
    assert load_profile("local").container == ("docker", "podman", "apptainer", "none")
    assert load_profile("slurm").container == ("apptainer", "podman", "none")
    assert load_profile("htcondor").container == ("apptainer", "podman", "none")


@pytest.mark.parametrize(
    ("text", "container"),
    [("container: podman\n", ("podman",)), ("container: [none]\n", ("none",)), ("", None)],
)
def test_ossrflow_yaml_names_one_engine_or_a_list(tmp_path: Path, text, container):
    (tmp_path / "config.yaml").write_text("executor: local\n")
    (tmp_path / "ossrflow.yaml").write_text(text)
    assert load_profile(str(tmp_path)).container == container


@pytest.mark.parametrize(
    ("text", "problem", "fix"),
    [
        (
            "max-jobs-per-step: 2\ncontainer: rkt\n",
            "2:1: unknown container engine 'rkt'",
            "use one of docker, podman, apptainer, none",
        ),
        (
            "container: {docker: 1}\n",
            "1:1: container is {'docker': 1}",
            "the container engine steps run in: docker, podman, apptainer or none, or a list of "
            "them, tried in order until one can run here",
        ),
        (
            "container: []\n",
            "1:1: no container engine named",
            "use one of docker, podman, apptainer, none",
        ),
    ],
)
def test_bad_container_settings_are_refused_with_their_line(tmp_path: Path, text, problem, fix):
    (tmp_path / "config.yaml").write_text("executor: local\n")
    (tmp_path / "ossrflow.yaml").write_text(text)
    with pytest.raises(InputError) as caught:
        load_profile(str(tmp_path))
    assert str(caught.value) == f"{tmp_path / 'ossrflow.yaml'}:{problem} (fix: {fix})"


@pytest.mark.parametrize(
    ("config", "options", "batching"),
    [
        ("executor: local\ncores: 3\n", "min-elements-per-job: 25\n", Batching(None, 25, 3)),
        ("executor: slurm\njobs: 40\n", "max-jobs-per-step: 20\n", Batching(20, 1, 40)),
        ("executor: local\n", "", Batching(None, 1, 1)),
    ],
)
def test_a_profile_says_how_scatters_are_batched(tmp_path: Path, config, options, batching):
    (tmp_path / "config.yaml").write_text(config)
    (tmp_path / "ossrflow.yaml").write_text(options)
    assert batching_of(RunOptions(profile=load_profile(str(tmp_path)))) == batching
    jobs = RunOptions(profile=load_profile(str(tmp_path)), jobs=7)
    assert batching_of(jobs).slots == 7, "--jobs is the floor when given"


def test_the_local_profile_runs_a_small_scatter_in_a_few_jobs_and_keeps_every_core_busy():
    local = load_profile("local")
    assert local.parallel_jobs == len(os.sched_getaffinity(0))
    assert local.min_elements_per_job > 1


@pytest.mark.parametrize("value", ["0", "-3", "many", "true", "2.5"])
def test_min_elements_per_job_must_be_a_positive_integer(tmp_path: Path, value: str):
    (tmp_path / "config.yaml").write_text("executor: local\n")
    (tmp_path / "ossrflow.yaml").write_text(f"min-elements-per-job: {value}\n")
    with pytest.raises(InputError, match=r"1:1: min-elements-per-job is .*positive integer"):
        load_profile(str(tmp_path))

"""Command lines for docker, podman and apptainer (pure), mounts, and engine probing."""

import os
from pathlib import Path
from typing import Any

import pytest

from ossrflow.containers.engines import (
    Engine,
    Mount,
    detect_engines,
    get_engine,
    job_mounts,
    probe_engine,
    render_run_command,
    select_engine,
)
from ossrflow.errors import InputError, ServiceError, UnsafeValue

DOCKER = Engine("docker", "/usr/bin/docker")
PODMAN = Engine("podman", "/usr/bin/podman")
APPTAINER = Engine("apptainer", "/usr/local/bin/apptainer")
DIGEST = "sha256:" + "ab" * 32
MOUNTS = [
    Mount(Path("/data/in/a.fits"), "/data/in/a.fits"),
    Mount(Path("/runs/r1/steps/s1"), "/runs/r1/steps/s1", readonly=False),
]
HOSTILE = ["sh", "-c", "echo $HOME; rm -rf / ; `id`", "a b", "--privileged", "'\"\n"]


def render(engine: Engine, **overrides: Any) -> list[str]:
    arguments: dict[str, Any] = {
        "mounts": MOUNTS,
        "workdir": "/runs/r1/steps/s1",
        "env": {"HOME": "/runs/r1/steps/s1", "TMPDIR": "/tmp"},
        "command": ["fitsinfo", "a.fits"],
    }
    arguments.update(overrides)
    return render_run_command(engine, DIGEST, **arguments)


def test_docker_command_line():
    assert render(DOCKER, user="1000:1000") == [
        "/usr/bin/docker",
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--network",
        "none",
        "--workdir",
        "/runs/r1/steps/s1",
        "--user",
        "1000:1000",
        "--mount",
        "type=bind,source=/data/in/a.fits,target=/data/in/a.fits,readonly",
        "--mount",
        "type=bind,source=/runs/r1/steps/s1,target=/runs/r1/steps/s1",
        "--env",
        "HOME=/runs/r1/steps/s1",
        "--env",
        "TMPDIR=/tmp",
        DIGEST,
        "fitsinfo",
        "a.fits",
    ]


def test_podman_command_line_has_the_same_shape():
    argv = render(PODMAN, network=True)
    assert argv[:5] == ["/usr/bin/podman", "run", "--rm", "--read-only", "--tmpfs"]
    assert "--network" not in argv
    assert argv[-3:] == [DIGEST, "fitsinfo", "a.fits"]


def test_apptainer_command_line():
    assert render(APPTAINER, command=["fitsinfo"]) == [
        "env",
        "APPTAINERENV_HOME=/runs/r1/steps/s1",
        "APPTAINERENV_TMPDIR=/tmp",
        "/usr/local/bin/apptainer",
        "exec",
        "--containall",
        "--cleanenv",
        "--pwd",
        "/runs/r1/steps/s1",
        "--net",
        "--network",
        "none",
        "--bind",
        "/data/in/a.fits:/data/in/a.fits:ro",
        "--bind",
        "/runs/r1/steps/s1:/runs/r1/steps/s1:rw",
        DIGEST,
        "fitsinfo",
    ]


@pytest.mark.parametrize("engine", [DOCKER, PODMAN, APPTAINER], ids=lambda e: e.name)
def test_command_and_env_values_pass_as_single_elements(engine):
    argv = render(engine, command=HOSTILE, env={"X": "a,b c;$(id)\nnext"})
    assert argv[-len(HOSTILE) :] == HOSTILE
    assert sum("a,b c;$(id)\nnext" in element for element in argv) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"mounts": [Mount(Path("/data/a,b.fits"), "/x")]}, "mount source '/data/a,b.fits'"),
        ({"mounts": [Mount(Path("/data/a:b"), "/x")]}, "mount source '/data/a:b'"),
        ({"mounts": [Mount(Path("rel/a"), "/x")]}, "mount source 'rel/a'"),
        ({"mounts": [Mount(Path("/a"), "/x/../etc")]}, "mount target '/x/../etc'"),
        ({"mounts": [Mount(Path("/a"), "x")]}, "mount target 'x'"),
        ({"workdir": "work"}, "workdir 'work'"),
        ({"env": {"A B": "1"}}, "environment variable 'A B'"),
        ({"env": {"A": "nul\x00"}}, "environment variable 'A'"),
        ({"user": "root --privileged"}, "user 'root --privileged'"),
    ],
)
def test_unsafe_values_are_refused(overrides, message):
    with pytest.raises(UnsafeValue, match=message):
        render(DOCKER, **overrides)


@pytest.mark.parametrize("image", ["--privileged", "", "img name", "a\nb"])
def test_image_that_is_not_a_plain_reference_is_refused(image):
    with pytest.raises(UnsafeValue, match="is not a plain image name"):
        render_run_command(DOCKER, image, mounts=[], workdir="/w", env={}, command=["true"])


def test_job_mounts_inputs_read_only_workdir_read_write(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    (data / "b.txt").write_text("b")
    (data / "a.txt").write_text("a")
    (work / "staged.txt").write_text("inside")
    inputs = [data / "b.txt", data / "a.txt", work / "staged.txt", data / "a.txt"]
    assert job_mounts(inputs, work) == [
        Mount(data / "a.txt", str(data / "a.txt")),
        Mount(data / "b.txt", str(data / "b.txt")),
        Mount(work, str(work), readonly=False),
    ]
    assert job_mounts([], work, container_workdir="/out") == [Mount(work, "/out", readonly=False)]


def fake_engine(folder: Path, name: str, script: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


def test_probe_reports_why_an_engine_cannot_run(tmp_path):
    broken = fake_engine(
        tmp_path, "docker", "echo 'Cannot connect to the Docker daemon at unix:///x' >&2; exit 1"
    )
    engine = probe_engine("docker", str(broken))
    assert not engine.usable
    assert engine.reason == "`docker info`: Cannot connect to the Docker daemon at unix:///x"
    with pytest.raises(ServiceError) as info:
        get_engine("docker", [engine])
    assert str(info.value) == (
        f"{broken}: docker cannot run containers here: `docker info`: Cannot connect to the Docker"
        " daemon at unix:///x (fix: start a daemon (as root: bash scripts/containers/dockerd.sh"
        " start))"
    )


def test_detect_engines_finds_singularity_as_apptainer(tmp_path):
    fake_engine(tmp_path, "singularity", "echo 'apptainer version 1.3.4'")
    fake_engine(tmp_path, "podman", "echo 4.3.1")
    engines = detect_engines(path=os.fspath(tmp_path))
    assert engines == [
        Engine("podman", str(tmp_path / "podman"), version="4.3.1"),
        Engine("apptainer", str(tmp_path / "singularity"), version="1.3.4"),
    ]
    assert get_engine("podman", engines).version == "4.3.1"


def test_get_engine_names_unknown_and_missing_engines():
    with pytest.raises(InputError, match="unknown container engine 'rkt'"):
        get_engine("rkt", [])
    with pytest.raises(ServiceError, match="docker is not installed on this machine"):
        get_engine("docker", [PODMAN])


@pytest.fixture
def engines_path(tmp_path: Path) -> str:
    """A PATH with a docker whose daemon is down, a working podman and an apptainer."""
    fake_engine(tmp_path, "docker", "echo 'Cannot connect to the Docker daemon' >&2; exit 1")
    fake_engine(tmp_path, "podman", "echo 4.3.1")
    fake_engine(tmp_path, "apptainer", "echo 'apptainer version 1.3.4'")
    return os.fspath(tmp_path)


def test_select_engine_takes_the_first_that_runs(engines_path):
    podman = Engine("podman", f"{engines_path}/podman", version="4.3.1")
    assert select_engine(["docker", "podman", "none"], path=engines_path) == podman
    apptainer = Engine("apptainer", f"{engines_path}/apptainer", version="1.3.4")
    assert select_engine(["apptainer", "podman"], path=engines_path) == apptainer
    assert select_engine(["none", "podman"], path=engines_path) is None


def test_select_engine_with_one_name_explains_like_get_engine(engines_path):
    with pytest.raises(ServiceError) as info:
        select_engine(["docker"], path=engines_path)
    assert str(info.value) == (
        f"{engines_path}/docker: docker cannot run containers here: `docker info`: Cannot "
        "connect to the Docker daemon (fix: start a daemon (as root: bash "
        "scripts/containers/dockerd.sh start))"
    )


def test_select_engine_names_every_reason_when_none_runs(tmp_path):
    fake_engine(tmp_path, "docker", "echo 'Cannot connect to the Docker daemon' >&2; exit 1")
    with pytest.raises(ServiceError) as info:
        select_engine(["docker", "podman"], path=os.fspath(tmp_path))
    assert str(info.value) == (
        "container: no container engine of docker, podman can run here (docker: `docker info`: "
        "Cannot connect to the Docker daemon; podman: not installed) (fix: start a daemon (as "
        "root: bash scripts/containers/dockerd.sh start), set up another engine, or add none to "
        "run steps without containers)"
    )


@pytest.mark.parametrize("choices", [["rkt"], ["docker", "Docker"], []])
def test_select_engine_refuses_unknown_names(choices, engines_path):
    with pytest.raises(InputError) as info:
        select_engine(choices, path=engines_path)
    assert str(info.value).endswith("(fix: use one of docker, podman, apptainer, none)")

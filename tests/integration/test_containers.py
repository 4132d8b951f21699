"""Real engines: build, pin and run images with docker and podman; nothing but declared mounts visible.

The engines are set up by scripts/containers/{dockerd,podman}.sh (make test runs them). Locally an
engine that cannot run skips these tests with the reason; with CI=true that is a failure.
"""

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ossrflow.containerize import containerize_entry, docker_requirement, load_image_record
from ossrflow.containers import (
    Engine,
    EngineName,
    Mount,
    job_mounts,
    probe_engine,
    render_run_command,
)
from ossrflow.errors import NotFound
from ossrflow.images import PinnedImage, convert_for_apptainer, get_image_digest, resolve_image
from tests.support.wheels import make_entry, wheelhouse

REPO = Path(__file__).resolve().parents[2]
BUSYBOX = "ossrflow/busybox:local"


def usable_engine(name: EngineName) -> Engine:
    executable = shutil.which(name)
    engine = probe_engine(name, executable) if executable else None
    script = REPO / "scripts" / "containers" / ("dockerd.sh" if name == "docker" else "podman.sh")
    ready = subprocess.run(
        ["bash", str(script), "status"], capture_output=True, text=True, check=False
    )
    if engine is not None and engine.usable and ready.returncode != 0:
        engine = Engine(name, engine.executable, usable=False, reason=ready.stdout.strip())
    if engine is None or not engine.usable:
        why = engine.reason if engine else f"{name} is not installed"
        message = f"{name} cannot run here ({why}); set it up with scripts/containers/"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return engine


@pytest.fixture(scope="module", params=["docker", "podman"])
def engine(request) -> Engine:
    found = usable_engine(request.param)
    if get_image_digest(found, BUSYBOX) is None:
        subprocess.run(
            ["bash", str(REPO / "containers/base/build.sh"), "--engine", found.name, "busybox"],
            check=True,
            capture_output=True,
        )
    return found


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_job_sees_only_its_mounts(engine, tmp_path):
    data, secret, work = tmp_path / "data", tmp_path / "secret", tmp_path / "work"
    for folder in (data, secret, work):
        folder.mkdir()
    (data / "in put.txt").write_text("hello\n")
    (secret / "key").write_text("do not read")
    pinned = resolve_image(engine, {"class": "DockerRequirement", "dockerPull": BUSYBOX})
    script = (
        'cat "$1" > copied.txt; echo "$GREETING" > env.txt; '
        'ls "$2" > secret.txt 2>&1; touch "$1" 2> readonly.txt; '
        "touch /tmp/scratch && echo writable > tmp.txt; touch /etc/x 2> rootfs.txt; true"
    )
    argv = render_run_command(
        engine,
        pinned.run_ref,
        mounts=job_mounts([data / "in put.txt"], work),
        workdir=str(work),
        env={"GREETING": "a b;$(id)"},
        command=["sh", "-c", script, "job", str(data / "in put.txt"), str(secret)],
    )
    done = run(argv)
    assert done.returncode == 0, done.stderr
    assert (work / "copied.txt").read_text() == "hello\n"
    assert (work / "env.txt").read_text() == "a b;$(id)\n"
    assert "No such file or directory" in (work / "secret.txt").read_text()
    assert "Read-only file system" in (work / "readonly.txt").read_text()
    assert "Read-only file system" in (work / "rootfs.txt").read_text()
    assert (work / "tmp.txt").read_text() == "writable\n"  # a private tmpfs


def test_failing_command_exit_status_reaches_the_caller(engine, tmp_path):
    argv = render_run_command(
        engine,
        resolve_image(engine, {"dockerPull": BUSYBOX}).run_ref,
        mounts=[Mount(tmp_path, "/work", readonly=False)],
        workdir="/work",
        env={},
        command=["sh", "-c", "exit 7"],
    )
    assert run(argv).returncode == 7


def test_present_image_is_pinned_by_its_id(engine):
    pinned = resolve_image(engine, {"dockerPull": BUSYBOX, "dockerOutputDirectory": "/out"})
    inspect = run([engine.executable, "image", "inspect", "--format", "{{.Id}}", BUSYBOX])
    assert pinned == PinnedImage(
        BUSYBOX, pinned.digest, engine.name, "present", output_directory="/out"
    )
    assert inspect.stdout.strip().removeprefix("sha256:") == pinned.digest.removeprefix("sha256:")


def test_absent_pull_image_says_how_to_get_it(engine):
    with pytest.raises(NotFound) as info:
        resolve_image(engine, {"dockerPull": "ossrflow/no-such-image:0"})
    assert str(info.value) == (
        f"DockerRequirement.dockerPull: image 'ossrflow/no-such-image:0' is not in {engine.name}'s"
        f" local store and no registry is used (fix: load it (`{engine.name} load -i FILE`), build"
        " it (`ossrflow containerize REF`, containers/base/build.sh), or allow pulling where a"
        " registry is reachable)"
    )


def test_dockerfile_is_built_tagged_and_pinned(engine, tmp_path):
    dockerfile = f"FROM {BUSYBOX}\nRUN echo built > /built.txt\n"
    first = resolve_image(engine, {"dockerFile": dockerfile})
    again = resolve_image(engine, {"dockerFile": dockerfile})
    assert first.ref.startswith("ossrflow/dockerfile:")
    assert (first.how, again.digest) == ("built", first.digest)
    argv = render_run_command(
        engine, first.run_ref, mounts=[], workdir="/", env={}, command=["cat", "/built.txt"]
    )
    assert run(argv).stdout == "built\n"


def test_docker_load_and_import_from_files(engine, tmp_path):
    tag = f"ossrflow/test-load:{os.getpid()}"
    run([engine.executable, "tag", BUSYBOX, tag])
    archive = tmp_path / "saved.tar"
    assert run([engine.executable, "save", "--output", str(archive), tag]).returncode == 0
    run([engine.executable, "rmi", tag])
    loaded = resolve_image(
        engine, {"dockerLoad": "saved.tar", "dockerImageId": tag}, base_dir=tmp_path
    )
    assert (loaded.how, loaded.digest) == ("loaded", get_image_digest(engine, BUSYBOX))

    created = run([engine.executable, "create", BUSYBOX, "true"]).stdout.strip()
    rootfs = tmp_path / "rootfs.tar"
    run([engine.executable, "export", "--output", str(rootfs), created])
    run([engine.executable, "rm", created])
    name = f"ossrflow/test-import:{os.getpid()}"
    imported = resolve_image(engine, {"dockerImport": rootfs.as_uri(), "dockerImageId": name})
    argv = render_run_command(
        engine, imported.run_ref, mounts=[], workdir="/", env={}, command=["/bin/echo", "ok"]
    )
    assert (imported.how, run(argv).stdout) == ("imported", "ok\n")
    run([engine.executable, "rmi", tag, name])


def test_apptainer_conversion_happens_once_for_concurrent_jobs(engine, tmp_path):
    """A stand-in `apptainer build` (it counts its calls) shows the lock and the shared cache."""
    calls = tmp_path / "calls"
    fake = tmp_path / "apptainer"
    fake.write_text(f'#!/bin/sh\necho x >> {calls}\nsleep 1\ncp "${{3#docker-archive:}}" "$2"\n')
    fake.chmod(0o755)
    apptainer = Engine("apptainer", str(fake))
    pinned = resolve_image(engine, {"dockerPull": BUSYBOX})
    results: list[PinnedImage] = []
    jobs = [
        threading.Thread(
            target=lambda: results.append(
                convert_for_apptainer(apptainer, pinned, engine, tmp_path / "cache")
            )
        )
        for _ in range(3)
    ]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert calls.read_text() == "x\n"
    sif = tmp_path / "cache" / "apptainer" / f"{pinned.digest.removeprefix('sha256:')}.sif"
    assert {r.run_ref for r in results} == {str(sif)}
    assert sif.stat().st_size > 1_000_000  # the saved image, busybox included


@pytest.fixture(scope="module")
def python_base(engine) -> str:
    """ossrflow/debian-python:local in this engine (about a minute the first time, then seconds)."""
    base = "ossrflow/debian-python:local"
    if get_image_digest(engine, base) is None:
        subprocess.run(
            [
                "bash",
                str(REPO / "containers/base/build.sh"),
                "--engine",
                engine.name,
                "debian-python",
            ],
            check=True,
            capture_output=True,
        )
    return base


def test_containerize_builds_an_image_that_runs_the_entrys_command(engine, python_base, tmp_path):
    entry = make_entry(tmp_path)
    _, _, record = containerize_entry(
        entry,
        tmp_path / "containers",
        engine=engine,
        pip=[sys.executable, "-m", "pip"],
        base=python_base,
        pip_options=wheelhouse(tmp_path),
    )
    assert record is not None
    assert record == load_image_record(tmp_path / "containers", entry.require_codemeta())
    assert (record.image, record.engine) == ("ossrflow/ossrflow-hello:1.0.0", engine.name)
    assert record.base_digest == get_image_digest(engine, python_base)
    pinned = resolve_image(engine, docker_requirement(record))
    assert (pinned.digest, pinned.how) == (record.digest, "present")
    work = tmp_path / "work"
    work.mkdir()
    argv = render_run_command(
        engine,
        pinned.run_ref,
        mounts=job_mounts([], work),
        workdir=str(work),
        env={"HOME": str(work)},
        command=["sh", "-c", "ossrflow-hello > out.txt"],
    )
    done = run(argv)
    assert done.returncode == 0, done.stderr
    assert (work / "out.txt").read_text() == "hello from the container\n"

"""Real engines: build, pin and run images with docker and podman; nothing but declared mounts visible.

Also the run path: `ossrflow run --container ENGINE` runs each step that has a DockerRequirement in
its image (pinned by digest on the submit host, recorded in the provenance) and the others
natively; Apptainer, which cannot be installed here, through a stand-in that records its command.

The engines are set up by scripts/containers/{dockerd,podman}.sh (make test runs them). Locally an
engine that cannot run skips these tests with the reason; with CI=true that is a failure.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ossrflow.containers.engines import (
    Engine,
    EngineName,
    Mount,
    job_mounts,
    probe_engine,
    render_run_command,
)
from ossrflow.containers.images import (
    PinnedImage,
    convert_for_apptainer,
    get_image_digest,
    resolve_image,
)
from ossrflow.containers.pins import load_pins
from ossrflow.errors import NotFound
from ossrflow.provenance.model import ContainerImage
from ossrflow.provenance.record import load_record
from ossrflow.run.execute import RunOptions, prepare_run, run_workflow
from ossrflow.run.job import read_output
from ossrflow.run.profiles import load_profile
from ossrflow.run.snakemake import run_snakemake
from ossrflow.tools.containerize import containerize_entry, docker_requirement, load_image_record
from ossrflow.tools.cwlgen import generate_entry_tool, write_tool
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


HELLO_INTERFACE = b"""\
baseCommand: [ossrflow-hello]
stdout: hello.txt
inputs: []
outputs:
  greeting: {type: stdout}
"""


def test_containerize_builds_an_image_that_runs_the_entrys_command(engine, python_base, tmp_path):
    entry = make_entry(tmp_path, files={"ossrflow-interface.yml": HELLO_INTERFACE})
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

    # `ossrflow cwl` pins the recorded image; `ossrflow run` runs the step in it (the command
    # exists only in the image).
    generated = generate_entry_tool(entry, containers_dir=tmp_path / "containers")
    assert generated.tool.hints[0].save() == {"class": "DockerRequirement", **pin_fields(record)}
    tool = write_tool(generated, tmp_path / "hello.cwl")
    result = run_workflow(
        str(tool),
        None,
        run_dir=tmp_path / "run",
        outdir=tmp_path / "out",
        options=RunOptions(load_profile("local"), container=engine.name),
    )
    assert result.outputs is not None
    assert Path(result.outputs["greeting"]["path"]).read_text() == "hello from the container\n"
    _, images = load_pins(tmp_path / "run")
    assert [(i.image.ref, i.image.digest, i.image.how, i.steps) for i in images] == [
        (record.image, record.digest, "present", ("tool",))
    ]


def pin_fields(record) -> dict[str, str]:
    return {"dockerPull": record.image, "dockerImageId": record.digest}


# --- ossrflow run with an engine -------------------------------------------------------------

MARKER_IMAGE = f"FROM {BUSYBOX}\nRUN echo in-the-image > /marker\n"


def marker_tool(section: str, command: list[str], inputs: str = "[]") -> str:
    return (
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        + (
            f"{section}:\n  DockerRequirement:\n    dockerFile: {json.dumps(MARKER_IMAGE)}\n"
            if section
            else ""
        )
        + f"baseCommand: {json.dumps(command)}\nstdout: out.txt\ninputs: {inputs}\n"
        + "outputs:\n  out: stdout\n"
    )


WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  words: string[]
  host_path: string
outputs:
  marker: {type: File, outputSource: marked/out}
  echoed: {type: 'File[]', outputSource: scattered/out}
  native: {type: File, outputSource: native/out}
steps:
  marked:
    run: marked.cwl
    in: {}
    out: [out]
  scattered:
    run: scattered.cwl
    scatter: word
    in: {word: words}
    out: [out]
  native:
    run: native.cwl
    in: {host_path: host_path}
    out: [out]
"""


def write_workflow(folder: Path) -> tuple[Path, Path]:
    """Two steps in a Dockerfile-built image (one required, one hinted, scattered), one native."""
    word = "{word: {type: string, inputBinding: {position: 1}}}"
    host = "{host_path: {type: string, inputBinding: {position: 1}}}"
    native = 'test -e "$0" && test ! -e /marker && echo native'
    for name, text in (
        ("marked.cwl", marker_tool("requirements", ["cat", "/marker"])),
        ("scattered.cwl", marker_tool("hints", ["sh", "-c", 'echo "$0 $(cat /marker)"'], word)),
        ("native.cwl", marker_tool("", ["sh", "-c", native], host)),
        ("wf.cwl", WORKFLOW),
    ):
        (folder / name).write_text(text)
    job = folder / "job.json"
    job.write_text(json.dumps({"words": ["alpha", "beta"], "host_path": str(REPO)}))
    return folder / "wf.cwl", job


def text_of(output: dict[str, Any]) -> str:
    return Path(output.get("path") or output["location"].removeprefix("file://")).read_text()


def test_run_puts_each_step_in_its_pinned_image_and_records_it(engine, tmp_path):
    workflow, job = write_workflow(tmp_path)
    run_dir = tmp_path / "run"
    done = run(
        [sys.executable, "-m", "ossrflow", "run", str(workflow), str(job), "--run-dir",
         str(run_dir), "--container", engine.name]
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    outputs = json.loads(done.stdout)
    assert text_of(outputs["marker"]) == "in-the-image\n"
    assert [text_of(o) for o in outputs["echoed"]] == [
        "alpha in-the-image\n",
        "beta in-the-image\n",
    ]
    assert text_of(outputs["native"]) == "native\n"  # no DockerRequirement: not in a container

    engine_name, images = load_pins(run_dir)
    assert (engine_name, len(images)) == (engine.name, 1)  # one image, resolved once
    pinned = images[0].image
    assert (pinned.how, images[0].steps) == ("built", ("marked", "scattered"))
    assert pinned.digest == get_image_digest(engine, pinned.ref)
    record = load_record(run_dir)
    assert record.images == (
        ContainerImage(pinned.ref, pinned.digest, engine.name, "marked"),
        ContainerImage(pinned.ref, pinned.digest, engine.name, "scattered"),
    )
    crate = json.loads((run_dir / "provenance" / "ro-crate-metadata.json").read_text())
    image_ids = {e["@id"]: e for e in crate["@graph"] if e.get("@type") == "ContainerImage"}
    assert [e["sha256"] for e in image_ids.values()] == [pinned.digest.removeprefix("sha256:")]


def test_a_tag_moved_after_pinning_does_not_change_what_runs(engine, tmp_path):
    first, second = (
        resolve_image(engine, {"dockerFile": f"FROM {BUSYBOX}\nRUN echo {word} > /marker\n"})
        for word in ("first", "second")
    )
    tag = f"ossrflow/test-moving:{os.getpid()}"
    tool = tmp_path / "moving.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        f"requirements:\n  DockerRequirement:\n    dockerPull: {tag}\n"
        "baseCommand: [cat, /marker]\nstdout: out.txt\ninputs: []\noutputs:\n  out: stdout\n"
    )
    run_dir = tmp_path / "run"
    try:
        assert run([engine.executable, "tag", first.ref, tag]).returncode == 0
        prepare_run(str(tool), None, run_dir, engines=[engine.name])
        assert run([engine.executable, "tag", second.ref, tag]).returncode == 0  # the tag moves
        status, log = run_snakemake(run_dir, RunOptions(load_profile("local")))
    finally:
        run([engine.executable, "rmi", tag])
    assert status == 0, log
    assert text_of(read_output(run_dir, "tool")["out"]) == "first\n"


@pytest.fixture
def stand_in_apptainer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An `apptainer` (also called `singularity`, as cwltool calls it) that cannot run anything.

    It answers --version, "builds" a SIF by copying the archive docker/podman saved, and writes
    the argv of any other call (cwltool's run of the job) to argv.txt.
    """
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "apptainer"
    script.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        '  --version) echo "apptainer version 1.3.4" ;;\n'
        '  build) cp "${3#docker-archive:}" "$2" ;;\n'
        f"  *) printf '%s\\n' \"$@\" > {tmp_path / 'argv.txt'} ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    (folder / "singularity").symlink_to(script)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "argv.txt"


@pytest.fixture
def source_engine() -> Engine:
    """docker, else podman: the engine that pins images for Apptainer."""
    for name in ("docker", "podman"):
        executable = shutil.which(name)
        if executable and probe_engine(name, executable).usable:
            return usable_engine(name)
    return usable_engine("docker")  # skips (fails in CI) with the reason


def test_apptainer_runs_the_converted_image_read_only_and_offline(
    source_engine, stand_in_apptainer, tmp_path
):
    tool = tmp_path / "cat.cwl"
    tool.write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\n"
        f"hints:\n  DockerRequirement:\n    dockerPull: {BUSYBOX}\n"
        "baseCommand: [cat]\ninputs:\n  f: {type: File, inputBinding: {position: 1}}\noutputs: []\n"
    )
    (tmp_path / "in.txt").write_text("data\n")
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"f": {"class": "File", "path": str(tmp_path / "in.txt")}}))
    run_workflow(
        str(tool),
        str(job),
        run_dir=tmp_path / "run",
        outdir=tmp_path / "out",
        options=RunOptions(
            load_profile("local"), container="apptainer", image_cache=tmp_path / "cache"
        ),
    )
    engine_name, images = load_pins(tmp_path / "run")
    digest = get_image_digest(source_engine, BUSYBOX)
    assert digest is not None
    sif = tmp_path / "cache" / "apptainer" / f"{digest.removeprefix('sha256:')}.sif"
    assert (engine_name, images[0].image.sif, images[0].image.digest) == ("apptainer", sif, digest)
    assert sif.stat().st_size > 1_000_000  # the saved image, busybox included

    argv = stand_in_apptainer.read_text().splitlines()
    assert argv[:5] == ["--quiet", "run", "--contain", "--ipc", "--cleanenv"]
    assert argv[-5:-2] == ["--network", "none", str(sif)]  # no network; the pinned SIF
    staged = argv[-1]
    assert argv[-2:] == ["cat", staged] and staged.endswith("/in.txt")
    mount = f"--mount=type=bind,source={tmp_path / 'in.txt'},target={staged},readonly"
    assert mount in argv  # the input, read-only


# --- the demo with its astropy steps in a locally built image ---------------------------------


def started_from(engine: Engine, since: int) -> list[str]:
    """Image ids of the containers the engine started since ``since`` (epoch seconds)."""
    fmt = "{{.From}}" if engine.name == "docker" else "{{.Image}}"
    done = run(
        [engine.executable, "events", "--since", str(since), "--until", str(int(time.time()) + 1),
         "--filter", "event=start", "--format", fmt]
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_demo_runs_its_steps_in_the_image_containerize_built(engine, python_base, tmp_path):
    # The astropy wheels come from the package registry through the host's pip (builds have no
    # network); `ossrflow cwl` (inside compose) then pins the image that containerize recorded
    # in ./containers.
    registry = REPO / "workflows" / "registry"
    ossrflow = [sys.executable, "-m", "ossrflow"]
    done = subprocess.run(
        [*ossrflow, "containerize", f"dir:{registry / 'astropy-fitsheader'}", "--container",
         engine.name, "--base", python_base],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    digest = json.loads((tmp_path / "containers/astropy/image.json").read_text())["digest"]
    since = int(time.time()) - 1
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [*ossrflow, "run", str(REPO / "workflows/demo/analysis.yml"), "--registry",
         f"dir:{registry}", "--container", engine.name, "--run-dir", str(run_dir)],
        cwd=tmp_path, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = Path(json.loads(done.stdout)["report"]["path"]).read_text()
    assert "M67" in table
    _, images = load_pins(run_dir)
    assert [(i.image.digest, i.steps) for i in images] == [
        (digest, ("checksum", "tabulate", "show"))
    ]
    # Four checksum elements, tabulate and show: six containers of that very image (the
    # engine's event log may lag behind a quick run: asked again for a few seconds).
    deadline = time.monotonic() + 20
    while True:
        started = started_from(engine, since)
        count = sum(image.removeprefix("sha256:") in digest for image in started)
        if count >= 6 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert count == 6, started
    assert {i.digest for i in load_record(run_dir).images} == {digest}

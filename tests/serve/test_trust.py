"""The trust model of docs/service.md, enforced: every step in a container, as an unprivileged
user, seeing only its inputs and its output folder; no step without a container or with
JavaScript unless the operator allows native steps; an entry's step gets the image
`ossrflow containerize` built for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ossrflow.serve.guard import Refused, guard_run_args
from tests.support.wes import BUSYBOX, REPO, WesService, busybox_tool

ENTRIES = REPO / "tests" / "data" / "cwlgen" / "entries"
READ = busybox_tool('cat "$0"', inputs="{target: {type: string, inputBinding: {}}}")
SCATTER_READ = """\
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  targets: string[]
outputs:
  out:
    type: File[]
    outputSource: read/out
steps:
  read:
    run: read.cwl
    scatter: target
    in:
      target: targets
    out: [out]
"""
SIZE = busybox_tool('wc -c < "$0"', inputs="{file: {type: File, inputBinding: {}}}")
SCATTER_SIZES = """\
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  files: File[]
outputs:
  sizes:
    type: File[]
    outputSource: size/out
steps:
  size:
    run: size.cwl
    scatter: file
    in:
      file: files
    out: [out]
"""
WHOAMI = busybox_tool("id -u; id -g; touch /etc/x 2>&1 || echo root fs read-only")
JAVASCRIPT = """\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: ossrflow/busybox:local}
  InlineJavascriptRequirement: {}
baseCommand: echo
arguments: [$(1 + 1)]
inputs: []
stdout: out.txt
outputs: {out: stdout}
"""


# -- the container guard (pure) ----------------------------------------------------------------


def guard_settings(tmp_path: Path) -> dict[str, object]:
    run = tmp_path / "run"
    (run / "out").mkdir(parents=True)
    return {
        "run_id": "r1",
        "run_folder": str(run),
        "readable": [str(run), str(tmp_path / "store")],
        "user": "65534:65534",
    }


def test_the_guard_runs_steps_unprivileged_labelled_and_without_capabilities(tmp_path):
    settings = guard_settings(tmp_path)
    out = tmp_path / "run" / "out"
    args = [
        "-i",
        f"--mount=type=bind,source={out},target=/var/spool/cwl",
        f"--mount=type=bind,source={tmp_path / 'store'},target=/var/lib/cwl/in,readonly",
        "--workdir=/var/spool/cwl",
        "--read-only=true",
        "--net=none",
        "--user=0:0",
        "--rm",
        "--env=HOME=/var/spool/cwl",
        "sha256:abc",
        "sh",
        "-c",
        "true",
    ]
    if os.geteuid() != 0:
        pytest.skip("handing the output folder to another user needs root")
    checked = guard_run_args(args, settings)
    assert checked == [
        *args[:6],
        "--user=65534:65534",
        "--rm",
        "--env=HOME=/var/spool/cwl",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        "--label=org.ossrflow.run=r1",
        "sha256:abc",
        "sh",
        "-c",
        "true",
    ]
    assert (out.stat().st_uid, out.stat().st_gid) == (65534, 65534)


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        ("--privileged", "option '--privileged' is not allowed in a service run"),
        ("--cap-add=SYS_ADMIN", "option '--cap-add=SYS_ADMIN' is not allowed in a service run"),
        ("--net=host", "option '--net=host' is not allowed in a service run"),
        ("-v", "option '-v' is not allowed in a service run"),
        ("--device=/dev/sda", "option '--device=/dev/sda' is not allowed in a service run"),
        ("--mount=type=bind,source=/etc,target=/x,readonly",
         "mount /etc lies outside the run, the store and the data roots"),
        ("--mount=type=bind,source=STORE,target=/x", "writable mount STORE lies outside the "
         "run's folder"),
        ("--mount=type=volume,source=v,target=/x", "mount 'type=volume,source=v,target=/x' is not "
         "a plain bind mount"),
    ],
)  # fmt: skip
def test_the_guard_refuses_what_cwltool_never_asks_for(tmp_path, option, problem):
    store = str(tmp_path / "store")
    with pytest.raises(Refused) as caught:
        guard_run_args([option.replace("STORE", store), "sha256:abc"], guard_settings(tmp_path))
    assert str(caught.value) == problem.replace("STORE", store)


# -- runs ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, docker_engine: str) -> Path:
    """The service's working folder: a folder registry of two entries, and the image record
    `ossrflow containerize` leaves for one of them (linecount, built as busybox here)."""
    folder = tmp_path_factory.mktemp("trust-workdir")
    registry = folder / "registry"
    shutil.copytree(ENTRIES / "linecount", registry / "linecount")
    shutil.copytree(ENTRIES / "linecount", registry / "wordcount")
    codemeta = json.loads((registry / "wordcount" / "codemeta.json").read_text())
    codemeta["name"] = "wordcount"
    (registry / "wordcount" / "codemeta.json").write_text(json.dumps(codemeta))
    digest = subprocess.run(
        ["docker", "image", "inspect", BUSYBOX, "--format", "{{.Id}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    record: dict[str, object] = {"image": BUSYBOX, "digest": digest, "engine": "docker", "version": "1.0.0",
              "base": BUSYBOX, "base_digest": None, "requirements": []}  # fmt: skip
    (folder / "containers" / "linecount").mkdir(parents=True)
    (folder / "containers" / "linecount" / "image.json").write_text(json.dumps(record))
    return folder


@pytest.fixture(scope="module")
def wes(workdir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesService]:
    import ossrflow

    folder = tmp_path_factory.mktemp("trust")
    settings = ossrflow.Settings(registry=f"dir:{workdir / 'registry'}", cache_dir=folder / "cache")
    with WesService(folder, workdir=workdir, settings=settings) as service:
        yield service


def test_a_step_cannot_read_another_run_the_database_or_the_tokens(wes):
    other = wes.submit("bob", files={"w.cwl": WHOAMI}, workflow_url="w.cwl")
    assert wes.wait(other, "bob")["state"] == "COMPLETE"
    secrets = [
        wes.config.runs_dir / other / "attachments" / "w.cwl",
        wes.config.runs_dir / other / "run" / "results" / "out.txt",
        wes.config.runs_dir / "ossrflow-serve.db",
        wes.tokens_file,
    ]
    assert all(path.is_file() for path in secrets)
    run_id = wes.submit(
        files={"scatter.cwl": SCATTER_READ, "read.cwl": READ},
        workflow_url="scatter.cwl",
        workflow_params={"targets": [str(path) for path in secrets]},
    )
    log = wes.wait(run_id)
    assert log["state"] == "EXECUTOR_ERROR"
    tasks = wes.get(f"/runs/{run_id}/tasks").json()["task_logs"]
    assert {t["state"] for t in tasks} <= {"EXECUTOR_ERROR", "UNKNOWN"}
    failed = [t for t in tasks if t["state"] == "EXECUTOR_ERROR"]
    assert failed  # Snakemake stops at the first failure; each that ran failed
    for task in failed:
        text = httpx.get(task["stderr"], headers=wes.headers("alice")).text
        assert "No such file or directory" in text
    assert wes.get(f"/runs/{run_id}/outputs").json()["outputs"] == []


def test_steps_run_as_an_unprivileged_user_on_a_read_only_root(wes):
    run_id = wes.submit(files={"w.cwl": WHOAMI}, workflow_url="w.cwl")
    log = wes.wait(run_id)
    assert log["state"] == "COMPLETE"
    text = httpx.get(log["outputs"]["out"]["location"], headers=wes.headers("alice")).text
    assert text.splitlines() == ["65534", "65534", "touch: /etc/x: Read-only file system",
                                 "root fs read-only"]  # fmt: skip


def test_javascript_expressions_are_refused(wes):
    run_id = wes.submit(files={"js.cwl": JAVASCRIPT}, workflow_url="js.cwl")
    log = wes.wait(run_id)
    assert log["state"] == "EXECUTOR_ERROR"
    [message] = log["run_log"]["system_logs"]
    assert (
        ":main: the workflow (CommandLineTool) uses JavaScript expressions "
        "(InlineJavascriptRequirement), which cwltool evaluates on the host, outside any "
        "container (fix:"
    ) in message


def test_an_entry_runs_in_the_image_containerize_built_or_is_refused(wes):
    files = {"in.txt": "one\ntwo\nthree\n"}
    params = {"infile": {"class": "File", "location": "in.txt"}}
    built = wes.submit(files=files, workflow_url="linecount", workflow_params=params)
    bare = wes.submit(files=files, workflow_url="wordcount", workflow_params=params)
    log = wes.wait(built)
    assert log["state"] == "COMPLETE", log["run_log"]["system_logs"]
    counts = httpx.get(log["outputs"]["counts"]["location"], headers=wes.headers("alice")).text
    assert counts.split()[0] == "3"
    tool = (wes.config.runs_dir / built / "fetched" / "tool.cwl").read_text()
    assert f"dockerPull: {BUSYBOX}" in tool
    refused = wes.wait(bare)
    assert refused["state"] == "EXECUTOR_ERROR"
    [message] = refused["run_log"]["system_logs"]
    assert message.startswith(f"{wes.config.runs_dir / bare}/fetched/tool.cwl:main: the workflow "
                              "(CommandLineTool) has no DockerRequirement")  # fmt: skip


def test_a_service_allowing_native_steps_runs_them(tmp_path, docker_engine):
    native = "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: [id, -u]\ninputs: []\n"
    native += "stdout: out.txt\noutputs: {out: stdout}\n"
    with WesService(tmp_path, allow_native=True) as wes:
        info = wes.get("/service-info", user=None).json()
        assert info["tags"]["containers"] == "optional"
        log = wes.wait(wes.submit(files={"n.cwl": native}, workflow_url="n.cwl"))
        assert log["state"] == "COMPLETE"


def test_staged_inputs_are_read_by_the_unprivileged_user(wes):
    """A cart's local items are copied into the content store; the step (user 65534 when the
    service runs as root) reads them there through its read-only mounts."""
    files = {
        "sizes.cwl": SCATTER_SIZES,
        "size.cwl": SIZE,
        "cart.json": json.dumps(
            {"items": [{"location": "data/a.txt"}, {"location": "data/b.txt"}]}
        ),
        "data/a.txt": "a" * 10,
        "data/b.txt": "b" * 20,
    }
    run_id = wes.submit(files=files, workflow_url="sizes.cwl",
                        workflow_engine_parameters={"carts": {"files": "cart.json"}})  # fmt: skip
    log = wes.wait(run_id)
    assert log["state"] == "COMPLETE", log["run_log"]["system_logs"]
    texts = [httpx.get(f["location"], headers=wes.headers("alice")).text
             for f in log["outputs"]["sizes"]]  # fmt: skip
    assert texts == ["10\n", "20\n"]

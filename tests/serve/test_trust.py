"""The trust model of docs/service.md, enforced: every step in a container, as an unprivileged
user, seeing only its inputs and its output folder; no step without a container or with
JavaScript unless the operator allows native steps; an entry's step gets the image
`ossrflow containerize` built for it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ossrflow.serve.guard import (
    SINGULARITY_ADDED,
    Refused,
    guard_call,
    guard_run_args,
    guard_singularity_env,
)
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


# -- the container guard for Apptainer/Singularity (pure; Apptainer is not installable here) ------

CAT = """\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {dockerPull: ossrflow/busybox:local}
baseCommand: cat
inputs: {file: {type: File, inputBinding: {}}}
stdout: out.txt
outputs: {out: stdout}
"""
APPTAINER_1_3 = ("apptainer", "1.3.4")  # run --no-eval --userns, binds as --mount=...
SINGULARITY_3_8 = ("singularity-ce", "3.8.7")  # exec --pid, binds as --bind SRC:DST[:ro]


def cwltool_singularity_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, release: tuple[str, str], source: Path
) -> list[str]:
    """The argv cwltool's singularity backend starts a ``cat FILE`` step with: what
    ``SingularityCommandLineJob.create_runtime`` builds, then the image and the command line
    (as ``ContainerCommandLineJob.run`` appends them). Only cwltool's probes of the installed
    engine (``singularity --version``, the ``--userns`` trial) are stood in for, by ``release``."""
    import cwltool.singularity
    import cwltool.singularity_utils
    from cwltool.context import LoadingContext, RuntimeContext
    from cwltool.load_tool import load_tool
    from cwltool.singularity import SingularityCommandLineJob
    from cwltool.workflow import default_make_tool
    from packaging.version import Version

    flavor, version = release
    monkeypatch.setattr(cwltool.singularity, "_SINGULARITY_VERSION", Version(version))
    monkeypatch.setattr(cwltool.singularity, "_SINGULARITY_FLAVOR", flavor)
    monkeypatch.setattr(cwltool.singularity_utils, "_USERNS", flavor == "apptainer")
    run = tmp_path / "run"
    for name in ("out", "tmp"):
        (run / name).mkdir(parents=True, exist_ok=True)
    (tmp_path / "cat.cwl").write_text(CAT)
    loading = LoadingContext({"construct_tool_object": default_make_tool})
    tool = load_tool(str(tmp_path / "cat.cwl"), loading)
    context = RuntimeContext({"singularity": True, "use_container": True,
                              "tmpdir_prefix": f"{run / 'tmp'}/",
                              "tmp_outdir_prefix": f"{run / 'out'}/"})  # fmt: skip
    order: dict[str, Any] = {"file": {"class": "File", "location": source.as_uri()}}
    [job] = tool.job(order, lambda *_: None, context)
    assert isinstance(job, SingularityCommandLineJob)
    runtime, _ = job.create_runtime({}, context)
    return [*runtime, str(tmp_path / "store" / "busybox.sif"), *job.command_line]


def stored_input(tmp_path: Path, folder: str = "store") -> Path:
    source = tmp_path / folder / "in.txt"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text("x\n")
    return source


@pytest.mark.parametrize("release", [APPTAINER_1_3, SINGULARITY_3_8], ids=["apptainer-1.3",
                                                                          "singularity-3.8"])  # fmt: skip
def test_the_guard_passes_cwltools_singularity_call_and_tightens_it(tmp_path, monkeypatch, release):
    settings = guard_settings(tmp_path)
    argv = cwltool_singularity_call(tmp_path, monkeypatch, release, stored_input(tmp_path))
    starts = "run" if release == APPTAINER_1_3 else "exec"
    assert argv[:4] == ["singularity", "--quiet", starts, "--contain"]
    binds = "--mount=type=bind" if release == APPTAINER_1_3 else "--bind"
    assert any(arg.startswith(binds) for arg in argv)
    assert argv[-6:-3] == ["--net", "--network", "none"]
    image = argv.index(str(tmp_path / "store" / "busybox.sif"))
    checked = guard_call(argv[0], argv[1:], settings)
    assert checked == [*argv[1:image], *SINGULARITY_ADDED, *argv[image:]]
    home = Path(argv[argv.index("--home") + 1].partition(":")[0])
    assert home.parent == tmp_path / "run" / "out"
    if os.geteuid() == 0:  # the writable home is handed to the container user
        assert (home.stat().st_uid, home.stat().st_gid) == (65534, 65534)


def test_the_guard_refuses_cwltools_singularity_call_mounting_a_foreign_file(tmp_path, monkeypatch):
    settings = guard_settings(tmp_path)
    source = stored_input(tmp_path, "elsewhere")
    argv = cwltool_singularity_call(tmp_path, monkeypatch, APPTAINER_1_3, source)
    with pytest.raises(Refused) as caught:
        guard_call(argv[0], argv[1:], settings)
    assert str(caught.value) == f"mount {source} lies outside the run, the store and the data roots"


@pytest.mark.parametrize(
    ("words", "problem"),
    [
        (["--writable"], "option '--writable' is not allowed in a service run"),
        (["--fakeroot"], "option '--fakeroot' is not allowed in a service run"),
        (["--add-caps", "CAP_SYS_ADMIN"], "option '--add-caps' is not allowed in a service run"),
        (["--keep-privs"], "option '--keep-privs' is not allowed in a service run"),
        (["--writable-tmpfs"], "option '--writable-tmpfs' is not allowed in a service run"),
        (["--overlay", "o.img"], "option '--overlay' is not allowed in a service run"),
        (["--env", "A=1"], "option '--env' is not allowed in a service run"),
        (["--contain=false"], "option '--contain' is not allowed in a service run"),
        (["--net", "--network", "bridge"],
         "network 'bridge' is not allowed in a service run (only none)"),
        (["--net"], "--net without --network none is not allowed in a service run"),
        (["--bind", "/etc:/x"], "writable mount /etc lies outside the run's folder"),
        (["--bind", "/etc:/x:ro"], "mount /etc lies outside the run, the store and the data roots"),
        (["--bind", "STORE:/x"], "writable mount STORE lies outside the run's folder"),
        (["--bind", "RUN/out:/a,/etc:/b"],
         "bind 'RUN/out:/a,/etc:/b' is not one SRC:DST[:ro|:rw] bind"),
        (["--bind", "RUN/out:/a:rw,nosuid"],
         "bind 'RUN/out:/a:rw,nosuid' is not one SRC:DST[:ro|:rw] bind"),
        (["--home", "/root:/home/x"], "writable mount /root lies outside the run's folder"),
        (["--home", "STORE"], "writable mount STORE lies outside the run's folder"),
        (["--mount=type=bind,source=/etc,target=/x,readonly"],
         "mount /etc lies outside the run, the store and the data roots"),
        (["--mount=type=bind,source=RUN/out,source=/etc,target=/x"],
         "mount 'type=bind,source=RUN/out,source=/etc,target=/x' names source twice"),
    ],
)  # fmt: skip
def test_the_guard_refuses_singularity_options_cwltool_never_writes(tmp_path, words, problem):
    settings = guard_settings(tmp_path)
    run, store = str(tmp_path / "run"), str(tmp_path / "store")
    words = [w.replace("STORE", store).replace("RUN", run) for w in words]
    argv = ["--quiet", "run", "--contain", *words, f"{store}/busybox.sif", "true"]
    with pytest.raises(Refused) as caught:
        guard_call("/usr/bin/apptainer", argv, settings)
    assert str(caught.value) == problem.replace("STORE", store).replace("RUN", run)


@pytest.mark.parametrize(
    ("engine", "words", "problem"),
    [
        ("singularity", ["--debug", "run", "/s/i.sif"],
         "global option '--debug' is not allowed in a service run"),
        ("singularity", ["-c", "my.conf", "exec", "/s/i.sif"],
         "global option '-c' is not allowed in a service run"),
        ("apptainer", ["shell", "/s/i.sif"], "'shell' is not allowed in a service run"),
        ("apptainer", ["instance", "start", "/s/i.sif", "x"],
         "'instance' is not allowed in a service run"),
        ("apptainer", ["exec", "instance://x", "cat", "/etc/shadow"],
         "image 'instance://x' is not a local image file"),
        ("apptainer", ["run", "docker://busybox"], "image 'docker://busybox' is not a local image file"),
        ("apptainer", ["run", "--pwd", "/x"], "no image given"),
        ("docker", ["-H", "tcp://elsewhere:2375", "run", "img"],
         "global option '-H' is not allowed in a service run"),
        ("podman", ["--root=/tmp/x", "run", "img"],
         "global option '--root=/tmp/x' is not allowed in a service run"),
        ("docker", ["create", "--privileged", "img"],
         "'create' is not allowed in a service run (only run starts a step)"),
        ("podman", ["container", "run", "--privileged", "img"],
         "'container' is not allowed in a service run (only run starts a step)"),
        ("docker", ["exec", "c1", "sh"],
         "'exec' is not allowed in a service run (only run starts a step)"),
    ],
)  # fmt: skip
def test_the_guard_refuses_other_ways_to_start_a_container(tmp_path, engine, words, problem):
    with pytest.raises(Refused) as caught:
        guard_call(f"/usr/bin/{engine}", words, guard_settings(tmp_path))
    assert str(caught.value) == problem


@pytest.mark.parametrize(
    ("engine", "words"),
    [
        ("singularity", ["--version"]),
        ("apptainer", ["--quiet", "pull", "/s/i.sif", "docker-daemon:ossrflow/busybox:local"]),
        ("apptainer", ["inspect", "--json", "/s/i.sif"]),
        ("docker", ["--version"]),
        ("docker", ["image", "inspect", "--format", "{{.Id}}", "img"]),
        ("podman", ["info", "--format", "{{.Version.Version}}"]),
    ],
)
def test_calls_starting_no_container_go_to_the_engine_unchanged(tmp_path, engine, words):
    assert guard_call(f"/usr/bin/{engine}", words, guard_settings(tmp_path)) is None


def test_the_guard_drops_engine_settings_that_add_binds_or_lift_containment():
    env = {
        "PATH": "/usr/bin",
        "APPTAINER_BIND": "/etc:/x",
        "SINGULARITY_BINDPATH": "/root",
        "APPTAINER_ADD_CAPS": "CAP_SYS_ADMIN",
        "SINGULARITY_NETWORK": "bridge",
        "APPTAINER_CACHEDIR": "/cache",
        "SINGULARITYENV_TMPDIR": "/tmp",
        "APPTAINERENV_HOME": "/h",
    }
    assert guard_singularity_env(env) == {
        "PATH": "/usr/bin",
        "APPTAINER_CACHEDIR": "/cache",
        "SINGULARITYENV_TMPDIR": "/tmp",
        "APPTAINERENV_HOME": "/h",
    }


FAKE_APPTAINER = """\
#!/bin/sh
# stands in for apptainer (not installable on the test machines): says who runs it and with what
echo "ids: $(id -u) $(id -g) $(id -G)"
echo "args: $*"
env | grep -E '^(APPTAINER|SINGULARITY)' | sort
"""


@pytest.fixture
def fake_apptainer() -> Iterator[Path]:
    """An ``apptainer`` executable the container user may run (outside root's pytest folders)."""
    folder = Path(tempfile.mkdtemp(prefix="ossrflow-fake-apptainer-"))
    folder.chmod(0o755)
    engine = folder / "apptainer"
    engine.write_text(FAKE_APPTAINER)
    engine.chmod(0o755)
    yield engine
    shutil.rmtree(folder)


def run_guard(tmp_path: Path, engine: Path, words: list[str]) -> subprocess.CompletedProcess[str]:
    """The shim's command: ``python -m ossrflow.serve.guard SETTINGS ENGINE WORDS...``."""
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps(guard_settings(tmp_path)))
    env = {**os.environ, "APPTAINER_BIND": "/etc:/x", "APPTAINERENV_A": "1",
           "APPTAINER_CACHEDIR": "/cache"}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "ossrflow.serve.guard", str(settings), str(engine), *words],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip


def test_the_guard_starts_apptainer_as_the_container_user_without_its_bind_settings(
    tmp_path, fake_apptainer
):
    if os.geteuid() != 0:
        pytest.skip("starting the engine as another user needs root")
    out = tmp_path / "run" / "out"
    image = tmp_path / "store" / "busybox.sif"
    words = ["--quiet", "run", "--home", f"{out}:/h", "--net", "--network", "none", str(image)]
    done = run_guard(tmp_path, fake_apptainer, [*words, "true"])
    assert done.returncode == 0, done.stderr
    tightened = " ".join([*words[:-1], *SINGULARITY_ADDED, str(image), "true"])
    assert done.stdout.splitlines() == [
        "ids: 65534 65534 65534",
        f"args: {tightened}",
        "APPTAINERENV_A=1",
        "APPTAINER_CACHEDIR=/cache",
    ]
    assert out.stat().st_uid == 65534


def test_a_refused_apptainer_call_exits_125_with_one_line(tmp_path, fake_apptainer):
    words = ["--quiet", "exec", "--bind", "/etc:/x", str(tmp_path / "i.sif"), "cat", "/x/shadow"]
    done = run_guard(tmp_path, fake_apptainer, words)
    assert (done.returncode, done.stdout) == (125, "")
    assert done.stderr == (
        "ossrflow serve: container refused: writable mount /etc lies outside the run's folder\n"
    )


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


@pytest.fixture(scope="module", params=["docker", "podman"])
def engine_wes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, WesService]]:
    """(engine, the service with the local facility's steps in it): docker, then podman."""
    engine = request.getfixturevalue(f"{request.param}_engine")
    folder = tmp_path_factory.mktemp(f"trust-{engine}")
    with WesService(folder, container=engine) as service:
        yield engine, service


def ran_in(wes: WesService, run_id: str, user: str = "alice") -> str:
    """The container engine the run's worker says its steps ran in."""
    text = wes.get(f"/runs/{run_id}/logs/stderr", user).text
    [line] = [line for line in text.splitlines() if ", containers: " in line]
    return line.rpartition(", containers: ")[2]


def test_a_step_cannot_read_another_run_the_database_or_the_tokens(engine_wes):
    engine, wes = engine_wes
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
    assert ran_in(wes, run_id) == ran_in(wes, other, "bob") == engine


def test_steps_run_as_an_unprivileged_user_on_a_read_only_root(engine_wes):
    engine, wes = engine_wes
    run_id = wes.submit(files={"w.cwl": WHOAMI}, workflow_url="w.cwl")
    log = wes.wait(run_id)
    assert log["state"] == "COMPLETE"
    text = httpx.get(log["outputs"]["out"]["location"], headers=wes.headers("alice")).text
    assert text.splitlines() == ["65534", "65534", "touch: /etc/x: Read-only file system",
                                 "root fs read-only"]  # fmt: skip
    assert ran_in(wes, run_id) == engine


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


def test_staged_inputs_are_read_by_the_unprivileged_user(engine_wes):
    """A cart's local items are copied into the content store; the step (user 65534 when the
    service runs as root) reads them there through its read-only mounts."""
    engine, wes = engine_wes
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
    assert ran_in(wes, run_id) == engine

"""Record real runs (Snakemake, local profile), rerun them from their crates, verify, compare.

The workflows are tests/data/provenance/*.cwl, copied per module so that a test may change the
input. Each recorded run is made once per module: `run_workflow` then `record_run`, exactly the
call `ossrflow run` makes.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ossrflow.compose.lock import FilePin, InputPin, Lock, write_lock
from ossrflow.config import Settings
from ossrflow.errors import ChecksumMismatch
from ossrflow.provenance.crate import FORMAL_PARAMETER, PROFILES
from ossrflow.provenance.model import RecordedFile, RunRecord
from ossrflow.provenance.record import load_record
from ossrflow.provenance.rerun import diff_records, rerun
from ossrflow.provenance.runs import run_and_record
from ossrflow.run.execute import RunOptions
from ossrflow.run.profiles import Profile, load_profile
from ossrflow.staging import stage_items
from ossrflow.staging.cart import parse_cart
from tests.support.cli import run
from tests.support.httpserver import LoopbackServer

DATA = Path(__file__).resolve().parents[1] / "data" / "provenance"

# execute.run_snakemake leaves Snakemake's stdout pipe to the garbage collector (a
# ResourceWarning raised later as an unraisable exception); drop this once it closes the pipe.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@dataclass(frozen=True)
class Recorded:
    """A finished, recorded run and the folder its inputs live in."""

    folder: Path
    run_dir: Path
    crate: Path

    @property
    def record(self) -> RunRecord:
        return load_record(self.crate)


def _run_and_record(
    folder: Path, workflow: str, profile: Profile, *, job: str = "job.yml", **options: Any
) -> Recorded:
    run_dir = folder / "run"
    recorded = run_and_record(
        folder / workflow, folder / job, run_dir=run_dir, options=RunOptions(profile), **options
    )
    assert recorded.crate is not None
    return Recorded(folder, run_dir, recorded.crate)


def _without_progress(stderr: str) -> str:
    """stderr without the job progress lines (``[ossrflow] N/M jobs done, …``)."""
    return "".join(line for line in stderr.splitlines(True) if not line.startswith("[ossrflow] "))


def _copy_data(tmp: Path) -> Path:
    folder = tmp / "data"
    shutil.copytree(DATA, folder)
    return folder


@pytest.fixture(scope="module")
def shout(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The deterministic workflow, run and recorded once."""
    folder = _copy_data(tmp_path_factory.mktemp("shout"))
    return _run_and_record(folder, "shout.cwl", load_profile("local"))


@pytest.fixture(scope="module")
def stamp(tmp_path_factory: pytest.TempPathFactory) -> Recorded:
    """The workflow with a timestamp step, run and recorded once."""
    folder = _copy_data(tmp_path_factory.mktemp("stamp"))
    return _run_and_record(folder, "stamp.cwl", load_profile("local"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(cache_dir=tmp_path / "cache")


# --- the record --------------------------------------------------------------------------------


def _graph(crate: Path) -> dict[str, Mapping[str, Any]]:
    data = json.loads((crate / "ro-crate-metadata.json").read_text(encoding="utf-8"))
    return {entity["@id"]: entity for entity in data["@graph"]}


def _ids(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [item["@id"] for item in items if isinstance(item, Mapping)]


def _types(entity: Mapping[str, Any]) -> set[str]:
    kind = entity.get("@type", [])
    return set(kind if isinstance(kind, list) else [kind])


def check_workflow_run_crate(crate: Path) -> list[str]:
    """The MUSTs of Workflow Run Crate 0.5, Process Run Crate 0.5 and Workflow RO-Crate 1.0 (as
    their specifications state them), plus what ossrflow promises: every file with contentSize and
    sha256. Returns the violations."""
    graph = _graph(crate)
    problems = []
    descriptor = graph["ro-crate-metadata.json"]
    if "https://w3id.org/ro/crate/1.1" not in _ids(descriptor.get("conformsTo")):
        problems.append("metadata descriptor does not conform to RO-Crate 1.1")
    root = graph[_ids(descriptor["about"])[0]]
    if "Dataset" not in _types(root):
        problems.append("root is not a Dataset")
    for profile in PROFILES:
        if profile not in _ids(root.get("conformsTo")):
            problems.append(f"root does not conform to {profile}")
        elif "CreativeWork" not in _types(graph.get(profile, {})):
            problems.append(f"{profile} is not described as a CreativeWork")
    for key in ("name", "description", "datePublished"):
        if not root.get(key):
            problems.append(f"root has no {key}")
    main = graph.get((_ids(root.get("mainEntity")) or [""])[0], {})
    if not {"File", "SoftwareSourceCode", "ComputationalWorkflow"} <= _types(main):
        problems.append("mainEntity is not a File, SoftwareSourceCode, ComputationalWorkflow")
    if main.get("@id") not in _ids(root.get("hasPart")):
        problems.append("the main workflow is not in hasPart")
    language = graph.get((_ids(main.get("programmingLanguage")) or [""])[0], {})
    if "ComputerLanguage" not in _types(language):
        problems.append("the main workflow has no programmingLanguage")
    for param in _ids(main.get("input")) + _ids(main.get("output")):
        entity = graph[param]
        if "FormalParameter" not in _types(entity) or not entity.get("additionalType"):
            problems.append(f"{param} is not a FormalParameter with additionalType")
        if FORMAL_PARAMETER not in _ids(entity.get("conformsTo")):
            problems.append(f"{param} does not name the Bioschemas profile")
    runs = [
        e
        for e in graph.values()
        if "CreateAction" in _types(e) and main.get("@id") in _ids(e.get("instrument"))
    ]
    if len(runs) != 1:
        problems.append(f"{len(runs)} CreateActions have the workflow as instrument, not 1")
    for action in (e for e in graph.values() if _types(e) & {"CreateAction", "OrganizeAction"}):
        if not _ids(action.get("instrument")) or any(
            i not in graph for i in _ids(action.get("instrument"))
        ):
            problems.append(f"{action['@id']} has no described instrument")
        if action["@id"] not in _ids(root.get("mentions")):
            problems.append(f"{action['@id']} is not in the root's mentions")
    for action in runs:
        for key in ("object", "result", "startTime", "endTime", "actionStatus"):
            if key not in action:
                problems.append(f"the run has no {key}")
        for ident in _ids(action.get("object")) + _ids(action.get("result")):
            if ident not in graph:
                problems.append(f"{ident} of the run is not described")
    for part in _ids(root.get("hasPart")):
        entity = graph.get(part, {})
        if "File" in _types(entity):
            if not isinstance(entity.get("contentSize"), int):
                problems.append(f"{part} has no contentSize")
            if not re.fullmatch(r"[0-9a-f]{64}", str(entity.get("sha256", ""))):
                problems.append(f"{part} has no sha256")
            if "://" not in part and not (crate / part).is_file():
                problems.append(f"{part} is listed but absent")
    return problems


def test_crate_follows_the_workflow_run_crate_profile(shout: Recorded):
    assert check_workflow_run_crate(shout.crate) == []


def test_the_check_finds_violations(shout: Recorded, tmp_path: Path):
    copy = tmp_path / "crate"
    shutil.copytree(shout.crate, copy)
    path = copy / "ro-crate-metadata.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for entity in data["@graph"]:
        if entity["@id"] == "./":
            entity["conformsTo"] = entity["conformsTo"][:1]
            del entity["mainEntity"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert check_workflow_run_crate(copy)[:2] == [
        "root does not conform to https://w3id.org/ro/wfrun/workflow/0.5",
        "root does not conform to https://w3id.org/workflowhub/workflow-ro-crate/1.0",
    ]


def test_record_holds_inputs_outputs_steps_and_versions(shout: Recorded):
    record = shout.record
    greeting = (shout.folder / "greeting.txt").read_bytes()
    assert [(f.label, f.size, f.copy) for f in record.inputs] == [
        ("text/greeting.txt", len(greeting), "inputs/greeting.txt")
    ]
    assert record.job["label"] == "greeting"
    results = shout.run_dir / "results"
    assert [(f.label, f.step, f.location) for f in record.outputs] == [
        ("count/greeting.count", "measure", (results / "greeting.count").as_uri()),
        ("upper/upper.txt", "shout", (results / "upper.txt").as_uri()),
    ]
    assert (shout.crate / "outputs/upper/upper.txt").read_bytes() == greeting.upper()
    assert [(j.step, j.status, j.job_id) for j in record.steps] == [
        ("shout", "completed", None),
        ("measure", "completed", None),
    ]
    assert all(j.started and j.ended and j.started <= j.ended for j in record.steps)
    assert record.step_order == ("shout", "measure")
    assert {"ossrflow", "cwltool", "snakemake", "python"} <= set(record.versions)
    assert (record.profile, record.executor, record.exit_state) == ("local", "local", "completed")


# --- reruns --------------------------------------------------------------------------------------


def test_rerun_reproduces_every_output(shout: Recorded, tmp_path: Path, settings: Settings):
    result = rerun(
        shout.record, profile=load_profile("local"), run_dir=tmp_path / "again", settings=settings
    )
    assert result.verification.ok
    assert result.verification.summary() == "reproduced 2/2 outputs"
    assert result.new.rerun_of == shout.record.run_id
    assert diff_records(shout.record, result.new) == []
    same = run("diff", str(shout.run_dir), str(tmp_path / "again"))
    assert (same.code, same.stderr) == (0, "")
    assert same.stdout == "no differences: same entries, inputs, workflow, versions and outputs\n"
    assert check_workflow_run_crate(result.new.crate) == []


def test_rerun_with_another_profile_verifies(shout: Recorded, tmp_path: Path):
    profile_dir = tmp_path / "one-core"
    profile_dir.mkdir()
    (profile_dir / "config.yaml").write_text("executor: local\ncores: 1\n", encoding="utf-8")
    again = tmp_path / "again"
    result = run(
        "rerun", str(shout.run_dir), "--profile", str(profile_dir), "--run-dir", str(again),
        "--cache-dir", str(tmp_path / "cache"),
    )  # fmt: skip
    assert (result.code, result.stdout) == (
        0,
        f"reproduced 2/2 outputs\nrecord: {again / 'provenance'}\n",
    )
    differences = diff_records(shout.record, load_record(again))
    assert [(d.kind, d.name, d.before, d.after) for d in differences] == [
        ("profile", "name", "local", "one-core")
    ]


def test_timestamp_output_is_reported_with_exit_4(stamp: Recorded, tmp_path: Path):
    again = tmp_path / "again"
    result = run("rerun", str(stamp.crate), "--run-dir", str(again), "--cache-dir", str(tmp_path))
    old, new = stamp.record, load_record(again)
    before = next(f for f in old.outputs if f.param == "stamp")
    after = next(f for f in new.outputs if f.param == "stamp")
    step_before = next(f for f in old.step_files if f.step == "clock")
    step_after = next(f for f in new.step_files if f.step == "clock")
    assert result.code == 4
    assert result.stdout == (
        "step   output           problem  expected sha256    obtained sha256    size\n"
        f"clock  stamp/stamp.txt  differs  {before.sha256[:16]}…  {after.sha256[:16]}…  "
        f"{before.size} -> {after.size}\n"
        f"first difference: step clock out/stamp.txt: sha256:{step_before.sha256[:16]}… "
        f"({step_before.size} bytes) -> sha256:{step_after.sha256[:16]}… ({step_after.size} bytes)\n"
    )
    assert _without_progress(result.stderr) == (
        f"error: {again / 'provenance'}: 1 of 2 outputs differ from the record "
        f"(fix: compare the records: ossrflow diff {stamp.crate} {again / 'provenance'})\n"
    )


def test_diff_shows_the_text_difference_of_a_small_text_output(stamp: Recorded, tmp_path: Path):
    """Issue 14: not only digests: the lines that changed, for small text files."""
    again = tmp_path / "again"
    assert (
        run("rerun", str(stamp.crate), "--run-dir", str(again), "--cache-dir", str(tmp_path)).code
        == 4
    )
    old = (stamp.crate / "outputs/stamp/stamp.txt").read_text().strip()
    new = (again / "provenance/outputs/stamp/stamp.txt").read_text().strip()
    result = run("diff", str(stamp.run_dir), str(again))
    assert result.code == 4
    texts = result.stdout.split("\n\n")[2:]  # after the first line and the table
    assert texts == [
        f"--- RUN_A step clock out/stamp.txt\n+++ RUN_B step clock out/stamp.txt\n"
        f"@@ -1 +1 @@\n-{old}\n+{new}",
        f"--- RUN_A output stamp/stamp.txt\n+++ RUN_B output stamp/stamp.txt\n"
        f"@@ -1 +1 @@\n-{old}\n+{new}\n",
    ]


def test_a_tool_that_prints_its_input_paths_reruns_identically(tmp_path: Path):
    """Issue 14: sha256sum names the staged path of its input; a rerun stages it at the same
    path, so the rerun reproduces (it exited 4 when inputs went to random folders)."""
    folder = _copy_data(tmp_path)
    recorded = _run_and_record(folder, "checksums.cwl", load_profile("local"))
    sums = (recorded.crate / "outputs/sums/sums.txt").read_text()
    assert sums.endswith("greeting.txt\n")
    again = tmp_path / "again"
    result = run(
        "rerun", str(recorded.run_dir), "--run-dir", str(again), "--cache-dir", str(tmp_path)
    )
    assert (result.code, result.stdout) == (
        0,
        f"reproduced 1/1 outputs\nrecord: {again / 'provenance'}\n",
    )
    assert "warning" not in _without_progress(result.stderr).lower()


def test_tolerance_rule_accepts_the_timestamp_and_is_recorded(
    stamp: Recorded, tmp_path: Path, settings: Settings
):
    from ossrflow.provenance.model import Tolerance

    rule = Tolerance("stamp", "size")
    result = rerun(
        stamp.record,
        profile=load_profile("local"),
        run_dir=tmp_path / "again",
        settings=settings,
        tolerance=[rule],
    )
    assert result.verification.ok
    assert result.verification.summary() == (
        "reproduced 2/2 outputs (1 compared by size only, as the tolerance rules say)"
    )
    assert result.new.tolerance == (rule,)


def test_tampered_input_is_refused_before_running(shout: Recorded, tmp_path: Path):
    text = shout.folder / "greeting.txt"
    original = text.read_bytes()
    text.write_bytes(original.replace(b"hello", b"HELLO"))
    again = tmp_path / "again"
    try:
        result = run(
            "rerun", str(shout.run_dir), "--run-dir", str(again), "--cache-dir", str(tmp_path)
        )
    finally:
        text.write_bytes(original)
    sha = shout.record.inputs[0].sha256
    assert result.code == 2
    assert re.fullmatch(
        rf"error: {re.escape(str(shout.crate))}: input text/greeting\.txt: "
        rf"{re.escape(str(text))} changed since the run \(sha256 [0-9a-f]{{16}}…, the record has "
        rf"{sha[:16]}…\) \(fix: restore the file, or move it away to use the crate's copy or the "
        r"pinned source\)\n",
        result.stderr,
    )
    assert not (again / "Snakefile").exists()
    assert not (again / "steps").exists()


def test_moved_input_comes_from_the_crate_copy(shout: Recorded, tmp_path: Path, settings: Settings):
    from ossrflow.provenance.rerun import stage_inputs

    text = shout.folder / "greeting.txt"
    aside = tmp_path / "aside.txt"
    text.rename(aside)
    try:
        job = stage_inputs(shout.record, settings)
    finally:
        aside.rename(text)
    copy = shout.crate / shout.record.inputs[0].copy  # type: ignore[operator]
    assert job["text"]["location"] == copy.as_uri()
    assert job["label"] == "greeting"


@pytest.fixture
def crate_copy(shout: Recorded, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "crate"
    shutil.copytree(shout.crate, copy)
    yield copy


def test_crate_with_a_missing_file_is_refused_with_one_line(crate_copy: Path, tmp_path: Path):
    (crate_copy / "outputs/upper/upper.txt").unlink()
    result = run("rerun", str(crate_copy), "--run-dir", str(tmp_path / "x"))
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {crate_copy}: the crate lists 'outputs/upper/upper.txt', but the file is "
        "missing (fix: restore it from the published crate; a crate with missing files cannot "
        "be rerun)\n"
    )
    assert not (tmp_path / "x").exists()


def test_crate_with_a_changed_file_is_refused(crate_copy: Path):
    packed = crate_copy / "workflow/packed.cwl"
    packed.write_text(packed.read_text(encoding="utf-8").replace("a-z", "b-z"), encoding="utf-8")
    with pytest.raises(ChecksumMismatch, match=r"'workflow/packed\.cwl' does not match the sha256"):
        load_record(crate_copy)


def test_diff_names_the_earliest_cause_first(shout: Recorded, stamp: Recorded):
    result = run("diff", str(shout.run_dir), str(stamp.run_dir))
    a, b = shout.record, stamp.record
    measure = next(f for f in a.step_files if f.step == "measure")
    clock = next(f for f in b.step_files if f.step == "clock")

    def brief(item: RecordedFile) -> str:
        return f"sha256:{item.sha256[:16]}… ({item.size} bytes)"

    rows = [
        ("kind", "name", "RUN_A", "RUN_B"),
        ("workflow", "packed", f"{a.workflow_sha256[:16]}…", f"{b.workflow_sha256[:16]}…"),
        ("step", "measure out/greeting.count", brief(measure), "absent"),
        ("step", "clock out/stamp.txt", "absent", brief(clock)),
        ("output", "count/greeting.count", brief(a.outputs[0]), "absent"),
        ("output", "stamp/stamp.txt", "absent", brief(b.outputs[0])),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    table = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    assert (result.code, result.stderr) == (
        4,
        f"error: {shout.run_dir} {stamp.run_dir}: 2 output file(s) differ between the runs "
        "(fix: the first difference above names the earliest possible cause)\n",
    )
    assert result.stdout.splitlines() == [
        f"first difference: workflow packed: {a.workflow_sha256[:16]}… -> "
        f"{b.workflow_sha256[:16]}…",
        "",
        *table,
    ]


# --- inputs from their pinned source -----------------------------------------------------------


@pytest.fixture
def pinned(tmp_path: Path, http_server: LoopbackServer) -> Recorded:
    """shout.cwl run on a file staged from a loopback URL; the lock pins that URL, the crate
    keeps no copies, and the staged file is then removed: a rerun must fetch the pinned source."""
    folder = _copy_data(tmp_path)
    http_server.route("/greeting.txt", body=(folder / "greeting.txt").read_bytes())
    url = f"{http_server.url}/greeting.txt"
    items = parse_cart({"items": [{"location": url, "name": "greeting.txt"}]}, source="cart")
    staged = stage_items(items, Settings(cache_dir=tmp_path / "first-cache"))[0]
    job = {"text": staged.cwl, "label": "greeting"}
    (folder / "remote-job.json").write_text(json.dumps(job), encoding="utf-8")
    pin = FilePin("greeting.txt", url, staged.size, staged.sha256.digest)
    lock = Lock("x.yml", "0" * 64, inputs={"text": InputPin("files", (pin,))})
    lock_path = write_lock(lock, folder / "ossrflow.lock.json")
    recorded = _run_and_record(
        folder,
        "shout.cwl",
        load_profile("local"),
        job="remote-job.json",
        lock=lock_path,
        copy_limit=0,
    )
    staged.path.unlink()
    http_server.requests.clear()
    return recorded


def test_rerun_offline_downloads_nothing(
    pinned: Recorded, tmp_path: Path, http_server: LoopbackServer
):
    again = tmp_path / "again"
    result = run(
        "rerun", str(pinned.crate), "--offline", "--run-dir", str(again),
        "--cache-dir", str(tmp_path / "empty-cache"),
    )  # fmt: skip
    assert result.code == 2
    assert result.stderr.count("\n") == 1
    assert "not in the store, and --offline forbids downloading it" in result.stderr
    assert http_server.requests == []
    assert not (again / "provenance").exists()


def test_rerun_fetches_a_pinned_source_when_online(
    pinned: Recorded, tmp_path: Path, http_server: LoopbackServer
):
    settings = Settings(cache_dir=tmp_path / "second-cache")
    result = rerun(pinned.record, run_dir=tmp_path / "again", settings=settings)
    assert result.verification.summary() == "reproduced 2/2 outputs"
    assert [seen.path for seen in http_server.requests] == ["/greeting.txt"]
    assert http_server.requests[0].headers["accept"] == "*/*"


# --- the demo --------------------------------------------------------------------------------


@pytest.mark.slow
def test_rerun_of_the_demo_verifies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`make demo`'s workflow, composed with its lock, run, recorded, rerun: 2/2 reproduced."""
    import sys

    from ossrflow.compose.composition import compose_workflow
    from ossrflow.compose.definition_reader import load_definition

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{__import__('os').environ['PATH']}")
    settings = Settings(registry=f"dir:{repo / 'workflows' / 'registry'}", cache_dir=tmp_path / "c")
    composed = compose_workflow(
        load_definition(repo / "workflows" / "demo" / "analysis.yml"), tmp_path / "demo", settings
    )
    profile = load_profile("local")
    run_dir = tmp_path / "demo" / "run"
    recorded_run = run_and_record(
        composed.workflow,
        composed.job,
        run_dir=run_dir,
        options=RunOptions(profile),
        lock=composed.lock_path,
    )
    assert recorded_run.crate is not None
    crate = recorded_run.crate
    assert check_workflow_run_crate(crate) == []
    recorded = load_record(crate)
    assert recorded.lock is not None
    assert sorted(recorded.lock.entries) == ["fitscheck", "fitsheader", "showtable"]
    assert [j.step for j in recorded.steps] == ["checksum"] * 4 + ["tabulate", "show"]
    again = rerun(recorded, profile=profile, run_dir=tmp_path / "again", settings=settings)
    assert again.verification.summary() == "reproduced 2/2 outputs"
    # fitscheck stamps the time into each CHECKSUM comment: the checked copies differ, the
    # observing log (which tabulates DATASUM, not CHECKSUM) does not. diff says so.
    differences = diff_records(recorded, again.new)
    assert [(d.kind, d.name.split("[")[0]) for d in differences] == [("step", "checksum")] * 4


# --- another scheduler ---------------------------------------------------------------------------

SLURM_PROFILE = """\
executor: slurm
jobs: 4
slurm-init-seconds-before-status-checks: 1
slurm-no-account: true
default-resources:
  slurm_partition: debug
  runtime: 5
  mem_mb: 500
"""


def _slurm_is_up() -> bool:
    import subprocess

    script = Path(__file__).resolve().parents[2] / "scripts" / "cluster" / "slurm.sh"
    done = subprocess.run(["bash", str(script), "status"], capture_output=True, check=False)
    return done.returncode == 0


@pytest.mark.slurm
def test_a_local_run_reruns_on_slurm_and_verifies(
    shout: Recorded, tmp_path: Path, settings: Settings
):
    import os

    if not _slurm_is_up():
        if os.environ.get("CI") == "true":
            pytest.fail("the Slurm test cluster is not running (make clusters)")
        pytest.skip("the Slurm test cluster is not running (bash scripts/cluster/slurm.sh start)")
    folder = tmp_path / "slurm"
    folder.mkdir()
    (folder / "config.yaml").write_text(SLURM_PROFILE, encoding="utf-8")
    profile = load_profile(str(folder))
    result = rerun(shout.record, profile=profile, run_dir=tmp_path / "again", settings=settings)
    assert result.verification.summary() == "reproduced 2/2 outputs"
    assert [(j.step, j.status) for j in result.new.steps] == [
        ("shout", "completed"),
        ("measure", "completed"),
    ]
    assert all(j.job_id and j.job_id.isdigit() for j in result.new.steps)
    differences = diff_records(shout.record, result.new)
    assert [(d.kind, d.name) for d in differences] == [
        ("version", "snakemake-executor-plugin-slurm"),
        ("profile", "name"),
        ("profile", "executor"),
    ]

"""Records from hand-made run directories (no Snakemake), read back, refused, verified, compared.

A hand-made run directory has exactly the layout execute writes (plan.json, steps/*/
cwl.output.json, job.log, snakemake.log, .snakemake/metadata/) so that every field of the record
can be checked against known values. Real runs are in tests/integration/test_rerun.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ossrflow.cli import main
from ossrflow.compose.lock import EntryPin, FilePin, InputPin, Lock, render_lock
from ossrflow.config import Settings
from ossrflow.cwl.outputs import collect_outputs
from ossrflow.errors import ChecksumMismatch, InputError, NotFound, UnsafeValue
from ossrflow.integrity import hash_file
from ossrflow.provenance import scan
from ossrflow.provenance.crate import param_type, split_image_ref
from ossrflow.provenance.model import RecordedFile, RunRecord, StepJob, Tolerance, parse_tolerance
from ossrflow.provenance.record import (
    Preparation,
    _Copies,
    _copy_inputs,
    _copy_outputs,
    find_crate,
    load_record,
    record_run,
)
from ossrflow.provenance.rerun import (
    Difference,
    diff_records,
    stage_inputs,
    verify_entries,
    verify_outputs,
)
from ossrflow.provenance.scan import job_nodes, parse_job_ids
from ossrflow.run.keys import DigestCache
from ossrflow.run.plan import Node, Plan, render_plan
from ossrflow.run.profiles import Profile
from tests.support.httpserver import LoopbackServer

DATA = Path(__file__).resolve().parents[2] / "data" / "provenance"
T0 = 1_795_861_242.5  # 2026-11-28T10:20:42Z
GREETING = b"hello from the provenance tests\n"

# A Snakemake log of a Slurm run, in the executor plugin's words (2.8.0).
SLURM_LOG = """\
Building DAG of jobs...
[Sat Nov 28 10:20:42 2026]
rule shout:
    input: steps/@inputs/cwl.output.json
    output: steps/shout/cwl.output.json
    log: steps/shout/job.log
    jobid: 1
    reason: Missing output files: steps/shout/cwl.output.json
    resources: mem_mb=500, slurm_partition=debug, runtime=5
Job 1 has been submitted with SLURM jobid 4242 (log: /run/.snakemake/slurm_logs/rule_shout/4242.log).
[Sat Nov 28 10:20:50 2026]
rule measure:
    input: steps/shout/cwl.output.json
    output: steps/measure/1/cwl.output.json
    log: steps/measure/1/job.log
    jobid: 3
    wildcards: i=1
Job 3 has been submitted with SLURM jobid 4244 (log: /run/.snakemake/slurm_logs/rule_measure/4244.log).
"""
CONDOR_LOG = """\
rule shout:
    output: steps/shout/cwl.output.json
    jobid: 7
Job 7 submitted to HTCondor Cluster ID 118 with batch name shout
The logs of the HTCondor job are stored in /run/.snakemake/htcondor_logs/unified.log
"""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file(path: Path, data: bytes) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return {"class": "File", "location": path.as_uri(), "basename": path.name, "size": len(data)}


def _write(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")


def _metadata(run: Path, output: str, record: dict[str, Any]) -> None:
    name = base64.urlsafe_b64encode(output.encode()).decode()
    _write(run / ".snakemake" / "metadata" / name, record)


@dataclass(frozen=True)
class FakeRun:
    folder: Path
    run_dir: Path
    profile: Profile
    outputs: dict[str, Any]


def make_run(tmp: Path, *, failed: bool = False) -> FakeRun:
    """A finished run of shout.cwl with ``measure`` scattered over two elements."""
    folder = tmp / "data"
    shutil.copytree(DATA, folder)
    run = tmp / "run"
    uri = (folder / "shout.cwl").as_uri()
    nodes = (
        Node("@inputs", "inputs"),
        Node("shout", "step", (f"{uri}#shout",), "shout", {f"{uri}#text": ("@inputs", "text")}),
        Node(
            "measure",
            "step",
            (f"{uri}#measure",),
            "measure",
            {f"{uri}#shout/out": ("shout", "out")},
            "dotproduct",
            (2,),
            outputs=("out",),
        ),
        Node("@outputs", "exit", (), "outputs", {f"{uri}#measure/out": ("measure", "out")}),
    )
    _write(run / "plan.json", json.loads(render_plan(Plan(uri, str(folder), nodes, "@outputs"))))
    text = {"class": "File", "location": (folder / "greeting.txt").as_uri()}
    _write(run / "steps/@inputs/cwl.output.json", {"text": text, "label": "greeting"})
    upper = _file(run / "steps/shout/out/upper.txt", GREETING.upper())
    _write(run / "steps/shout/cwl.output.json", {"out": upper})
    (run / "steps/shout/job.log").write_text("", encoding="utf-8")
    counts = []
    for i in range(2):
        (run / f"steps/measure/{i}").mkdir(parents=True)
        (run / f"steps/measure/{i}/job.log").write_text("", encoding="utf-8")
        if failed and i == 1:
            continue
        counts.append(_file(run / f"steps/measure/{i}/out/n.count", b"32\n"))
        _write(run / f"steps/measure/{i}/cwl.output.json", {"out": counts[-1]})
    _metadata(
        run,
        "steps/shout/cwl.output.json",
        {"starttime": T0, "endtime": T0 + 8, "external_jobid": None},
    )
    (run / "snakemake.log").write_text(SLURM_LOG, encoding="utf-8")
    outputs = {"count": counts, "upper": upper}
    if not failed:
        _write(run / "steps/@outputs/cwl.output.json", outputs)
    profile_dir = tmp / "slurm-profile"
    profile_dir.mkdir()
    (profile_dir / "config.yaml").write_text("executor: slurm\njobs: 4\n", encoding="utf-8")
    profile = Profile("slurm", profile_dir, {"executor": "slurm"})
    return FakeRun(folder, run, profile, outputs)


def record(fake: FakeRun, **extra: Any) -> Path:
    arguments: dict[str, Any] = {
        "workflow": fake.folder / "shout.cwl",
        "job": fake.folder / "job.yml",
        "profile": fake.profile,
        "started": datetime.fromtimestamp(T0 - 1, UTC),
        "ended": datetime.fromtimestamp(T0 + 20, UTC),
        "exit_state": "completed",
        "outputs": None,
    }
    return record_run(fake.run_dir, **(arguments | extra))


@pytest.fixture
def fake(tmp_path: Path) -> FakeRun:
    return make_run(tmp_path)


@pytest.fixture
def crate(fake: FakeRun) -> Path:
    return record(fake)


# --- what the record holds ---------------------------------------------------------------------


def test_parse_job_ids_from_slurm_and_htcondor_logs():
    assert parse_job_ids(SLURM_LOG) == {
        "steps/shout/cwl.output.json": "4242",
        "steps/measure/1/cwl.output.json": "4244",
    }
    assert parse_job_ids(CONDOR_LOG) == {"steps/shout/cwl.output.json": "118"}
    assert parse_job_ids("localrule shout:\n    output: x\n    jobid: 1\n") == {}


def test_record_holds_jobs_with_ids_times_and_status(crate: Path):
    loaded = load_record(crate)
    assert loaded.steps == (
        StepJob("shout", None, "completed", "4242", "2026-11-28T10:20:42+00:00", "2026-11-28T10:20:50+00:00"),
        StepJob("measure", 0, "completed"),
        StepJob("measure", 1, "completed", "4244"),
    )  # fmt: skip
    assert loaded.step_order == ("shout", "measure")
    assert (loaded.started, loaded.ended) == (
        "2026-11-28T10:20:41+00:00",
        "2026-11-28T10:21:02+00:00",
    )


def test_record_holds_every_file_with_size_and_sha256(fake: FakeRun, crate: Path):
    loaded = load_record(fake.run_dir)
    run = fake.run_dir
    assert loaded.inputs == (
        RecordedFile(
            "text", "text/greeting.txt", len(GREETING), sha256(GREETING),
            (fake.folder / "greeting.txt").as_uri(),
            copy="inputs/greeting.txt",
        ),
    )  # fmt: skip
    assert loaded.outputs == (
        RecordedFile(
            "count", "count/0/n.count", 3, sha256(b"32\n"),
            (run / "steps/measure/0/out/n.count").as_uri(), "measure", 0,
            copy="outputs/count/0/n.count",
        ),
        RecordedFile(
            "count", "count/1/n.count", 3, sha256(b"32\n"),
            (run / "steps/measure/1/out/n.count").as_uri(), "measure", 1,
            copy="outputs/count/1/n.count",
        ),
        RecordedFile(
            "upper", "upper/upper.txt", len(GREETING), sha256(GREETING.upper()),
            (run / "steps/shout/out/upper.txt").as_uri(), "shout",
            copy="outputs/upper/upper.txt",
        ),
    )  # fmt: skip
    assert [(f.step, f.element, f.label) for f in loaded.step_files] == [
        ("shout", None, "out/upper.txt"),
        ("measure", 0, "out/n.count"),
        ("measure", 1, "out/n.count"),
    ]
    assert (crate / "inputs/greeting.txt").read_bytes() == GREETING
    assert loaded.job == {
        "label": "greeting",
        "text": {"class": "File", "location": (fake.folder / "greeting.txt").as_uri()},
    }


def test_record_names_versions_profile_and_the_executor_plugin(crate: Path):
    loaded = load_record(crate)
    assert set(loaded.versions) == {
        "python", "ossrflow", "cwltool", "cwl-utils", "snakemake", "snakemake-executor-plugin-slurm",
    }  # fmt: skip
    assert (loaded.profile, loaded.executor) == ("slurm", "slurm")
    assert (crate / "profile/config.yaml").read_text(encoding="utf-8").startswith("executor: slurm")
    assert (crate / "logs/snakemake.log").read_text(encoding="utf-8") == SLURM_LOG


def test_packed_workflow_holds_the_tools(crate: Path):
    packed = json.loads((crate / "workflow/packed.cwl").read_text(encoding="utf-8"))
    runs = [step["run"]["baseCommand"] for step in packed["steps"]]
    assert runs == [["tr", "a-z", "A-Z"], ["wc", "-c"]]
    assert load_record(crate).workflow_sha256 == sha256(
        (crate / "workflow/packed.cwl").read_bytes()
    )


def test_the_workflow_packed_while_the_run_ran_is_the_one_recorded(fake: FakeRun, crate: Path):
    first = (crate / "workflow/packed.cwl").read_bytes()
    preparation = Preparation(fake.folder / "shout.cwl")
    preparation.start()  # as run_workflow does once Snakemake runs
    preparation.packed()
    (fake.folder / "shout.cwl").write_text("edited after the run started\n")
    again = record(fake, preparation=preparation)
    assert (again / "workflow/packed.cwl").read_bytes() == first


def test_a_workflow_that_cannot_be_packed_is_refused_whether_prepared_or_not(fake: FakeRun):
    broken = fake.folder / "broken.cwl"
    broken.write_text("cwlVersion: v1.2\nclass: Workflow\nsteps: {a: {run: gone.cwl}}\n")
    preparation = Preparation(broken)
    preparation.start()  # the thread fails quietly; recording packs again and says why
    for given in (preparation, None):
        with pytest.raises(InputError, match="cannot pack the workflow for the record"):
            record(fake, workflow=broken, preparation=given)


def test_each_scatter_element_job_results_in_its_own_files_only(crate: Path):
    graph = json.loads((crate / "ro-crate-metadata.json").read_text())["@graph"]
    jobs = {e["name"]: e for e in graph if e.get("@type") == "CreateAction"}
    assert [r["@id"] for r in jobs["step measure [0]"]["result"]] == ["outputs/count/0/n.count"]
    assert [r["@id"] for r in jobs["step measure [1]"]["result"]] == ["outputs/count/1/n.count"]
    assert [r["@id"] for r in jobs["step shout"]["result"]] == ["outputs/upper/upper.txt"]


def _placed_outputs(fake: FakeRun, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """The run's outputs placed in an output folder as ossrflow run places them."""
    results = tmp_path / "results"
    placed = collect_outputs(fake.run_dir / "steps/@outputs/cwl.output.json", results)
    return results, placed


def test_crate_outputs_are_links_to_the_step_outputs_not_to_the_output_folder(
    fake: FakeRun, tmp_path: Path
):
    results, placed = _placed_outputs(fake, tmp_path)
    crate = record(fake, outputs=placed)
    step_upper = fake.run_dir / "steps/shout/out/upper.txt"
    assert (crate / "outputs/upper/upper.txt").stat().st_ino == step_upper.stat().st_ino
    assert (results / "upper.txt").stat().st_ino != step_upper.stat().st_ino
    # the second n.count was renamed when placed; its label (basename) is the step's still
    assert sorted(p.name for p in results.iterdir()) == ["n.count", "n.count_2", "upper.txt"]
    for i in (0, 1):
        step_count = fake.run_dir / f"steps/measure/{i}/out/n.count"
        assert (crate / f"outputs/count/{i}/n.count").stat().st_ino == step_count.stat().st_ino
    (results / "upper.txt").write_bytes(b"edited later\n")  # the user's own copy
    assert (crate / "outputs/upper/upper.txt").read_bytes() == GREETING.upper()
    for item in load_record(crate).outputs:
        assert item.copy is not None and sha256((crate / item.copy).read_bytes()) == item.sha256


def test_placed_outputs_are_not_read_again_for_their_digest(
    fake: FakeRun, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    results, placed = _placed_outputs(fake, tmp_path)
    read: list[Path] = []

    def counting(path: Path, algorithms: Any = ("sha256",)) -> dict[str, str]:
        read.append(path)
        return hash_file(path, algorithms)

    monkeypatch.setattr(scan, "hash_file", counting)
    loaded = load_record(record(fake, outputs=placed))
    assert read and not [path for path in read if path.is_relative_to(results)]
    assert {f.label: f.sha256 for f in loaded.outputs} == {
        "count/0/n.count": sha256(b"32\n"),
        "count/1/n.count": sha256(b"32\n"),
        "upper/upper.txt": sha256(GREETING.upper()),
    }


def test_an_output_changed_after_placing_is_copied_as_recorded(fake: FakeRun, tmp_path: Path):
    results, placed = _placed_outputs(fake, tmp_path)
    (results / "upper.txt").write_bytes(b"CHANGED\n")
    crate = record(fake, outputs=placed)
    copy = crate / "outputs/upper/upper.txt"
    assert copy.read_bytes() == b"CHANGED\n"
    assert copy.stat().st_ino != (fake.run_dir / "steps/shout/out/upper.txt").stat().st_ino
    recorded = {f.label: f.sha256 for f in load_record(crate).outputs}
    assert recorded["upper/upper.txt"] == sha256(b"CHANGED\n")


def _item(param: str, label: str, data: bytes, tmp_path: Path) -> RecordedFile:
    path = tmp_path / hashlib.sha256(label.encode()).hexdigest()[:8] / "file"  # labels say names
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return RecordedFile(param, label, len(data), sha256(data), path.as_uri())


def test_crate_inputs_get_a_content_folder_only_when_their_names_clash(tmp_path: Path):
    items = [
        _item("a", "a/x.txt", b"one", tmp_path),
        _item("b", "b/0/x.txt", b"two", tmp_path),  # the same name, other bytes
        _item("c", "c/y.txt", b"one", tmp_path),  # the same bytes as a/x.txt: one copy
        _item("d", "d/z.fits", b"three", tmp_path),
        _item("e", "e/0123456789abcdef", b"four", tmp_path),  # looks like a content folder
        _item("f", "f/..", b"five", tmp_path),  # a basename the job order made up
    ]
    copies = [item.copy for item in _copy_inputs(items, _Copies(1 << 20))]
    assert copies == [
        f"inputs/{sha256(b'one')[:16]}/x.txt",
        f"inputs/{sha256(b'two')[:16]}/x.txt",
        f"inputs/{sha256(b'one')[:16]}/x.txt",
        "inputs/z.fits",
        f"inputs/{sha256(b'four')[:16]}/0123456789abcdef",
        "inputs/_",
    ]


def test_crate_outputs_of_an_array_lie_flat_when_their_names_are_distinct(tmp_path: Path):
    items = [
        _item("counts", "counts/0/a.count", b"1", tmp_path),
        _item("counts", "counts/1/b.count", b"2", tmp_path),
        _item("same", "same/0/out.txt", b"1", tmp_path),
        _item("same", "same/1/out.txt", b"2", tmp_path),  # a clash: element folders for all
        _item("dirs", "dirs/0/d/inner.txt", b"3", tmp_path),  # a Directory's member
        _item("one", "one/report.txt", b"4", tmp_path),
        _item("nums", "nums/0/7", b"5", tmp_path),  # a name that looks like an element folder
        RecordedFile("n", "n", 2, sha256(b"42")),  # a value, not a file
    ]
    copies = [item.copy for item in _copy_outputs(items, _Copies(1 << 20))]
    assert copies == [
        "outputs/counts/a.count",
        "outputs/counts/b.count",
        "outputs/same/0/out.txt",
        "outputs/same/1/out.txt",
        "outputs/dirs/0/d/inner.txt",
        "outputs/one/report.txt",
        "outputs/nums/0/7",
        None,
    ]


def test_input_digests_the_planner_computed_are_not_computed_again(
    fake: FakeRun, monkeypatch: pytest.MonkeyPatch
):
    greeting = fake.folder / "greeting.txt"
    planned = DigestCache(fake.run_dir)
    assert planned.digest(greeting) == sha256(GREETING)
    planned.save()
    read: list[Path] = []

    def counting(path: Path, algorithms: Any = ("sha256",)) -> dict[str, str]:
        read.append(path)
        return hash_file(path, algorithms)

    monkeypatch.setattr(scan, "hash_file", counting)
    crate = record(fake)
    assert greeting not in read and read, "outputs are read, the input is not"
    assert load_record(crate).inputs[0].sha256 == sha256(GREETING)
    greeting.write_bytes(b"changed since planning\n")  # a new stamp: read again
    assert load_record(record(fake)).inputs[0].sha256 == sha256(b"changed since planning\n")


def test_copy_limit_keeps_large_files_as_references(fake: FakeRun):
    crate = record(fake, copy_limit=len(GREETING))
    loaded = load_record(crate)
    assert [f.copy is not None for f in loaded.inputs + loaded.outputs] == [
        True,
        False,
        False,
        False,
    ]
    graph = {
        e["@id"]: e for e in json.loads((crate / "ro-crate-metadata.json").read_text())["@graph"]
    }
    upper = (fake.run_dir / "steps/shout/out/upper.txt").as_uri()
    assert graph[upper]["sha256"] == sha256(GREETING.upper())
    assert not (crate / "outputs").exists()


def test_failed_run_is_recorded_as_failed(tmp_path: Path):
    fake = make_run(tmp_path, failed=True)
    crate = record(fake, exit_state="failed", error="step measure failed: boom")
    loaded = load_record(crate)
    assert (loaded.exit_state, loaded.error) == ("failed", "step measure failed: boom")
    assert [j.status for j in loaded.steps] == ["completed", "completed", "failed"]
    assert loaded.outputs == ()
    graph = json.loads((crate / "ro-crate-metadata.json").read_text())["@graph"]
    run = next(e for e in graph if e["@id"].startswith("#run-"))
    assert run["actionStatus"] == {"@id": "http://schema.org/FailedActionStatus"}
    assert run["error"] == "step measure failed: boom"


def test_images_and_tolerance_are_recorded(fake: FakeRun):
    from ossrflow.provenance.model import ContainerImage

    image = ContainerImage("localhost/ossrflow/astropy:8.0.1", "sha256:" + "ab" * 32, "docker")
    crate = record(fake, images=[image], tolerance=[Tolerance("count", "size")])
    loaded = load_record(crate)
    assert (loaded.images, loaded.tolerance) == ((image,), (Tolerance("count", "size"),))
    graph = {
        e["@id"]: e for e in json.loads((crate / "ro-crate-metadata.json").read_text())["@graph"]
    }
    assert graph["#image-abababababababab"] == {
        "@id": "#image-abababababababab",
        "@type": "ContainerImage",
        "additionalType": {"@id": "https://w3id.org/ro/terms/workflow-run#DockerImage"},
        "name": "ossrflow/astropy",
        "registry": "localhost",
        "sha256": "ab" * 32,
        "tag": "8.0.1",
    }


def test_a_new_record_replaces_the_old_one(fake: FakeRun, crate: Path):
    first = load_record(crate).run_id
    again = record(fake)
    assert again == crate
    assert load_record(crate).run_id != first
    assert sorted(p.name for p in crate.parent.iterdir() if "provenance" in p.name) == [
        "provenance"
    ]


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("File", ("File", True, False)),
        ("File?", ("File", False, False)),
        ("string[]", ("Text", True, True)),
        (["null", "int"], ("Integer", False, False)),
        ({"type": "array", "items": "Directory"}, ("Dataset", True, True)),
        ({"type": "record", "fields": []}, ("PropertyValue", True, False)),
        ({"type": "enum", "symbols": ["a"]}, ("DataType", True, False)),
    ],
)
def test_parameter_types_map_to_the_profile(declared: object, expected: tuple[str, bool, bool]):
    assert param_type(declared) == expected


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("busybox", ("docker.io", "busybox", "")),
        ("astropy/astropy:8.0.1", ("docker.io", "astropy/astropy", "8.0.1")),
        ("localhost:5000/ossrflow/fits:1", ("localhost:5000", "ossrflow/fits", "1")),
        ("quay.io/x/y@sha256:" + "ab" * 32, ("quay.io", "x/y", "")),
    ],
)
def test_image_references_split_into_registry_name_and_tag(
    ref: str, expected: tuple[str, str, str]
):
    assert split_image_ref(ref) == expected


def test_job_nodes_put_upstream_steps_first():
    nodes = (
        Node("@inputs", "inputs"),
        Node("late", "step", sources={"a": ("early", "out")}),
        Node("early", "step", sources={"b": ("@inputs", "x")}),
    )
    assert job_nodes(Plan("u", "b", nodes, "late")) == ["early", "late"]


# --- reading a crate back: refusals -----------------------------------------------------------


def test_a_missing_file_is_refused_with_one_line(crate: Path):
    (crate / "workflow/job.json").unlink()
    with pytest.raises(NotFound) as caught:
        load_record(crate)
    assert str(caught.value) == (
        f"{crate}: the crate lists 'workflow/job.json', but the file is missing (fix: restore it "
        "from the published crate; a crate with missing files cannot be rerun)"
    )


def test_a_changed_trace_is_refused(crate: Path):
    trace = crate / "ossrflow-run.json"
    trace.write_text(trace.read_text().replace('"local"', '"slurm"'), encoding="utf-8")
    trace.write_text(trace.read_text() + " ", encoding="utf-8")
    with pytest.raises(ChecksumMismatch, match=r"'ossrflow-run\.json' does not match the sha256"):
        load_record(crate)


def _rewrite_trace(crate: Path, change: Any) -> None:
    """Edit the trace and give the metadata its new sha256 (a consistent, hostile crate)."""
    trace = crate / "ossrflow-run.json"
    data = json.loads(trace.read_text())
    change(data)
    trace.write_text(json.dumps(data), encoding="utf-8")
    metadata = crate / "ro-crate-metadata.json"
    graph = json.loads(metadata.read_text())
    for entity in graph["@graph"]:
        if entity["@id"] == "ossrflow-run.json":
            entity["sha256"] = sha256(trace.read_bytes())
    metadata.write_text(json.dumps(graph), encoding="utf-8")


def test_a_malformed_digest_in_the_trace_is_located(crate: Path):
    _rewrite_trace(crate, lambda d: d["outputs"][1].update(sha256="xyz"))
    with pytest.raises(InputError) as caught:
        load_record(crate)
    assert str(caught.value).startswith(f"{crate / 'ossrflow-run.json'}:outputs[1].sha256: ")


def test_a_copy_outside_the_crate_is_refused(crate: Path):
    _rewrite_trace(crate, lambda d: d["inputs"][0].update(copy="../../../etc/passwd"))
    with pytest.raises(UnsafeValue, match="climbs out of its folder"):
        load_record(crate)


def test_an_unknown_record_version_is_refused(crate: Path):
    _rewrite_trace(crate, lambda d: d.update(ossrflow_record=99))
    with pytest.raises(InputError, match="ossrflow_record: is not 1"):
        load_record(crate)


def test_a_folder_without_a_crate_is_not_found(tmp_path: Path):
    with pytest.raises(NotFound, match=r"no ro-crate-metadata\.json here"):
        find_crate(tmp_path)


# --- verification and differences ----------------------------------------------------------


def _with_output(loaded: RunRecord, label: str, **changes: Any) -> RunRecord:
    outputs = tuple(replace(f, **changes) if f.label == label else f for f in loaded.outputs)
    return replace(loaded, outputs=outputs)


def test_identical_outputs_verify(crate: Path):
    loaded = load_record(crate)
    verification = verify_outputs(loaded, loaded)
    assert (verification.ok, verification.summary()) == (True, "reproduced 3/3 outputs")


def test_a_differing_output_is_a_row(crate: Path):
    loaded = load_record(crate)
    changed = _with_output(loaded, "upper/upper.txt", sha256="0" * 64, size=5)
    verification = verify_outputs(loaded, changed)
    (row,) = verification.rows
    assert (row.step, row.output, row.problem) == ("shout", "upper/upper.txt", "differs")
    assert (row.expected_sha256, row.obtained_sha256) == (sha256(GREETING.upper()), "0" * 64)
    assert (row.expected_size, row.obtained_size) == (len(GREETING), 5)
    assert verification.summary() == "reproduced 2/3 outputs"


def test_missing_and_unexpected_outputs_are_rows(crate: Path):
    loaded = load_record(crate)
    changed = replace(loaded, outputs=(*loaded.outputs[:2], replace(loaded.outputs[2], label="x")))
    problems = [(r.output, r.problem) for r in verify_outputs(loaded, changed).rows]
    assert problems == [("upper/upper.txt", "missing"), ("x", "unexpected")]


def test_tolerance_rules_ignore_or_compare_size(crate: Path):
    loaded = load_record(crate)
    changed = _with_output(loaded, "upper/upper.txt", sha256="0" * 64)
    changed = _with_output(changed, "count/1/n.count", sha256="1" * 64)
    rules = [parse_tolerance("upper=size"), parse_tolerance("count/1/*=ignore")]
    verification = verify_outputs(loaded, changed, rules)
    assert (verification.ok, verification.ignored, verification.by_size) == (
        True,
        ("count/1/n.count",),
        ("upper/upper.txt",),
    )
    assert verification.summary() == (
        "reproduced 2/2 outputs (1 compared by size only, 1 ignored, as the tolerance rules say)"
    )
    resized = _with_output(changed, "upper/upper.txt", size=1)
    assert [r.problem for r in verify_outputs(loaded, resized, rules).rows] == ["size differs"]


def test_the_new_records_own_rules_apply_by_default(crate: Path):
    loaded = load_record(crate)
    changed = replace(
        _with_output(loaded, "upper/upper.txt", sha256="0" * 64),
        tolerance=(Tolerance("upper", "ignore"),),
    )
    assert verify_outputs(loaded, changed).ok


@pytest.mark.parametrize("text", ["upper", "=size", "upper=fuzzy", "upper=IGNORE"])
def test_bad_tolerance_rules_are_refused(text: str):
    with pytest.raises(InputError, match="is not PATTERN=ignore or PATTERN=size"):
        parse_tolerance(text)


def _lock(version: str, md5: str) -> Lock:
    entry = EntryPin(
        "tool", "dir:/r", "tool", version, "10.5281/zenodo.1", None, None, "Tool", {"a": md5}
    )
    pin = InputPin("files", (FilePin("greeting.txt", "greeting.txt", 32, "0" * 64),))
    return Lock("analysis.yml", "1" * 64, {"tool": entry}, {"text": pin})


def test_differences_come_earliest_cause_first(crate: Path):
    a = replace(load_record(crate), lock=_lock("1.0", "md5:" + "a" * 32))
    b = replace(
        _with_output(a, "upper/upper.txt", sha256="0" * 64),
        lock=_lock("1.1", "md5:" + "a" * 32),
        versions={**a.versions, "cwltool": "0.0"},
        step_files=(replace(a.step_files[0], sha256="2" * 64), *a.step_files[1:]),
        job={**a.job, "label": "other"},
    )
    differences = diff_records(a, b)
    assert [(d.kind, d.name) for d in differences] == [
        ("entry", "tool"),
        ("input", "label"),
        ("version", "cwltool"),
        ("step", "shout out/upper.txt"),
        ("output", "upper/upper.txt"),
    ]
    assert differences[0] == Difference(
        "entry",
        "tool",
        'dir:/r record tool version 1.0 files {"a": "md5:' + "a" * 32 + '"}',
        'dir:/r record tool version 1.1 files {"a": "md5:' + "a" * 32 + '"}',
    )
    assert verify_outputs(a, b).first_cause == differences[3]


# --- entries and inputs, again ------------------------------------------------------------------


def _registry(tmp_path: Path) -> Path:
    entry = tmp_path / "registry" / "tool"
    entry.mkdir(parents=True)
    codemeta = {"name": "tool", "version": "1.0", "identifier": "https://doi.org/10.5281/zenodo.1"}
    (entry / "codemeta.json").write_text(json.dumps(codemeta), encoding="utf-8")
    (entry / "tool.sh").write_text("echo hi\n", encoding="utf-8")
    return entry.parent


def _pinned(tmp_path: Path, registry: Path) -> Lock:
    from ossrflow.registry.entry import get_entry

    settings = Settings(registry=f"dir:{registry}", cache_dir=tmp_path / "cache")
    found = get_entry("tool", settings).record
    pin = EntryPin(
        "tool", found.registry, found.id, found.version, found.doi, None, None, found.title,
        {f.key: f.checksum for f in found.files},
    )  # fmt: skip
    return Lock("analysis.yml", "1" * 64, {"tool": pin}, {})


def test_entries_resolve_to_the_pinned_records(tmp_path: Path):
    registry = _registry(tmp_path)
    lock = _pinned(tmp_path, registry)
    verify_entries(lock, Settings(cache_dir=tmp_path / "cache"), source="crate/ossrflow.lock.json")


def test_a_changed_entry_is_refused(tmp_path: Path):
    registry = _registry(tmp_path)
    lock = _pinned(tmp_path, registry)
    (registry / "tool" / "tool.sh").write_text("echo bye\n", encoding="utf-8")
    with pytest.raises(ChecksumMismatch) as caught:
        verify_entries(lock, Settings(cache_dir=tmp_path / "c"), source="crate/ossrflow.lock.json")
    assert str(caught.value).startswith(
        f"crate/ossrflow.lock.json: entries.tool: dir:{registry} file 'tool.sh' is md5:"
    )


def test_an_entry_whose_registry_is_gone_is_refused(tmp_path: Path):
    registry = _registry(tmp_path)
    lock = _pinned(tmp_path, registry)
    shutil.rmtree(registry)
    with pytest.raises(NotFound) as caught:
        verify_entries(lock, Settings(cache_dir=tmp_path / "c"), source="crate/ossrflow.lock.json")
    assert str(caught.value) == (
        f"dir:{registry}: entries.tool: record tool: registry folder does not exist "
        "(fix: check the dir:PATH given)"
    )


def test_an_input_gone_without_copy_comes_from_its_pinned_url(
    fake: FakeRun, http_server: LoopbackServer, tmp_path: Path
):
    http_server.route("/greeting.txt", body=GREETING)
    pin = InputPin(
        "files", (FilePin("greeting.txt", f"{http_server.url}/greeting.txt", 32, sha256(GREETING)),)
    )
    lock_path = tmp_path / "ossrflow.lock.json"
    lock_path.write_text(render_lock(Lock("a.yml", "1" * 64, {}, {"text": pin})), encoding="utf-8")
    crate = record(fake, lock=lock_path, copy_limit=0)
    (fake.folder / "greeting.txt").unlink()
    settings = Settings(cache_dir=tmp_path / "cache")
    job = stage_inputs(load_record(crate), settings)
    staged = Path(job["text"]["location"].removeprefix("file://"))
    assert staged.is_relative_to(tmp_path / "cache" / "store")
    assert staged.read_bytes() == GREETING


def test_an_input_served_with_other_bytes_is_refused(
    fake: FakeRun, http_server: LoopbackServer, tmp_path: Path
):
    http_server.route("/greeting.txt", body=b"something else\n")
    pin = InputPin(
        "files", (FilePin("greeting.txt", f"{http_server.url}/greeting.txt", 32, sha256(GREETING)),)
    )
    lock_path = tmp_path / "ossrflow.lock.json"
    lock_path.write_text(render_lock(Lock("a.yml", "1" * 64, {}, {"text": pin})), encoding="utf-8")
    crate = record(fake, lock=lock_path, copy_limit=0)
    (fake.folder / "greeting.txt").unlink()
    with pytest.raises(ChecksumMismatch):
        stage_inputs(load_record(crate), Settings(cache_dir=tmp_path / "cache"))


def test_an_input_gone_everywhere_is_not_found(fake: FakeRun, tmp_path: Path):
    crate = record(fake, copy_limit=0)
    (fake.folder / "greeting.txt").unlink()
    with pytest.raises(NotFound, match=r"input text/greeting\.txt is gone from"):
        stage_inputs(load_record(crate), Settings(cache_dir=tmp_path / "cache"))


# --- the CLI, on hand-made records ------------------------------------------------------------


def run_cli(*args: str) -> tuple[int | str | None, str, str]:
    runner = CliRunner()
    code: int | str | None = None
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_diff_of_a_record_with_itself(crate: Path):
    assert run_cli("diff", str(crate), str(crate.parent)) == (
        0,
        "no differences: same entries, inputs, workflow, versions and outputs\n",
        "",
    )


def test_rerun_refuses_a_bad_tolerance_rule_before_reading_anything(tmp_path: Path):
    assert run_cli("rerun", str(tmp_path), "--tolerance", "x") == (
        2,
        "",
        "error: --tolerance: tolerance rule 'x' is not PATTERN=ignore or PATTERN=size (fix: e.g. "
        "--tolerance 'report=size' or --tolerance '*.log=ignore')\n",
    )


def test_rerun_refuses_a_folder_without_a_crate(tmp_path: Path):
    assert run_cli("rerun", str(tmp_path)) == (
        2,
        "",
        f"error: {tmp_path}: no ro-crate-metadata.json here (fix: give the run directory of "
        "`ossrflow run` or its provenance/ folder)\n",
    )


def _hostile_packed(crate: Path, text: str) -> Path:
    """Replace the crate's packed workflow and give metadata and trace its sha256 (consistent)."""
    packed = crate / "workflow" / "packed.cwl"
    packed.write_text(text, encoding="utf-8")
    digest = sha256(packed.read_bytes())
    _rewrite_trace(crate, lambda d: d["workflow"].update(sha256=digest))
    metadata = crate / "ro-crate-metadata.json"
    graph = json.loads(metadata.read_text())
    for entity in graph["@graph"]:
        if entity["@id"] == "workflow/packed.cwl":
            entity["sha256"] = digest
    metadata.write_text(json.dumps(graph), encoding="utf-8")
    return packed


@pytest.mark.parametrize("images", [True, False], ids=["pinned-images", "no-images"])
def test_rerun_refuses_a_packed_workflow_nested_too_deep(
    fake: FakeRun, tmp_path: Path, images: bool
):
    from ossrflow.provenance.model import ContainerImage

    image = ContainerImage("localhost/ossrflow/astropy:8.0.1", "sha256:" + "ab" * 32, "docker")
    crate = record(fake, images=[image] if images else [])
    packed = _hostile_packed(crate, '{"steps": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    again = tmp_path / "again"
    assert run_cli("rerun", str(crate), "--run-dir", str(again)) == (
        2,
        "",
        f"error: {packed}: values are nested more than 128 levels deep (fix: this is not a "
        "document ossrflow reads; check where it came from)\n",
    )
    assert not again.exists()


def test_rerun_refuses_a_packed_workflow_that_is_not_an_object(fake: FakeRun, tmp_path: Path):
    from ossrflow.provenance.model import ContainerImage

    image = ContainerImage("localhost/ossrflow/astropy:8.0.1", "sha256:" + "ab" * 32, "docker")
    packed = _hostile_packed(record(fake, images=[image]), "[1, 2]\n")
    assert run_cli("rerun", str(packed.parent.parent), "--run-dir", str(tmp_path / "again")) == (
        2,
        "",
        f"error: {packed}: the packed workflow is not a JSON object (fix: restore the published "
        "crate; ossrflow writes a packed CWL document here)\n",
    )

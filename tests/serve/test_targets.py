"""What a run may name beyond its attachments (ossrflow/serve/targets.py, jobs.py), against a
Zenodo-shaped registry on loopback (tests/support/zenodo.py):

- `workflow_url` as a registry reference: a record id, a version DOI, a concept DOI (its latest
  version) and a record URL are each resolved at submission, pinned to the record found then,
  and run as the entry's generated tool in the image `ossrflow containerize` recorded for it; a
  reference the registry does not have is a 400 ErrorResponse naming `workflow_url`, and no run;
- `workflow_url` as an http(s) URL of a CWL document, fetched by the worker;
- a `zenodo:RECORD/FILE` location in `workflow_params`, staged like a cart item, and a
  `rucio://SCOPE/NAME` one from the real Rucio server of `scripts/services/rucio.sh`, through
  the service's `RUCIO_CONFIG`.
"""

from __future__ import annotations

import fcntl
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import ossrflow
from ossrflow.staging import ORIGIN_KEY as RUCIO_KEY
from tests.integration.test_rucio import SCRIPT as RUCIO_SCRIPT
from tests.integration.test_rucio import Rucio, user_cfg
from tests.support.services import service_env
from tests.support.wes import BUSYBOX, REPO, WesService, busybox_tool
from tests.support.zenodo import FakeFile, FakeRecord, ZenodoApp

LINECOUNT = REPO / "tests" / "data" / "cwlgen" / "entries" / "linecount"
FILES = {"in.txt": "one\ntwo\nthree\n"}
PARAMS = {"infile": {"class": "File", "location": "in.txt"}}


def linecount_record(recid: str, version: str) -> FakeRecord:
    """A version of the linecount entry (the software's own version stays 1.0.0, the one its
    image was built for: a version without an image would be refused)."""
    files = [
        FakeFile("codemeta.json", (LINECOUNT / "codemeta.json").read_bytes()),
        FakeFile("ossrflow-interface.yml", (LINECOUNT / "ossrflow-interface.yml").read_bytes()),
    ]
    return FakeRecord(recid, "500", "linecount", version, files, keywords=["demo"])


@pytest.fixture
def wes(
    docker_engine: str, zenodo_server: ZenodoApp, tmp_path: Path
) -> Iterator[tuple[WesService, ZenodoApp]]:
    """The service on the Zenodo registry, in a folder holding linecount's image record (the
    busybox image stands in for what `ossrflow containerize` builds: it has `wc`)."""
    zenodo_server.add(linecount_record("501", "1.0.0"))
    zenodo_server.add(linecount_record("502", "1.1.0"))
    workdir = tmp_path / "workdir"
    digest = subprocess.run(
        ["docker", "image", "inspect", BUSYBOX, "--format", "{{.Id}}"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    record: dict[str, object] = {"image": BUSYBOX, "digest": digest, "engine": "docker", "version": "1.0.0",
              "base": BUSYBOX, "base_digest": None, "requirements": []}  # fmt: skip
    (workdir / "containers" / "linecount").mkdir(parents=True)
    (workdir / "containers" / "linecount" / "image.json").write_text(json.dumps(record))
    settings = ossrflow.Settings(
        registry=zenodo_server.api, community="escape2020", cache_dir=tmp_path / "cache"
    )
    with WesService(tmp_path / "service", workdir=workdir, settings=settings) as service:
        yield service, zenodo_server


def test_a_record_id_doi_concept_doi_or_record_url_runs_the_entrys_tool(wes):
    service, zenodo = wes
    pinned = {
        "501": "501",  # a record id
        "10.5281/zenodo.501": "501",  # a version's DOI
        "10.5281/zenodo.500": "502",  # the concept DOI: its latest version, now
        f"{zenodo.url}/records/502": "502",  # a record URL of this registry
    }
    runs = {
        ref: service.submit(files=FILES, workflow_url=ref, workflow_params=PARAMS) for ref in pinned
    }
    zenodo.add(linecount_record("503", "1.2.0"))  # published after: the runs keep their pins
    for ref, run_id in runs.items():
        spec = json.loads((service.config.runs_dir / run_id / "spec.json").read_text())
        assert spec["target"] == {"kind": "entry", "ref": ref, "record": pinned[ref]}
        log = service.wait(run_id)
        assert log["state"] == "COMPLETE", (ref, log["run_log"]["system_logs"])
        assert log["request"]["workflow_url"] == ref
        counts = httpx.get(log["outputs"]["counts"]["location"], headers=service.headers("alice"))
        assert counts.text.split()[0] == "3"
        tool = (service.config.runs_dir / run_id / "fetched" / "tool.cwl").read_text()
        assert f"dockerPull: {BUSYBOX}" in tool
        stderr = service.get(f"/runs/{run_id}/logs/stderr").text
        assert f"[ossrflow] generating the tool of entry {pinned[ref]}" in stderr


@pytest.mark.parametrize(
    ("ref", "problem"),
    [
        ("999999", "record 999999 not found (HTTP 404) (fix: check the identifier)"),
        ("10.5281/zenodo.999999", "record 999999 not found (HTTP 404) (fix: check the identifier)"),
        ("10.1234/not-zenodo", "no record has DOI 10.1234/not-zenodo (fix: check the DOI)"),
    ],
)
def test_an_unknown_reference_is_a_400_naming_workflow_url(wes, ref, problem):
    service, _ = wes
    answer = service.submit_raw(files=FILES, workflow_url=ref, workflow_params=PARAMS)
    assert answer.json() == {
        "msg": f"POST /runs:workflow_url: workflow_url {ref!r} names no entry of this service's "
        f"registry: {problem}",
        "status_code": 400,
    }
    assert service.get("/runs").json()["runs"] == []
    runs = service.config.runs_dir
    assert [p.name for p in runs.iterdir() if p.is_dir() and p.name != ".incoming"] == []
    assert list((runs / ".incoming").iterdir()) == []


COUNT = busybox_tool("wc -l < $0", inputs="{infile: {type: File, inputBinding: {}}}")


def test_an_http_workflow_and_a_zenodo_input(wes):
    service, zenodo = wes
    zenodo.server.route("/tools/count.cwl", body=COUNT.encode())
    interface = (LINECOUNT / "ossrflow-interface.yml").read_bytes()
    run_id = service.submit(
        workflow_url=f"{zenodo.url}/tools/count.cwl",
        workflow_params={"infile": {"class": "File", "location": "zenodo:501/ossrflow-interface.yml",
                                    "format": "http://edamontology.org/format_3750"}},
    )  # fmt: skip
    log = service.wait(run_id)
    assert log["state"] == "COMPLETE", log["run_log"]["system_logs"]
    assert log["run_log"]["name"] == "count.cwl"
    count = httpx.get(log["outputs"]["out"]["location"], headers=service.headers("alice")).text
    assert count.strip() == str(interface.count(b"\n"))
    job = json.loads((service.config.runs_dir / run_id / "job.json").read_text())
    staged = job["infile"]
    assert staged["location"].startswith(f"file://{service.config.settings.cache_dir}/store/")
    assert (staged["basename"], staged["format"]) == (
        "ossrflow-interface.yml", "http://edamontology.org/format_3750",
    )  # fmt: skip
    stderr = service.get(f"/runs/{run_id}/logs/stderr").text
    assert f"[ossrflow] fetching {zenodo.url}/tools/count.cwl" in stderr
    assert "[ossrflow] staged 1 zenodo:/rucio: location of the job" in stderr


@pytest.fixture
def rucio_env(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The service's rucio.cfg (a user of the Data Lake), while no test counts RSE requests."""
    env = service_env(RUCIO_SCRIPT, "Rucio test server")
    rucio = Rucio(env, json.loads(Path(env["OSSRFLOW_RUCIO_MANIFEST"]).read_text()))
    monkeypatch.setenv("RUCIO_CONFIG", str(user_cfg(tmp_path, rucio)))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))  # rucio-clients caches its token there
    lock = tmp_path_factory.getbasetemp().parent / "ossrflow-rucio.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_SH)  # as tests/integration/test_rucio.py's `rse`
        yield env


def test_a_rucio_input_is_staged_by_the_worker(docker_engine, rucio_env, tmp_path):
    did = "ossrflow:m67.night1.readme.txt"
    settings = ossrflow.Settings(cache_dir=tmp_path / "cache")
    with WesService(tmp_path / "service", settings=settings) as service:
        run_id = service.submit(
            files={"count.cwl": COUNT},
            workflow_url="count.cwl",
            workflow_params={"infile": {"class": "File", "location": "rucio://ossrflow/m67.night1.readme.txt"}},
        )  # fmt: skip
        log = service.wait(run_id)
        assert log["state"] == "COMPLETE", log["run_log"]["system_logs"]
        staged = json.loads((service.config.runs_dir / run_id / "job.json").read_text())["infile"]
        assert staged[RUCIO_KEY]["did"] == did
        assert staged["basename"] == "m67.night1.readme.txt"
        data = Path(staged["location"].removeprefix("file://")).read_bytes()
        count = httpx.get(log["outputs"]["out"]["location"], headers=service.headers("alice"))
        assert count.text.strip() == str(data.count(b"\n"))

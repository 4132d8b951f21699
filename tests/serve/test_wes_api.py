"""GA4GH WES 1.1 as a client sees it: shapes, auth, isolation between users, paging, filters,
tasks, outputs, crate, report, logs, cancel and delete, on a real server with real runs.

The runs (every step in busybox, under Docker) are submitted once for the module and run side
by side: a scatter that completes (alice, tagged), a step that fails (alice), a tool without a
container that the service refuses (alice), and a run of bob's.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ossrflow._version import __version__
from tests.support.wes import WesService, busybox_tool

SCATTER = """\
cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  messages: string[]
outputs:
  shouted:
    type: File[]
    outputSource: shout/out
steps:
  shout:
    run: shout.cwl
    scatter: message
    in:
      message: messages
    out: [out]
"""
SHOUT = busybox_tool(
    'printf "%s\\n" "$0" | tr a-z A-Z', inputs="{message: {type: string, inputBinding: {}}}"
)
FAIL = busybox_tool("echo failing on purpose >&2; exit 3")
NATIVE = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [echo, on the host]
inputs: []
stdout: out.txt
outputs: {out: stdout}
"""
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture(scope="module")
def wes(docker_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesService]:
    with WesService(tmp_path_factory.mktemp("wes-api")) as service:
        yield service


@pytest.fixture(scope="module")
def runs(wes: WesService) -> dict[str, dict[str, Any]]:
    submitted = {
        "ok": wes.submit(
            files={"scatter.cwl": SCATTER, "shout.cwl": SHOUT},
            workflow_url="scatter.cwl",
            workflow_params={"messages": ["alpha", "beta", "gamma"]},
            tags={"project": "m67", "night": "1"},
        ),
        "failing": wes.submit(files={"fail.cwl": FAIL}, workflow_url="fail.cwl"),
        "native": wes.submit(files={"native.cwl": NATIVE}, workflow_url="native.cwl"),
        "bob": wes.submit(
            "bob",
            files={"shout.cwl": SHOUT},
            workflow_url="shout.cwl",
            workflow_params={"message": "bob's"},
        ),
    }
    return {
        name: {"id": run_id, "log": wes.wait(run_id, "bob" if name == "bob" else "alice")}
        for name, run_id in submitted.items()
    }


def test_service_info_is_public_and_names_facilities_and_parameters(wes):
    answer = wes.get("/service-info", user=None)
    assert answer.status_code == 200
    info = answer.json()
    assert info["type"] == {"group": "org.ga4gh", "artifact": "wes", "version": "1.1.0"}
    assert info["version"] == __version__
    assert info["workflow_type_versions"] == {
        "CWL": {"workflow_type_version": ["v1.0", "v1.1", "v1.2"]},
        "OSSRFLOW": {"workflow_type_version": ["1"]},
    }
    assert info["supported_wes_versions"] == ["1.1.0"]
    assert info["default_workflow_engine_parameters"][0] == {
        "name": "profile",
        "type": "string (a facility: local)",
        "default_value": "local",
    }
    assert info["auth_instructions_url"] == f"{wes.url}/auth-instructions"
    assert info["tags"]["containers"] == "required"
    assert set(info) >= {"system_state_counts", "supported_filesystem_protocols", "tags"}
    assert "Authorization: Bearer TOKEN" in httpx.get(info["auth_instructions_url"]).text


def test_everything_else_needs_a_valid_token(wes):
    missing = wes.get("/runs", user=None)
    assert missing.status_code == 401
    assert missing.json() == {
        "msg": "this needs `Authorization: Bearer TOKEN` (see GET /service-info)",
        "status_code": 401,
    }
    assert missing.headers["www-authenticate"] == 'Bearer realm="ossrflow"'
    wrong = httpx.get(f"{wes.wes}/runs", headers={"Authorization": "Bearer nope"})
    assert wrong.json() == {
        "msg": "the bearer token is not valid (unknown, expired or not for us)",
        "status_code": 401,
    }
    basic = httpx.get(f"{wes.wes}/runs", headers={"Authorization": "Basic YTpi"})
    assert basic.json()["msg"] == "the Authorization header must be `Bearer TOKEN`"


def test_a_completed_run_log_is_spec_shaped_with_outputs_as_urls(wes, runs):
    log = runs["ok"]["log"]
    run_id = runs["ok"]["id"]
    base = f"{wes.wes}/runs/{run_id}"
    assert set(log) == {
        "run_id",
        "request",
        "state",
        "run_log",
        "task_logs_url",
        "task_logs",
        "outputs",
    }
    assert log["state"] == "COMPLETE"
    assert log["request"] == {
        "workflow_params": {"messages": ["alpha", "beta", "gamma"]},
        "workflow_type": "CWL",
        "workflow_type_version": "v1.2",
        "tags": {"project": "m67", "night": "1"},
        "workflow_engine_parameters": {},
        "workflow_url": "scatter.cwl",
    }
    run_log = log["run_log"]
    assert TIME.match(run_log["start_time"]) and TIME.match(run_log["end_time"])
    assert run_log | {"start_time": "T", "end_time": "T"} == {
        "name": "scatter.cwl",
        "cmd": ["ossrflow", "run", "scatter.cwl", "job.json", "--profile", "local"],
        "start_time": "T",
        "end_time": "T",
        "stdout": f"{base}/logs/stdout",
        "stderr": f"{base}/logs/stderr",
        "exit_code": 0,
        "system_logs": [],
    }
    assert log["task_logs_url"] == f"{base}/tasks"
    assert log["task_logs"] is None
    files = log["outputs"]["shouted"]
    names = ["out.txt", "out.txt_2", "out.txt_3"]  # cwltool's names for same-named files
    assert [f["location"] for f in files] == [f"{base}/outputs/{name}" for name in names]
    assert all("path" not in f for f in files)
    texts = sorted(httpx.get(f["location"], headers=wes.headers("alice")).text for f in files)
    assert texts == ["ALPHA\n", "BETA\n", "GAMMA\n"]


def test_outputs_are_listed_and_each_file_downloads(wes, runs):
    run_id = runs["ok"]["id"]
    listed = wes.get(f"/runs/{run_id}/outputs").json()
    assert listed["state"] == "COMPLETE"
    assert len(listed["outputs"]) == 3
    for item in listed["outputs"]:
        body = httpx.get(item["url"], headers=wes.headers("alice"))
        assert body.status_code == 200 and len(body.content) == item["size"]
    missing = wes.get(f"/runs/{run_id}/outputs/none.txt")
    assert missing.status_code == 404
    climbing = wes.get(f"/runs/{run_id}/outputs/..%2F..%2Fspec.json")
    assert climbing.status_code in (400, 404)
    assert "status_code" in climbing.json()


def test_tasks_are_snakemake_jobs_paged(wes, runs):
    run_id = runs["ok"]["id"]
    first = wes.get(f"/runs/{run_id}/tasks", params={"page_size": 2}).json()
    assert [t["id"] for t in first["task_logs"]] == ["shout.0", "shout.1"]
    assert first["next_page_token"] == "2"
    rest = wes.get(f"/runs/{run_id}/tasks", params={"page_size": 2, "page_token": "2"}).json()
    assert [t["id"] for t in rest["task_logs"]] == ["shout.2"]
    assert rest["next_page_token"] == ""
    task = wes.get(f"/runs/{run_id}/tasks/shout.1").json()
    log_url = f"{wes.wes}/runs/{run_id}/logs/tasks/shout.1"
    assert task | {"start_time": "T", "end_time": "T"} == {
        "id": "shout.1",
        "name": "shout[1]",
        "cmd": ["python", "-m", "ossrflow.run.job", "run", "shout", "1"],
        "start_time": "T",
        "end_time": "T",
        "stdout": log_url,
        "stderr": log_url,
        "exit_code": 0,
        "system_logs": [],
        "tes_uri": None,
        "state": "COMPLETE",
        "scheduler_job_id": None,
    }
    assert wes.get(f"/runs/{run_id}/tasks/nope").status_code == 404


def test_a_failed_step_is_an_executor_error_naming_the_step(wes, runs):
    log = runs["failing"]["log"]
    assert log["state"] == "EXECUTOR_ERROR"
    assert log["run_log"]["exit_code"] == 1
    [message] = log["run_log"]["system_logs"]
    assert message.startswith(
        f"{wes.config.runs_dir / runs['failing']['id'] / 'run'}/steps/tool/job.log"
    )
    assert "step tool failed" in message
    [task] = wes.get(f"/runs/{runs['failing']['id']}/tasks").json()["task_logs"]
    assert (task["id"], task["state"]) == ("tool", "EXECUTOR_ERROR")
    text = httpx.get(task["stderr"], headers=wes.headers("alice")).text
    assert "failing on purpose" in text
    assert log["outputs"] == {}


def test_a_tool_without_a_container_is_refused_naming_it(wes, runs):
    log = runs["native"]["log"]
    assert log["state"] == "EXECUTOR_ERROR"
    assert log["run_log"]["exit_code"] == 2
    [message] = log["run_log"]["system_logs"]
    folder = wes.config.runs_dir / runs["native"]["id"]
    assert message == (
        f"{folder}/attachments/native.cwl:main: the workflow (CommandLineTool) has no "
        "DockerRequirement: it would run on the host (fix: give the tool a DockerRequirement "
        "(or build its entry's image with `ossrflow containerize`), and no JavaScript; or ask "
        "the operator for a service started with --allow-native)"
    )
    assert not (folder / "run" / "steps").exists()  # nothing ran


def test_another_users_run_is_a_404_everywhere(wes, runs):
    run_id = runs["bob"]["id"]
    assert runs["bob"]["log"]["state"] == "COMPLETE"
    expected = {"msg": f"/ga4gh/wes/v1/runs: no run {run_id!r} (fix: list your runs: GET /runs)",
                "status_code": 404}  # fmt: skip
    for path in ("", "/status", "/tasks", "/tasks/tool", "/outputs", "/outputs/out.txt",
                 "/crate", "/report", "/logs/stderr", "/logs/tasks/tool"):  # fmt: skip
        answer = wes.get(f"/runs/{run_id}{path}")
        assert (answer.status_code, answer.json()) == (404, expected), path
    assert wes.post(f"/runs/{run_id}/cancel").json() == expected
    assert wes.delete(f"/runs/{run_id}").json() == expected
    listed = [r["run_id"] for r in wes.get("/runs").json()["runs"]]
    assert run_id not in listed
    assert wes.get(f"/runs/{run_id}/status", user="bob").json()["state"] == "COMPLETE"


def test_listing_pages_newest_first_and_filters_by_state_and_tag(wes, runs):
    ids = [runs[name]["id"] for name in ("native", "failing", "ok")]  # newest first
    seen, token = [], ""
    while True:
        page = wes.get("/runs", params={"page_size": 1, "page_token": token}).json()
        seen += page["runs"]
        token = page["next_page_token"]
        if not token:
            break
    assert [r["run_id"] for r in seen] == ids
    summary = next(r for r in seen if r["run_id"] == runs["ok"]["id"])
    assert set(summary) == {"run_id", "state", "start_time", "end_time", "tags"}
    assert summary["tags"] == {"project": "m67", "night": "1"}

    def ids_for(**params: Any) -> list[str]:
        return [r["run_id"] for r in wes.get("/runs", params=params).json()["runs"]]

    assert ids_for(state="COMPLETE") == [runs["ok"]["id"]]
    assert ids_for(state=["COMPLETE", "EXECUTOR_ERROR"]) == ids
    assert ids_for(tag="project=m67") == [runs["ok"]["id"]]
    assert ids_for(tag=["night", "project=m67"]) == [runs["ok"]["id"]]
    assert ids_for(tag="project=other") == []
    bad = wes.get("/runs", params={"page_token": "abc"})
    assert bad.json() == {"msg": "page_token: page_token 'abc' is not one this service gave",
                          "status_code": 400}  # fmt: skip
    assert wes.get("/runs", params={"state": "DONE"}).status_code == 400
    assert wes.get("/runs", params={"page_size": 0}).status_code == 400


def test_canceling_a_finished_run_is_a_409_with_the_reason(wes, runs):
    run_id = runs["ok"]["id"]
    answer = wes.post(f"/runs/{run_id}/cancel")
    assert answer.status_code == 409
    assert answer.json() == {
        "msg": f"/runs/{run_id}: run {run_id} is COMPLETE: only queued or running runs can be "
        "canceled (fix: a finished run can be deleted (DELETE /runs/{run_id}))",
        "status_code": 409,
    }


def test_the_crate_is_a_zip_of_the_workflow_run_ro_crate(wes, runs):
    run_id = runs["ok"]["id"]
    answer = wes.get(f"/runs/{run_id}/crate")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(answer.content)).namelist()
    assert f"{run_id}-crate/ro-crate-metadata.json" in names
    metadata = json.loads(
        zipfile.ZipFile(io.BytesIO(answer.content)).read(f"{run_id}-crate/ro-crate-metadata.json")
    )
    assert any(e.get("@type") == "CreateAction" for e in metadata["@graph"])
    failed = wes.get(f"/runs/{runs['failing']['id']}/crate")
    assert failed.status_code == 200  # a failed run is recorded too
    refused = wes.get(f"/runs/{runs['native']['id']}/crate")
    assert refused.status_code == 404


def test_snakemakes_html_report_of_a_completed_run(wes, runs):
    answer = wes.get(f"/runs/{runs['ok']['id']}/report", timeout=180)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert "<html" in answer.text[:2000].lower() and "snakemake" in answer.text.lower()
    logs = wes.get(f"/runs/{runs['ok']['id']}/logs/snakemake").text
    assert "Nothing to be done" not in logs  # the run's own log, not the report call's
    assert wes.get(f"/runs/{runs['failing']['id']}/report").status_code == 409


def test_logs_of_a_finished_run(wes, runs):
    run_id = runs["ok"]["id"]
    stderr = wes.get(f"/runs/{run_id}/logs/stderr").text
    assert "[ossrflow] running on local (local), containers: docker" in stderr
    assert stderr.rstrip().endswith("[ossrflow] COMPLETE")
    stdout = json.loads(wes.get(f"/runs/{run_id}/logs/stdout").text)
    assert [f["basename"] for f in stdout["shouted"]] == ["out.txt", "out.txt", "out.txt"]
    followed = wes.get(f"/runs/{run_id}/logs/stderr", params={"follow": "true"}).text
    assert followed == stderr
    assert wes.get(f"/runs/{run_id}/logs/other").status_code == 404


def test_a_log_streams_while_the_run_runs(wes):
    slow = busybox_tool("for i in 1 2 3 4 5 6; do echo tick $i; sleep 1; done")
    run_id = wes.submit(files={"slow.cwl": slow}, workflow_url="slow.cwl")
    wes.wait(run_id, states=("RUNNING",))
    chunks = []
    states_while_streaming = set()
    with httpx.stream(
        "GET",
        f"{wes.wes}/runs/{run_id}/logs/stderr",
        params={"follow": "true"},
        headers=wes.headers("alice"),
        timeout=120,
    ) as answer:
        for chunk in answer.iter_text():
            chunks.append(chunk)
            states_while_streaming.add(wes.state(run_id))
    text = "".join(chunks)
    assert len(chunks) >= 2  # it came in pieces, while the run ran
    assert "RUNNING" in states_while_streaming
    assert text.rstrip().endswith("[ossrflow] COMPLETE")
    assert wes.state(run_id) == "COMPLETE"
    task_log = wes.get(f"/runs/{run_id}/logs/tasks/tool").text
    assert task_log == ""  # the tool's stdout is its output file, out.txt
    assert httpx.get(wes.get(f"/runs/{run_id}").json()["outputs"]["out"]["location"],
                     headers=wes.headers("alice")).text.splitlines()[-1] == "tick 6"  # fmt: skip


def test_a_finished_run_is_deleted_with_its_folder_a_running_one_is_not(wes):
    slow = busybox_tool("sleep 30")
    running = wes.submit(files={"slow.cwl": slow}, workflow_url="slow.cwl", tags={"keep": "no"})
    wes.wait(running, states=("RUNNING",))
    refused = wes.delete(f"/runs/{running}")
    assert refused.status_code == 409
    assert refused.json()["msg"].startswith(f"run {running} is RUNNING: cancel it first")
    assert wes.post(f"/runs/{running}/cancel").json() == {"run_id": running}
    assert wes.wait(running)["state"] == "CANCELED"
    assert wes.delete(f"/runs/{running}").json() == {"run_id": running}
    assert wes.get(f"/runs/{running}").status_code == 404
    assert wes.get("/runs", params={"tag": "keep"}).json()["runs"] == []  # its tags went too
    assert not (wes.config.runs_dir / running).exists()

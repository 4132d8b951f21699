"""Clients nobody here wrote: `wes-client` (PyPI wes-service 5.0) and curl.

wes-client's `--run` sends no Authorization header on `POST /runs` (upstream
common-workflow-language/workflow-service#142), so against a service that checks tokens its
command-line submission gets a 401. Submission is tested the way its own library builds the
request (`wes_client.util.build_wes_request`) with the header added; its read commands
(`--info`, `--list`, `--get`, `--log`) take `--auth` and are run as they are.
"""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from wes_client.util import build_wes_request, expand_globs, modify_jsonyaml_paths

from tests.support.wes import WesService, busybox_tool

TOOL = busybox_tool("wc -l < $0", inputs="{infile: {type: File, inputBinding: {}}}")
WES_CLIENT = str(Path(sys.executable).with_name("wes-client"))


@pytest.fixture(scope="module")
def client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a platform has on its side: a workflow, a job file, data next to them."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "count.cwl").write_text(TOOL, encoding="utf-8")
    (folder / "data").mkdir()
    (folder / "data" / "in.txt").write_text("one\ntwo\nthree\n", encoding="utf-8")
    job = {"infile": {"class": "File", "location": "data/in.txt"}}
    (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def wes(
    docker_engine: str, client_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WesService]:
    # the client's folder is a data root: a shared file system the service sees
    with WesService(tmp_path_factory.mktemp("clients"), data_roots=(client_dir,)) as service:
        yield service


def wes_client(wes: WesService, *args: str, auth: bool = True) -> subprocess.CompletedProcess[str]:
    host = wes.url.removeprefix("http://")
    command = [WES_CLIENT, "--proto", "http", "--host", host, *args]
    if auth:
        command[1:1] = ["--auth", f"Bearer {wes.tokens['alice']}"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def post_like_wes_client(wes: WesService, parts, files) -> str:
    """POST /runs with the parts wes-client's library builds, plus the Authorization header."""
    try:
        answer = requests.post(f"{wes.wes}/runs", data=parts, files=files,
                               headers=wes.headers("alice"), timeout=60)  # fmt: skip
    finally:
        for _, (_, handle) in files:
            handle.close()
    assert answer.status_code == 200, answer.text
    run_id: str = answer.json()["run_id"]
    return run_id


def build_request(*args: Any) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """wes-client's own request builder. Its get_version reads the workflow with
    yaml.safe_load(open(...)) and never closes the file: that warning is silenced here only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        parts, files = build_wes_request(*args)
        gc.collect()
    return list(parts), list(files)


@pytest.fixture(scope="module")
def submitted(wes: WesService, client_dir: Path) -> dict[str, str]:
    """Two runs submitted as wes-client's library builds them, side by side."""
    job = (client_dir / "job.json").read_text()
    parts, files = build_request(
        str(client_dir / "count.cwl"), job, sorted(expand_globs([f"file://{client_dir}/data/*"]))
    )
    assert ("workflow_url", "count.cwl") in parts
    assert ("workflow_type_version", "v1.2") in parts
    # given the job as text, wes-client names attachments relative to the current folder
    assert files[0][1][0] == "count.cwl" and Path(files[1][1][0]).name == "in.txt"
    files[1] = ("workflow_attachment", ("data/in.txt", files[1][1][1]))
    attached = post_like_wes_client(wes, parts, files)
    # modify_jsonyaml_paths (what `wes-client --run` does) makes the job's paths absolute
    # file: URLs of the client's machine: accepted when they lie under a service data root
    job = modify_jsonyaml_paths(str(client_dir / "job.json"))
    assert json.loads(job)["infile"]["location"] == (client_dir / "data" / "in.txt").as_uri()
    parts, files = build_request(str(client_dir / "count.cwl"), job, [])
    shared = post_like_wes_client(wes, parts, files)
    return {"attached": attached, "shared": shared}


def test_wes_client_library_submission_with_attachments(wes, submitted):
    run_id = submitted["attached"]
    log = wes.wait(run_id)
    assert log["state"] == "COMPLETE", log["run_log"]["system_logs"]

    got = wes_client(wes, "--get", run_id)
    assert got.returncode == 0, got.stderr
    shown = json.loads(got.stdout)
    assert shown["state"] == "COMPLETE"
    count = requests.get(
        shown["outputs"]["out"]["location"], headers=wes.headers("alice"), timeout=60
    )
    assert count.text.strip() == "3"

    logged = wes_client(wes, "--log", run_id)
    assert logged.returncode == 0
    assert logged.stdout.rstrip().endswith("[ossrflow] COMPLETE")

    listed = wes_client(wes, "--list")
    assert run_id in [r["run_id"] for r in json.loads(listed.stdout)["runs"]]
    info = json.loads(wes_client(wes, "--info").stdout)
    assert info["supported_wes_versions"] == ["1.1.0"]


def test_wes_client_paths_under_a_data_root(wes, submitted):
    log = wes.wait(submitted["shared"])
    assert log["state"] == "COMPLETE"
    assert log["request"]["workflow_params"]["infile"]["location"].startswith("file:///")


def test_wes_client_run_command_sends_no_token_upstream_limitation(wes, client_dir):
    done = wes_client(wes, str(client_dir / "count.cwl"), str(client_dir / "job.json"), "--no-wait")
    assert done.returncode != 0
    assert "this needs `Authorization: Bearer TOKEN`" in done.stderr
    without = wes_client(wes, "--list", auth=False)
    assert without.returncode != 0 and "'status_code': 401" in without.stderr


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_multipart_session(wes, client_dir, tmp_path):
    auth = f"Authorization: Bearer {wes.tokens['alice']}"

    def curl(*args: str) -> str:
        done = subprocess.run(["curl", "-sS", "--fail-with-body", "-H", auth, *args],
                              capture_output=True, text=True, check=True, cwd=client_dir)  # fmt: skip
        return done.stdout

    submitted = curl(
        "-F", "workflow_type=CWL", "-F", "workflow_type_version=v1.2",
        "-F", "workflow_url=count.cwl", "-F", "workflow_params=<job.json",
        "-F", 'tags={"platform": "curl"}',
        "-F", "workflow_attachment=@count.cwl",
        "-F", "workflow_attachment=@data/in.txt;filename=data/in.txt",
        f"{wes.wes}/runs",
    )  # fmt: skip
    run_id = json.loads(submitted)["run_id"]
    deadline = time.monotonic() + 240
    while json.loads(curl(f"{wes.wes}/runs/{run_id}/status"))["state"] not in (
        "COMPLETE",
        "EXECUTOR_ERROR",
        "SYSTEM_ERROR",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.5)
    log = json.loads(curl(f"{wes.wes}/runs/{run_id}"))
    assert log["state"] == "COMPLETE"
    assert log["request"]["tags"] == {"platform": "curl"}
    curl("-o", str(tmp_path / "out.txt"), log["outputs"]["out"]["location"])
    assert (tmp_path / "out.txt").read_text().strip() == "3"
    curl("-o", str(tmp_path / "crate.zip"), f"{wes.wes}/runs/{run_id}/crate")
    assert (tmp_path / "crate.zip").read_bytes()[:2] == b"PK"

"""Uploads are untrusted: every hostile submission is one WES ErrorResponse (never a 500, never a
traceback), and leaves no run, no row and no file behind.

The server here accepts small requests (64 KiB, 5 attachments, 16 KiB per field, 8 KiB per
attached document, 4 KiB of run outputs), has one data root and a folder registry of the test
entries. Every JSON or YAML value it is sent (fields, attachments) and every output object a run
returns is parsed within the limits of `ossrflow.documents`: too large or too deep is a 400 (or,
for a run's outputs, the run's EXECUTOR_ERROR), never a 500.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import ossrflow
from ossrflow.serve.config import Limits
from tests.support.wes import BUSYBOX, REPO, WesService, busybox_tool

ENTRIES = REPO / "tests" / "data" / "cwlgen" / "entries"

TOOL = busybox_tool("cat $0", inputs="{infile: {type: File, inputBinding: {}}}")
WORKFLOW_FILES = {"tool.cwl": TOOL}


@pytest.fixture(scope="module")
def wes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WesService]:
    folder = tmp_path_factory.mktemp("uploads")
    shared = folder / "shared"
    shared.mkdir()
    (shared / "in.txt").write_text("shared data\n", encoding="utf-8")
    limits = Limits(
        max_request_bytes=64 << 10,
        max_attachments=5,
        max_field_bytes=16 << 10,
        max_document_bytes=8 << 10,
        max_output_bytes=4 << 10,
    )
    settings = ossrflow.Settings(registry=f"dir:{ENTRIES}", cache_dir=folder / "cache")
    with WesService(folder, data_roots=(shared,), limits=limits, settings=settings) as service:
        yield service


def refused(wes: WesService, status: int, **submission: Any) -> str:
    """Submit; expect ``status`` with an ErrorResponse; nothing stored. Returns the message."""
    before = set(wes.config.runs_dir.iterdir())
    answer = wes.submit_raw(**submission)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"msg", "status_code"} and body["status_code"] == status
    assert "Traceback" not in body["msg"] and "\n" not in body["msg"]
    assert set(wes.config.runs_dir.iterdir()) == before
    assert list((wes.config.runs_dir / ".incoming").iterdir()) == []
    assert wes.get("/runs").json()["runs"] == []
    message: str = body["msg"]
    return message


def file_job(location: str) -> dict[str, Any]:
    return {"infile": {"class": "File", "location": location}}


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../escape.cwl", "attachment name '../escape.cwl' has an empty, '.' or '..' component"),
        ("/etc/escape.cwl", "attachment name '/etc/escape.cwl' is an absolute path"),
        (
            "dir\\x.cwl",
            "attachment name 'dir\\\\x.cwl' contains a control character or a backslash",
        ),
        ("a//b.cwl", "attachment name 'a//b.cwl' has an empty, '.' or '..' component"),
        ("x" * 300 + ".cwl", f"attachment name {'x' * 40!r}… is longer than 255 characters"),
    ],
)
def test_attachment_names_cannot_leave_the_run(wes, name, problem):
    message = refused(wes, 400, files={name: TOOL}, workflow_url=name)
    assert message == (
        f"POST /runs:workflow_attachment: {problem} (fix: name attachments by relative paths "
        "inside the workflow's folder, without '..')"
    )


def test_duplicate_and_overlapping_names_are_refused(wes):
    parts = [
        ("workflow_attachment", ("tool.cwl", TOOL)),
        ("workflow_attachment", ("tool.cwl", TOOL)),
    ]
    answer = httpx.post(
        f"{wes.wes}/runs",
        headers=wes.headers("alice"),
        data={"workflow_type": "CWL", "workflow_type_version": "v1.2", "workflow_url": "tool.cwl"},
        files=parts,
    )
    assert answer.json() == {
        "msg": "POST /runs:workflow_attachment: attachment 'tool.cwl' is given twice",
        "status_code": 400,
    }
    message = refused(wes, 400, files={"a": "x", "a/b.cwl": TOOL}, workflow_url="a/b.cwl")
    assert message == (
        "POST /runs:workflow_attachment: attachment 'a' is also the folder of another attachment"
    )


def test_size_and_count_limits(wes):
    big = "#" * (70 << 10)
    assert refused(wes, 413, files={"tool.cwl": TOOL, "big.txt": big}, workflow_url="tool.cwl") == (
        "the request is larger than the 65536 bytes this service accepts (fix: send large data as "
        "http(s), Zenodo or Rucio locations, or from a data root)"
    )
    many = {f"f{i}.txt": "x" for i in range(6)}
    assert refused(wes, 400, files={**many, "tool.cwl": TOOL}, workflow_url="tool.cwl") == (
        "Too many files. Maximum number of files is 5."
    )
    long_params = {"infile": "x" * (20 << 10)}
    assert (
        refused(
            wes, 400, files=WORKFLOW_FILES, workflow_url="tool.cwl", workflow_params=long_params
        )
        == "Part exceeded maximum size of 16KB."
    )


def test_form_fields_are_wes_fields_once_each(wes):
    assert refused(wes, 400, files=WORKFLOW_FILES, workflow_url="tool.cwl", colour="red") == (
        "POST /runs:colour: unknown form field 'colour' (fix: WES 1.1 fields: tags, "
        "workflow_attachment, workflow_engine, workflow_engine_parameters, "
        "workflow_engine_version, workflow_params, workflow_type, workflow_type_version, "
        "workflow_url)"
    )
    answer = httpx.post(f"{wes.wes}/runs", headers=wes.headers("alice"), json={"a": 1})
    assert answer.json() == {
        "msg": "POST /runs: Content-Type 'application/json' is not multipart/form-data (fix: send "
        "the run as a multipart/form-data form (WES 1.1 RunRequest fields))",
        "status_code": 400,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"workflow_type": "WDL"}, "POST /runs:workflow_type: workflow_type 'WDL' is not offered "
         "(fix: give CWL (v1.0, v1.1, v1.2) or OSSRFLOW (a definition file, version 1))"),
        ({"workflow_type_version": "v2.0"}, "POST /runs:workflow_type_version: CWL version "
         "'v2.0' is not supported (fix: give one of v1.0, v1.1, v1.2)"),
        ({"workflow_url": "missing.cwl"}, "POST /runs:workflow_url: workflow_url 'missing.cwl' "
         "names no attachment (fix: attachments: tool.cwl)"),
        ({"workflow_url": "/etc/passwd"}, "POST /runs:workflow_url: workflow_url '/etc/passwd' "
         "is no attachment, no http(s) URL and no registry reference (fix: name an attachment by "
         "its relative name, an http(s) URL, or a record id / DOI)"),
        ({"workflow_url": "file:///etc/passwd"}, "POST /runs:workflow_url: workflow_url "
         "'file:///etc/passwd' is no attachment, no http(s) URL and no registry reference (fix: "
         "name an attachment by its relative name, an http(s) URL, or a record id / DOI)"),
        ({"workflow_params": "{not json"}, "workflow_params:1:2: invalid JSON: Expecting "
         "property name enclosed in double quotes (fix: fix the JSON syntax (a validator such as "
         "`python -m json.tool` shows where))"),
        ({"workflow_params": "[1, 2]"}, "POST /runs:workflow_params: workflow_params must be a "
         "JSON object"),
        ({"tags": {"a": 1}}, "POST /runs:tags: tag 'a' must be a non-empty key (at most 256 "
         "characters) with a string value"),
        ({"workflow_engine_parameters": {"profile": "cloud"}}, "POST /runs:workflow_engine_"
         "parameters.profile: facility 'cloud' is not offered here (fix: choose one of local "
         "(GET /service-info))"),
        ({"workflow_engine_parameters": {"container": "none"}}, "POST /runs:workflow_engine_"
         "parameters.container: this service runs every step in a container; container none is "
         "refused (fix: leave container out, or name docker, podman or apptainer)"),
        ({"workflow_engine_parameters": {"retries": 99}}, "POST /runs:workflow_engine_"
         "parameters.retries: workflow_engine_parameters.retries must be an integer from 0 to 10"),
        ({"workflow_engine_parameters": {"shell": "rm -rf /"}}, "POST /runs:workflow_engine_"
         "parameters: unknown engine parameter 'shell' (fix: known: carts, container, jobs, "
         "profile, retries (GET /service-info lists them))"),
    ],
)  # fmt: skip
def test_request_fields_are_checked(wes, fields, message):
    submission = {"files": WORKFLOW_FILES, "workflow_url": "tool.cwl", **fields}
    assert refused(wes, 400, **submission) == message


def test_deeply_nested_params_stop_at_the_document_limits(wes):
    deep = "[" * 200 + "]" * 200
    message = refused(wes, 400, files=WORKFLOW_FILES, workflow_url="tool.cwl",
                      workflow_params='{"x": ' + deep + "}")  # fmt: skip
    assert message == (
        "workflow_params: values are nested more than 128 levels deep (fix: this is not a "
        "document ossrflow reads; check where it came from)"
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"infile": {"$include": "/etc/passwd"}}, "workflow_params:infile.$include: key "
         "'$include' is a directive, not an input value (fix: give input values only ($import, "
         "$include, cwl:requirements and cwl:tool are refused))"),
        ({"cwl:tool": "/etc/passwd"}, "workflow_params:cwl:tool: key 'cwl:tool' is a directive, "
         "not an input value (fix: give input values only ($import, $include, cwl:requirements "
         "and cwl:tool are refused))"),
        (file_job("file:///etc/passwd"), "workflow_params:infile: 'file:///etc/passwd' lies "
         "outside the service's data roots (fix: attach the file, give an http(s) URL, or ask "
         "for it under a --data-root (SHARED))"),
        (file_job("/etc/passwd"), "workflow_params:infile: '/etc/passwd' lies outside the "
         "service's data roots (fix: attach the file, give an http(s) URL, or ask for it under a "
         "--data-root (SHARED))"),
        (file_job("SHARED/../../tokens.txt"), "workflow_params:infile: 'SHARED/../../tokens.txt' "
         "lies outside the service's data roots (fix: attach the file, give an http(s) URL, or "
         "ask for it under a --data-root (SHARED))"),
        (file_job("SHARED/absent.txt"), "workflow_params:infile: 'SHARED/absent.txt' does not "
         "exist (fix: check the path on the shared file system)"),
        (file_job("file://elsewhere/x"), "workflow_params:infile: 'file://elsewhere/x' names "
         "another host (fix: stage the file or attach it)"),
        (file_job("s3://bucket/x"), "workflow_params:infile: location 's3://bucket/x': scheme "
         "'s3' is not accepted (fix: use an attachment, http(s), zenodo:RECORD/FILE, "
         "rucio://SCOPE/NAME, or a file under a data root)"),
        (file_job("zenodo:12/"), "workflow_params:infile: 'zenodo:12/' is not a Zenodo file "
         "reference (fix: write zenodo:RECORD_ID/FILE_NAME)"),
        (file_job("notattached.txt"), "workflow_params:infile: 'notattached.txt' is no "
         "attachment (fix: attach the file under that relative name)"),
        (file_job("../tokens.txt"), "workflow_params:infile: '../tokens.txt' is no attachment "
         "(fix: attach the file under that relative name)"),
    ],
)  # fmt: skip
def test_job_values_reach_only_attachments_http_and_data_roots(wes, params, message):
    shared = str(wes.config.data_roots[0])
    params = json.loads(json.dumps(params).replace("SHARED", shared))
    got = refused(wes, 400, files=WORKFLOW_FILES, workflow_url="tool.cwl", workflow_params=params)
    assert got == message.replace("SHARED", shared)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("cwlVersion: v1.2\nclass: CommandLineTool\ndoc: {$include: /etc/passwd}\n"
         "baseCommand: x\ninputs: []\noutputs: []\n", "tool.cwl:doc.$include: $include "
         "'/etc/passwd' names a file of the service outside the data roots"),
        ("cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n  s:\n"
         "    run: ../../tokens.txt\n    in: []\n    out: []\n", "tool.cwl:steps.s.run: run "
         "'../../tokens.txt' leads outside the attachments"),
        ("cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n  s:\n"
         "    run: file:///etc/hostname\n    in: []\n    out: []\n", "tool.cwl:steps.s.run: run "
         "'file:///etc/hostname' names a file of the service outside the data roots"),
        ("$base: file:///etc/\ncwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: x\n"
         "inputs: []\noutputs: []\n", "tool.cwl:$base: $base would move every relative "
         "reference of the document"),
        ("cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: x\ninputs:\n  f:\n    type: File\n"
         "    default: {class: File, location: /root/.ssh/id_rsa}\noutputs: []\n",
         "tool.cwl:inputs.f.default.location: location '/root/.ssh/id_rsa' names a file of the "
         "service outside the data roots"),
        ("cwlVersion: v1.2\nclass: CommandLineTool\nrequirements:\n  DockerRequirement:\n"
         "    dockerLoad: /var/lib/image.tar\nbaseCommand: x\ninputs: []\noutputs: []\n",
         "tool.cwl:requirements.DockerRequirement.dockerLoad: dockerLoad '/var/lib/image.tar' "
         "names a file of the service outside the data roots"),
        ("cwlVersion: v1.2\nclass: CommandLineTool\n$import: gopher://x/y\n", "tool.cwl:$import: "
         "$import 'gopher://x/y': scheme gopher is not allowed"),
    ],
)  # fmt: skip
def test_documents_refer_only_to_attachments_http_and_data_roots(wes, document, message):
    got = refused(wes, 400, files={"tool.cwl": document}, workflow_url="tool.cwl")
    assert got == message + (
        " (fix: refer only to attachments (relative paths inside them), http(s) URLs, or files "
        "under the service's data roots)"
    )


def test_a_yaml_bomb_is_refused_by_the_document_limits(wes):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    message = refused(wes, 400, files={"tool.cwl": bomb}, workflow_url="tool.cwl")
    assert message.startswith("tool.cwl:") and "aliases" in message


def test_a_cart_is_checked_at_submission(wes):
    local = json.dumps({"items": [{"location": "/etc/passwd"}]})
    message = refused(wes, 400, files={**WORKFLOW_FILES, "cart.json": local},
                      workflow_url="tool.cwl",
                      workflow_engine_parameters={"carts": {"infile": "cart.json"}})  # fmt: skip
    assert message == (
        "cart.json:items[0].location: path '/etc/passwd' lies outside the data root the "
        "attachments (fix: attach the data, give http(s), Zenodo or Rucio locations, or files "
        "under the service's data roots)"
    )
    esap = json.dumps([{"archive": "zooniverse", "catalog": "project", "project_id": 1}])
    message = refused(wes, 400, files={**WORKFLOW_FILES, "cart.json": esap},
                      workflow_url="tool.cwl",
                      workflow_engine_parameters={"carts": {"infile": "cart.json"}})  # fmt: skip
    assert message.startswith("cart.json:items[0].archive: archive 'zooniverse' cannot be staged")
    message = refused(wes, 400, files=WORKFLOW_FILES, workflow_url="tool.cwl",
                      workflow_engine_parameters={"carts": {"infile": "absent.json"}})  # fmt: skip
    assert message == (
        "POST /runs:workflow_engine_parameters.carts.infile: cart 'absent.json' is no attachment "
        "(fix: attach the cart file)"
    )


def test_garbage_bodies_are_400s_not_500s(wes):
    for body, kind in [
        (b"\x00\xff" * 100, "multipart/form-data; boundary=xyz"),
        (
            b"--xyz\r\nContent-Disposition: form-data\r\n\r\n--xyz--",
            "multipart/form-data; boundary=xyz",
        ),
        (b"", "multipart/form-data"),
        (
            b'--xyz\r\nContent-Disposition: form-data; name="workflow_attachment"; '
            b'filename="bad\x01name"\r\n\r\nx\r\n--xyz--\r\n',
            "multipart/form-data; boundary=xyz",
        ),
    ]:
        answer = httpx.post(f"{wes.wes}/runs", headers={**wes.headers("alice"), "Content-Type": kind},
                            content=body)  # fmt: skip
        assert answer.status_code == 400, answer.text
        assert set(answer.json()) == {"msg", "status_code"}


def test_a_file_under_the_data_root_is_accepted(wes, tmp_path: Path):
    shared = wes.config.data_roots[0]
    answer = wes.submit_raw(
        files=WORKFLOW_FILES,
        workflow_url="tool.cwl",
        workflow_params=file_job(str(shared / "in.txt")),
    )
    assert answer.status_code == 200
    run_id = answer.json()["run_id"]
    assert wes.post(f"/runs/{run_id}/cancel").status_code == 200
    spec = json.loads((wes.config.runs_dir / run_id / "spec.json").read_text())
    assert spec["job"] == {"infile": {"class": "File", "location": (shared / "in.txt").as_uri()}}
    wes.wait(run_id)
    assert wes.delete(f"/runs/{run_id}").status_code == 200


# -- bounded parsing: every JSON/YAML value within the document limits --------------------------

DEEP = "[" * 200 + "]" * 200
TOO_DEEP = (
    "values are nested more than 128 levels deep (fix: this is not a document ossrflow reads; "
    "check where it came from)"
)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tags": '{"a": ' + DEEP + "}"}, f"tags: {TOO_DEEP}"),
        ({"workflow_engine_parameters": '{"profile": ' + DEEP + "}"},
         f"workflow_engine_parameters: {TOO_DEEP}"),
        ({"workflow_engine_parameters": json.dumps({"carts": '{"x": ' + DEEP + "}"})},
         f"workflow_engine_parameters.carts: {TOO_DEEP}"),
    ],
)  # fmt: skip
def test_deeply_nested_fields_stop_at_the_document_limits(wes, fields, message):
    submission = {"files": WORKFLOW_FILES, "workflow_url": "tool.cwl", **fields}
    assert refused(wes, 400, **submission) == message


@pytest.mark.parametrize(
    ("name", "body", "message"),
    [
        ("job.json", '{"x": ' + DEEP + "}", f"job.json: {TOO_DEEP}"),
        ("more.yml", "x: " + DEEP + "\n", f"more.yml: {TOO_DEEP}"),
        ("more.yml", "- " * 200 + "1\n", f"more.yml:1:{2 * 72 + 1}: {TOO_DEEP}"),
        ("big.cwl", "# " + "x" * (9 << 10) + "\n", "big.cwl: document of 9219 bytes is larger "
         "than the 8192 bytes allowed (fix: documents must be UTF-8 YAML or JSON within the "
         "service's limits)"),
        ("bad.json", b"\xff\xfe{}", "bad.json: not UTF-8 text (byte 0) (fix: documents must be "
         "UTF-8 YAML or JSON within the service's limits)"),
    ],
)  # fmt: skip
def test_attached_documents_stop_at_the_document_limits(wes, name, body, message):
    files = {**WORKFLOW_FILES, name: body}
    assert refused(wes, 400, files=files, workflow_url="tool.cwl") == message


def test_a_form_field_sent_url_encoded_is_bounded_too(wes):
    params = json.dumps({"infile": "x" * (20 << 10)})
    before = set(wes.config.runs_dir.iterdir())
    answer = httpx.post(
        f"{wes.wes}/runs",
        headers=wes.headers("alice"),
        data={"workflow_type": "CWL", "workflow_type_version": "v1.2",
              "workflow_url": "tool.cwl", "workflow_params": params},
    )  # fmt: skip
    assert answer.json() == {"msg": "Field exceeded maximum size of 16KB.", "status_code": 400}
    assert set(wes.config.runs_dir.iterdir()) == before


def test_a_definitions_paths_stay_in_its_attachments(wes):
    definition = (
        "ossrflow: 1\nentries: {lc: linecount}\ninputs:\n  data: {cart: ../../tokens.txt}\n"
        "steps:\n  count: {run: lc, in: {infile: data}, scatter: infile}\n"
        "outputs:\n  counts: count/counts\n"
    )
    message = refused(wes, 400, files={"flow.yml": definition}, workflow_url="flow.yml",
                      workflow_type="OSSRFLOW", workflow_type_version="1")  # fmt: skip
    assert message == (
        "flow.yml:4:10: inputs.data.cart: path '../../tokens.txt' climbs out of its folder with "
        "'..' (fix: give a path inside its folder)"
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nosuch", "POST /runs:workflow_url: workflow_url 'nosuch' names no entry of this "
         "service's registry: no entry 'nosuch' (fix: entries here: gammapy-info, linecount, "
         "pyhf, water-bodies)"),
        ("10.5281/zenodo.999", "POST /runs:workflow_url: workflow_url '10.5281/zenodo.999' names "
         "no entry of this service's registry: no entry has DOI 10.5281/zenodo.999 (fix: check "
         "the DOI)"),
        ("dir:/etc", "POST /runs:workflow_url: workflow_url 'dir:/etc' is no attachment, no "
         "http(s) URL and no registry reference (fix: name an attachment by its relative name, "
         "an http(s) URL, or a record id / DOI)"),
        ("tool.yml", "POST /runs:workflow_url: workflow_url 'tool.yml' names no attachment (fix: "
         "attachments: tool.cwl)"),
    ],
)  # fmt: skip
def test_an_unknown_registry_reference_is_a_400_naming_the_field(wes, url, message):
    assert refused(wes, 400, files=WORKFLOW_FILES, workflow_url=url) == message


VALUE_TOOL = f"""\
cwlVersion: v1.2
class: CommandLineTool
requirements:
  DockerRequirement: {{dockerPull: {BUSYBOX}}}
baseCommand: [sh, -c, 'printf "%s" "$0" > cwl.output.json']
inputs:
  text: {{type: string, inputBinding: {{}}}}
outputs:
  value: Any
"""


def test_a_runs_output_object_beyond_the_limits_is_its_error_not_a_500(wes, docker_engine):
    large = json.dumps({"value": "x" * 5000})
    deep = json.dumps({"value": json.loads("[" * 150 + "1" + "]" * 150)})
    ids = [
        wes.submit(files={"value.cwl": VALUE_TOOL}, workflow_url="value.cwl",
                   workflow_params={"text": text})
        for text in (large, deep)
    ]  # fmt: skip
    size = len(json.dumps(json.loads(large), sort_keys=True))
    step = f"{wes.config.runs_dir}/{ids[1]}/run/steps/tool/out/cwl.output.json"
    messages = [
        # the service's own bound on what it hands out
        f"outputs: the run's output object is beyond this service's limits: document of {size} "
        "bytes is larger than the 4096 bytes allowed (fix: return large or deeply nested values "
        "as files)",
        # the run reads a tool's cwl.output.json within the document limits itself
        f"{step}: values are nested more than 128 levels deep (fix: the step's tool wrote this "
        "file: fix the tool, or have it write its outputs)",
    ]
    for run_id, message in zip(ids, messages, strict=True):
        log = wes.wait(run_id)
        assert (log["state"], log["outputs"]) == ("EXECUTOR_ERROR", {})
        assert log["run_log"]["system_logs"] == [message]
        assert wes.get(f"/runs/{run_id}/logs/stdout").text == ""
        assert wes.delete(f"/runs/{run_id}").status_code == 200

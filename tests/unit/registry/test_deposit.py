"""Publishing a new version: the plan (pure) and the deposition calls, against a loopback Zenodo."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ossrflow.config import Settings
from ossrflow.errors import InputError, NotFound, ServiceError, UnsafeValue
from ossrflow.registry import open_registry
from ossrflow.registry.deposit import (
    NewFile,
    VersionPlan,
    latest_version,
    plan_new_version,
    publish_new_version,
)
from ossrflow.registry.model import RecordFile, SoftwareRecord
from tests.support.zenodo_deposit import (
    EXPIRED_TOKEN,
    OWNER_TOKEN,
    STRANGER_TOKEN,
    DepositServer,
    deposit_server,
)

CWL = b"cwlVersion: v1.2\n"
INTERFACE = b"baseCommand: [wc, -l]\n"


def record(*keys: str, registry: str = "https://zenodo.org/api") -> SoftwareRecord:
    files = tuple(RecordFile(k, 1, "md5:" + "0" * 32, f"https://zenodo.org/f/{k}") for k in keys)
    return SoftwareRecord(
        "7", "10.5281/zenodo.7", "6", None, "t", "1.0", None, files, None, registry
    )


def test_new_files_go_next_to_codemeta_and_the_others_are_kept() -> None:
    plan = plan_new_version(
        record("pkg/codemeta.json", "pkg/tool.cwl", "data.zip"),
        {"ossrflow-interface.yml": INTERFACE, "tool.cwl": CWL},
        version="1.1",
    )
    assert plan.rows() == [
        ("data.zip", "keep"),
        ("pkg/codemeta.json", "keep"),
        ("pkg/ossrflow-interface.yml", "add"),
        ("pkg/tool.cwl", "replace"),
    ]
    assert plan.uploads == (
        NewFile("pkg/ossrflow-interface.yml", INTERFACE),
        NewFile("pkg/tool.cwl", CWL),
    )
    assert (plan.version, plan.notes) == ("1.1", ())


def test_another_shipped_cwl_is_noted() -> None:
    plan = plan_new_version(record("codemeta.json", "other.cwl"), {"tool.cwl": CWL})
    assert plan.notes == (
        "the record also ships other.cwl: `ossrflow cwl` will ask which tool (--tool)",
    )


def test_a_record_without_codemeta_or_with_an_unsafe_name_is_refused() -> None:
    with pytest.raises(InputError) as info:
        plan_new_version(record("data.zip"), {"tool.cwl": CWL})
    assert "record 7 has no codemeta.json" in str(info.value)
    with pytest.raises(UnsafeValue):
        plan_new_version(record("codemeta.json"), {"../tool.cwl": CWL})


def test_folder_registries_have_nothing_to_publish_to(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        latest_version(record("codemeta.json", registry="dir:reg"), Settings(cache_dir=tmp_path))
    assert str(info.value) == (
        "REF: dir:reg is a folder registry: there is nothing to publish to "
        "(fix: name a Zenodo record (and --registry, or --sandbox))"
    )


@pytest.fixture
def zenodo() -> Iterator[DepositServer]:
    with deposit_server() as server:
        yield server


def agnpy_plan(zenodo: DepositServer, tmp_path: Path) -> tuple[VersionPlan, Settings]:
    settings = Settings(registry=zenodo.records.api, cache_dir=tmp_path)
    with open_registry(settings) as registry:
        older = registry.get_record("4055176")
    latest = latest_version(older, settings)
    assert latest.id == "4687123"
    plan = plan_new_version(latest, {"ossrflow-interface.yml": INTERFACE, "agnpy.cwl": CWL})
    return plan, settings


def test_publish_makes_fills_and_publishes_a_new_version(
    zenodo: DepositServer, tmp_path: Path
) -> None:
    plan, settings = agnpy_plan(zenodo, tmp_path)
    published = publish_new_version(plan, settings=settings, token=OWNER_TOKEN, today="2026-12-01")
    assert published.to_json() == {
        "record_id": "900001",
        "doi": "10.5281/zenodo.900001",
        "url": f"{zenodo.url}/records/900001",
        "files": [
            "agnpy.cwl",
            "codemeta.json",
            "cosimoNigro/agnpy-v0.0.10.zip",
            "ossrflow-interface.yml",
        ],
    }
    deposit_calls = [
        (r.method, r.path) for r in zenodo.requests if r.method != "GET" or "deposit" in r.path
    ]
    assert deposit_calls == [
        ("POST", "/api/deposit/depositions/4687123/actions/newversion"),
        ("GET", "/api/deposit/depositions/900001"),
        ("PUT", "/api/files/bucket-draft-900001/ossrflow-interface.yml"),
        ("PUT", "/api/files/bucket-draft-900001/agnpy.cwl"),
        ("PUT", "/api/deposit/depositions/900001"),
        ("POST", "/api/deposit/depositions/900001/actions/publish"),
    ]
    for seen in zenodo.requests:
        if "deposit" in seen.path or seen.method == "PUT":
            assert seen.headers["authorization"] == f"Bearer {OWNER_TOKEN}"
            assert OWNER_TOKEN not in seen.path
    new = zenodo.records.records["900001"]
    assert (new.concept, new.version, new.publication_date) == ("4055175", "0.5.0", "2026-12-01")
    assert {f.key: f.data for f in new.files}["agnpy.cwl"] == CWL
    assert zenodo.deposit.state.drafts["900001"].metadata.get("doi") is None


def test_an_expired_token_is_one_line_and_nothing_is_made(
    zenodo: DepositServer, tmp_path: Path
) -> None:
    plan, settings = agnpy_plan(zenodo, tmp_path)
    with pytest.raises(InputError) as info:
        publish_new_version(plan, settings=settings, token=EXPIRED_TOKEN, today="2026-12-01")
    assert str(info.value).startswith(
        f"{zenodo.url}/api/deposit/depositions/4687123/actions/newversion: make a new version of "
        "record 4687123: HTTP 401: The server could not verify that you are authorized"
    )
    assert str(info.value).endswith(
        "(the token is expired, revoked or not for this server) (fix: create a token with the "
        "deposit:write and deposit:actions scopes and set OSSRFLOW_ZENODO_TOKEN)"
    )
    assert zenodo.deposit.state.drafts == {}


def test_a_record_you_do_not_own_is_refused(zenodo: DepositServer, tmp_path: Path) -> None:
    plan, settings = agnpy_plan(zenodo, tmp_path)
    with pytest.raises(InputError) as info:
        publish_new_version(plan, settings=settings, token=STRANGER_TOKEN, today="2026-12-01")
    assert (
        "HTTP 403: You don't have the permission to edit this deposition. (the token's owner "
        "may not edit this record) (fix: publish records you own" in str(info.value)
    )


def test_a_refused_publication_deletes_the_draft(zenodo: DepositServer, tmp_path: Path) -> None:
    plan, settings = agnpy_plan(zenodo, tmp_path)
    zenodo.deposit.state.publish_failure = (
        400,
        {
            "status": 400,
            "message": "Validation error.",
            "errors": [{"field": "metadata.license", "message": "Not a valid choice."}],
        },
    )
    with pytest.raises(InputError) as info:
        publish_new_version(plan, settings=settings, token=OWNER_TOKEN, today="2026-12-01")
    assert str(info.value) == (
        f"{zenodo.url}/api/deposit/depositions/900001/actions/publish: publish: HTTP 400: "
        "Validation error.; metadata.license: Not a valid choice. (fix: fix what the server "
        "names and run again)"
    )
    assert zenodo.requests[-1].method == "DELETE"
    assert zenodo.deposit.state.drafts == {}
    assert "900001" not in zenodo.records.records


def test_a_missing_token_is_refused_before_any_call(zenodo: DepositServer, tmp_path: Path) -> None:
    plan, settings = agnpy_plan(zenodo, tmp_path)
    calls = len(zenodo.requests)
    with pytest.raises(InputError) as info:
        publish_new_version(plan, settings=settings, token="", today="2026-12-01")
    assert str(info.value).startswith("OSSRFLOW_ZENODO_TOKEN: publishing needs a Zenodo token")
    assert len(zenodo.requests) == calls


def test_an_unknown_record_is_not_found(zenodo: DepositServer, tmp_path: Path) -> None:
    plan, settings = agnpy_plan(zenodo, tmp_path)
    gone = VersionPlan(
        SoftwareRecord("404404", None, None, None, "x", None, None, (), None, zenodo.records.api),
        (),
        plan.add,
        (),
        None,
    )
    with pytest.raises(NotFound):
        publish_new_version(gone, settings=settings, token=OWNER_TOKEN, today="2026-12-01")


class _DeepRefusal(BaseHTTPRequestHandler):
    """Refuses every POST with a 500 whose JSON body is nested 100 000 deep."""

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = b"[" * 100_000 + b"]" * 100_000
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_refusal_nested_too_deep_is_one_line(tmp_path: Path) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DeepRefusal)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api = f"http://127.0.0.1:{server.server_address[1]}/api"
    try:
        plan = plan_new_version(record("codemeta.json", registry=api), {"tool.cwl": CWL})
        settings = Settings(registry=api, cache_dir=tmp_path, retries=0)
        with pytest.raises(ServiceError) as info:
            publish_new_version(plan, settings=settings, token=OWNER_TOKEN, today="2026-12-01")
    finally:
        server.shutdown()
        server.server_close()
    assert str(info.value) == (
        f"{api}/deposit/depositions/7/actions/newversion: make a new version of record 7: "
        f"HTTP 500: {'[' * 200} (fix: retry later)"
    )

"""TRS 2.0.1 over a folder registry, through a real uvicorn on 127.0.0.1: whole answers.

The helpers here (a registry of entries, the service's app, uvicorn in a thread) are shared by
the other ``test_trs*`` and ``test_finder*`` modules and tests/integration/test_publish.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

import ossrflow
from tests.conftest import REPO

DEMO_REGISTRY = REPO / "workflows" / "registry"
PREFIX = "/ga4gh/trs/v2"
WC_CODEMETA = {
    "@context": "https://doi.org/10.5063/schema/codemeta-2.0",
    "@type": "SoftwareSourceCode",
    "name": "wc-lines",
    "description": "Count the lines of a text file",
    "softwareVersion": "1.0.0",
    "identifier": "https://doi.org/10.5281/zenodo.1234567",
    "author": [{"@type": "Person", "givenName": "Ada", "familyName": "Lovelace"}],
    "keywords": ["text", "lines"],
    "license": "https://spdx.org/licenses/MIT",
}
WC_INTERFACE = """\
baseCommand: [wc, -l]
inputs:
  text:
    type: File
    label: a text file
    inputBinding: {position: 1}
stdout: lines.txt
outputs:
  lines: {type: stdout}
"""
WC_JOB = "text:\n  class: File\n  path: poem.txt\n"


def make_registry(root: Path) -> Path:
    """wc-lines (interface + example job), astropy-fitscheck (from the demo), codemeta-only."""
    wc = root / "wc-lines"
    wc.mkdir(parents=True)
    (wc / "codemeta.json").write_text(json.dumps(WC_CODEMETA, indent=1))
    (wc / "ossrflow-interface.yml").write_text(WC_INTERFACE)
    (wc / "wc-lines-job.yml").write_text(WC_JOB)
    shutil.copytree(DEMO_REGISTRY / "astropy-fitscheck", root / "astropy-fitscheck")
    bare = root / "no-interface"
    bare.mkdir()
    (bare / "codemeta.json").write_text(
        json.dumps(
            {**WC_CODEMETA, "name": "bare", "description": "Metadata only", "identifier": None}
        )
    )
    return root


def serve_config(settings: ossrflow.Settings, tmp: Path, roots: tuple[Path, ...] = ()) -> Any:
    from ossrflow.serve.config import ServeConfig, default_db_url, parse_profiles

    return ServeConfig(
        host="127.0.0.1",
        port=0,
        runs_dir=tmp / "runs",
        db_url=default_db_url(tmp / "runs"),
        tokens_file=None,
        oidc_issuer=None,
        oidc_audience=None,
        data_roots=roots,
        profiles=parse_profiles(["local"]),
        max_runs=1,
        allow_native=False,
        settings=settings,
    )


def make_app(config: Any) -> FastAPI:
    """The service's application (WES, TRS and matchmaking), as ``ossrflow serve`` makes it."""
    from ossrflow.serve.app import create_app

    return create_app(config)


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """uvicorn on 127.0.0.1 (a free port) in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def trs_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("trs")
    registry = make_registry(tmp / "registry")
    settings = ossrflow.Settings(registry=f"dir:{registry}", cache_dir=tmp / "cache")
    with running(make_app(serve_config(settings, tmp))) as url:
        yield url


def get(url: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.get(url + path, timeout=60, **kwargs)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wc_version(url: str) -> dict[str, Any]:
    return {
        "id": "1.0.0",
        "name": "1.0.0",
        "url": f"{url}{PREFIX}/tools/wc-lines/versions/1.0.0",
        "author": ["Ada Lovelace"],
        "is_production": False,
        "images": [],
        "descriptor_type": ["CWL"],
        "containerfile": True,
        "verified": False,
        "verified_source": [],
        "signed": False,
        "included_apps": [],
    }


def wc_tool(url: str) -> dict[str, Any]:
    return {
        "url": f"{url}{PREFIX}/tools/wc-lines",
        "id": "wc-lines",
        "aliases": ["10.5281/zenodo.1234567"],
        "organization": "registry",
        "name": "wc-lines",
        "toolclass": {
            "id": "CommandLineTool",
            "name": "CommandLineTool",
            "description": "A CWL CommandLineTool: one command-line program with typed inputs "
            "and outputs",
        },
        "description": "Count the lines of a text file",
        "has_checker": False,
        "versions": [wc_version(url)],
    }


def generated_wc(tmp_path: Path, registry: Path) -> str:
    settings = ossrflow.Settings(registry=f"dir:{registry}", cache_dir=tmp_path / "c")
    entry = ossrflow.get_entry(f"dir:{registry / 'wc-lines'}", settings)
    return ossrflow.render_tool(ossrflow.generate_entry_tool(entry))


# --- service-info, classes, tools -----------------------------------------------------------


def test_service_info_and_tool_classes(trs_url: str) -> None:
    info = get(trs_url, f"{PREFIX}/service-info")
    assert info.status_code == 200
    assert info.json() == {
        "id": "org.ossrflow.trs",
        "name": "ossrflow workflow finder",
        "type": {"group": "org.ga4gh", "artifact": "trs", "version": "2.0.1"},
        "description": "The entries of a folder registry as runnable CWL v1.2 tools",
        "organization": {"name": "ossrflow", "url": f"{trs_url}/"},
        "version": ossrflow.__version__,
    }
    assert get(trs_url, f"{PREFIX}/toolClasses").json() == [wc_tool(trs_url)["toolclass"]]


def test_tools_lists_every_entry_in_id_order(trs_url: str) -> None:
    answer = get(trs_url, f"{PREFIX}/tools")
    assert answer.headers["content-type"] == "application/json"
    tools = answer.json()
    assert [t["id"] for t in tools] == ["astropy-fitscheck", "no-interface", "wc-lines"]
    assert tools[2] == wc_tool(trs_url)
    bare = tools[1]["versions"][0]
    assert (bare["descriptor_type"], bare["containerfile"]) == ([], False)


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("id=wc-lines", ["wc-lines"]),
        ("alias=10.5281/ZENODO.1234567", ["wc-lines"]),
        ("toolClass=CommandLineTool", ["astropy-fitscheck", "no-interface", "wc-lines"]),
        ("toolClass=Workflow", []),
        ("descriptorType=CWL", ["astropy-fitscheck", "wc-lines"]),
        ("descriptorType=WDL", []),
        ("name=astro", ["astropy-fitscheck"]),
        ("toolname=WC", ["wc-lines"]),
        ("description=lines", ["wc-lines"]),
        ("author=lovelace", ["no-interface", "wc-lines"]),
        ("organization=registry", ["astropy-fitscheck", "no-interface", "wc-lines"]),
        ("organization=elsewhere", []),
        ("registry=quay.io", []),
        ("checker=true", []),
        ("checker=false&name=wc", ["wc-lines"]),
    ],
)
def test_tool_filters(trs_url: str, query: str, ids: list[str]) -> None:
    assert [t["id"] for t in get(trs_url, f"{PREFIX}/tools?{query}").json()] == ids


def test_paging_with_offset_limit_and_the_link_headers(trs_url: str) -> None:
    first = get(trs_url, f"{PREFIX}/tools?limit=2")
    assert [t["id"] for t in first.json()] == ["astropy-fitscheck", "no-interface"]
    assert first.headers["next_page"] == f"{trs_url}{PREFIX}/tools?offset=2&limit=2"
    assert first.headers["last_page"] == f"{trs_url}{PREFIX}/tools?offset=2&limit=2"
    assert first.headers["self_link"] == f"{trs_url}{PREFIX}/tools?offset=0&limit=2"
    assert (first.headers["current_offset"], first.headers["current_limit"]) == ("0", "2")
    last = httpx.get(first.headers["next_page"], timeout=60)
    assert [t["id"] for t in last.json()] == ["wc-lines"]
    assert "next_page" not in last.headers
    assert get(trs_url, f"{PREFIX}/tools?offset=9").json() == []
    bad = get(trs_url, f"{PREFIX}/tools?offset=two")
    assert (bad.status_code, bad.json()) == (
        400,
        {
            "code": 400,
            "message": "offset: offset 'two' is not a whole number (fix: give 0, 10, …)",
        },
    )
    assert get(trs_url, f"{PREFIX}/tools?limit=0").status_code == 400


def test_one_tool_its_versions_and_one_version(trs_url: str) -> None:
    assert get(trs_url, f"{PREFIX}/tools/wc-lines").json() == wc_tool(trs_url)
    assert get(trs_url, f"{PREFIX}/tools/wc-lines/versions").json() == [wc_version(trs_url)]
    for version in ("1.0.0", "latest"):
        answer = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/{version}")
        assert answer.json() == wc_version(trs_url)


def test_unknown_tools_and_versions_are_trs_errors(trs_url: str) -> None:
    tool = get(trs_url, f"{PREFIX}/tools/nope")
    assert (tool.status_code, tool.json()) == (
        404,
        {
            "code": 404,
            "message": "tools: no tool 'nope' in this registry (fix: GET /tools lists the "
            "tools; ids look like zenodo.4055175 (Zenodo) or the folder name (folder registry))",
        },
    )
    version = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/9.9")
    assert (version.status_code, version.json()["message"]) == (
        404,
        "tools/wc-lines/versions: tool wc-lines has no version '9.9' "
        "(fix: versions: 1.0.0 (or latest))",
    )


# --- descriptors and files ------------------------------------------------------------------


def test_the_descriptor_is_the_cwl_ossrflow_cwl_generates(trs_url: str, tmp_path: Path) -> None:
    expected = generated_wc(tmp_path, make_registry(tmp_path / "again"))
    base = f"{trs_url}{PREFIX}/tools/wc-lines/versions/1.0.0"
    wrapped = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/1.0.0/CWL/descriptor")
    assert wrapped.json() == {
        "content": expected,
        "checksum": [{"checksum": sha256(expected.encode()), "type": "sha-256"}],
        "url": f"{base}/PLAIN_CWL/descriptor/wc-lines.cwl",
    }
    plain = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/1.0.0/PLAIN_CWL/descriptor")
    assert (plain.headers["content-type"], plain.text) == ("text/plain; charset=utf-8", expected)
    by_path = get(
        trs_url, "/api/ga4gh/v2/tools/wc-lines/versions/latest/plain-CWL/descriptor/wc-lines.cwl"
    )
    assert by_path.text == expected
    asked = get(
        trs_url,
        f"{PREFIX}/tools/wc-lines/versions/1.0.0/CWL/descriptor",
        headers={"Accept": "text/plain"},
    )
    assert asked.text == expected
    again = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/1.0.0/CWL/descriptor")
    assert again.json() == wrapped.json()


def test_files_list_every_file_with_its_checksum_and_zip_them(trs_url: str) -> None:
    path = f"{PREFIX}/tools/wc-lines/versions/1.0.0/CWL/files"
    listed = get(trs_url, path).json()
    assert [(f["path"], f["file_type"]) for f in listed] == [
        ("wc-lines.cwl", "PRIMARY_DESCRIPTOR"),
        ("Dockerfile", "CONTAINERFILE"),
        ("codemeta.json", "OTHER"),
        ("ossrflow-interface.yml", "OTHER"),
        ("wc-lines-job.yml", "TEST_FILE"),
    ]
    archive = get(trs_url, f"{path}?format=zip")
    assert archive.headers["content-type"] == "application/zip"
    assert archive.headers["content-disposition"] == 'attachment; filename="wc-lines-1.0.0.zip"'
    with zipfile.ZipFile(io.BytesIO(archive.content)) as bundle:
        assert bundle.namelist() == [f["path"] for f in listed]
        for item in listed:
            content = bundle.read(item["path"])
            assert item["checksum"] == {"checksum": sha256(content), "type": "sha-256"}
            served = get(
                trs_url,
                f"{PREFIX}/tools/wc-lines/versions/1.0.0/PLAIN_CWL/descriptor/{item['path']}",
            )
            assert served.content == content
    assert get(trs_url, f"{path}?format=tar").status_code == 400


def test_tests_are_the_example_jobs_the_entry_ships(trs_url: str) -> None:
    answer = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/1.0.0/CWL/tests")
    assert answer.json() == [
        {
            "content": WC_JOB,
            "checksum": [{"checksum": sha256(WC_JOB.encode()), "type": "sha-256"}],
            "url": f"{trs_url}{PREFIX}/tools/wc-lines/versions/1.0.0/PLAIN_CWL/descriptor/"
            "wc-lines-job.yml",
        }
    ]
    fits = get(trs_url, f"{PREFIX}/tools/astropy-fitscheck/versions/8.0.1/CWL/tests")
    assert fits.json() == []


def test_the_containerfile_is_the_dockerfile_containerize_writes(
    trs_url: str, tmp_path: Path
) -> None:
    settings = ossrflow.Settings(registry=f"dir:{DEMO_REGISTRY}", cache_dir=tmp_path)
    entry = ossrflow.get_entry(f"dir:{DEMO_REGISTRY / 'astropy-fitscheck'}", settings)
    expected = ossrflow.render_dockerfile(ossrflow.plan_recipe(entry))
    answer = get(trs_url, f"{PREFIX}/tools/astropy-fitscheck/versions/latest/containerfile")
    assert answer.json() == [
        {
            "content": expected,
            "checksum": [{"checksum": sha256(expected.encode()), "type": "sha-256"}],
            "url": f"{trs_url}{PREFIX}/tools/astropy-fitscheck/versions/8.0.1/PLAIN_CWL/"
            "descriptor/Dockerfile",
        }
    ]
    assert expected.startswith("# Written by `ossrflow containerize` for astropy 8.0.1")


def test_no_interface_no_descriptor_and_other_languages_are_404(trs_url: str) -> None:
    bare = get(trs_url, f"{PREFIX}/tools/no-interface/versions/latest/CWL/descriptor")
    assert bare.status_code == 404
    assert bare.json()["message"].endswith(
        "version 1.0.0 ships no interface: there is no CWL descriptor (fix: publish an "
        "ossrflow-interface.yml with the entry (`ossrflow publish`))"
    )
    wdl = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/1.0.0/WDL/descriptor")
    assert wdl.json() == {
        "code": 404,
        "message": "type: no WDL descriptor: this registry serves CWL only "
        "(fix: ask for CWL or PLAIN_CWL (plain-CWL))",
    }
    odd = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/1.0.0/XYZ/files")
    assert odd.json()["message"].startswith("type: 'XYZ' is not a TRS descriptor type")
    missing = get(trs_url, f"{PREFIX}/tools/wc-lines/versions/1.0.0/CWL/descriptor/other.cwl")
    assert missing.status_code == 404


@pytest.mark.parametrize("prefix", ["/ga4gh/trs/v2", "/api/ga4gh/trs/v2", "/api/ga4gh/v2"])
def test_every_prefix_answers_head_as_cwltool_probes(trs_url: str, prefix: str) -> None:
    path = f"{prefix}/tools/wc-lines/versions/1.0.0/CWL/files"
    head = httpx.head(trs_url + path, timeout=60)
    assert (head.status_code, head.content) == (200, b"")
    assert get(trs_url, path).json()[0]["path"] == "wc-lines.cwl"
    assert httpx.head(f"{trs_url}{prefix}/tools/nope", timeout=60).status_code == 404


def test_a_token_is_optional_but_must_be_valid_when_sent(trs_url: str) -> None:
    bad = get(trs_url, f"{PREFIX}/tools", headers={"Authorization": "Bearer nonsense"})
    assert (bad.status_code, bad.json()["code"]) == (401, 401)


def test_entries_whose_name_cannot_be_an_id_are_left_out(tmp_path: Path) -> None:
    from ossrflow.serve.trs_catalog import Catalog

    registry = make_registry(tmp_path / "registry")
    shutil.copytree(registry / "wc-lines", registry / "wc lines")
    catalog = Catalog(ossrflow.Settings(registry=f"dir:{registry}", cache_dir=tmp_path / "c"))
    assert [t.id for t in catalog.tools()] == ["astropy-fitscheck", "no-interface", "wc-lines"]
    assert catalog.left_out() == (
        "wc lines: no TRS id can be made of it (use A-Z a-z 0-9 . _ ~ -)",
    )


def test_the_listing_is_kept_for_ttl_seconds(tmp_path: Path) -> None:
    from ossrflow.serve.trs_catalog import Catalog

    registry = make_registry(tmp_path / "registry")
    now = [0.0]
    catalog = Catalog(
        ossrflow.Settings(registry=f"dir:{registry}", cache_dir=tmp_path / "c"),
        ttl=60,
        clock=lambda: now[0],
    )
    assert len(catalog.tools()) == 3
    shutil.rmtree(registry / "no-interface")
    now[0] = 59.0
    assert len(catalog.tools()) == 3
    now[0] = 60.0
    assert [t.id for t in catalog.tools()] == ["astropy-fitscheck", "wc-lines"]


def test_an_interface_that_cannot_become_a_tool_has_no_descriptor(tmp_path: Path) -> None:
    from ossrflow.serve.trs_catalog import Catalog

    registry = make_registry(tmp_path / "registry")
    broken = registry / "broken"
    broken.mkdir()
    (broken / "codemeta.json").write_text(json.dumps(WC_CODEMETA))
    (broken / "ossrflow-interface.yml").write_text(
        "baseCommand: [wc]\ninputs:\n  x: {type: Fiel}\n"
    )
    settings = ossrflow.Settings(registry=f"dir:{registry}", cache_dir=tmp_path / "c")
    catalog = Catalog(settings, ttl=0)
    with pytest.raises(ossrflow.NotFound) as info:
        catalog.bundle(catalog.tool("broken").version("latest"))
    assert str(info.value).startswith(
        f"{broken.absolute().as_uri()}: version 1.0.0 has no CWL descriptor: "
    )
    (broken / "ossrflow-interface.yml").write_text(WC_INTERFACE)  # fixed: new checksums
    bundle = catalog.bundle(catalog.tool("broken").version("latest"))
    assert bundle.descriptor.path == "wc-lines.cwl"

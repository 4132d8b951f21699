"""`ossrflow search` and `ossrflow show`: whole outputs, exact error lines and exit codes.

Commands run through `main()` (the error boundary) inside CliRunner's isolation, so stdout,
stderr and the exit code are exactly what a user sees.
"""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from ossrflow.cli import main
from ossrflow.registry.refs import ACCEPTED_FORMS
from tests.conftest import FIXTURES
from tests.support.zenodo import ZenodoApp


@dataclass
class Run:
    code: int | str | None
    stdout: str
    stderr: str


def run(*args: str, env: Mapping[str, str | None] | None = None) -> Run:
    runner = CliRunner()
    code: int | str | None = None
    with runner.isolation(env=env) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
    return Run(code, out.getvalue().decode(), err.getvalue().decode())


def stored(cache: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    return cache / "store" / "sha256" / digest[:2] / digest


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"  # OSSRFLOW_CACHE_DIR, set by conftest


# --- search -------------------------------------------------------------------------------


def test_search_table_over_several_pages(zenodo_server: ZenodoApp):
    zenodo_server.max_page_size = 4
    result = run("search", "--registry", zenodo_server.api)
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        "ID       VERSION  DOI                     TITLE\n"
        "4687123  0.5.0    10.5281/zenodo.4687123  agnpy\n"
        "100      1.0.0    10.5281/zenodo.100      km3io\n"
        "110      0.11.3   10.5281/zenodo.110      lstmcpipe\n"
        "120      0.6.5    10.5281/zenodo.120      ctaplot\n"
        "130      1.3.0    10.5281/zenodo.130      codemeta2zenodo\n"
        "140      v2.0     10.5281/zenodo.140      Gammapy\n"
        "310      1.0      10.5281/zenodo.310      data without codemeta\n"
        "320      1.0      10.5281/zenodo.320      tampered tool\n"
        "340      1.3.0    10.5281/zenodo.340      zipped tool\n"
    )
    assert (
        len([s for s in zenodo_server.server.requests if s.path.startswith("/api/records?")]) == 3
    )


def test_search_json_with_keyword_and_all_versions(zenodo_server: ZenodoApp):
    result = run("search", "-k", "CTA", "--all-versions", "--json", "--registry", zenodo_server.api)
    assert (result.code, result.stderr) == (0, "")
    items = json.loads(result.stdout)
    assert [(i["id"], i["doi"], i["title"], i["version"]) for i in items] == [
        ("4055176", "10.5281/zenodo.4055176", "agnpy", "0.4.0"),
        ("4687123", "10.5281/zenodo.4687123", "agnpy", "0.5.0"),
        ("110", "10.5281/zenodo.110", "lstmcpipe", "0.11.3"),
    ]
    assert items[1]["files"][1] == {
        "key": "cosimoNigro/agnpy-v0.0.10.zip",
        "size": len(zenodo_server.records["4687123"].files[1].data),
        "checksum": zenodo_server.records["4687123"].files[1].checksum,
        "url": f"{zenodo_server.api}/files/bucket-4687123/cosimoNigro/agnpy-v0.0.10.zip",
    }


def test_search_without_hits(zenodo_server: ZenodoApp):
    result = run("search", "no-such-software", "--registry", zenodo_server.api)
    assert (result.code, result.stdout, result.stderr) == (0, "", "no records found\n")
    assert run("search", "nothing", "--json", "--registry", zenodo_server.api).stdout == "[]\n"


def test_search_leaves_out_an_unsafe_record_with_a_warning(zenodo_server: ZenodoApp):
    zenodo_server.records["330"].community = "escape2020"
    result = run("search", "evil", "--registry", zenodo_server.api)
    assert (result.code, result.stdout) == (0, "")
    assert result.stderr == (
        f"warning: left out: {zenodo_server.api}/records/330:files[0].key: file key '../evil' is unsafe: "
        "climbs out of its folder with '..' (fix: the registry must publish plain file names; "
        "this record is refused)\nno records found\n"
    )


def test_search_in_another_community_from_the_environment(zenodo_server: ZenodoApp):
    env = {"OSSRFLOW_REGISTRY": zenodo_server.api, "OSSRFLOW_COMMUNITY": "plasma"}
    result = run("search", "--json", env=env)
    assert [i["title"] for i in json.loads(result.stdout)] == ["PlasmaPy"]


def test_search_offline_is_refused(zenodo_server: ZenodoApp):
    result = run("search", "x", "--offline", "--registry", zenodo_server.api)
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: {zenodo_server.api}: search needs the registry, and --offline is set "
        "(fix: run without --offline; offline, give a record id or DOI that was used before)\n"
    )


def test_search_a_folder_registry(tmp_path: Path):
    entry = tmp_path / "reg" / "km3io"
    entry.mkdir(parents=True)
    (entry / "codemeta.json").write_bytes(
        (FIXTURES / "codemeta" / "KM3NeT__km3io.json").read_bytes()
    )
    result = run("search", "--registry", f"dir:{tmp_path / 'reg'}")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == "ID     VERSION  DOI  TITLE\nkm3io  1.0.0    -    km3io\n"


# --- show ---------------------------------------------------------------------------------


def test_show_summary(zenodo_server: ZenodoApp, cache: Path):
    result = run("show", "100", "--registry", zenodo_server.api)
    files = zenodo_server.records["100"].files
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        "km3io\n"
        f"  record       100 {zenodo_server.url}/records/100\n"
        "  version      1.0.0\n"
        "  DOI          10.5281/zenodo.100\n"
        "  concept DOI  10.5281/zenodo.99\n"
        "  published    2024-05-01\n"
        "  authors      Tamas Gal\n"
        "  license      MIT\n"
        f"  codemeta     {stored(cache, files[0].data)}\n"
        f"  registry     {zenodo_server.api}\n"
        "files:\n"
        "KEY                     SIZE  CHECKSUM\n"
        f"codemeta.json           {len(files[0].data)}  {files[0].checksum}\n"
        f"km3io-info.cwl          {len(files[1].data)}   {files[1].checksum}\n"
        f"ossrflow-interface.yml  {len(files[2].data)}    {files[2].checksum}\n"
    )


def test_show_json_of_a_concept_doi_url(zenodo_server: ZenodoApp):
    result = run(
        "show", "https://doi.org/10.5281/zenodo.4055175", "--json", "--registry", zenodo_server.api
    )
    assert (result.code, result.stderr) == (0, "")
    shown = json.loads(result.stdout)
    assert (shown["id"], shown["doi"], shown["concept_doi"], shown["version"]) == (
        "4687123",
        "10.5281/zenodo.4687123",
        "10.5281/zenodo.4055175",
        "0.5.0",
    )
    assert shown["codemeta"] == json.loads(
        (FIXTURES / "codemeta" / "cosimoNigro__agnpy.json").read_text()
    )
    assert [(f["key"], f["size"]) for f in shown["files"]] == [
        ("codemeta.json", 5149),
        ("cosimoNigro/agnpy-v0.0.10.zip", len(zenodo_server.records["4687123"].files[1].data)),
    ]
    assert sorted(shown) == sorted(
        [
            "codemeta",
            "concept_doi",
            "concept_id",
            "doi",
            "files",
            "id",
            "publication_date",
            "registry",
            "title",
            "url",
            "version",
        ]
    )


def test_show_record_url(zenodo_server: ZenodoApp):
    result = run(
        "show", f"{zenodo_server.url}/records/4055176", "--json", "--registry", zenodo_server.api
    )
    assert json.loads(result.stdout)["version"] == "0.4.0"


def test_show_without_codemeta_warns(zenodo_server: ZenodoApp):
    result = run("show", "310", "--json", "--registry", zenodo_server.api)
    assert result.code == 0
    assert result.stderr == "warning: record 310 has no codemeta.json\n"
    assert json.loads(result.stdout)["codemeta"] is None


@pytest.mark.parametrize(
    ("ref", "line"),
    [
        (
            "300",
            "{api}/records/300: record 300 was deleted (HTTP 410 Gone) (fix: pick another version or record)",
        ),
        ("999", "{api}/records/999: record 999 not found (HTTP 404) (fix: check the identifier)"),
        (
            "320",
            "{api}/records/320/files/codemeta.json/content: checksum mismatch: the source publishes "
            "md5:00000000000000000000000000000000, the bytes have md5:bcb0ec3cc5a1fed837e4594e1026e2f6 "
            "(fix: the file changed or was corrupted on the way; nothing was kept)",
        ),
        (
            "330",
            "{api}/records/330:files[0].key: file key '../evil' is unsafe: climbs out of its folder with "
            "'..' (fix: the registry must publish plain file names; this record is refused)",
        ),
        (
            "160",
            "{api}/records/160/files/codemeta.json/content:13:164: invalid JSON: Expecting ',' delimiter "
            "(fix: the published codemeta.json is broken; ask the record's authors to fix it)",
        ),
        ("gamma ray", f"REF: cannot read 'gamma ray' as a reference (fix: give {ACCEPTED_FORMS})"),
        (
            "https://zenodo.org/records/100",
            "REF: https://zenodo.org/records/100 is on zenodo.org, but the registry is {api} "
            "(fix: pass --registry https://zenodo.org/api, or give the record id alone)",
        ),
    ],
)
def test_show_bad_input_is_one_line_exit_2(
    zenodo_server: ZenodoApp, cache: Path, ref: str, line: str
):
    result = run("show", ref, "--registry", zenodo_server.api)
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == f"error: {line.format(api=zenodo_server.api)}\n"
    left = [p.name for p in cache.rglob("*") if p.is_file()] if cache.exists() else []
    assert not [name for name in left if name.endswith((".part", ".download"))]
    assert not (cache.exists() and list(cache.rglob("330.json")))


def test_show_unreachable_registry_exit_3():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = run(
        "show", "100", "--registry", f"http://127.0.0.1:{port}/api", env={"OSSRFLOW_RETRIES": "0"}
    )
    assert (result.code, result.stdout) == (3, "")
    assert result.stderr == (
        f"error: http://127.0.0.1:{port}/api/records/100: cannot reach the server (ConnectError) "
        "(fix: check the URL and your network, or retry later (or use --offline))\n"
    )


def test_show_server_failing_exit_3(zenodo_server: ZenodoApp):
    zenodo_server.throttle("/api/records/100", times=5, retry_after="0")
    result = run("show", "100", "--registry", zenodo_server.api, env={"OSSRFLOW_RETRIES": "1"})
    assert result.code == 3
    assert result.stderr == (
        f"error: {zenodo_server.api}/records/100: the server failed (HTTP 429) after retries "
        "(fix: check the URL and your network, or retry later (or use --offline))\n"
    )


def test_show_429_then_200_succeeds(zenodo_server: ZenodoApp):
    zenodo_server.throttle("/api/records/100", times=1, retry_after="0")
    result = run("show", "100", "--json", "--registry", zenodo_server.api)
    assert result.code == 0 and json.loads(result.stdout)["id"] == "100"


def test_show_bad_registry_setting(tmp_path: Path):
    result = run("show", "100", "--registry", "zenodo.org")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: --registry: registry 'zenodo.org' is neither an http(s) URL nor dir:PATH "
        "(fix: give e.g. https://zenodo.org/api or dir:workflows/registry)\n"
    )


def test_token_travels_only_in_the_authorization_header(zenodo_server: ZenodoApp):
    token = "zen-SECRET-token-123"
    result = run(
        "show",
        "10.5281/zenodo.4055175",
        "--registry",
        zenodo_server.api,
        env={"OSSRFLOW_TOKEN": token},
    )
    assert result.code == 0
    assert token not in result.stdout + result.stderr
    requests = zenodo_server.server.requests
    assert len(requests) == 4  # 404, versions/latest, record, codemeta.json
    for seen in requests:
        assert seen.headers["authorization"] == f"Bearer {token}"
        assert token not in seen.path


def test_offline_show_after_online_show(zenodo_server: ZenodoApp):
    online = run("show", "4055175", "--json", "--registry", zenodo_server.api)
    before = len(zenodo_server.server.requests)
    offline = run("show", "4055175", "--json", "--offline", "--registry", zenodo_server.api)
    assert (offline.code, offline.stdout) == (0, online.stdout)
    assert len(zenodo_server.server.requests) == before
    missing = run("show", "110", "--offline", "--registry", zenodo_server.api)
    assert missing.code == 2
    assert (
        missing.stderr.startswith("error: ")
        and "record 110 is not in the offline cache" in missing.stderr
    )


def test_show_local_entry(tmp_path: Path):
    entry = tmp_path / "reg" / "agnpy"
    entry.mkdir(parents=True)
    data = (FIXTURES / "codemeta" / "cosimoNigro__agnpy.json").read_bytes()
    (entry / "codemeta.json").write_bytes(data)
    digest = hashlib.md5(data, usedforsecurity=False).hexdigest()
    result = run("show", f"dir:{entry}")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        "agnpy\n"
        f"  record       agnpy {entry.as_uri()}\n"
        "  version      0.5.0\n"
        "  DOI          10.5281/zenodo.4055175\n"
        "  concept DOI  -\n"
        "  published    2021-04-14\n"
        "  authors      Cosimo Nigro\n"
        "  license      BSD-3-Clause\n"
        f"  codemeta     {entry / 'codemeta.json'}\n"
        f"  registry     dir:{tmp_path / 'reg'}\n"
        "files:\n"
        "KEY            SIZE  CHECKSUM\n"
        f"codemeta.json  {len(data)}  md5:{digest}\n"
    )


def test_a_folder_entry_name_asked_of_zenodo_says_the_registry_is_missing(
    zenodo_server: ZenodoApp,
):
    """Issue 14: `gzip-compress` is no Zenodo record: say so at once, no request, no timeout."""
    for args in (("show", "gzip-compress"), ("cwl", "gzip-compress")):
        result = run(*args, "--registry", zenodo_server.api)
        assert (result.code, result.stdout) == (2, "")
        assert result.stderr == (
            f"error: REF: 'gzip-compress' is neither a record id of {zenodo_server.api} (a number)"
            " nor a DOI; a name like this is an entry of a folder registry, and none is given "
            "(fix: name the folder registry that holds it: --registry dir:PATH, or set "
            "OSSRFLOW_REGISTRY=dir:PATH)\n"
        )
    assert zenodo_server.server.requests == []

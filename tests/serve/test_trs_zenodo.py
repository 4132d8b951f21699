"""TRS over a Zenodo-shaped API: concepts are tools, record versions are versions."""

from __future__ import annotations

from pathlib import Path

import httpx

import ossrflow
from tests.serve.test_trs import PREFIX, make_app, running, serve_config, sha256
from tests.support.zenodo import ZenodoApp


def settings_for(zenodo: ZenodoApp, tmp_path: Path) -> ossrflow.Settings:
    return ossrflow.Settings(registry=zenodo.api, community="escape2020", cache_dir=tmp_path / "c")


def test_concepts_are_tools_and_records_their_versions(
    zenodo_server: ZenodoApp, tmp_path: Path
) -> None:
    settings = settings_for(zenodo_server, tmp_path)
    with running(make_app(serve_config(settings, tmp_path))) as url:
        tools = httpx.get(f"{url}{PREFIX}/tools", timeout=60).json()
        assert [t["id"] for t in tools] == [
            "zenodo.109", "zenodo.119", "zenodo.129", "zenodo.139", "zenodo.309",
            "zenodo.319", "zenodo.339", "zenodo.4055175", "zenodo.99",
        ]  # fmt: skip
        agnpy = httpx.get(f"{url}{PREFIX}/tools/zenodo.4055175", timeout=60).json()
        assert (agnpy["name"], agnpy["organization"]) == ("agnpy", "escape2020")
        assert agnpy["aliases"] == [
            "10.5281/zenodo.4055175",
            "10.5281/zenodo.4687123",
            "10.5281/zenodo.4055176",
        ]
        assert [
            (v["id"], v["name"], v["is_production"], v["descriptor_type"])
            for v in agnpy["versions"]
        ] == [
            ("4687123", "0.5.0", True, []),
            ("4055176", "0.4.0", True, []),
        ]
        by_alias = httpx.get(f"{url}{PREFIX}/tools?alias=10.5281/zenodo.4055176", timeout=60)
        assert [t["id"] for t in by_alias.json()] == ["zenodo.4055175"]
        older = httpx.get(f"{url}{PREFIX}/tools/zenodo.4055175/versions/0.4.0", timeout=60)
        assert older.json()["id"] == "4055176"
        latest = httpx.get(f"{url}{PREFIX}/tools/zenodo.4055175/versions/latest", timeout=60)
        assert latest.json()["url"] == f"{url}{PREFIX}/tools/zenodo.4055175/versions/4687123"


def test_a_record_that_ships_cwl_serves_the_generated_tool(
    zenodo_server: ZenodoApp, tmp_path: Path
) -> None:
    settings = settings_for(zenodo_server, tmp_path)
    entry = ossrflow.get_entry("100", settings)
    expected = ossrflow.render_tool(ossrflow.generate_entry_tool(entry))
    with running(make_app(serve_config(settings, tmp_path))) as url:
        files = httpx.get(f"{url}{PREFIX}/tools/zenodo.99/versions/1.0.0/CWL/files", timeout=60)
        assert [(f["path"], f["file_type"]) for f in files.json()] == [
            ("km3io-info.cwl", "PRIMARY_DESCRIPTOR"),
            ("Dockerfile", "CONTAINERFILE"),
            ("codemeta.json", "OTHER"),
            ("ossrflow-interface.yml", "OTHER"),
        ]
        assert files.json()[0]["checksum"]["checksum"] == sha256(expected.encode())
        plain = httpx.get(
            f"{url}/api/ga4gh/v2/tools/zenodo.99/versions/100/plain-CWL/descriptor/km3io-info.cwl",
            timeout=60,
        )
        assert plain.text == expected

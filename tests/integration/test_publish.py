"""An interface published back to the OSSR, end to end: the new version carries it and its CWL,
keeps every other file, and the finder serves it as a runnable tool."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
import pytest

import ossrflow
from tests.serve.test_trs import PREFIX, make_app, running, serve_config
from tests.support.cli import run
from tests.support.zenodo_deposit import OWNER_TOKEN, deposit_server

INTERFACE = """\
baseCommand: [wc, -l]
inputs:
  table:
    type: File
    label: a table to count the lines of
    inputBinding: {position: 1}
stdout: lines.txt
outputs:
  lines: {type: stdout}
"""


def test_publish_then_find_and_fetch_the_tool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    interface = tmp_path / "agnpy.yml"
    interface.write_text(INTERFACE)
    monkeypatch.setenv("OSSRFLOW_ZENODO_TOKEN", OWNER_TOKEN)
    with deposit_server() as zenodo:
        api = zenodo.records.api
        before = {f.key: f.data for f in zenodo.records.records["4687123"].files}
        result = run(
            "publish", "10.5281/zenodo.4055175", "--interface", str(interface), "--registry", api
        )
        assert result.code == 0, result.stderr
        new = {f.key: f.data for f in zenodo.records.records["900001"].files}
        assert sorted(new) == sorted([*before, "agnpy.cwl", "ossrflow-interface.yml"])
        assert all(new[key] == data for key, data in before.items())
        assert new["ossrflow-interface.yml"] == INTERFACE.encode()

        settings = ossrflow.Settings(registry=api, community="escape2020", cache_dir=tmp_path / "c")
        entry = ossrflow.get_entry("10.5281/zenodo.4055175", settings)
        assert entry.record.id == "900001"
        assert entry.cwl_keys() == ("agnpy.cwl",)
        regenerated = ossrflow.render_tool(ossrflow.generate_entry_tool(entry))
        assert regenerated == new["agnpy.cwl"].decode()

        with running(make_app(serve_config(settings, tmp_path))) as url:
            tool = httpx.get(f"{url}{PREFIX}/tools/zenodo.4055175", timeout=60).json()
            assert [(v["id"], v["descriptor_type"]) for v in tool["versions"]] == [
                ("900001", ["CWL"]),
                ("4687123", []),
                ("4055176", []),
            ]
            files = httpx.get(
                f"{url}{PREFIX}/tools/zenodo.4055175/versions/latest/CWL/files", timeout=60
            )
            primary = files.json()[0]
            assert (primary["path"], primary["file_type"]) == ("agnpy.cwl", "PRIMARY_DESCRIPTOR")
            assert primary["checksum"]["checksum"] == hashlib.sha256(new["agnpy.cwl"]).hexdigest()

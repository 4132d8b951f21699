"""Clients nobody here wrote, against a running finder: cwltool runs a tool from it by TRS id,
and trs-cli (in its own venv: it needs pydantic<2) lists tools and fetches descriptors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from filelock import FileLock

import ossrflow
from tests.serve.test_trs import make_app, make_registry, running, serve_config, sha256
from tests.support.services import unavailable

CWLTOOL = Path(sys.executable).parent / "cwltool"
TRS_CLI = "trs-cli==0.7.0"
PROBE = r"""
import json, sys
from trs_cli import TRSClient

client = TRSClient(uri="http://127.0.0.1", port=int(sys.argv[1]))
out = {
    "tools": [t.id for t in client.get_tools()],
    "cwl_tools": [t.id for t in client.get_tools(descriptorType="CWL", limit=1)],
    "tool": client.get_tool(id="wc-lines").versions[0].id,
    "versions": [v.name for v in client.get_versions(id="wc-lines")],
    "version": client.get_version(id="wc-lines", version_id="latest").id,
    "classes": [c.id for c in client.get_tool_classes()],
    "service": client.get_service_info().type.artifact,
}
wrapped = client.get_descriptor(type="CWL", id="wc-lines", version_id="1.0.0")
out["descriptor"] = {"content": wrapped.content, "checksum": [c.dict() for c in wrapped.checksum]}
out["plain"] = client.get_descriptor(
    type="PLAIN_CWL", id="wc-lines", version_id="1.0.0", accept="text/plain"
)
out["tests"] = [t.content for t in client.get_tests(type="CWL", id="wc-lines", version_id="1.0.0")]
out["containerfiles"] = len(client.get_containerfiles(id="astropy-fitscheck", version_id="8.0.1"))
out["missing"] = client.get_tool(id="nope").code
TRSClient.config(no_validate=True)  # its ToolFile model refuses TRS 2.0.1's checksum
out["files"] = client.get_files(type="CWL", id="wc-lines", version_id="1.0.0").json()
print(json.dumps(out))
"""


def trs_cli_python() -> Path:
    """A venv with trs-cli and pydantic<2 under the test services' state dir, made once."""
    state = Path(os.environ.get("OSSRFLOW_CLUSTER_DIR") or "/tmp/ossrflow-cluster")
    venv = state / "trs-cli-venv"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import trs_cli, pydantic; assert pydantic.VERSION < '2'"]
    state.mkdir(parents=True, exist_ok=True)
    with FileLock(str(state / "trs-cli-venv.lock")):
        if (
            python.exists()
            and subprocess.run(check, capture_output=True, check=False).returncode == 0
        ):
            return python
        made = subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(venv)],
            capture_output=True,
            text=True,
            check=False,
        )
        if made.returncode != 0:
            unavailable(f"cannot make a venv for trs-cli: {made.stderr.strip()[-200:]}")
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", TRS_CLI, "pydantic<2"],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if (
            pip.returncode != 0
            or subprocess.run(check, capture_output=True, check=False).returncode
        ):
            lines = pip.stderr.strip().splitlines() or ["no message"]
            unavailable(f"pip cannot install {TRS_CLI} with pydantic<2: {lines[-1]}")
    return python


@pytest.fixture(scope="module")
def finder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("clients")
    registry = make_registry(tmp / "registry")
    settings = ossrflow.Settings(registry=f"dir:{registry}", cache_dir=tmp / "cache")
    with running(make_app(serve_config(settings, tmp))) as url:
        yield url, registry


@pytest.mark.parametrize("ref", ["wc-lines:1.0.0", "wc-lines"])
def test_cwltool_runs_a_tool_from_the_finder(
    finder: tuple[str, Path], tmp_path: Path, ref: str
) -> None:
    url, _ = finder
    (tmp_path / "poem.txt").write_text("one\ntwo\nthree\n")
    (tmp_path / "job.yml").write_text("text:\n  class: File\n  path: poem.txt\n")
    done = subprocess.run(
        [
            str(CWLTOOL),
            "--quiet",
            "--outdir",
            "out",
            "--add-ga4gh-tool-registry",
            url,
            ref,
            "job.yml",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    outputs = json.loads(done.stdout)
    assert outputs["lines"]["basename"] == "lines.txt"
    assert (tmp_path / "out" / "lines.txt").read_text().split()[0] == "3"


def test_cwltool_names_an_unknown_tool(finder: tuple[str, Path], tmp_path: Path) -> None:
    url, _ = finder
    done = subprocess.run(
        [str(CWLTOOL), "--add-ga4gh-tool-registry", url, "nope:1.0", "--validate"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode != 0
    assert "nope:1.0" in done.stderr


def test_trs_cli_lists_tools_and_fetches_descriptors(finder: tuple[str, Path]) -> None:
    python = trs_cli_python()
    url, registry = finder
    port = url.rpartition(":")[2]
    done = subprocess.run(
        [str(python), "-c", PROBE, port], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    descriptor = seen["descriptor"]["content"]
    assert seen["plain"] == descriptor
    assert descriptor.startswith("cwlVersion: v1.2\nclass: CommandLineTool\nid: wc-lines\n")
    assert seen["descriptor"]["checksum"] == [
        {"checksum": sha256(descriptor.encode()), "type": "sha-256"}
    ]
    assert {k: v for k, v in seen.items() if k not in ("descriptor", "plain", "files")} == {
        "tools": ["astropy-fitscheck", "no-interface", "wc-lines"],
        "cwl_tools": ["astropy-fitscheck"],
        "tool": "1.0.0",
        "versions": ["1.0.0"],
        "version": "1.0.0",
        "classes": ["CommandLineTool"],
        "service": "trs",
        "tests": [(registry / "wc-lines" / "wc-lines-job.yml").read_text()],
        "containerfiles": 1,
        "missing": 404,
    }
    assert [f["path"] for f in seen["files"]] == [
        "wc-lines.cwl",
        "Dockerfile",
        "codemeta.json",
        "ossrflow-interface.yml",
        "wc-lines-job.yml",
    ]

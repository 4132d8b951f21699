"""A workflow definition fired at the service (`workflow_type=OSSRFLOW`, version 1): the demo's
`workflows/demo/analysis.yml` with its cart and the four exposures attached, composed with the
service's `--registry dir:workflows/registry`, every step in the astropy image that
`ossrflow containerize` built (recorded in the service's folder, as `make demo` does), and the
observing log downloadable."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

import ossrflow
from tests.integration.test_demo import OBSLOG
from tests.support.services import unavailable
from tests.support.wes import REPO, WesService

DEMO = REPO / "workflows" / "demo"
REGISTRY = REPO / "workflows" / "registry"
BASE = "ossrflow/debian-python:local"


@pytest.fixture(scope="module")
def workdir(docker_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The service's folder, with the image record of the demo's astropy entry (the base image
    is built once, about a minute; then containerize takes seconds with the layers cached)."""
    folder = tmp_path_factory.mktemp("definition-workdir")
    present = subprocess.run(["docker", "image", "inspect", BASE], capture_output=True, check=False)
    if present.returncode != 0:
        built = subprocess.run(
            ["bash", str(REPO / "containers/base/build.sh"), "--engine", "docker", "debian-python"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if built.returncode != 0:
            unavailable(f"cannot build {BASE}: {built.stderr.strip()[-300:]}")
    done = subprocess.run(
        [sys.executable, "-m", "ossrflow", "containerize", f"dir:{REGISTRY / 'astropy-fitscheck'}",
         "--container", "docker", "--base", BASE],
        cwd=folder, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    if done.returncode != 0:  # the wheels come from the package registry through pip
        unavailable(f"ossrflow containerize failed: {done.stderr.strip()[-300:]}")
    return folder


def demo_attachments() -> dict[str, bytes]:
    files = {name: (DEMO / name).read_bytes() for name in ("analysis.yml", "cart.json")}
    for path in sorted((DEMO / "data").glob("*.fits")):
        files[f"data/{path.name}"] = path.read_bytes()
    return files


def test_the_demo_definition_runs_with_its_cart_in_the_containerized_image(workdir, tmp_path):
    image = json.loads((workdir / "containers" / "astropy" / "image.json").read_text())
    settings = ossrflow.Settings(registry=f"dir:{REGISTRY}", cache_dir=tmp_path / "cache")
    with WesService(tmp_path / "service", workdir=workdir, settings=settings) as wes:
        run_id = wes.submit(
            files=demo_attachments(),
            workflow_type="OSSRFLOW",
            workflow_type_version="1",
            workflow_url="analysis.yml",
            tags={"night": "m67"},
        )
        log = wes.wait(run_id, timeout=600)
        assert log["state"] == "COMPLETE", log["run_log"]["system_logs"]
        assert log["request"]["workflow_type"] == "OSSRFLOW"
        assert log["run_log"]["cmd"] == ["ossrflow", "run", "analysis.yml", "--profile", "local"]

        tasks = wes.get(f"/runs/{run_id}/tasks").json()["task_logs"]
        assert sorted((t["id"], t["state"]) for t in tasks) == [
            ("checksum.0", "COMPLETE"), ("checksum.1", "COMPLETE"), ("checksum.2", "COMPLETE"),
            ("checksum.3", "COMPLETE"), ("show", "COMPLETE"), ("tabulate", "COMPLETE"),
        ]  # fmt: skip

        obslog = httpx.get(log["outputs"]["obslog"]["location"], headers=wes.headers("alice"))
        assert obslog.text == OBSLOG  # what `make demo` writes
        report = httpx.get(log["outputs"]["report"]["location"], headers=wes.headers("alice"))
        assert "M67" in report.text
        listed = [item["path"] for item in wes.get(f"/runs/{run_id}/outputs").json()["outputs"]]
        assert {Path(p).name for p in listed} >= {log["outputs"]["obslog"]["basename"],
                                                  log["outputs"]["report"]["basename"]}  # fmt: skip

        folder = wes.config.runs_dir / run_id / "run"
        tools = sorted((folder / "workflow" / "tools").glob("*.cwl"))
        assert [t.stem for t in tools] == ["fitscheck", "fitsheader", "showtable"]
        for tool in tools:  # every step pinned to the image containerize built
            assert image["digest"] in tool.read_text(), tool
        stderr = wes.get(f"/runs/{run_id}/logs/stderr").text
        assert "[ossrflow] running on local (local), containers: docker" in stderr
        crate = wes.get(f"/runs/{run_id}/crate")
        assert crate.status_code == 200 and crate.content[:2] == b"PK"

"""What the service's tests share: a container engine with the busybox image the test tools run in.

Service runs put every step in a container, so these tests need Docker (locally) and, for the
Slurm facility, Podman, each with ``ossrflow/busybox:local`` (built by containers/base/build.sh
when missing). Where an engine cannot run, the tests that need it skip (fail with CI=true).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.support.services import REPO, start_service, unavailable
from tests.support.wes import BUSYBOX


def ensure_engine(name: str) -> None:
    """``name`` (docker or podman) runs here and has the busybox image."""
    script = REPO / "scripts" / "containers" / ("dockerd.sh" if name == "docker" else "podman.sh")
    if shutil.which(name) is None:
        unavailable(f"{name} is not installed (scripts/containers/)")
    start_service(script, f"{name} engine", 600)
    found = subprocess.run(
        [name, "image", "inspect", BUSYBOX], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        built = subprocess.run(
            ["bash", str(REPO / "containers/base/build.sh"), "--engine", name, "busybox"],
            capture_output=True,
            text=True,
            check=False,
        )
        if built.returncode != 0:
            unavailable(f"cannot build {BUSYBOX} for {name}: {built.stderr.strip()[-300:]}")


@pytest.fixture(scope="session")
def docker_engine() -> str:
    ensure_engine("docker")
    return "docker"


@pytest.fixture(scope="session")
def podman_engine() -> str:
    ensure_engine("podman")
    return "podman"

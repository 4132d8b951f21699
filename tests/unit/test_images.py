"""DockerRequirement resolution: what is refused before any engine is asked to change anything."""

from pathlib import Path

import pytest

from ossrflow.containers import Engine
from ossrflow.errors import InputError, NotFound, Unsupported
from ossrflow.images import resolve_image

APPTAINER = Engine("apptainer", "/usr/local/bin/apptainer")


def fake_engine(folder: Path, name: str, script: str) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def empty_store(tmp_path) -> Engine:
    """An engine whose store holds no image (`image inspect` fails), for the refusals below."""
    return Engine(
        "docker", str(fake_engine(tmp_path, "docker", "echo 'No such image' >&2; exit 1"))
    )


@pytest.mark.parametrize(
    ("requirement", "error", "message"),
    [
        ({"dockerPul": "x"}, InputError, "DockerRequirement has unknown field 'dockerPul'"),
        ({"dockerOutputDirectory": "/out"}, InputError, "DockerRequirement names no image"),
        ({"dockerPull": ""}, InputError, "DockerRequirement.dockerPull must be a non-empty string"),
        (
            {"dockerLoad": "https://example.org/i.tar", "dockerImageId": "i:1"},
            Unsupported,
            "is a URL; ossrflow does not download images",
        ),
        ({"dockerLoad": "missing.tar", "dockerImageId": "i:1"}, NotFound, "missing.tar' does not"),
        ({"dockerPull": "i:1"}, NotFound, "image 'i:1' is not in docker's local store"),
    ],
)
def test_resolve_image_refusals(empty_store, tmp_path, requirement, error, message):
    with pytest.raises(error, match=message):
        resolve_image(empty_store, requirement, base_dir=tmp_path)


def test_apptainer_resolves_through_docker_or_podman(empty_store):
    with pytest.raises(Unsupported, match="images are resolved with docker or podman"):
        resolve_image(APPTAINER, {"dockerPull": "i:1"})

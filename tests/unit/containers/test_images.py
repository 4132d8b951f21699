"""DockerRequirement resolution (refusals before any engine changes anything) and a run's pins."""

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ossrflow.containers.engines import Engine
from ossrflow.containers.images import PinnedImage, resolve_image
from ossrflow.containers.pins import (
    DockerUse,
    StepImage,
    load_pins,
    parse_pins,
    pin_images,
    pinned_requirement,
    render_pins,
    requirement_key,
)
from ossrflow.cwl.load import load_root
from ossrflow.errors import InputError, NotFound, ServiceError, Unsupported
from ossrflow.run.execute import pin_run_images
from ossrflow.run.plan import plan_run

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


# --- a run's images: keys, pins file, resolution once per requirement -------------------------

DIGEST = "sha256:" + "ab" * 32


def test_requirement_key_is_the_content_without_class():
    key = requirement_key({"class": "DockerRequirement", "dockerPull": "a:1", "dockerImageId": "b"})
    assert key == requirement_key({"dockerImageId": "b", "dockerPull": "a:1"})
    assert key != requirement_key({"dockerPull": "a:1"})
    assert len(key) == 16


def test_the_job_gets_only_the_digest_or_the_sif(tmp_path):
    pinned = PinnedImage("a:1", DIGEST, "docker", "present", output_directory="/out")
    assert pinned_requirement(pinned) == {
        "class": "DockerRequirement",
        "dockerImageId": DIGEST,
        "dockerOutputDirectory": "/out",
    }
    sif = replace(pinned, output_directory=None, sif=tmp_path / "x.sif")
    assert pinned_requirement(sif) == {
        "class": "DockerRequirement",
        "dockerImageId": str(tmp_path / "x.sif"),
    }


def test_pins_file_round_trips(tmp_path):
    images = [
        StepImage("k1", PinnedImage("a:1", DIGEST, "podman", "built", "/out"), ("s1", "s2")),
        StepImage(
            "k2", PinnedImage("b:1", DIGEST, "docker", "present", sif=tmp_path / "b.sif"), ()
        ),
    ]
    (tmp_path / "images.json").write_text(render_pins("apptainer", images))
    assert load_pins(tmp_path) == ("apptainer", images)
    assert load_pins(tmp_path / "nowhere") == ("none", [])
    with pytest.raises(InputError) as info:
        parse_pins('{"version": 9}', source="images.json")
    assert str(info.value) == (
        "images.json: not an image list this ossrflow version wrote "
        "(fix: plan the run again (run the same command))"
    )


@pytest.mark.parametrize(
    "text",
    [
        '{"version": 1, "engine": "docker"}',
        '{"version": 1, "engine": "docker", "images": [{"key": "k"}]}',
        '{"version": 1, "engine": "docker", "images": [7]}',
        '{"version": 1, "engine": 7, "images": []}',
        '{"version": 1, "engine": "docker", "images": [{"key": "k", "ref": "a", "digest": "d", '
        '"engine": "docker", "how": "present", "steps": [["s"]]}]}',
    ],
    ids=["no-images", "missing-fields", "not-a-record", "engine-not-text", "steps-not-text"],
)
def test_a_malformed_pins_file_is_one_line(text: str):
    with pytest.raises(InputError) as info:
        parse_pins(text, source="images.json")
    assert str(info.value) == (
        "images.json: not an image list this ossrflow version wrote "
        "(fix: plan the run again (run the same command))"
    )


def test_a_pins_file_nested_too_deep_is_one_line(tmp_path):
    (tmp_path / "images.json").write_text('{"images": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(InputError) as info:
        load_pins(tmp_path)
    assert str(info.value) == (
        f"{tmp_path / 'images.json'}: values are nested more than 128 levels deep (fix: this is "
        "not a document ossrflow reads; check where it came from)"
    )


@pytest.fixture
def counting_docker(tmp_path) -> tuple[Engine, Path]:
    """A docker whose store holds every image (its id: a hash of the name); it logs its calls."""
    calls = tmp_path / "calls"
    script = (
        f'echo "$*" >> {calls}\n'
        'if [ "$1" = info ]; then echo 20.10; exit 0; fi\n'
        'echo "sha256:$(printf %s "$5" | sha256sum | cut -c1-64)"'
    )
    return Engine("docker", str(fake_engine(tmp_path, "docker", script))), calls


def test_pin_images_resolves_each_requirement_once(counting_docker, tmp_path):
    docker, calls = counting_docker
    one, two = (
        DockerUse({"dockerPull": "a:1"}, False, None),
        DockerUse({"dockerPull": "b:2"}, True, None),
    )
    pinned = pin_images({"s1": [one], "s2": [one, two], "s3": [one]}, docker, cache_dir=tmp_path)
    assert [(p.image.ref, p.image.how, p.steps) for p in pinned] == [
        ("a:1", "present", ("s1", "s2", "s3")),
        ("b:2", "present", ("s2",)),
    ]
    assert calls.read_text().splitlines() == [
        "image inspect --format {{.Id}} a:1",
        "image inspect --format {{.Id}} a:1",
        "image inspect --format {{.Id}} b:2",
        "image inspect --format {{.Id}} b:2",
    ]


def test_apptainer_needs_docker_or_podman_to_pin(tmp_path):
    with pytest.raises(ServiceError) as info:
        pin_images(
            {"s": [DockerUse({"dockerPull": "a:1"}, False, None)]}, APPTAINER, cache_dir=tmp_path
        )
    assert str(info.value) == (
        "apptainer: apptainer runs images that docker or podman resolved, and neither can run "
        "here (fix: set up docker or podman on this (submit) host to pin the images)"
    )


# --- which DockerRequirement each step runs with (cwltool's choice), pinned before the run ----

TRUE_TOOL = {"class": "CommandLineTool", "baseCommand": "true", "inputs": [], "outputs": []}


def workflow(tmp_path: Path, document: dict[str, Any]) -> tuple[Any, Any]:
    path = tmp_path / "wf.cwl"
    path.write_text(json.dumps({"cwlVersion": "v1.2", **document}))
    root = load_root(str(path), None)
    return root, plan_run(root)


def step(name: str, run: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": name, "run": run, "in": [], "out": [], **extra}


def test_each_step_is_pinned_to_the_requirement_cwltool_applies(
    counting_docker, tmp_path, monkeypatch
):
    docker, _ = counting_docker
    monkeypatch.setenv("PATH", f"{Path(docker.executable).parent}{os.pathsep}{os.environ['PATH']}")
    own = {**TRUE_TOOL, "requirements": [{"class": "DockerRequirement", "dockerPull": "img/own:1"}]}
    root, plan = workflow(
        tmp_path,
        {
            "class": "Workflow",
            "requirements": [{"class": "DockerRequirement", "dockerPull": "img/wf:1"}],
            "inputs": [],
            "outputs": [],
            "steps": [
                step("inherit", TRUE_TOOL),
                step("own", own),
                step(
                    "stepreq",
                    TRUE_TOOL,
                    requirements=[{"class": "DockerRequirement", "dockerPull": "img/step:1"}],
                ),
            ],
        },
    )
    run_dir = tmp_path / "run"
    pinned = pin_run_images(root, plan, run_dir, engines=["docker"])
    engine, images = load_pins(run_dir)
    assert (pinned.engine, engine) == ("docker", "docker")
    assert sorted((i.image.ref, i.steps) for i in images) == [
        ("img/own:1", ("own",)),
        ("img/step:1", ("stepreq",)),
        ("img/wf:1", ("inherit",)),
    ]


def test_without_an_engine_hinted_images_are_ignored_and_required_ones_refused(tmp_path):
    hinted = {**TRUE_TOOL, "hints": [{"class": "DockerRequirement", "dockerPull": "img/h:1"}]}
    root, plan = workflow(tmp_path, hinted)
    assert pin_run_images(root, plan, tmp_path / "run", engines=["none"]).engine == "none"
    assert load_pins(tmp_path / "run") == ("none", [])

    required = {**TRUE_TOOL, "requirements": hinted["hints"]}
    root, plan = workflow(tmp_path, required)
    with pytest.raises(Unsupported) as info:
        pin_run_images(root, plan, tmp_path / "run", engines=["none"])
    assert str(info.value) == (
        f"{tmp_path / 'wf.cwl'}:requirements.DockerRequirement: the tool requires a container "
        "(DockerRequirement under requirements) and this run uses no container engine (fix: "
        "choose an engine with --container docker|podman|apptainer (set one up with "
        "scripts/containers/), or move the DockerRequirement to hints)"
    )


def test_no_engine_is_probed_when_no_tool_names_an_image(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.fspath(tmp_path))  # no engine (and nothing else) on PATH
    root, plan = workflow(tmp_path, TRUE_TOOL)
    assert pin_run_images(root, plan, tmp_path / "run", engines=["docker"]).engine == "none"


def test_an_image_pinned_by_id_is_named_by_its_pull_name(counting_docker):
    docker, calls = counting_docker
    pinned = resolve_image(docker, {"dockerPull": "ossrflow/a:1", "dockerImageId": DIGEST})
    assert (pinned.ref, pinned.how) == ("ossrflow/a:1", "present")
    assert calls.read_text().splitlines()[0] == f"image inspect --format {{{{.Id}}}} {DIGEST}"

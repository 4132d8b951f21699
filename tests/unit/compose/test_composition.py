"""compose as an API: golden workflows, job files, pins, remote entries, and nothing half-written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from ossrflow.compose.composition import compose_workflow, plan_composition, write_composition
from ossrflow.compose.definition_reader import load_definition
from ossrflow.compose.lock import load_lock
from ossrflow.compose.workflowgen import render_job
from ossrflow.config import Settings
from ossrflow.errors import InputError
from tests.conftest import DATA, REPO
from tests.support.zenodo import ZenodoApp

DEFINITIONS = DATA / "definitions"
EXPECTED = DEFINITIONS / "expected"
REGISTRY = REPO / "workflows" / "registry"


def settings(tmp_path: Path, registry: str = f"dir:{REGISTRY}") -> Settings:
    return Settings(registry=registry, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize("name", ["good_scatter_combine", "good_crossproduct"])
def test_workflow_matches_its_golden_file(name: str, tmp_path: Path) -> None:
    definition = load_definition(DEFINITIONS / f"{name}.yml")
    composition = plan_composition(definition, settings(tmp_path))
    assert composition.workflow_text == (EXPECTED / f"{name}.workflow.cwl").read_text()


def test_compose_writes_a_workflow_cwltool_validates(tmp_path: Path) -> None:
    definition = load_definition(DEFINITIONS / "good_crossproduct.yml")
    result = compose_workflow(definition, tmp_path / "out", settings(tmp_path))
    assert result.workflow == tmp_path / "out" / "workflow.cwl"
    assert result.composition.wiring.outputs["reports"].depth == 2
    tool = YAML(typ="safe").load((tmp_path / "out" / "tools" / "fitsdiff.cwl").read_text())
    assert tool["baseCommand"] == ["fitsdiff"]
    lock = load_lock(result.lock_path)
    assert lock.entries["fitsdiff"].interface is not None
    assert lock.entries["fitsdiff"].interface.path == "fitsdiff-interface.yml"


def test_job_has_staged_files_and_values(tmp_path: Path) -> None:
    definition = load_definition(DEFINITIONS / "good_scatter_combine.yml")
    composition = plan_composition(definition, settings(tmp_path))
    job = YAML(typ="safe").load(composition.job_text)
    assert [f["basename"] for f in job["images"]] == ["a.fits", "b.fits"]
    first = job["images"][0]
    assert first["location"].startswith((tmp_path / "cache" / "store").as_uri())
    assert first["format"] == "https://www.iana.org/assignments/media-types/application/fits"
    assert first["checksum"].startswith("sha1$")
    assert composition.lock.inputs["images"].files[0].location == "data/a.fits"


def test_render_job_of_values_and_single_files(tmp_path: Path) -> None:
    path = tmp_path / "flow.yml"
    path.write_text(
        "entries: {a: x}\ninputs:\n  n: {value: 3}\n  names: {value: [x, y]}\n"
        "steps: {s: {run: a}}\noutputs: {o: s/out}\n"
    )
    assert render_job(load_definition(path), {}) == "n: 3\nnames:\n- x\n- y\n"


def test_a_composition_that_does_not_validate_writes_nothing(tmp_path: Path) -> None:
    definition = load_definition(DEFINITIONS / "good_scatter_combine.yml")
    composition = plan_composition(definition, settings(tmp_path))
    broken = replace(
        composition, workflow_text=composition.workflow_text.replace("run: tools/", "run: nowhere/")
    )
    with pytest.raises(InputError) as caught:
        write_composition(broken, tmp_path / "out")
    assert str(caught.value).startswith(
        f"{DEFINITIONS / 'good_scatter_combine.yml'}: the composed workflow does not validate:"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]


def test_a_failed_recompose_leaves_the_previous_output_alone(tmp_path: Path) -> None:
    definition = load_definition(DEFINITIONS / "good_scatter_combine.yml")
    composition = plan_composition(definition, settings(tmp_path))
    out = tmp_path / "out"
    write_composition(composition, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = replace(composition, workflow_text="cwlVersion: v1.2\nclass: Workflow\n")
    with pytest.raises(InputError):
        write_composition(broken, out)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "out"]


def test_remote_entry_is_pinned_to_its_version(zenodo_server: ZenodoApp, tmp_path: Path) -> None:
    """A concept DOI resolves to the latest version; the lock pins that record and its md5s."""
    path = tmp_path / "flow.yml"
    (tmp_path / "events.root").write_bytes(b"root file")
    path.write_text(
        "entries: {info: 10.5281/zenodo.99}\n"
        "inputs: {file: events.root}\n"
        "steps: {run_info: {run: info, in: {file: file}}}\n"
        "outputs: {out: run_info/out}\n"
    )
    result = compose_workflow(
        load_definition(path), tmp_path / "out", settings(tmp_path, zenodo_server.api)
    )
    pin = result.composition.lock.entries["info"]
    assert (pin.record_id, pin.version, pin.concept_id) == ("100", "1.0.0", "99")
    assert set(pin.files) == {"codemeta.json", "km3io-info.cwl", "ossrflow-interface.yml"}
    assert all(checksum and checksum.startswith("md5:") for checksum in pin.files.values())
    tool = YAML(typ="safe").load((tmp_path / "out" / "tools" / "info.cwl").read_text())
    assert tool["baseCommand"] == ["km3io-info"]


def test_shell_metacharacters_in_values_stay_data(tmp_path: Path) -> None:
    """Values never reach a shell: they become CWL defaults, passed to the tool as one argument."""
    hostile = "OBJECT; touch /tmp/pwned $(reboot) `id` | sh"
    path = tmp_path / "flow.yml"
    (tmp_path / "a.fits").write_bytes((DEFINITIONS / "data" / "a.fits").read_bytes())
    path.write_text(
        "entries: {fitsheader: astropy-fitsheader}\n"
        "inputs: {images: [a.fits]}\n"
        "steps:\n  table:\n    run: fitsheader\n    in:\n      images: images\n"
        f"      keywords: {{value: [{hostile!r}]}}\n"
        "outputs: {log: table/table}\n"
    )
    result = compose_workflow(load_definition(path), tmp_path / "out", settings(tmp_path))
    workflow = YAML(typ="safe").load(result.workflow.read_text())
    keywords = next(i for i in workflow["steps"][0]["in"] if i["id"] == "keywords")
    assert keywords["default"] == [hostile]
    for text in (
        result.workflow.read_text(),
        *(p.read_text() for p in (tmp_path / "out" / "tools").iterdir()),
    ):
        assert "ShellCommandRequirement" not in text

"""Lock files: render/parse round trip, refusals that name the field, verification messages."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ossrflow.compose.lock import (
    EntryPin,
    FilePin,
    InputPin,
    Lock,
    PathPin,
    default_lock_path,
    load_lock,
    parse_lock,
    render_lock,
    write_lock,
)
from ossrflow.compose.pinning import verify_entry_files, verify_input_files
from ossrflow.errors import ChecksumMismatch, InputError

SHA = "a" * 64
MD5 = "md5:" + "b" * 32


def sample() -> Lock:
    return Lock(
        definition="analysis.yml",
        definition_sha256=SHA,
        entries={
            "tool": EntryPin(
                ref="10.5281/zenodo.1",
                registry="https://zenodo.org/api",
                record_id="2",
                version="1.0",
                doi="10.5281/zenodo.2",
                concept_id="1",
                concept_doi="10.5281/zenodo.1",
                title="Tool",
                files={"codemeta.json": MD5},
                interface=PathPin("tool.yml", SHA),
                tool=PathPin("tools/tool.cwl", SHA),
            )
        },
        inputs={
            "images": InputPin(
                "cart", (FilePin("a.fits", "data/a.fits", 10, SHA, MD5),), PathPin("cart.json", SHA)
            ),
            "n": InputPin("value", value=[1, 2]),
        },
    )


def test_round_trip_is_exact(tmp_path: Path) -> None:
    path = write_lock(sample(), tmp_path / "x.lock.json")
    assert load_lock(path) == sample()
    assert render_lock(load_lock(path)) == path.read_text()


def test_rendering_is_sorted_json_with_a_version() -> None:
    data = json.loads(render_lock(sample()))
    assert data["ossrflow_lock"] == 1
    assert list(data) == sorted(data)
    assert data["inputs"]["images"]["files"][0] == {
        "checksum": MD5,
        "location": "data/a.fits",
        "name": "a.fits",
        "sha256": SHA,
        "size": 10,
    }


def test_default_lock_path() -> None:
    assert default_lock_path(Path("w/analysis.yml")) == Path("w/analysis.lock.json")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(ossrflow_lock=2), "ossrflow_lock: is not 1 (an unknown lock format)"),
        (
            lambda d: d["entries"]["tool"].pop("record_id"),
            "entries.tool.record_id: is missing or not text",
        ),
        (
            lambda d: d["entries"]["tool"]["files"].update({"x": "md5:zz"}),
            "checksum 'md5:zz' has a malformed md5 digest",
        ),
        (
            lambda d: d["inputs"]["images"]["files"][0].update(size=-1),
            "inputs.images.files[0].size: is not a byte count",
        ),
        (lambda d: d["inputs"]["n"].update(kind="guess"), "inputs.n.kind: unknown kind 'guess'"),
        (
            lambda d: d["inputs"]["images"]["files"][0].update(member_of=["ds"]),
            "inputs.images.files[0].member_of: is missing or not text",
        ),
        (lambda d: d.update(entries=[]), "entries: is not an object"),
    ],
)
def test_bad_locks_are_refused_naming_the_field(
    edit: Callable[[dict[str, Any]], object], message: str
) -> None:
    data = json.loads(render_lock(sample()))
    edit(data)
    with pytest.raises(InputError) as caught:
        parse_lock(data, source="x.lock.json")
    assert message in str(caught.value)
    assert str(caught.value).startswith("x.lock.json:")


def test_entry_verification_names_the_file_that_changed() -> None:
    pin = sample().entries["tool"]
    verify_entry_files(
        "tool", pin, "2", {"codemeta.json": MD5}, source="a.yml", location="3:3", definition="a.yml"
    )
    with pytest.raises(ChecksumMismatch) as caught:
        verify_entry_files(
            "tool",
            pin,
            "2",
            {"codemeta.json": "md5:" + "c" * 32},
            source="a.yml",
            location="3:3",
            definition="a.yml",
        )
    assert str(caught.value) == (
        f"a.yml:3:3: entries.tool: file 'codemeta.json' of record 2 is md5:{'c' * 32}, the lock "
        f"pins {MD5} (fix: run `ossrflow lock a.yml` to pin the new state, if the change is expected)"
    )


@pytest.mark.parametrize(
    ("record", "files", "problem"),
    [
        ("3", {"codemeta.json": MD5}, "resolves to record 3, but the lock pins record 2"),
        (
            "2",
            {"codemeta.json": MD5, "new.cwl": MD5},
            "record 2 now has a file 'new.cwl' the lock does not know",
        ),
        ("2", {}, "record 2 no longer has the pinned file 'codemeta.json'"),
    ],
)
def test_entry_verification_problems(
    record: str, files: dict[str, str | None], problem: str
) -> None:
    with pytest.raises(ChecksumMismatch) as caught:
        verify_entry_files(
            "tool",
            sample().entries["tool"],
            record,
            files,
            source="a.yml",
            location=None,
            definition="a.yml",
        )
    assert f"entries.tool: {problem}" in str(caught.value)


def test_input_verification() -> None:
    pin = sample().inputs["images"]
    verify_input_files("images", pin, pin.files, source="a.yml", location="5:3", definition="a.yml")
    with pytest.raises(ChecksumMismatch) as caught:
        verify_input_files("images", pin, (), source="a.yml", location="5:3", definition="a.yml")
    assert "inputs.images: holds 0 files, the lock pins 1" in str(caught.value)


def test_lock_changes_name_the_files_that_changed() -> None:
    """Issue 14: `inputs.x: changed` said nothing of which file; now each file is named."""
    from dataclasses import replace

    from ossrflow.compose.lock import lock_changes

    old = sample()
    images = old.inputs["images"]
    a = images.files[0]
    new_files = (replace(a, sha256="c" * 64), FilePin("b.fits", "data/b.fits", 10, SHA))
    tool = old.entries["tool"]
    new = replace(
        old,
        entries={"tool": replace(tool, files={**tool.files, "tool.cwl": MD5})},
        inputs={"images": replace(images, files=new_files)},
    )
    assert lock_changes(old, new) == [
        "entries.tool: files changed: tool.cwl",
        f"inputs.images: a.fits sha256:{SHA[:16]}… -> sha256:{'c' * 16}…; b.fits new",
        "inputs.n: removed",
    ]
    assert lock_changes(old, old) == []


def test_the_workflow_pin_round_trips(tmp_path: Path) -> None:
    from dataclasses import replace

    workflow = tmp_path / "workflow.cwl"
    workflow.write_text("cwlVersion: v1.2\n", encoding="utf-8")
    lock = replace(sample(), workflow=PathPin("workflow.cwl", SHA))
    path = write_lock(lock, tmp_path / "ossrflow.lock.json")
    assert load_lock(path) == lock
    assert not lock.pins_workflow(workflow)
    from ossrflow.compose.lock import path_pin

    pinned = replace(lock, workflow=path_pin(workflow, tmp_path))
    assert pinned.pins_workflow(workflow)


# --- a Rucio dataset: one pin per file, member_of the dataset -----------------------------------

ADLER32 = "adler32:f32c04dd"


def dataset_lock() -> Lock:
    from dataclasses import replace

    files = tuple(
        FilePin(
            f"{n}.fits", f"ossrflow:m67.calib.{n}.fits", 5760, c * 64, ADLER32, "ossrflow:m67.calib"
        )
        for n, c in (("bias", "b"), ("flat", "f"))
    )
    return replace(sample(), inputs={"calib": InputPin("files", files)})


def test_a_datasets_files_round_trip_with_their_dataset(tmp_path: Path) -> None:
    path = write_lock(dataset_lock(), tmp_path / "x.lock.json")
    assert load_lock(path) == dataset_lock()
    assert json.loads(path.read_text())["inputs"]["calib"]["files"][0] == {
        "checksum": ADLER32,
        "location": "ossrflow:m67.calib.bias.fits",
        "member_of": "ossrflow:m67.calib",
        "name": "bias.fits",
        "sha256": "b" * 64,
        "size": 5760,
    }
    # Other files have no member_of key (locks written before it read the same).
    assert "member_of" not in json.loads(render_lock(sample()))["inputs"]["images"]["files"][0]


def test_a_dataset_that_changed_is_refused_and_relocking_names_its_files() -> None:
    from dataclasses import replace

    from ossrflow.compose.lock import lock_changes

    old = dataset_lock()
    pin = old.inputs["calib"]
    bias, flat = pin.files
    grown = (bias, replace(flat, sha256="0" * 64), replace(flat, name="dark.fits"))
    new = replace(old, inputs={"calib": replace(pin, files=grown)})
    with pytest.raises(ChecksumMismatch) as caught:
        verify_input_files("calib", pin, grown, source="a.yml", location="6:3", definition="a.yml")
    assert str(caught.value) == (
        "a.yml:6:3: inputs.calib: holds 3 files, the lock pins 2 (fix: run `ossrflow lock "
        "a.yml` to pin the new state, if the change is expected)"
    )
    changed = (bias, replace(flat, sha256="0" * 64))
    with pytest.raises(ChecksumMismatch) as caught:
        verify_input_files(
            "calib", pin, changed, source="a.yml", location="6:3", definition="a.yml"
        )
    assert f"file 1 is 'flat.fits' sha256:{'0' * 16}…, the lock pins 'flat.fits'" in str(
        caught.value
    )
    assert lock_changes(old, new) == [
        f"inputs.calib: flat.fits (in ossrflow:m67.calib) sha256:{'f' * 16}… -> sha256:"
        f"{'0' * 16}…; dark.fits (in ossrflow:m67.calib) new",
    ]

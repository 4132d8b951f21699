"""A Rucio dataset as a definition's input: its files in the job (File[]) and in the lock.

The staged inputs are built here as staging returns them (a dataset: a Directory whose members
are its files, each with its DID, RSE and Rucio's checksums); staging itself against a real Rucio
server is tests/integration/test_rucio.py.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import replace
from pathlib import Path

from ruamel.yaml import YAML

from ossrflow.compose.definition import Definition
from ossrflow.compose.definition_reader import load_definition
from ossrflow.compose.inputs import expected_items, input_pin
from ossrflow.compose.lock import FilePin, InputPin
from ossrflow.compose.workflowgen import render_job
from ossrflow.integrity import Checksum
from ossrflow.staging import ORIGIN_KEY, Origin, StagedInput, cwl_file
from ossrflow.staging.cart import CartItem

DEFINITION = """\
entries: {a: x}
inputs:
  calib: {location: [ossrflow:m67.calib, ossrflow:standalone.bin]}
steps: {s: {run: a}}
outputs: {o: s/out}
"""
FILES = {"bias.fits": b"bias frame", "flat.fits": b"flat frame", "standalone.bin": b"\x00\x01"}


def definition(tmp_path: Path) -> Definition:
    path = tmp_path / "analysis.yml"
    path.write_text(DEFINITION)
    return load_definition(path)


def sha256(name: str) -> str:
    return hashlib.sha256(FILES[name]).hexdigest()


def adler32(name: str) -> Checksum:
    return Checksum("adler32", f"{zlib.adler32(FILES[name]):08x}")


def rucio_file(folder: Path, name: str) -> StagedInput:
    """A file staged from Rucio, as staging gives it (a dataset's member, or an item)."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(FILES[name])
    did, size = f"ossrflow:{name}", len(FILES[name])
    origin = Origin(did, "FILE", "LOCAL_SCRATCHDISK", size, (adler32(name),))
    cwl = cwl_file(path, name, size, None) | {ORIGIN_KEY: origin.to_cwl()}
    item = CartItem(name, did, size=size, kind="rucio")
    return StagedInput(item, path, Checksum("sha256", sha256(name)), size, cwl, origin)


def staged(tmp_path: Path) -> tuple[StagedInput, ...]:
    """ossrflow:m67.calib (a dataset of two files), then ossrflow:standalone.bin (one file)."""
    folder = tmp_path / "store" / "dirs" / "3c"
    members = (rucio_file(folder, "bias.fits"), rucio_file(folder, "flat.fits"))
    origin = Origin("ossrflow:m67.calib", "DATASET")
    cwl = {
        "class": "Directory",
        "location": folder.as_uri(),
        "basename": "m67.calib",
        "listing": [m.cwl for m in members],
        ORIGIN_KEY: origin.to_cwl(),
    }
    item = CartItem("m67.calib", "ossrflow:m67.calib", kind="rucio")
    dataset = StagedInput(item, folder, Checksum("sha256", "d" * 64), 20, cwl, origin, members)
    return dataset, rucio_file(tmp_path / "store", "standalone.bin")


def test_a_dataset_in_a_list_input_gives_its_files_each_with_its_did(tmp_path: Path) -> None:
    job = YAML(typ="safe").load(render_job(definition(tmp_path), {"calib": staged(tmp_path)}))
    assert [(f["class"], f["basename"], f[ORIGIN_KEY]["did"]) for f in job["calib"]] == [
        ("File", "bias.fits", "ossrflow:bias.fits"),
        ("File", "flat.fits", "ossrflow:flat.fits"),
        ("File", "standalone.bin", "ossrflow:standalone.bin"),
    ]
    assert job["calib"][0][ORIGIN_KEY] == {
        "did": "ossrflow:bias.fits",
        "rse": "LOCAL_SCRATCHDISK",
        "bytes": 10,
        "adler32": adler32("bias.fits").digest,
    }


def test_the_lock_pins_each_file_of_the_dataset_by_its_did(tmp_path: Path) -> None:
    flow = definition(tmp_path)
    pin = input_pin(flow.inputs["calib"], staged(tmp_path), tmp_path)
    assert pin == InputPin(
        "files",
        (
            FilePin(
                "bias.fits",
                "ossrflow:bias.fits",
                10,
                sha256("bias.fits"),
                str(adler32("bias.fits")),
                "ossrflow:m67.calib",
            ),
            FilePin(
                "flat.fits",
                "ossrflow:flat.fits",
                10,
                sha256("flat.fits"),
                str(adler32("flat.fits")),
                "ossrflow:m67.calib",
            ),
            FilePin(
                "standalone.bin",
                "ossrflow:standalone.bin",
                2,
                sha256("standalone.bin"),
                str(adler32("standalone.bin")),
            ),
        ),
    )


def test_held_to_a_lock_a_file_is_expected_by_its_sha256_and_a_dataset_staged_afresh(
    tmp_path: Path,
) -> None:
    flow = definition(tmp_path)
    items = flow.inputs["calib"].items
    pin = input_pin(flow.inputs["calib"], staged(tmp_path), tmp_path)
    assert expected_items(items, pin) == [
        items[0],
        replace(items[1], checksum=Checksum("sha256", sha256("standalone.bin"))),
    ]
    # Pins that do not line up with the items (another dataset, a file more) expect nothing.
    other = replace(pin, files=tuple(replace(f, member_of="ossrflow:other") for f in pin.files))
    more = replace(pin, files=(*pin.files, pin.files[-1]))
    assert expected_items(items, other) == list(items)
    assert expected_items(items, more) == list(items)
    assert expected_items(items, None) == list(items)

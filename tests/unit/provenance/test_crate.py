"""The run's RO-Crate names each input file staged from Rucio by its DID, RSE and checksums.

The record is built by hand (the job order as the run kept it: a Rucio dataset as a Directory
whose listing carries each file's facts); a real run on Slurm is tests/integration/test_rucio.py.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ossrflow.provenance.crate import build_crate, place_files
from ossrflow.provenance.model import JOB, PACKED, RecordedFile, RunRecord
from ossrflow.staging import ORIGIN_KEY

BIAS = {
    "did": "ossrflow:m67.calib.bias.fits",
    "rse": "LOCAL_SCRATCHDISK",
    "bytes": 10,
    "adler32": "f32c04dd",
    "md5": "fe07bd2c3d939358cd262e6fd5f3f68b",
}
PACKED_WORKFLOW = {
    "cwlVersion": "v1.2",
    "class": "Workflow",
    "id": "#main",
    "inputs": [
        {"id": "#main/calib", "type": {"type": "array", "items": "Directory"}},
        {"id": "#main/notes", "type": "File"},
    ],
    "outputs": [],
    "steps": [],
}


def write_crate(tmp_path: Path) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    """The crate of a run whose inputs are a Rucio dataset (two files, one with facts that do
    not parse) and a local file; its graph by @id, and its @context."""
    folder = tmp_path / "store" / "calib"
    folder.mkdir(parents=True)
    inputs = []
    for name, data in (("bias.fits", b"bias frame"), ("flat.fits", b"flat"), ("notes.txt", b"n")):
        path = (folder if name != "notes.txt" else tmp_path) / name
        path.write_bytes(data)
        param, label = ("calib", f"calib/0/calib/{name}") if name != "notes.txt" else ("notes",) * 2
        digest = hashlib.sha256(data).hexdigest()
        inputs.append(RecordedFile(param, label, len(data), digest, path.as_uri()))
    listing = [
        {"class": "File", "location": (folder / "bias.fits").as_uri(), ORIGIN_KEY: BIAS},
        {"class": "File", "location": (folder / "flat.fits").as_uri(), ORIGIN_KEY: {"did": "x"}},
    ]
    dataset = {"did": "ossrflow:m67.calib", "type": "DATASET"}
    directory = {"class": "Directory", "location": folder.as_uri(), ORIGIN_KEY: dataset}
    job = {
        "calib": [directory | {"listing": listing}],
        "notes": {"class": "File", "location": inputs[2].location},
    }
    files = {PACKED: tmp_path / "packed.cwl", JOB: tmp_path / "job.json"}
    files[PACKED].write_text(json.dumps(PACKED_WORKFLOW))
    files[JOB].write_text(json.dumps(job))
    record = RunRecord(
        crate=tmp_path / "crate",
        run_id="r1",
        workflow=files[PACKED],
        workflow_sha256="0" * 64,
        job=job,
        lock=None,
        inputs=tuple(inputs),
        outputs=(),
        step_files=(),
        steps=(),
        versions={"ossrflow": "0.1"},
        profile="slurm",
        executor="slurm",
        started="2026-12-03T10:00:00+00:00",
        ended="2026-12-03T10:01:00+00:00",
        exit_state="completed",
    )
    build_crate(record, files).write(tmp_path / "crate")
    metadata = json.loads((tmp_path / "crate" / "ro-crate-metadata.json").read_text())
    return {e["@id"]: e for e in metadata["@graph"]}, metadata["@context"]


def test_a_rucio_file_has_its_did_rse_and_checksums(tmp_path: Path) -> None:
    graph, context = write_crate(tmp_path)
    bias = graph[(tmp_path / "store" / "calib" / "bias.fits").as_uri()]
    assert {k: bias[k] for k in ("identifier", "contentLocation", "adler32", "md5")} == {
        "identifier": {"@id": "#rucio-did-ossrflow:m67.calib.bias.fits"},
        "contentLocation": {"@id": "#rucio-rse-LOCAL_SCRATCHDISK"},
        "adler32": "f32c04dd",
        "md5": "fe07bd2c3d939358cd262e6fd5f3f68b",
    }
    assert graph["#rucio-did-ossrflow:m67.calib.bias.fits"] == {
        "@id": "#rucio-did-ossrflow:m67.calib.bias.fits",
        "@type": "PropertyValue",
        "name": "Rucio DID",
        "propertyID": "https://w3id.org/ossrflow#rucio",
        "value": "ossrflow:m67.calib.bias.fits",
    }
    assert graph["#rucio-rse-LOCAL_SCRATCHDISK"] == {
        "@id": "#rucio-rse-LOCAL_SCRATCHDISK",
        "@type": "Place",
        "name": "LOCAL_SCRATCHDISK",
        "description": "Rucio storage element (RSE) the file was read from",
    }
    # adler32 and md5 are ossrflow terms: in the @context, each described as an rdf:Property.
    assert context[-1] == {
        "adler32": "https://w3id.org/ossrflow#adler32",
        "md5": "https://w3id.org/ossrflow#md5",
    }
    assert graph["https://w3id.org/ossrflow#md5"] == {
        "@id": "https://w3id.org/ossrflow#md5",
        "@type": "rdf:Property",
        "rdfs:label": "md5",
        "rdfs:comment": "the md5 checksum Rucio publishes for a file, verified against its bytes",
    }


def test_files_without_rucio_facts_have_none(tmp_path: Path) -> None:
    """A local file, and a file whose facts do not parse (a job order is untrusted)."""
    graph, _ = write_crate(tmp_path)
    for path in (tmp_path / "store" / "calib" / "flat.fits", tmp_path / "notes.txt"):
        entity = graph[path.as_uri()]
        assert not {"identifier", "contentLocation", "adler32", "md5"} & set(entity)
        assert entity["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_data_files_are_placed_before_the_crate_is_written(tmp_path: Path):
    from rocrate.rocrate import ROCrate

    sources = tmp_path / "sources"
    sources.mkdir()
    crate = ROCrate()
    for index in range(20):
        source = sources / f"f{index}.txt"
        source.write_text(f"file {index}\n", encoding="utf-8")
        crate.add_file(source, dest_path=f"outputs/{index}/f {index}.txt")
    crate.add_file("https://example.org/remote.txt")  # recorded by location: nothing to copy
    target = tmp_path / "crate"
    target.mkdir()
    assert place_files(crate, target) == 20
    (sources / "f3.txt").write_text("changed after placing\n", encoding="utf-8")
    crate.write(target)
    assert (target / "outputs/3/f 3.txt").read_text(encoding="utf-8") == "file 3\n"
    assert (target / "outputs/19/f 19.txt").read_text(encoding="utf-8") == "file 19\n"
    assert not (target / "remote.txt").exists()
    metadata = json.loads((target / "ro-crate-metadata.json").read_text(encoding="utf-8"))
    ids = {entity["@id"] for entity in metadata["@graph"]}
    assert "outputs/3/f%203.txt" in ids and "https://example.org/remote.txt" in ids

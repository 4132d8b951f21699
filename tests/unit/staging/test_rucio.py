"""Rucio DIDs and the checksums Rucio publishes (no Rucio server needed)."""

import zlib
from pathlib import Path

import pytest

from ossrflow.errors import InputError, UnsafeValue
from ossrflow.integrity import Checksum, hash_file
from ossrflow.staging.rucio import (
    DID,
    Replica,
    ReplicaFile,
    list_did_files,
    parse_did,
    parse_rucio_checksum,
)


@pytest.mark.parametrize(
    ("text", "did"),
    [
        (
            "LOFAR_ASTRON_GRANGE:L570745_SB000_uv.MS.tar",
            DID("LOFAR_ASTRON_GRANGE", "L570745_SB000_uv.MS.tar"),
        ),
        ("rucio://user.jdoe/run/events.h5", DID("user.jdoe", "run/events.h5")),
        ("cta:a:b", DID("cta", "a:b")),
    ],
)
def test_parse_did(text, did):
    assert parse_did(text) == did


def test_did_basename_is_the_staged_name():
    assert DID("s", "run/events.h5").basename == "events.h5"
    assert str(DID("s", "n")) == "s:n"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("no-colon", InputError),
        ("scope-that-is-far-too-long-for-rucio:x", InputError),
        ("s:", InputError),
        ("s:a/../../etc", InputError),
        ("s:/abs", InputError),
        ("s:a b", InputError),
        ("s:x/..", InputError),
        ("s:x\\y", UnsafeValue),
    ],
)
def test_parse_did_refuses(text, error):
    with pytest.raises(error):
        parse_did(text, source="cart.json", location="items[0]")


def test_adler32_is_zero_padded_and_matches_the_bytes(tmp_path: Path):
    data = b"\x00" * 5  # adler32 = 0x00050001: Rucio may publish it as "50001"
    path = tmp_path / "f"
    path.write_bytes(data)
    md5 = "2942bfabb3d05332b66eb128e0842cff"
    published = parse_rucio_checksum({"adler32": "50001", "md5": md5}, source="rucio:s:f")
    assert published == Checksum("adler32", "00050001")
    assert hash_file(path, ["adler32"])["adler32"] == f"{zlib.adler32(data):08x}" == "00050001"


def test_md5_when_there_is_no_adler32_and_none_without_either():
    md5 = "2942bfabb3d05332b66eb128e0842cff"
    assert parse_rucio_checksum({"md5": md5}, source="r") == Checksum("md5", md5)
    assert parse_rucio_checksum({"bytes": 3}, source="r") is None


class OneDataset:
    """The three Rucio calls for one dataset holding one file with three replicas."""

    def get_did(self, scope: str, name: str) -> dict[str, object]:
        return {"scope": scope, "name": name, "type": "DATASET"}

    def list_files(self, scope: str, name: str) -> list[dict[str, object]]:
        return [{"scope": "s", "name": "run/f.fits", "bytes": 5, "adler32": "1a2b3c4d"}]

    def list_replicas(self, dids, schemes=None):
        assert dids == [{"scope": "s", "name": "run/f.fits"}]
        assert schemes == ["https", "davs", "http"]
        pfns = {
            "https://se2.example.org/f.fits": {"priority": 3, "rse": "SE2_DISK"},
            "root://se0.example.org//f.fits": {"priority": 1, "rse": "SE0_DISK"},
            "davs://se1.example.org:443/f.fits": {"priority": 2, "rse": "SE1_DISK"},
        }
        md5 = "2942bfabb3d05332b66eb128e0842cff"
        return [
            {"scope": "s", "name": "run/f.fits", "adler32": "1a2b3c4d", "md5": md5, "pfns": pfns}
        ]


def test_list_did_files_orders_http_replicas_and_reads_davs_as_https():
    did_type, [file] = list_did_files(OneDataset(), DID("s", "ds"))
    assert did_type == "DATASET"
    assert file == ReplicaFile(
        DID("s", "run/f.fits"),
        5,
        (Checksum("adler32", "1a2b3c4d"), Checksum("md5", "2942bfabb3d05332b66eb128e0842cff")),
        (
            Replica("https://se1.example.org:443/f.fits", "SE1_DISK"),
            Replica("https://se2.example.org/f.fits", "SE2_DISK"),
        ),
    )
    assert file.checksum == Checksum("adler32", "1a2b3c4d")
    assert file.urls == ("https://se1.example.org:443/f.fits", "https://se2.example.org/f.fits")

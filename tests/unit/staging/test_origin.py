"""Where staged bytes came from: a Rucio DID, RSE and checksums in a CWL object, and back."""

import pytest

from ossrflow.integrity import Checksum
from ossrflow.staging.origin import ORIGIN_KEY, Origin, find_origins, parse_origin

ADLER32 = Checksum("adler32", "f32c04dd")
MD5 = Checksum("md5", "fe07bd2c3d939358cd262e6fd5f3f68b")
BIAS = Origin("ossrflow:m67.calib.bias.fits", "FILE", "LOCAL_SCRATCHDISK", 5760, (ADLER32, MD5))
DATASET = Origin("ossrflow:m67.calib", "DATASET")


def test_a_file_and_a_dataset_in_cwl_terms():
    assert BIAS.to_cwl() == {
        "did": "ossrflow:m67.calib.bias.fits",
        "rse": "LOCAL_SCRATCHDISK",
        "bytes": 5760,
        "adler32": "f32c04dd",
        "md5": "fe07bd2c3d939358cd262e6fd5f3f68b",
    }
    assert DATASET.to_cwl() == {"did": "ossrflow:m67.calib", "type": "DATASET"}


@pytest.mark.parametrize("origin", [BIAS, DATASET, Origin("s:n", size=0)])
def test_an_origin_reads_back_from_its_cwl_terms(origin: Origin):
    assert parse_origin(origin.to_cwl()) == origin


@pytest.mark.parametrize(
    "value",
    [
        None,
        "ossrflow:m67.calib",
        {},
        {"did": 7},
        {"did": "no-scope"},
        {"did": "s:../etc/passwd"},
        {"did": "s:n", "type": "FOLDER"},
        {"did": "s:n", "rse": "DISK; rm -rf /"},
        {"did": "s:n", "rse": 3},
        {"did": "s:n", "bytes": -1},
        {"did": "s:n", "bytes": True},
        {"did": "s:n", "adler32": "not hex!"},
        {"did": "s:n", "md5": "f32c04dd"},
    ],
)
def test_what_is_not_an_origin_is_left_out(value: object):
    assert parse_origin(value) is None


def _file(name: str, origin: Origin | None = None) -> dict[str, object]:
    value: dict[str, object] = {"class": "File", "location": f"file:///store/{name}"}
    if origin is not None:
        value[ORIGIN_KEY] = origin.to_cwl()
    return value


def test_origins_are_found_in_files_listings_and_secondary_files_by_location():
    flat = Origin("ossrflow:m67.calib.flat.fits", rse="LOCAL_SCRATCHDISK")
    index = Origin("ossrflow:m67.calib.flat.fits.idx")
    job = {
        "calib": [
            {
                "class": "Directory",
                "location": "file:///store/calib",
                ORIGIN_KEY: DATASET.to_cwl(),
                "listing": [_file("calib/bias.fits", BIAS), _file("calib/readme.txt")],
            },
            _file("flat.fits", flat) | {"secondaryFiles": [_file("flat.fits.idx", index)]},
        ],
        "label": "M67",
        "bad": _file("bad.fits") | {ORIGIN_KEY: {"did": "no scope"}},
    }
    assert find_origins(job) == {
        "file:///store/calib": DATASET,
        "file:///store/calib/bias.fits": BIAS,
        "file:///store/flat.fits": flat,
        "file:///store/flat.fits.idx": index,
    }
    assert find_origins({"n": 3, "names": ["a", "b"]}) == {}

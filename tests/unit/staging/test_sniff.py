"""Formats from first bytes, and how they weigh against what a name or cart says."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import pytest

from ossrflow.staging.sniff import (
    CSV,
    FITS,
    GZIP,
    HDF5,
    HEAD_BYTES,
    JSON,
    NETCDF,
    TEXT,
    TSV,
    ZIP,
    FormatGuess,
    Origin,
    Sniffed,
    reconcile_format,
    sniff_bytes,
    sniff_file,
)

FITS_CARD = b"SIMPLE  =                    T / file does conform to FITS standard".ljust(80)


def zipped() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(zipfile.ZipInfo("a.txt", (1980, 1, 1, 0, 0, 0)), "a")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("head", "sniffed"),
    [
        (FITS_CARD + b"BITPIX  =                    8".ljust(80), Sniffed(FITS, True)),
        (b"\x89HDF\r\n\x1a\n\x00\x00", Sniffed(HDF5, True)),
        (b"\x00" * 512 + b"\x89HDF\r\n\x1a\n", Sniffed(HDF5, True)),  # after a user block
        (b"CDF\x01\x00\x00\x00\x00", Sniffed(NETCDF, True)),
        (b"CDF\x02\x00", Sniffed(NETCDF, True)),
        (gzip.compress(b"x", mtime=0), Sniffed(GZIP, True)),
        (zipped(), Sniffed(ZIP, True)),
        (b"PK\x05\x06" + b"\x00" * 18, Sniffed(ZIP, True)),
        (b' {"a": [1, 2]}\n', Sniffed(JSON, False)),
        (b"[1, 2, 3]", Sniffed(JSON, False)),
        (b"{not json", Sniffed(TEXT, False)),
        (b"t,flux\n1,2.5\n2,2.7\n", Sniffed(CSV, False)),
        (b'name,"note, with comma"\nm67,"a, b"\n', Sniffed(CSV, False)),
        (b"t\tflux\n1\t2.5\n", Sniffed(TSV, False)),
        (b"one line of prose, with a comma\n", Sniffed(TEXT, False)),
        (b"caf\xc3\xa9 au lait\n", Sniffed(TEXT, False)),
        (b"", None),
        (b"   \n", None),
        (b"\x00\x01\x02binary", None),
        (b"\xff\xfe\xfa not utf-8 at all" * 3, None),
    ],
)
def test_sniff_bytes(head: bytes, sniffed: Sniffed | None) -> None:
    assert sniff_bytes(head) == sniffed


def test_a_head_cut_short_is_judged_on_complete_lines() -> None:
    rows = b"".join(b"%d,%d.5\n" % (i, i) for i in range(2000))
    head = rows[:HEAD_BYTES]
    assert not head.endswith(b"\n")
    assert sniff_bytes(head) == Sniffed(CSV, False)
    big_json = b'{"values": [' + b"1, " * 3000
    assert sniff_bytes(big_json[:HEAD_BYTES]) == Sniffed(JSON, False)
    cut = "é".encode() * (HEAD_BYTES // 2)
    assert sniff_bytes(cut[: HEAD_BYTES - 1]) == Sniffed(TEXT, False)  # a character cut in two


def test_sniff_file_reads_regular_files_only(tmp_path: Path) -> None:
    (tmp_path / "image").write_bytes(FITS_CARD)
    assert sniff_file(tmp_path / "image") == Sniffed(FITS, True)
    assert sniff_file(tmp_path / "missing.fits") is None
    assert sniff_file(tmp_path) is None


@pytest.mark.parametrize(
    ("name", "given", "sniffed", "guess"),
    [
        ("m67.csv", CSV, Sniffed(FITS, True), FormatGuess(FITS, "bytes", "the name says CSV")),
        ("DATA001", None, Sniffed(FITS, True), FormatGuess(FITS, "bytes")),
        ("m67.fits", FITS, Sniffed(FITS, True), FormatGuess(FITS, "name")),
        ("m67.fits.gz", FITS, Sniffed(GZIP, True), FormatGuess(FITS, "name")),
        ("model.nc", NETCDF, Sniffed(HDF5, True), FormatGuess(NETCDF, "name")),  # NetCDF-4
        (
            "cube.h5",
            HDF5,
            Sniffed(NETCDF, True),
            FormatGuess(NETCDF, "bytes", "the name says HDF5"),
        ),
        ("t.csv", CSV, Sniffed(TEXT, False), FormatGuess(CSV, "name")),
        ("t.csv", CSV, Sniffed(JSON, False), FormatGuess(CSV, "name")),  # a guess never wins
        (
            "readings.txt",
            TEXT,
            Sniffed(CSV, False),
            FormatGuess(CSV, "bytes", "the name says Textual format, the bytes are more precise"),
        ),
        (
            "data.txt",
            TEXT,
            Sniffed(JSON, False),
            FormatGuess(JSON, "bytes", "the name says Textual format, the bytes are more precise"),
        ),
        ("notes.txt", TEXT, Sniffed(TEXT, False), FormatGuess(TEXT, "name")),
        ("image.fits", FITS, Sniffed(CSV, False), FormatGuess(CSV, "bytes", "the name says FITS")),
        ("x.dat", CSV, Sniffed(FITS, True), FormatGuess(FITS, "bytes", "the cart says CSV")),
        ("x.dat", CSV, None, FormatGuess(CSV, "cart")),
        ("x.dat", None, None, FormatGuess(None, "none")),
    ],
)
def test_reconcile_format(
    name: str, given: str | None, sniffed: Sniffed | None, guess: FormatGuess
) -> None:
    origin: Origin = "cart" if name == "x.dat" else "name"
    assert reconcile_format(name, given, sniffed, origin=origin) == guess


def test_deeply_nested_json_is_not_a_traceback() -> None:
    assert sniff_bytes(b"[" * 4000) is not None

import hashlib
import zlib
from pathlib import Path

import pytest

from ossrflow.errors import ChecksumMismatch, InputError, UnsafeValue
from ossrflow.integrity import (
    Checksum,
    atomic_write,
    check_name,
    hash_file,
    parse_checksum,
    promote,
    safe_join,
    verify_checksum,
)


def test_parse_checksum_accepts_zenodo_and_rucio_forms():
    assert parse_checksum("md5:2942BFABB3D05332B66EB128E0842CFF") == Checksum(
        "md5", "2942bfabb3d05332b66eb128e0842cff"
    )
    assert str(parse_checksum("adler32:0a1b2c3d")) == "adler32:0a1b2c3d"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2942bfabb3d05332b66eb128e0842cff", "is not of the form ALGORITHM:HEX"),
        ("crc32:00000000", "is not of the form ALGORITHM:HEX"),
        ("md5:xyz", "has a malformed md5 digest"),
        ("sha256:abcd", "has a malformed sha256 digest"),
    ],
)
def test_parse_checksum_refuses_malformed(text, message):
    with pytest.raises(InputError, match=message) as info:
        parse_checksum(text, source="cart.yml", location="items[0].checksum")
    assert str(info.value).startswith("cart.yml:items[0].checksum: checksum")


def test_hash_file_streams_several_algorithms(tmp_path: Path):
    data = b"x" * (3 << 20) + b"tail"
    path = tmp_path / "f"
    path.write_bytes(data)
    digests = hash_file(path, ["md5", "sha256", "adler32"])
    assert digests["md5"] == hashlib.md5(data).hexdigest()  # noqa: S324
    assert digests["sha256"] == hashlib.sha256(data).hexdigest()
    assert digests["adler32"] == f"{zlib.adler32(data):08x}"


def test_verify_checksum(tmp_path: Path):
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    verify_checksum(path, Checksum("md5", hashlib.md5(b"hello").hexdigest()))  # noqa: S324
    with pytest.raises(ChecksumMismatch, match=r"expected md5:0+, got md5:5d41"):
        verify_checksum(path, Checksum("md5", "0" * 32))


@pytest.mark.parametrize(
    "name", ["", ".", "..", "a/b", "..\\x", "/etc", "a\nb", "tab\there", "nul\x00"]
)
def test_check_name_refuses_unsafe(name):
    with pytest.raises(UnsafeValue):
        check_name(name, source="record 1", location="files[0].key")


def test_check_name_accepts_plain_names():
    assert check_name("data-1.fits.gz") == "data-1.fits.gz"
    assert check_name("with space & $(dollar).txt") == "with space & $(dollar).txt"


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "C:/x", "a/\x1b[31m"])
def test_safe_join_refuses_escapes(tmp_path: Path, relative):
    with pytest.raises(UnsafeValue):
        safe_join(tmp_path, relative)


def test_safe_join_refuses_symlink_leaving_root(tmp_path: Path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafeValue, match="symbolic link"):
        safe_join(root, "link/secret")
    assert safe_join(root, "sub/./file.txt") == root / "sub" / "file.txt"


def test_atomic_write_leaves_no_temporary_files(tmp_path: Path):
    target = tmp_path / "deep" / "out.cwl"
    atomic_write(target, "cwlVersion: v1.2\n")
    assert target.read_text() == "cwlVersion: v1.2\n"
    assert [p.name for p in target.parent.iterdir()] == ["out.cwl"]


def test_promote_never_overwrites(tmp_path: Path):
    final = tmp_path / "final"
    final.write_text("first")
    tmp = tmp_path / "tmp"
    tmp.write_text("second")
    assert promote(tmp, final) == final
    assert final.read_text() == "first"
    assert not tmp.exists()

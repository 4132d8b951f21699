import hashlib
import multiprocessing
import os
import zlib
from pathlib import Path

import pytest

from ossrflow.errors import ChecksumMismatch, InputError, UnsafeValue
from ossrflow.integrity import (
    Checksum,
    atomic_hardlink,
    atomic_symlink,
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


def test_atomic_write_replaces_a_file_whole_with_mode_0600(tmp_path: Path):
    target = tmp_path / "out.txt"
    target.write_text("old, longer text")
    assert atomic_write(target, b"new") == target
    assert target.read_bytes() == b"new"
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def test_atomic_symlink_replaces_an_existing_entry(tmp_path: Path):
    first, second, target = tmp_path / "first", tmp_path / "second", tmp_path / "link"
    first.write_text("1")
    second.write_text("2")
    target.write_text("a plain file")
    assert atomic_symlink(first, target) == target
    assert target.is_symlink() and target.read_text() == "1"
    atomic_symlink(second, target)
    assert target.readlink() == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["first", "link", "second"]


def _read_link_until(target: Path, ready, stop) -> None:
    """Exit 1 if ``target`` is ever missing while another process replaces it."""
    ready.set()
    while not stop.is_set():
        for _ in range(100):
            try:
                target.readlink()
            except FileNotFoundError:
                os._exit(1)
    os._exit(0)


def test_a_reader_never_sees_an_atomic_symlink_missing(tmp_path: Path):
    first, second, target = tmp_path / "first", tmp_path / "second", tmp_path / "link"
    atomic_symlink(first, target)
    fork = multiprocessing.get_context("fork")
    ready, stop = fork.Event(), fork.Event()
    reader = fork.Process(target=_read_link_until, args=(target, ready, stop))
    reader.start()
    assert ready.wait(30)
    for index in range(3000):
        atomic_symlink(second if index % 2 else first, target)
    stop.set()
    reader.join(30)
    assert reader.exitcode == 0  # an unlink-then-link replacement fails this


def test_atomic_hardlink_links_the_same_file_over_an_existing_one(tmp_path: Path):
    source, target = tmp_path / "source", tmp_path / "deep" / "target"
    source.write_text("cache")
    target.parent.mkdir()
    target.write_text("older")
    assert atomic_hardlink(source, target) is True
    assert target.stat().st_ino == source.stat().st_ino
    assert [p.name for p in target.parent.iterdir()] == ["target"]


def test_atomic_hardlink_copies_across_file_systems(tmp_path: Path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on another file system than the test folder")
    source = tmp_path / "source"
    source.write_text("cache")
    folder = shm / f"ossrflow-test-{os.getpid()}-{tmp_path.name}"
    try:
        target = folder / "target"
        assert atomic_hardlink(source, target) is True
        assert target.read_text() == "cache"
        assert target.stat().st_ino != source.stat().st_ino  # a copy: a link cannot cross
        assert [p.name for p in folder.iterdir()] == ["target"]
    finally:
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()


def test_nothing_temporary_is_left_when_the_rename_or_the_link_fails(tmp_path: Path):
    source = tmp_path / "source"
    source.write_text("x")
    folder = tmp_path / "folder"  # a non-empty folder: nothing is renamed onto it
    (folder / "inside").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        atomic_symlink(source, folder)
    with pytest.raises(IsADirectoryError):
        atomic_write(folder, "text")
    assert atomic_hardlink(source, folder) is False
    assert atomic_hardlink(tmp_path / "missing", tmp_path / "target") is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "source"]
    assert [p.name for p in folder.iterdir()] == ["inside"]


def _place_at_once(index: int, folder: Path, barrier) -> None:
    """Put this process's file at the same three names as every other process, at once."""
    source = folder / f"source{index}"
    barrier.wait()
    for _ in range(20):
        atomic_symlink(source, folder / "link")
        if not atomic_hardlink(source, folder / "hard"):
            os._exit(1)
        atomic_write(folder / "written", f"{index}\n")
    os._exit(0)


def test_processes_placing_the_same_name_at_once_all_succeed(tmp_path: Path):
    workers = 6
    for index in range(workers):
        (tmp_path / f"source{index}").write_text(f"{index}\n")
    fork = multiprocessing.get_context("fork")
    barrier = fork.Barrier(workers)
    processes = [
        fork.Process(target=_place_at_once, args=(index, tmp_path, barrier))
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0] * workers
    sources = {(tmp_path / f"source{index}").read_text() for index in range(workers)}
    assert (tmp_path / "link").read_text() in sources
    assert (tmp_path / "hard").read_text() in sources
    assert (tmp_path / "written").read_text() in sources
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"link", "hard", "written"} | {f"source{i}" for i in range(workers)}

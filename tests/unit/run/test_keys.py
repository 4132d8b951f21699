"""Content keys: a job's input by content, with file digests remembered by inode, size and times."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ossrflow.run.keys import DigestCache, content_key


def file_value(path: Path, **extra: Any) -> dict[str, Any]:
    return {"class": "File", "location": path.as_uri(), **extra}


def bump(path: Path) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))


def test_the_key_follows_the_bytes_not_the_times_or_the_folder(tmp_path: Path):
    run_dir = tmp_path / "run"
    cache = DigestCache(run_dir)
    first = tmp_path / "one" / "a.txt"
    first.parent.mkdir()
    first.write_text("alpha")
    key = content_key({"f": file_value(first), "n": 3}, cache)
    bump(first)
    assert content_key({"f": file_value(first), "n": 3}, cache) == key
    elsewhere = tmp_path / "two" / "a.txt"
    elsewhere.parent.mkdir()
    elsewhere.write_text("alpha")
    assert content_key({"f": file_value(elsewhere), "n": 3}, cache) == key
    assert content_key({"f": file_value(elsewhere), "n": 4}, cache) != key
    first.write_text("alphb")  # same size, one byte
    assert content_key({"f": file_value(first), "n": 3}, cache) != key


def test_a_folder_is_keyed_by_its_entries(tmp_path: Path):
    cache = DigestCache(tmp_path / "run")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "x.txt").write_text("x")
    value = {"class": "Directory", "location": folder.as_uri()}
    key = content_key(value, cache)
    bump(folder / "sub" / "x.txt")
    assert content_key(value, cache) == key
    (folder / "y.txt").write_text("")
    assert content_key(value, cache) != key


def test_digests_are_kept_in_the_run_folder_and_reused(tmp_path: Path):
    data = tmp_path / "data.txt"
    data.write_text("data")
    cache = DigestCache(tmp_path / "run")
    digest = cache.digest(data)
    assert digest == "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7"
    cache.save()
    again = DigestCache(tmp_path / "run", writable=False)
    assert again.files == cache.files
    assert again.digest(data) == digest and not again.changed
    assert DigestCache(tmp_path / "run").digest(tmp_path / "missing") is None


def test_checksums_of_the_runs_own_outputs_are_trusted_others_are_not(tmp_path: Path):
    run_dir = tmp_path / "run"
    own = run_dir / "steps" / "up" / "out" / "o.txt"
    own.parent.mkdir(parents=True)
    own.write_text("out")
    other = tmp_path / "o.txt"
    other.write_text("out")
    cache = DigestCache(run_dir)
    stated = "sha1$0000000000000000000000000000000000000000"
    assert content_key(file_value(own, checksum=stated), cache) != content_key(
        file_value(own, checksum="sha1$1111111111111111111111111111111111111111"), cache
    )
    assert content_key(file_value(other, checksum=stated), cache) == content_key(
        file_value(other), cache
    )

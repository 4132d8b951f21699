"""The folder registry (dir:PATH): records from sub-folders, search, safe files, local entries."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from ossrflow.config import Settings
from ossrflow.errors import ChecksumMismatch, InputError, NotFound, UnsafeValue
from ossrflow.registry import LocalRegistry, RecordFile, open_local, open_registry, parse_ref
from ossrflow.registry.entry import get_entry
from tests.conftest import FIXTURES

CWL = b"cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: fitsinfo\ninputs: []\noutputs: []\n"


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data, usedforsecurity=False).hexdigest()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "registry"
    km3io = root / "km3io"
    km3io.mkdir(parents=True)
    (km3io / "codemeta.json").write_bytes(
        (FIXTURES / "codemeta" / "KM3NeT__km3io.json").read_bytes()
    )
    (km3io / "km3io.cwl").write_bytes(CWL)
    (km3io / "ossrflow-interface.yml").write_text("command: km3io\n")
    (km3io / ".hidden").write_text("not part of the entry")
    (km3io / "docs").mkdir()
    agnpy = root / "agnpy"
    agnpy.mkdir()
    (agnpy / "codemeta.json").write_bytes(
        (FIXTURES / "codemeta" / "cosimoNigro__agnpy.json").read_bytes()
    )
    broken = root / "broken"
    broken.mkdir()
    (broken / "codemeta.json").write_bytes(
        (FIXTURES / "codemeta" / "KM3NeT__KM3-230213A-data.json").read_bytes()
    )
    (root / "bare").mkdir()
    (root / ".git").mkdir()
    return root


def test_record_from_a_folder(folder: Path):
    record = LocalRegistry(folder).get_record("km3io")
    codemeta = (folder / "km3io" / "codemeta.json").read_bytes()
    assert (record.id, record.title, record.version, record.publication_date) == (
        "km3io",
        "km3io",
        "1.0.0",
        "2019-11-15",
    )
    assert (record.doi, record.concept_id, record.concept_doi) == (None, None, None)
    assert record.registry == f"dir:{folder}"
    assert record.url == (folder / "km3io").as_uri()
    assert record.files == (
        RecordFile(
            "codemeta.json",
            len(codemeta),
            md5(codemeta),
            (folder / "km3io" / "codemeta.json").as_uri(),
        ),
        RecordFile("km3io.cwl", len(CWL), md5(CWL), (folder / "km3io" / "km3io.cwl").as_uri()),
        RecordFile(
            "ossrflow-interface.yml",
            15,
            md5(b"command: km3io\n"),
            (folder / "km3io" / "ossrflow-interface.yml").as_uri(),
        ),
    )


def test_doi_comes_from_codemeta_identifier(folder: Path):
    record = LocalRegistry(folder).get_record("agnpy")
    assert (record.doi, record.version) == ("10.5281/zenodo.4055175", "0.5.0")
    assert (
        LocalRegistry(folder).resolve_ref(parse_ref("https://doi.org/10.5281/zenodo.4055175"))
        == record
    )


def test_entry_without_codemeta_is_named_after_its_folder(folder: Path):
    record = LocalRegistry(folder).get_record("bare")
    assert (record.title, record.version, record.files) == ("bare", None, ())


def test_unknown_entry_lists_the_entries(folder: Path):
    with pytest.raises(NotFound) as caught:
        LocalRegistry(folder).get_record("fitsinfo")
    assert (
        str(caught.value)
        == f"dir:{folder}: no entry 'fitsinfo' (fix: entries here: agnpy, bare, broken, km3io)"
    )


def test_missing_registry_folder(tmp_path: Path):
    with pytest.raises(
        NotFound, match=re.escape(f"dir:{tmp_path}/nope: registry folder does not exist")
    ):
        LocalRegistry(tmp_path / "nope").search_records()


@pytest.mark.parametrize("name", ["..", "../registry", "a/b", ".", "x\x1b"])
def test_unsafe_entry_names_are_refused(folder: Path, name: str):
    with pytest.raises(UnsafeValue):
        LocalRegistry(folder).get_record(name)


def test_search_filters_and_reports_broken_entries(folder: Path):
    registry = LocalRegistry(folder)
    everything = registry.search_records()
    assert [r.id for r in everything.records] == ["agnpy", "bare", "km3io"]
    (refused,) = everything.refused
    assert str(refused).startswith(
        f"{folder}/broken/codemeta.json:13:164: invalid JSON: Expecting ',' delimiter"
    )
    assert [r.id for r in registry.search_records("KM3NET").records] == ["km3io"]
    assert [r.id for r in registry.search_records(keywords=["blazars"]).records] == ["agnpy"]
    assert [r.id for r in registry.search_records("agnpy", keywords=["km3net"]).records] == []


def test_symlink_leaving_the_entry_is_refused(folder: Path, tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("token")
    (folder / "km3io" / "leak.txt").symlink_to(secret)
    with pytest.raises(UnsafeValue) as caught:
        LocalRegistry(folder).get_record("km3io")
    assert (
        caught.value.problem
        == f"path 'leak.txt' leads outside {folder / 'km3io'} through a symbolic link"
    )


def test_symlinked_entry_folder_leaving_the_registry_is_refused(folder: Path, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (folder / "sneaky").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UnsafeValue, match="through a symbolic link"):
        LocalRegistry(folder).get_record("sneaky")


def test_symlink_inside_the_entry_is_fine(folder: Path):
    (folder / "km3io" / "tool.cwl").symlink_to(folder / "km3io" / "km3io.cwl")
    keys = [f.key for f in LocalRegistry(folder).get_record("km3io").files]
    assert "tool.cwl" in keys


def test_get_file_checks_the_file_did_not_change(folder: Path):
    registry = LocalRegistry(folder)
    record = registry.get_record("km3io")
    assert registry.get_file(record, "km3io.cwl") == folder / "km3io" / "km3io.cwl"
    (folder / "km3io" / "km3io.cwl").write_text("changed")
    with pytest.raises(ChecksumMismatch):
        registry.get_file(record, "km3io.cwl")


@pytest.mark.parametrize(
    ("path", "entry"),
    [("registry/km3io", "km3io"), ("registry/km3io/codemeta.json", "km3io"), ("registry", None)],
)
def test_open_local(folder: Path, path: str, entry: str | None):
    registry, name = open_local(str(folder.parent / path))
    assert name == entry
    assert registry.folder == (folder if entry is None else folder.resolve())


def test_open_local_missing_path(tmp_path: Path):
    with pytest.raises(NotFound) as caught:
        open_local(str(tmp_path / "nothing"))
    assert str(caught.value) == (
        f"{tmp_path}/nothing: no such folder or codemeta.json (fix: check the path; see `ossrflow show -h`)"
    )


def test_open_registry_with_a_dir_setting(folder: Path, tmp_path: Path):
    with open_registry(Settings(registry=f"dir:{folder}", cache_dir=tmp_path / "c")) as registry:
        assert isinstance(registry, LocalRegistry)
        assert registry.resolve_ref(parse_ref("km3io")).title == "km3io"


def test_get_entry_from_a_folder(folder: Path, tmp_path: Path):
    settings = Settings(cache_dir=tmp_path / "cache")
    entry = get_entry(f"dir:{folder}/km3io", settings)
    assert entry.codemeta is not None and entry.codemeta.name == "km3io"
    assert entry.codemeta_path == folder.resolve() / "km3io" / "codemeta.json"
    assert entry.cwl_keys() == ("km3io.cwl",)
    assert entry.interface_key() == "ossrflow-interface.yml"
    assert entry.file_path("km3io.cwl") == folder.resolve() / "km3io" / "km3io.cwl"
    assert get_entry(str(folder / "km3io" / "codemeta.json"), settings).record == entry.record
    assert not settings.cache_dir.exists()  # a folder entry is used in place


def test_get_entry_of_a_registry_folder_asks_for_one_entry(folder: Path, tmp_path: Path):
    with pytest.raises(InputError) as caught:
        get_entry(f"dir:{folder}", Settings(cache_dir=tmp_path))
    assert str(caught.value) == (
        f"REF: dir:{folder} is a folder registry, not one entry "
        f"(fix: name one entry as dir:{folder}/NAME (entries: agnpy, bare, broken, km3io))"
    )


def test_get_entry_with_invalid_codemeta_names_the_file(folder: Path, tmp_path: Path):
    with pytest.raises(InputError) as caught:
        get_entry(f"dir:{folder}/broken", Settings(cache_dir=tmp_path))
    assert (caught.value.source, caught.value.location) == (
        f"{folder}/broken/codemeta.json",
        "13:164",
    )


def test_folder_registry_setting_with_entry_name(folder: Path, tmp_path: Path):
    entry = get_entry("agnpy", Settings(registry=f"dir:{folder}", cache_dir=tmp_path))
    assert entry.record.doi == "10.5281/zenodo.4055175"

"""Pure record and search-page parsers, on the real Zenodo JSON of tests/data/fixtures/zenodo/."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from ossrflow.errors import InputError, NotFound, UnsafeValue
from ossrflow.registry.model import (
    RecordFile,
    SoftwareRecord,
    find_codemeta_key,
    parse_record,
    parse_search_page,
)
from tests.conftest import FIXTURES

ZENODO = FIXTURES / "zenodo"
SOURCE = "https://zenodo.org/api/records/4687123"


def legacy() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (ZENODO / "legacy2021_record_4687123_agnpy_full.json").read_text()
    )
    return data


def current() -> dict[str, Any]:
    path = ZENODO / "rdm2025_sandbox_record_393433_published_cwl_codemeta.json"
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_legacy_2021_record():
    record = parse_record(legacy(), SOURCE, registry="https://zenodo.org/api")
    assert record == SoftwareRecord(
        id="4687123",
        doi="10.5281/zenodo.4687123",
        concept_id="4055175",
        concept_doi="10.5281/zenodo.4055175",
        title="cosimoNigro/agnpy: v0.0.10: added EPWL for electrons and off-axis absorption calculation",
        version="v0.0.10",
        publication_date="2021-04-14",
        files=(
            RecordFile(
                key="cosimoNigro/agnpy-v0.0.10.zip",
                size=4662766,
                checksum="md5:21e85ec3ec312b54e45b39998b4dfa4b",
                url="https://zenodo.org/api/files/a806b549-922e-4025-9453-a5f4c0913fdd/cosimoNigro/agnpy-v0.0.10.zip",
            ),
        ),
        url="https://zenodo.org/record/4687123",
        registry="https://zenodo.org/api",
        description=record.description,
        creators=("Cosimo Nigro", "Julian Sitarek", "Matt Craig", "Paweł Gliwny", "Sourcery AI"),
    )
    assert (record.description or "").startswith(
        "In this release the major features added are: an exponential cutoff power-law"
    )


def test_current_record_with_content_links():
    record = parse_record(current(), "https://sandbox.zenodo.org/api/records/393433")
    assert (record.id, record.doi, record.concept_id, record.concept_doi) == (
        "393433",
        "10.5072/zenodo.393433",
        "393401",
        "10.5072/zenodo.393401",
    )
    assert record.version == "4.0.0"
    assert record.url == "https://sandbox.zenodo.org/records/393433"
    assert record.registry == "https://sandbox.zenodo.org/api/records/393433"
    assert len(record.files) == 8
    cwl = record.file("pattern-1_v4.0.0.cwl")
    assert cwl == RecordFile(
        key="pattern-1_v4.0.0.cwl",
        size=4792,
        checksum="md5:12beba8d3612216a01021c5f0031b4aa",
        url="https://sandbox.zenodo.org/api/records/393433/files/pattern-1_v4.0.0.cwl/content",
    )
    assert find_codemeta_key(record) == "pattern-1_codemeta_v4.0.0.json"


def test_invenio_rdm_native_shape():
    data = {
        "id": "abcd-1234",
        "pids": {"doi": {"identifier": "10.1234/abcd-1234", "provider": "datacite"}},
        "parent": {"id": "wxyz-9876", "pids": {"doi": {"identifier": "10.1234/wxyz-9876"}}},
        "metadata": {"title": "A tool", "version": "2.1", "publication_date": "2024-02-03"},
        "links": {
            "self": "https://rdm.example.org/api/records/abcd-1234",
            "self_html": "https://rdm.example.org/records/abcd-1234",
            "files": "https://rdm.example.org/api/records/abcd-1234/files",
        },
        "files": {
            "enabled": True,
            "entries": {
                "codemeta.json": {
                    "key": "codemeta.json",
                    "size": 10,
                    "checksum": "md5:" + "a" * 32,
                },
                "tool.cwl": {
                    "key": "tool.cwl",
                    "size": 20,
                    "checksum": "MD5:" + "B" * 32,
                    "links": {
                        "content": "https://rdm.example.org/api/records/abcd-1234/files/tool.cwl/content"
                    },
                },
            },
        },
    }
    record = parse_record(data, "https://rdm.example.org/api/records/abcd-1234")
    assert (record.id, record.doi, record.concept_id, record.concept_doi) == (
        "abcd-1234",
        "10.1234/abcd-1234",
        "wxyz-9876",
        "10.1234/wxyz-9876",
    )
    assert [f.to_json() for f in record.files] == [
        {
            "key": "codemeta.json",
            "size": 10,
            "checksum": "md5:" + "a" * 32,
            "url": "https://rdm.example.org/api/records/abcd-1234/files/codemeta.json/content",
        },
        {
            "key": "tool.cwl",
            "size": 20,
            "checksum": "md5:" + "b" * 32,
            "url": "https://rdm.example.org/api/records/abcd-1234/files/tool.cwl/content",
        },
    ]


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("../evil", "file key '../evil' is unsafe: climbs out of its folder with '..'"),
        ("a/../../b", "file key 'a/../../b' is unsafe: climbs out of its folder with '..'"),
        ("/etc/passwd", "file key '/etc/passwd' is an absolute path"),
        ("C:\\x.txt", "file key 'C:\\\\x.txt' is an absolute path"),
        (
            "dir\\x.txt",
            "file key 'dir\\\\x.txt' is unsafe: name 'dir\\\\x.txt' contains a path separator",
        ),
        (
            "bell\x07.txt",
            "file key 'bell\\x07.txt' is unsafe: name 'bell\\x07.txt' contains a control character",
        ),
        ("a//b", "file key 'a//b' is unsafe: name '' is empty or a relative directory"),
        ("", "file key '' is unsafe: name '' is empty or a relative directory"),
    ],
)
def test_unsafe_file_keys_are_refused_at_parse_time(key: str, problem: str):
    data = legacy()
    data["files"].append(copy.deepcopy(data["files"][0]) | {"key": key})
    with pytest.raises(UnsafeValue) as caught:
        parse_record(data, "ignored")
    assert str(caught.value) == (
        f"{SOURCE}:files[1].key: {problem} "
        "(fix: the registry must publish plain file names; this record is refused)"
    )
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("change", "location", "problem"),
    [
        ({"size": -1}, "files[0].size", "file size -1 is not a byte count"),
        ({"size": "big"}, "files[0].size", "file size 'big' is not a byte count"),
        (
            {"checksum": "md5:xyz"},
            "files[0].checksum",
            "checksum 'md5:xyz' has a malformed md5 digest",
        ),
        ({"key": None}, "files[0].key", "file key is missing"),
        ({"links": {}}, "files[0].links", "file has no download link"),
    ],
)
def test_malformed_file_entries_are_located(change: dict[str, object], location: str, problem: str):
    data = legacy()
    data["files"][0].update(change)
    with pytest.raises(InputError) as caught:
        parse_record(data, "ignored")
    assert caught.value.source == SOURCE
    assert caught.value.location == location
    assert caught.value.problem == problem


def test_record_without_id_or_not_an_object():
    with pytest.raises(InputError, match=r"^x:id: record has no id"):
        parse_record({"metadata": {}}, "x")
    with pytest.raises(InputError, match=r"^x: a record must be a JSON object, got list"):
        parse_record([], "x")


def test_missing_file_names_the_available_keys():
    record = parse_record(legacy(), SOURCE)
    with pytest.raises(NotFound) as caught:
        record.file("codemeta.json")
    assert str(caught.value) == (
        "https://zenodo.org/record/4687123: record 4687123 has no file 'codemeta.json' "
        "(fix: files of this record: cosimoNigro/agnpy-v0.0.10.zip)"
    )


def test_to_json_carries_the_documented_keys():
    data = parse_record(current(), "s").to_json()
    assert sorted(data) == [
        "concept_doi",
        "concept_id",
        "doi",
        "files",
        "id",
        "publication_date",
        "registry",
        "title",
        "url",
        "version",
    ]
    assert json.loads(json.dumps(data)) == data


def make_record(*keys: str) -> SoftwareRecord:
    files = tuple(RecordFile(k, 1, None, f"https://x/{k}") for k in keys)
    return SoftwareRecord("1", None, None, None, "t", None, None, files, None, "r")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("README.md", "codemeta.json"), "codemeta.json"),
        (("repo/sub/codemeta.json", "repo/codemeta.json"), "repo/codemeta.json"),
        (("tool_codemeta_v1.json", "README.md"), "tool_codemeta_v1.json"),
        (("a_codemeta.json", "b_codemeta.json"), None),
        (("tool.zip",), None),
    ],
)
def test_find_codemeta_key_follows_eossr(keys: tuple[str, ...], expected: str | None):
    assert find_codemeta_key(make_record(*keys)) == expected


def test_search_page_with_next_link_and_refused_hit():
    evil = legacy()
    evil["files"][0]["key"] = "../evil"
    answer = {
        "hits": {"hits": [legacy(), current(), evil], "total": {"value": 42}},
        "links": {"next": "https://zenodo.org/api/records?page=2&size=3"},
        "aggregations": json.loads(
            (ZENODO / "legacy2021_escape2020_search_aggregations.json").read_text()
        ),
    }
    page = parse_search_page(
        answer, "https://zenodo.org/api/records?page=1", registry="https://zenodo.org/api"
    )
    assert [r.id for r in page.records] == ["4687123", "393433"]
    assert page.total == 42
    assert page.next_url == "https://zenodo.org/api/records?page=2&size=3"
    assert [str(e).split(" (fix")[0] for e in page.refused] == [
        f"{SOURCE}:files[0].key: file key '../evil' is unsafe: climbs out of its folder with '..'"
    ]
    assert {r.registry for r in page.records} == {"https://zenodo.org/api"}


def test_search_page_without_hits_is_refused():
    with pytest.raises(InputError) as caught:
        parse_search_page({"status": 200}, "https://example.org/api/records")
    assert str(caught.value) == (
        "https://example.org/api/records:hits.hits: search answer has no hits.hits list "
        "(fix: check that --registry names a Zenodo API (e.g. https://zenodo.org/api))"
    )


def test_last_page_has_no_next_link():
    page = parse_search_page({"hits": {"hits": [], "total": 0}, "links": {}}, "s")
    assert (page.records, page.refused, page.total, page.next_url) == ((), (), 0, None)

"""ZenodoRegistry, OfflineRegistry and get_entry against the Zenodo-shaped loopback server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from ossrflow.config import Settings
from ossrflow.errors import ChecksumMismatch, InputError, NotFound, ServiceError, UnsafeValue
from ossrflow.registry import OfflineRegistry, ZenodoRegistry, open_registry, parse_ref
from ossrflow.registry.cache import RecordCache, registry_slug
from ossrflow.registry.entry import get_entry
from ossrflow.transfer import make_client
from tests.support.httpserver import LoopbackServer
from tests.support.zenodo import ZenodoApp, codemeta_bytes

LATEST = ["4687123", "100", "110", "120", "130", "140", "310", "320", "340"]


@pytest.fixture
def settings(zenodo_server: ZenodoApp, tmp_path: Path) -> Settings:
    return Settings(registry=zenodo_server.api, cache_dir=tmp_path / "cache", retries=2)


@pytest.fixture
def registry(zenodo_server: ZenodoApp, settings: Settings) -> Iterator[ZenodoRegistry]:
    client = make_client(timeout=5, retries=2, backoff=0.001)
    cache = RecordCache(settings.cache_dir, zenodo_server.api)
    with (
        client,
        ZenodoRegistry(
            zenodo_server.api, community="escape2020", client=client, cache=cache
        ) as reg,
    ):
        yield reg


def search_queries(server: LoopbackServer) -> list[dict[str, str]]:
    paths = [urlsplit(s.path) for s in server.requests]
    return [
        {k: v[-1] for k, v in parse_qs(p.query).items()} for p in paths if p.path == "/api/records"
    ]


def stored_files(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.cache_dir / "store").rglob("*") if p.is_file())


# --- search -------------------------------------------------------------------------------


def test_search_follows_links_next_over_every_page(
    zenodo_server: ZenodoApp, registry: ZenodoRegistry
):
    zenodo_server.max_page_size = 2
    results = registry.search_records()
    assert [r.id for r in results.records] == LATEST
    assert results.total == 9 and results.refused == ()
    queries = search_queries(zenodo_server.server)
    assert queries[0] == {
        "size": "25",
        "page": "1",
        "type": "software",
        "communities": "escape2020",
    }
    assert [q["page"] for q in queries] == ["1", "2", "3", "4", "5"]


def test_search_all_versions_and_keywords(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    results = registry.search_records(keywords=["CTA"], all_versions=True)
    assert [(r.id, r.version) for r in results.records] == [
        ("4055176", "0.4.0"),
        ("4687123", "0.5.0"),
        ("110", "0.11.3"),
    ]
    query = search_queries(zenodo_server.server)[0]
    assert query["q"] == 'keywords:"CTA"' and query["all_versions"] == "true"


def test_search_free_text_and_keyword_are_anded(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    results = registry.search_records("agnpy", keywords=['say "hi"'])
    assert results.records == ()
    assert search_queries(zenodo_server.server)[0]["q"] == 'agnpy AND keywords:"say \\"hi\\""'


def test_empty_community_searches_everything(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    registry.community = ""
    assert "150" in [r.id for r in registry.search_records("plasmapy").records]
    assert "communities" not in search_queries(zenodo_server.server)[0]


def test_unsafe_hit_is_left_out_with_its_reason(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    zenodo_server.records["330"].community = "escape2020"
    results = registry.search_records("tool")
    assert [r.id for r in results.records] == ["320", "340"]
    (refused,) = results.refused
    assert isinstance(refused, UnsafeValue)
    assert (refused.source, refused.location) == (
        f"{zenodo_server.api}/records/330",
        "files[0].key",
    )


def test_next_link_to_another_host_is_refused(http_server: LoopbackServer, tmp_path: Path):
    page = {
        "hits": {"hits": [], "total": 30},
        "links": {"next": "https://evil.example.org/api/records?page=2"},
    }
    http_server.route("/api/records", json_body=page)
    cache = RecordCache(tmp_path, f"{http_server.url}/api")
    with make_client(timeout=2, retries=0) as client, pytest.raises(UnsafeValue) as caught:
        ZenodoRegistry(f"{http_server.url}/api", client=client, cache=cache).search_records()
    assert (
        caught.value.problem
        == "links.next points to another host: https://evil.example.org/api/records?page=2"
    )


# --- records, versions, concepts ----------------------------------------------------------


def test_version_id_is_pinned(registry: ZenodoRegistry):
    record = registry.get_record("4055176")
    assert (record.id, record.version, record.concept_id) == ("4055176", "0.4.0", "4055175")


def test_concept_id_resolves_to_latest_like_current_zenodo(
    zenodo_server: ZenodoApp, registry: ZenodoRegistry
):
    record = registry.get_record("4055175")
    assert (record.id, record.version) == ("4687123", "0.5.0")
    paths = [s.path for s in zenodo_server.server.requests]
    assert paths == [
        "/api/records/4055175",  # 404 on current Zenodo
        "/api/records/4055175/versions/latest",  # 302
        "/api/records/4687123",
    ]
    assert registry.cache.lookup("concept:4055175") == "4687123"


def test_concept_id_on_legacy_zenodo_redirects(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    zenodo_server.legacy_concepts = True
    assert registry.get_record("4055175").id == "4687123"
    assert [s.path for s in zenodo_server.server.requests] == [
        "/api/records/4055175",
        "/api/records/4687123",
    ]


@pytest.mark.parametrize(
    ("doi", "expected"),
    [
        ("10.5281/zenodo.4055176", "4055176"),
        ("10.5281/zenodo.4055175", "4687123"),
        ("10.5281/ZENODO.100", "100"),
    ],
)
def test_dois_resolve(registry: ZenodoRegistry, doi: str, expected: str):
    assert registry.resolve_ref(parse_ref(doi)).id == expected
    assert registry.cache.lookup(f"doi:{doi}") == expected


def test_doi_minted_elsewhere_is_not_mistaken(registry: ZenodoRegistry):
    with pytest.raises(NotFound) as caught:
        registry.resolve_doi("10.5072/zenodo.100")
    assert caught.value.problem == (
        "DOI 10.5072/zenodo.100 is not a record of this registry (record 100 has DOI 10.5281/zenodo.100)"
    )


def test_other_dois_are_searched(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    with pytest.raises(NotFound, match=re.escape("no record has DOI 10.1093/mnras/stab123")):
        registry.resolve_doi("10.1093/mnras/stab123")
    assert [q["q"] for q in search_queries(zenodo_server.server)] == [
        'doi:"10.1093/mnras/stab123"',
        'conceptdoi:"10.1093/mnras/stab123"',
    ]


def test_record_url_of_another_host_is_refused(registry: ZenodoRegistry):
    with pytest.raises(InputError) as caught:
        registry.resolve_ref(parse_ref("https://zenodo.org/records/100"))
    assert (
        caught.value.problem
        == f"https://zenodo.org/records/100 is on zenodo.org, but the registry is {registry.base_url}"
    )
    assert (
        caught.value.hint == "pass --registry https://zenodo.org/api, or give the record id alone"
    )


def test_record_url_of_the_registry_host(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    assert registry.resolve_ref(parse_ref(f"{zenodo_server.url}/records/100")).id == "100"


@pytest.mark.parametrize(
    ("record_id", "problem"),
    [("300", "record 300 was deleted (HTTP 410 Gone)"), ("999", "record 999 not found (HTTP 404)")],
)
def test_deleted_and_unknown_records(
    zenodo_server: ZenodoApp, registry: ZenodoRegistry, record_id: str, problem: str
):
    with pytest.raises(NotFound) as caught:
        registry.get_record(record_id)
    assert (caught.value.source, caught.value.problem) == (
        f"{zenodo_server.api}/records/{record_id}",
        problem,
    )
    assert registry.cache.get_record(record_id) is None


def test_429_then_success(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    zenodo_server.throttle("/api/records/100", times=2, retry_after="0")
    assert registry.get_record("100").title == "km3io"
    assert [s.path for s in zenodo_server.server.requests] == ["/api/records/100"] * 3


def test_429_forever_gives_up_with_service_error(
    zenodo_server: ZenodoApp, registry: ZenodoRegistry
):
    zenodo_server.throttle("/api/records/100", times=99, retry_after="0")
    with pytest.raises(ServiceError) as caught:
        registry.get_record("100")
    assert caught.value.problem == "the server failed (HTTP 429) after retries"
    assert caught.value.exit_code == 3


def test_unsafe_key_refuses_the_record_and_caches_nothing(
    zenodo_server: ZenodoApp, registry: ZenodoRegistry
):
    with pytest.raises(UnsafeValue) as caught:
        registry.get_record("330")
    assert str(caught.value) == (
        f"{zenodo_server.api}/records/330:files[0].key: file key '../evil' is unsafe: climbs out of its "
        "folder with '..' (fix: the registry must publish plain file names; this record is refused)"
    )
    assert not (registry.cache.folder / "330.json").exists()


def test_record_json_is_cached_as_sent(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    registry.get_record("4687123")
    cached = json.loads((registry.cache.folder / "4687123.json").read_text())
    assert cached == zenodo_server.record_json(zenodo_server.records["4687123"])


# --- files --------------------------------------------------------------------------------


def test_file_is_verified_cached_and_fetched_once(
    zenodo_server: ZenodoApp, registry: ZenodoRegistry, settings: Settings
):
    record = registry.get_record("4687123")
    first = registry.get_file(record, "cosimoNigro/agnpy-v0.0.10.zip")
    second = registry.get_file(record, "cosimoNigro/agnpy-v0.0.10.zip")
    assert first.read_bytes() == zenodo_server.records["4687123"].files[1].data
    assert second.read_bytes() == first.read_bytes()
    file_requests = [s.path for s in zenodo_server.server.requests if "/files/" in s.path]
    assert file_requests == ["/api/files/bucket-4687123/cosimoNigro/agnpy-v0.0.10.zip"]


def test_checksum_mismatch_keeps_nothing(
    zenodo_server: ZenodoApp, registry: ZenodoRegistry, settings: Settings
):
    record = registry.get_record("320")
    with pytest.raises(ChecksumMismatch) as caught:
        registry.get_file(record, "codemeta.json")
    assert caught.value.source == f"{zenodo_server.api}/records/320/files/codemeta.json/content"
    assert stored_files(settings) == []


def test_file_link_to_another_host_is_refused(zenodo_server: ZenodoApp, registry: ZenodoRegistry):
    record = registry.get_record("100")
    moved = replace(
        record, files=(replace(record.files[0], url="http://example.org/codemeta.json"),)
    )
    with pytest.raises(
        UnsafeValue, match=re.escape("points to another host: http://example.org/codemeta.json")
    ):
        registry.get_file(moved, "codemeta.json")


# --- offline ------------------------------------------------------------------------------


def test_offline_serves_what_was_pinned(zenodo_server: ZenodoApp, settings: Settings):
    online = get_entry("10.5281/zenodo.4055175", settings)
    before = len(zenodo_server.server.requests)
    offline = replace(settings, offline=True)
    with open_registry(offline) as cached:
        assert isinstance(cached, OfflineRegistry)
        assert cached.get_record("4055175").id == "4687123"
        assert cached.resolve_ref(parse_ref("10.5281/zenodo.4687123")).id == "4687123"
    entry = get_entry("https://doi.org/10.5281/zenodo.4055175", offline)
    assert entry.record == online.record and entry.codemeta == online.codemeta
    assert len(zenodo_server.server.requests) == before


def test_offline_refuses_what_was_never_pinned(settings: Settings):
    offline = replace(settings, offline=True)
    slug = registry_slug(settings.registry)
    with open_registry(offline) as cached, pytest.raises(NotFound) as caught:
        cached.get_record("100")
    assert str(caught.value) == (
        f"{settings.cache_dir}/records/{slug}: record 100 is not in the offline cache "
        "(fix: run the same command once without --offline to put it in the cache)"
    )
    with (
        open_registry(offline) as cached,
        pytest.raises(InputError, match="search needs the registry"),
    ):
        cached.search_records("x")
    with open_registry(offline) as cached, pytest.raises(InputError, match=r"is on zenodo\.org"):
        cached.resolve_ref(parse_ref("https://zenodo.org/records/100"))


def test_offline_file_not_downloaded_is_not_found(zenodo_server: ZenodoApp, settings: Settings):
    entry = get_entry("100", settings)
    offline = get_entry("100", replace(settings, offline=True))
    assert offline.codemeta == entry.codemeta
    with pytest.raises(
        NotFound, match=re.escape("file 'km3io-info.cwl' of record 100 is not in the offline cache")
    ):
        offline.file_path("km3io-info.cwl")


# --- entries ------------------------------------------------------------------------------


def test_entry_with_cwl_and_interface(zenodo_server: ZenodoApp, settings: Settings):
    entry = get_entry("100", settings)
    assert entry.codemeta is not None and entry.codemeta.name == "km3io"
    assert entry.codemeta_path is not None
    assert entry.codemeta_path.read_bytes() == codemeta_bytes("KM3NeT__km3io")
    assert entry.cwl_keys() == ("km3io-info.cwl",)
    assert entry.interface_key() == "ossrflow-interface.yml"
    assert entry.file_path("km3io-info.cwl").read_text().startswith("cwlVersion: v1.2")
    assert entry.require_codemeta() is entry.codemeta


def test_entry_codemeta_from_the_zip_archive(settings: Settings):
    entry = get_entry("340", settings)
    assert entry.codemeta is not None and entry.codemeta.name == "codemeta2zenodo"
    assert (
        entry.codemeta_path is not None
        and entry.codemeta_path.parent == settings.cache_dir / "codemeta"
    )
    assert entry.cwl_keys() == () and entry.interface_key() is None


def test_entry_without_codemeta(settings: Settings):
    entry = get_entry("310", settings)
    assert (entry.codemeta, entry.codemeta_path) == (None, None)
    with pytest.raises(NotFound, match=re.escape("record 310 has no codemeta.json")):
        entry.require_codemeta()


def test_entry_with_invalid_codemeta_json(zenodo_server: ZenodoApp, settings: Settings):
    with pytest.raises(InputError) as caught:
        get_entry("160", settings)
    assert str(caught.value) == (
        f"{zenodo_server.api}/records/160/files/codemeta.json/content:13:164: invalid JSON: "
        "Expecting ',' delimiter (fix: the published codemeta.json is broken; ask the record's authors to fix it)"
    )


def test_entry_checksum_mismatch(settings: Settings):
    with pytest.raises(ChecksumMismatch):
        get_entry("320", settings)
    assert stored_files(settings) == []


def test_token_only_in_authorization_header(zenodo_server: ZenodoApp, settings: Settings):
    get_entry("10.5281/zenodo.4055175", replace(settings, token="tok-123456"))
    assert zenodo_server.server.requests
    for seen in zenodo_server.server.requests:
        assert seen.headers["authorization"] == "Bearer tok-123456"
        assert "tok-123456" not in seen.path

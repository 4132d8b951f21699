"""A concept's versions: Zenodo's /records/<id>/versions, a folder entry, and --offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from ossrflow.config import Settings
from ossrflow.errors import InputError
from ossrflow.registry import open_registry
from tests.conftest import REPO
from tests.support.zenodo import ZenodoApp


def test_zenodo_lists_every_version_newest_first_across_pages(
    zenodo_server: ZenodoApp, tmp_path: Path
) -> None:
    zenodo_server.max_page_size = 1
    settings = Settings(registry=zenodo_server.api, cache_dir=tmp_path)
    with open_registry(settings) as registry:
        record = registry.get_record("4055176")
        found = registry.search_versions(record)
    assert [(r.id, r.version, r.concept_id) for r in found.records] == [
        ("4687123", "0.5.0", "4055175"),
        ("4055176", "0.4.0", "4055175"),
    ]
    assert found.total == 2
    assert found.records[0].creators[0] == "Cosimo Nigro"
    assert found.records[0].keywords == ("CTA", "blazars")


def test_a_folder_entry_is_its_only_version(tmp_path: Path) -> None:
    settings = Settings(registry=f"dir:{REPO / 'workflows' / 'registry'}", cache_dir=tmp_path)
    with open_registry(settings) as registry:
        record = registry.get_record("astropy-showtable")
        found = registry.search_versions(record)
    assert found.records == (record,)
    assert (record.description, record.creators) == (
        "Astronomy and astrophysics core library",
        ("Astropy Collaboration",),
    )
    assert "fits" in record.keywords


def test_offline_versions_need_the_registry(zenodo_server: ZenodoApp, tmp_path: Path) -> None:
    online = Settings(registry=zenodo_server.api, cache_dir=tmp_path)
    with open_registry(online) as registry:
        record = registry.get_record("100")
    offline = Settings(registry=zenodo_server.api, cache_dir=tmp_path, offline=True)
    with open_registry(offline) as registry, pytest.raises(InputError) as info:
        registry.search_versions(record)
    assert "listing versions needs the registry, and --offline is set" in str(info.value)

"""POST /ossrflow/v1/match: every cart form ESAP produces, ranked answers with TRS ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import ossrflow
from tests.serve.test_trs import PREFIX, make_app, make_registry, running, serve_config
from tests.support.zenodo import ZenodoApp

FITS_ROW = {
    "archive": "rucio",
    "record": {"scope": "ska", "name": "obs/m67_V_001.fits", "bytes": 4},
}
NOTES = "https://example.org/data/notes.txt"
FITS_HEAD = b"SIMPLE  =                    T".ljust(80) + b"END".ljust(80)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    tmp = tmp_path_factory.mktemp("finder")
    registry = make_registry(tmp / "registry")
    data = tmp / "data"
    data.mkdir()
    (data / "m67.csv").write_bytes(FITS_HEAD)  # a FITS image under a CSV name
    settings = ossrflow.Settings(registry=f"dir:{registry}", cache_dir=tmp / "cache")
    with running(make_app(serve_config(settings, tmp, roots=(data,)))) as url:
        yield url, data


def match(url: str, cart: object, query: str = "") -> httpx.Response:
    return httpx.post(f"{url}/ossrflow/v1/match{query}", json=cart, timeout=120)


def ranked(answer: httpx.Response) -> list[tuple[str, int, str | None]]:
    body: dict[str, Any] = answer.json()
    return [
        (c["ref"], c["score"], c["trs"]["id"] if c["trs"] else None) for c in body["candidates"]
    ]


ESAP_FORMS = {
    "gui basket": [FITS_ROW, {"archive": "apertif", "record": {"url": NOTES}}],
    "patch payload": {
        "shopping_cart": [FITS_ROW, {"archive": "apertif", "record": {"url": NOTES}}]
    },
    "stored rows": [
        {"item_data": json.dumps(FITS_ROW), "user_profile": "jdoe"},
        {"item_data": json.dumps({"archive": "apertif", "record": {"url": NOTES}})},
    ],
    "user-profiles answer": {
        "results": [
            {
                "shopping_cart": [
                    {"item_data": json.dumps(FITS_ROW)},
                    {"item_data": json.dumps({"archive": "apertif", "record": {"url": NOTES}})},
                ]
            }
        ]
    },
    "items": {"items": [{"location": "ska:obs/m67_V_001.fits"}, {"location": NOTES}]},
    "list of locations": ["ska:obs/m67_V_001.fits", NOTES],
}


@pytest.mark.parametrize("form", sorted(ESAP_FORMS))
def test_every_cart_form_gets_the_same_ranking(service: tuple[str, Path], form: str) -> None:
    url, _ = service
    answer = match(url, ESAP_FORMS[form])
    assert answer.status_code == 200, answer.text
    assert ranked(answer) == [
        ("astropy-fitscheck", 5, "astropy-fitscheck"),
        ("wc-lines", 2, "wc-lines"),
    ]


def test_the_answer_carries_items_reasons_skipped_and_trs_links(service: tuple[str, Path]) -> None:
    url, _ = service
    body = match(url, ESAP_FORMS["gui basket"]).json()
    assert body["considered"] == 3
    assert body["items"] == [
        {
            "name": "m67_V_001.fits",
            "location": "ska:obs/m67_V_001.fits",
            "format": "https://www.iana.org/assignments/media-types/application/fits",
            "format_from": "name",
            "note": None,
        },
        {
            "name": "notes.txt",
            "location": NOTES,
            "format": "http://edamontology.org/format_2330",
            "format_from": "name",
            "note": None,
        },
    ]
    first = body["candidates"][0]
    assert first == {
        "rank": 1,
        "ref": "astropy-fitscheck",
        "title": "Astropy",
        "version": "8.0.1",
        "input": "image",
        "input_type": "File",
        "accepted": 1,
        "total": 2,
        "score": 5,
        "reasons": ["declared format FITS", "codemeta keyword 'fits'"],
        "formats": ["https://www.iana.org/assignments/media-types/application/fits"],
        "how": "image (File): one run per item (1)",
        "trs": {
            "id": "astropy-fitscheck",
            "version": "8.0.1",
            "tool": f"{url}{PREFIX}/tools/astropy-fitscheck",
            "descriptor": f"{url}{PREFIX}/tools/astropy-fitscheck/versions/8.0.1/PLAIN_CWL/"
            "descriptor",
        },
    }
    assert httpx.get(first["trs"]["descriptor"], timeout=60).text.startswith("cwlVersion: v1.2")
    assert body["skipped"] == [
        {
            "ref": "no-interface",
            "reason": "no tool: the entry ships no .cwl CommandLineTool or ossrflow-interface.yml",
        }
    ]
    assert body["refused"] == []
    assert len(match(url, ESAP_FORMS["gui basket"], "?limit=1").json()["candidates"]) == 1


def test_local_files_are_read_in_the_data_roots_only(
    service: tuple[str, Path], tmp_path: Path
) -> None:
    url, data = service
    inside = match(url, [str(data / "m67.csv"), "m67.csv"]).json()
    assert [(i["location"], i["format_from"], i["note"]) for i in inside["items"]] == [
        (str(data / "m67.csv"), "bytes", "the name says CSV"),
        (str(data / "m67.csv"), "bytes", "the name says CSV"),  # relative: in the first root
    ]
    assert inside["candidates"][0]["ref"] == "astropy-fitscheck"
    (tmp_path / "m67.csv").write_bytes(FITS_HEAD)
    (data / "link.csv").symlink_to(tmp_path / "m67.csv")
    for outside in (str(tmp_path / "m67.csv"), str(data / "link.csv")):
        answer = match(url, [outside])
        assert answer.status_code == 200
        item = answer.json()["items"][0]
        assert (item["format"], item["format_from"]) == (
            "http://edamontology.org/format_3752",
            "name",
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body:1:2: invalid JSON"),
        (b"[]", "request body: the cart has no items"),
        (
            b'{"items": [{"location": "x.fits", "colour": 1}]}',
            "request body:items[0].colour: unknown key",
        ),
        (
            b'[{"archive": "zooniverse"}]',
            "request body:items[0].archive: archive 'zooniverse' cannot be staged",
        ),
    ],
)
def test_bad_carts_are_located_400s(service: tuple[str, Path], body: bytes, message: str) -> None:
    url, _ = service
    answer = httpx.post(f"{url}/ossrflow/v1/match", content=body, timeout=60)
    assert answer.status_code == 400
    assert answer.json()["msg"].startswith(message), answer.json()


def test_a_cart_too_large_is_refused(service: tuple[str, Path]) -> None:
    url, _ = service
    answer = httpx.post(f"{url}/ossrflow/v1/match", content=b" " * (4 << 20) + b"[]", timeout=60)
    assert answer.status_code == 400
    assert "more than 4194304" in answer.json()["msg"]


def test_zenodo_candidates_carry_concept_ids(zenodo_server: ZenodoApp, tmp_path: Path) -> None:
    settings = ossrflow.Settings(
        registry=zenodo_server.api, community="escape2020", cache_dir=tmp_path / "c"
    )
    with running(make_app(serve_config(settings, tmp_path))) as url:
        answer = match(url, ["https://example.org/run1.root"], "?query=km3net")
    assert answer.status_code == 200, answer.text
    candidate = answer.json()["candidates"][0]
    assert (candidate["ref"], candidate["trs"]["id"], candidate["trs"]["version"]) == (
        "100",
        "zenodo.99",
        "100",
    )

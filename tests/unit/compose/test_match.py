"""Matchmaking: scoring on hand-made profiles (pure), and the walk over the demo registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from ossrflow.compose.match import (
    Candidate,
    EntryProfile,
    format_label,
    match_data_items,
    match_entries,
    rank,
    score_entry,
)
from ossrflow.config import Settings
from ossrflow.cwl.types import Param, Signature, parse_type
from ossrflow.errors import InputError
from ossrflow.staging.cart import CartItem, load_cart
from tests.conftest import REPO

FITS = "https://www.iana.org/assignments/media-types/application/fits"
CSV = "http://edamontology.org/format_3752"
REGISTRY = REPO / "workflows" / "registry"


def item(name: str, fmt: str | None) -> CartItem:
    return CartItem(name, name, format=fmt, kind="file")


def profile(ref: str, *params: Param, keywords: tuple[str, ...] = ()) -> EntryProfile:
    signature = Signature(ref, {p.name: p for p in params}, {})
    return EntryProfile(ref, ref.title(), "1.0", keywords, signature)


def file_param(
    name: str, kind: str = "File", formats: tuple[str, ...] = (), label: str | None = None
) -> Param:
    return Param(name, parse_type(kind), formats=formats, label=label)


def test_format_match_scores_three_per_item_and_says_why() -> None:
    candidate = score_entry(
        [item("a.fits", FITS), item("b.fits", FITS)],
        profile("checker", file_param("image", formats=(FITS,)), keywords=("fits", "astronomy")),
    )
    assert candidate == Candidate(
        ref="checker",
        title="Checker",
        version="1.0",
        input="image",
        input_type="File",
        accepted=2,
        total=2,
        score=7,
        reasons=("format FITS", "codemeta keyword 'fits'"),
        formats=(FITS,),
    )
    assert candidate.how == "image (File): one run per item (2)"


def test_an_input_of_another_format_takes_nothing() -> None:
    assert (
        score_entry([item("a.csv", CSV)], profile("checker", file_param("image", formats=(FITS,))))
        is None
    )


def test_several_declared_formats_score_lower_than_one() -> None:
    exact = score_entry([item("a.fits", FITS)], profile("one", file_param("x", formats=(FITS,))))
    broad = score_entry(
        [item("a.fits", FITS)], profile("many", file_param("x", formats=(FITS, CSV)))
    )
    assert exact is not None and broad is not None
    assert (exact.score, broad.score) == (3, 2)


def test_inputs_without_format_take_any_file_and_labels_count() -> None:
    labelled = score_entry(
        [item("a.fits", FITS)], profile("l", file_param("x", label="FITS images"))
    )
    plain = score_entry([item("a.fits", FITS)], profile("p", file_param("x")))
    assert labelled is not None and plain is not None
    assert (labelled.score, labelled.reasons) == (2, ("input label names .fits",))
    assert (plain.score, plain.reasons) == (1, ("input takes any file",))


def test_array_input_takes_all_items_in_one_run() -> None:
    candidate = score_entry(
        [item("a.fits", FITS), item("b.fits", FITS)],
        profile("many", file_param("images", "File[]", formats=(FITS,))),
    )
    assert candidate is not None
    assert candidate.how == "images (File[]): all 2 in one run"


def test_non_file_inputs_are_ignored_and_best_input_wins() -> None:
    candidate = score_entry(
        [item("a.fits", FITS), item("t.csv", CSV)],
        profile(
            "tool",
            Param("name", parse_type("string")),
            file_param("table", formats=(CSV,)),
            file_param("image", formats=(FITS, CSV)),
        ),
    )
    assert candidate is not None
    assert (candidate.input, candidate.accepted, candidate.score) == ("image", 2, 4)


def test_entry_without_interface_matches_on_keywords_only() -> None:
    no_tool = EntryProfile(
        "gammapy", "Gammapy", "2.0", ("FITS", "gamma-rays"), None, "no tool: no interface"
    )
    candidate = score_entry([item("events.fits", FITS)], no_tool)
    assert candidate is not None
    assert candidate.how == "keywords only (no tool interface)"
    assert candidate.reasons == ("codemeta keyword 'FITS'", "no tool: no interface")
    assert score_entry([item("x.h5", None)], no_tool) is None


def test_rank_prefers_share_of_items_then_score_then_name() -> None:
    def c(ref: str, accepted: int, score: int) -> Candidate:
        return Candidate(ref, ref, None, "x", "File", accepted, 4, score, ())

    ranked = rank([c("b", 2, 9), c("a", 4, 4), c("c", 4, 4), c("d", 4, 8)])
    assert [x.ref for x in ranked] == ["d", "a", "c", "b"]


def test_data_items_take_formats_from_extensions() -> None:
    items = match_data_items(["obs/m67.fits", "https://example.org/cat.csv", "x.unknown"])
    assert [(i.name, i.format) for i in items] == [
        ("m67.fits", FITS),
        ("cat.csv", CSV),
        ("x.unknown", None),
    ]
    with pytest.raises(InputError):
        match_data_items([])


def test_format_label() -> None:
    assert format_label(FITS) == "FITS"
    assert format_label(CSV) == "CSV"
    assert format_label("http://edamontology.org/format_9999") == "format_9999"


def test_demo_cart_against_the_demo_registry(tmp_path: Path) -> None:
    items = load_cart(REPO / "workflows" / "demo" / "cart.json")
    result = match_entries(items, Settings(registry=f"dir:{REGISTRY}", cache_dir=tmp_path))
    assert result.considered == 3
    assert [(c.ref, c.input, c.accepted, c.score) for c in result.candidates] == [
        ("astropy-fitscheck", "image", 4, 13),
        ("astropy-fitsheader", "images", 4, 13),
        ("astropy-showtable", "table", 4, 9),
    ]


def test_a_table_only_matches_the_table_viewer(tmp_path: Path) -> None:
    items = match_data_items(["obslog.csv"])
    result = match_entries(items, Settings(registry=f"dir:{REGISTRY}", cache_dir=tmp_path))
    assert [(c.ref, c.reasons) for c in result.candidates] == [
        ("astropy-showtable", ("format CSV",)),
    ]


def test_unreadable_entries_are_reported_not_fatal(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    (registry / "broken").mkdir(parents=True)
    (registry / "broken" / "codemeta.json").write_text("{not json")
    good = registry / "showtable"
    good.mkdir()
    for name in ("codemeta.json", "ossrflow-interface.yml"):
        (good / name).write_bytes((REGISTRY / "astropy-showtable" / name).read_bytes())
    result = match_entries(
        match_data_items(["t.csv"]), Settings(registry=f"dir:{registry}", cache_dir=tmp_path)
    )
    assert [c.ref for c in result.candidates] == ["showtable"]
    assert len(result.refused) == 1
    assert "invalid JSON" in str(result.refused[0])

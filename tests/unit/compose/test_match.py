"""Matchmaking: scoring on hand-made profiles (pure), item formats, and the registry walk."""

from __future__ import annotations

from pathlib import Path

import pytest

from ossrflow.compose.match import (
    Candidate,
    EntryProfile,
    Skipped,
    format_label,
    match_data_items,
    match_entries,
    match_profiles,
    rank,
    score_entry,
)
from ossrflow.config import Settings
from ossrflow.cwl.types import Param, Signature, parse_type
from ossrflow.errors import InputError
from ossrflow.staging.cart import CartItem, load_cart
from ossrflow.staging.sniff import DataItem, FormatGuess, describe_items
from tests.conftest import REPO

FITS = "https://www.iana.org/assignments/media-types/application/fits"
EDAM = "http://edamontology.org/"
CSV = EDAM + "format_3752"
TEXTUAL = EDAM + "format_2330"
PLAIN = EDAM + "format_1964"
REGISTRY = REPO / "workflows" / "registry"
FITS_HEAD = b"SIMPLE  =                    T / file does conform to FITS standard"


def item(name: str, fmt: str | None, origin: str = "name") -> DataItem:
    guess = FormatGuess(fmt, origin if fmt else "none")  # type: ignore[arg-type]
    return DataItem(CartItem(name, name, format=fmt, kind="file"), guess)


def profile(ref: str, *params: Param, keywords: tuple[str, ...] = ()) -> EntryProfile:
    signature = Signature(ref, {p.name: p for p in params}, {})
    return EntryProfile(ref, ref.title(), "1.0", keywords, signature)


def file_param(
    name: str, kind: str = "File", formats: tuple[str, ...] = (), label: str | None = None
) -> Param:
    return Param(name, parse_type(kind), formats=formats, label=label)


def test_a_declared_format_scores_four_per_item_and_says_why() -> None:
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
        score=9,
        reasons=("declared format FITS", "codemeta keyword 'fits'"),
        formats=(FITS,),
    )
    assert candidate.how == "image (File): one run per item (2)"


def test_an_input_of_another_format_takes_nothing_and_says_why() -> None:
    skipped = score_entry(
        [item("a.csv", CSV)], profile("checker", file_param("image", formats=(FITS,)))
    )
    assert skipped == Skipped("checker", "image takes FITS; the data are CSV")


def test_several_declared_formats_score_lower_than_one() -> None:
    exact = score_entry([item("a.fits", FITS)], profile("one", file_param("x", formats=(FITS,))))
    broad = score_entry(
        [item("a.fits", FITS)], profile("many", file_param("x", formats=(FITS, CSV)))
    )
    assert isinstance(exact, Candidate) and isinstance(broad, Candidate)
    assert (exact.score, broad.score) == (4, 3)


def test_edam_subclasses_are_taken_and_named_as_such() -> None:
    textual = profile("wc", file_param("text", formats=(TEXTUAL,)))
    candidate = score_entry([item("t.csv", CSV)], textual)
    assert isinstance(candidate, Candidate)
    assert (candidate.score, candidate.reasons) == (3, ("CSV is a kind of Textual format (EDAM)",))


def test_a_txt_file_may_be_plain_text_and_the_reason_says_how_to_be_sure() -> None:
    plain = profile("fold", file_param("text", formats=(PLAIN,)))
    candidate = score_entry([item("notes.txt", TEXTUAL)], plain)
    assert isinstance(candidate, Candidate)
    assert (candidate.score, candidate.reasons) == (
        2,
        (
            "Textual format may be plain text format (unformatted) (EDAM): say so in the cart "
            "to run it",
        ),
    )


def test_a_declared_matching_format_outranks_takes_any_file() -> None:
    items = [item("notes.txt", TEXTUAL)]
    candidates, skipped = match_profiles(
        items,
        [
            profile("any", file_param("x")),
            profile("plain", file_param("x", formats=(PLAIN,))),
            profile("textual", file_param("x", formats=(TEXTUAL,))),
        ],
    )
    assert [(c.ref, c.score) for c in candidates] == [("textual", 4), ("plain", 2), ("any", 1)]
    assert skipped == ()


def test_inputs_without_format_take_any_file_and_labels_count() -> None:
    labelled = score_entry(
        [item("a.fits", FITS)], profile("l", file_param("x", label="FITS images"))
    )
    plain = score_entry([item("a.fits", FITS)], profile("p", file_param("x")))
    assert isinstance(labelled, Candidate) and isinstance(plain, Candidate)
    assert (labelled.score, labelled.reasons) == (2, ("input label names .fits",))
    assert (plain.score, plain.reasons) == (1, ("input takes any file",))


def test_array_input_takes_all_items_in_one_run() -> None:
    candidate = score_entry(
        [item("a.fits", FITS), item("b.fits", FITS)],
        profile("many", file_param("images", "File[]", formats=(FITS,))),
    )
    assert isinstance(candidate, Candidate)
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
    assert isinstance(candidate, Candidate)
    assert (candidate.input, candidate.accepted, candidate.score) == ("image", 2, 6)


def test_entry_without_interface_matches_on_keywords_only() -> None:
    no_tool = EntryProfile(
        "gammapy", "Gammapy", "2.0", ("FITS", "gamma-rays"), None, "no tool: no interface"
    )
    candidate = score_entry([item("events.fits", FITS)], no_tool)
    assert isinstance(candidate, Candidate)
    assert candidate.how == "keywords only (no tool interface)"
    assert candidate.reasons == ("codemeta keyword 'FITS'", "no tool: no interface")
    assert score_entry([item("x.h5", None)], no_tool) == Skipped("gammapy", "no tool: no interface")


def test_a_format_without_namespace_is_named_as_the_reason_to_skip() -> None:
    broken = file_param("t", formats=("file:///reg/tool/ossrflow-interface.yml#t/t/format_3752",))
    assert score_entry([item("a.csv", CSV)], profile("tool", broken)) == Skipped(
        "tool",
        "input 't' declares format 'format_3752', which is no IRI (the edam: prefix needs "
        "$namespaces; write http://edamontology.org/format_3752)",
    )


def test_rank_puts_tools_first_then_score_then_share_then_name() -> None:
    def c(ref: str, accepted: int, score: int, input_name: str | None = "x") -> Candidate:
        return Candidate(ref, ref, None, input_name, "File", accepted, 4, score, ())

    ranked = rank([c("b", 2, 9), c("a", 4, 4), c("c", 4, 4), c("d", 4, 8), c("k", 0, 20, None)])
    assert [x.ref for x in ranked] == ["b", "d", "a", "c", "k"]


def test_data_items_take_formats_from_extensions() -> None:
    items = match_data_items(["obs/m67.fits", "https://example.org/cat.csv", "x.unknown"])
    assert [(i.name, i.format, i.kind) for i in items] == [
        ("m67.fits", FITS, "file"),
        ("cat.csv", CSV, "http"),
        ("x.unknown", None, "file"),
    ]
    with pytest.raises(InputError):
        match_data_items([])


def test_first_bytes_correct_names_that_lie_or_say_nothing(tmp_path: Path) -> None:
    (tmp_path / "m67.csv").write_bytes(FITS_HEAD)
    (tmp_path / "readings").write_text("t,flux\n1,2.5\n2,2.7\n")
    (tmp_path / "m67.fits").write_bytes(FITS_HEAD)
    cart = [CartItem(n, str(tmp_path / n), format=f, kind="file") for n, f in [
        ("m67.csv", CSV), ("readings", None), ("m67.fits", FITS), ("far.fits", FITS)]
    ]  # fmt: skip
    described = describe_items(cart)
    assert [d.describe() for d in described] == [
        "m67.csv: FITS (from its first bytes; the name says CSV)",
        "readings: CSV (from its first bytes)",
        "m67.fits: FITS (from its name)",
        "far.fits: FITS (from its name)",
    ]
    assert [d.format for d in describe_items(cart, sniff=False)] == [CSV, None, FITS, FITS]
    declared = CartItem("x.dat", "https://example.org/x.dat", format=CSV, kind="http")
    assert describe_items([declared])[0].describe() == "x.dat: CSV (from the cart)"


def test_format_label() -> None:
    assert format_label(FITS) == "FITS"
    assert format_label(CSV) == "CSV"
    assert format_label(PLAIN) == "plain text format (unformatted)"
    assert format_label(EDAM + "format_9999") == "format_9999"


def test_demo_cart_against_the_demo_registry(tmp_path: Path) -> None:
    items = load_cart(REPO / "workflows" / "demo" / "cart.json")
    result = match_entries(items, Settings(registry=f"dir:{REGISTRY}", cache_dir=tmp_path))
    assert result.considered == 3
    assert [(c.ref, c.input, c.accepted, c.score) for c in result.candidates] == [
        ("astropy-fitscheck", "image", 4, 17),
        ("astropy-fitsheader", "images", 4, 17),
        ("astropy-showtable", "table", 4, 13),
    ]
    assert result.skipped == ()


def test_a_table_only_matches_the_table_viewer_and_the_others_say_why(tmp_path: Path) -> None:
    items = match_data_items(["obslog.csv"])
    result = match_entries(items, Settings(registry=f"dir:{REGISTRY}", cache_dir=tmp_path))
    assert [(c.ref, c.reasons) for c in result.candidates] == [
        ("astropy-showtable", ("declared format CSV",)),
    ]
    assert [str(s) for s in result.skipped] == [
        "astropy-fitscheck: image takes FITS; the data are CSV",
        "astropy-fitsheader: images takes FITS; the data are CSV",
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

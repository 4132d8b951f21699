"""The format table (suffix and media type -> CWL format IRI) and EDAM's hierarchy."""

import pytest

from ossrflow.errors import InputError
from ossrflow.staging.formats import (
    EDAM,
    format_ancestors,
    format_for_media_type,
    format_for_name,
    format_label,
    format_relation,
    load_edam_formats,
    load_formats,
    parse_format,
)

FITS = "https://www.iana.org/assignments/media-types/application/fits"


@pytest.mark.parametrize(
    ("name", "iri"),
    [
        ("image.fits", FITS),
        ("IMAGE.FITS", FITS),
        ("image.fits.gz", FITS),
        ("image.fits.fz", FITS),
        ("table.csv", EDAM + "format_3752"),
        ("table.csv.gz", EDAM + "format_3989"),
        ("meta.json", EDAM + "format_3464"),
        ("notes.txt", EDAM + "format_2330"),
        ("cube.h5", EDAM + "format_3590"),
        ("cube.hdf5", EDAM + "format_3590"),
        ("L1.MS.tar", EDAM + "format_3981"),
        ("events.root", None),
        ("README", None),
    ],
)
def test_format_for_name_takes_the_longest_suffix(name, iri):
    assert format_for_name(name) == iri


def test_media_types_and_user_written_formats():
    assert format_for_media_type("text/csv; charset=utf-8") == EDAM + "format_3752"
    assert format_for_media_type("application/fits") == FITS
    assert format_for_media_type("application/x-unknown") is None
    assert parse_format("edam:format_3464") == EDAM + "format_3464"
    assert parse_format(" https://example.org/formats/votable ") == (
        "https://example.org/formats/votable"
    )
    assert parse_format("image/png") == EDAM + "format_3603"


def test_unknown_format_is_a_located_error():
    with pytest.raises(InputError) as info:
        parse_format("fits", source="cart.yml", location="items[0].format")
    assert str(info.value) == (
        "cart.yml:items[0].format: format 'fits' is neither an IRI, edam:format_NNNN nor a known "
        "media type (fix: write e.g. http://edamontology.org/format_3752 or edam:format_3752 (CSV))"
    )


def test_table_is_well_formed():
    entries = load_formats()
    suffixes = [e.suffix for e in entries]
    assert len(suffixes) == len(set(suffixes))
    for entry in entries:
        assert entry.suffix.startswith(".")
        assert entry.iri.startswith((EDAM + "format_", "https://www.iana.org/"))


CSV = EDAM + "format_3752"
TEXTUAL = EDAM + "format_2330"
PLAIN = EDAM + "format_1964"


@pytest.mark.parametrize(
    ("actual", "declared", "relation"),
    [
        (CSV, CSV, "same"),
        (CSV, TEXTUAL, "narrower"),  # CSV -> DSV -> Textual format
        (PLAIN, TEXTUAL, "narrower"),
        (TEXTUAL, PLAIN, "broader"),
        (EDAM + "format_3464", EDAM + "format_3750", "narrower"),  # EDAM: JSON is a kind of YAML
        (CSV, FITS, None),
        (FITS, FITS, "same"),
        ("https://www.iana.org/assignments/media-types/text/csv", CSV, "same"),
        (
            "http://www.iana.org/assignments/media-types/application/json",
            EDAM + "format_3464",
            "same",
        ),
        ("https://example.org/formats/votable", CSV, None),
    ],
)
def test_format_relation_follows_edam(actual, declared, relation):
    assert format_relation(actual, declared) == relation


def test_edam_is_read_from_the_installed_package():
    terms = load_edam_formats()
    assert terms[CSV].label == "CSV"
    assert terms[CSV].media_type == "https://www.iana.org/assignments/media-types/text/csv"
    assert EDAM + "format_1915" in format_ancestors(CSV)  # "Format", the root
    assert format_label(PLAIN) == "plain text format (unformatted)"
    assert format_label(FITS) == "FITS"

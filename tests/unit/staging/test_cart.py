"""Cart parsing: the real ESAP shapes, plain lists, the mapping form, and hostile values."""

import copy
import json
from pathlib import Path

import pytest

from ossrflow.errors import InputError, NotFound, UnsafeValue
from ossrflow.integrity import Checksum
from ossrflow.staging.cart import CartItem, load_cart, parse_cart, parse_cart_text, parse_zenodo_ref
from tests.conftest import FIXTURES

ESAP = json.loads((FIXTURES / "esap" / "shopping_cart_reconstructed.json").read_text())
TAR = "http://edamontology.org/format_3981"
FITS = "https://www.iana.org/assignments/media-types/application/fits"
CSV = "http://edamontology.org/format_3752"
LOFAR = CartItem(
    name="L570745_SB000_uv.MS.tar",
    location="LOFAR_ASTRON_GRANGE:L570745_SB000_uv.MS.tar",
    checksum=None,
    size=123456789,
    format=TAR,
    kind="rucio",
    origin="cart.json:shopping_cart[0]",
)


def error_of(data: object, **kwargs: object) -> str:
    with pytest.raises(InputError) as info:
        parse_cart(data, source="cart.json", **kwargs)  # type: ignore[arg-type]
    return str(info.value)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- ESAP ----------------------------------------------------------------------------------------


def test_esap_patch_payload_gives_the_rucio_file():
    assert parse_cart(ESAP["PATCH_payload"], source="cart.json") == [LOFAR]


def test_esap_stored_rows_carry_item_data_as_a_json_string():
    response = copy.deepcopy(ESAP["user_profiles_GET_response"])
    response["results"][0]["shopping_cart"] = response["results"][0]["shopping_cart"][:3]
    items = parse_cart(response, source="cart.json")
    assert [(i.kind, i.name, i.location, i.origin) for i in items] == [
        (
            "rucio",
            "L570745_SB000_uv.MS.tar",
            "LOFAR_ASTRON_GRANGE:L570745_SB000_uv.MS.tar",
            "cart.json:results[0].shopping_cart[0]",
        ),
        (
            "http",
            "...",
            "https://vo.astron.nl/getproduct/...",
            "cart.json:results[0].shopping_cart[1]",
        ),
        ("http", "...", "https://alta.astron.nl/...", "cart.json:results[0].shopping_cart[2]"),
    ]


def test_esap_basket_stops_at_the_first_item_it_cannot_stage():
    assert error_of(ESAP["gui_basket_items"]) == (
        "cart.json:items[3].record: this vo_reg row has no http(s) access URL (fix: only rows "
        "with one access URL can be staged; download the data yourself and list its path or URL "
        "instead)"
    )


def test_esap_stored_rows_locate_errors_inside_item_data():
    assert error_of(ESAP["user_profiles_GET_response"]).startswith(
        "cart.json:results[0].shopping_cart[3].item_data.record: this vo_reg row has no"
    )


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (4, "cart.json:items[0].record: this samp row has no http(s) access URL"),
        (5, "cart.json:items[0].record.url: '...' is not an http(s) URL"),
        (6, "cart.json:items[0].archive: archive 'zooniverse' cannot be staged"),
        (7, "cart.json:items[0].archive: archive 'zooniverse' cannot be staged"),
    ],
)
def test_esap_items_ossrflow_cannot_stage_are_named(index, message):
    assert error_of([ESAP["gui_basket_items"][index]]).startswith(message)


def test_unknown_archive_says_what_is_supported():
    assert error_of([{"archive": "zooniverse", "record": {}}]) == (
        "cart.json:items[0].archive: archive 'zooniverse' cannot be staged (fix: ossrflow stages "
        "ESAP items from rucio (Rucio DID (scope, name)), astron_vo (record.url), apertif "
        "(record.url), multi_query (record.url), vo_reg (the row's access URL), samp (the row's "
        "access URL); download this item yourself and list its path or URL instead)"
    )


def test_vo_rows_with_one_access_url_are_staged():
    rows = [
        {"archive": "vo_reg", "record": ["M31", 10.68, "https://vo.example.org/m31.fits"]},
        {"archive": "samp", "record": {"access_url": "https://vo.example.org/get?id=7&f=x.csv"}},
    ]
    items = parse_cart(rows, source="cart.json")
    assert [(i.kind, i.name, i.location, i.format) for i in items] == [
        ("http", "m31.fits", "https://vo.example.org/m31.fits", FITS),
        ("http", "get", "https://vo.example.org/get?id=7&f=x.csv", None),
    ]


def test_vo_row_with_two_urls_is_ambiguous():
    row = {"archive": "vo_reg", "record": ["https://a.org/x.fits", "https://a.org/preview.png"]}
    assert "this vo_reg row has more than one http(s) access URL" in error_of([row])


def test_rucio_row_with_adler32_and_dataset_type():
    rows = [
        {
            "archive": "rucio",
            "record": {"scope": "s", "name": "f.fits", "bytes": 9, "adler32": "1a2b"},
        },
        {
            "archive": "rucio",
            "record": {"scope": "s", "name": "ds1", "type": "DATASET", "bytes": 99},
        },
    ]
    first, second = parse_cart(rows, source="cart.json")
    assert (first.checksum, first.size) == (Checksum("adler32", "00001a2b"), 9)
    assert (second.kind, second.location, second.size) == ("rucio", "s:ds1", None)


def test_item_data_that_is_not_json_is_located():
    assert error_of([{"item_data": "{not json", "user_profile": "jdoe"}]) == (
        "cart.json:items[0].item_data: item_data: invalid JSON: Expecting property name enclosed "
        "in double quotes at 1:2 (fix: export the cart again from ESAP)"
    )


def test_item_data_is_a_document_within_limits():
    """JSON in JSON: the string is parsed with the same limits as the cart itself."""
    deep = "[" * 200 + "]" * 200
    assert error_of([{"item_data": deep}]) == (
        "cart.json:items[0].item_data: item_data: values are nested more than 128 levels deep "
        "(fix: export the cart again from ESAP)"
    )


# --- plain lists and the mapping form ------------------------------------------------------------


def test_plain_yaml_list_classifies_every_location(tmp_path: Path):
    cart = write(
        tmp_path,
        "cart.yml",
        "- https://data.example.org/runs/run%201.fits\n"
        "- LOFAR:L1.MS.tar\n"
        "- rucio://user.jdoe/sub/events.h5\n"
        "- zenodo:393433/table.csv\n"
        "- https://zenodo.org/records/55/files/b.json?download=1\n"
        "- file:local.txt\n"
        "- sub/x.h5\n",
    )
    items = load_cart(cart)
    assert [(i.kind, i.name, i.location) for i in items] == [
        ("http", "run 1.fits", "https://data.example.org/runs/run%201.fits"),
        ("rucio", "L1.MS.tar", "LOFAR:L1.MS.tar"),
        ("rucio", "events.h5", "user.jdoe:sub/events.h5"),
        ("zenodo", "table.csv", "zenodo:393433/table.csv"),
        ("zenodo", "b.json", "https://zenodo.org/records/55/files/b.json?download=1"),
        ("file", "local.txt", str(tmp_path / "local.txt")),
        ("file", "x.h5", str(tmp_path / "sub" / "x.h5")),
    ]
    assert items[0].format == FITS and items[3].format == CSV
    assert items[0].origin == f"{cart}:items[0]"


def test_text_list_skips_comments_and_locates_by_line(tmp_path: Path):
    cart = write(tmp_path, "urls.txt", "# my data\n\nhttps://a.org/x.csv\n  s3://bucket/y\n")
    with pytest.raises(InputError) as info:
        load_cart(cart)
    assert str(info.value) == (
        f"{cart}:line 4: cannot stage s3:// locations (fix: use http(s)://, zenodo:RECID/KEY, "
        "a Rucio DID SCOPE:NAME, file: or a path)"
    )
    assert parse_cart_text("https://a.org/x.csv\n", source="t", base=tmp_path)[0].origin == (
        "t:line 1"
    )


def test_mapping_form_with_checksum_size_name_and_format(tmp_path: Path):
    cart = write(
        tmp_path,
        "cart.yml",
        "items:\n"
        "  - location: https://a.org/download?id=3\n"
        "    name: events.fits\n"
        "    checksum: MD5:2942BFABB3D05332B66EB128E0842CFF\n"
        "    size: 1024\n"
        "  - location: https://a.org/t\n"
        "    name: t.dat\n"
        "    format: edam:format_3752\n"
        "  - location: https://a.org/u\n"
        "    format: text/csv\n",
    )
    first, second, third = load_cart(cart)
    assert first == CartItem(
        "events.fits",
        "https://a.org/download?id=3",
        Checksum("md5", "2942bfabb3d05332b66eb128e0842cff"),
        1024,
        FITS,
        "http",
        f"{cart}:items[0]",
    )
    assert second.format == CSV and third.format == CSV


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            "    chksum: md5:00\n",
            "3:5: items[0].chksum: unknown key 'chksum' (fix: an item has only checksum, format, "
            "location, name, size)",
        ),
        ("    checksum: md5:00\n", "3:5: items[0].checksum: checksum 'md5:00' has a malformed"),
        ("    size: -1\n", "3:5: items[0].size: size -1 is not a whole number of bytes"),
        ("    size: true\n", "3:5: items[0].size: size True is not a whole number of bytes"),
        ("    format: fits\n", "3:5: items[0].format: format 'fits' is neither an IRI"),
        ("    name: 7\n", "3:5: items[0].name: a name must be text"),
    ],
)
def test_mapping_form_errors_give_line_column_and_field(tmp_path: Path, item, message):
    cart = write(tmp_path, "cart.yml", "items:\n  - location: https://a.org/x.csv\n" + item)
    with pytest.raises(InputError) as info:
        load_cart(cart)
    assert str(info.value).startswith(f"{cart}:{message}")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "cart.json: the cart has no items (fix: add at least one URL, DID or path)"),
        ("https://a.org/x", "cart.json: not a shopping cart: expected a list of items"),
        ({"items": "x"}, "cart.json:items: is not a list of items"),
        ([42], "cart.json:items[0]: item is neither a URL/path"),
        (["ftp://a.org/x"], "cart.json:items[0]: cannot stage ftp:// locations"),
        (["https://a.org/"], "cart.json:items[0]: cannot tell a file name from 'https://a.org/'"),
        (["https:///x"], "cart.json:items[0]: URL 'https:///x' has no host"),
        (["zenodo:123"], "cart.json:items[0]: 'zenodo:123' is not a Zenodo file reference"),
    ],
)
def test_malformed_carts(data, message):
    assert error_of(data).startswith(message)


def test_missing_cart_file_is_not_found(tmp_path: Path):
    with pytest.raises(NotFound):
        load_cart(tmp_path / "nope.txt")


def test_parse_zenodo_ref():
    assert parse_zenodo_ref("zenodo:393433/owner/tool-v1.zip") == ("393433", "owner/tool-v1.zip")
    url = "https://sandbox.zenodo.org/api/records/7/files/a%20b.csv/content"
    assert parse_zenodo_ref(url) == ("7", "a b.csv")
    with pytest.raises(InputError):
        parse_zenodo_ref("zenodo:/x")


# --- hostile values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["../../etc/passwd"], "items[0]: path '../../etc/passwd' climbs out of its folder"),
        (["/etc/passwd"], "items[0]: path '/etc/passwd' lies outside the data root"),
        (["file:///etc/passwd"], "items[0]: path '/etc/passwd' lies outside the data root"),
        (["file://evil.org/etc/passwd"], "items[0]: file URL 'file://evil.org/etc/passwd' names"),
        (["https://a.org/%2e%2e%2fetc"], "items[0]: name '../etc' contains a path separator"),
        (["https://a.org/x\n.csv"], "items[0]: 'https://a.org/x\\n.csv' contains a control"),
        (["zenodo:1/../x"], "items[0]: name '..' is empty or a relative directory"),
        (["scope:a/../../b"], "items[0]: 'scope:a/../../b' is not a Rucio DID"),
        (
            [{"location": "https://a.org/x", "name": "../../etc/passwd"}],
            "items[0].name: name '../../etc/passwd' contains a path separator",
        ),
        ([{"location": "https://a.org/x", "name": "/abs"}], "items[0].name: name '/abs' contains"),
        (
            [{"location": "https://a.org/x", "name": "a\nb"}],
            "items[0].name: name 'a\\nb' contains a control character",
        ),
        (
            [{"archive": "astron_vo", "record": {"url": "https://a.org/x", "name": "../.ssh/id"}}],
            "items[0].record.name: name '../.ssh/id' contains a path separator",
        ),
        (
            [{"archive": "astron_vo", "record": {"url": "file:///etc/passwd"}}],
            "items[0].record.url: 'file:///etc/passwd' is not an http(s) URL",
        ),
        (
            [{"archive": "rucio", "record": {"scope": "s", "name": "../../etc/passwd"}}],
            "items[0].record.name: 's:../../etc/passwd' is not a Rucio DID",
        ),
    ],
)
def test_hostile_locations_and_names_are_refused(tmp_path: Path, data, message):
    with pytest.raises(UnsafeValue if "DID" not in message else InputError) as info:
        parse_cart(data, source="cart.json", base=tmp_path)
    text = str(info.value)
    assert text.startswith("cart.json:" + message)
    assert "\n" not in text


def test_absolute_paths_are_allowed_inside_the_data_root(tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("a,b\n")
    cart_dir = tmp_path / "carts"
    cart_dir.mkdir()
    items = parse_cart([str(data / "x.csv")], source="c.json", base=cart_dir, data_root=data)
    assert items[0].location == str(data / "x.csv")


def test_a_symbolic_link_out_of_the_cart_folder_is_refused(tmp_path: Path):
    (tmp_path / "link").symlink_to("/etc")
    assert "leads outside" in error_of(["link/passwd"], base=tmp_path)

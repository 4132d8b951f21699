"""Definition files: what a good one turns into, and where a bad one is refused."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from ossrflow.compose.definition import value_type
from ossrflow.compose.definition_reader import definition_schema, load_definition
from ossrflow.errors import InputError, NotFound, UnsafeValue
from tests.conftest import DATA, REPO

DEFINITIONS = DATA / "definitions"
DEMO = REPO / "workflows" / "demo" / "analysis.yml"


def write(folder: Path, text: str, name: str = "flow.yml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(definition_schema())


def test_demo_definition_is_read_with_every_field() -> None:
    definition = load_definition(DEMO)
    assert definition.label == "M67 observing log with FITS integrity check"
    assert {a: e.ref for a, e in definition.entries.items()} == {
        "fitscheck": "astropy-fitscheck",
        "fitsheader": "astropy-fitsheader",
        "showtable": "astropy-showtable",
    }
    assert definition.entries["fitsheader"].version == "8.0.1"
    exposures = definition.inputs["exposures"]
    assert (exposures.kind, exposures.cwl_type, exposures.many) == ("cart", "File[]", True)
    assert [item.name for item in exposures.items] == [
        "m67_B_001.fits",
        "m67_V_001.fits",
        "m67_R_001.fits",
        "m67_V_002.fits",
    ]
    checksum = definition.steps["checksum"]
    assert (checksum.run, checksum.scatter, checksum.where) == ("fitscheck", ("image",), "31:3")
    assert (checksum.resources.cores, checksum.resources.ram_mib, checksum.resources.runtime_s) == (
        1,
        256,
        300,
    )
    keywords = next(i for i in definition.steps["tabulate"].inputs if i.name == "keywords")
    assert (keywords.has_value, keywords.value) == (
        True,
        ["OBJECT", "DATE-OBS", "FILTER", "EXPTIME", "AIRMASS", "DATASUM"],
    )
    assert definition.outputs["report"].source == "show/text"


def test_good_definition_with_resources_and_lists() -> None:
    definition = load_definition(DEFINITIONS / "good_scatter_combine.yml")
    images = definition.inputs["images"]
    assert (images.kind, images.cwl_type) == ("files", "File[]")
    assert [i.location for i in images.items] == [
        str(DEFINITIONS / "data" / "a.fits"),
        str(DEFINITIONS / "data" / "b.fits"),
    ]
    assert images.items[0].origin == f"{DEFINITIONS / 'good_scatter_combine.yml'}:6:12"
    resources = definition.steps["check"].resources
    assert resources.scheduler() == {"partition": "debug", "account": "astro"}
    assert (resources.cores, resources.ram_mib, resources.runtime_s) == (2, 1024, 90)


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        ("512", 512),
        ("512M", 512),
        ("512MB", 512),
        ("2G", 2048),
        ("2GiB", 2048),
        ("1.5g", 1536),
        ("1T", 1048576),
    ],
)
def test_memory_sizes(tmp_path: Path, text: str, mib: int) -> None:
    value = text if not text.isdigit() else int(text)
    path = write(
        tmp_path,
        "entries: {a: x}\nsteps: {s: {run: a, resources: {mem: "
        + json.dumps(value)
        + "}}}\noutputs: {o: s/out}\n",
    )
    assert load_definition(path).steps["s"].resources.ram_mib == mib


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(30, 1800), ("90s", 90), ("30m", 1800), ("30 min", 1800), ("2h", 7200), ("1d", 86400)],
)
def test_runtimes(tmp_path: Path, text: object, seconds: int) -> None:
    path = write(
        tmp_path,
        "entries: {a: x}\nsteps: {s: {run: a, resources: {runtime: "
        + json.dumps(text)
        + "}}}\noutputs: {o: s/out}\n",
    )
    assert load_definition(path).steps["s"].resources.runtime_s == seconds


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("x", "string"),
        (3, "int"),
        (2**40, "long"),
        (1.5, "double"),
        (True, "boolean"),
        (["a", "b"], "string[]"),
        ([1, 2], "int[]"),
        ([], None),
        ([1, "a"], None),
    ],
)
def test_value_types(value: object, kind: str | None) -> None:
    assert value_type(value) == kind


def test_empty_list_value_is_refused_where_it_is(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entries: {a: x}\ninputs:\n  names: {value: []}\nsteps: {s: {run: a}}\noutputs: {o: s/out}\n",
    )
    with pytest.raises(InputError) as caught:
        load_definition(path)
    assert str(caught.value) == (
        f"{path}:3:11: inputs.names.value: cannot tell the type of an empty or mixed list "
        "(fix: give a non-empty list whose items are all strings, all numbers or all booleans)"
    )


def test_missing_required_section(tmp_path: Path) -> None:
    path = write(tmp_path, "entries: {a: x}\nsteps: {s: {run: a}}\n")
    with pytest.raises(InputError) as caught:
        load_definition(path)
    assert str(caught.value).startswith(f"{path}:1:1: (top): 'outputs' is a required key")


def test_first_error_in_file_order_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entries: {a: x}\nsteps:\n  s: {run: a, bad: 1}\noutputs:\n  o: not-a-source\nzzz: 1\n",
    )
    with pytest.raises(InputError) as caught:
        load_definition(path)
    assert str(caught.value).startswith(f"{path}:3:15: steps.s.bad: unknown key 'bad'")


def test_checksum_is_checked_where_it_is_written(tmp_path: Path) -> None:
    (tmp_path / "x.fits").write_bytes(b"x")
    path = write(
        tmp_path,
        "entries: {a: x}\ninputs:\n  f:\n    location: x.fits\n    checksum: md5:abc\n"
        "steps: {s: {run: a}}\noutputs: {o: s/out}\n",
    )
    with pytest.raises(InputError) as caught:
        load_definition(path)
    assert str(caught.value) == (
        f"{path}:5:5: inputs.f.checksum: checksum 'md5:abc' has a malformed md5 digest "
        "(fix: a md5 digest is 32 hexadecimal characters)"
    )


def test_one_checksum_for_a_list_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entries: {a: x}\ninputs:\n  f:\n    location: [a.fits, b.fits]\n"
        f"    checksum: md5:{'0' * 32}\nsteps: {{s: {{run: a}}}}\noutputs: {{o: s/out}}\n",
    )
    with pytest.raises(InputError) as caught:
        load_definition(path)
    assert "inputs.f.checksum: one checksum cannot check a list of locations" in str(caught.value)


def test_remote_locations_become_items_of_their_kind(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entries: {a: x}\ninputs:\n  f:\n    location:\n"
        "    - https://example.org/data/obs.fits\n    - zenodo:393433/events.fits.gz\n"
        "    - rucio://LOFAR/L570745_SB000_uv.MS.tar\n    - LOFAR:L1.h5\n"
        "steps: {s: {run: a}}\noutputs: {o: s/out}\n",
    )
    items = load_definition(path).inputs["f"].items
    assert [(i.kind, i.name, i.location) for i in items] == [
        ("http", "obs.fits", "https://example.org/data/obs.fits"),
        ("zenodo", "events.fits.gz", "zenodo:393433/events.fits.gz"),
        ("rucio", "L570745_SB000_uv.MS.tar", "LOFAR:L570745_SB000_uv.MS.tar"),
        ("rucio", "L1.h5", "LOFAR:L1.h5"),
    ]


def test_local_entry_refs_are_confined_and_made_absolute(tmp_path: Path) -> None:
    (tmp_path / "entries" / "tool").mkdir(parents=True)
    path = write(
        tmp_path,
        "entries:\n  a: dir:entries/tool\n  b: ./entries/tool\n  c: 10.5281/zenodo.4670728\n"
        "steps: {s: {run: a}}\noutputs: {o: s/out}\n",
    )
    entries = load_definition(path).entries
    assert entries["a"].resolved == f"dir:{tmp_path / 'entries' / 'tool'}"
    assert entries["b"].resolved == f"dir:{tmp_path / 'entries' / 'tool'}"
    assert entries["c"].resolved == "10.5281/zenodo.4670728"


def test_absolute_entry_ref_needs_the_flag(tmp_path: Path) -> None:
    path = write(
        tmp_path, "entries:\n  a: /opt/registry/tool\nsteps: {s: {run: a}}\noutputs: {o: s/out}\n"
    )
    with pytest.raises(UnsafeValue) as caught:
        load_definition(path)
    assert str(caught.value).startswith(
        f"{path}:2:3: entries.a.ref: absolute path '/opt/registry/tool'"
    )
    allowed = load_definition(path, allow_absolute_paths=True)
    assert allowed.entries["a"].resolved == "dir:/opt/registry/tool"


def test_dot_dot_stays_refused_with_the_flag(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entries:\n  a: {ref: x, interface: /opt/../etc/passwd}\nsteps: {s: {run: a}}\noutputs: {o: s/out}\n",
    )
    with pytest.raises(UnsafeValue) as caught:
        load_definition(path, allow_absolute_paths=True)
    assert "entries.a.interface: path '/opt/../etc/passwd' contains '..'" in str(caught.value)


def test_missing_cart_file_is_not_found(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "entries: {a: x}\ninputs: {c: {cart: nope.json}}\nsteps: {s: {run: a}}\noutputs: {o: s/out}\n",
    )
    with pytest.raises(NotFound) as caught:
        load_definition(path)
    assert str(caught.value) == (
        f"{path}:2:14: inputs.c.cart: {tmp_path / 'nope.json'}: file does not exist "
        "(fix: check the path and try again)"
    )

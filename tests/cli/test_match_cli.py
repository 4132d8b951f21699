"""`ossrflow match`: whole outputs for a cart and for files, JSON, -v, and the no-match exit."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_compose_cli import REGISTRY
from tests.conftest import REPO
from tests.support.cli import run

CART = REPO / "workflows" / "demo" / "cart.json"


def test_match_the_demo_cart() -> None:
    result = run("match", str(CART), "--registry", f"dir:{REGISTRY}")
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == (
        "rank  entry               version  takes  score  input                               why\n"
        "1     astropy-fitscheck   8.0.1    4/4    17     image (File): one run per item (4)  "
        "declared format FITS; codemeta keyword 'fits'\n"
        "2     astropy-fitsheader  8.0.1    4/4    17     images (File[]): all 4 in one run   "
        "declared format FITS; codemeta keyword 'fits'\n"
        "3     astropy-showtable   8.0.1    4/4    13     table (File): one run per item (4)  "
        "declared format FITS; codemeta keyword 'fits'\n"
    )


def test_match_files_as_json() -> None:
    result = run("match", "--files", "night.csv", "--registry", f"dir:{REGISTRY}", "--json")
    assert result.code == 0
    assert json.loads(result.stdout) == [
        {
            "accepted": 1,
            "formats": ["http://edamontology.org/format_3752"],
            "input": "table",
            "input_type": "File",
            "reasons": ["declared format CSV"],
            "ref": "astropy-showtable",
            "score": 3,
            "title": "Astropy",
            "total": 1,
            "version": "8.0.1",
        }
    ]


def test_nothing_matches_is_exit_2() -> None:
    result = run("match", "--files", "a.h5", "--registry", f"dir:{REGISTRY}")
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == (
        "error: FILES: none of the 3 entries takes these data (fix: try another registry "
        "(--registry), or check the files' names and formats)\n"
    )


def test_a_broken_cart_is_a_located_error(tmp_path: Path) -> None:
    cart = tmp_path / "cart.json"
    cart.write_text('{"items": [{"location": "x.fits", "colour": "red"}]}')
    result = run("match", str(cart), "--registry", f"dir:{REGISTRY}")
    assert result.code == 2
    assert result.stderr.startswith(f"error: {cart}:items[0].colour: unknown key 'colour'")


def test_verbose_lists_item_formats_and_skipped_entries(tmp_path: Path) -> None:
    fits = tmp_path / "m67.csv"  # a FITS image under a CSV name
    fits.write_bytes(b"SIMPLE  =                    T".ljust(80) + b"END".ljust(80))
    result = run("-v", "match", "--files", str(fits), "--registry", f"dir:{REGISTRY}")
    assert result.code == 0
    assert result.stderr == ("data:\n  m67.csv: FITS (from its first bytes; the name says CSV)\n")
    assert result.stdout.splitlines()[1].split()[:5] == [
        "1",
        "astropy-fitscheck",
        "8.0.1",
        "1/1",
        "5",
    ]
    assert "m67.csv: FITS (from its first bytes; the name says CSV)" in result.stdout
    table = run("-v", "match", "--files", "night.csv", "--registry", f"dir:{REGISTRY}")
    assert table.stderr == (
        "data:\n"
        "  night.csv: CSV (from its name)\n"
        "skipped 2 entries:\n"
        "  astropy-fitscheck: image takes FITS; the data are CSV\n"
        "  astropy-fitsheader: images takes FITS; the data are CSV\n"
    )

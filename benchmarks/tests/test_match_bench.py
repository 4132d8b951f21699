"""The matchmaking benchmark: its data is consistent, and a run reports what it measured."""

from __future__ import annotations

from pathlib import Path

import pytest
from match_bench import CONTENT, DATA, REPO, load_carts, main, rates, run_benchmark


def test_every_expert_pick_is_an_entry_and_every_item_kind_has_bytes() -> None:
    entries = {p.name for p in (DATA / "entries").iterdir()} | {
        p.name for p in (REPO / "workflows" / "registry").iterdir() if p.is_dir()
    }
    carts = load_carts()
    assert len(carts) >= 20
    for cart in carts:
        assert set(cart.expert) <= entries, cart.name
        assert all(kind == "remote" or kind in CONTENT for _, kind in cart.items), cart.name


@pytest.mark.slow
def test_a_run_ranks_every_cart_and_beats_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcomes = run_benchmark(tmp_path / "work")
    assert len(outcomes) == len(load_carts())
    measured = rates(outcomes)
    assert measured["top3"] == 1.0
    assert measured["top1"] >= 0.9
    assert measured["baseline_top1"] < measured["top1"]
    mislabelled = next(o for o in outcomes if o.cart.name == "a FITS image named .csv")
    assert mislabelled.ranked[0] == "astropy-fitscheck"
    assert mislabelled.baseline[0] == "csvstat"
    assert (
        main(["--markdown", "--work", str(tmp_path / "again"), "--json", str(tmp_path / "r.json")])
        == 0
    )
    printed = capsys.readouterr().out
    assert printed.startswith("| cart | first three | top-1 | top-3 | baseline first |\n")
    assert "top-1 hit rate" in printed.splitlines()[-1]
    assert (tmp_path / "r.json").read_text().startswith('{\n  "rates"')

"""Tests of the service load test's harness (benchmarks/serve_load.py); the load itself runs in
`make bench`. The one run here submits 3 runs without containers, as a smoke test."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from serve_load import LoadResult, main, percentile, render_report, tool_document


def test_percentiles_interpolate_between_values() -> None:
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0
    assert math.isnan(percentile([], 50))


def test_the_report_says_what_was_lost() -> None:
    timing = {"count": 5, "errors": 0, "p50_ms": 10.0, "p95_ms": 20.0, "max_ms": 30.0}
    result = LoadResult(
        5, 4, 4, 4, 4, 4, timing, timing, 12.0, ["1 submissions were refused or failed"]
    )
    text = render_report(result, max_runs=2, containers=True)
    assert text.splitlines() == [
        "ossrflow serve load test: 5 concurrent submissions, --max-runs 2, steps in docker",
        "accepted 4/5, distinct run ids 4, listed 4, COMPLETE 4, outputs right 4",
        "POST /runs          p50 10.0 ms  p95 20.0 ms  max 30.0 ms  (5 requests)",
        "GET /runs/{id}      p50 10.0 ms  p95 20.0 ms  max 30.0 ms  (5 requests, 0 errors)",
        "all runs ended in 12.0 s (25.0 runs per minute)",
        "PROBLEM: 1 submissions were refused or failed",
    ]
    assert not result.ok


def test_the_tool_runs_in_busybox_unless_native() -> None:
    assert "dockerPull: ossrflow/busybox:local" in tool_document(True)
    assert "DockerRequirement" not in tool_document(False)


@pytest.mark.slow
def test_a_small_load_completes_every_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["--submissions", "3", "--max-runs", "3", "--probers", "1", "--allow-native",
                   "--work", str(tmp_path / "work"), "--json", str(tmp_path / "result.json")])  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0, out
    assert "accepted 3/3, distinct run ids 3, listed 3, COMPLETE 3, outputs right 3" in out
    assert out.rstrip().endswith("none lost: OK")
    assert (tmp_path / "result.json").is_file()

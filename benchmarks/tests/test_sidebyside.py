"""Tests of what the side-by-side benchmarks share (benchmarks/sidebyside.py), on made-up runs."""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from sidebyside import (
    Target,
    add_output_options,
    all_ran,
    new_parser,
    problem_lines,
    ratio,
    render_report,
    run_all,
    skip_or_fail,
    summarise,
    wall_cells,
    whole_number,
    write_json,
)


@dataclass(frozen=True)
class Run:
    runner: str
    repeat: int
    wall_s: float
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def test_runners_alternate_ossrflow_first_in_odd_repeats() -> None:
    order = run_all(4, lambda runner, repeat: Run(runner, repeat, 1.0))
    assert [(m.runner, m.repeat) for m in order] == [
        ("ossrflow", 1), ("cwltool", 1),
        ("cwltool", 2), ("ossrflow", 2),
        ("ossrflow", 3), ("cwltool", 3),
        ("cwltool", 4), ("ossrflow", 4),
    ]  # fmt: skip
    assert run_all(0, lambda runner, repeat: Run(runner, repeat, 1.0)) == []


def test_the_median_is_over_the_good_runs_only() -> None:
    results = [
        Run("cwltool", 1, 2.0),
        Run("ossrflow", 1, 100.0, "exited 1"),
        Run("ossrflow", 2, 3.0),
        Run("ossrflow", 3, 5.0),
        Run("toil", 1, 1.0),  # not a runner side by side: left out
    ]
    ours, theirs = summarise(results)
    assert (ours.runner, ours.tally, ours.median) == ("ossrflow", "2/3", 4.0)
    assert (theirs.runner, theirs.tally, theirs.median) == ("cwltool", "1/1", 2.0)
    assert ratio([ours, theirs]) == 2.0
    assert wall_cells(ours, [ours, theirs], 2) == ["4.00", "3.00–5.00", "2.00"]
    assert wall_cells(theirs, [ours, theirs], 1) == ["2.0", "2.0–2.0", "1.00"]


def test_no_ratio_when_a_runner_failed_every_repeat() -> None:
    rows = summarise([Run("ossrflow", 1, 3.0), Run("cwltool", 1, 2.0, "timed out")])
    assert rows[1].median is None and rows[1].tally == "0/1"
    assert ratio(rows) is None
    assert wall_cells(rows[1], rows, 2) == ["–", "–", "–"]
    assert wall_cells(rows[0], rows, 2) == ["3.00", "3.00–3.00", "–"]  # nothing to divide by
    assert ratio(summarise([Run("cwltool", 1, 2.0)])) is None  # ossrflow never ran
    assert ratio(summarise([Run("ossrflow", 1, 1.0), Run("cwltool", 1, 0.0)])) is None
    assert not all_ran([Run("ossrflow", 1, 3.0), Run("cwltool", 1, 2.0, "timed out")])
    assert not all_ran([Run("cwltool", 1, 2.0)])
    assert all_ran([Run("cwltool", 1, 2.0), Run("ossrflow", 1, 2.0)])


def test_target_line_met_or_missed() -> None:
    target = Target("the thing", 1.25, "crashed")
    assert target.line(1.25) == "the thing ≤ 1.25 × cwltool: 1.25 (met)"
    assert target.line(1.2504) == "the thing ≤ 1.25 × cwltool: 1.25 (MISSED)"
    assert target.line(None) == (
        "the thing ≤ 1.25 × cwltool: not measured (a runner crashed in every repeat)"
    )


def test_report_layout_leaves_out_empty_sections() -> None:
    results = [Run("ossrflow", 1, 3.0, "exited 1"), Run("cwltool", 1, 2.0)]
    problems = problem_lines(results, "failed")
    assert problems == ["ossrflow run 1 failed: exited 1"]
    sections = [("Problems", problems), ("Empty", []), ("Target", ["t"])]
    table = [["ossrflow", "0/1"], ["cwltool", "1/1"]]
    text = render_report({"cores": "2"}, ["runner", "runs ok"], table, sections, markdown=False)
    assert text == (
        "Machine:\n  cores: 2\n\n"
        "runner    runs ok\nossrflow  0/1\ncwltool   1/1\n\n"
        "Problems:\n  ossrflow run 1 failed: exited 1\n\n"
        "Target:\n  t\n"
    )
    text = render_report({}, ["runner"], [["cwltool"]], [("Target", ["t"])], markdown=True)
    assert text == "Machine:\n\n| runner |\n|---|\n| cwltool |\n\nTarget:\n- t\n"


def test_json_holds_every_run_then_extra_then_ratio_and_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = [Run("ossrflow", 1, 3.0), Run("cwltool", 1, 2.0)]
    path = tmp_path / "out.json"
    write_json(path, {"cores": "2"}, ["--repeat", "1"], results, Target("x", 1.0, "failed"), n=[])
    payload = json.loads(path.read_text(encoding="utf-8"))
    assert list(payload) == ["machine", "argv", "runs", "n", "ratio", "target"]
    assert payload["runs"][0] == {
        "runner": "ossrflow",
        "repeat": 1,
        "wall_s": 3.0,
        "problem": None,
    }
    assert (payload["ratio"], payload["target"]) == (1.5, "x ≤ 1.0 × cwltool: 1.50 (MISSED)")
    assert capsys.readouterr().err == f"[bench] raw results written to {path}\n"


def test_missing_prerequisites_skip_or_under_ci_fail(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CI", "false")
    assert skip_or_fail("no suite (set X)", "no suite", "the suite must run") == 0
    assert capsys.readouterr().err == "[bench] skipped: no suite (set X)\n"
    monkeypatch.setenv("CI", "TRUE")
    assert skip_or_fail("no suite (set X)", "no suite", "the suite must run") == 2
    assert capsys.readouterr().err == "[bench] no suite (CI=true: the suite must run)\n"


def test_whole_numbers_and_the_shared_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert whole_number(0)("0") == 0 and whole_number(1)("12") == 12
    with pytest.raises(argparse.ArgumentTypeError, match=r"'0': give 1 or more"):
        whole_number(1)("0")
    with pytest.raises(argparse.ArgumentTypeError, match=r"'1.5' is not a whole number"):
        whole_number(0)("1.5")
    p = new_parser("prog.py", "What it does.", "epilog:\n  kept as written")
    add_output_options(p.add_argument, "run")
    args = p.parse_args(["--json", "x.json", "--markdown"])
    assert (args.json, args.markdown) == (Path("x.json"), True)
    p.print_help()
    text = capsys.readouterr().out
    assert "also write every run and the machine to FILE" in text
    assert text.endswith("epilog:\n  kept as written\n")

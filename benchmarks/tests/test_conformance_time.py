"""Tests of the conformance timing harness (benchmarks/conformance_time.py).

The pure parts on a JUnit file in cwltest's shape, and one real run of 3 `required` tests under
both runners without containers (about 15 s), skipped when the CWL suite is missing (a failure
under CI=true).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from conformance_time import (
    Counts,
    Measured,
    count_junit,
    cwltest_command,
    exit_status,
    main,
    parse_arguments,
    render_report,
    runner_args,
    selection_of,
    target_line,
)
from runs import REPO
from sidebyside_checks import (
    assert_ran_well,
    assert_usage_error,
    cannot_run,
    runs_in_json,
    skipped_unless_ci,
)

# A cwltest 2.7 JUnit file: one test passed, one failed, one unsupported (exit 33), and a
# should_fail test (#4) that exited 0, which cwltest records without <failure>, only in its log.
JUNIT = """\
<?xml version="1.0" ?>
<testsuites disabled="0" errors="0" failures="1" tests="4" time="20.5">
\t<testsuite disabled="0" errors="0" failures="1" name="conformance_tests" skipped="1" tests="4" time="20.5">
\t\t<testcase name="General test of command line generation" time="7.88" class="required, command_line_tool" file="cl_basic_generation" url="cwltest:conformance_tests#1">
\t\t\t<system-out>{"args": ["bwa", "mem"]}</system-out>
\t\t</testcase>
\t\t<testcase name="Test nested prefixes with arrays" time="7.86" class="required, command_line_tool" file="nested_prefixes_arrays" url="cwltest:conformance_tests#2">
\t\t\t<failure type="failure" message="Compare failure">Compare failure expected: ...</failure>
\t\t</testcase>
\t\t<testcase name="Test InlineJavascriptRequirement" time="1.2" class="inline_javascript" file="cl_optional_bindings_provided" url="cwltest:conformance_tests#3">
\t\t\t<skipped type="skipped" message="Unsupported"/>
\t\t</testcase>
\t\t<testcase name="Test should fail" time="3.5" class="required, command_line_tool" file="cl_fail" url="cwltest:conformance_tests#4"/>
\t</testsuite>
</testsuites>
"""
LOG = """\
Test [4/83] cl_fail: Test should fail
Test 4 failed: ossrflow-cwl-runner --outdir=/tmp/x --quiet tests/fail.cwl tests/empty.json
Returned zero but it should be non-zero
1 tests passed, 2 failures, 1 unsupported features
"""


def measured(runner: str, wall: float, passed: int | None, repeat: int = 1) -> Measured:
    counts = None if passed is None else Counts(passed, 10 - passed, 0)
    problem = "cwltest exited 2 (see log)" if counts is None else None
    return Measured(runner, repeat, wall, 0 if counts else 2, counts, problem, "/x")


def test_count_junit_counts_a_should_fail_test_that_exited_0_as_failed() -> None:
    assert count_junit(JUNIT, LOG) == Counts(passed=1, failed=2, unsupported=1)
    assert count_junit(JUNIT) == Counts(passed=2, failed=1, unsupported=1)  # without its log
    assert count_junit(JUNIT, LOG).total == 4


def test_both_runners_get_the_same_engine() -> None:
    assert runner_args("ossrflow", "none") == ["--container", "none"]
    assert runner_args("cwltool", "none") == ["--no-container"]
    assert runner_args("cwltool", "docker") == []  # cwltool's default
    assert runner_args("cwltool", "podman") == ["--podman"]
    assert runner_args("ossrflow", "podman") == ["--container", "podman"]


def test_the_cwltest_command_is_that_of_conformance_sh(tmp_path: Path) -> None:
    selection = selection_of("required", "none", ["-n", "1-10"])
    assert selection == ["--tags", "required", "--exclude-tags", "docker", "-n", "1-10"]
    assert selection_of("required", "docker", []) == ["--tags", "required"]
    assert selection_of("", "docker", []) == []
    command = cwltest_command(tmp_path, "ossrflow", "none", selection, 2, tmp_path / "j.xml")
    assert command == [
        f"{tmp_path}/bin/cwltest", "--test", "conformance_tests.yaml",
        "--tool", f"{tmp_path}/bin/ossrflow-cwl-runner",
        "--tags", "required", "--exclude-tags", "docker", "-n", "1-10",
        "-j2", "--junit-xml", f"{tmp_path}/j.xml", "--", "--container", "none",
    ]  # fmt: skip


def test_target_line_is_met_up_to_one_and_a_half() -> None:
    assert target_line(1.5) == "make conformance-required ≤ 1.5 × cwltool: 1.50 (met)"
    assert target_line(1.504) == "make conformance-required ≤ 1.5 × cwltool: 1.50 (MISSED)"
    assert target_line(0.8) == "make conformance-required ≤ 1.5 × cwltool: 0.80 (met)"
    assert target_line(None).endswith("not measured (a runner crashed in every repeat)")


def test_report_shows_medians_ratio_and_passes() -> None:
    results = [measured("ossrflow", wall, 9) for wall in (300.0, 200.0, 250.0)]
    results += [measured("cwltool", wall, 9) for wall in (100.0, 200.0, 150.0)]
    text = render_report({"cores": "2"}, results, "none", markdown=True)
    assert "| ossrflow-cwl-runner --container none | 3/3 | 9/10 | 1 | 0 | 250.0 | 200.0–300.0 | 1.67 |" in text  # fmt: skip
    assert "| cwltool --no-container | 3/3 | 9/10 | 1 | 0 | 150.0 | 100.0–200.0 | 1.00 |" in text
    assert text.rstrip().endswith("- make conformance-required ≤ 1.5 × cwltool: 1.67 (MISSED)")
    assert "Problems" not in text
    assert "- ossrflow run 1: 1 failed, see /x/cwltest.log\n" in text
    assert exit_status(results) == 0


def test_a_crash_or_fewer_passes_exit_1_and_say_why() -> None:
    crashed = [measured("ossrflow", 5.0, None), measured("cwltool", 4.0, 10)]
    text = render_report({}, crashed, "docker", markdown=False, subset="--tags required -n 1-3")
    assert "  ossrflow run 1 crashed: cwltest exited 2 (see log)\n" in text
    assert "ossrflow-cwl-runner --container docker  0/1" in text
    assert "not measured" in text and "  measured on --tags required -n 1-3 only\n" in text
    assert exit_status(crashed) == 1
    fewer = [measured("ossrflow", 5.0, 8), measured("cwltool", 4.0, 10)]
    assert "ossrflow passed fewer tests than cwltool: 8 < 10" in render_report({}, fewer, "none", False)  # fmt: skip
    assert exit_status(fewer) == 1
    assert exit_status([measured("cwltool", 4.0, 10)]) == 1  # ossrflow never ran
    varying = [measured("ossrflow", 5.0, 8, 1), measured("ossrflow", 5.0, 9, 2)]
    assert "| 1/1 |" not in render_report({}, varying, "none", True)
    assert "| 2/2 | 8–9/10 | 1–2 |" in render_report({}, varying, "none", True)


def test_arguments_after_the_separator_go_to_cwltest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OSSRFLOW_CONFORMANCE_JOBS", raising=False)
    args, extra = parse_arguments(["--container", "none", "--repeat", "2", "--", "-n", "1-10"])
    assert (args.container, args.repeat, args.jobs, args.tags) == ("none", 2, 2, "required")
    assert extra == ["-n", "1-10"]
    assert parse_arguments([])[1] == []


@pytest.mark.parametrize(
    "bad", [["--repeat", "0"], ["--jobs", "x"], ["--container", "singularity"], ["--frobnicate"]]
)
def test_bad_usage_exits_2(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(main, bad, "benchmarks/conformance_time.py", capsys)


def test_a_missing_suite_is_skipped_unless_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--suite", str(tmp_path / "nowhere"), "--container", "none"]
    skipped, failed = skipped_unless_ci(main, argv, monkeypatch, capsys)
    assert f"skipped: no CWL v1.2 suite at {tmp_path}/nowhere (set OSSRFLOW_CWL_SUITE" in skipped
    assert f"no CWL suite at {tmp_path}/nowhere (CI=true: the suite must run)" in failed


@pytest.mark.slow
def test_three_required_tests_under_both_runners(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = Path(os.environ.get("OSSRFLOW_CWL_SUITE", str(REPO.parent / "shared" / "cwl-v1.2")))
    if not (suite / "conformance_tests.yaml").is_file():
        cannot_run(f"no CWL v1.2 suite at {suite} (set OSSRFLOW_CWL_SUITE)", "the suite must run")
    work, result = tmp_path / "work", tmp_path / "result.json"
    argv = ["--container", "none", "--work", str(work), "--json", str(result), "--", "-n", "1-3"]
    status = main(argv)
    out = capsys.readouterr().out
    assert_ran_well(status, out, work.glob("*/cwltest.log"), "Failed tests")
    assert re.search(r"^ossrflow-cwl-runner --container none +1/1 +3/3 ", out, re.MULTILINE), out
    assert re.search(r"^cwltool --no-container +1/1 +3/3 +0 +0 .* 1\.00$", out, re.MULTILINE), out
    line = re.search(r"make conformance-required ≤ 1\.5 × cwltool: (\d+\.\d\d) \((met|MISSED)\)", out)  # fmt: skip
    assert "measured on --tags required --exclude-tags docker -n 1-3 only" in out
    runs = runs_in_json(result, line, out)
    assert all(run["counts"] == {"passed": 3, "failed": 0, "unsupported": 0} for run in runs)
    for runner in ("ossrflow", "cwltool"):
        assert (work / f"{runner}-1" / "junit.xml").is_file()
        assert not (work / f"{runner}-1" / "tmp").exists()  # the outputs are removed

"""Tests of the demo timing harness (benchmarks/demo_time.py).

The pure parts (commands, output checks, report, ratio, exit status, arguments) on made-up runs
and files, the skip without a container engine, and one real run of the demo under both
runners with one repeat (about 25 s with Docker once its images exist; minutes to build them),
skipped when no container engine runs here (a failure under CI=true).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from demo_time import (
    Measured,
    check_outputs,
    digest_outputs,
    exit_status,
    main,
    not_prepared,
    output_differences,
    parser,
    prepare_command,
    render_report,
    run_problem,
    runner_command,
    target_line,
    usable_engine,
)
from runs import REPO
from sidebyside_checks import (
    assert_ran_well,
    assert_usage_error,
    cannot_run,
    runs_in_json,
    skipped_unless_ci,
)

CSV, TEXT = "a" * 64, "b" * 64  # sha256 of the two outputs, made up
OUTPUTS = {"headers.csv": CSV, "table.txt": TEXT}


def measured(
    runner: str,
    wall: float,
    repeat: int = 1,
    ok: bool = True,
    outputs: dict[str, str] | None = None,
) -> Measured:
    problem = None if ok else "exited 1 (see /w/runs/x.err)"
    files = dict(OUTPUTS if outputs is None else outputs) if ok else {}
    folder = f"/w/runs/{runner}-{repeat}"
    return Measured(runner, repeat, wall, 0 if ok else 1, problem, folder, files)


def write_outputs(outdir: Path) -> str:
    """The two demo outputs in ``outdir``, and the CWL output object a runner prints for them."""
    outdir.mkdir(parents=True)
    (outdir / "headers.csv").write_text("filename,hdu\nm67.fits,0\n", encoding="utf-8")
    (outdir / "table.txt").write_text(" filename hdu\n m67.fits   0\n", encoding="utf-8")
    return json.dumps(
        {
            "obslog": {"class": "File", "path": str(outdir / "headers.csv")},
            "report": {"class": "File", "location": f"file://{outdir}/table.txt"},
        }
    )


def test_both_runners_run_the_same_workflow_in_the_same_engine(tmp_path: Path) -> None:
    demo, run, bin_dir = tmp_path / "demo", tmp_path / "runs" / "ossrflow-1", tmp_path / "bin"
    assert runner_command("ossrflow", "docker", demo, run, bin_dir) == [
        f"{bin_dir}/ossrflow", "run", f"{demo}/workflow.cwl", f"{demo}/job.yml",
        "--profile", "local", "--container", "docker",
        "--run-dir", f"{run}/run", "--outdir", f"{run}/out",
    ]  # fmt: skip
    tmp = f"{run / 'tmp'}/"
    assert runner_command("cwltool", "podman", demo, run, bin_dir) == [
        f"{bin_dir}/cwltool", "--parallel", "--podman", "--outdir", f"{run}/out",
        "--tmpdir-prefix", tmp, "--tmp-outdir-prefix", tmp,
        f"{demo}/workflow.cwl", f"{demo}/job.yml",
    ]  # fmt: skip
    assert "--podman" not in runner_command("cwltool", "docker", demo, run, bin_dir)
    assert prepare_command(demo, "podman", "py") == [
        "py", f"{REPO}/workflows/demo/run_demo.py", "--out", str(demo),
        "--container", "podman", "--runner", "ossrflow",
    ]  # fmt: skip


def test_a_run_is_checked_by_its_output_object_and_files(tmp_path: Path) -> None:
    outdir = tmp_path / "out"
    printed = write_outputs(outdir)
    assert check_outputs(printed, outdir) is None
    assert digest_outputs(outdir) == {
        "headers.csv": "2e3906e8ea15122e9a4f2b8703b2126ac2b038cb36fb42ec32eb684cc430960d",
        "table.txt": "805abd087d1f0e88f4e4999fe6bd8f1dbb9d1e6630f498f4054e9b72da832b47",
    }
    not_json = check_outputs("Traceback (most recent call last):", outdir)
    assert not_json == "no CWL output object on stdout"
    assert check_outputs("[]", outdir) == "the output object is not a JSON object"
    no_report = json.loads(printed) | {"report": None}
    assert (
        check_outputs(json.dumps(no_report), outdir) == "output 'report' is missing or not a File"
    )
    elsewhere = json.loads(printed)
    elsewhere["obslog"]["path"] = str(tmp_path / "headers.csv")
    assert check_outputs(json.dumps(elsewhere), outdir) == (
        f"output 'obslog' is not a file in {outdir}: {tmp_path}/headers.csv"
    )
    (outdir / "table.txt").write_text("", encoding="utf-8")
    assert check_outputs(printed, outdir) == f"output 'report' is empty: {outdir}/table.txt"
    assert digest_outputs(tmp_path / "nowhere") == {}


def test_a_failed_run_says_why_and_names_a_known_cause(tmp_path: Path) -> None:
    outdir, stdout, stderr = tmp_path / "out", tmp_path / "r.out", tmp_path / "r.err"
    stdout.write_text(write_outputs(outdir), encoding="utf-8")
    stderr.write_text("INFO [workflow ] completed success\n", encoding="utf-8")
    assert run_problem(0, False, stdout, stderr, outdir) is None
    assert run_problem(-2, True, stdout, stderr, outdir) == "timed out (see --timeout)"
    assert run_problem(1, False, stdout, stderr, outdir) == f"exited 1 (see {stderr})"
    stderr.write_text("Error: keep-id is only supported in rootless mode\n", encoding="utf-8")
    assert run_problem(1, False, stdout, stderr, outdir) == (
        f"exited 1 (see {stderr}): cwltool passes --userns=keep-id, which Podman refuses as root "
        "(docs/containers.md): use docker, or run as another user"
    )
    stdout.write_text("", encoding="utf-8")
    assert run_problem(0, False, stdout, stderr, outdir) == (
        f"no CWL output object on stdout (see {stdout})"
    )


def test_digests_cover_every_file_by_its_relative_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.txt").write_bytes(b"")
    (tmp_path / "y").write_bytes(b"abc")
    assert digest_outputs(tmp_path) == {
        "sub/x.txt": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "y": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    }


def test_target_line_is_met_up_to_one() -> None:
    assert target_line(1.0) == "demo ≤ 1.0 × cwltool: 1.00 (met)"
    assert target_line(1.004) == "demo ≤ 1.0 × cwltool: 1.00 (MISSED)"
    assert target_line(0.87) == "demo ≤ 1.0 × cwltool: 0.87 (met)"
    assert target_line(None) == (
        "demo ≤ 1.0 × cwltool: not measured (a runner failed in every repeat)"
    )


def test_report_shows_medians_and_the_ratio() -> None:
    results = [measured("ossrflow", wall, k) for k, wall in enumerate((6.0, 5.0, 5.5), 1)]
    results += [measured("cwltool", wall, k) for k, wall in enumerate((5.0, 4.0, 5.0), 1)]
    text = render_report({"cores": "2"}, results, "docker", markdown=True)
    header = "| runner | runs ok | median wall s | min–max s | ÷ cwltool |\n"
    assert text.startswith("Machine:\n- cores: 2\n\n" + header)
    ours = "| ossrflow run --profile local --container docker | 3/3 | 5.50 | 5.00–6.00 | 1.10 |"
    assert ours in text
    assert "| cwltool --parallel | 3/3 | 5.00 | 4.00–5.00 | 1.00 |" in text
    assert text.endswith("Target:\n- demo ≤ 1.0 × cwltool: 1.10 (MISSED)\n")
    assert "Problems" not in text
    assert exit_status(results) == 0
    plain = render_report({}, results[:1] + results[3:4], "podman", markdown=False)
    assert re.search(r"^cwltool --parallel --podman +1/1 +5\.00 +5\.00–5\.00 +1\.00$", plain, re.M)
    assert plain.endswith("Target:\n  demo ≤ 1.0 × cwltool: 1.20 (MISSED)\n")


def test_a_failed_run_counts_only_in_runs_ok_and_exits_1() -> None:
    results = [measured("ossrflow", 9.0, 1, ok=False), measured("cwltool", 5.0, 1)]
    results += [measured("cwltool", 6.0, 2), measured("ossrflow", 4.0, 2)]
    text = render_report({}, results, "docker", markdown=False)
    assert re.search(r"^ossrflow run .* +1/2 +4\.00 +4\.00–4\.00 +0\.73$", text, re.M), text
    assert "  ossrflow run 1 failed: exited 1 (see /w/runs/x.err)\n" in text
    assert "demo ≤ 1.0 × cwltool: 0.73 (met)" in text
    assert exit_status(results) == 1
    none_ok = [measured("ossrflow", 9.0, ok=False), measured("cwltool", 5.0)]
    text = render_report({}, none_ok, "docker", True)
    assert "| ossrflow run --profile local --container docker | 0/1 | – | – | – |" in text
    assert "not measured" in text
    assert exit_status([measured("cwltool", 5.0)]) == 1  # ossrflow never ran


def test_outputs_are_compared_with_the_first_good_cwltool_run() -> None:
    same = [measured("ossrflow", 5.0), measured("cwltool", 5.0), measured("cwltool", 5.0, 2)]
    assert output_differences(same) == []
    other = {"headers.csv": CSV, "table.txt": "c" * 64, "extra.log": "d" * 64}
    lacking = {"table.txt": TEXT}
    results = [
        measured("ossrflow", 5.0, 1, outputs=other),
        measured("cwltool", 5.0, 1, ok=False),  # a failed run is no reference
        measured("cwltool", 5.0, 2),
        measured("ossrflow", 5.0, 2, outputs=lacking),
    ]
    assert output_differences(results) == [
        "ossrflow run 1 vs cwltool run 2: has extra.log in addition",
        f"ossrflow run 1 vs cwltool run 2: table.txt differs (sha256 {'c' * 12} ≠ {'b' * 12})",
        "ossrflow run 2 vs cwltool run 2: lacks headers.csv",
    ]
    text = render_report({}, results, "docker", markdown=True)
    assert "- outputs differ: ossrflow run 2 vs cwltool run 2: lacks headers.csv\n" in text
    assert exit_status(results[:1] + results[2:]) == 1  # every run ok, but the outputs differ
    only_ours = [measured("ossrflow", 5.0), measured("ossrflow", 5.0, 2, outputs=lacking)]
    assert output_differences(only_ours) == ["ossrflow run 2 vs ossrflow run 1: lacks headers.csv"]


def test_arguments_and_their_defaults() -> None:
    args = parser().parse_args([])
    assert (args.container, args.repeat, args.reuse, args.keep_runs) == ("auto", 3, False, False)
    assert (args.timeout, args.json, args.markdown) == (600.0, None, False)
    assert args.work == REPO / "benchmarks" / ".work" / "demo"
    argv = ["--container", "podman", "--repeat", "1", "--reuse", "--timeout", "90"]
    args = parser().parse_args(argv)
    assert (args.container, args.repeat, args.reuse, args.timeout) == ("podman", 1, True, 90.0)


@pytest.mark.parametrize(
    "bad",
    [["--repeat", "0"], ["--repeat", "x"], ["--timeout", "0"], ["--container", "none"], ["-n"]],
)
def test_bad_usage_exits_2(bad: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert_usage_error(main, bad, "benchmarks/demo_time.py", capsys)


def test_help_says_what_is_measured_and_the_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for part in ("what is measured:", "examples:", "environment:", "exit status:", "--reuse"):
        assert part in text


def test_no_container_engine_is_skipped_unless_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither docker nor podman on it
    argv = ["--work", str(tmp_path / "work")]
    skipped, failed = skipped_unless_ci(main, argv, monkeypatch, capsys)
    assert "skipped: docker or podman cannot run containers here" in skipped
    assert "docker or podman cannot run containers here (CI=true: the demo must run)" in failed
    skipped, failed = skipped_unless_ci(main, [*argv, "--container", "podman"], monkeypatch, capsys)
    assert "skipped: podman cannot run containers here (the demo's steps need its image)" in skipped
    assert "podman cannot run containers here (CI=true: the demo must run)" in failed
    assert not (tmp_path / "work").exists()


def test_a_folder_is_reused_only_when_prepared(tmp_path: Path) -> None:
    assert not_prepared(tmp_path, "docker") == f"no workflow.cwl, job.yml, tools in {tmp_path}"
    for name in ("workflow.cwl", "job.yml"):
        (tmp_path / name).write_text("", encoding="utf-8")
    (tmp_path / "tools").mkdir()
    assert "containers/astropy/image.json" in str(not_prepared(tmp_path, "docker"))
    (tmp_path / "containers" / "astropy").mkdir(parents=True)
    record = {"engine": "podman", "digest": "sha256:" + "0" * 64, "image": "x"}
    (tmp_path / "containers" / "astropy" / "image.json").write_text(json.dumps(record), "utf-8")
    assert not_prepared(tmp_path, "docker") == "its image was built with podman, not docker"


@pytest.mark.slow
def test_the_demo_under_both_runners(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = usable_engine("auto")
    if engine is None:
        reason = "neither docker nor podman runs containers here (see docs/containers.md)"
        cannot_run(reason, "the demo must run")
    work, result = tmp_path / "work", tmp_path / "result.json"
    status = main(["--repeat", "1", "--work", str(work), "--json", str(result)])
    out = capsys.readouterr().out
    assert_ran_well(status, out, [*work.glob("runs/*.err"), *work.glob("prepare.*")], "Problems")
    label = f"ossrflow run --profile local --container {engine}"
    assert re.search(rf"^{label} +1/1 +\d+\.\d\d ", out, re.MULTILINE), out
    assert re.search(r"^cwltool --parallel.* +1/1 +\d+\.\d\d .* 1\.00$", out, re.MULTILINE), out
    line = re.search(r"demo ≤ 1\.0 × cwltool: (\d+\.\d\d) \((met|MISSED)\)", out)
    ours, theirs = (run["outputs"] for run in runs_in_json(result, line, out))
    assert set(ours) == {"headers.csv", "table.txt"} and ours == theirs
    assert json.loads(result.read_text(encoding="utf-8"))["output_differences"] == []
    for runner in ("ossrflow", "cwltool"):
        assert not (work / "runs" / f"{runner}-1").exists()  # measured, then removed
        assert (work / "runs" / f"{runner}-1.out").is_file()
    assert not_prepared(work / "demo", engine) is None  # what --reuse keeps

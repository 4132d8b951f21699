"""Tests of the scatter benchmark's harness (not of ossrflow): run `pytest benchmarks/tests`.

Real processes and real files; no runner is started (the runs take seconds to minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyprofile import summarize_profiles
from report import Measurement, machine, render_report, render_table, target_lines
from slurmcount import parse_submissions
from timing import read_processes, run_timed, tree_rss
from workload import Case, check_outputs, prepare_case

HERE = Path(__file__).resolve().parent.parent


def good_output(case: Case, folder: Path) -> str:
    """The output object a correct runner prints, with its files written into ``folder``."""
    folder.mkdir()
    counts = []
    for index in range(case.size):
        path = folder / f"{index:05d}.count"
        path.write_text(case.expected(index), encoding="utf-8")
        counts.append({"class": "File", "location": path.as_uri()})
    return json.dumps({"counts": counts})


def test_prepare_case_writes_n_files_of_growing_size(tmp_path: Path) -> None:
    case = prepare_case(tmp_path, 12)
    job = json.loads(case.job.read_text(encoding="utf-8"))
    sizes = [(case.job.parent / item["path"]).stat().st_size for item in job["files"]]
    assert sizes == list(range(1, 13))
    assert (case.workflow.parent / "wc.cwl").is_file()


def test_prepare_case_leaves_a_finished_case_untouched(tmp_path: Path) -> None:
    case = prepare_case(tmp_path, 3)
    before = case.job.stat().st_mtime_ns
    time.sleep(0.01)
    prepare_case(tmp_path, 3)
    assert case.job.stat().st_mtime_ns == before


def test_check_outputs_accepts_the_right_counts(tmp_path: Path) -> None:
    case = prepare_case(tmp_path, 4)
    assert check_outputs(good_output(case, tmp_path / "out"), case) is None


def test_check_outputs_names_a_wrong_count(tmp_path: Path) -> None:
    case = prepare_case(tmp_path, 4)
    text = good_output(case, tmp_path / "out")
    (tmp_path / "out" / "00002.count").write_text("7\n", encoding="utf-8")
    path = tmp_path / "out" / "00002.count"
    assert check_outputs(text, case) == f"counts[2] ({path}) says '7\\n', expected '3\\n'"


def test_check_outputs_refuses_missing_elements_and_non_json(tmp_path: Path) -> None:
    case = prepare_case(tmp_path, 4)
    counts = json.loads(good_output(case, tmp_path / "out"))["counts"][:3]
    assert check_outputs(json.dumps({"counts": counts}), case) == (
        "3 output files in 'counts', expected 4"
    )
    assert check_outputs("Traceback ...", case) == "stdout is not a CWL output object"


def test_parse_submissions_counts_single_and_array_jobs() -> None:
    log = (
        "SLURM run ID: 312d2749-d89b-4a5d-a5ab-38d9c148c3b3\n"
        "Job 1 has been submitted with SLURM jobid 4242 (log: /run/.snakemake/slurm_logs/"
        "rule_count/4242.log).\n"
        "Job 3 has been submitted with SLURM jobid 4244 (log: /run/x/4244.log).\n"
        "Submitted array job with Snakemake IDs 5,6,7 and SLURM job ID 4250. The individual "
        "task IDs are 0-2.\n"
    )
    assert parse_submissions(log) == {"sbatch_calls": 3, "array_tasks": 3}
    assert parse_submissions("Nothing to be done (all requested files are present).") == {
        "sbatch_calls": 0,
        "array_tasks": 0,
    }


def test_tree_rss_sums_the_descendants_only() -> None:
    table = {1: (0, 100), 10: (1, 5), 11: (10, 7), 12: (10, 11), 20: (1, 1000)}
    assert tree_rss(table, 10) == (5, 23)
    assert tree_rss(table, 99) == (0, 0)


def test_read_processes_sees_a_child_and_its_parent() -> None:
    up = "import sys, time; print('up', flush=True); time.sleep(5)"
    child = subprocess.Popen([sys.executable, "-c", up], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "up\n"  # the interpreter has loaded: its memory is real
        table = read_processes()
        assert table[child.pid][0] == os.getpid()
        assert table[child.pid][1] > 1024 * 1024  # a Python interpreter holds more than 1 MB
    finally:
        child.kill()
        child.communicate()


def test_run_timed_measures_a_tree_that_allocates(tmp_path: Path) -> None:
    grandchild = "import time; b = bytes(range(256)) * (80 * 4096); time.sleep(0.6)"  # 80 MiB
    script = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {grandchild!r}])"
    timed = run_timed(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        stdout=tmp_path / "out",
        stderr=tmp_path / "err",
        interval=0.05,
    )
    assert (timed.status, timed.timed_out) == (0, False)
    assert timed.largest_rss_mb > 80  # the grandchild, exactly (rusage)
    assert timed.tree_rss_mb is not None and timed.root_rss_mb is not None
    assert timed.tree_rss_mb > 80 > timed.root_rss_mb  # sampled: the tree, not the parent


def test_run_timed_interrupts_after_the_timeout(tmp_path: Path) -> None:
    started = time.monotonic()
    timed = run_timed(
        [sys.executable, "-c", "import time; time.sleep(30)"],
        cwd=tmp_path,
        stdout=tmp_path / "out",
        stderr=tmp_path / "err",
        timeout=0.5,
        interval=0,
    )
    assert timed.timed_out and timed.status != 0
    assert time.monotonic() - started < 10
    assert timed.tree_rss_mb is None


def measurement(kind: str, runner: str, size: int, wall: float, **extra: object) -> Measurement:
    return Measurement(
        kind, runner, size, 1, wall, True, None, 100.0, 50.0, 200.0, "/x", dict(extra)
    )


def test_render_report_shows_medians_ratios_and_targets() -> None:
    results = [measurement("run", "ossrflow", 1000, wall) for wall in (6.0, 5.0, 7.0)] + [
        measurement("run", "cwltool", 1000, wall) for wall in (15.0, 16.0, 14.0)
    ]
    results.append(measurement("noop", "ossrflow", 1000, 1.5))
    text = render_report({"cores": "2"}, results, markdown=True)
    assert "| 1000 | ossrflow (local) | 3/3 | 6.00 | 5.0–7.0 | 0.40 | 50 | 100 | 200 |" in text
    assert "| 1000 | cwltool --parallel | 3/3 | 15.00 | 14.0–16.0 | 1.00 | 50 | 100 | 200 |" in text
    assert target_lines(results) == [
        "local N=1000, ossrflow ≤ 0.5 × cwltool --parallel: 0.40 (met)",
        "no-op rerun of a finished N=1000 run < 2 s: 1.50 s (met)",
    ]


def test_slurm_target_counts_the_interrupted_and_the_resumed_run() -> None:
    results = [
        measurement("slurm-interrupted", "ossrflow", 1000, 20.0, sbatch_calls=30, sacct_jobs=30),
        measurement("slurm", "ossrflow", 1000, 50.0, sbatch_calls=25, sacct_jobs=25),
        measurement("slurm-rerun", "ossrflow", 1000, 3.0, sbatch_calls=0, sacct_jobs=0),
    ]
    assert target_lines(results) == [
        "Slurm N=1000 ≤ 50 jobs, outputs correct: 55 jobs (MISSED)",
        "Slurm N=1000 rerun of the finished run submits nothing: 0 (met)",
    ]


@pytest.mark.skipif(not Path("/proc/pressure/io").exists(), reason="no PSI on this kernel")
def test_the_machine_block_gives_the_io_pressure() -> None:
    block = machine(Path(__file__).parent, None)
    pressure = block["io pressure at start"]
    ten, sixty = (float(part.split(" %")[0]) for part in pressure.split(", "))
    assert 0 <= ten <= 100 and 0 <= sixty <= 100
    assert (
        list(block).index("io pressure at start") == list(block).index("load average at start") + 1
    )


def test_render_table_aligns_plain_text() -> None:
    assert render_table(["a", "long"], [["xyz", "1"]], markdown=False) == "a    long\nxyz  1\n"


def test_summarize_profiles_ranks_the_functions_of_each_program(tmp_path: Path) -> None:
    hook = HERE / "profiling"
    env = os.environ | {"PYTHONPATH": str(hook), "OSSRFLOW_BENCH_PROFILE_DIR": str(tmp_path)}
    script = tmp_path / "busy.py"
    loop = "def spin():\n    total = 0\n    for i in range(500_000):\n        total += i * i\n"
    script.write_text(f"{loop}\n\nspin()\n", encoding="utf-8")
    subprocess.run([sys.executable, str(script)], env=env, check=True)
    (dump,) = tmp_path.glob("busy-*.prof")
    assert dump.stat().st_size > 0
    text = summarize_profiles(tmp_path, 5, tmp_path)
    assert text.startswith("busy: 1 process(es), ")
    by_self = text.split("by self time:")[1].split("by cumulative time")[0].splitlines()
    assert by_self[2].endswith("busy.py:1(spin)")  # after the heading and column names
    assert "busy.py:1(spin)" in text.split("by cumulative time")[1]  # not taken for a wrapper


@pytest.mark.parametrize("bad", ["10,x", "0", "-5"])
def test_sizes_refuses_bad_values(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    import scatter

    with pytest.raises(SystemExit) as exit_info:
        scatter.main(["--sizes", bad])
    assert exit_info.value.code == 2
    assert "--sizes" in capsys.readouterr().err


def test_memory_target_needs_a_smaller_n_and_compares_the_tree() -> None:
    alone = [measurement("run", "ossrflow", 5000, 40.0)]
    assert target_lines(alone) == [
        "N=5000 completes: 1/1 (met)",
        "N=5000 tree memory grows no faster than N: no smaller N in this run (add one to --sizes)",
    ]
    small = measurement("run", "ossrflow", 100, 5.0)
    small.tree_rss_mb = 20.0  # 200 MB at N=5000 is ×10 for ×50 elements
    assert target_lines([small, *alone])[1] == (
        "N=5000 tree memory grows no faster than N: ×10.00 for ×50 elements from N=100 (met)"
    )
    small.tree_rss_mb = 2.0
    assert target_lines([small, *alone])[1].endswith("×100.00 for ×50 elements from N=100 (MISSED)")

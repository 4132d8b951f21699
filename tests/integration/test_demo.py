"""The demo end to end: its data are what make_data.py makes, and `make demo` runs it.

`run_demo.py` composes workflows/demo/analysis.yml against workflows/registry, runs the real
astropy tools (in the image `ossrflow containerize` builds when an engine runs here, else
natively; or through cwltool), and prints where the outputs and the record are, and the command
that reruns it. The observing log is deterministic, so its bytes are asserted; the printed rerun
must reproduce it without the venv on PATH, and nothing may warn.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from ossrflow.provenance.record import load_record
from tests.conftest import REPO

DEMO = REPO / "workflows" / "demo"

OBSLOG = """\
filename,hdu,keyword,value
m67_B_001.fits,0,OBJECT,M67
m67_B_001.fits,0,DATE-OBS,2024-03-14T21:02:11
m67_B_001.fits,0,FILTER,B
m67_B_001.fits,0,EXPTIME,120.0
m67_B_001.fits,0,AIRMASS,1.212
m67_B_001.fits,0,DATASUM,1695310476
m67_V_001.fits,0,OBJECT,M67
m67_V_001.fits,0,DATE-OBS,2024-03-14T21:06:40
m67_V_001.fits,0,FILTER,V
m67_V_001.fits,0,EXPTIME,60.0
m67_V_001.fits,0,AIRMASS,1.198
m67_V_001.fits,0,DATASUM,3783384455
m67_R_001.fits,0,OBJECT,M67
m67_R_001.fits,0,DATE-OBS,2024-03-14T21:09:05
m67_R_001.fits,0,FILTER,R
m67_R_001.fits,0,EXPTIME,60.0
m67_R_001.fits,0,AIRMASS,1.191
m67_R_001.fits,0,DATASUM,3799835102
m67_V_002.fits,0,OBJECT,M67
m67_V_002.fits,0,DATE-OBS,2024-03-14T22:31:52
m67_V_002.fits,0,FILTER,V
m67_V_002.fits,0,EXPTIME,60.0
m67_V_002.fits,0,AIRMASS,1.153
m67_V_002.fits,0,DATASUM,3659520845
"""


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"demo_{name}", DEMO / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_data_and_cart_are_what_make_data_makes() -> None:
    make_data = load_script("make_data")
    assert make_data.stale_files() == []


@pytest.mark.slow
@pytest.mark.parametrize(
    ("runner", "ran_with", "record"),
    [
        ("cwltool", "cwltool --no-container", "provenance/bagit.txt"),
        # the Snakemake path `make demo` takes; its record is the run's RO-Crate
        ("auto", "ossrflow", "run/provenance/ro-crate-metadata.json"),
    ],
)
def test_make_demo_runs_the_workflow(
    tmp_path: Path, runner: str, ran_with: str, record: str
) -> None:
    out = tmp_path / "demo-run"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, str(DEMO / "run_demo.py"), "--out", str(out), "--runner", runner],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    results = out / "results"
    assert (results / "headers.csv").read_text() == OBSLOG
    table = (results / "table.txt").read_text()
    assert table.splitlines()[:3] == [
        "   filename    hdu keyword         value       ",
        "-------------- --- -------- -------------------",
        "m67_B_001.fits   0   OBJECT                 M67",
    ]
    assert (out / record).is_file()
    assert f"ran with: {ran_with}" in done.stdout
    assert f"  obslog   {results / 'headers.csv'}\n" in done.stdout
    assert f"  report   {results / 'table.txt'}\n" in done.stdout
    shown = (
        out / record if record.endswith("ro-crate-metadata.json") else out / Path(record).parts[0]
    )
    assert f"record:   {shown}\n" in done.stdout
    assert done.stdout.endswith(table)


def _without_progress(stderr: str) -> str:
    return "".join(line for line in stderr.splitlines(True) if not line.startswith("[ossrflow] "))


@pytest.mark.slow
@pytest.mark.parametrize("container", ["none", "auto"])
def test_the_printed_rerun_reproduces_without_the_venv_and_nothing_warns(
    tmp_path: Path, container: str
) -> None:
    """Issue 14: `make demo`'s rerun line, pasted in a shell without the venv, says reproduced;
    the demo, the rerun and a dry run print no warning."""
    bare = {**os.environ, "PATH": "/usr/bin:/bin"}  # no venv: as a new shell has it
    out = tmp_path / "demo-run"
    demo = [sys.executable, str(DEMO / "run_demo.py"), "--out", str(out), "--container", container]
    done = subprocess.run(
        demo, capture_output=True, text=True, env=bare, cwd=REPO, check=False, timeout=900
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("rerun:"))
    command = shlex.split(line.removeprefix("rerun:").split("   (")[0])
    assert command[1:] == ["rerun", str(out / "run")]
    again = subprocess.run(
        command, capture_output=True, text=True, env=bare, cwd=REPO, check=False, timeout=900
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"reproduced 2/2 outputs\nrecord: {out / 'run-rerun' / 'provenance'}\n"
    assert _without_progress(again.stderr) == ""
    # compose then run kept the pins: the record has the lock, so the rerun checked the entries
    # and diff compares them (no "entry … absent")
    assert load_record(out / "run").lock is not None
    diff = subprocess.run(
        [command[0], "diff", str(out / "run"), str(out / "run-rerun")],
        capture_output=True, text=True, env=bare, cwd=REPO, check=False, timeout=120,
    )  # fmt: skip
    assert diff.returncode == 0, diff.stderr
    # the checked copies carry fitscheck's timestamps (not outputs); in containers the rerun's
    # packed workflow names the recorded image digest where the first run named the tag
    pinned = ["workflow"] if container == "auto" else []
    rows = [row.split()[0] for row in diff.stdout.splitlines()[3:] if row.strip()]
    assert rows == [*pinned, *["step"] * 4]
    dry = subprocess.run(
        [command[0], "run", str(out / "workflow.cwl"), str(out / "job.yml"), "--dry-run",
         "--run-dir", str(tmp_path / "dry")],
        capture_output=True, text=True, env=bare, cwd=REPO, check=False, timeout=300,
    )  # fmt: skip
    assert (dry.returncode, _without_progress(dry.stderr)) == (0, ""), dry.stderr

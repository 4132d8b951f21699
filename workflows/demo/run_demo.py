"""``make demo``: compose the M67 observing-log workflow, run it locally, say where everything is.

1. ``ossrflow compose workflows/demo/analysis.yml --registry dir:workflows/registry --outdir demo-run``
   resolves the three astropy entries of ``workflows/registry/``, stages the four exposures of
   ``cart.json`` (checksum-verified) and writes ``demo-run/workflow.cwl``, ``tools/``,
   ``job.yml`` and ``ossrflow.lock.json``.
2. Runs it through the Snakemake execution path on the local profile: ``ossrflow run`` when
   this ossrflow has that command, else ``ossrflow-cwl-runner``; ``cwltool --provenance`` only
   as a last resort (or with ``--runner cwltool``). It says which path it took.
3. Prints where the outputs and the run record are, and the observing log itself.

Usage:  python workflows/demo/run_demo.py [--out DIR] [--runner auto|ossrflow|ossrflow-cwl-runner|cwltool]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFINITION = HERE / "analysis.yml"
REGISTRY = REPO / "workflows" / "registry"
BIN = Path(sys.executable).parent
TOOLS = ("fitscheck", "fitsheader", "showtable-astropy")


def ossrflow(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run the ossrflow CLI of this interpreter."""
    command = [sys.executable, "-m", "ossrflow", *args]
    return subprocess.run(command, text=True, capture_output=capture, check=False)


def tool_env() -> dict[str, str]:
    """The environment the steps run in: this interpreter's scripts first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    return env


def check_tools() -> None:
    path = tool_env()["PATH"]
    missing = [tool for tool in TOOLS if shutil.which(tool, path=path) is None]
    if missing:
        sys.exit(
            f"error: the demo's tools are not installed ({', '.join(missing)}): "
            f"{sys.executable} -m pip install -e '.[demo]' (or run `make demo`)"
        )


def ossrflow_run_usable() -> bool:
    """``ossrflow run`` exists and takes the cwl-runner options this script passes."""
    shown = ossrflow("run", "--help", capture=True)
    return shown.returncode == 0 and all(o in shown.stdout for o in ("--outdir", "--run-dir"))


def choose_runner(wanted: str) -> str:
    if wanted != "auto":
        return wanted
    if ossrflow_run_usable():
        return "ossrflow"
    if shutil.which("ossrflow-cwl-runner", path=tool_env()["PATH"]):
        return "ossrflow-cwl-runner"
    return "cwltool"


def compose(out: Path) -> None:
    command = f"ossrflow compose {DEFINITION.relative_to(REPO)} --registry dir:workflows/registry"
    print(f"$ {command} --outdir {out}", flush=True)
    result = ossrflow(
        "compose",
        str(DEFINITION),
        "--registry",
        f"dir:{REGISTRY}",
        "--outdir",
        str(out),
        "--no-lock",
    )
    if result.returncode != 0:
        sys.exit(result.returncode)


def run_cwltool(out: Path) -> tuple[dict[str, object], Path]:
    """cwltool, no containers, with a CWLProv research object as the run record."""
    results, record = out / "results", out / "provenance"
    shutil.rmtree(record, ignore_errors=True)
    command = [
        str(BIN / "cwltool"),
        "--quiet",
        "--no-container",
        "--provenance",
        str(record),
        "--outdir",
        str(results),
        str(out / "workflow.cwl"),
        str(out / "job.yml"),
    ]
    print(f"$ cwltool --no-container --provenance {record} --outdir {results} ...", flush=True)
    done = subprocess.run(command, text=True, capture_output=True, env=tool_env(), check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        sys.exit(f"error: the workflow failed under cwltool (exit {done.returncode})")
    (results / "cwl.output.json").write_text(done.stdout, encoding="utf-8")
    return json.loads(done.stdout), record


def run_snakemake(out: Path, command: list[str], label: str) -> tuple[dict[str, object], Path]:
    """The Snakemake execution path (local profile); the run folder is the record."""
    results, record = out / "results", out / "run"
    shutil.rmtree(record, ignore_errors=True)
    argv = [*command, "--outdir", str(results), "--run-dir", str(record)]
    argv += [str(out / "workflow.cwl"), str(out / "job.yml")]
    print(
        f"$ {label} --outdir {results} --run-dir {record} {out / 'workflow.cwl'} {out / 'job.yml'}"
    )
    print("  (each step is a Snakemake job; this takes about a minute)", flush=True)
    # stderr is shown only on failure: cwltool's loader warns at length, in every job, that it
    # cannot fetch the schema.org vocabulary the tools' annotations name.
    done = subprocess.run(argv, text=True, capture_output=True, env=tool_env(), check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        sys.exit(f"error: the workflow failed (exit {done.returncode})")
    return json.loads(done.stdout), record


def show(outputs: dict[str, object], record: Path, runner: str, out: Path) -> None:
    print()
    print(f"ran with: {runner}")
    print(
        f"workflow: {out / 'workflow.cwl'}  (tools in {out / 'tools'}, pins in {out / 'ossrflow.lock.json'})"
    )
    print("outputs:")
    for name, value in outputs.items():
        path = value.get("path") if isinstance(value, dict) else value
        print(f"  {name:8} {path}")
    crate = record / "provenance" / "ro-crate-metadata.json"
    if crate.is_file():
        print(f"record:   {crate}")
        print(
            f"rerun:    ossrflow rerun {record}   (reruns from the crate and verifies every output)"
        )
    else:
        print(f"record:   {record}")
    report = outputs.get("report")
    if isinstance(report, dict) and report.get("path"):
        print()
        print(Path(str(report["path"])).read_text(encoding="utf-8"), end="")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "demo-run", help="output folder")
    parser.add_argument(
        "--runner", choices=("auto", "ossrflow", "ossrflow-cwl-runner", "cwltool"), default="auto"
    )
    args = parser.parse_args()
    check_tools()
    out = args.out.resolve()
    compose(out)
    runner = choose_runner(args.runner)
    if runner == "ossrflow":
        outputs, record = run_snakemake(
            out, [sys.executable, "-m", "ossrflow", "run"], "ossrflow run"
        )
        how = "ossrflow run (Snakemake, local profile)"
    elif runner == "ossrflow-cwl-runner":
        outputs, record = run_snakemake(
            out, [str(BIN / "ossrflow-cwl-runner")], "ossrflow-cwl-runner"
        )
        how = "ossrflow-cwl-runner (Snakemake, local profile; `ossrflow run` is not available yet)"
    else:
        outputs, record = run_cwltool(out)
        how = "cwltool --no-container (fallback: no ossrflow execution path available)"
    show(outputs, record, how, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make demo``: compose the M67 observing-log workflow, run it, say where everything is.

1. When a container engine runs here (docker, else podman), ``ossrflow containerize`` builds the
   image of the demo registry's astropy entry (wheels by the host's pip, the build offline) into
   ``OUT/containers/``, so that the composed tools pin it by digest and every step runs in it.
   Without an engine (or with ``--container none``) the steps run natively, with this
   interpreter's environment first on PATH.
2. ``ossrflow compose workflows/demo/analysis.yml --registry dir:workflows/registry --outdir OUT``
   resolves the three astropy entries, stages the four exposures of ``cart.json``
   (checksum-verified) and writes ``OUT/workflow.cwl``, ``tools/``, ``job.yml`` and
   ``ossrflow.lock.json``.
3. Runs it through the Snakemake execution path on the local profile: ``ossrflow run`` (the run's
   record keeps the lock beside the workflow), else ``ossrflow-cwl-runner``; ``cwltool`` only as
   a last resort (or with ``--runner cwltool``). It says which path it took.
4. Prints where the outputs and the run record are, the command that reruns it (it works in a
   new shell, without the venv activated), and the observing log itself.

Nothing is printed on stderr unless something fails (then the failing command's stderr is).

Usage:  python workflows/demo/run_demo.py [--out DIR] [--container auto|docker|podman|none]
                                          [--runner auto|ossrflow|ossrflow-cwl-runner|cwltool]
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
ENTRY = REGISTRY / "astropy-fitscheck"  # the three entries share one image (astropy 8.0.1)
BASE_IMAGE = "ossrflow/debian-python:local"
BIN = Path(sys.executable).parent
TOOLS = ("fitscheck", "fitsheader", "showtable-astropy")


def shown(path: Path) -> str:
    """A path as a user in this folder types it: relative when it lies below."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def tool_env() -> dict[str, str]:
    """The environment the steps run in: this interpreter's scripts first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    return env


def quiet(argv: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command with its output captured (shown by the caller when it fails)."""
    return subprocess.run(
        argv, text=True, capture_output=True, cwd=cwd, env=tool_env(), check=False
    )


def ossrflow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ossrflow CLI of this interpreter, quietly."""
    return quiet([sys.executable, "-m", "ossrflow", *args], cwd=cwd)


def fail(step: str, done: subprocess.CompletedProcess[str]) -> None:
    sys.stderr.write(done.stderr)
    sys.exit(f"error: {step} failed (exit {done.returncode})")


def check_tools() -> None:
    path = tool_env()["PATH"]
    missing = [tool for tool in TOOLS if shutil.which(tool, path=path) is None]
    if missing:
        sys.exit(
            f"error: the demo's tools are not installed ({', '.join(missing)}): "
            f"{sys.executable} -m pip install -e '.[demo]' (or run `make demo`)"
        )


# --- containers ----------------------------------------------------------------------------------


def usable_engine(wanted: str) -> str | None:
    """docker, else podman, when it can run containers here; None for none."""
    if wanted == "none":
        return None
    from ossrflow import detect_engines

    usable = {engine.name for engine in detect_engines() if engine.usable}
    for name in ("docker", "podman") if wanted == "auto" else (wanted,):
        if name in usable:
            return name
    if wanted != "auto":
        sys.exit(f"error: {wanted} cannot run containers here (see docs/containers.md)")
    return None


def has_base_image(engine: str) -> bool:
    done = quiet([engine, "image", "inspect", BASE_IMAGE])
    return done.returncode == 0


def containerize(engine: str, out: Path) -> bool:
    """Build the astropy image into OUT/containers; False (with a note) when it cannot be."""
    if not has_base_image(engine):
        print(f"$ bash containers/base/build.sh --engine {engine} debian-python   (once, ~90 s)")
        built = quiet(["bash", str(REPO / "containers/base/build.sh"), "--engine", engine,
                       "debian-python"])  # fmt: skip
        if built.returncode != 0:
            reason = (built.stderr.strip().splitlines() or ["unknown"])[-1]
            print(f"  the base image could not be built ({reason}): running natively")
            return False
    print(f"$ ossrflow containerize dir:{shown(ENTRY)} --container {engine}", flush=True)
    done = ossrflow("containerize", f"dir:{ENTRY}", "--container", engine, cwd=out)
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["unknown"])[-1]
        print(f"  the image could not be built ({reason}): running natively")
        return False
    record = json.loads((out / "containers/astropy/image.json").read_text(encoding="utf-8"))
    print(f"  image {record['image']} {record['digest']} ({engine})")
    return True


# --- compose and run -------------------------------------------------------------------------------


def compose(out: Path) -> None:
    """Compose into OUT; run in OUT so that the tools find OUT/containers/ (when built)."""
    print(
        f"$ ossrflow compose {shown(DEFINITION)} --registry dir:{shown(REGISTRY)} "
        f"--outdir {shown(out)}",
        flush=True,
    )
    done = ossrflow(
        "compose", str(DEFINITION), "--registry", f"dir:{REGISTRY}", "--outdir", str(out),
        "--no-lock", cwd=out,
    )  # fmt: skip
    if done.returncode != 0:
        fail("compose", done)
    for line in done.stdout.rstrip().splitlines():
        print(f"  {line}" if line else "")


def run_cwltool(out: Path) -> tuple[dict[str, object], Path]:
    """cwltool, no containers, with a CWLProv research object as the run record."""
    results, record = out / "results", out / "provenance"
    shutil.rmtree(record, ignore_errors=True)
    command = [
        str(BIN / "cwltool"), "--quiet", "--no-container", "--provenance", str(record),
        "--outdir", str(results), str(out / "workflow.cwl"), str(out / "job.yml"),
    ]  # fmt: skip
    print(f"$ cwltool --no-container --provenance {shown(record)} --outdir {shown(results)} ...")
    done = quiet(command)
    if done.returncode != 0:
        fail("the workflow (cwltool)", done)
    (results / "cwl.output.json").write_text(done.stdout, encoding="utf-8")
    return json.loads(done.stdout), record


def run_snakemake(
    out: Path, command: list[str], label: str, engine: str | None
) -> tuple[dict[str, object], Path]:
    """The Snakemake execution path (local profile); the run folder is the record."""
    results, record = out / "results", out / "run"
    shutil.rmtree(record, ignore_errors=True)
    container = ["--container", engine or "none"]
    argv = [*command, "--outdir", str(results), "--run-dir", str(record), *container]
    argv += [str(out / "workflow.cwl"), str(out / "job.yml")]
    print(
        f"$ {label} {shown(out / 'workflow.cwl')} {shown(out / 'job.yml')} --outdir "
        f"{shown(results)} --run-dir {shown(record)} --container {engine or 'none'}",
        flush=True,
    )
    done = quiet(argv, cwd=out)
    if done.returncode != 0:
        fail("the workflow", done)
    return json.loads(done.stdout), record


def show(outputs: dict[str, object], record: Path, runner: str, out: Path) -> None:
    print()
    print(f"ran with: {runner}")
    print(f"workflow: {shown(out / 'workflow.cwl')}  (tools in {shown(out / 'tools')}, "
          f"pins in {shown(out / 'ossrflow.lock.json')})")  # fmt: skip
    print("outputs:")
    for name, value in outputs.items():
        path = value.get("path") if isinstance(value, dict) else value
        print(f"  {name:8} {path}")
    crate = record / "provenance" / "ro-crate-metadata.json"
    if crate.is_file():
        print(f"record:   {crate}")
        ossrflow_cli = BIN / "ossrflow"
        print(f"rerun:    {shown(ossrflow_cli)} rerun {shown(record)}   "
              "(reruns from the crate and verifies every output)")  # fmt: skip
    else:
        print(f"record:   {record}")
    report = outputs.get("report")
    if isinstance(report, dict) and report.get("path"):
        print()
        print(Path(str(report["path"])).read_text(encoding="utf-8"), end="")


def choose_runner(wanted: str) -> str:
    if wanted != "auto":
        return wanted
    help_text = ossrflow("run", "--help")
    if help_text.returncode == 0 and "--run-dir" in help_text.stdout:
        return "ossrflow"
    if shutil.which("ossrflow-cwl-runner", path=tool_env()["PATH"]):
        return "ossrflow-cwl-runner"
    return "cwltool"


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "demo-run", help="output folder")
    parser.add_argument(
        "--runner", choices=("auto", "ossrflow", "ossrflow-cwl-runner", "cwltool"), default="auto"
    )
    parser.add_argument(
        "--container", choices=("auto", "docker", "podman", "none"), default="auto",
        help="engine the steps run in (auto: docker, else podman, else none)",
    )  # fmt: skip
    args = parser.parse_args()
    check_tools()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    runner = choose_runner(args.runner)
    engine = usable_engine(args.container) if runner != "cwltool" else None
    if engine is not None and not containerize(engine, out):
        engine = None
    if engine is None:  # natively: no image a previous demo built is pinned
        shutil.rmtree(out / "containers", ignore_errors=True)
    compose(out)
    where = f"in the image, {engine}" if engine else "natively"
    if runner == "ossrflow":
        command = [sys.executable, "-m", "ossrflow", "run"]
        outputs, record = run_snakemake(out, command, "ossrflow run", engine)
        how = f"ossrflow run (Snakemake, local profile, steps {where})"
    elif runner == "ossrflow-cwl-runner":
        command = [str(BIN / "ossrflow-cwl-runner")]
        outputs, record = run_snakemake(out, command, "ossrflow-cwl-runner", engine)
        how = f"ossrflow-cwl-runner (Snakemake, local profile, steps {where})"
    else:
        outputs, record = run_cwltool(out)
        how = "cwltool --no-container (fallback: no ossrflow execution path available)"
    show(outputs, record, how, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

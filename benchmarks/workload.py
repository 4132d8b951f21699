"""The scatter benchmark's workload: a CWL workflow over N files, its check, the runners' commands.

The workflow scatters a tiny real tool, ``wc -c`` reading a File on stdin with stdout captured
as the output File, over a ``File[]`` input. File ``i`` holds ``i + 1`` bytes, so every output
has a different expected text and a misplaced or missing element is caught.
"""

from __future__ import annotations

import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

__all__ = [
    "LABELS",
    "RUNNERS",
    "Case",
    "check_outputs",
    "executable",
    "ossrflow_command",
    "prepare_case",
    "runner_command",
]

BIN = Path(sys.executable).parent
RUNNERS = ("ossrflow", "cwltool", "toil")
LABELS = {
    "ossrflow": "ossrflow (local)",
    "cwltool": "cwltool --parallel",
    "toil": "toil-cwl-runner",
}

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
doc: Count the bytes of one file (wc -c reads it on stdin, so the output is just the number).
baseCommand: [wc, -c]
stdin: $(inputs.file.path)
stdout: $(inputs.file.nameroot).count
inputs:
  file: File
outputs:
  count: stdout
"""

WORKFLOW = """\
cwlVersion: v1.2
class: Workflow
doc: Run wc.cwl once per input file.
requirements:
  ScatterFeatureRequirement: {}
inputs:
  files: File[]
outputs:
  counts:
    type: File[]
    outputSource: count/count
steps:
  count:
    run: wc.cwl
    scatter: file
    in:
      file: files
    out: [count]
"""


@dataclass(frozen=True)
class Case:
    """One problem size: N input files (file i has i+1 bytes) and the job order listing them."""

    size: int
    workflow: Path
    job: Path

    def expected(self, index: int) -> str:
        """What ``wc -c`` prints for file ``index``."""
        return f"{index + 1}\n"


def _write_if_changed(path: Path, text: str) -> None:
    """Leave a file that is already right untouched (its mtime too: reruns must see no change)."""
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_workflow(work: Path) -> Path:
    """``WORK/workflow/scatter.cwl`` and the ``wc.cwl`` it runs; returns the workflow."""
    folder = work / "workflow"
    folder.mkdir(parents=True, exist_ok=True)
    _write_if_changed(folder / "wc.cwl", TOOL)
    _write_if_changed(folder / "scatter.cwl", WORKFLOW)
    return folder / "scatter.cwl"


def prepare_case(work: Path, size: int) -> Case:
    """Write (or keep, when already right) the N data files and ``job.json`` for ``size``."""
    folder = work / f"data-{size}"
    data = folder / "files"
    data.mkdir(parents=True, exist_ok=True)
    width = max(5, len(str(size - 1)))
    text = b"the quick brown fox jumps over the lazy dog\n" * (size // 44 + 1)
    names = []
    for index in range(size):
        path = data / f"{index:0{width}d}.txt"
        if not path.is_file() or path.stat().st_size != index + 1:
            path.write_bytes(text[: index + 1])
        names.append(path.name)
    files = [{"class": "File", "path": f"files/{name}"} for name in names]
    job = folder / "job.json"
    _write_if_changed(job, json.dumps({"files": files}, indent=1) + "\n")
    return Case(size, write_workflow(work), job)


def _output_path(item: Any) -> Path | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("path"), str):
        return Path(item["path"])
    location = item.get("location")
    if isinstance(location, str) and location.startswith("file:"):
        return Path(unquote(urlparse(location).path))
    return None


def check_outputs(stdout_text: str, case: Case) -> str | None:
    """None when the output object lists N files with the right counts, else the first problem."""
    try:
        counts = json.loads(stdout_text).get("counts")
    except (json.JSONDecodeError, AttributeError):
        return "stdout is not a CWL output object"
    if not isinstance(counts, list) or len(counts) != case.size:
        found = len(counts) if isinstance(counts, list) else "no"
        return f"{found} output files in 'counts', expected {case.size}"
    for index, item in enumerate(counts):
        path = _output_path(item)
        if path is None:
            return f"counts[{index}] is not a local File: {item!r:.200}"
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return f"counts[{index}]: cannot read {path}: {exc}"
        if text != case.expected(index):
            return f"counts[{index}] ({path}) says {text!r}, expected {case.expected(index)!r}"
    return None


def executable(name: str) -> str | None:
    """``name`` beside this Python (the venv), else on PATH."""
    local = BIN / name
    return str(local) if local.is_file() else shutil.which(name)


def ossrflow_command(case: Case, run_dir: Path, work: Path, profile: str = "local") -> list[str]:
    """``ossrflow run`` as a user types it, with the schema cache kept under ``work``."""
    ossrflow = executable("ossrflow") or "ossrflow"
    return [
        ossrflow,
        "run",
        str(case.workflow),
        str(case.job),
        "--profile",
        profile,
        "--run-dir",
        str(run_dir),
        "--cache-dir",
        str(work / "cache"),
    ]


def runner_command(
    runner: str, case: Case, run_dir: Path, work: Path, toil: str | None = None
) -> list[str]:
    """The command line of one runner; every runner writes only inside ``run_dir``."""
    if runner == "ossrflow":
        return ossrflow_command(case, run_dir, work)
    if runner == "cwltool":
        tmp = run_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return [
            executable("cwltool") or "cwltool",
            "--parallel",
            "--outdir",
            str(run_dir / "out"),
            "--tmpdir-prefix",
            f"{tmp}/",
            "--tmp-outdir-prefix",
            f"{tmp}/",
            str(case.workflow),
            str(case.job),
        ]
    (run_dir / "work").mkdir(parents=True, exist_ok=True)
    return [
        toil or "toil-cwl-runner",
        "--jobStore",
        f"file:{run_dir / 'jobstore'}",
        "--workDir",
        str(run_dir / "work"),
        "--outdir",
        str(run_dir / "out"),
        str(case.workflow),
        str(case.job),
    ]

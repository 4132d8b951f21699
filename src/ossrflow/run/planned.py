"""Output files known when a batched scatter is planned, so ``collect`` need not rebuild its jobs.

Most scattered tools name their outputs plainly: ``stdout: $(inputs.file.nameroot).count``, or
``glob: result.txt``. For such a step the planner, which builds every element's cwltool job
anyway, evaluates each output's glob there and writes the names into
``steps/<key>/planned-outputs.json``. The ``collect`` job then makes each element's File object
from the file itself (size, SHA-1, location) instead of building the element's cwltool job a
second time: the same object cwltool's ``collect_output_ports`` makes for a plain file, at a
fraction of the cost (tested side by side in ``tests/unit/run/test_planned.py``).

Plain means: every output is a required ``File`` with a ``glob`` and nothing else (no
``outputEval``, ``secondaryFiles``, ``format``, ``loadContents``, ``streamable``), each glob is
literal text or parameter references without ``runtime.exitCode``, and it names one file directly
in the output folder (no wildcard, no folder). Anything else keeps cwltool's collection, and so
does any element whose output folder holds a ``cwl.output.json`` or whose file is missing, not a
regular file, or a symbolic link: cwltool then reports the problem in its own words.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

from ossrflow.integrity import write_if_changed

if TYPE_CHECKING:
    from cwltool.job import CommandLineJob
    from cwltool.process import Process

__all__ = [
    "PLANNED_OUTPUTS",
    "Planned",
    "element_files",
    "plain_globs",
    "plain_outputs",
    "planned_of",
    "read_planned",
    "write_planned",
]

PLANNED_OUTPUTS = "planned-outputs.json"
GENERATION = "http://commonwl.org/cwltool#generation"  # cwltool's MutationManager marks outputs
# Literal text and $(…) parameter references only: no JavaScript, so evaluating costs nothing.
_REFERENCE = r"\$\((?:inputs|self|runtime)(?:\.\w+|\['[^'\]]*'\]|\[\d+\])*\)"
_PLAIN_GLOB = re.compile(rf"(?:[^$\\]|{_REFERENCE})*")
_OUTPUT_KEYS = {"id", "type", "outputBinding", "doc", "label"}
_NOT_A_NAME = re.compile(r"[*?\[\]/\\]")

Planned = tuple[list[str], list[list[str]]]  # output names; each element's file names


def plain_globs(tool: Process) -> list[tuple[str, str]] | None:
    """``(output name, glob)`` of each output of ``tool`` when all are plain; else None."""
    from cwltool.process import shortname

    found = []
    for port in tool.tool["outputs"]:
        binding = port.get("outputBinding")
        if set(port) - _OUTPUT_KEYS or port.get("type") != "File" or not binding:
            return None
        glob = binding.get("glob")
        if set(binding) != {"glob"} or not isinstance(glob, str) or "exitCode" in glob:
            return None
        if not _PLAIN_GLOB.fullmatch(glob) or _NOT_A_NAME.search(re.sub(_REFERENCE, "", glob)):
            return None
        found.append((shortname(port["id"]), glob))
    return found or None


def element_files(globs: Sequence[tuple[str, str]], job: CommandLineJob) -> list[str] | None:
    """Each output's file name for one element (its job built by the planner); None when one
    is not a plain name in the output folder."""
    names = []
    for _, glob in globs:
        name = job.builder.do_eval(glob)
        if not _plain_name(name):
            return None
        names.append(name)
    return names


def _plain_name(name: object) -> TypeGuard[str]:
    """A file name straight in the output folder: no separator, wildcard, ``.`` or ``..``."""
    return isinstance(name, str) and name not in ("", ".", "..") and not _NOT_A_NAME.search(name)


def planned_of(tool: Process, files: Sequence[list[str] | None]) -> Planned | None:
    """What :func:`write_planned` writes for ``tool`` given each element's :func:`element_files`
    (None unless every output is plain and every element's names are)."""
    globs = plain_globs(tool)
    if globs is None or any(names is None for names in files):
        return None
    return [name for name, _ in globs], [names for names in files if names is not None]


def write_planned(step_dir: Path, planned: Planned | None) -> None:
    """Write (or, for a step that is not plain, remove) the step's planned output names."""
    path = step_dir / PLANNED_OUTPUTS
    if planned is None:
        path.unlink(missing_ok=True)
        return
    names, files = planned
    write_if_changed(path, json.dumps({"outputs": names, "files": files}) + "\n")


def read_planned(step_dir: Path, count: int) -> Planned | None:
    """The planned output names of a step of ``count`` elements (None: none, or not for these).

    The file is checked as it was written: anything else (an edited or damaged file, a name that
    would leave the output folder) leaves the collection to cwltool.
    """
    try:
        data = json.loads((step_dir / PLANNED_OUTPUTS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    names, files = data.get("outputs"), data.get("files")
    if not isinstance(names, list) or not isinstance(files, list) or len(files) != count:
        return None
    if not all(isinstance(n, str) for n in names) or not all(
        isinstance(element, list) and len(element) == len(names) and all(map(_plain_name, element))
        for element in files
    ):
        return None
    return list(names), [list(element) for element in files]


def plain_outputs(
    names: Sequence[str], files: Sequence[str], outdir: Path
) -> dict[str, Any] | None:
    """One element's output object, made as cwltool makes it for plain files; None when
    anything is unusual (cwltool must look: a ``cwl.output.json``, a missing or odd file)."""
    from schema_salad.ref_resolver import file_uri

    if len(names) != len(files) or os.path.lexists(outdir / "cwl.output.json"):
        return None
    produced: dict[str, Any] = {}
    for name, file in zip(names, files, strict=True):
        path = outdir / file
        try:
            status = path.lstat()
            if not stat.S_ISREG(status.st_mode):  # missing, a folder, a link: cwltool looks
                return None
            digest = _sha1(path)
        except OSError:
            return None
        nameroot, nameext = os.path.splitext(file)  # noqa: PTH122 - cwltool's rule ("a." too)
        produced[name] = {
            "class": "File",
            "location": file_uri(str(path)),
            "basename": file,
            "nameroot": nameroot,
            "nameext": nameext,
            "size": status.st_size,
            "checksum": f"sha1${digest}",
            GENERATION: 0,
        }
    return produced


def _sha1(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha1").hexdigest()

"""Output objects: a tool's own ``cwl.output.json`` checked, the final one placed like cwltool's.

A tool may write ``cwl.output.json`` in its output folder instead of letting the engine collect
its outputs; cwltool then reads it with ``json.load``. What a tool writes is untrusted:
:func:`check_tool_output` holds it to the limits of untrusted documents first (size, nesting:
one located line, exit 2), so a tool cannot make the job hang, fill memory or crash with a
traceback.

:func:`collect_outputs`: every File and Directory of the run's result (a file ossrflow wrote) is
placed in the output folder with cwltool's own relocation (name clashes resolved the same way),
then gets ``location``, ``path``, ``basename``, ``size`` and a sha1 ``checksum``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ossrflow.cwl.load import cwl_errors
from ossrflow.errors import InputError, WorkflowFailed

__all__ = ["TOOL_OUTPUT", "check_tool_output", "collect_outputs"]

TOOL_OUTPUT = "cwl.output.json"


def check_tool_output(outdir: str) -> None:
    """Refuse (:class:`~ossrflow.errors.InputError`) a ``cwl.output.json`` in a tool's output
    folder that is not a regular file within the limits of untrusted JSON."""
    from urllib.parse import unquote

    from ossrflow.documents import load_json_document

    folder = unquote(outdir.removeprefix("file://")) if outdir.startswith("file://") else outdir
    path = Path(folder) / TOOL_OUTPUT
    if not path.exists():
        return  # the tool left its outputs to be collected
    try:
        load_json_document(path)
    except InputError as exc:
        exc.hint = "the step's tool wrote this file: fix the tool, or have it write its outputs"
        raise


def collect_outputs(result_file: Path, outdir: Path, *, move: bool = False) -> dict[str, Any]:
    """Read the result object at ``result_file`` and place its files in ``outdir``.

    ``move`` moves files that live under the result's run directory instead of copying them.
    """
    from cwltool.mutation import MutationManager
    from cwltool.process import relocateOutputs
    from cwltool.stdfsaccess import StdFsAccess
    from cwltool.utils import visit_class

    try:
        result = json.loads(result_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WorkflowFailed(
            f"the run's output object cannot be read: {exc}", source=str(result_file)
        ) from None
    outdir = outdir.resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    run_steps = str(result_file.resolve().parents[1])
    with cwl_errors(str(result_file)):
        relocated = relocateOutputs(
            result,
            str(outdir),
            {run_steps} if move else set(),
            "move" if move else "copy",
            StdFsAccess(""),
        )
    visit_class(relocated, ("File", "Directory"), _location_to_path)
    visit_class(relocated, ("File",), MutationManager().unset_generation)
    return dict(relocated)


def _location_to_path(obj: dict[str, Any]) -> None:
    from schema_salad.ref_resolver import uri_file_path

    for name in ("path", "nameext", "nameroot", "dirname"):
        obj.pop(name, None)
    if str(obj["location"]).startswith("file://"):
        obj["path"] = uri_file_path(obj["location"])

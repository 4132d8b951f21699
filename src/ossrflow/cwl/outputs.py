"""The final CWL output object: files copied (or moved) into the output folder, like cwltool.

Every File and Directory of the run's result is placed in the output folder with cwltool's own
relocation (name clashes resolved the same way), then gets ``location``, ``path``, ``basename``,
``size`` and a sha1 ``checksum``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ossrflow.cwl.load import cwl_errors
from ossrflow.errors import WorkflowFailed

__all__ = ["collect_outputs"]


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

"""No stale result: a job whose input changed by content loses its results before Snakemake runs.

Snakemake decides what to rerun from file times of the files a rule names; a job's data files
are named inside its input object, which does not change when a file is edited in place. So
every job that reads the job order directly keeps the content key of what it read in its folder
(``inputs.sha256``, :mod:`.keys`):

- a scatter element planned as precomputed commands: the key of its job order, written by its
  batch when it runs the element and compared by :func:`refresh_element` (called by
  :mod:`.batches` at plan time, or by the ``split`` checkpoint for a scatter over earlier steps'
  outputs), so that planning a new element writes no file;
- any other job of a node that reads the job order (:func:`refresh_nodes`, at plan time): the
  key of the values it reads, per element when the element count is known.

Snakemake's rules do not name the job order file (``steps/@inputs/cwl.output.json``) as an
input: whether a job that reads the job order runs again is decided here, by content, alone.

When the key differs from the stored one (or none is stored beside a finished result), the
job's output object, facts and exit status are removed, and with them the step's gathered output
object (for a batch, its ``.done`` marker; for a scatter counted by a checkpoint, the count): a
missing intermediate file alone does not make Snakemake rerun a job whose output exists. Then
the new key is written. Snakemake reruns that job, and the jobs downstream of it because their
input is newer. Touching a file (same bytes) keeps the key: nothing reruns.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.run.keys import DigestCache, content_key
from ossrflow.run.plan import INPUTS, Node, Plan, element_dir, node_output, split_path
from ossrflow.run.rundir import EXIT_FILE, INPUT_KEY, JOB_FACTS

if TYPE_CHECKING:
    from cwltool.process import Process

__all__ = ["describe_element", "refresh_element", "refresh_nodes"]

_DESCRIPTION = 100  # characters of an element's inputs shown in a failure


def describe_element(values: Mapping[str, Any]) -> str:
    """``name=value`` of a scatter element's own inputs, short: Files by their name."""
    parts = []
    for name, value in values.items():
        short = name.rsplit("/", 1)[-1].rsplit("#", 1)[-1]
        parts.append(f"{short}={_short_value(value)}")
    text = ", ".join(parts)
    return text if len(text) <= _DESCRIPTION else text[: _DESCRIPTION - 1] + "…"


def _short_value(value: Any) -> str:
    if isinstance(value, Mapping) and value.get("class") in ("File", "Directory"):
        where = str(value.get("basename") or value.get("location") or value.get("path") or "")
        return where.rsplit("/", 1)[-1]
    if isinstance(value, list):
        return "[" + ", ".join(_short_value(item) for item in value) + "]"
    if isinstance(value, str):
        return value if value.isprintable() and value.strip() == value else json.dumps(value)
    return json.dumps(value, default=str)


def _stored(folder: Path) -> str | None:
    try:
        return (folder / INPUT_KEY).read_text(encoding="utf-8").strip()
    except OSError:
        return None


def _store(folder: Path, key: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / INPUT_KEY).write_text(key + "\n", encoding="utf-8")


def _stale(folder: Path, key: str, finished: Collection[Path]) -> bool:
    """Whether the job in ``folder`` ran on other content (then its key is rewritten)."""
    stored = _stored(folder)
    if stored == key:
        return False
    return stored is not None or any(path.exists() for path in finished)


def refresh_element(run_dir: Path, step: str, element: int, key: str, marker: Path) -> bool:
    """Compare a batched element's input key; on a change remove its results and ``marker``.

    The batch writes the key when it runs the element (:func:`.batchscript.render_element`);
    a changed key goes with the results. A batch marker is also removed when one of its
    elements has no exit status (a new element, or one whose results are gone), so that its
    batch runs again. Returns whether the element's results were removed because its input
    changed.
    """
    folder = run_dir / element_dir(step, element)
    done = [folder / EXIT_FILE, folder / "cwl.output.json"]
    stale = _stale(folder, key, done)
    if stale:
        for path in (*done, folder / JOB_FACTS, folder / INPUT_KEY):
            path.unlink(missing_ok=True)
    try:
        finished = done[0].stat().st_size > 0
    except OSError:
        finished = False
    if not finished:
        # Snakemake does not rerun a job for a missing input while its output exists: the
        # step's gathered output object goes too, so its batch and what follows run again.
        marker.unlink(missing_ok=True)
        (run_dir / node_output(step)).unlink(missing_ok=True)
    return stale


def refresh_nodes(
    process: Process, plan: Plan, run_dir: Path, batched: Collection[str], cache: DigestCache
) -> list[str]:
    """Refresh every job-runner job that reads the job order (see the module docstring).

    Returns the jobs whose results were removed (``key`` or ``key/element``).
    """
    removed: list[str] = []
    for node in plan.nodes:
        if node.key in batched or node.kind not in ("tool", "step", "enter", "exit"):
            continue
        if INPUTS not in node.deps and node.kind != "tool":
            continue
        for element, value in _job_values(process, plan, node):
            folder = run_dir / element_dir(node.key, element)
            results = [run_dir / node_output(node.key, element)]
            if node.scattered:
                # the gathered output too: Snakemake reruns a job for a missing output only
                results.append(run_dir / node_output(node.key))
            if node.dynamic:
                results.append(run_dir / split_path(node.key))
            key = content_key(value, cache)
            if _stored(folder) == key:
                continue
            if _stale(folder, key, results):
                for path in (*results, folder / JOB_FACTS, folder / EXIT_FILE):
                    path.unlink(missing_ok=True)
                removed.append(node.key if element is None else f"{node.key}/{element}")
            _store(folder, key)
    return removed


def _job_values(process: Process, plan: Plan, node: Node) -> list[tuple[int | None, Any]]:
    """The job-order values each job of ``node`` reads: per element when the count is known."""
    if node.kind == "tool":
        return [(None, plan.job_order)]
    read = {
        source: plan.job_order.get(name)
        for source, (dep, name) in node.sources.items()
        if dep == INPUTS
    }
    if not node.scattered or node.shape is None:
        return [(None, read)]
    from cwltool.utils import aslist

    from ossrflow.cwl.inputs import (
        find_step,
        gather_step_inputs,
        index_parameters,
        scatter_element,
        scatter_shape,
        workflow_state,
    )

    workflow, step = find_step(process, node.target)
    from_inputs = {source: value for source, value in node.sources.items() if value[0] == INPUTS}
    only = [
        param["id"]
        for param in step.tool["inputs"]
        if all(source in from_inputs for source in aslist(param.get("source", [])))
    ]
    state = workflow_state(from_inputs, {INPUTS: plan.job_order}, index_parameters(process))
    inputs = gather_step_inputs(workflow, step, state, only=only) or {}
    shape = scatter_shape(step, inputs)
    if shape is None:
        return [(None, read)]
    return [(i, scatter_element(inputs, shape, i)) for i in range(shape.count)]

"""A workflow step's input object, computed from upstream output objects with cwltool's rules.

The planner (scatter sizes known at plan time) and the job runner (everything else) share these
functions, so both see the same values:

- ``index_parameters``: every source parameter (workflow inputs, step outputs) by its full id;
- ``workflow_state``: upstream output objects -> cwltool's workflow state;
- ``gather_step_inputs``: ``source``, ``linkMerge``, ``pickValue`` and ``default``;
- ``scatter_shape`` / ``scatter_element``: which element of a scatter a job is;
- ``evaluate_step_inputs``: ``loadContents``, ``valueFrom`` and ``when`` (after the scatter);
- ``collect_workflow_outputs``: ``outputSource`` of a workflow's outputs.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cwltool.context import RuntimeContext
    from cwltool.process import Process
    from cwltool.utils import WorkflowStateItem
    from cwltool.workflow import Workflow, WorkflowStep

__all__ = [
    "ScatterShape",
    "collect_workflow_outputs",
    "evaluate_step_inputs",
    "find_step",
    "gather_step_inputs",
    "index_parameters",
    "scatter_element",
    "scatter_shape",
    "step_job_order",
    "workflow_state",
]


@dataclass(frozen=True)
class ScatterShape:
    """How a scattered step is cut into jobs: one job per element of ``lengths``' product."""

    method: str
    fields: tuple[str, ...]
    lengths: tuple[int, ...]

    @property
    def count(self) -> int:
        """Number of jobs (elements)."""
        if self.method == "dotproduct":
            return self.lengths[0] if self.lengths else 0
        return math.prod(self.lengths)

    @property
    def dims(self) -> tuple[int, ...]:
        """Shape of each gathered output array (nested for ``nested_crossproduct``)."""
        if self.method == "nested_crossproduct":
            return self.lengths
        return (self.count,)


def find_step(root: Process, target: Sequence[str]) -> tuple[Workflow, WorkflowStep]:
    """The step at ``target`` (full step ids from the root down) and the workflow holding it."""
    workflow: Any = root
    step: Any = None
    for step_id in target:
        if step is not None:
            workflow = step.embedded_tool
        matches = [s for s in workflow.steps if s.id == step_id]
        if not matches:
            raise LookupError(f"step {step_id} not found in the loaded workflow")
        step = matches[0]
    return workflow, step


def index_parameters(process: Process) -> dict[str, Any]:
    """Every parameter a ``source`` can name, by full id, for the whole tree under ``process``."""
    params: dict[str, Any] = {}
    for inp in process.tool["inputs"]:
        params[inp["id"]] = inp
    for step in getattr(process, "steps", []):
        for out in step.tool["outputs"]:
            params[out["id"]] = out
        if step.embedded_tool.tool["class"] == "Workflow":
            params.update(index_parameters(step.embedded_tool))
    return params


def workflow_state(
    sources: Mapping[str, tuple[str, str]],
    outputs: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, Any],
) -> dict[str, WorkflowStateItem | None]:
    """cwltool's state for ``sources`` ({source id: (node, field)}) from node output objects."""
    from cwltool.utils import WorkflowStateItem

    state: dict[str, WorkflowStateItem | None] = {}
    for source_id, (node, field) in sources.items():
        if node in outputs:
            value = outputs[node].get(field)
            state[source_id] = WorkflowStateItem(params[source_id], value, "success")
        else:
            state[source_id] = None
    return state


def _multiple_inputs(workflow: Process) -> bool:
    return bool(workflow.get_requirement("MultipleInputFeatureRequirement")[0])


def gather_step_inputs(
    workflow: Process,
    step: WorkflowStep,
    state: Mapping[str, WorkflowStateItem | None],
    only: Collection[str] | None = None,
) -> dict[str, Any] | None:
    """The step's input object keyed by full input id, before scatter and valueFrom.

    ``only`` restricts it to some input ids. ``None`` when a source is not available yet.
    """
    from cwltool.workflow_job import object_from_state

    params = [p for p in step.tool["inputs"] if only is None or p["id"] in only]
    inputs = object_from_state(dict(state), params, False, _multiple_inputs(workflow), "source")
    return None if inputs is None else dict(inputs)


def scatter_shape(step: WorkflowStep, inputs: Mapping[str, Any]) -> ScatterShape | None:
    """The scatter of ``step`` over ``inputs`` (from :func:`gather_step_inputs`), or ``None``."""
    from cwltool.errors import WorkflowException
    from cwltool.utils import aslist

    if "scatter" not in step.tool:
        return None
    fields = tuple(str(f) for f in aslist(step.tool["scatter"]))
    method = str(step.tool.get("scatterMethod") or "dotproduct")
    lengths = []
    for field in fields:
        value = inputs.get(field)
        if not isinstance(value, list):
            raise WorkflowException(f"scatter parameter {field} is not an array: {value!r}")
        lengths.append(len(value))
    if method == "dotproduct" and len(set(lengths)) > 1:
        raise WorkflowException(
            "Length of input arrays must be equal when performing dotproduct scatter."
        )
    return ScatterShape(method, fields, tuple(lengths))


def scatter_element(inputs: Mapping[str, Any], shape: ScatterShape, index: int) -> dict[str, Any]:
    """The input object of element ``index`` (row-major over the scatter fields)."""
    element = dict(inputs)
    if shape.method == "dotproduct":
        for field in shape.fields:
            element[field] = inputs[field][index]
        return element
    position = index
    for field, length in reversed(list(zip(shape.fields, shape.lengths, strict=True))):
        element[field] = inputs[field][position % length]
        position //= length
    return element


def evaluate_step_inputs(
    workflow: Process,
    step: WorkflowStep,
    inputs: Mapping[str, Any],
    runtime: RuntimeContext,
) -> dict[str, Any] | None:
    """Apply ``loadContents``, ``valueFrom`` and ``when``; ``None`` when ``when`` is false."""
    from cwltool.builder import content_limit_respected_read
    from cwltool.errors import WorkflowException
    from cwltool.process import shortname
    from cwltool.utils import adjustDirObjs, get_listing

    value_from = {i["id"]: i["valueFrom"] for i in step.tool["inputs"] if "valueFrom" in i}
    if value_from and not workflow.get_requirement("StepInputExpressionRequirement")[0]:
        raise WorkflowException(
            "Workflow step contains valueFrom but StepInputExpressionRequirement not in requirements"
        )
    inputs = copy.deepcopy(dict(inputs))
    fs_access = runtime.make_fs_access("")
    for param in step.tool["inputs"]:
        value = inputs.get(param["id"])
        if param.get("loadContents") and value is not None:
            for item in value if isinstance(value, list) else [value]:
                if item.get("contents") is None:
                    with fs_access.open(item["location"], "rb") as handle:
                        item["contents"] = content_limit_respected_read(handle)
    short = {shortname(k): v for k, v in inputs.items()}
    evaluated: dict[str, Any] = {}
    for key, value in inputs.items():
        if key in value_from:
            adjustDirObjs(value, functools.partial(get_listing, fs_access, recursive=True))
            value = _eval(value_from[key], short, workflow, runtime, context=value)
        evaluated[key] = value
    if "when" in step.tool:
        condition = _eval(
            step.tool["when"], {shortname(k): v for k, v in evaluated.items()}, workflow, runtime
        )
        if condition is False:
            return None
        if condition is not True:
            raise WorkflowException("Conditional 'when' must evaluate to 'true' or 'false'")
    return evaluated


def _eval(
    text: str,
    inputs: Mapping[str, Any],
    workflow: Process,
    runtime: RuntimeContext,
    context: Any = None,
) -> Any:
    from cwl_utils import expression

    return expression.do_eval(
        text,
        dict(inputs),
        workflow.requirements,
        None,
        None,
        {},
        context=context,
        debug=runtime.debug,
        js_console=runtime.js_console,
        timeout=runtime.eval_timeout,
        container_engine="docker",
    )


def step_job_order(step: WorkflowStep, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The job order the step's tool receives: short names, unconnected inputs dropped."""
    from cwltool.process import shortname

    return {
        shortname(param["id"]): inputs[param["id"]]
        for param in step.tool["inputs"]
        if not param.get("not_connected") and param["id"] in inputs
    }


def collect_workflow_outputs(
    workflow: Process, state: Mapping[str, WorkflowStateItem | None]
) -> dict[str, Any]:
    """A workflow's output object from ``outputSource`` (linkMerge, pickValue), like cwltool."""
    from cwltool.workflow_job import object_from_state

    outputs = object_from_state(
        dict(state),
        workflow.tool["outputs"],
        True,
        _multiple_inputs(workflow),
        "outputSource",
        incomplete=True,
    )
    return dict(outputs or {})

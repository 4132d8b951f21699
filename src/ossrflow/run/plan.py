"""Plan a CWL run: a loaded tool or workflow plus its job order -> a graph of nodes.

Each node is one kind of Snakemake job and writes one CWL output object,
``steps/<key>/cwl.output.json`` (or one per scatter element plus a gathered one):

- ``inputs``  the root job order, written at plan time (no job);
- ``tool``    the root process itself when it is a CommandLineTool or ExpressionTool;
- ``step``    a workflow step (one job per scatter element when scattered);
- ``enter``   the input object of a subworkflow that is flattened into its parent;
- ``exit``    a workflow's output object (``outputSource``), root or subworkflow.

Subworkflow steps without ``scatter`` and ``when`` are flattened: their steps become nodes of
their own. Scattered or conditional subworkflow steps run as one job per element. A scatter's
element count is fixed at plan time when its arrays come from the job order; otherwise a
Snakemake checkpoint counts the elements when the upstream outputs exist.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ossrflow.cwl.inputs import (
    ScatterShape,
    gather_step_inputs,
    index_parameters,
    scatter_shape,
    workflow_state,
)
from ossrflow.cwl.load import RootDocument, cwl_errors, runtime_context
from ossrflow.cwl.values import plain_containers
from ossrflow.errors import InputError

if TYPE_CHECKING:
    from cwltool.process import Process
    from cwltool.workflow import Workflow, WorkflowStep

__all__ = [
    "INPUTS",
    "PLAN_VERSION",
    "Node",
    "Plan",
    "element_dir",
    "node_output",
    "parse_plan",
    "plan_run",
    "render_plan",
    "split_path",
]

PLAN_VERSION = 1
INPUTS = "@inputs"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class Node:
    """One planned unit of work; see the module docstring for the kinds."""

    key: str
    kind: str
    target: tuple[str, ...] = ()
    label: str = ""
    sources: dict[str, tuple[str, str]] = field(default_factory=dict)
    scatter_method: str | None = None
    scatter_lengths: tuple[int, ...] | None = None
    resources: dict[str, int] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    scheduler: dict[str, str] = field(default_factory=dict)

    @property
    def scattered(self) -> bool:
        """True when the node runs one job per scatter element."""
        return self.scatter_method is not None

    @property
    def dynamic(self) -> bool:
        """True when the element count is known only once upstream outputs exist."""
        return self.scattered and self.scatter_lengths is None

    @property
    def shape(self) -> ScatterShape | None:
        """The scatter shape when known at plan time."""
        if self.scatter_method is None or self.scatter_lengths is None:
            return None
        return ScatterShape(self.scatter_method, (), self.scatter_lengths)

    @property
    def deps(self) -> tuple[str, ...]:
        """Keys of the nodes whose output objects this node reads."""
        return tuple(sorted({node for node, _ in self.sources.values()}))


@dataclass(frozen=True)
class Plan:
    """Everything a run directory needs besides the Snakefile."""

    uri: str
    basedir: str
    nodes: tuple[Node, ...]
    result: str
    job_order: dict[str, Any] = field(default_factory=dict)
    job_requirements: list[Any] = field(default_factory=list)
    engine: str = "none"  # container engine of the steps: docker, podman, apptainer, none
    executor: str = "local"  # the profile's Snakemake executor (local, slurm, htcondor, ...)
    profile: str = "local"  # the profile: a shipped one's name, else its folder

    def node(self, key: str) -> Node:
        """The node called ``key``."""
        for node in self.nodes:
            if node.key == key:
                return node
        raise KeyError(key)


def element_dir(key: str, element: int | str | None) -> str:
    """Folder of a node's job, relative to the run directory (``{i}`` may be a wildcard)."""
    return f"steps/{key}" if element is None else f"steps/{key}/{element}"


def node_output(key: str, element: int | str | None = None) -> str:
    """The output object of a node (or of one scatter element): the job's completion marker."""
    return f"{element_dir(key, element)}/cwl.output.json"


def split_path(key: str) -> str:
    """Where the element count of a dynamic scatter is written."""
    return f"steps/{key}/split.json"


def render_plan(plan: Plan) -> str:
    """The plan as stable JSON text (the job order is stored apart, as the inputs node's output)."""
    data = asdict(plan)
    data.pop("job_order")
    data["version"] = PLAN_VERSION
    return json.dumps(data, indent=1, sort_keys=True, default=str) + "\n"


def parse_plan(text: str, *, source: str = "plan.json") -> Plan:
    """Read a plan written by :func:`render_plan`."""
    data = json.loads(text)
    if data.get("version") != PLAN_VERSION:
        raise InputError(
            f"plan version {data.get('version')} is not {PLAN_VERSION}",
            source=source,
            hint="plan the run again with this ossrflow version",
        )
    nodes = tuple(
        Node(
            key=n["key"],
            kind=n["kind"],
            target=tuple(n["target"]),
            label=n["label"],
            sources={k: (v[0], v[1]) for k, v in n["sources"].items()},
            scatter_method=n["scatter_method"],
            scatter_lengths=None if n["scatter_lengths"] is None else tuple(n["scatter_lengths"]),
            resources=n["resources"],
            outputs=tuple(n["outputs"]),
            scheduler=n.get("scheduler", {}),
        )
        for n in data["nodes"]
    )
    return Plan(
        data["uri"],
        data["basedir"],
        nodes,
        data["result"],
        {},
        data["job_requirements"],
        engine=str(data.get("engine", "none")),
        executor=str(data.get("executor", "local")),
        profile=str(data.get("profile", "local")),
    )


class _Keys:
    """Unique, path-safe node keys."""

    def __init__(self) -> None:
        self.used: set[str] = {INPUTS}

    def new(self, name: str, suffix: str = "") -> str:
        """A key from an untrusted ``name`` (made path-safe) and a fixed ``suffix``."""
        base = (_UNSAFE.sub("_", name).strip(".") or "step") + suffix if name else suffix
        key, number = base, 1
        while key in self.used:
            number += 1
            key = f"{base}~{number}"
        self.used.add(key)
        return key


def plan_run(root: RootDocument) -> Plan:
    """Turn a loaded document and its job order into a :class:`Plan`."""
    from cwltool.workflow import Workflow

    process = root.process
    job_requirements = list(root.job_order.pop("https://w3id.org/cwl/cwl#requirements", []))
    if not isinstance(process, Workflow):
        tool = Node("tool", "tool", (), _label("tool", process), {}, resources=_resources(process))
        nodes: tuple[Node, ...] = (Node(INPUTS, "inputs"), tool)
        return Plan(root.uri, root.basedir, nodes, "tool", root.job_order, job_requirements)
    job_order = _initial_workflow_inputs(root)
    planner = _Planner(process, job_order)
    result = planner.plan_workflow(process, (), "", INPUTS, planner.keys.new("", "@outputs"))
    nodes = (Node(INPUTS, "inputs"), *planner.nodes)
    return Plan(root.uri, root.basedir, nodes, result, job_order, job_requirements)


def _initial_workflow_inputs(root: RootDocument) -> dict[str, Any]:
    """The root workflow's inputs as its steps see them: validated, defaults filled in."""
    from cwltool.errors import WorkflowException
    from cwltool.stdfsaccess import StdFsAccess
    from schema_salad.exceptions import ValidationException

    context = runtime_context(root.basedir, None, toplevel=True, make_fs_access=StdFsAccess)
    try:
        builder = root.process._init_job(plain_containers(root.job_order), context)
    except (ValidationException, WorkflowException):
        # Again on the document as loaded, whose line numbers the error then names.
        with cwl_errors(root.uri):
            root.process._init_job(root.job_order, context)
            raise
    return plain_containers(dict(builder.job))  # type: ignore[no-any-return]


def _label(name: str, process: Process) -> str:
    run = str(process.tool.get("id", ""))
    where = run.rsplit("/", 1)[-1] if run and not run.startswith("_:") else "inline"
    return f"{name} ({process.tool['class']} {where})"


def _number(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return math.ceil(value)


def _resources(process: Process) -> dict[str, int]:
    """ResourceRequirement and ToolTimeLimit values known without evaluating expressions."""
    resources: dict[str, int] = {}
    requirement, _ = process.get_requirement("ResourceRequirement")
    for key, names in (
        ("cores", ("coresMin", "coresMax")),
        ("ram", ("ramMin", "ramMax")),
        ("tmpdir", ("tmpdirMin", "tmpdirMax")),
        ("outdir", ("outdirMin", "outdirMax")),
    ):
        values = [_number((requirement or {}).get(name)) for name in names]
        found = [v for v in values if v is not None]
        if found:
            resources[key] = found[0]
    limit, _ = process.get_requirement("ToolTimeLimit")
    seconds = _number((limit or {}).get("timelimit"))
    if seconds:
        resources["timelimit"] = seconds
    return resources


class _Planner:
    """Walks a workflow tree and collects nodes, flattening plain subworkflows."""

    def __init__(self, root: Process, job_order: Mapping[str, Any]) -> None:
        self.keys = _Keys()
        self.nodes: list[Node] = []
        self.params = index_parameters(root)
        self.job_order = job_order

    def plan_workflow(
        self, workflow: Workflow, target: tuple[str, ...], prefix: str, enter: str, exit_key: str
    ) -> str:
        from cwltool.process import shortname

        producers = {p["id"]: (enter, shortname(p["id"])) for p in workflow.tool["inputs"]}
        steps = _ordered_steps(workflow)
        keys: dict[str, str] = {}
        for step in steps:
            name = prefix + shortname(step.id)
            key = self.keys.new(name, "@outputs" if _flattens(step) else "")
            keys[step.id] = key
            for out in step.tool["outputs"]:
                producers[out["id"]] = (key, shortname(out["id"]))
        for step in steps:
            sources = _resolve(step.tool["inputs"], "source", producers, step.id)
            self._plan_step(workflow, step, (*target, step.id), prefix, keys[step.id], sources)
        outputs = _resolve(
            workflow.tool["outputs"], "outputSource", producers, str(workflow.tool["id"])
        )
        label = f"outputs of {'workflow' if not target else shortname(target[-1])}"
        self.nodes.append(Node(exit_key, "exit", target, label, outputs))
        return exit_key

    def _plan_step(
        self,
        workflow: Workflow,
        step: WorkflowStep,
        target: tuple[str, ...],
        prefix: str,
        key: str,
        sources: dict[str, tuple[str, str]],
    ) -> None:
        from cwltool.process import shortname

        name = prefix + shortname(step.id)
        if _flattens(step):
            enter = self.keys.new(name, "@inputs")
            self.nodes.append(Node(enter, "enter", target, f"inputs of {name}", sources))
            self.plan_workflow(step.embedded_tool, target, name + ".", enter, key)  # type: ignore[arg-type]
            return
        method, lengths = self._scatter(workflow, step, sources)
        label = _label(name, step.embedded_tool)
        resources = _resources(step.embedded_tool)
        outputs = tuple(shortname(out["id"]) for out in step.tool["outputs"])
        self.nodes.append(
            Node(
                key,
                "step",
                target,
                label,
                sources,
                method,
                lengths,
                resources,
                outputs,
                _scheduler_hint(step),
            )
        )

    def _scatter(
        self, workflow: Workflow, step: WorkflowStep, sources: dict[str, tuple[str, str]]
    ) -> tuple[str | None, tuple[int, ...] | None]:
        """Scatter method, and element lengths when the job order alone decides them."""
        from cwltool.utils import aslist

        if "scatter" not in step.tool:
            return None, None
        method = str(step.tool.get("scatterMethod") or "dotproduct")
        fields = set(aslist(step.tool["scatter"]))
        feeding = {
            src
            for param in step.tool["inputs"]
            if param["id"] in fields
            for src in aslist(param.get("source", []))
        }
        if any(sources[src][0] != INPUTS for src in feeding):
            return method, None
        state = workflow_state(sources, {INPUTS: self.job_order}, self.params)
        with cwl_errors(step.id):
            inputs = gather_step_inputs(workflow, step, state, only=fields)
            shape = scatter_shape(step, inputs or {})
        return method, None if shape is None else shape.lengths


def _scheduler_hint(step: WorkflowStep) -> dict[str, str]:
    """A step's ``ossrflow:Scheduler`` hint (partition, account, queue, extra), as text."""
    from ossrflow.cwl.types import OSSRFLOW_NS

    settings: dict[str, str] = {}
    for hint in step.tool.get("hints", []) or []:
        if isinstance(hint, dict) and hint.get("class") in {
            f"{OSSRFLOW_NS}Scheduler",
            "ossrflow:Scheduler",
        }:
            settings.update({str(k): str(v) for k, v in hint.items() if k != "class"})
    return settings


def _flattens(step: WorkflowStep) -> bool:
    """A subworkflow step whose steps can become nodes of the parent graph."""
    return (
        step.embedded_tool.tool["class"] == "Workflow"
        and "scatter" not in step.tool
        and "when" not in step.tool
    )


def _ordered_steps(workflow: Workflow) -> list[WorkflowStep]:
    """Steps in data-flow order, ties by id (cwltool shuffles them; the Snakefile should not)."""
    from cwltool.utils import aslist

    by_id = {step.id: step for step in workflow.steps}
    needs = {
        step.id: {
            str(source).rsplit("/", 1)[0]
            for param in step.tool["inputs"]
            for source in aslist(param.get("source", []))
        }
        & set(by_id)
        for step in workflow.steps
    }
    ordered: list[WorkflowStep] = []
    while needs:
        ready = sorted(step_id for step_id, deps in needs.items() if not deps) or sorted(needs)
        for step_id in ready[:1]:
            ordered.append(by_id[step_id])
            del needs[step_id]
            for deps in needs.values():
                deps.discard(step_id)
    return ordered


def _resolve(
    params: list[Any], field_name: str, producers: Mapping[str, tuple[str, str]], where: str
) -> dict[str, tuple[str, str]]:
    from cwltool.utils import aslist

    sources: dict[str, tuple[str, str]] = {}
    for param in params:
        for source in aslist(param.get(field_name, [])):
            if source not in producers:
                raise InputError(
                    f"source {source} is not a workflow input or step output",
                    source=where,
                    location=str(param["id"]),
                    hint="connect the parameter to an existing input or output",
                )
            sources[source] = producers[source]
    return sources

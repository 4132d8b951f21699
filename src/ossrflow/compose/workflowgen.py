"""A checked definition and its tools -> a CWL v1.2 ``Workflow`` object, and the job order.

The Workflow is built from ``cwl_utils.parser.cwl_v1_2`` objects with explicit ids and rendered
with a fixed key order; the anonymous ``_:<uuid>`` names cwl-utils gives schemas are dropped, so
the same definition always renders to the same bytes. Steps run ``tools/<alias>.cwl``.

Per-step resources become step requirements: ``cores`` -> ``ResourceRequirement.coresMin``,
``mem`` -> ``ramMin`` (MiB), ``runtime`` -> ``ToolTimeLimit.timelimit`` (seconds). Scheduler
placement (``partition``, ``queue``, ``account``) becomes a step hint in ossrflow's namespace::

    $namespaces: {ossrflow: https://ossrflow.example/cwl#}
    hints: [{class: ossrflow:Scheduler, partition: debug, account: astro}]
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from ossrflow.compose.definition import Definition, StepSpec
from ossrflow.compose.wiring import Wiring
from ossrflow.cwl.types import OSSRFLOW_NS, CwlType, Signature

if TYPE_CHECKING:
    from ossrflow.staging import StagedInput

__all__ = [
    "TOOLS_DIR",
    "build_workflow",
    "render_job",
    "render_workflow",
    "tool_path",
]

TOOLS_DIR = "tools"
_TOP_ORDER = ("cwlVersion", "class", "id", "label", "doc", "$namespaces", "requirements", "hints")


def tool_path(alias: str) -> str:
    """Where the tool of an entry alias lives, relative to the workflow."""
    return f"{TOOLS_DIR}/{alias}.cwl"


def _type(cwl_type: CwlType) -> Any:
    """A CWL type for a saved document: ``T`` or ``T[]``; deeper arrays as explicit schemas
    (the ``[]`` shorthand is not expanded inside ``items``)."""
    if cwl_type.depth <= 1:
        return str(cwl_type.required())
    item: Any = cwl_type.base
    for _ in range(cwl_type.depth):
        item = {"type": "array", "items": item}
    return item


def _step_requirements(step: StepSpec) -> list[Any]:
    from cwl_utils.parser import cwl_v1_2

    resources = step.resources
    requirements: list[Any] = []
    if resources.cores is not None or resources.ram_mib is not None:
        requirements.append(
            cwl_v1_2.ResourceRequirement(coresMin=resources.cores, ramMin=resources.ram_mib)
        )
    if resources.runtime_s is not None:
        requirements.append(cwl_v1_2.ToolTimeLimit(timelimit=resources.runtime_s))
    return requirements


def _step_hints(step: StepSpec) -> list[Any]:
    scheduler = step.resources.scheduler()
    return [{"class": "ossrflow:Scheduler", **scheduler}] if scheduler else []


def _build_step(step: StepSpec, signature: Signature) -> Any:
    from cwl_utils.parser import cwl_v1_2

    inputs = []
    for item in step.inputs:
        source: Any = None
        if item.sources:
            source = list(item.sources) if item.merge or len(item.sources) > 1 else item.sources[0]
        inputs.append(
            cwl_v1_2.WorkflowStepInput(
                id=item.name,
                source=source,
                linkMerge="merge_flattened" if isinstance(source, list) else None,
                default=item.value if item.has_value else None,
            )
        )
    scatter: Any = None
    method = None
    if step.scatter:
        scatter = step.scatter[0] if len(step.scatter) == 1 else list(step.scatter)
        method = step.scatter_method or ("dotproduct" if len(step.scatter) > 1 else None)
    return cwl_v1_2.WorkflowStep(
        id=step.name,
        label=step.label,
        doc=step.doc,
        run=tool_path(step.run),
        in_=inputs,
        out=[cwl_v1_2.WorkflowStepOutput(id=name) for name in signature.outputs],
        scatter=scatter,
        scatterMethod=method,
        requirements=_step_requirements(step) or None,
        hints=_step_hints(step) or None,
    )


def _workflow_id(definition: Definition) -> str:
    stem = re.sub(r"[^A-Za-z0-9_]+", "_", definition.path.stem).strip("_")
    return stem if stem[:1].isalpha() else f"workflow_{stem}".rstrip("_")


def build_workflow(
    definition: Definition, signatures: Mapping[str, Signature], wiring: Wiring
) -> Any:
    """The ``cwl_v1_2.Workflow`` object (explicit ids everywhere)."""
    from cwl_utils.parser import cwl_v1_2

    inputs = [
        cwl_v1_2.WorkflowInputParameter(
            id=name, type_=spec.cwl_type, label=spec.label, doc=spec.doc
        )
        for name, spec in definition.inputs.items()
    ]
    outputs = [
        cwl_v1_2.WorkflowOutputParameter(
            id=name,
            type_=_type(wiring.outputs[name]),
            outputSource=spec.source,
            label=spec.label,
            doc=spec.doc,
        )
        for name, spec in definition.outputs.items()
    ]
    steps = [
        _build_step(definition.steps[name], signatures[definition.steps[name].run])
        for name in wiring.order
    ]
    requirements = [getattr(cwl_v1_2, name)() for name in sorted(wiring.requirements)]
    return cwl_v1_2.Workflow(
        id=_workflow_id(definition),
        cwlVersion="v1.2",
        label=definition.label,
        doc=definition.doc,
        inputs=inputs,
        outputs=outputs,
        steps=steps,
        requirements=requirements or None,
    )


def _dump(data: Any) -> str:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=2, offset=0)
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if not _anonymous(k, v)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str) and "\n" in value.rstrip("\n"):
        return LiteralScalarString(value)
    return value


def _anonymous(key: object, value: object) -> bool:
    """cwl-utils names anonymous schemas ``_:<uuid4>``: dropped, for byte-stable output."""
    return key == "name" and isinstance(value, str) and value.startswith("_:")


def render_workflow(workflow: Any, *, namespaces: bool = False) -> str:
    """The Workflow as YAML text, keys in a fixed order."""
    from cwl_utils.parser import save

    saved: dict[str, Any] = save(workflow, top=True, base_url="")
    if namespaces:
        saved["$namespaces"] = {"ossrflow": OSSRFLOW_NS}
    ordered = {key: saved[key] for key in _TOP_ORDER if key in saved}
    ordered.update((key, value) for key, value in saved.items() if key not in ordered)
    return _dump(_plain(ordered))


def render_job(definition: Definition, staged: Mapping[str, tuple[StagedInput, ...]]) -> str:
    """The job order: File objects of the staged inputs (lists for File[]) and values. A Rucio
    dataset or container in a list gives its files, each with its DID, RSE and checksums."""
    job: dict[str, Any] = {}
    for name, spec in definition.inputs.items():
        if spec.kind == "value":
            job[name] = spec.value
        else:
            files = [dict(f.cwl) for s in staged[name] for f in s.files]
            job[name] = files if spec.many else files[0]
    return _dump(_plain(job)) if job else "{}\n"

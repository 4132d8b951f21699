"""One Snakemake job's action: ``python -m ossrflow.run.job run|split|gather|collect KEY [I]``.

Run inside the run directory. ``run`` computes a node's input object from the upstream output
objects (``steps/<dep>/cwl.output.json``), runs the step's tool with cwltool in this process
(inputs staged at deterministic paths, :mod:`ossrflow.cwl.staging`), writes the job's facts
(:mod:`.facts`) and then the node's output object last, atomically: a job killed half-way
leaves no ``cwl.output.json``, so Snakemake never takes it as done. A failed tool's error names
the step, the element and its input, the exit status and the tool's last stderr line. ``split`` counts the elements of a
scatter whose arrays come from earlier steps (a Snakemake checkpoint); ``gather`` joins element
output objects into the step's arrays and needs no cwltool; ``collect`` does it for a scatter
whose elements ran as precomputed commands (:mod:`ossrflow.run.batches`), letting cwltool collect
each element's outputs first.

Exit status: 0 done, 1 the step failed, 33 unsupported CWL feature, 2 bad plan or run dir.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.containers.pins import load_pins, pinned_requirement
from ossrflow.cwl.inputs import (
    ScatterShape,
    collect_workflow_outputs,
    evaluate_step_inputs,
    find_step,
    gather_step_inputs,
    index_parameters,
    scatter_element,
    scatter_shape,
    step_job_order,
    workflow_state,
)
from ossrflow.cwl.load import (
    cwl_errors,
    load_process,
    pin_docker_requirements,
    quiet_cwltool,
    runtime_context,
)
from ossrflow.cwl.staging import ensure_stage_root, stage_dir
from ossrflow.cwl.values import parse_json
from ossrflow.errors import InputError, OssrflowError, WorkflowFailed
from ossrflow.integrity import atomic_write
from ossrflow.run.commands import warm_packages
from ossrflow.run.facts import JobFacts, host_name, iso_now, scheduler_job_id, write_job_facts
from ossrflow.run.forked import map_parts, split_range
from ossrflow.run.freshness import describe_element
from ossrflow.run.jobrecord import ToolLog, job_commands, tool_failure
from ossrflow.run.keys import DigestCache, content_key
from ossrflow.run.plan import INPUTS, Node, Plan, element_dir, node_output, parse_plan, split_path
from ossrflow.run.rundir import BATCHES_FILE, CACHE_DIR, PLAN_FILE

if TYPE_CHECKING:
    from cwltool.context import RuntimeContext
    from cwltool.process import Process

    from ossrflow.run.batches import Batching

__all__ = ["collect_node", "gather_node", "main", "preload", "run_node", "split_node"]

# The run's workflow as the warm worker loaded it (ossrflow.run.warm): each forked job gets its
# own copy of this object, so what a job adds to it (requirements, pinned images) stays its own.
_PRELOADED: dict[str, Process] = {}


@dataclass
class _Job:
    """One node of a plan with its cwltool objects loaded."""

    run_dir: Path
    plan: Plan
    node: Node
    root: Process
    tool_log: ToolLog | None = None
    ran: list[str] | None = None  # first word of each command cwltool ran
    description: str = ""  # a scatter element's own inputs, for errors

    @classmethod
    def load(cls, run_dir: Path, key: str) -> _Job:
        plan = read_plan(run_dir)
        root = _PRELOADED.pop(plan.uri, None) or load_process(plan.uri, run_dir / CACHE_DIR)
        for requirement in plan.job_requirements:
            root.requirements.append(requirement)
        if plan.engine != "none":
            _pin_images(run_dir, root)
        return cls(run_dir, plan, plan.node(key), root)

    def upstream(self) -> dict[str, dict[str, Any]]:
        """Output objects of the nodes this node reads."""
        return {dep: read_output(self.run_dir, dep) for dep in self.node.deps}

    def state(self) -> dict[str, Any]:
        return workflow_state(self.node.sources, self.upstream(), index_parameters(self.root))

    def context(self, workdir: Path, **overrides: Any) -> RuntimeContext:
        from cwltool.mutation import MutationManager

        context = runtime_context(self.plan.basedir, workdir, engine=self.plan.engine, **overrides)
        context.mutation_manager = MutationManager()
        context.workflow_eval_lock = threading.Condition(threading.RLock())
        return context

    def stage(self, context: RuntimeContext, element: int | None, order: Any) -> None:
        """Stage native inputs in the job's deterministic folder (named by their content)."""
        ensure_stage_root()
        key = content_key(order, DigestCache(self.run_dir, writable=False))
        context.stagedir = str(stage_dir(self.node.key, element, key))


def preload(run_dir: Path) -> None:
    """Load the run's workflow for the jobs this process will fork (the warm worker only)."""
    from cwltool.mutation import MutationManager  # noqa: F401 - imported for the jobs

    plan = read_plan(run_dir)
    root = _PRELOADED[plan.uri] = load_process(plan.uri, run_dir / CACHE_DIR)
    warm_packages(_native_tools(root), os.environ.get("PATH"))


def _native_tools(process: Process) -> Iterator[Any]:
    """The tool documents under ``process`` that name no container (their commands run here)."""
    if process.tool["class"] == "Workflow":
        for step in getattr(process, "steps", []):
            yield from _native_tools(step.embedded_tool)
        return
    wanted = [*process.tool.get("requirements", []), *process.tool.get("hints", [])]
    if not any(item.get("class") == "DockerRequirement" for item in wanted):
        yield process.tool


def _pin_images(run_dir: Path, root: Process) -> None:
    """Make cwltool run the images the submit host pinned (by digest), nothing else."""
    _, images = load_pins(run_dir)
    pin_docker_requirements(root, {i.key: pinned_requirement(i.image) for i in images})


def read_plan(run_dir: Path) -> Plan:
    """The plan of a run directory."""
    path = run_dir / PLAN_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read the run's plan: {exc.strerror or exc}",
            source=str(path),
            hint="a job runs inside a run folder that `ossrflow run` wrote; run that again",
        ) from None
    return parse_plan(text, source=str(path))


def read_output(run_dir: Path, key: str, element: int | None = None) -> dict[str, Any]:
    """A node's (or scatter element's) output object."""
    text = (run_dir / node_output(key, element)).read_text(encoding="utf-8")
    data = parse_json(text, yaml_floats=key == INPUTS)
    if not isinstance(data, dict):
        raise WorkflowFailed("output object is not a mapping", source=node_output(key, element))
    return data


def write_output(run_dir: Path, key: str, element: int | None, value: Any) -> None:
    """Write an output object atomically; it is the job's completion marker."""
    text = json.dumps(value, indent=1, sort_keys=True, default=str) + "\n"
    atomic_write(run_dir / node_output(key, element), text)


def run_node(
    run_dir: Path, key: str, element: int | None = None, tool_log: ToolLog | None = None
) -> None:
    """Run one job of node ``key`` (element ``element`` when scattered).

    ``tool_log`` watches cwltool's log (:class:`ToolLog`), for the cause of a failed tool.
    """
    job = _Job.load(run_dir, key)
    job.tool_log = tool_log
    kind = job.node.kind
    started = iso_now()
    with cwl_errors(job.node.label or key):
        if kind == "tool":
            outputs = _run_root_tool(job)
        elif kind == "step":
            outputs = _run_step(job, element)
        elif kind == "enter":
            outputs = _enter_subworkflow(job)
        elif kind == "exit":
            outputs = _exit_workflow(job)
        else:
            raise WorkflowFailed(f"node kind {kind!r} has no job", source=key)
    if kind in ("tool", "step"):
        _write_facts(job, element, started)
    write_output(run_dir, key, element, outputs)


def _write_facts(job: _Job, element: int | None, started: str) -> None:
    process = job.root
    if job.node.kind == "step":
        process = find_step(job.root, job.node.target)[1].embedded_tool
    where = job.run_dir / element_dir(job.node.key, element) / "out"
    facts = JobFacts(
        step=job.node.key,
        element=element,
        executor=job.plan.executor,
        profile=job.plan.profile,
        host=host_name(),
        scheduler_job_id=scheduler_job_id(),
        started=started,
        ended=iso_now(),
        exit_code=0,
        commands=job_commands(process, job.run_dir, job.plan.engine, job.ran or [], where),
    )
    write_job_facts(job.run_dir, facts)


def _fresh_workdir(path: Path) -> Path:
    """Remove what an interrupted attempt left and return the empty folder."""
    for name in ("out", "work"):
        shutil.rmtree(path / name, ignore_errors=True)
    for name in ("out", "work/tmp", "work/out", "work/stage"):
        (path / name).mkdir(parents=True, exist_ok=True)
    return path


def _run_root_tool(job: _Job) -> dict[str, Any]:
    inputs = read_output(job.run_dir, INPUTS)
    where = _fresh_workdir(job.run_dir / element_dir(job.node.key, None))
    context = job.context(where / "work", toplevel=True)
    job.stage(context, None, inputs)
    outputs = _execute(job, job.root, inputs, context, where / "out")
    shutil.rmtree(where / "work", ignore_errors=True)
    return outputs


def _run_step(job: _Job, element: int | None) -> dict[str, Any]:
    workflow, step = find_step(job.root, job.node.target)
    inputs = gather_step_inputs(workflow, step, job.state())
    if inputs is None:
        raise WorkflowFailed("an upstream output object is missing", source=job.node.key)
    shape = scatter_shape(step, inputs)
    if shape is not None:
        if element is None or not 0 <= element < shape.count:
            raise WorkflowFailed(f"element {element} is not in 0..{shape.count - 1}")
        inputs = scatter_element(inputs, shape, element)
        job.description = describe_element({f: inputs[f] for f in shape.fields})
    where = _fresh_workdir(job.run_dir / element_dir(job.node.key, element))
    context = job.context(where / "work")
    evaluated = evaluate_step_inputs(workflow, step, inputs, context)
    names = _output_names(step)
    if evaluated is None:
        return dict.fromkeys(names)
    order = step_job_order(step, evaluated)
    job.stage(context, element, order)
    produced = _execute(job, step.embedded_tool, order, context, where / "out", element)
    shutil.rmtree(where / "work", ignore_errors=True)
    missing = [name for name in names if name not in produced]
    if missing:
        raise WorkflowFailed(
            f"the tool did not produce {', '.join(missing)}", source=job.node.label
        )
    return {name: produced[name] for name in names}


def _output_names(step: Any) -> list[str]:
    from cwltool.process import shortname

    return [shortname(out["id"]) for out in step.tool["outputs"]]


def _enter_subworkflow(job: _Job) -> dict[str, Any]:
    workflow, step = find_step(job.root, job.node.target)
    inputs = gather_step_inputs(workflow, step, job.state())
    if inputs is None:
        raise WorkflowFailed("an upstream output object is missing", source=job.node.key)
    context = job.context(_fresh_workdir(job.run_dir / element_dir(job.node.key, None)) / "work")
    evaluated = evaluate_step_inputs(workflow, step, inputs, context)
    order = step_job_order(step, evaluated or {})
    builder = step.embedded_tool._init_job(order, context)
    return dict(builder.job)


def _exit_workflow(job: _Job) -> dict[str, Any]:
    workflow = job.root
    if job.node.target:
        workflow = find_step(job.root, job.node.target)[1].embedded_tool
    return collect_workflow_outputs(workflow, job.state())


def _execute(
    job: _Job,
    process: Process,
    order: dict[str, Any],
    context: RuntimeContext,
    outdir: Path,
    element: int | None = None,
) -> dict[str, Any]:
    """:func:`execute_process`, with a failed tool's cause in the error (see the docstring)."""
    job.ran = []
    try:
        return execute_process(process, order, context, outdir, job.node.label, ran=job.ran)
    except WorkflowFailed as exc:
        raise _tool_failure(job, element, exc) from None


def _tool_failure(job: _Job, element: int | None, exc: WorkflowFailed) -> OssrflowError:
    """The step, the element and its input, the exit status, the tool's last stderr line."""
    name = job.node.label.split(" (", 1)[0] if job.node.label else job.node.key
    what = f"step {name}"
    if element is not None:
        what += f", element {element}" + (f" ({job.description})" if job.description else "")
    log = job.run_dir / element_dir(job.node.key, element) / "job.log"
    return tool_failure(what, job.tool_log, log, exc)


def execute_process(
    process: Process,
    job_order: dict[str, Any],
    context: RuntimeContext,
    outdir: Path,
    label: str,
    ran: list[str] | None = None,
) -> dict[str, Any]:
    """Run a tool (or a whole subworkflow) with cwltool; its output files end up in ``outdir``.

    ``ran`` receives the first word of each command line cwltool ran.
    """
    from cwltool.process import relocateOutputs

    results: list[tuple[Any, str]] = []
    context = context.copy()
    is_tool = process.tool["class"] == "CommandLineTool"
    work_outdir = str(outdir) if is_tool else context.create_outdir()
    context.outdir = work_outdir
    output_dirs = {str(outdir), work_outdir}
    for runnable in process.job(
        job_order, lambda out, status: results.append((out, status)), context
    ):
        if runnable is None:
            raise WorkflowFailed("the workflow cannot make progress", source=label)
        if job_outdir := getattr(runnable, "outdir", None):
            output_dirs.add(str(job_outdir))
        if ran is not None and (command := getattr(runnable, "command_line", None)):
            ran.append(str(command[0]))
        runnable.run(context)
    output, status = results[0] if results else (None, "permanentFail")
    if status != "success" or output is None:
        raise WorkflowFailed(f"finished with status {status}", source=label)
    if not is_tool:
        fs_access = context.make_fs_access("")
        output = relocateOutputs(
            output, str(outdir), output_dirs - {str(outdir)}, "move", fs_access
        )
    return dict(output)


def split_node(run_dir: Path, key: str, batching: Batching | None = None) -> ScatterShape:
    """Count the elements of a scatter over earlier steps' outputs; write ``split.json``.

    When the elements' command lines can be computed now, write them as batch scripts (cut as
    ``batching`` says; one per element when None) and name the batch count in ``split.json``.
    """
    from ossrflow.run.batches import Batching, prepare_node

    job = _Job.load(run_dir, key)
    workflow, step = find_step(job.root, job.node.target)
    with cwl_errors(job.node.label or key):
        inputs = gather_step_inputs(workflow, step, job.state())
        shape = scatter_shape(step, inputs or {})
    if shape is None:
        raise WorkflowFailed("the step is not scattered", source=key)
    document = {"method": shape.method, "lengths": list(shape.lengths), "count": shape.count}
    (run_dir / element_dir(key, None) / BATCHES_FILE).unlink(missing_ok=True)
    batches = prepare_node(
        job.root, job.plan, run_dir, job.node, job.upstream(), batching=batching or Batching()
    )
    if batches is not None:
        document["batches"] = len(batches.ranges)
    atomic_write(run_dir / split_path(key), json.dumps(document) + "\n")
    return shape


def collect_node(run_dir: Path, key: str) -> None:
    """Collect the outputs of a scatter that ran as batches of precomputed commands.

    Writes each element's output object, then the step's gathered one (its completion marker).
    """
    job = _Job.load(run_dir, key)
    shape = job.node.shape or read_split(run_dir, key)
    parts = split_range(shape.count)
    if len(parts) == 1:
        elements = _collect_part(job, parts[0])
    else:
        map_parts(lambda only: bool(_collect_part(job, only)), parts)
        elements = [read_output(run_dir, key, index) for index in range(shape.count)]
    gather_node(run_dir, key, shape, job.node.outputs, elements)


def _collect_part(job: _Job, only: range) -> list[dict[str, Any]]:
    """Collect elements ``only`` and write each one's output object."""
    from ossrflow.run.batches import collect_elements

    elements = collect_elements(job.plan, job.root, job.run_dir, job.node, job.upstream(), only)
    for index, outputs in zip(only, elements, strict=True):
        path = job.run_dir / node_output(job.node.key, index)
        part = path.with_name(path.name + ".part")
        part.write_text(json.dumps(outputs, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        part.replace(path)
    return elements


def gather_node(
    run_dir: Path,
    key: str,
    shape: ScatterShape,
    names: Sequence[str],
    elements: Sequence[dict[str, Any]] | None = None,
) -> None:
    """Join the element output objects of a scattered node into its output arrays."""
    if elements is None:
        elements = [read_output(run_dir, key, index) for index in range(shape.count)]
    gathered = {name: _nest([e.get(name) for e in elements], shape.dims) for name in names}
    write_output(run_dir, key, None, gathered)


def _nest(values: list[Any], dims: Sequence[int]) -> list[Any]:
    if len(dims) <= 1:
        return values
    size = len(values) // dims[0] if dims[0] else 0
    return [_nest(values[i * size : (i + 1) * size], dims[1:]) for i in range(dims[0])]


def _split_in_batches(run_dir: Path, key: str) -> bool:
    """Whether a checkpointed scatter's elements ran as batches (see :func:`split_node`)."""
    path = run_dir / split_path(key)
    return path.is_file() and "batches" in json.loads(path.read_text(encoding="utf-8"))


def read_split(run_dir: Path, key: str) -> ScatterShape:
    """The shape a ``split`` job wrote."""
    data = json.loads((run_dir / split_path(key)).read_text(encoding="utf-8"))
    return ScatterShape(data["method"], (), tuple(data["lengths"]))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ossrflow.run.job", description=__doc__)
    parser.add_argument("action", choices=["run", "split", "gather", "collect"])
    parser.add_argument("key")
    parser.add_argument("element", nargs="?", type=int)
    parser.add_argument("--run-dir", type=Path, default=Path.cwd())
    parser.add_argument("--max-jobs", type=int, help="split: at most this many batch jobs")
    parser.add_argument("--min-elements", type=int, default=1, help="split: per job, at least")
    parser.add_argument("--slots", type=int, default=1, help="split: jobs at once (a floor)")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of one job; the exit status tells Snakemake whether it succeeded."""
    args = _parser().parse_args(argv)
    quiet_cwltool(logging.INFO if args.verbose else logging.WARNING)
    tool_log = ToolLog()
    logging.getLogger("cwltool").addHandler(tool_log)
    run_dir = args.run_dir.resolve()
    try:
        if args.action == "run":
            run_node(run_dir, args.key, args.element, tool_log)
        elif args.action == "split":
            from ossrflow.run.batches import Batching

            batching = Batching(args.max_jobs, args.min_elements, args.slots)
            split_node(run_dir, args.key, batching)
        elif args.action == "collect" or _split_in_batches(run_dir, args.key):
            collect_node(run_dir, args.key)
        else:
            node = read_plan(run_dir).node(args.key)
            shape = node.shape or read_split(run_dir, args.key)
            gather_node(run_dir, args.key, shape, node.outputs)
    except OssrflowError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - the job's log is its stderr
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)  # noqa: T201
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

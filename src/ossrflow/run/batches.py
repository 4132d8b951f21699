"""Scatter elements as precomputed commands: cwltool builds each command line once, bash runs it.

For a scattered CommandLineTool step whose inputs are known when the run is planned, cwltool's
own ``CommandLineTool.job`` computes every element's command line, environment, redirections
and input links up front. They are written as bash scripts, one per *batch* of elements
(``steps/<key>/batches/<b>.sh``), so an element costs a fork and an exec instead of a Python
interpreter and a cwltool start. A profile's ``max-jobs-per-step`` sets how many batches (and
so scheduler jobs) a step becomes at most, and ``min-elements-per-job`` how few elements a batch
runs at least, so that a small scatter does not pay Snakemake's cost per job sixteen times
(:class:`Batching`); without them every element is its own batch.

Each element writes ``exit.code`` last, only when its exit status counts as success; a batch run
again skips the elements that have one, so resume and retries redo only what did not finish.
Each element's input is keyed by content (:mod:`.keys`, ``inputs.sha256`` in its folder): when
the key changed since the element ran, its results are removed and its batch runs again, so an
edited input reruns exactly the elements that read it. Once every batch is done, one
``collect`` job per step makes each element's output object: from the files the planner named
when every output is a plain file (:mod:`.planned`), else by rebuilding the element's cwltool job
and letting cwltool collect (globs, ``outputEval``, ``secondaryFiles``, checksums), so output
semantics stay cwltool's; it also writes each newly run element's facts (:mod:`.facts`). Steps
this path cannot express exactly (containers, InitialWorkDir, secrets, literal files,
conditional steps, ...) run through :mod:`ossrflow.run.job` as before. The scripts themselves
are :mod:`.batchscript`'s.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.cwl.inputs import (
    evaluate_step_inputs,
    find_step,
    gather_step_inputs,
    index_parameters,
    scatter_element,
    scatter_shape,
    step_job_order,
    workflow_state,
)
from ossrflow.cwl.load import cwl_errors, runtime_context
from ossrflow.cwl.staging import native_job_class, stage_dir, stage_root
from ossrflow.errors import WorkflowFailed
from ossrflow.integrity import write_if_changed
from ossrflow.run.batchscript import NotExpressible, render_element, render_script
from ossrflow.run.facts import CommandFacts, JobFacts, write_job_facts
from ossrflow.run.forked import map_parts, split_range
from ossrflow.run.freshness import describe_element, refresh_element
from ossrflow.run.keys import DigestCache, content_key
from ossrflow.run.plan import INPUTS, Node, Plan, element_dir
from ossrflow.run.planned import (
    element_files,
    plain_globs,
    plain_outputs,
    planned_of,
    read_planned,
    write_planned,
)
from ossrflow.run.rundir import BATCHES_FILE, EXIT_FILE, JOB_FACTS

if TYPE_CHECKING:
    from cwltool.job import CommandLineJob
    from cwltool.process import Process
    from cwltool.workflow import Workflow, WorkflowStep

__all__ = [
    "Batches",
    "Batching",
    "ElementJob",
    "batch_marker",
    "batch_ranges",
    "batch_script",
    "collect_elements",
    "element_jobs",
    "prepare_batches",
    "prepare_node",
    "read_batches",
]

_CWLTOOL = "http://commonwl.org/cwltool#"
# Requirements whose runtime effects happen inside cwltool's job.run, not in the command line.
_RUNTIME_REQUIREMENTS = (
    "DockerRequirement",
    "InitialWorkDirRequirement",
    f"{_CWLTOOL}Secrets",
    f"{_CWLTOOL}MPIRequirement",
    f"{_CWLTOOL}CUDARequirement",
    "http://commonwl.org/cwltool#ShmSize",
)


@dataclass(frozen=True)
class Batches:
    """How the elements of one scattered step are cut into batch jobs: ``[start, end)`` each."""

    key: str
    count: int
    ranges: tuple[tuple[int, int], ...]
    resources: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Batching:
    """How many batch jobs a scattered step of ``count`` elements becomes.

    At most ``max_jobs`` (None: one per element); and when ``min_elements`` is more than one,
    few enough that each runs at least that many elements, yet never fewer than ``slots`` (the
    jobs that run at once, e.g. the cores of a local run) so that every slot has work.
    """

    max_jobs: int | None = None
    min_elements: int = 1
    slots: int = 1

    def ranges(self, count: int) -> tuple[tuple[int, int], ...]:
        """The ``[start, end)`` of each batch job."""
        jobs = count if self.max_jobs is None else min(count, self.max_jobs)
        if self.min_elements > 1:
            jobs = min(jobs, max(-(-count // self.min_elements), self.slots))
        return batch_ranges(count, jobs)

    def arguments(self) -> list[str]:
        """The same batching as options of ``python -m ossrflow.run.job split``."""
        found = [] if self.max_jobs is None else ["--max-jobs", str(self.max_jobs)]
        if self.min_elements > 1:
            found += ["--min-elements", str(self.min_elements), "--slots", str(self.slots)]
        return found


def batch_ranges(count: int, max_jobs: int | None) -> tuple[tuple[int, int], ...]:
    """``count`` elements in at most ``max_jobs`` contiguous, nearly equal batches."""
    jobs = count if max_jobs is None else max(1, min(count, max_jobs))
    if count == 0:
        return ()
    size, extra = divmod(count, jobs)
    ranges, start = [], 0
    for index in range(jobs):
        end = start + size + (1 if index < extra else 0)
        ranges.append((start, end))
        start = end
    return tuple(ranges)


def batch_script(key: str, batch: int | str) -> str:
    """The bash script of one batch, relative to the run directory (``{b}`` may be a wildcard)."""
    return f"steps/{key}/batches/{batch}.sh"


def batch_marker(key: str, batch: int | str) -> str:
    """Written when every element of the batch succeeded: the batch job's Snakemake output."""
    return f"steps/{key}/batches/{batch}.done"


def read_batches(run_dir: Path, key: str) -> Batches:
    """The batches ``prepare_batches`` wrote for ``key``."""
    data = json.loads((run_dir / f"steps/{key}/{BATCHES_FILE}").read_text(encoding="utf-8"))
    return Batches(key, int(data["count"]), tuple((int(s), int(e)) for s, e in data["ranges"]))


def _step_reason(plan: Plan, workflow: Workflow, step: WorkflowStep) -> str | None:
    """Why a scattered step cannot run as precomputed commands (None: it can)."""
    tool = step.embedded_tool
    if tool.tool["class"] != "CommandLineTool":
        return f"runs a {tool.tool['class']}"
    if "when" in step.tool:
        return "is conditional (when)"
    if plan.job_requirements:
        return "the job order adds requirements"
    for name in _RUNTIME_REQUIREMENTS:
        if tool.get_requirement(name)[0] is not None:
            return f"has {name.rsplit('#', 1)[-1]}"
    return None


def prepare_batches(
    process: Process,
    plan: Plan,
    run_dir: Path,
    *,
    batching: Batching,
    cache: DigestCache | None = None,
) -> dict[str, Batches]:
    """Write batch scripts for every scattered step that can run as precomputed commands.

    Returns the batches by node key; steps missing from it run through the job runner.
    ``cache`` keeps the input files' digests (one for the run folder when None).
    """
    prepared: dict[str, Batches] = {}
    cache = cache or DigestCache(run_dir)
    for node in plan.nodes:
        if node.kind != "step" or node.shape is None or node.deps != (INPUTS,):
            continue
        upstream = {INPUTS: plan.job_order}
        batches = prepare_node(
            process, plan, run_dir, node, upstream, batching=batching, cache=cache
        )
        if batches is not None:
            prepared[node.key] = batches
    cache.save()
    return prepared


def prepare_node(
    process: Process,
    plan: Plan,
    run_dir: Path,
    node: Node,
    upstream: Mapping[str, Any],
    *,
    batching: Batching,
    cache: DigestCache | None = None,
) -> Batches | None:
    """Write the batch scripts of one scattered step from its upstream output objects.

    None when the step cannot run as precomputed commands or has no elements (the job runner's
    rules then run it). Called while planning, or by the ``split`` checkpoint of a scatter over
    earlier steps' outputs once they exist. An element whose input key changed since it ran
    loses its results first (:func:`ossrflow.run.freshness.refresh_element`).
    """
    workflow, step = find_step(process, node.target)
    if _step_reason(plan, workflow, step) is not None:
        return None
    state = workflow_state(node.sources, upstream, index_parameters(process))
    cache = cache or DigestCache(run_dir)
    try:
        with cwl_errors(node.label or node.key):
            blocks, keys, resources, files = _element_blocks(
                plan, workflow, step, node, state, run_dir, cache
            )
    except NotExpressible:
        return None
    if not blocks:
        return None  # nothing to run: the gather rule alone writes the empty arrays
    batches = _write_batches(run_dir, node, blocks, resources, batching)
    write_planned(run_dir / element_dir(node.key, None), planned_of(step.embedded_tool, files))
    for index, (start, end) in enumerate(batches.ranges):
        marker = run_dir / batch_marker(node.key, index)
        for element in range(start, end):
            refresh_element(run_dir, node.key, element, keys[element], marker)
    cache.save()
    return batches


def _write_batches(
    run_dir: Path,
    node: Node,
    blocks: list[tuple[str, str]],
    resources: dict[str, int],
    batching: Batching,
) -> Batches:
    ranges = batching.ranges(len(blocks))
    batches = Batches(node.key, len(blocks), ranges, resources)
    for index, (start, end) in enumerate(batches.ranges):
        script = render_script(
            label=node.label or node.key,
            index=index,
            ranges=ranges,
            count=batches.count,
            blocks=blocks[start:end],
            marker=batch_marker(node.key, index),
            stage_root=stage_root(),
        )
        write_if_changed(run_dir / batch_script(node.key, index), script)
    document = {"count": batches.count, "ranges": [list(r) for r in batches.ranges]}
    write_if_changed(run_dir / f"steps/{node.key}/{BATCHES_FILE}", json.dumps(document) + "\n")
    return batches


def _element_blocks(
    plan: Plan,
    workflow: Workflow,
    step: WorkflowStep,
    node: Node,
    state: Mapping[str, Any],
    run_dir: Path,
    cache: DigestCache,
) -> tuple[list[tuple[str, str]], list[str], dict[str, int], list[list[str] | None]]:
    """Each element's script blocks, input key and planned output files (:mod:`.planned`), and
    the largest resources expressions ask.

    A wide scatter's elements are built in forked processes (:mod:`.forked`); the digests they
    computed come back into ``cache``.
    """
    inputs = gather_step_inputs(workflow, step, state)
    shape = scatter_shape(step, inputs) if inputs is not None else None
    parts = split_range(shape.count if shape is not None else 0)

    def build(only: range) -> dict[str, Any] | None:
        known = dict(cache.files)
        try:
            blocks, keys, resources, files = _part_blocks(
                plan, workflow, step, node, state, run_dir, cache, only
            )
        except NotExpressible:
            return None
        digests = {k: v for k, v in cache.files.items() if known.get(k) != v}
        return {
            "blocks": blocks,
            "keys": keys,
            "resources": resources,
            "files": files,
            "digests": digests,
        }

    if len(parts) == 1:
        return _part_blocks(plan, workflow, step, node, state, run_dir, cache, None)
    blocks: list[tuple[str, str]] = []
    keys: list[str] = []
    resources: dict[str, int] = {}
    files: list[list[str] | None] = []
    for part in map_parts(build, parts):
        if part is None:
            raise NotExpressible("an element is not a plain command line")
        blocks += [(prepare, run) for prepare, run in part["blocks"]]  # JSON made them lists
        keys += part["keys"]
        files += part["files"]
        for name, value in part["resources"].items():
            resources[name] = max(resources.get(name, 0), value)
        if part["digests"]:
            cache.files.update(part["digests"])
            cache.changed = True
    return blocks, keys, resources, files


def _part_blocks(
    plan: Plan,
    workflow: Workflow,
    step: WorkflowStep,
    node: Node,
    state: Mapping[str, Any],
    run_dir: Path,
    cache: DigestCache,
    only: range | None,
) -> tuple[list[tuple[str, str]], list[str], dict[str, int], list[list[str] | None]]:
    blocks: list[tuple[str, str]] = []
    keys: list[str] = []
    files: list[list[str] | None] = []
    wanted = _expressed_resources(step.embedded_tool)
    globs = plain_globs(step.embedded_tool)
    resources: dict[str, int] = {}
    for item in element_jobs(plan, workflow, step, state, run_dir, node.key, cache, only):
        where = run_dir / element_dir(node.key, item.element)
        job = item.job
        named = element_files(globs, job) if globs is not None else None
        block = render_element(
            item.element,
            job,
            where,
            item.description,
            only_named_links=named is not None,
            key=item.key,
        )
        blocks.append(block)
        keys.append(item.key)
        files.append(named)
        values = {name: job.builder.resources.get(key) for name, key in wanted.items()}
        values["timelimit"] = job.timelimit if "timelimit" in wanted else None
        for name, value in values.items():
            if isinstance(value, int | float) and value > 0:
                resources[name] = max(resources.get(name, 0), math.ceil(value))
    return blocks, keys, resources, files


# ResourceRequirement fields -> (the planner's resource name, cwltool's builder.resources key)
_RESOURCE_FIELDS = {
    "cores": "cores",
    "ram": "ram",
    "tmpdir": "tmpdirSize",
    "outdir": "outdirSize",
}


def _expressed_resources(tool: Process) -> dict[str, str]:
    """Resources given as expressions (the planner takes literal ones from the document)."""
    wanted: dict[str, str] = {}
    requirement = tool.get_requirement("ResourceRequirement")[0] or {}
    for name, key in _RESOURCE_FIELDS.items():
        if any(isinstance(requirement.get(name + end), str) for end in ("Min", "Max")):
            wanted[name] = key
    limit = tool.get_requirement("ToolTimeLimit")[0] or {}
    if isinstance(limit.get("timelimit"), str):
        wanted["timelimit"] = "timelimit"
    return wanted


@dataclass(frozen=True)
class ElementJob:
    """One scatter element: cwltool's job for it, its input's content key, its description."""

    element: int
    job: CommandLineJob
    key: str
    description: str


def element_jobs(
    plan: Plan,
    workflow: Workflow,
    step: WorkflowStep,
    state: Mapping[str, Any],
    run_dir: Path,
    key: str,
    cache: DigestCache,
    only: range | None = None,
) -> Iterator[ElementJob]:
    """cwltool's job object of each element of node ``key`` (of ``only``'s), built as the job
    runner would.

    Each element's inputs are staged in its deterministic stage folder
    (:func:`ossrflow.cwl.staging.stage_dir`), named by its input's content key.
    """
    inputs = gather_step_inputs(workflow, step, state)
    if inputs is None:
        raise WorkflowFailed("an upstream output object is missing", source=str(step.id))
    shape = scatter_shape(step, inputs)
    if shape is None:
        raise WorkflowFailed("the step is not scattered", source=str(step.id))
    base = _base_context(plan.basedir, run_dir)
    for element in range(shape.count) if only is None else only:
        where = run_dir / element_dir(key, element)
        context = _element_context(base, where)
        chosen = scatter_element(inputs, shape, element)
        evaluated = evaluate_step_inputs(workflow, step, chosen, context)
        if evaluated is None:
            raise NotExpressible("when")
        order = step_job_order(step, evaluated)
        content = content_key(order, cache)
        context.stagedir = str(stage_dir(key, element, content))
        description = describe_element({f: chosen[f] for f in shape.fields})
        yield ElementJob(element, _one_job(step, order, context), content, description)


def _base_context(basedir: str, run_dir: Path) -> Any:
    """One cwltool runtime context, copied per element (building one costs ~4 ms)."""
    import threading

    from cwltool.mutation import MutationManager

    context = runtime_context(basedir, run_dir, use_container=False)
    context.mutation_manager = MutationManager()
    context.workflow_eval_lock = threading.Condition(threading.RLock())
    return context


def _element_context(base: Any, where: Path) -> Any:
    context = base.copy()
    context.outdir = str(where / "out")
    context.tmpdir = str(where / "tmp")  # its own folder, not work/tmp: a folder less to make
    context.tmpdir_prefix = str(where / "tmp") + "/"
    context.tmp_outdir_prefix = str(where / "work" / "out") + "/"
    return context


def _one_job(step: WorkflowStep, order: dict[str, Any], context: Any) -> CommandLineJob:
    jobs = list(step.embedded_tool.job(order, lambda out, status: None, context))
    if len(jobs) != 1 or type(jobs[0]) is not native_job_class():
        raise NotExpressible("not one plain command line job")
    job: CommandLineJob = jobs[0]  # type: ignore[assignment]
    if job.generatefiles.get("listing") or job.builder.build_job_script([]) is not None:
        raise NotExpressible("initial work dir or job script")
    return job


def collect_elements(
    plan: Plan,
    process: Process,
    run_dir: Path,
    node: Node,
    upstream: Mapping[str, Any],
    only: range | None = None,
) -> list[dict[str, Any]]:
    """Every element's (``only``'s) output object, collected from its output folder.

    Outputs the planner named (:mod:`.planned`) are made from the files themselves; any other
    element's cwltool job is built again and cwltool collects its outputs. Elements without
    facts (they ran in this run) get them, from their ``exit.code`` line.
    """
    from cwltool.process import shortname
    from cwltool.utils import bytes2str_in_dicts

    workflow, step = find_step(process, node.target)
    state = workflow_state(node.sources, upstream, index_parameters(process))
    names = [shortname(out["id"]) for out in step.tool["outputs"]]
    results: list[dict[str, Any]] = []
    commands: tuple[CommandFacts, ...] | None = None
    cache = DigestCache(run_dir, writable=False)
    inputs = gather_step_inputs(workflow, step, state)
    shape = scatter_shape(step, inputs) if inputs is not None else None
    count = shape.count if shape is not None else 0
    planned = read_planned(run_dir / element_dir(node.key, None), count)
    with cwl_errors(node.label or node.key):

        def job_of(element: int) -> CommandLineJob:
            once = range(element, element + 1)
            built = element_jobs(plan, workflow, step, state, run_dir, node.key, cache, once)
            return next(built).job

        for element in only if only is not None else range(count):
            where = run_dir / element_dir(node.key, element)
            record = (where / EXIT_FILE).read_text(encoding="utf-8").split()
            job = None
            produced = None
            if planned is not None:
                produced = plain_outputs(planned[0], planned[1][element], where / "out")
            if produced is None:
                job = job_of(element)
                produced = dict(
                    bytes2str_in_dicts(job.collect_outputs(job.outdir, int(record[0])))  # type: ignore[arg-type]
                )
            missing = [name for name in names if name not in produced]
            if missing:
                raise WorkflowFailed(
                    f"element {element} did not produce {', '.join(missing)}",
                    source=node.label or node.key,
                )
            results.append({name: produced[name] for name in names})
            if not (where / JOB_FACTS).is_file():
                commands = commands or _step_commands(step, job or job_of(element))
                _write_element_facts(run_dir, plan, node.key, element, record, commands)
    return results


def _step_commands(step: WorkflowStep, job: CommandLineJob) -> tuple[CommandFacts, ...]:
    from ossrflow.run.commands import command_facts

    ran = str(job.command_line[0]) if job.command_line else None
    facts = command_facts(
        step.embedded_tool.tool,
        search_path=job.environment.get("PATH"),
        ran=ran,
        workdir=Path(job.outdir),
    )
    return (facts,)


def _write_element_facts(
    run_dir: Path,
    plan: Plan,
    key: str,
    element: int,
    record: list[str],
    commands: tuple[CommandFacts, ...],
) -> None:
    """An element's facts from its ``exit.code`` line (older lines hold the status only)."""
    fields = [*record, "-", "-", "-", "-"][:5]
    status, started, ended, host, job_id = fields
    facts = JobFacts(
        step=key,
        element=element,
        executor=plan.executor,
        profile=plan.profile,
        host="" if host == "-" else host,
        scheduler_job_id=None if job_id == "-" else job_id,
        started="" if started == "-" else started,
        ended="" if ended == "-" else ended,
        exit_code=int(status),
        commands=commands,
    )
    write_job_facts(run_dir, facts, sync=False)

"""Scatter elements as precomputed commands: cwltool builds each command line once, bash runs it.

For a scattered CommandLineTool step whose inputs are known when the run is planned, cwltool's
own ``CommandLineTool.job`` computes every element's command line, environment, redirections
and input links up front. They are written as bash scripts, one per *batch* of elements
(``steps/<key>/batches/<b>.sh``), so an element costs a fork and an exec instead of a Python
interpreter and a cwltool start. A profile's ``max-jobs-per-step`` sets how many batches (and
so scheduler jobs) a step becomes; without it every element is its own batch.

Each element writes ``exit.code`` last, only when its exit status counts as success; a batch run
again skips the elements that have one, so resume and retries redo only what did not finish.
Once every batch is done, one ``collect`` job per step rebuilds each element's cwltool job and
lets cwltool collect its outputs (globs, ``outputEval``, ``secondaryFiles``, checksums): output
semantics stay cwltool's. Steps this path cannot express exactly (containers, InitialWorkDir,
secrets, literal files, conditional steps, ...) run through :mod:`ossrflow.run.job` as before.
"""

from __future__ import annotations

import json
import math
import shlex
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
from ossrflow.errors import WorkflowFailed
from ossrflow.integrity import write_if_changed
from ossrflow.run.plan import INPUTS, Node, Plan, element_dir
from ossrflow.run.rundir import BATCHES_FILE, EXIT_FILE

if TYPE_CHECKING:
    from cwltool.job import CommandLineJob
    from cwltool.process import Process
    from cwltool.workflow import Workflow, WorkflowStep

__all__ = [
    "Batches",
    "batch_marker",
    "batch_ranges",
    "batch_script",
    "collect_elements",
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


class _NotExpressible(Exception):
    """The step (or one element) needs something only cwltool's job.run does."""


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
    process: Process, plan: Plan, run_dir: Path, *, max_jobs: int | None
) -> dict[str, Batches]:
    """Write batch scripts for every scattered step that can run as precomputed commands.

    Returns the batches by node key; steps missing from it run through the job runner.
    """
    prepared: dict[str, Batches] = {}
    for node in plan.nodes:
        if node.kind != "step" or node.shape is None or node.deps != (INPUTS,):
            continue
        upstream = {INPUTS: plan.job_order}
        batches = prepare_node(process, plan, run_dir, node, upstream, max_jobs=max_jobs)
        if batches is not None:
            prepared[node.key] = batches
    return prepared


def prepare_node(
    process: Process,
    plan: Plan,
    run_dir: Path,
    node: Node,
    upstream: Mapping[str, Any],
    *,
    max_jobs: int | None,
) -> Batches | None:
    """Write the batch scripts of one scattered step from its upstream output objects.

    None when the step cannot run as precomputed commands or has no elements (the job runner's
    rules then run it). Called while planning, or by the ``split`` checkpoint of a scatter over
    earlier steps' outputs once they exist.
    """
    workflow, step = find_step(process, node.target)
    if _step_reason(plan, workflow, step) is not None:
        return None
    state = workflow_state(node.sources, upstream, index_parameters(process))
    try:
        with cwl_errors(node.label or node.key):
            blocks, resources = _element_blocks(plan, workflow, step, node, state, run_dir)
    except _NotExpressible:
        return None
    if not blocks:
        return None  # nothing to run: the gather rule alone writes the empty arrays
    return _write_batches(run_dir, node, blocks, resources, max_jobs)


def _write_batches(
    run_dir: Path, node: Node, blocks: list[str], resources: dict[str, int], max_jobs: int | None
) -> Batches:
    ranges = batch_ranges(len(blocks), max_jobs)
    batches = Batches(node.key, len(blocks), ranges, resources)
    for index, (start, end) in enumerate(batches.ranges):
        script = _render_script(node, index, batches, blocks[start:end])
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
) -> tuple[list[str], dict[str, int]]:
    """Each element's script block, and the largest resources that expressions asked for."""
    blocks: list[str] = []
    wanted = _expressed_resources(step.embedded_tool)
    resources: dict[str, int] = {}
    for element, job in element_jobs(plan, workflow, step, state, run_dir, node.key):
        blocks.append(_render_element(element, job, run_dir / element_dir(node.key, element)))
        values = {name: job.builder.resources.get(key) for name, key in wanted.items()}
        values["timelimit"] = job.timelimit if "timelimit" in wanted else None
        for name, value in values.items():
            if isinstance(value, int | float) and value > 0:
                resources[name] = max(resources.get(name, 0), math.ceil(value))
    return blocks, resources


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


def element_jobs(
    plan: Plan,
    workflow: Workflow,
    step: WorkflowStep,
    state: Mapping[str, Any],
    run_dir: Path,
    key: str,
) -> Iterator[tuple[int, CommandLineJob]]:
    """cwltool's job object of each element of node ``key``, built as the job runner would."""
    inputs = gather_step_inputs(workflow, step, state)
    if inputs is None:
        raise WorkflowFailed("an upstream output object is missing", source=str(step.id))
    shape = scatter_shape(step, inputs)
    if shape is None:
        raise WorkflowFailed("the step is not scattered", source=str(step.id))
    base = _base_context(plan.basedir, run_dir)
    for element in range(shape.count):
        where = run_dir / element_dir(key, element)
        context = _element_context(base, where)
        evaluated = evaluate_step_inputs(
            workflow, step, scatter_element(inputs, shape, element), context
        )
        if evaluated is None:
            raise _NotExpressible("when")
        yield element, _one_job(step, step_job_order(step, evaluated), context)


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
    context.tmpdir = str(where / "work" / "tmp")
    context.stagedir = str(where / "work" / "stage")
    context.tmpdir_prefix = str(where / "work" / "tmp") + "/"
    context.tmp_outdir_prefix = str(where / "work" / "out") + "/"
    return context


def _one_job(step: WorkflowStep, order: dict[str, Any], context: Any) -> CommandLineJob:
    from cwltool.job import CommandLineJob

    jobs = list(step.embedded_tool.job(order, lambda out, status: None, context))
    if len(jobs) != 1 or type(jobs[0]) is not CommandLineJob:
        raise _NotExpressible("not one plain command line job")
    job: CommandLineJob = jobs[0]
    if job.generatefiles.get("listing") or job.builder.build_job_script([]) is not None:
        raise _NotExpressible("initial work dir or job script")
    return job


def _links(job: CommandLineJob) -> tuple[list[str], list[tuple[str, str]]]:
    """Folders to make and (source, link) pairs: cwltool's stage_files with symlinks."""
    folders: list[str] = []
    links: list[tuple[str, str]] = []
    for _, entry in job.pathmapper.items_exclude_children():
        if not entry.staged:
            continue
        folders.append(str(Path(entry.target).parent))
        if entry.type in ("File", "Directory") and Path(entry.resolved).exists():
            links.append((entry.resolved, entry.target))
        elif entry.type == "Directory" and entry.resolved.startswith("_:"):
            folders.append(entry.target)
        else:
            raise _NotExpressible(f"staging {entry.type}")
    return folders, links


def _success_codes(job: CommandLineJob) -> list[int]:
    """Exit statuses cwltool counts as success (0 unless listed as a failure)."""
    codes = set(job.successCodes)
    if 0 not in job.temporaryFailCodes and 0 not in job.permanentFailCodes:
        codes.add(0)
    return sorted(codes)


def _command(job: CommandLineJob) -> str:
    argv = [str(arg) for arg in job.command_line]
    if not argv or "=" in argv[0]:
        raise _NotExpressible("empty command or '=' in the program name")
    env = [f"{name}={value}" for name, value in sorted(job.environment.items())]
    if any(not name.isidentifier() for name in job.environment):
        raise _NotExpressible("environment variable name")
    words = ["env", "-i", "--", *env, *argv]
    if job.timelimit:
        words = ["timeout", "-s", "KILL", str(job.timelimit), *words]
    return shlex.join(words)


def _redirects(job: CommandLineJob, log: Path) -> str:
    q = shlex.quote
    stdin = job.pathmapper.reversemap(job.stdin) if job.stdin else None
    if job.stdin and stdin is None:
        raise _NotExpressible("stdin outside the path mapper")
    parts = [f"< {q(stdin[1])}" if stdin else "< /dev/null"]
    out = str(Path(job.outdir, job.stdout)) if job.stdout else None
    err = str(Path(job.outdir, job.stderr)) if job.stderr else None
    parts.append(f"> {q(out)}" if out else f"> {q(str(log))}")
    parts.append(f"2> {q(err)}" if err else ("2>&1" if not out else f"2> {q(str(log))}"))
    return " ".join(parts)


def _render_element(element: int, job: CommandLineJob, where: Path) -> str:
    """One element: reset it if an earlier attempt left folders, link inputs, run, record."""
    q = shlex.quote
    folders, links = _links(job)
    for stream in (job.stdout, job.stderr):
        if stream:
            folders.append(str(Path(job.outdir, stream).parent))
    folders = sorted({job.outdir, job.tmpdir, *folders} - {""})
    here = q(str(where))
    lines = [
        f"# element {element}",
        f"if [ ! -s {q(str(where / EXIT_FILE))} ]; then",
        f"  [ -e {here}/out ] && rm -rf {here}/out {here}/work",
        "  mkdir -p " + " ".join(q(f) for f in folders),
    ]
    lines += [f"  ln -s {q(src)} {q(dst)}" for src, dst in links]
    run = f"(cd {q(job.outdir)} && exec {_command(job)}) {_redirects(job, where / 'job.log')}"
    codes = "|".join(str(c) for c in _success_codes(job))
    lines += [f"  {run}", f"  finish {here} $? '{codes}'", "fi"]
    return "\n".join(lines) + "\n"


_SCRIPT_HEAD = """\
#!/usr/bin/env bash
# Generated by ossrflow: {label}, scatter elements {first} to {last} of {count} (batch {batch}
# of {batches}). Each element runs the command cwltool computed for it at plan time, with exactly
# that environment, and records its exit status in exit.code only when it counts as success
# (one write; an element with a non-empty exit.code is skipped when the batch runs again).
# Outputs are collected once per step afterwards. Builtins where possible: forks cost time.
set -u
failed=0
scratch=()
finish() {{  # finish ELEMENT_DIR STATUS SUCCESS_CODES(a|b|c)
  case "|$3|" in
    *"|$2|"*)
      printf '%s\\n' "$2" > "$1/exit.code"
      scratch+=("$1/work") ;;
    *)
      echo "element $1 failed with exit status $2 (log: $1/job.log)" >&2
      failed=$((failed + 1)) ;;
  esac
}}

"""

_SCRIPT_TAIL = """
[ "${{#scratch[@]}}" -eq 0 ] || rm -rf "${{scratch[@]}}"
if [ "$failed" -ne 0 ]; then
  echo "$failed element(s) of this batch failed; run again to retry only those" >&2
  exit 1
fi
: > {marker}
"""


def _render_script(node: Node, index: int, batches: Batches, blocks: list[str]) -> str:
    first, last = batches.ranges[index][0], batches.ranges[index][1] - 1
    head = _SCRIPT_HEAD.format(
        label=(node.label or node.key).replace("\n", " "),
        first=first,
        last=last,
        count=batches.count,
        batch=index,
        batches=len(batches.ranges),
    )
    tail = _SCRIPT_TAIL.format(marker=shlex.quote(batch_marker(node.key, index)))
    return head + "\n".join(blocks) + tail


def collect_elements(
    plan: Plan, process: Process, run_dir: Path, node: Node, upstream: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Every element's output object, collected by cwltool from its finished output folder."""
    from cwltool.process import shortname
    from cwltool.utils import bytes2str_in_dicts

    workflow, step = find_step(process, node.target)
    state = workflow_state(node.sources, upstream, index_parameters(process))
    names = [shortname(out["id"]) for out in step.tool["outputs"]]
    results: list[dict[str, Any]] = []
    with cwl_errors(node.label or node.key):
        for element, job in element_jobs(plan, workflow, step, state, run_dir, node.key):
            where = run_dir / element_dir(node.key, element)
            status = int((where / EXIT_FILE).read_text(encoding="utf-8"))
            produced: dict[str, Any] = dict(
                bytes2str_in_dicts(job.collect_outputs(job.outdir, status))  # type: ignore[arg-type]
            )
            missing = [name for name in names if name not in produced]
            if missing:
                raise WorkflowFailed(
                    f"element {element} did not produce {', '.join(missing)}",
                    source=node.label or node.key,
                )
            results.append({name: produced[name] for name in names})
    return results

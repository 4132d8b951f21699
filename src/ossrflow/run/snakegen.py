"""Render a plan into a readable Snakefile and lay out the run directory.

One rule per CWL step; a scattered step's rule has the wildcard ``{i}`` (one job per element)
and a ``<rule>_gather`` rule joins the elements. When the element count is known only after
earlier steps ran, a ``<rule>_split`` checkpoint counts it. Every job writes
``steps/<node>/[<i>/]cwl.output.json`` last; downstream rules depend on those files.

All quoting lives here: paths and keys enter the Snakefile as Python string literals (``repr``),
and the job command line is quoted with ``shlex.quote`` (braces doubled for Snakemake).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from ossrflow.cwl.values import render_json
from ossrflow.integrity import write_if_changed
from ossrflow.run.batches import Batches, Batching, batch_marker, batch_script
from ossrflow.run.plan import INPUTS, Node, Plan, element_dir, node_output, render_plan, split_path
from ossrflow.run.profiles import snakemake_resources, step_overrides
from ossrflow.run.rundir import PLAN_FILE, SNAKEFILE
from ossrflow.run.warm import CLIENT as WARM_CLIENT

__all__ = ["render_snakefile", "rule_names", "write_run_dir"]

_LIGHT_KINDS = {"enter", "exit"}


def rule_names(plan: Plan) -> dict[str, str]:
    """A unique Python identifier per node key, readable (``step1``, ``sub_inner``)."""
    names: dict[str, str] = {}
    used = {"all"}
    for node in plan.nodes:
        if node.key == INPUTS:
            continue
        base = re.sub(r"\W", "_", node.key.replace("@", "_")).strip("_") or "step"
        if base[0].isdigit():
            base = "s" + base
        name, number = base, 1
        while any(name + end in used for end in ("", "_gather", "_split", "_batch")):
            number += 1
            name = f"{base}_{number}"
        used.update({name, name + "_gather", name + "_split", name + "_batch"})
        names[node.key] = name
    return names


def _launcher(python: str, executor: str) -> tuple[str, ...]:
    """What starts a job: on the local profile through the run's warm worker (:mod:`.warm`)."""
    if executor == "local":
        return (python, "-I", "-S", str(WARM_CLIENT), python)
    return (python,)


def _command(python: tuple[str, ...], *args: str) -> str:
    """A job command line, quoted for the shell and escaped for Snakemake's formatter."""
    line = shlex.join([*python, "-m", "ossrflow.run.job", *args])
    return line.replace("{", "{{").replace("}", "}}")


def _inputs(node: Node, plan: Plan) -> list[str]:
    """The upstream output objects a job reads. Not the job order: whether a job that reads it
    must run again is decided by content, before Snakemake starts (:mod:`.freshness`)."""
    return [node_output(dep) for dep in node.deps if dep != INPUTS]


def _input_block(files: list[str]) -> str:
    return f"    input:\n{_literal_list(files)}" if files else ""


def _literal_list(items: list[str], indent: str = "        ") -> str:
    return "".join(f"{indent}{item!r},\n" for item in items)


def _resources_block(node: Node, overrides: Mapping[str, str], executor: str) -> str:
    resources: dict[str, object] = dict(snakemake_resources(node.resources, executor))
    threads = resources.pop("threads", None)
    resources.update(overrides)
    text = f"    threads: {threads}\n" if threads else ""
    if resources:
        body = "".join(f"        {k}={v!r},\n" for k, v in sorted(resources.items()))
        text += f"    resources:\n{body}"
    return text


def _job_rule(
    node: Node,
    name: str,
    plan: Plan,
    python: tuple[str, ...],
    overrides: Mapping[str, str],
    executor: str,
) -> str:
    element = "{i}" if node.scattered else None
    inputs = _inputs(node, plan) + ([split_path(node.key)] if node.dynamic else [])
    args = ["run", node.key] + (["{wildcards.i}"] if node.scattered else [])
    command = _command(python, *args[:2]) + (" {wildcards.i}" if node.scattered else "")
    header = f"# {node.label or node.key}"
    if node.scattered:
        count = "a count known after earlier steps" if node.dynamic else _count(node)
        header += f": one job per scatter element ({node.scatter_method}, {count})"
    text = f"{header}\nrule {name}:\n"
    if inputs:
        text += f"    input:\n{_literal_list(inputs)}"
    text += f"    output:\n        {node_output(node.key, element)!r},\n"
    text += f"    log:\n        {element_dir(node.key, element) + '/job.log'!r},\n"
    if node.scattered:
        text += '    wildcard_constraints:\n        i=r"\\d+",\n'
    text += _resources_block(node, overrides, executor)
    text += f"    shell:\n        {command + ' > {log} 2>&1'!r}\n"
    return text


def _batch_rule(
    node: Node,
    name: str,
    plan: Plan,
    overrides: Mapping[str, str],
    executor: str,
    extra_input: str | None = None,
    batches: Batches | None = None,
) -> str:
    """One job per batch script of precomputed commands (:mod:`ossrflow.run.batches`)."""
    script = shlex.quote(batch_script(node.key, "").removesuffix(".sh")) + "{wildcards.b}.sh"
    resources = dict(node.resources)
    if batches is not None:
        resources.update(batches.resources)
        if "timelimit" in resources:
            resources["timelimit"] *= max(end - start for start, end in batches.ranges)
    inputs = _inputs(node, plan) + ([extra_input] if extra_input else [])
    return (
        f"rule {name}:\n"
        + _input_block(inputs)
        + f"    output:\n        {batch_marker(node.key, '{b}')!r},\n"
        f"    log:\n        {batch_script(node.key, '{b}').removesuffix('.sh') + '.log'!r},\n"
        '    wildcard_constraints:\n        b=r"\\d+",\n'
        + _resources_block(replace(node, resources=resources), overrides, executor)
        + f"    shell:\n        {'bash ' + script + ' > {log} 2>&1'!r}\n"
    )


def _batch_rules(
    node: Node,
    name: str,
    plan: Plan,
    python: tuple[str, ...],
    overrides: Mapping[str, str],
    batches: Batches,
    executor: str,
) -> str:
    """A scatter planned as batches: its batch rule, then ``collect`` joins the elements."""
    longest = max(end - start for start, end in batches.ranges)
    jobs = len(batches.ranges)
    markers = f"[{batch_marker(node.key, '{b}')!r}.format(b=b) for b in range({jobs})]"
    return (
        f"# {node.label or node.key}: {batches.count} scatter elements ({node.scatter_method}) "
        f"as precomputed commands,\n# in {jobs} batch job(s) of up to {longest}\n"
        + _batch_rule(node, name, plan, overrides, executor, batches=batches)
        + "\n\n"
        f"# collects the outputs of every element of {node.key} (cwltool's output rules)\n"
        f"rule {name}_gather:\n"
        f"    input:\n        {markers},\n"
        f"    output:\n        {node_output(node.key)!r},\n"
        f"    log:\n        {element_dir(node.key, None) + '/collect.log'!r},\n"
        f"    shell:\n        {_command(python, 'collect', node.key) + ' > {log} 2>&1'!r}\n"
    )


def _count(node: Node) -> str:
    shape = node.shape
    return f"{shape.count} elements" if shape else "?"


def _gather_rules(
    node: Node,
    name: str,
    plan: Plan,
    python: tuple[str, ...],
    overrides: Mapping[str, str],
    batching: Batching,
    executor: str,
) -> str:
    pattern = node_output(node.key, "{i}")
    text = ""
    if node.dynamic:
        split = ["split", node.key, *batching.arguments()]
        marker = batch_marker(node.key, "{b}")
        text += (
            f"# counts the elements of {node.key} once its inputs exist and, when their command\n"
            "# lines can be computed then, writes them as batch scripts\n"
            f"checkpoint {name}_split:\n"
            + _input_block(_inputs(node, plan))
            + f"    output:\n        {split_path(node.key)!r},\n"
            f"    log:\n        {element_dir(node.key, None) + '/split.log'!r},\n"
            f"    shell:\n        {_command(python, *split) + ' > {log} 2>&1'!r}\n\n\n"
            f"def {name}_elements(wildcards):\n"
            f"    with open(checkpoints.{name}_split.get().output[0]) as handle:\n"
            "        split = json.load(handle)\n"
            "    if 'batches' in split:\n"
            f"        return [{marker!r}.format(b=b) for b in range(split['batches'])]\n"
            f"    return [{pattern!r}.format(i=i) for i in range(split['count'])]\n\n\n"
            + _batch_rule(node, f"{name}_batch", plan, overrides, executor, split_path(node.key))
            + "\n\n"
        )
        elements = f"{name}_elements"
    else:
        count = node.shape.count if node.shape else 0
        elements = f"[{pattern!r}.format(i=i) for i in range({count})]"
    text += (
        f"# joins the elements of {node.key} into arrays\n"
        f"rule {name}_gather:\n"
        f"    input:\n        {elements},\n"
        f"    output:\n        {node_output(node.key)!r},\n"
        f"    shell:\n        {_command(python, 'gather', node.key)!r}\n"
    )
    return text


def _node_overrides(
    plan: Plan, executor: str, overrides: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """Per node: its ``ossrflow:Scheduler`` hint as the executor's resources, then ``overrides``."""
    merged: dict[str, dict[str, str]] = {}
    for node in plan.nodes:
        location = f"steps.{node.key}.hints.Scheduler"
        resources = step_overrides(node.scheduler, executor, source=plan.uri, location=location)
        resources.update(overrides.get(node.key, {}))
        merged[node.key] = resources
    return merged


def render_snakefile(
    plan: Plan,
    *,
    python: str,
    executor: str = "local",
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    batches: Mapping[str, Batches] | None = None,
    batching: Batching | None = None,
) -> str:
    """The Snakefile of a run directory.

    ``executor`` names the profile's executor (for the steps' scheduler hints); ``overrides``
    maps node keys to more resources; ``batches`` are the scatters that run as precomputed
    commands (:mod:`ossrflow.run.batches`); ``batching`` is passed to the ``split``
    checkpoints, which batch scatters over earlier steps' outputs the same way.
    """
    batches = batches or {}
    launcher = _launcher(python, executor)
    names = rule_names(plan)
    overrides = _node_overrides(plan, executor, overrides or {})
    jobs = [n for n in plan.nodes if n.key != INPUTS]
    local = [names[n.key] for n in jobs if n.kind in _LIGHT_KINDS]
    local += [names[n.key] + "_gather" for n in jobs if n.scattered]
    local += [names[n.key] + "_split" for n in jobs if n.dynamic]
    parts = [
        "# Generated by ossrflow from "
        f"{plan.uri}\n# Do not edit: `ossrflow run` writes it again. Each rule is one CWL step.\n"
        "import json\n",
        f"localrules: {', '.join(['all', *local])}\n",
        f"rule all:\n    input:\n{_literal_list([node_output(n.key) for n in jobs])}",
    ]
    for node in jobs:
        name = names[node.key]
        if node.key in batches:
            batch = batches[node.key]
            parts.append(
                _batch_rules(node, name, plan, launcher, overrides[node.key], batch, executor)
            )
            continue
        parts.append(_job_rule(node, name, plan, launcher, overrides[node.key], executor))
        if node.scattered:
            rules = _gather_rules(
                node, name, plan, launcher, overrides[node.key], batching or Batching(), executor
            )
            parts.append(rules)
    return "\n\n".join(parts)


def write_run_dir(
    plan: Plan,
    run_dir: Path,
    *,
    python: str,
    executor: str = "local",
    overrides: Mapping[str, Mapping[str, str]] | None = None,
    batches: Mapping[str, Batches] | None = None,
    batching: Batching | None = None,
) -> Path:
    """Write Snakefile, plan and job order into ``run_dir``; return the Snakefile's path."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_if_changed(run_dir / PLAN_FILE, render_plan(plan))
    write_if_changed(run_dir / node_output(INPUTS), render_json(plan.job_order))
    snakefile = run_dir / SNAKEFILE
    text = render_snakefile(
        plan,
        python=python,
        executor=executor,
        overrides=overrides,
        batches=batches,
        batching=batching,
    )
    write_if_changed(snakefile, text)
    return snakefile

"""What a run may do when its workflow is someone else's code: every tool in a container.

:func:`verify_containerized` loads a CWL document with its job order (as ``ossrflow run`` plans
it) and refuses, naming the step, any ``CommandLineTool`` that would run natively on the machine
(no ``DockerRequirement`` under ``requirements`` or ``hints``, its own or inherited from the
workflow) and, unless ``allow_javascript``, any process with an ``InlineJavascriptRequirement``:
cwltool evaluates JavaScript expressions in ``node`` on the host, outside every container, and
``node``'s ``vm`` module is no security boundary. ``ossrflow serve`` runs this check before every
run unless started with ``--allow-native`` (docs/service.md, the trust model).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.cwl.load import load_root
from ossrflow.errors import InputError

if TYPE_CHECKING:
    from cwltool.process import Process

__all__ = ["PolicyProblem", "find_policy_problems", "verify_containerized"]

_DOCKER = "DockerRequirement"
_JAVASCRIPT = "InlineJavascriptRequirement"


@dataclass(frozen=True)
class PolicyProblem:
    """One process that would run code on the host: its step path, its class, and why."""

    step: str  # "main" for the top-level process, else the step path "outer/inner"
    process_class: str
    problem: str


def _fragment(identifier: object) -> str:
    text = str(identifier or "")
    return text.rpartition("#")[2].rpartition("/")[2] or text


def _walk(process: Process, path: str) -> Iterator[tuple[str, Process]]:
    yield path, process
    for step in getattr(process, "steps", None) or []:
        name = _fragment(step.id)
        yield from _walk(step.embedded_tool, f"{path}/{name}" if path != "main" else name)


def _has(process: Process, name: str, extra: list[Any]) -> bool:
    items = [*process.requirements, *process.hints, *extra]
    return any(str(item.get("class", "")).rpartition("#")[2] == name for item in items)


def find_policy_problems(
    process: Process, extra_requirements: list[Any] | None = None, *, allow_javascript: bool
) -> list[PolicyProblem]:
    """Every process under ``process`` that would run code outside a container, in order.

    ``extra_requirements`` are the job order's ``cwl:requirements`` (they apply to a lone tool).
    """
    problems: list[PolicyProblem] = []
    for path, item in _walk(process, "main"):
        kind = str(item.tool.get("class", ""))
        extra = list(extra_requirements or []) if item is process else []
        if kind == "CommandLineTool" and not _has(item, _DOCKER, extra):
            problems.append(
                PolicyProblem(path, kind, "has no DockerRequirement: it would run on the host")
            )
        if not allow_javascript and _has(item, _JAVASCRIPT, extra):
            problems.append(
                PolicyProblem(
                    path,
                    kind,
                    "uses JavaScript expressions (InlineJavascriptRequirement), which cwltool "
                    "evaluates on the host, outside any container",
                )
            )
    return problems


def verify_containerized(
    workflow: str | Path,
    job: Path | None,
    *,
    schema_cache: Path | None = None,
    allow_javascript: bool = False,
) -> None:
    """Raise :class:`InputError` naming the first step that would run code outside a container.

    Loads ``workflow`` with ``job`` like ``ossrflow run`` (so invalid documents fail here with
    cwltool's located message). ``schema_cache`` keeps parsed CWL schemas between calls.
    """
    root = load_root(str(workflow), str(job) if job is not None else None, schema_cache)
    extra = root.job_order.get("https://w3id.org/cwl/cwl#requirements") or []
    problems = find_policy_problems(
        root.process,
        list(extra) if isinstance(extra, list) else [],
        allow_javascript=allow_javascript,
    )
    if problems:
        first = problems[0]
        where = "the workflow" if first.step == "main" else f"step {first.step}"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise InputError(
            f"{where} ({first.process_class}) {first.problem}{more}",
            source=str(workflow),
            location=first.step,
            hint="give the tool a DockerRequirement (or build its entry's image with "
            "`ossrflow containerize`), and no JavaScript; or ask the operator for a service "
            "started with --allow-native",
        )

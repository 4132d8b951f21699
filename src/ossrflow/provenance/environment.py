"""What a rerun needs from this machine, checked before anything runs.

A record says, per job, which commands a native step ran (the executable found on PATH, and the
package and version that provide it) and which image, by digest, a container step ran in. A
rerun

- puts the recorded run's own virtual environments first on PATH (:func:`restored_path`: the
  ``bin/`` folders of the recorded executables that still exist and belong to a venv), so that
  a run made with a venv reruns without it activated;
- then finds every recorded command on that PATH and stops with one line naming the step, the
  command and the fix when one is missing or provided by another version
  (:func:`verify_commands`);
- runs container steps by the recorded digest, never a fresh resolution
  (:func:`pin_recorded_images` rewrites the packed workflow's ``DockerRequirement`` to
  ``dockerImageId: sha256:…``, which the run then finds in the engine's store or refuses).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ossrflow.errors import InputError, NotFound
from ossrflow.provenance.model import CommandFact, ContainerImage, RunRecord

__all__ = [
    "describe_command",
    "native_commands",
    "pin_recorded_images",
    "restored_path",
    "search_path",
    "verify_commands",
]

_DOCKER = "DockerRequirement"
_SOURCES = ("dockerPull", "dockerFile", "dockerLoad", "dockerImport", "dockerImageId")


def native_commands(record: RunRecord) -> dict[str, tuple[str, CommandFact]]:
    """Every command a native step of the record ran (first job that ran it), by command."""
    found: dict[str, tuple[str, CommandFact]] = {}
    for job in record.steps:
        label = job.step if job.element is None else f"{job.step}[{job.element}]"
        for fact in job.commands:
            if fact.container is None and fact.command not in found:
                found[fact.command] = (label, fact)
    return found


def _venv_bin(path: str | None) -> Path | None:
    """The ``bin/`` folder of a virtual environment holding ``path``, when it still exists."""
    if not path:
        return None
    folder = Path(path).parent
    is_venv = (folder.parent / "pyvenv.cfg").is_file()
    return folder if is_venv and Path(path).is_file() else None


def restored_path(record: RunRecord, path: str) -> str:
    """``path`` (a PATH value) with the recorded run's venv ``bin/`` folders first."""
    folders = [
        str(f) for _, fact in native_commands(record).values() if (f := _venv_bin(fact.path))
    ]
    parts = [p for p in path.split(os.pathsep) if p]
    first = list(dict.fromkeys(folders))
    return os.pathsep.join([*first, *(p for p in parts if p not in first)])


def describe_command(command: str, path: str) -> CommandFact:
    """What ``command`` is on ``path`` here: the executable, and the package and version that
    provide it, found as jobs find them (:func:`ossrflow.run.commands.find_package`)."""
    from ossrflow.run.commands import find_package, resolve_command

    found = resolve_command(command, path, None)
    if found is None:
        return CommandFact(tool="", command=command)
    package, version = find_package(found)
    return CommandFact(tool="", command=command, path=str(found), package=package, version=version)


def _provided(fact: CommandFact) -> str:
    provider = " ".join(p for p in (fact.package, fact.version) if p)
    return f"{fact.path}, {provider}" if provider else str(fact.path)


def verify_commands(record: RunRecord, path: str) -> None:
    """Refuse, naming the step, a recorded native command that is missing from ``path`` or that
    another version provides here (both versions known and different)."""
    for command, (step, recorded) in native_commands(record).items():
        here = describe_command(command, path)
        if here.path is None:
            raise NotFound(
                f"step {step} ran {command!r} ({_provided(recorded)}), and {command!r} is not "
                "on PATH here",
                source=str(record.crate),
                hint=_install_hint(recorded),
            )
        same_package = recorded.package is None or here.package in (None, recorded.package)
        if (
            recorded.version
            and here.version
            and (here.version != recorded.version or not same_package)
        ):
            raise InputError(
                f"step {step} ran {command!r} ({_provided(recorded)}), but here {command!r} "
                f"is {_provided(here)}",
                source=str(record.crate),
                hint=_install_hint(recorded),
            )


def _install_hint(fact: CommandFact) -> str:
    if fact.package and fact.version:
        return (
            f"install {fact.package}=={fact.version} (e.g. `pip install "
            f"'{fact.package}=={fact.version}'`) or put the environment that has it first on PATH"
        )
    return f"install {fact.command!r} or put the folder that has it first on PATH"


@contextmanager
def search_path(path: str) -> Iterator[None]:
    """Run the block (and every process it starts) with ``PATH=path``."""
    old = os.environ.get("PATH")
    os.environ["PATH"] = path
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old


# --- images ------------------------------------------------------------------------------------


def _short(ident: object) -> str:
    return str(ident).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def _runs(packed: Any) -> list[tuple[dict[str, Any], set[str]]]:
    """Every process of a packed document with the names of the steps that run it: tools
    inline in their step (``cwl_utils.pack``) or in a ``$graph`` referred to by ``#id``."""
    graph = packed.get("$graph") if isinstance(packed, dict) else None
    top = [p for p in graph if isinstance(p, dict)] if isinstance(graph, list) else [packed]
    by_id: dict[str, tuple[dict[str, Any], set[str]]] = {
        str(p.get("id", "")).lstrip("#"): (p, set()) for p in top
    }
    found = list(by_id.values())
    waiting = list(top)
    while waiting:
        process = waiting.pop()
        steps = process.get("steps")
        for step in steps if isinstance(steps, list) else []:  # the crate's: any shape
            run = step.get("run") if isinstance(step, dict) else None
            name = _short(step.get("id")) if isinstance(step, dict) else ""
            if isinstance(run, dict):
                found.append((run, {name}))
                waiting.append(run)
            elif isinstance(run, str) and run.lstrip("#") in by_id:
                by_id[run.lstrip("#")][1].add(name)
    return found


def _docker_requirements(process: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for section in ("requirements", "hints"):
        items = process.get(section) or []
        if isinstance(items, Mapping):
            items = [{"class": k, **v} for k, v in items.items() if isinstance(v, Mapping)]
            process[section] = items
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and _short(item.get("class")) == _DOCKER:
                yield item


def pin_recorded_images(packed: dict[str, Any], images: Sequence[ContainerImage]) -> int:
    """Make every DockerRequirement of ``packed`` name the digest its steps ran with; returns
    how many were rewritten. A requirement whose steps ran in no (or several) recorded images,
    and whose reference names none, is left as it is."""
    runs = _runs(packed)
    lone = len(runs) == 1 and not runs[0][0].get("steps")
    rewritten = 0
    for process, steps in runs:
        digests = {i.digest for i in images if lone or i.step in steps}
        for requirement in _docker_requirements(process):
            by_ref = {i.digest for i in images if i.ref in _refs(requirement)}
            chosen = digests if len(digests) == 1 else by_ref
            if len(chosen) == 1:
                for key in _SOURCES:
                    requirement.pop(key, None)
                requirement["dockerImageId"] = next(iter(chosen))
                rewritten += 1
    return rewritten


def _refs(requirement: Mapping[str, Any]) -> set[str]:
    return {str(requirement[k]) for k in ("dockerPull", "dockerImageId") if requirement.get(k)}

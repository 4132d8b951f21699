"""Job facts: who ran a job, where, when, and what it ran (``steps/<key>[/<i>]/ossrflow-job.json``).

Every finished job that runs a tool writes one (see :mod:`ossrflow.run.rundir` for which file
and when), atomically, before its ``cwl.output.json``::

    {"version": 1, "step": "checksum", "element": 0, "executor": "slurm", "profile": "slurm",
     "host": "node3", "scheduler_job_id": "4711", "started": "2026-12-02T10:00:01Z",
     "ended": "2026-12-02T10:00:03Z", "exit_code": 0,
     "commands": [{"tool": "fitscheck.cwl", "command": "fitscheck",
                   "path": "/opt/venv/bin/fitscheck", "package": "astropy", "version": "8.0.1",
                   "container": null}]}

``scheduler_job_id`` is ``SLURM_JOB_ID`` under Slurm, ``ClusterId.ProcId`` of the job ad under
HTCondor, else null. ``commands`` lists each tool the job ran (:mod:`.commands` resolves them).
:func:`read_job_facts` is what provenance and the service read; a job reused by a later run keeps
the facts of the run that ran it.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ossrflow.errors import InputError
from ossrflow.integrity import atomic_write
from ossrflow.run.plan import element_dir
from ossrflow.run.rundir import JOB_FACTS

__all__ = [
    "FACTS_VERSION",
    "CommandFacts",
    "JobFacts",
    "facts_path",
    "iso_now",
    "parse_job_facts",
    "read_job_facts",
    "render_job_facts",
    "scheduler_job_id",
    "write_job_facts",
]

FACTS_VERSION = 1


@dataclass(frozen=True)
class CommandFacts:
    """One tool a job ran: its command as written and as found, and where it comes from."""

    tool: str  # the tool's id (file name, or step name for an inline tool)
    command: str  # baseCommand[0] as written (else the first word cwltool ran)
    path: str | None = None  # the absolute path it resolved to; None when not found (or containers)
    package: str | None = None  # the Python distribution or Debian package that provides it
    version: str | None = None
    container: str | None = None  # the image digest when it ran in a container


@dataclass(frozen=True)
class JobFacts:
    """The facts of one finished job (one scatter element when ``element`` is not None)."""

    step: str
    element: int | None
    executor: str
    profile: str
    host: str
    scheduler_job_id: str | None
    started: str
    ended: str
    exit_code: int
    commands: tuple[CommandFacts, ...] = field(default_factory=tuple)
    version: int = FACTS_VERSION


def iso_now() -> str:
    """Now, as ISO 8601 in UTC to the second with a ``Z``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scheduler_job_id(env: Mapping[str, str] | None = None) -> str | None:
    """``SLURM_JOB_ID``, or ``ClusterId.ProcId`` from the HTCondor job ad, else None."""
    env = os.environ if env is None else env
    if env.get("SLURM_JOB_ID"):
        return env["SLURM_JOB_ID"]
    ad = env.get("_CONDOR_JOB_AD")
    if not ad:
        return None
    try:
        text = Path(ad).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() in ("ClusterId", "ProcId"):
            values[name.strip()] = value.strip()
    if "ClusterId" not in values:
        return None
    return f"{values['ClusterId']}.{values.get('ProcId', '0')}"


def host_name() -> str:
    """This machine's name as the job sees it."""
    return socket.gethostname()


def facts_path(run_dir: Path, key: str, element: int | None = None) -> Path:
    """Where the facts of node ``key`` (element ``element``) are."""
    return run_dir / element_dir(key, element) / JOB_FACTS


def render_job_facts(facts: JobFacts) -> str:
    """The JSON text of ``facts`` (keys sorted, one line per field)."""
    data = asdict(facts)
    data["commands"] = [asdict(command) for command in facts.commands]
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def write_job_facts(run_dir: Path, facts: JobFacts, *, sync: bool = True) -> Path:
    """Write ``facts`` atomically into its job's folder (``sync=False``: no fsync, for batches)."""
    path = facts_path(run_dir, facts.step, facts.element)
    text = render_job_facts(facts)
    if sync:
        return atomic_write(path, text)
    part = path.with_name(path.name + ".part")
    part.write_text(text, encoding="utf-8")
    part.replace(path)
    return path


def _text(data: Mapping[str, Any], name: str, source: str, *, optional: bool = False) -> Any:
    value = data.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise InputError(
            f"{name} is {value!r}, not text",
            source=source,
            location=name,
            hint="the file is written by ossrflow; run the job again",
        )
    return value


def parse_job_facts(text: str, *, source: str = JOB_FACTS) -> JobFacts:
    """The facts in ``text`` (what :func:`render_job_facts` wrote); InputError when malformed."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}", source=source, hint="run the job again") from None
    if not isinstance(data, dict) or data.get("version") != FACTS_VERSION:
        raise InputError(
            "not job facts of this ossrflow version",
            source=source,
            hint="run the job again with this ossrflow",
        )
    element, exit_code = data.get("element"), data.get("exit_code")
    if element is not None and (isinstance(element, bool) or not isinstance(element, int)):
        raise InputError(
            f"element is {element!r}",
            source=source,
            location="element",
            hint="the file is written by ossrflow; run the job again",
        )
    if isinstance(exit_code, bool) or not isinstance(exit_code, int):
        raise InputError(
            f"exit_code is {exit_code!r}",
            source=source,
            location="exit_code",
            hint="the file is written by ossrflow; run the job again",
        )
    commands = []
    for index, item in enumerate(data.get("commands") or []):
        where = f"{source}#commands[{index}]"
        if not isinstance(item, dict):
            raise InputError("a command is not a mapping", source=where, hint="run the job again")
        commands.append(
            CommandFacts(
                _text(item, "tool", where),
                _text(item, "command", where),
                *(
                    _text(item, name, where, optional=True)
                    for name in ("path", "package", "version", "container")
                ),
            )
        )
    return JobFacts(
        step=_text(data, "step", source),
        element=element,
        executor=_text(data, "executor", source),
        profile=_text(data, "profile", source),
        host=_text(data, "host", source),
        scheduler_job_id=_text(data, "scheduler_job_id", source, optional=True),
        started=_text(data, "started", source),
        ended=_text(data, "ended", source),
        exit_code=exit_code,
        commands=tuple(commands),
    )


def read_job_facts(run_dir: Path, key: str, element: int | None = None) -> JobFacts | None:
    """The facts of node ``key`` (scatter element ``element``) of a run folder.

    None when the job has not finished (or ran before ossrflow wrote facts); InputError when the
    file is damaged.
    """
    path = facts_path(run_dir, key, element)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    return parse_job_facts(text, source=str(path))

"""What a job-runner job records about itself: its facts when it succeeds, its cause when it fails.

:class:`ToolLog` watches cwltool's log inside the job: it keeps the exit status cwltool reports
for a failed tool and the lines cwltool itself wrote, so that :meth:`ToolLog.last_tool_line`
can find the tool's own last stderr line in the job's log (the tool and cwltool share it).
:func:`job_commands` lists what the job ran (:mod:`.commands`), with the pinned image digest for
tools that ran in a container.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.containers.pins import load_pins
from ossrflow.errors import OssrflowError, WorkflowFailed
from ossrflow.run.commands import command_facts
from ossrflow.run.facts import CommandFacts

if TYPE_CHECKING:
    from cwltool.process import Process

__all__ = ["ToolLog", "job_commands", "tool_failure"]

_EXITED = "[job %s] exited with status: %d"
_SIGNAL = "[job %s] was terminated by signal: %s"
_NOT_FOUND = "'%s' not found: %s"


class ToolLog(logging.Handler):
    """Collects, from cwltool's log records, a failed tool's exit status and cwltool's lines."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        super().__init__(logging.DEBUG)
        self.status: str | None = None
        self.missing: str | None = None
        self.refused: OssrflowError | None = None
        self.lines: set[str] = set()
        self.setFormatter(formatter or logging.Formatter("%(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == _EXITED and isinstance(record.args, tuple) and len(record.args) == 2:
            self.status = f"exit status {record.args[1]}"
        elif record.msg == _SIGNAL and isinstance(record.args, tuple) and len(record.args) == 2:
            self.status = f"killed by signal {record.args[1]}"
        elif record.msg == _NOT_FOUND and isinstance(record.args, tuple) and record.args:
            self.missing = str(record.args[0])
        # cwltool logs the exception it is handling ("Exception while running job: …")
        handled = sys.exc_info()[1]
        if isinstance(handled, OssrflowError) and self.refused is None:
            self.refused = handled
        text = self.format(record)
        self.lines.update(line.strip() for line in text.splitlines())
        self.lines.update(line.strip() for line in record.getMessage().splitlines())

    def last_tool_line(self, log: Path) -> str:
        """The last line in ``log`` that cwltool did not write: the tool's own stderr."""
        try:
            text = log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        for line in reversed(text.splitlines()):
            stripped = line.strip()
            if stripped and stripped not in self.lines and not stripped.startswith("error: "):
                return stripped[:300]
        return ""


def tool_failure(
    what: str, tool_log: ToolLog | None, job_log: Path, exc: WorkflowFailed
) -> OssrflowError:
    """``what`` (step, element and its input) failed: the exit status and the last stderr line.

    An ossrflow error cwltool caught inside the job (``ToolLog.refused``) is the cause itself.
    """
    if tool_log is not None and tool_log.refused is not None:
        return tool_log.refused
    if tool_log is None or (tool_log.status is None and tool_log.missing is None):
        return WorkflowFailed(f"{what} failed: {exc.problem}", hint=exc.hint)
    if tool_log.missing is not None:
        return WorkflowFailed(
            f"{what} failed: command {tool_log.missing!r} not found",
            hint="install it, or put the folder that holds it on PATH",
        )
    last = tool_log.last_tool_line(job_log)
    return WorkflowFailed(
        f"{what} failed: {tool_log.status}" + (f": {last}" if last else ""),
        hint="read the step's log",
    )


def _tools(process: Process) -> Iterator[Process]:
    """Every CommandLineTool ``process`` runs (itself, or the tools of a subworkflow)."""
    if process.tool.get("class") == "CommandLineTool":
        yield process
    for step in getattr(process, "steps", []) or []:
        yield from _tools(step.embedded_tool)


def _pinned_digests(run_dir: Path) -> dict[str, str]:
    """What a job's DockerRequirement names after pinning (``dockerImageId``) -> image digest."""
    _, images = load_pins(run_dir)
    return {item.image.run_ref: item.image.digest for item in images}


def job_commands(
    process: Process, run_dir: Path, engine: str, ran: list[str], workdir: Path
) -> tuple[CommandFacts, ...]:
    """The facts of every tool ``process`` ran; ``ran``: first words cwltool ran, in order."""
    digests = _pinned_digests(run_dir) if engine != "none" else {}
    found = []
    tools = list(_tools(process))
    for tool in tools:
        container = None
        if engine != "none":
            requirement = _docker_requirement(tool)
            if requirement is not None:
                image = str(requirement.get("dockerImageId") or "")
                container = digests.get(image, image or None)
        first = ran[0] if len(tools) == 1 and ran else None
        found.append(
            command_facts(
                tool.tool,
                search_path=os.environ.get("PATH"),
                ran=first,
                container=container,
                workdir=workdir,
            )
        )
    return tuple(found)


def _docker_requirement(tool: Process) -> dict[str, Any] | None:
    requirement, _ = tool.get_requirement("DockerRequirement")
    return dict(requirement) if requirement else None

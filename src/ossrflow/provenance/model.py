"""The typed record of one run, and its JSON form ``ossrflow-run.json`` inside the crate.

:class:`RunRecord` is what :func:`ossrflow.provenance.record.load_record` returns and what ``rerun``
and ``diff`` compare. :func:`render_trace` / :func:`parse_trace` write and read it; the parser
treats the file as untrusted (a crate may come from anywhere): every field is type-checked,
digests are validated and paths of copies may not leave the crate, with located errors such as
``ossrflow-run.json:outputs[2].sha256: …``.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from ossrflow.compose.lock import LOCK_NAME, Lock, load_lock
from ossrflow.errors import InputError
from ossrflow.integrity import parse_checksum, safe_join

__all__ = [
    "JOB",
    "JOB_REQUIREMENTS",
    "LOG_COPY",
    "PACKED",
    "PROFILE_COPY",
    "PROFILE_OPTIONS_COPY",
    "RECORD_VERSION",
    "TRACE",
    "CommandFact",
    "ContainerImage",
    "RecordedFile",
    "RunRecord",
    "StepJob",
    "Tolerance",
    "parse_tolerance",
    "parse_trace",
    "render_trace",
]

RECORD_VERSION = 1
JOB_REQUIREMENTS = "https://w3id.org/cwl/cwl#requirements"  # job-order key of cwl:requirements
TRACE = "ossrflow-run.json"
PACKED = "workflow/packed.cwl"
JOB = "workflow/job.json"
PROFILE_COPY = "profile/config.yaml"
PROFILE_OPTIONS_COPY = "profile/ossrflow.yaml"
LOG_COPY = "logs/snakemake.log"
STATUSES = ("completed", "failed", "not run")
T = TypeVar("T")


@dataclass(frozen=True)
class RecordedFile:
    """One file of an input, output or step output, named by a stable label.

    ``label`` is ``<param>/<basename>`` for a File, ``<param>/<i>/<basename>`` inside arrays,
    ``<param>/<folder>/<relative path>`` inside a Directory, and ``<param>`` alone for a value
    that is not a file (then ``sha256`` and ``size`` are those of its JSON text).
    """

    param: str
    label: str
    size: int
    sha256: str
    location: str = ""  # absolute URI where the run read or wrote it ("" for values)
    step: str = ""  # the step that wrote it ("" for workflow inputs)
    element: int | None = None  # scatter element of a step file
    copy: str | None = None  # path of its copy inside the crate


@dataclass(frozen=True)
class CommandFact:
    """A command one job ran: what the tool named, what ran, and what provides it.

    ``path`` is the executable found on PATH (``None`` in a container or when absent),
    ``package``/``version`` the installed distribution that provides it, ``container`` the image
    digest when the job ran in one (then the command is the image's business).
    """

    tool: str
    command: str
    path: str | None = None
    package: str | None = None
    version: str | None = None
    container: str | None = None


@dataclass(frozen=True)
class StepJob:
    """One job of a step (one per scatter element) as Snakemake, the scheduler and the job saw it.

    ``executor``, ``profile``, ``host``, ``exit_code`` and ``commands`` come from the job's own
    facts file; ``reused`` is true when the job was done before this run started (an earlier run
    in the same folder, by ``profile``), so this run did not run it.
    """

    step: str
    element: int | None
    status: str  # completed | failed | not run
    job_id: str | None = None  # Slurm job id or HTCondor cluster id; None when run locally
    started: str | None = None
    ended: str | None = None
    executor: str | None = None
    profile: str | None = None
    host: str | None = None
    exit_code: int | None = None
    commands: tuple[CommandFact, ...] = ()
    reused: bool = False


@dataclass(frozen=True)
class ContainerImage:
    """A container image a step ran in, by reference and digest (``sha256:…``)."""

    ref: str
    digest: str
    engine: str = "docker"
    step: str = ""


@dataclass(frozen=True)
class Tolerance:
    """A declared exception for outputs that are known not to be bit-reproducible.

    ``pattern`` is a glob matched against an output's id and its file labels; ``ignore`` skips
    the matching files, ``size`` compares their size only.
    """

    pattern: str
    mode: Literal["ignore", "size"]

    def matches(self, item: RecordedFile) -> bool:
        """True when the rule applies to ``item``."""
        return any(fnmatch.fnmatchcase(name, self.pattern) for name in (item.param, item.label))

    def __str__(self) -> str:
        return f"{self.pattern}={self.mode}"


@dataclass(frozen=True)
class RunRecord:
    """A run as its crate records it (``docs/provenance.md`` lists every field)."""

    crate: Path
    run_id: str
    workflow: Path  # the packed workflow inside the crate
    workflow_sha256: str
    job: dict[str, Any]
    lock: Lock | None
    inputs: tuple[RecordedFile, ...]
    outputs: tuple[RecordedFile, ...]
    step_files: tuple[RecordedFile, ...]
    steps: tuple[StepJob, ...]
    versions: Mapping[str, str]
    profile: str
    executor: str
    started: str
    ended: str
    exit_state: str  # completed | failed
    error: str | None = None
    images: tuple[ContainerImage, ...] = ()
    tolerance: tuple[Tolerance, ...] = ()
    rerun_of: str | None = None
    step_order: tuple[str, ...] = field(default=())


def parse_tolerance(text: str, *, source: str = "--tolerance") -> Tolerance:
    """``PATTERN=ignore`` or ``PATTERN=size`` -> :class:`Tolerance`."""
    pattern, sep, mode = text.rpartition("=")
    if not sep or not pattern.strip() or mode not in ("ignore", "size"):
        raise InputError(
            f"tolerance rule {text!r} is not PATTERN=ignore or PATTERN=size",
            source=source,
            hint="e.g. --tolerance 'report=size' or --tolerance '*.log=ignore'",
        )
    return Tolerance(pattern.strip(), "ignore" if mode == "ignore" else "size")


# --- rendering -------------------------------------------------------------------------------


def render_trace(record: RunRecord) -> str:
    """``ossrflow-run.json``: the record as key-sorted, indented JSON."""
    data = {
        "ossrflow_record": RECORD_VERSION,
        "run_id": record.run_id,
        "workflow": {"path": PACKED, "sha256": record.workflow_sha256},
        "job": JOB,
        "lock": LOCK_NAME if record.lock is not None else None,
        "profile": {"name": record.profile, "executor": record.executor, "path": PROFILE_COPY},
        "versions": dict(record.versions),
        "started": record.started,
        "ended": record.ended,
        "exit_state": record.exit_state,
        "error": record.error,
        "rerun_of": record.rerun_of,
        "tolerance": [asdict(rule) for rule in record.tolerance],
        "images": [asdict(image) for image in record.images],
        "step_order": list(record.step_order),
        "steps": [asdict(job) for job in record.steps],
        "inputs": [asdict(item) for item in record.inputs],
        "outputs": [asdict(item) for item in record.outputs],
        "step_files": [asdict(item) for item in record.step_files],
    }
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# --- parsing (untrusted) -----------------------------------------------------------------------


class _Reader:
    """Typed reads from one JSON object; every refusal names the field."""

    def __init__(self, data: object, where: str, source: str) -> None:
        if not isinstance(data, Mapping):
            raise _bad(where or "(top)", "is not an object", source)
        self.data, self.where, self.source = data, where, source

    def at(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where else key

    def text(self, key: str, *, optional: bool = False) -> str:
        value = self.data.get(key)
        if optional and value is None:
            return ""
        if not isinstance(value, str):
            raise _bad(self.at(key), "is missing or not text", self.source)
        return value

    def maybe(self, key: str) -> str | None:
        return self.text(key) if self.data.get(key) is not None else None

    def count(self, key: str) -> int:
        value = self.data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _bad(self.at(key), "is not a non-negative integer", self.source)
        return value

    def maybe_count(self, key: str) -> int | None:
        return None if self.data.get(key) is None else self.count(key)

    def sha256(self, key: str) -> str:
        return parse_checksum(
            f"sha256:{self.text(key)}", source=self.source, location=self.at(key)
        ).digest

    def items(self, key: str, parse: Callable[[_Reader], T]) -> tuple[T, ...]:
        value = self.data.get(key) or []
        if not isinstance(value, list):
            raise _bad(self.at(key), "is not a list", self.source)
        return tuple(
            parse(_Reader(item, f"{self.at(key)}[{i}]", self.source))
            for i, item in enumerate(value)
        )

    def child(self, key: str) -> _Reader:
        return _Reader(self.data.get(key), self.at(key), self.source)


def _bad(where: str, problem: str, source: str) -> InputError:
    return InputError(
        f"{where}: {problem}",
        source=source,
        location=where,
        hint="the record is written by `ossrflow run`; restore the published crate",
    )


def _parse_file(reader: _Reader, crate: Path) -> RecordedFile:
    copy = reader.maybe("copy")
    if copy is not None:
        safe_join(crate, copy, source=reader.source, location=reader.at("copy"))
    return RecordedFile(
        param=reader.text("param"),
        label=reader.text("label"),
        size=reader.count("size"),
        sha256=reader.sha256("sha256"),
        location=reader.text("location", optional=True),
        step=reader.text("step", optional=True),
        element=reader.maybe_count("element"),
        copy=copy,
    )


def _parse_command(reader: _Reader) -> CommandFact:
    return CommandFact(
        tool=reader.text("tool"),
        command=reader.text("command"),
        path=reader.maybe("path"),
        package=reader.maybe("package"),
        version=reader.maybe("version"),
        container=reader.maybe("container"),
    )


def _parse_job(reader: _Reader) -> StepJob:
    status = reader.text("status")
    if status not in STATUSES:
        raise _bad(reader.at("status"), f"is not one of {', '.join(STATUSES)}", reader.source)
    exit_code = reader.data.get("exit_code")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise _bad(reader.at("exit_code"), "is not an integer", reader.source)
    return StepJob(
        step=reader.text("step"),
        element=reader.maybe_count("element"),
        status=status,
        job_id=reader.maybe("job_id"),
        started=reader.maybe("started"),
        ended=reader.maybe("ended"),
        executor=reader.maybe("executor"),
        profile=reader.maybe("profile"),
        host=reader.maybe("host"),
        exit_code=exit_code,
        commands=reader.items("commands", _parse_command),
        reused=reader.data.get("reused") is True,
    )


def _parse_image(reader: _Reader) -> ContainerImage:
    return ContainerImage(
        reader.text("ref"), reader.text("digest"), reader.text("engine"), reader.text("step")
    )


def _parse_rule(reader: _Reader) -> Tolerance:
    return parse_tolerance(f"{reader.text('pattern')}={reader.text('mode')}", source=reader.source)


def _versions(reader: _Reader) -> dict[str, str]:
    versions = reader.child("versions")
    return {str(k): versions.text(str(k)) for k in versions.data}


def _job(crate: Path, reader: _Reader) -> dict[str, Any]:
    from ossrflow.documents import load_json_document

    path = safe_join(crate, reader.text("job"), source=reader.source, location="job")
    job = load_json_document(path)
    if not isinstance(job, dict):
        raise _bad("job", f"{path.name} is not a JSON object", reader.source)
    return job


def parse_trace(data: object, *, crate: Path, source: str) -> RunRecord:
    """A :class:`RunRecord` from the parsed ``ossrflow-run.json`` of the crate at ``crate``."""
    reader = _Reader(data, "", source)
    if reader.data.get("ossrflow_record") != RECORD_VERSION:
        raise _bad("ossrflow_record", f"is not {RECORD_VERSION} (an unknown record format)", source)
    workflow = reader.child("workflow")
    profile = reader.child("profile")
    lock = reader.maybe("lock")

    def files(key: str) -> tuple[RecordedFile, ...]:
        return reader.items(key, lambda item: _parse_file(item, crate))

    return RunRecord(
        crate=crate,
        run_id=reader.text("run_id"),
        workflow=safe_join(crate, workflow.text("path"), source=source, location="workflow.path"),
        workflow_sha256=workflow.sha256("sha256"),
        job=_job(crate, reader),
        lock=load_lock(safe_join(crate, lock, source=source, location="lock")) if lock else None,
        inputs=files("inputs"),
        outputs=files("outputs"),
        step_files=files("step_files"),
        steps=reader.items("steps", _parse_job),
        versions=_versions(reader),
        profile=profile.text("name"),
        executor=profile.text("executor"),
        started=reader.text("started"),
        ended=reader.text("ended"),
        exit_state=reader.text("exit_state"),
        error=reader.maybe("error"),
        images=reader.items("images", _parse_image),
        tolerance=reader.items("tolerance", _parse_rule),
        rerun_of=reader.maybe("rerun_of"),
        step_order=tuple(str(s) for s in reader.data.get("step_order") or []),
    )

"""What a run directory holds, read back for the record: files with digests, jobs, times, ids.

The layout is execute's: ``plan.json`` (the nodes), ``steps/@inputs/cwl.output.json`` (the job
order), ``steps/<key>/[<i>/]cwl.output.json`` (each job's output object, written last),
``steps/<key>/[<i>/]job.log``, each job's facts ``steps/<key>/[<i>/]ossrflow-job.json`` (executor,
profile, host, scheduler job id, times, the commands it ran: :mod:`ossrflow.run.facts`),
``snakemake.log`` and Snakemake's per-job metadata under ``.snakemake/metadata/`` (start and end
times, the executor's job id). Nothing here writes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ossrflow.errors import InputError
from ossrflow.integrity import hash_file
from ossrflow.provenance.model import CommandFact, RecordedFile, StepJob
from ossrflow.run.batches import batch_marker, read_batches
from ossrflow.run.facts import JobFacts, read_job_facts
from ossrflow.run.plan import INPUTS, Plan, element_dir, node_output, parse_plan
from ossrflow.run.rundir import BATCHES_FILE, PLAN_FILE, SNAKEMAKE_LOG

__all__ = [
    "iso_time",
    "job_nodes",
    "local_path",
    "parse_job_ids",
    "read_job_order",
    "read_plan",
    "recorded_files",
    "result_files",
    "same_copy",
    "step_files",
    "step_jobs",
    "step_origins",
    "walk_files",
]

_SLURM = re.compile(r"Job (\d+) has been submitted with SLURM jobid (\w+)")
_CONDOR = re.compile(r"Job (\d+) submitted to HTCondor Cluster ID (\d+)")
_RULE = re.compile(r"^(?:local)?(?:rule|checkpoint) \w+:$")
_OUTPUT = re.compile(r"^\s+output: (.+)$")
_JOBID = re.compile(r"^\s+jobid: (\d+)$")


def iso_time(moment: datetime) -> str:
    """A moment as ISO 8601 in UTC, to the second."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _epoch_iso(value: object) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return iso_time(datetime.fromtimestamp(value, UTC))
    return None


def local_path(location: str) -> Path | None:
    """The path of a ``file:`` URI or an absolute path; None for any other scheme."""
    parts = urlsplit(location)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return Path(unquote(parts.path))
    if not parts.scheme and location.startswith("/"):
        return Path(location)
    return None


def walk_files(value: object, label: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every File and Directory object in a CWL value with its label (secondary files too)."""
    if isinstance(value, Mapping) and value.get("class") in ("File", "Directory"):
        name = str(value.get("basename") or Path(str(value.get("location", ""))).name)
        yield f"{label}/{name}", value
        for secondary in value.get("secondaryFiles") or []:
            yield from walk_files(secondary, label)
    elif isinstance(value, Mapping):
        for key in sorted(value):
            yield from walk_files(value[key], f"{label}/{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk_files(item, f"{label}/{index}")


def _value_file(param: str, value: object, step: str) -> RecordedFile:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False).encode()
    return RecordedFile(param, param, len(text), hashlib.sha256(text).hexdigest(), step=step)


def _members(label: str, obj: Mapping[str, Any], path: Path) -> list[tuple[str, Path]]:
    if obj.get("class") != "Directory":
        return [(label, path)]
    return [
        (f"{label}/{p.relative_to(path).as_posix()}", p)
        for p in sorted(path.rglob("*"))
        if p.is_file()
    ]


def recorded_files(
    param: str,
    value: object,
    *,
    step: str = "",
    element: int | None = None,
    digest: Callable[[Path], str | None] | None = None,
) -> list[RecordedFile]:
    """Size and sha256 of every local file in one CWL value (a value without files: its JSON).

    Files at remote locations (``http:``…) are skipped: they are passed on, not verified.
    ``digest`` gives a file's sha256 when it knows it (the run's digest cache, which the
    planner filled: :class:`ossrflow.run.keys.DigestCache`); else the file is read.
    """
    found = list(walk_files(value, param))
    if not found:
        return [] if value is None else [_value_file(param, value, step)]
    files: list[RecordedFile] = []
    for label, obj in found:
        path = local_path(str(obj.get("location") or obj.get("path") or ""))
        if path is None:
            continue
        for name, member in _members(label, obj, path):
            if member.is_file():
                known = digest(member) if digest is not None else None
                sha256 = known or hash_file(member)["sha256"]
                size = member.stat().st_size
                uri = member.absolute().as_uri()
                files.append(RecordedFile(param, name, size, sha256, uri, step, element))
    return files


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def read_plan(run_dir: Path) -> Plan | None:
    """The run's plan, None when the run stopped before planning."""
    path = run_dir / PLAN_FILE
    if not path.is_file():
        return None
    return parse_plan(path.read_text(encoding="utf-8"), source=str(path))


def read_job_order(run_dir: Path, job: Path | None) -> dict[str, Any]:
    """The job order as the run saw it (defaults filled in): the planner's copy, else the file."""
    data = _read_json(run_dir / node_output(INPUTS))
    if isinstance(data, dict):
        return data
    if job is not None and job.is_file():
        from ossrflow.documents import load_yaml_document

        loaded = load_yaml_document(job)
        if isinstance(loaded, Mapping):
            return dict(json.loads(json.dumps(loaded, default=str)))
    return {}


def job_nodes(plan: Plan | None) -> list[str]:
    """Keys of the nodes that run a tool, upstream first (ties in plan order)."""
    if plan is None:
        return []
    position = {node.key: index for index, node in enumerate(plan.nodes)}
    waiting = {node.key: set(node.deps) & set(position) for node in plan.nodes}
    ordered: list[str] = []
    while waiting:
        ready = [key for key, deps in waiting.items() if not deps] or list(waiting)
        key = min(ready, key=position.__getitem__)
        ordered.append(key)
        del waiting[key]
        for deps in waiting.values():
            deps.discard(key)
    kinds = {node.key: node.kind for node in plan.nodes}
    return [key for key in ordered if kinds[key] in ("tool", "step")]


def _elements(run_dir: Path, key: str, plan: Plan) -> list[int | None]:
    node = plan.node(key)
    if not node.scattered:
        return [None]
    folder = run_dir / element_dir(key, None)
    found = set(range(node.shape.count)) if node.shape is not None else set()
    if folder.is_dir():
        found |= {int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()}
    return [element for element in sorted(found)]


def _jobs(run_dir: Path, plan: Plan | None) -> list[tuple[str, int | None]]:
    """(node key, scatter element) of every job that runs a tool, in plan order."""
    if plan is None:
        return []
    return [(key, e) for key in job_nodes(plan) for e in _elements(run_dir, key, plan)]


def _snakemake_metadata(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Snakemake's per-output job records, by output path (file names are base64 of the path,
    long ones cut into ``@``-prefixed folder levels)."""
    root = run_dir / ".snakemake" / "metadata"
    records: dict[str, dict[str, Any]] = {}
    for path in root.rglob("*") if root.is_dir() else ():
        if not path.is_file():
            continue
        encoded = "".join(p.removeprefix("@") for p in path.relative_to(root).parts)
        try:
            name = base64.urlsafe_b64decode(encoded.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        data = _read_json(path)
        if isinstance(data, dict):
            records[name] = data
    return records


def parse_job_ids(log_text: str) -> dict[str, str]:
    """Scheduler job ids by job output path, from a Snakemake log.

    A rule block names the job's outputs and Snakemake's job number; the executor plugin's
    submission line gives the scheduler's id for that number (Slurm job id, HTCondor cluster id).
    """
    outputs: dict[str, list[str]] = {}
    current: list[str] = []
    for line in log_text.splitlines():
        if _RULE.match(line):
            current = []
        elif match := _OUTPUT.match(line):
            current = [part.strip() for part in match[1].split(",") if part.strip()]
        elif match := _JOBID.match(line):
            outputs[match[1]] = current
    ids: dict[str, str] = {}
    for line in log_text.splitlines():
        if match := _SLURM.search(line) or _CONDOR.search(line):
            for output in outputs.get(match[1], []):
                ids[output] = match[2]
    return ids


def _batch_markers(run_dir: Path, key: str) -> dict[int | None, str]:
    """Element -> the Snakemake output of the batch job that ran it (empty when not batched)."""
    if not (run_dir / f"steps/{key}/{BATCHES_FILE}").is_file():
        return {}
    ranges = read_batches(run_dir, key).ranges
    return {i: batch_marker(key, b) for b, (lo, hi) in enumerate(ranges) for i in range(lo, hi)}


def _status(run_dir: Path, key: str, element: int | None) -> str:
    if (run_dir / node_output(key, element)).is_file():
        return "completed"
    if (run_dir / element_dir(key, element) / "job.log").is_file():
        return "failed"
    return "not run"


def _moment(text: str | None) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=moment.tzinfo or UTC) if moment else None


def _facts(run_dir: Path, key: str, element: int | None) -> JobFacts | None:
    """The job's own facts (``ossrflow-job.json``); None when it wrote none or they are damaged
    (the record then keeps what Snakemake's metadata says)."""
    try:
        return read_job_facts(run_dir, key, element)
    except InputError:
        return None


def _with_facts(job: StepJob, facts: JobFacts | None, since: datetime | None) -> StepJob:
    """The job as its facts file tells it: executor, profile, host, commands, and whether it
    finished before ``since`` (done by an earlier run in this folder: reused)."""
    if facts is None:
        return job
    started, ended = _moment(facts.started), _moment(facts.ended)
    return replace(
        job,
        job_id=facts.scheduler_job_id or job.job_id,
        started=iso_time(started) if started else job.started,
        ended=iso_time(ended) if ended else job.ended,
        executor=facts.executor,
        profile=facts.profile,
        host=facts.host,
        exit_code=facts.exit_code,
        commands=tuple(CommandFact(**asdict(c)) for c in facts.commands),
        reused=since is not None and ended is not None and ended < since,
    )


def step_jobs(run_dir: Path, plan: Plan | None, *, since: datetime | None = None) -> list[StepJob]:
    """Every job of every step: status, scheduler job id, times, and what the job says of itself
    (``ossrflow-job.json``); a job that ended before ``since`` is marked reused."""
    metadata = _snakemake_metadata(run_dir)
    log = run_dir / SNAKEMAKE_LOG
    log_ids = (
        parse_job_ids(log.read_text(encoding="utf-8", errors="replace")) if log.is_file() else {}
    )
    jobs = []
    markers: dict[str, dict[int | None, str]] = {}
    for key, element in _jobs(run_dir, plan):
        if key not in markers:
            markers[key] = _batch_markers(run_dir, key)
        output = markers[key].get(element) or node_output(key, element)
        meta = metadata.get(output, {})
        job_id = meta.get("external_jobid") or log_ids.get(output)
        job = StepJob(
            key,
            element,
            _status(run_dir, key, element),
            str(job_id) if job_id else None,
            _epoch_iso(meta.get("starttime")),
            _epoch_iso(meta.get("endtime")),
        )
        jobs.append(_with_facts(job, _facts(run_dir, key, element), since))
    return jobs


def step_files(run_dir: Path, plan: Plan | None) -> list[RecordedFile]:
    """The files every finished job wrote (its output object), with digests."""
    files: list[RecordedFile] = []
    for key, element in _jobs(run_dir, plan):
        data = _read_json(run_dir / node_output(key, element))
        if isinstance(data, dict):
            for name in sorted(data):
                files += recorded_files(name, data[name], step=key, element=element)
    return files


def _producing_step(run_dir: Path, value: object) -> str:
    """The step whose folder holds the files of a result value ("" when none does)."""
    steps = (run_dir / "steps").resolve()
    for _, obj in walk_files(value, ""):
        path = local_path(str(obj.get("location", "")))
        if path is not None and path.resolve().is_relative_to(steps):
            return path.resolve().relative_to(steps).parts[0]
    return ""


def result_files(
    run_dir: Path,
    plan: Plan | None,
    outputs: Mapping[str, Any] | None,
    *,
    digest: Callable[[Path], str | None] | None = None,
) -> list[RecordedFile]:
    """The workflow's outputs: ``outputs`` (files in the output folder) when given, else the
    result object in the run directory; each file names the step that wrote it (``digest``:
    see :func:`recorded_files`)."""
    result = _read_json(run_dir / node_output(plan.result)) if plan else None
    result = result if isinstance(result, dict) else {}
    final = dict(outputs) if outputs is not None else result
    files: list[RecordedFile] = []
    for name in sorted(final):
        step = _producing_step(run_dir, result.get(name))
        elements = _elements_by_label(run_dir / "steps" / step, result.get(name), name)
        for item in recorded_files(name, final[name], step=step, digest=digest):
            files.append(replace(item, element=_element_of(item.label, elements)))
    return files


def _local_members(param: str, value: object) -> dict[str, Path]:
    """Every local file of a CWL value (Directory members too) by its label."""
    found: dict[str, Path] = {}
    for label, obj in walk_files(value, param):
        path = local_path(str(obj.get("location") or obj.get("path") or ""))
        if path is not None:
            found.update(_members(label, obj, path))
    return found


def same_copy(copy: Path, origin: Path) -> bool:
    """``copy`` still has the bytes it was copied with from ``origin``: both regular files of
    the same size and modification time (a copy keeps its source's; an edit changes either)."""
    try:
        first, second = copy.stat(), origin.lstat()
    except OSError:
        return False
    return (
        stat.S_ISREG(first.st_mode)
        and stat.S_ISREG(second.st_mode)
        and first.st_size == second.st_size
        and first.st_mtime_ns == second.st_mtime_ns
    )


def step_origins(
    run_dir: Path, plan: Plan | None, outputs: Mapping[str, Any] | None
) -> dict[Path, Path]:
    """Each file of ``outputs`` (the output folder's) with the step output it was placed from
    and still has the bytes of (:func:`same_copy`), checked once for the whole record.

    A pair is the same label in ``outputs`` and in the run's result object, the second a file
    under ``RUN_DIR/steps`` (ossrflow wrote it; nothing edits it in place). A file passed
    through from the job order, or changed since it was placed, has no pair.
    """
    if plan is None or outputs is None:
        return {}
    result = _read_json(run_dir / node_output(plan.result))
    if not isinstance(result, dict):
        return {}
    steps = (run_dir / "steps").resolve()
    pairs: dict[Path, Path] = {}
    for name in sorted(outputs):
        origins = _local_members(name, result.get(name))
        for label, placed in _local_members(name, outputs[name]).items():
            origin = origins.get(label)
            if origin is None or not origin.resolve().is_relative_to(steps):
                continue
            if same_copy(placed, origin):
                pairs[placed] = origin
    return pairs


def _elements_by_label(step_dir: Path, value: object, param: str) -> dict[str, int]:
    """Labels of a result value's files that a scatter element wrote, with the element."""
    found: dict[str, int] = {}
    step_dir = step_dir.resolve()
    for label, obj in walk_files(value, param):
        path = local_path(str(obj.get("location", "")))
        if path is None or not path.resolve().is_relative_to(step_dir):
            continue
        first = path.resolve().relative_to(step_dir).parts[0]
        if first.isdigit():
            found[label] = int(first)
    return found


def _element_of(label: str, elements: Mapping[str, int]) -> int | None:
    """The element of a file label, or of the Directory label it sits under."""
    while label:
        if label in elements:
            return elements[label]
        label = label.rpartition("/")[0]
    return None

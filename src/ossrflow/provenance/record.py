"""Provenance: every run leaves ``RUN/provenance/``, a Workflow Run RO-Crate; read it back.

:func:`record_run` builds the record from what a finished (or failed) run directory holds
(:mod:`ossrflow.provenance.scan`) plus what only the caller knows (workflow, job, lock, profile, times,
exit state, the output object) and writes it with the ``rocrate`` library
(:mod:`ossrflow.provenance.crate`)::

    RUN/provenance/
      ro-crate-metadata.json    Workflow Run Crate 0.5 (Process Run Crate 0.5, Workflow RO-Crate 1.0)
      ossrflow-run.json         the same record, typed, for ossrflow (:mod:`ossrflow.provenance.model`)
      workflow/packed.cwl       the workflow and every tool, packed into one document
      workflow/job.json         the job order the run saw (absolute file locations)
      ossrflow.lock.json        the pins of entries and inputs, when the run came from compose
      profile/config.yaml       the Snakemake profile
      logs/snakemake.log        Snakemake's log
      inputs/NAME               copies of local input files, within the copy budget
                                (inputs/<sha256:16>/NAME when contents share a NAME)
      outputs/<output>/...      the output files, within the copy budget (hard links to the step
                                outputs when unchanged: :func:`~ossrflow.provenance.crate.place_files`)

:func:`load_record` refuses a crate whose listed files are missing or changed, with one line
naming the file, before anything reads them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import platform
import re
import shutil
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from ossrflow.compose.lock import LOCK_NAME, load_lock
from ossrflow.documents import load_json_document
from ossrflow.errors import ChecksumMismatch, InputError, NotFound
from ossrflow.integrity import atomic_write, hash_file, safe_join
from ossrflow.provenance.model import (
    JOB,
    JOB_REQUIREMENTS,
    LOG_COPY,
    PACKED,
    PROFILE_COPY,
    PROFILE_OPTIONS_COPY,
    TRACE,
    ContainerImage,
    RecordedFile,
    RunRecord,
    StepJob,
    Tolerance,
    parse_tolerance,
    parse_trace,
    render_trace,
)
from ossrflow.provenance.scan import (
    iso_time,
    job_nodes,
    local_path,
    read_job_order,
    read_plan,
    recorded_files,
    result_files,
    step_files,
    step_jobs,
    step_origins,
)
from ossrflow.run.keys import DigestCache
from ossrflow.run.profiles import OSSRFLOW_FILE
from ossrflow.run.rundir import CRATE_DIR, SNAKEMAKE_LOG

if TYPE_CHECKING:
    from ossrflow.run.plan import Plan
    from ossrflow.run.profiles import Profile

__all__ = [
    "CRATE_DIR",
    "DEFAULT_COPY_LIMIT",
    "METADATA",
    "ContainerImage",
    "Preparation",
    "RecordedFile",
    "RunRecord",
    "StepJob",
    "Tolerance",
    "find_crate",
    "load_record",
    "parse_tolerance",
    "record_run",
    "run_images",
    "tool_versions",
    "verify_crate",
]

METADATA = "ro-crate-metadata.json"
DEFAULT_COPY_LIMIT = 256 * 1024 * 1024
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")


def tool_versions(executor: str) -> dict[str, str]:
    """Versions of Python, ossrflow, cwltool, cwl-utils, Snakemake and the executor plugin."""
    from importlib.metadata import PackageNotFoundError, version

    names = ["ossrflow", "cwltool", "cwl-utils", "snakemake"]
    if executor not in ("local", "dryrun", "touch"):
        names.append(f"snakemake-executor-plugin-{executor}")
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def run_images(run_dir: Path) -> list[ContainerImage]:
    """The images a run directory's steps ran in, by digest: one entry per image and step."""
    from ossrflow.containers.pins import load_pins

    _, pinned = load_pins(run_dir)
    return [
        ContainerImage(item.image.ref, item.image.digest, item.image.engine, step)
        for item in pinned
        for step in item.steps
    ]


class Preparation:
    """What recording a run needs before the run has ended, made while it runs.

    Packing the workflow (``cwl_utils.pack`` and its imports) and importing the crate writer cost
    about a quarter of a second; :func:`ossrflow.run.execute.run_workflow` runs :meth:`start` in
    a thread once Snakemake runs (never earlier: the planner forks), and the record takes the
    packed text from :meth:`packed`, which packs itself when the thread did not.
    """

    def __init__(self, workflow: str | Path) -> None:
        self.workflow = workflow
        self._text: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Prepare in a daemon thread (a run that ends early does not wait for it)."""
        self._thread = threading.Thread(target=self._prepare, name="ossrflow-record", daemon=True)
        self._thread.start()

    def _prepare(self) -> None:
        import ossrflow.provenance.crate  # noqa: F401 - the import is the point (rocrate)

        with contextlib.suppress(Exception):  # packed() packs again and reports the error
            self._text = _packed_text(self.workflow)

    def packed(self) -> str:
        """The packed workflow (see :func:`record_run`)."""
        if self._thread is not None:
            self._thread.join()
        return self._text if self._text is not None else _packed_text(self.workflow)


def _packed_text(workflow: str | Path) -> str:
    """The workflow and its tools as one JSON document (packing a packed document is a no-op)."""
    from cwl_utils.pack import pack

    try:
        packed = pack(str(workflow))
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(
            f"cannot pack the workflow for the record: {exc}",
            source=str(workflow),
            hint="check that every `run:` and `$import` of the workflow can be read",
        ) from None
    return json.dumps(packed, indent=1, ensure_ascii=False) + "\n"


# --- copies ----------------------------------------------------------------------------------


@dataclass
class _Copies:
    """Files copied into the crate, within a byte budget (inputs first, then outputs)."""

    budget: int
    used: int = 0

    def take(self, item: RecordedFile, dest: str) -> RecordedFile:
        path = local_path(item.location)
        if path is None or not path.is_file() or self.used + item.size > self.budget:
            return item
        self.used += item.size
        return replace(item, copy=dest)


def _safe_path(label: str) -> str:
    """A label as a relative path inside the crate: only ``[A-Za-z0-9_.-]``, no ``.``/``..``."""
    parts = (_UNSAFE_NAME.sub("_", part) for part in label.split("/"))
    return "/".join(part if part.strip(".") else "_" for part in parts)


# A flat name that could be taken for a content folder (inputs/) or an element folder (outputs/).
_FOLDER_NAME = re.compile(r"[0-9a-f]{16}|[0-9]+")


def _copy_inputs(inputs: list[RecordedFile], copies: _Copies) -> list[RecordedFile]:
    """One copy per distinct content: ``inputs/<basename>``, or ``inputs/<sha256:16>/<basename>``
    for contents that share their name with another (one folder per file costs a directory
    each: a thousand inputs, a thousand folders)."""
    names = {item.sha256: _safe_path(item.label.rsplit("/", 1)[-1]) for item in reversed(inputs)}
    contents = Counter(names.values())
    copied: dict[str, str | None] = {}
    result = []
    for item in inputs:
        if item.sha256 not in copied:
            name = names[item.sha256]
            shared = contents[name] > 1 or _FOLDER_NAME.fullmatch(name)
            dest = f"inputs/{item.sha256[:16]}/{name}" if shared else f"inputs/{name}"
            copied[item.sha256] = copies.take(item, dest).copy
        result.append(replace(item, copy=copied[item.sha256]))
    return result


def _flat_outputs(outputs: list[RecordedFile]) -> set[str]:
    """Outputs whose files go straight into ``outputs/<output>/``: arrays of files (labels
    ``<output>/<i>/<name>``) whose names are all distinct; any other keeps its label's folders."""
    labels: dict[str, list[list[str]]] = {}
    for item in outputs:
        labels.setdefault(item.param, []).append(_safe_path(item.label).split("/"))
    flat = set()
    for param, parts in labels.items():
        names = [p[2] for p in parts if len(p) == 3 and p[1].isdigit()]
        if (
            len(names) == len(parts)
            and len(set(names)) == len(names)
            and not any(_FOLDER_NAME.fullmatch(name) for name in names)
        ):
            flat.add(param)
    return flat


def _copy_outputs(outputs: list[RecordedFile], copies: _Copies) -> list[RecordedFile]:
    """Copies at ``outputs/<label>``, or ``outputs/<output>/<name>`` (see :func:`_flat_outputs`)."""
    flat = _flat_outputs([item for item in outputs if item.location])
    result = []
    for item in outputs:
        if not item.location:
            result.append(item)
            continue
        path = _safe_path(item.label)
        if item.param in flat:
            head, _, rest = path.partition("/")
            path = f"{head}/{rest.split('/', 1)[1]}"
        result.append(copies.take(item, f"outputs/{path}"))
    return result


# --- recording -------------------------------------------------------------------------------


def _data_files(
    run_dir: Path,
    plan: Plan | None,
    job_order: Mapping[str, Any],
    outputs: Mapping[str, Any] | None,
    copy_limit: int,
    placed: Callable[[Path], str | None],
) -> tuple[tuple[RecordedFile, ...], tuple[RecordedFile, ...]]:
    """Input files (plain values stay in the job order) and outputs, with their crate copies.

    ``placed`` knows the sha256 of an output placed from a step output that was hashed already.
    """
    copies = _Copies(copy_limit)
    digests = DigestCache(run_dir, writable=False)  # the planner hashed the inputs already
    found = [
        item
        for name in sorted(job_order)
        for item in recorded_files(name, job_order[name], digest=digests.digest)
    ]
    inputs = _copy_inputs([f for f in found if f.location], copies)
    results = _copy_outputs(result_files(run_dir, plan, outputs, digest=placed), copies)
    return tuple(inputs), tuple(results)


def _placed_digests(
    written: Sequence[RecordedFile], origins: Mapping[Path, Path]
) -> Callable[[Path], str | None]:
    """The sha256 of an output-folder file from its step output's record (``origins``: the
    pairs :func:`step_origins` found unchanged)."""
    known = {path: item.sha256 for item in written if (path := local_path(item.location))}

    def digest(path: Path) -> str | None:
        origin = origins.get(path)
        return known.get(origin) if origin is not None else None

    return digest


@dataclass(frozen=True)
class _Sources:
    """Where the crate's own files come from."""

    packed: str
    job: dict[str, Any]
    lock: Path | None
    profile: Path  # the profile folder: config.yaml and, when it has one, ossrflow.yaml
    log: Path
    origins: Mapping[Path, Path]  # output copies and the step outputs they were placed from


def record_run(
    run_dir: Path,
    *,
    workflow: str | Path,
    job: Path | None,
    profile: Profile,
    started: datetime,
    ended: datetime,
    exit_state: Literal["completed", "failed"],
    outputs: Mapping[str, Any] | None,
    lock: Path | None = None,
    images: Iterable[ContainerImage] | None = None,
    error: str | None = None,
    tolerance: Sequence[Tolerance] = (),
    rerun_of: str | None = None,
    copy_limit: int = DEFAULT_COPY_LIMIT,
    preparation: Preparation | None = None,
) -> Path:
    """Write ``run_dir/provenance/`` (replacing an older record) and return its path.

    ``outputs`` is the CWL output object the caller got (files placed in the output folder);
    ``None`` takes the result object in the run directory. ``copy_limit`` bounds the bytes of
    input and output files copied into the crate; the others are recorded by location and
    checksum only. ``images`` defaults to the images the run pinned (``RUN_DIR/images.json``).
    """
    run_dir = run_dir.resolve()
    plan = read_plan(run_dir)
    job_order = read_job_order(run_dir, job)
    if plan is not None and plan.job_requirements:
        job_order[JOB_REQUIREMENTS] = plan.job_requirements
    written = tuple(step_files(run_dir, plan))
    origins = step_origins(run_dir, plan, outputs)
    inputs, results = _data_files(
        run_dir, plan, job_order, outputs, copy_limit, _placed_digests(written, origins)
    )
    packed = (preparation or Preparation(workflow)).packed()
    record = RunRecord(
        crate=run_dir / CRATE_DIR,
        run_id=str(uuid.uuid4()),
        workflow=run_dir / CRATE_DIR / PACKED,
        workflow_sha256=hashlib.sha256(packed.encode()).hexdigest(),
        job=job_order,
        lock=load_lock(lock) if lock is not None else None,
        inputs=inputs,
        outputs=results,
        step_files=written,
        steps=tuple(step_jobs(run_dir, plan, since=started)),
        versions=tool_versions(profile.executor),
        profile=profile.name,
        executor=profile.executor,
        started=iso_time(started),
        ended=iso_time(ended),
        exit_state=exit_state,
        error=error,
        images=tuple(images if images is not None else run_images(run_dir)),
        tolerance=tuple(tolerance),
        rerun_of=rerun_of,
        step_order=tuple(job_nodes(plan)),
    )
    log = run_dir / SNAKEMAKE_LOG
    sources = _Sources(packed, job_order, lock, profile.path, log, origins)
    return _write_crate(record, sources, run_dir / CRATE_DIR)


def _write_crate(record: RunRecord, sources: _Sources, target: Path) -> Path:
    """Build the crate in a temporary folder beside ``target``, then swap it in."""
    from ossrflow.provenance.crate import build_crate, place_files

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".provenance-src.", dir=target.parent) as scratch:
        generated = Path(scratch)
        job_text = json.dumps(sources.job, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        files: dict[str, Path] = {
            PACKED: atomic_write(generated / "packed.cwl", sources.packed),
            JOB: atomic_write(generated / "job.json", job_text),
            TRACE: atomic_write(generated / TRACE, render_trace(record)),
        }
        if sources.lock is not None:
            files[LOCK_NAME] = sources.lock
        for dest, name in ((PROFILE_COPY, "config.yaml"), (PROFILE_OPTIONS_COPY, OSSRFLOW_FILE)):
            if (sources.profile / name).is_file():
                files[dest] = sources.profile / name
        if sources.log.is_file():
            files[LOG_COPY] = sources.log
        crate = build_crate(record, files)
        building = Path(tempfile.mkdtemp(prefix=".provenance.", dir=target.parent))
        try:
            place_files(crate, building, sources.origins)
            crate.write(building)
            _swap(building, target)
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return target


def _swap(building: Path, target: Path) -> None:
    """Put ``building`` in place of ``target``; an older record is removed only afterwards."""
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    building.rename(target)
    shutil.rmtree(old, ignore_errors=True)


# --- reading a crate back ----------------------------------------------------------------------


def find_crate(path: Path) -> Path:
    """The crate folder for a run directory, a crate folder or its ``ro-crate-metadata.json``."""
    candidates = [path / CRATE_DIR, path]
    if path.name == METADATA:
        candidates.append(path.parent)
    for candidate in candidates:
        if (candidate / METADATA).is_file():
            return candidate.resolve()
    raise NotFound(
        f"no {METADATA} here",
        source=str(path),
        hint="give the run directory of `ossrflow run` or its provenance/ folder",
    )


def _graph(crate: Path) -> dict[str, Mapping[str, Any]]:
    data = load_json_document(crate / METADATA)
    graph = data.get("@graph") if isinstance(data, Mapping) else None
    if not isinstance(graph, list):
        raise InputError(
            "has no @graph list", source=str(crate / METADATA), hint="this is not an RO-Crate"
        )
    return {str(e.get("@id")): e for e in graph if isinstance(e, Mapping)}


def _check_part(crate: Path, ident: str, entity: Mapping[str, Any]) -> None:
    """Refuse a file the crate lists that is missing or whose bytes changed."""
    path = safe_join(crate, unquote(ident), source=str(crate / METADATA), location="hasPart")
    if not path.is_file():
        raise NotFound(
            f"the crate lists {ident!r}, but the file is missing",
            source=str(crate),
            hint="restore it from the published crate; a crate with missing files cannot be rerun",
        )
    expected = str(entity.get("sha256", ""))
    if _SHA256.match(expected) and hash_file(path)["sha256"] != expected:
        raise ChecksumMismatch(
            f"{ident!r} does not match the sha256 the crate records",
            source=str(crate),
            hint="the crate was changed after the run; restore the published crate",
        )


def verify_crate(crate: Path) -> None:
    """Raise unless every file the crate lists is present with its recorded sha256."""
    graph = _graph(crate)
    root = graph.get("./", {})
    parts = root.get("hasPart") or []
    for part in parts if isinstance(parts, list) else [parts]:
        ident = str(part.get("@id", "")) if isinstance(part, Mapping) else ""
        if ident and ":" not in ident.split("/", 1)[0] and not ident.startswith("#"):
            _check_part(crate, ident, graph.get(ident, {}))
    if TRACE not in graph:
        raise NotFound(
            f"the crate does not list {TRACE}",
            source=str(crate),
            hint="only crates written by `ossrflow run` can be rerun or compared",
        )


def load_record(path: Path) -> RunRecord:
    """Check and read a crate, given its run directory, its folder or its metadata file."""
    crate = find_crate(path)
    verify_crate(crate)
    return parse_trace(load_json_document(crate / TRACE), crate=crate, source=str(crate / TRACE))

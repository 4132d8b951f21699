"""Rerun a recorded run from its crate alone, verify every output, and compare two records.

:func:`rerun` goes in this order, and refuses (exit 2) before anything runs:

1. the crate is checked (:func:`ossrflow.provenance.record.load_record`: no missing or changed file);
   every command a native step ran must be on PATH here, in the recorded version when both are
   known, behind the recorded run's own venv ``bin/`` folders, which go first on PATH
   (:mod:`ossrflow.provenance.environment`);
2. every pinned entry is resolved again in its registry: same record, same version, same files
   with the same checksums (:func:`verify_entries`);
3. every input file is staged again and must have its recorded sha256 (:func:`stage_inputs`):
   from where the run read it, else the crate's copy, else the source its lock pins (downloaded
   into the content store, verified); a file that is still where it was but changed is refused;
4. the packed workflow runs with the new job order (any profile: local, Slurm, HTCondor), in
   the recorded container engine, every DockerRequirement pinned to the recorded digest;
5. the new run is recorded (its crate names the run it reruns and the tolerance rules used),
   and :func:`verify_outputs` compares every output file with the record.

:func:`verify_outputs` and :func:`diff_records` live in :mod:`ossrflow.provenance.compare` and are
re-exported here.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ossrflow.compose.lock import LOCK_NAME, EntryPin, Lock
from ossrflow.documents import check_document_limits, load_json_document
from ossrflow.errors import (
    ChecksumMismatch,
    InputError,
    NotFound,
    OssrflowError,
)
from ossrflow.integrity import atomic_write, hash_file
from ossrflow.provenance.compare import (
    Difference,
    Verification,
    VerifiedOutput,
    diff_records,
    verify_outputs,
)
from ossrflow.provenance.environment import (
    pin_recorded_images,
    restored_path,
    search_path,
    verify_commands,
)
from ossrflow.provenance.model import JOB_REQUIREMENTS, RecordedFile, RunRecord, Tolerance
from ossrflow.provenance.record import load_record
from ossrflow.provenance.scan import local_path, walk_files
from ossrflow.run.rundir import CRATE_DIR, RERUN_DIR, SNAKEFILE

if TYPE_CHECKING:
    import httpx

    from ossrflow.config import Settings
    from ossrflow.registry import SoftwareRecord
    from ossrflow.run.profiles import Profile
    from ossrflow.run.snakemake import Progress

__all__ = [
    "Difference",
    "RerunResult",
    "Verification",
    "VerifiedOutput",
    "default_rerun_dir",
    "diff_records",
    "recorded_engine",
    "recorded_profile",
    "rerun",
    "stage_inputs",
    "verify_entries",
    "verify_outputs",
]

_DROP = ("path", "dirname", "nameroot", "nameext")


@dataclass(frozen=True)
class RerunResult:
    """The record rerun, the new record, and how their outputs compare."""

    record: RunRecord
    new: RunRecord
    verification: Verification
    run_dir: Path


# --- entries ---------------------------------------------------------------------------------


def _entry_problem(pin: EntryPin, record: SoftwareRecord) -> str | None:
    files = {f.key: f.checksum for f in record.files}
    if record.id != pin.record_id:
        return f"resolves to record {record.id}, the record pins {pin.record_id}"
    if record.version != pin.version:
        return f"is now version {record.version}, the record pins {pin.version}"
    for key in sorted(set(files) | set(pin.files)):
        if files.get(key) != pin.files.get(key):
            now, then = files.get(key, "absent"), pin.files.get(key, "absent")
            return f"file {key!r} is {now}, the record pins {then}"
    return None


def verify_entries(
    lock: Lock, settings: Settings, *, source: str, client: httpx.Client | None = None
) -> None:
    """Resolve every pinned entry again; raise :class:`ChecksumMismatch` on any change."""
    from ossrflow.registry.entry import get_entry

    for alias, pin in sorted(lock.entries.items()):
        try:
            entry = get_entry(
                pin.record_id, replace(settings, registry=pin.registry), client=client
            )
        except OssrflowError as exc:
            exc.problem = f"entries.{alias}: record {pin.record_id}: {exc.problem}"
            raise
        if problem := _entry_problem(pin, entry.record):
            raise ChecksumMismatch(
                f"entries.{alias}: {pin.registry} {problem}",
                source=source,
                hint="the registry no longer serves the software of the run; "
                "a rerun needs the same records",
            )


# --- inputs ----------------------------------------------------------------------------------


def _same_bytes(path: Path, item: RecordedFile) -> bool:
    return path.is_file() and hash_file(path)["sha256"] == item.sha256


def _pinned_source(lock: Lock | None, item: RecordedFile) -> str | None:
    """A remote location the lock pins for these bytes (URL, ``zenodo:``, Rucio DID)."""
    for pin in lock.inputs.values() if lock else ():
        for pinned in pin.files:
            remote = local_path(pinned.location) is None and ":" in pinned.location
            if remote and pinned.sha256 == item.sha256:
                return pinned.location
    return None


def _fetch_pinned(location: str, item: RecordedFile, settings: Settings, source: str) -> Path:
    """Stage a pinned remote file into the content store, verified against its sha256."""
    from ossrflow.staging import stage_items
    from ossrflow.staging.cart import parse_cart

    name = item.label.rsplit("/", 1)[-1]
    entry = {"location": location, "name": name, "checksum": f"sha256:{item.sha256}"}
    return stage_items(parse_cart({"items": [entry]}, source=source), settings)[0].path


def _input_path(item: RecordedFile, record: RunRecord, settings: Settings) -> Path:
    """Where the recorded bytes of one input are now; refuse changed or missing ones."""
    source = str(record.crate)
    original = local_path(item.location)
    if original is not None and original.exists():
        if _same_bytes(original, item):
            return original
        raise ChecksumMismatch(
            f"input {item.label}: {original} changed since the run "
            f"(sha256 {hash_file(original)['sha256'][:16]}…, the record has {item.sha256[:16]}…)",
            source=source,
            hint="restore the file, or move it away to use the crate's copy or the pinned source",
        )
    if item.copy is not None and _same_bytes(record.crate / item.copy, item):
        return record.crate / item.copy
    if (pinned := _pinned_source(record.lock, item)) is not None:
        return _fetch_pinned(pinned, item, settings, source)
    raise NotFound(
        f"input {item.label} is gone from {item.location} and the crate has no copy of it",
        source=source,
        hint="put the file back where the record says, with the same bytes",
    )


def _check_directory(obj: Mapping[str, Any], record: RunRecord) -> None:
    prefix = str(obj.get("location", "")).rstrip("/") + "/"
    members = [f for f in record.inputs if f.location.startswith(prefix)]
    for item in members:
        path = local_path(item.location)
        if path is None or not _same_bytes(path, item):
            raise ChecksumMismatch(
                f"input {item.label}: the folder's file is missing or changed since the run",
                source=str(record.crate),
                hint="restore the folder with the recorded files",
            )


def _restage(value: Any, record: RunRecord, found: Mapping[str, Path]) -> Any:
    """The job value with every File pointing at its verified bytes."""
    if isinstance(value, Mapping) and value.get("class") == "File":
        new = {k: v for k, v in value.items() if k not in _DROP}
        location = str(value.get("location", ""))
        if location in found:
            new["location"] = found[location].absolute().as_uri()
        if value.get("secondaryFiles"):
            new["secondaryFiles"] = [_restage(v, record, found) for v in value["secondaryFiles"]]
        return new
    if isinstance(value, Mapping) and value.get("class") == "Directory":
        _check_directory(value, record)
        return dict(value)
    if isinstance(value, Mapping):
        return {k: _restage(v, record, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_restage(v, record, found) for v in value]
    return value


def stage_inputs(record: RunRecord, settings: Settings) -> dict[str, Any]:
    """The recorded job order with every input file staged again and verified (see step 3)."""
    found: dict[str, Path] = {}
    for item in record.inputs:
        if item.location not in found and not _inside_directory(item, record.job):
            found[item.location] = _input_path(item, record, settings)
    staged = {
        name: value if name == JOB_REQUIREMENTS else _restage(value, record, found)
        for name, value in record.job.items()
    }
    return staged


def _inside_directory(item: RecordedFile, job: Mapping[str, Any]) -> bool:
    """True for a file recorded as a member of a Directory input (checked with its folder)."""
    for _, obj in walk_files(job.get(item.param), item.param):
        if obj.get("class") == "Directory":
            prefix = str(obj.get("location", "")).rstrip("/") + "/"
            if item.location.startswith(prefix):
                return True
    return False


# --- rerun -------------------------------------------------------------------------------------


def _prepare(record: RunRecord, run_dir: Path, job: Mapping[str, Any]) -> tuple[Path, Path]:
    """The packed workflow (its DockerRequirements pinned to the recorded digests) and the new
    job order, written into ``run_dir/rerun/``."""
    packed = _packed_workflow(record)
    folder = run_dir / RERUN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    workflow = folder / "workflow.cwl"
    if packed is not None:
        atomic_write(workflow, json.dumps(packed, indent=1, ensure_ascii=False) + "\n")
    else:
        shutil.copyfile(record.workflow, workflow)
    job_path = atomic_write(folder / "job.json", json.dumps(job, indent=1, sort_keys=True) + "\n")
    return workflow, job_path


def _packed_workflow(record: RunRecord) -> dict[str, Any] | None:
    """The crate's packed workflow with its images pinned (None: no images, copy it as it is).

    It is untrusted: held to the limits of documents before anything is written.
    """
    if not record.images:
        check_document_limits(record.workflow)
        return None
    packed = load_json_document(record.workflow)
    if not isinstance(packed, dict):
        raise InputError(
            "the packed workflow is not a JSON object",
            source=str(record.workflow),
            hint="restore the published crate; ossrflow writes a packed CWL document here",
        )
    pin_recorded_images(packed, record.images)
    return packed


def default_rerun_dir(record: RunRecord) -> Path:
    """``<RUN>-rerun``, ``<RUN>-rerun-2`` … beside the recorded run (or its crate)."""
    base = record.crate.parent if record.crate.name == CRATE_DIR else record.crate
    candidate = base.with_name(f"{base.name}-rerun")
    number = 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-rerun-{number}")
    return candidate


def recorded_profile(record: RunRecord) -> Profile:
    """The profile the record ran with: the crate's copy (``config.yaml`` and ``ossrflow.yaml``)
    under its recorded name, else a shipped one by name (records older than the copy)."""
    from ossrflow.run.profiles import BUILTIN_PROFILES, load_profile

    copy = record.crate / "profile"
    if (copy / "config.yaml").is_file():
        return replace(load_profile(str(copy)), name=record.profile)
    if record.profile in BUILTIN_PROFILES:
        return load_profile(record.profile)
    return load_profile(str(copy))


def recorded_engine(record: RunRecord) -> str:
    """The container engine the record's steps ran in (``none``: every step ran natively)."""
    return record.images[0].engine if record.images else "none"


def rerun(
    record: RunRecord,
    *,
    run_dir: Path,
    settings: Settings,
    profile: Profile | None = None,
    tolerance: Sequence[Tolerance] = (),
    jobs: int | None = None,
    progress: Callable[[Progress], None] | None = None,
    client: httpx.Client | None = None,
    path_env: str | None = None,
) -> RerunResult:
    """Rerun ``record`` in ``run_dir`` and verify its outputs (module docstring).

    ``profile`` defaults to the recorded one (:func:`recorded_profile`), the container engine
    is the recorded one, and steps run with ``path_env`` (default: this process's PATH) behind
    the recorded run's own venv ``bin/`` folders. Raises :class:`InputError` (exit 2) before
    running when a recorded command is missing or another version, an entry or input changed,
    :class:`WorkflowFailed` (exit 1, after recording the failed run) when a step fails.
    The caller decides what a failed :class:`Verification` means (the CLI exits 4).
    """
    from ossrflow.provenance.runs import run_and_record
    from ossrflow.run.options import RunOptions

    run_dir = run_dir.resolve()
    if (run_dir / CRATE_DIR).exists() or (run_dir / SNAKEFILE).exists():
        raise InputError(
            "the rerun folder already holds a run",
            source=str(run_dir),
            hint="give --run-dir a new folder",
        )
    path = restored_path(record, path_env if path_env is not None else os.environ.get("PATH", ""))
    verify_commands(record, path)
    if record.lock is not None:
        verify_entries(record.lock, settings, source=str(record.crate / LOCK_NAME), client=client)
    job = stage_inputs(record, settings)
    workflow, job_path = _prepare(record, run_dir, job)
    options = RunOptions.from_settings(
        settings,
        profile or recorded_profile(record),
        jobs=jobs,
        container=recorded_engine(record),
    )
    with search_path(path):
        recorded = run_and_record(
            workflow,
            job_path,
            run_dir=run_dir,
            options=options,
            lock=record.crate / LOCK_NAME if record.lock is not None else None,
            progress=progress,
            tolerance=tolerance,
            rerun_of=record.run_id,
        )
    new = load_record(recorded.crate or run_dir / CRATE_DIR)
    return RerunResult(record, new, verify_outputs(record, new), run_dir)

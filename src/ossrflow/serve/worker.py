"""One run of the service: ``python -m ossrflow.serve.worker run|report RUN_FOLDER``.

The run manager starts this in a session of its own (so a cancel signals the whole process
group) with the service's settings in ``OSSRFLOW_*`` variables. ``run`` goes the way of
``ossrflow run``: stage the carts of the request (``ossrflow.stage_items``), fetch the workflow
(an http(s) document, or a registry entry's generated tool), ``ossrflow.prepare_target``, the
containers-only check (unless the service allows native steps), then ``ossrflow.run_and_record``
with the facility's profile, in ``RUN_FOLDER/run``. ``report`` writes Snakemake's HTML report of
a finished run. The run folder::

    spec.json        what to run (written by the service)
    attachments/     the uploaded files
    job.json         the job order: workflow_params plus the staged carts
    fetched/         a workflow fetched over http(s), or an entry's generated tool
    prepared.json    the workflow, job and lock the run runs (for the report)
    guard/           the container guard's shims and settings (ossrflow.serve.guard)
    run/             the ossrflow run folder (Snakefile, steps, results/, provenance/)
    worker.log       this process's messages (the run's stderr)
    status.json      phase and progress, rewritten as the run goes
    result.json      the end: state, exit code, outputs, error (written last)

SIGTERM (and SIGINT) interrupt the run as Ctrl-C does ``ossrflow run``: Snakemake stops its
jobs and cancels what it submitted; the result is ``CANCELED``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

import ossrflow
from ossrflow.documents import DEFAULT_LIMITS, parse_json_text, read_document_text
from ossrflow.documents import Limits as DocumentLimits
from ossrflow.integrity import atomic_write, check_name
from ossrflow.serve.guard import write_shims
from ossrflow.serve.jobs import load_cart_within_roots, stage_job_locations
from ossrflow.serve.references import check_references
from ossrflow.serve.uploads import ATTACHMENTS

__all__ = ["RESULT", "STATUS", "main", "read_json"]

SPEC = "spec.json"
STATUS = "status.json"
RESULT = "result.json"
PREPARED = "prepared.json"
RUN_DIR = "run"
REPORT = "report.html"
MAX_OUTPUT_BYTES = 16 << 20  # a run's output object as JSON, unless its spec says otherwise


def read_json(path: Path, max_bytes: int = DEFAULT_LIMITS.max_bytes) -> Any:
    """A JSON file of a run folder, None when it is not there (yet).

    What lies there comes from the run (a tool's output object ends up in ``result.json``), so
    it is read and parsed within the limits of :mod:`ossrflow.documents`: a file larger than
    ``max_bytes``, nested too deep or not JSON raises :class:`ossrflow.InputError`.
    """
    try:
        text = read_document_text(path, DocumentLimits(max_bytes=max_bytes))
    except ossrflow.NotFound:
        return None
    return parse_json_text(text, source=path.name, limits=DocumentLimits(max_bytes=max_bytes))


def _bounded(outputs: dict[str, Any], limit: int) -> dict[str, Any]:
    """The run's CWL output object, refused when larger or deeper than the service hands out."""
    try:
        text = json.dumps(outputs, sort_keys=True, default=str)
        parse_json_text(text, source="outputs", limits=DocumentLimits(max_bytes=limit))
    except (ossrflow.InputError, RecursionError) as exc:
        problem = exc.problem if isinstance(exc, ossrflow.InputError) else "nested too deep"
        raise ossrflow.InputError(
            f"the run's output object is beyond this service's limits: {problem}",
            source="outputs",
            hint="return large or deeply nested values as files",
        ) from None
    return outputs


def _write_json(path: Path, value: object) -> None:
    atomic_write(path, json.dumps(value, indent=1, sort_keys=True, default=str) + "\n")


def _say(message: str) -> None:
    sys.stderr.write(f"[ossrflow] {message}\n")
    sys.stderr.flush()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class _Status:
    def __init__(self, folder: Path) -> None:
        self.path = folder / STATUS
        self.phase = "initializing"
        self.counts = (0, 0, 0)

    def write(self) -> None:
        done, total, running = self.counts
        value = {"phase": self.phase, "done": done, "total": total, "running": running}
        _write_json(self.path, value)

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.write()

    def progress(self, progress: ossrflow.Progress) -> None:
        counts = (progress.done, progress.total, progress.running)
        if counts != self.counts:
            self.counts = counts
            self.write()
            _say(f"{progress.done}/{progress.total} jobs done, {progress.running} running")


def _download(url: str, folder: Path, spec: dict[str, Any], settings: ossrflow.Settings) -> Path:
    name = Path(unquote(urlsplit(url).path)).name or "workflow.cwl"
    name = check_name(name, source=url, location="workflow_url")
    limit = int(spec["limits"]["max_download_bytes"])
    target = folder / "fetched" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    try:
        with httpx.stream("GET", url, timeout=settings.timeout, follow_redirects=True) as answer:
            answer.raise_for_status()
            with target.open("wb") as out:
                for chunk in answer.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise ossrflow.InputError(
                            f"the workflow is larger than {limit} bytes",
                            source=url,
                            hint="send a smaller (packed) document",
                        )
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise ossrflow.ServiceError(f"cannot fetch the workflow: {exc}", source=url) from None
    roots = [Path(r) for r in spec["data_roots"]]
    check_references(target.parent, [name], roots=roots, start=[name])
    return target


def _target(folder: Path, spec: dict[str, Any], settings: ossrflow.Settings) -> Path:
    target = spec["target"]
    if target["kind"] == "attachment":
        return folder / ATTACHMENTS / str(target["name"])
    if target["kind"] == "url":
        _say(f"fetching {target['url']}")
        return _download(target["url"], folder, spec, settings)
    ref = str(target.get("record") or target["ref"])  # the record resolved at submission
    _say(f"generating the tool of entry {ref}")
    entry = ossrflow.get_entry(ref, settings)
    generated = ossrflow.generate_entry_tool(entry)
    path = folder / "fetched" / "tool.cwl"
    ossrflow.write_tool(generated, path)
    return path


def _job(folder: Path, spec: dict[str, Any], settings: ossrflow.Settings) -> Path | None:
    if spec["type"] != "CWL":
        return None
    job = dict(spec["job"])
    roots = tuple(Path(r) for r in spec["data_roots"])
    for name, cart in spec["engine"]["carts"].items():
        _say(f"staging cart {cart} as input {name}")
        items = load_cart_within_roots(folder / ATTACHMENTS / cart, roots)
        job[name] = [staged.cwl for staged in ossrflow.stage_items(items, settings)]
    if staged := stage_job_locations(job, settings):
        _say(f"staged {staged} zenodo:/rucio: location{'s' if staged > 1 else ''} of the job")
    path = folder / "job.json"
    _write_json(path, job)
    return path


def _container(profile: ossrflow.Profile, requested: str | None, allow_native: bool) -> str | None:
    """The engine every step runs in; never ``none`` unless the service allows native steps."""
    if allow_native:
        return requested
    listed = (requested,) if requested else profile.container or ("docker", "podman", "apptainer")
    wanted = [name for name in listed if name != "none"]
    usable = {engine.name for engine in ossrflow.detect_engines() if engine.usable}
    for name in wanted:
        if name in usable:
            return name
    raise ossrflow.ServiceError(
        f"no container engine of {', '.join(wanted) or 'none'} can run here, and this service "
        "runs every step in a container",
        source=profile.name,
        hint="the operator sets one up (scripts/containers/), or names another container",
    )


def _guard(folder: Path, spec: dict[str, Any], settings: ossrflow.Settings) -> None:
    """Put the container guard first on PATH (for this process and all it starts)."""
    names = ("docker", "podman", "singularity", "apptainer")
    engines = {n: real for n in names if (real := shutil.which(n)) is not None}
    user = spec.get("container_user") if os.geteuid() == 0 else None
    readable = [str(folder), str(settings.cache_dir), *spec["data_roots"]]
    shareable = [str(folder), str(settings.cache_dir / "store")]  # never the data roots
    guard = {"run_id": folder.name, "run_folder": str(folder), "readable": readable,
             "shareable": shareable, "user": user}  # fmt: skip
    shims = write_shims(folder / "guard", guard, engines)
    os.environ["PATH"] = f"{shims}{os.pathsep}{os.environ.get('PATH', '')}"


def _execute(folder: Path, spec: dict[str, Any], status: _Status) -> dict[str, Any]:
    settings = ossrflow.resolve_settings({}, os.environ, Path(os.devnull))
    _guard(folder, spec, settings)
    target = _target(folder, spec, settings)
    job = _job(folder, spec, settings)
    work = folder / RUN_DIR
    prepared = ossrflow.prepare_target(target, job, work, settings)
    if not spec["allow_native"]:
        ossrflow.verify_containerized(
            prepared.workflow, prepared.job, schema_cache=settings.cache_dir / "cwl"
        )
    profile = ossrflow.load_profile(spec["profile_path"])
    engine = spec["engine"]
    options = ossrflow.RunOptions.from_settings(
        settings,
        profile,
        jobs=engine.get("jobs"),
        retries=engine.get("retries", 0),
        container=_container(profile, engine.get("container"), spec["allow_native"]),
    )
    paths = {"workflow": prepared.workflow, "job": prepared.job, "lock": prepared.lock}
    _write_json(folder / PREPARED, {k: str(v) if v else None for k, v in paths.items()})
    status.set_phase("running")
    _say(f"running on {spec['profile']} ({profile.executor}), containers: {options.container}")
    recorded = ossrflow.run_and_record(
        prepared.workflow,
        prepared.job,
        run_dir=work,
        options=options,
        lock=prepared.lock,
        progress=status.progress,
    )
    return dict(recorded.result.outputs or {})


def _run(folder: Path) -> int:
    spec = read_json(folder / SPEC)
    status = _Status(folder)
    status.write()
    result: dict[str, Any] = {"outputs": {}, "error": None}
    limit = int(spec.get("limits", {}).get("max_output_bytes", MAX_OUTPUT_BYTES))
    try:
        result["outputs"] = _bounded(_execute(folder, spec, status), limit)
        result.update(state="COMPLETE", exit_code=0)
    except KeyboardInterrupt:
        result.update(state="CANCELED", exit_code=130, error="canceled")
    except ossrflow.OssrflowError as exc:
        kind = "SYSTEM_ERROR" if isinstance(exc, ossrflow.ServiceError) else "EXECUTOR_ERROR"
        result.update(state=kind, exit_code=exc.exit_code, error=str(exc))
        _say(f"error: {exc}")
    _write_json(folder / RESULT, result)
    _say(f"{result['state']}")
    return 0  # anything else (a bug) ends with its traceback here and no result.json


def _report(folder: Path) -> int:
    """Snakemake's HTML report of a finished run, written to ``RUN_FOLDER/report.html``."""
    spec = read_json(folder / SPEC)
    prepared = read_json(folder / PREPARED)
    settings = ossrflow.resolve_settings({}, os.environ, Path(os.devnull))
    _guard(folder, spec, settings)
    profile = ossrflow.load_profile(spec["profile_path"])
    options = ossrflow.RunOptions.from_settings(settings, profile, report=True)
    log = folder / RUN_DIR / "snakemake.log"
    kept = log.read_bytes() if log.is_file() else None
    try:
        result = ossrflow.run_workflow(
            prepared["workflow"],
            prepared["job"],
            run_dir=folder / RUN_DIR,
            outdir=None,
            options=options,
        )
    except ossrflow.OssrflowError as exc:
        _say(f"error: {exc}")
        return exc.exit_code
    finally:
        if kept is not None:  # the run's own log, not that of the report's Snakemake call
            atomic_write(log, kept)
    if result.report is None:
        return 1
    shutil.copyfile(result.report, folder / (REPORT + ".part"))
    (folder / (REPORT + ".part")).replace(folder / REPORT)
    return 0


def main(argv: list[str] | None = None) -> int:
    """``run|report RUN_FOLDER``."""
    mode, folder = list(sys.argv[1:] if argv is None else argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    ossrflow.quiet_cwltool()
    if mode == "report":
        return _report(Path(folder))
    return _run(Path(folder))


if __name__ == "__main__":
    sys.exit(main())

"""Load CWL documents and job orders with cwltool, so that CWL semantics are cwltool's.

This is the one module that knows cwltool's loading machinery (the steps of ``cwltool.main``):
``load_root`` reads a tool or workflow plus its job order at plan time; ``load_process`` reloads
the same document inside a job; ``runtime_context`` builds the context a job runs with (no
containers, or cwltool's own Docker/Podman/Singularity jobs for one engine). ``docker_uses`` lists
the DockerRequirement each tool runs with, so the submit host can pin the images, and
``pin_docker_requirements`` puts the pinned digests in their place inside a job. ``cwl_errors`` turns cwltool's exceptions into ossrflow
errors: validation problems are :class:`InputError`, unsupported features :class:`Unsupported`.
Every load is offline (:mod:`.offline`); at plan time every local document it reads (the tool or
workflow, its ``run:`` tools and imports, the job order) is held to the limits of untrusted
documents first. Every job stages its inputs at deterministic paths (:mod:`.staging`).

cwltool is imported inside the functions: the CLI must start without it.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ossrflow.containers.pins import DockerUse, requirement_key
from ossrflow.cwl.offline import (
    RemoteRefused,
    check_local_document,
    offline_fetcher,
    silence_remote_schemas,
)
from ossrflow.cwl.schemas import load_schema_cache, parse_standard_schemas, save_schema_cache
from ossrflow.cwl.staging import native_job_class, path_mapper
from ossrflow.errors import InputError, NotFound, Unsupported

if TYPE_CHECKING:
    from cwltool.context import LoadingContext, RuntimeContext
    from cwltool.process import Process
    from ruamel.yaml.comments import CommentedMap

__all__ = [
    "RootDocument",
    "cwl_errors",
    "docker_uses",
    "is_cwl_document",
    "load_process",
    "load_root",
    "pin_docker_requirements",
    "quiet_cwltool",
    "runtime_context",
]


# Options every load and every job shares: no containers unless runtime_context(engine=...) says
# so, cwltool's defaults else.
_BASE_OPTIONS = ["--no-container", "--disable-color"]


@dataclass
class RootDocument:
    """A loaded tool or workflow and its initialized job order (cwltool objects inside)."""

    process: Process
    job_order: dict[str, Any]
    uri: str
    basedir: str


def _parse_args(extra: list[str]) -> argparse.Namespace:
    from cwltool.argparser import arg_parser

    return arg_parser().parse_args([*_BASE_OPTIONS, *extra])


@contextmanager
def cwl_errors(source: str, hint: str = "correct the document") -> Iterator[None]:
    """Translate cwltool and schema-salad exceptions raised inside the block into ossrflow errors."""
    from cwltool.errors import UnsupportedRequirement, WorkflowException
    from schema_salad.exceptions import ValidationException

    try:
        yield
    except UnsupportedRequirement as exc:
        raise Unsupported(_one_line(exc), source=source, hint="not supported yet") from None
    except RemoteRefused as exc:
        raise InputError(
            str(exc), source=source, hint="download the file and name its path"
        ) from None
    except (ValidationException, WorkflowException) as exc:
        raise InputError(_one_line(exc), source=source, hint=hint) from None


def _one_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return " ".join(lines)[:2000] or type(exc).__name__


def quiet_cwltool(level: int = logging.WARNING, stream: Any = None) -> None:
    """Send cwltool's and schema-salad's log to ``stream`` (default stderr) at ``level``."""
    from cwltool.loghandler import _logger, defaultStreamHandler

    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    _logger.removeHandler(defaultStreamHandler)
    for old in list(_logger.handlers):
        _logger.removeHandler(old)
    _logger.addHandler(handler)
    _logger.setLevel(level)
    _logger.propagate = False
    salad = logging.getLogger("salad")
    salad.handlers = [handler]
    salad.setLevel(max(level, logging.WARNING))
    salad.propagate = False
    silence_remote_schemas()


def _loading_context(
    args: argparse.Namespace, *, bounded: bool = False
) -> tuple[LoadingContext, RuntimeContext]:
    """cwltool's contexts for loading; ``bounded`` checks every local document it reads against
    the limits of untrusted documents (:func:`.offline.offline_fetcher`)."""
    from cwltool.context import RuntimeContext
    from cwltool.loghandler import _logger, defaultStreamHandler
    from cwltool.main import setup_loadingContext, setup_schema

    # The library does not print: cwltool's messages go to the logging setup of the caller.
    if defaultStreamHandler in _logger.handlers:
        _logger.removeHandler(defaultStreamHandler)
        _logger.setLevel(logging.NOTSET)

    setup_schema(args, None)  # the standard schemas, without what earlier documents added
    runtime = RuntimeContext(vars(args))
    loading = setup_loadingContext(None, runtime, args)
    loading.construct_tool_object = _make_tool
    loading.fetcher_constructor = offline_fetcher(bounded=bounded)
    silence_remote_schemas()
    return loading, runtime


def _make_tool(toolpath_object: CommentedMap, loadingContext: LoadingContext) -> Process:
    """cwltool's own tool factory, except that CommandLineTools get :func:`_tool_class`."""
    from cwltool.workflow import default_make_tool

    if toolpath_object.get("class") == "CommandLineTool":
        tool: Process = _tool_class()(toolpath_object, loadingContext)
        return tool
    return default_make_tool(toolpath_object, loadingContext)


@cache
def _tool_class() -> type[Any]:
    """cwltool's CommandLineTool, whose Docker and Podman jobs do not wait on cwltool's memory
    monitor, whose Podman jobs also run as root (rootful Podman), whose
    native jobs stage into a shared deterministic folder (:func:`.staging.native_job_class`), and
    whose ``cwl.output.json`` is checked before cwltool reads it (:func:`.outputs.check_tool_output`).

    cwltool always passes ``--userns=keep-id`` to podman, which only rootless Podman accepts
    ("keep-id is only supported in rootless mode"); as root the container runs as root anyway.
    """
    from cwltool.command_line_tool import CommandLineTool
    from cwltool.docker import DockerCommandLineJob, PodmanCommandLineJob
    from cwltool.job import CommandLineJob

    class NoMonitorWait:
        def docker_monitor(
            self,
            cidfile: str,
            tmpdir_prefix: str,
            cleanup_cidfile: bool,
            docker_exe: str,
            process: subprocess.Popen[str],
        ) -> None:
            """No wait: cwltool's monitor polls for the container id every second to sample
            ``docker stats`` for an info line ossrflow never shows, so every container step
            took at least a second. The cidfile goes with the job's scratch folder."""

    class DockerJob(NoMonitorWait, DockerCommandLineJob):
        pass

    class PodmanJob(NoMonitorWait, PodmanCommandLineJob):
        pass

    class RootfulPodmanJob(PodmanJob):
        def create_runtime(self, env: Any, runtimeContext: Any) -> tuple[list[str], str | None]:
            runtime, cidfile = super().create_runtime(env, runtimeContext)
            return [arg for arg in runtime if arg != "--userns=keep-id"], cidfile

    class OssrflowCommandLineTool(CommandLineTool):
        def collect_output_ports(
            self, ports: Any, builder: Any, outdir: str, *args: Any, **kwargs: Any
        ) -> Any:
            from ossrflow.cwl.outputs import check_tool_output

            check_tool_output(outdir)  # what the tool wrote is untrusted
            return super().collect_output_ports(ports, builder, outdir, *args, **kwargs)

        def make_job_runner(self, runtimeContext: Any) -> Any:
            runner = super().make_job_runner(runtimeContext)
            if runner is PodmanCommandLineJob:
                return RootfulPodmanJob if os.geteuid() == 0 else PodmanJob
            if runner is DockerCommandLineJob:
                return DockerJob
            if runner is CommandLineJob:
                return native_job_class()
            return runner

    return OssrflowCommandLineTool


def load_root(tool: str, job: str | None, schema_cache: Path | None = None) -> RootDocument:
    """Load and validate ``tool`` (path or URI) and its job order like ``cwltool --no-container``.

    ``schema_cache`` is a folder where the parsed CWL schemas are kept between runs.
    """
    from cwltool.load_tool import (
        fetch_document,
        make_tool,
        resolve_and_validate_document,
        resolve_tool_uri,
    )
    from cwltool.main import init_job_order, load_job_order
    from cwltool.secrets import SecretStore
    from cwltool.stdfsaccess import StdFsAccess

    for given in (tool, job):
        _check_limits(given)
    args = _parse_args([tool, *([job] if job else [])])
    loading, runtime = _loading_context(args, bounded=True)
    if schema_cache is not None:
        load_schema_cache(schema_cache)
        if parse_standard_schemas():  # before any document adds its ontologies to them
            save_schema_cache(schema_cache, shared=True)
    with cwl_errors(job or tool), _no_exit(job or tool):
        uri, tool_file_uri = resolve_tool_uri(
            args.workflow,
            resolver=loading.resolver,
            fetcher_constructor=loading.fetcher_constructor,
        )
        job_order, basedir, job_loader = load_job_order(
            args, io.StringIO(), loading.fetcher_constructor, loading.overrides_list, tool_file_uri
        )
    if job_order is None:
        job_order = {}  # no job file: defaults only, like cwltool without arguments
    with cwl_errors(tool), _no_exit(tool):
        loading, document, uri = fetch_document(uri, loading)
        loading, uri = resolve_and_validate_document(loading, document, uri)
        process = make_tool(uri, loading)
    _refuse_unsupported(process, tool)
    kept = _listings_with_facts(job_order)
    with cwl_errors(job or tool), _no_exit(job or tool):
        initialized = init_job_order(
            job_order,
            args,
            process,
            job_loader,
            io.StringIO(),
            make_fs_access=StdFsAccess,
            input_basedir=basedir,
            secret_store=SecretStore(),
            runtime_context=runtime,
        )
    for directory, listing in kept:  # cwltool drops a file: Directory's listing (trim_listing)
        directory.setdefault("listing", listing)
    _check_local_inputs(initialized, job or tool, basedir)
    root = RootDocument(process, dict(initialized), uri, basedir)
    if process.tool["class"] != "Workflow":
        _check_tool_inputs(root, job or tool)
    return root


def _listings_with_facts(value: object) -> list[tuple[Any, list[Any]]]:
    """Directories of a job order whose listing carries extension fields (a key that is an IRI,
    such as ossrflow's Rucio DID, RSE and checksums), with that listing: cwltool drops the
    listing of a ``file:`` Directory, and these facts with it, so ``load_root`` puts it back."""
    found: list[tuple[Any, list[Any]]] = []
    if isinstance(value, Mapping):
        listing = value.get("listing")
        if value.get("class") == "Directory" and isinstance(listing, list):
            facts = any(isinstance(e, Mapping) and any(":" in str(k) for k in e) for e in listing)
            found += [(value, listing)] if facts else []
        for item in value.values():
            found += _listings_with_facts(item)
    elif isinstance(value, list):
        for item in value:
            found += _listings_with_facts(item)
    return found


def _check_limits(location: str | None) -> None:
    """A local document or job order is untrusted: size, nesting and alias limits first."""
    if location:
        check_local_document(location)


def _file_objects(value: object, where: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every File and Directory object of a job order value, with where it is (``a[2].b``)."""
    if isinstance(value, Mapping):
        if value.get("class") in ("File", "Directory"):
            yield where, value
            for index, secondary in enumerate(value.get("secondaryFiles") or []):
                yield from _file_objects(secondary, f"{where}.secondaryFiles[{index}]")
            return
        for key, item in value.items():
            yield from _file_objects(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _file_objects(item, f"{where}[{index}]")


def _check_local_inputs(job_order: Mapping[str, Any], source: str, basedir: str) -> None:
    """Refuse a job order that names a local file or folder that is not there, with the input
    at fault (cwltool would stop later, naming the step)."""
    for name, value in job_order.items():
        for where, obj in _file_objects(value, str(name)):
            location = obj.get("location") or obj.get("path")
            if not isinstance(location, str) or "contents" in obj or location.startswith("_:"):
                continue
            parts = urlsplit(location)
            if parts.scheme not in ("", "file"):
                continue  # fetched when the job runs (http:, https:)
            path = Path(unquote(parts.path))
            folder = obj.get("class") == "Directory"
            if path.is_dir() if folder else path.exists():
                continue
            kind = "folder" if folder else "file"
            raise NotFound(
                f"the {kind} {path} does not exist",
                source=source,
                location=where,
                hint=f"correct its path; a relative path is read from {basedir}",
            )


def _check_tool_inputs(root: RootDocument, source: str) -> None:
    """Validate a tool's job order now (cwltool would at job time) without creating folders."""
    import copy

    placeholder = "/nonexistent/ossrflow-planning"
    context = runtime_context(root.basedir, None, toplevel=True)
    context.outdir, context.tmpdir, context.stagedir = placeholder, placeholder, placeholder
    with cwl_errors(source, hint="give every required input, with the type the tool declares"):
        root.process._init_job(copy.deepcopy(root.job_order), context)


@contextmanager
def _no_exit(source: str) -> Iterator[None]:
    """cwltool's loaders call ``sys.exit`` on some bad inputs; make that a located error."""
    try:
        yield
    except SystemExit as exc:
        raise InputError(
            f"cwltool refused the input (exit {exc.code})",
            source=source,
            hint="check that every required input is given and the job file is a mapping",
        ) from None


def _refuse_unsupported(process: Process, source: str) -> None:
    """Raise :class:`Unsupported` for features this engine cannot run correctly yet."""
    problems: list[str] = []

    def visit(tool: Any) -> None:
        if tool.get("class") == "Operation":
            problems.append("abstract Operation cannot run")
        for step in tool.get("steps", []) or []:
            if isinstance(step, dict) and step.get("loop") is not None:
                problems.append("cwltool:Loop steps")

    process.visit(visit)
    if process.tool.get("class") == "ProcessGenerator":
        problems.append("ProcessGenerator")
    if problems:
        raise Unsupported(problems[0], source=source, hint="not supported yet")


def load_process(uri: str, schema_cache: Path | None = None) -> Process:
    """Reload a document that :func:`load_root` validated before (inside a job).

    JavaScript is not checked again (the planner did it), which saves a node start per job;
    ``schema_cache`` is the folder of :func:`ossrflow.cwl.schemas.save_schema_cache`.
    """
    from cwltool.load_tool import fetch_document, make_tool, resolve_and_validate_document

    args = _parse_args(["--disable-js-validation", "--skip-schemas", uri])
    loading, _ = _loading_context(args)
    if schema_cache is not None:
        load_schema_cache(schema_cache)
    with cwl_errors(uri):
        loading, document, resolved = fetch_document(uri, loading)
        loading, resolved = resolve_and_validate_document(loading, document, resolved)
        return make_tool(resolved, loading)


def runtime_context(
    basedir: str, workdir: Path | None = None, *, engine: str = "none", **overrides: Any
) -> RuntimeContext:
    """The cwltool context one job runs with: temp and output dirs under ``workdir``.

    ``engine`` (docker, podman, apptainer) makes cwltool run a tool that has a DockerRequirement
    in that engine (its Docker/Podman/SingularityCommandLineJob); ``none`` runs every tool
    natively, like ``cwltool --no-container``. A tool without DockerRequirement always runs
    natively: there is no default container.
    """
    from cwltool.context import RuntimeContext
    from cwltool.secrets import SecretStore
    from cwltool.stdfsaccess import StdFsAccess

    args = _parse_args(["placeholder.cwl"])
    context = RuntimeContext(vars(args))
    context.basedir = basedir
    if workdir is not None:
        context.tmpdir_prefix = str(workdir / "tmp") + "/"
        context.tmp_outdir_prefix = str(workdir / "out") + "/"
        context.stagedir = str(workdir / "stage")
    context.make_fs_access = StdFsAccess
    context.path_mapper = path_mapper()
    context.secret_store = SecretStore()
    if engine != "none":
        context.use_container = True
        context.podman = engine == "podman"
        context.singularity = engine == "apptainer"
        context.default_container = None
        context.find_default_container = None
        context.pull_image = False  # the submit host pinned every image; nothing to fetch here
    for name, value in overrides.items():
        setattr(context, name, value)
    return context


def _processes(process: Process) -> Iterator[Process]:
    """``process`` and every step and tool under it."""
    yield process
    for step in getattr(process, "steps", []) or []:
        yield step
        yield from _processes(step.embedded_tool)


def docker_uses(
    process: Process, extra_requirements: Sequence[Any] = (), *, document: Path | None = None
) -> list[DockerUse]:
    """The DockerRequirement each CommandLineTool under ``process`` runs with (cwltool's choice).

    ``extra_requirements`` are the job order's ``cwl:requirements``, which the job appends to the
    root's requirements. ``document`` names inline tools (which have no file of their own).
    """
    found = []
    for item in _processes(process):
        if item.tool.get("class") != "CommandLineTool":
            continue
        extra = extra_requirements if item is process else ()
        requirement, required = _effective(item, extra)
        if requirement is not None:
            where = _tool_file(item) or document
            found.append(
                DockerUse(requirement, required, where.parent if where else None, str(where or ""))
            )
    return found


def _tool_file(process: Process) -> Path | None:
    """The file a tool was written in (None for an inline tool: its id is ``_:…``)."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(str(process.tool.get("id", "")))
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def _effective(process: Process, extra: Sequence[Any]) -> tuple[dict[str, Any] | None, bool]:
    """Like cwltool's ``get_requirement``: the last requirement, else the last hint."""
    for items, required in (([*process.requirements, *extra], True), (process.hints, False)):
        for item in reversed(items):
            if item.get("class") == "DockerRequirement":
                return dict(item), required
    return None, False


def pin_docker_requirements(process: Process, pins: Mapping[str, Mapping[str, str]]) -> int:
    """Replace every DockerRequirement under ``process`` that ``pins`` names (by requirement key).

    Returns how many were replaced. The job then runs the pinned digest (or SIF file) only.
    """
    replaced = 0
    for item in _processes(process):
        for items in (item.requirements, item.hints):
            for index, requirement in enumerate(items):
                if requirement.get("class") != "DockerRequirement":
                    continue
                pinned = pins.get(requirement_key(requirement))
                if pinned is not None:
                    items[index] = dict(pinned)
                    replaced += 1
    return replaced


def is_cwl_document(path: Path) -> bool:
    """A ``.cwl`` file, or YAML/JSON with ``cwlVersion`` (else: a workflow definition)."""
    if path.suffix == ".cwl":
        return True
    from ossrflow.documents import load_yaml_document

    data = load_yaml_document(path)
    return isinstance(data, dict) and "cwlVersion" in data

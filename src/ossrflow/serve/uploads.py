"""``POST /runs``: an untrusted multipart request becomes a checked run folder and a run spec.

In order, each refusal an ``ErrorResponse`` (400, or 413 for size):

1. the request size (``Limits.max_request_bytes``, enforced while the body streams in), the
   number of attachments and the size of each form field (Starlette's form parser);
2. the form: only WES 1.1 fields, each string field once, JSON fields parsed within the limits
   of :mod:`ossrflow.documents`;
3. attachment names: relative POSIX paths, no ``..``, no absolute path, no backslash or control
   character, no duplicates, no name that is also a folder of another; files are written with
   ``O_EXCL|O_NOFOLLOW`` into a fresh folder, so no link can be followed;
4. ``workflow_type`` and ``workflow_url`` (:mod:`ossrflow.serve.targets`): an attachment, an
   http(s) URL, or a registry reference resolved now in the service's registry; never a local
   path;
5. ``workflow_params`` (the job order, :mod:`ossrflow.serve.jobs`): no ``$``-directives and
   no ``cwl:`` keys; every File or Directory location is an attachment (relative), http(s),
   ``zenodo:``/``rucio://`` (staged by the worker), or a ``file:`` URL/absolute path under a
   ``--data-root`` (checked to exist); relative ones are rewritten to the stored attachment;
6. ``workflow_engine_parameters``: ``profile`` (a facility on offer), ``container``,
   ``retries``, ``jobs``, ``carts`` (``{INPUT: CART_ATTACHMENT}``: staged like ``ossrflow stage
   CART --input-name INPUT``, parsed now, downloaded by the worker);
7. references inside the uploaded documents (:mod:`ossrflow.serve.references`) and, for a
   definition, the definition's own checks (``ossrflow.load_definition``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from fastapi import HTTPException, Request
from starlette.datastructures import FormData, UploadFile

import ossrflow
from ossrflow.documents import Limits as DocumentLimits
from ossrflow.documents import parse_json_text
from ossrflow.serve.config import ServeConfig
from ossrflow.serve.jobs import JobContext, check_carts, check_job, in_attachments
from ossrflow.serve.references import check_references
from ossrflow.serve.targets import resolve_entry, workflow_target, workflow_type

__all__ = ["ATTACHMENTS", "Submission", "read_submission", "save_attachments", "validate"]

ATTACHMENTS = "attachments"
_STRING_FIELDS = frozenset(
    {
        "workflow_params",
        "workflow_type",
        "workflow_type_version",
        "tags",
        "workflow_engine",
        "workflow_engine_version",
        "workflow_engine_parameters",
        "workflow_url",
    }
)
_FILE_FIELDS = frozenset({"workflow_attachment", "workflow_attachment[]"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENGINE_KEYS = frozenset({"profile", "container", "retries", "jobs", "carts"})
_CONTAINERS = ("docker", "podman", "apptainer", "none")
_CHUNK = 1 << 20


def _bad(message: str, hint: str | None = None, *, where: str | None = None) -> ossrflow.InputError:
    return ossrflow.InputError(message, source="POST /runs", location=where, hint=hint)


@dataclass
class Submission:
    """A parsed, not yet checked, ``POST /runs`` form; :meth:`close` frees its spooled files."""

    fields: dict[str, str]
    attachments: list[tuple[str, UploadFile]] = field(default_factory=list)
    form: FormData | None = None

    async def close(self) -> None:
        if self.form is not None:
            await self.form.close()


async def read_submission(request: Request, config: ServeConfig) -> Submission:
    """Parse the multipart form within the limits (module docstring, steps 1 and 2).

    The caller closes the result (:meth:`Submission.close`); on a refusal here it is closed.
    """
    kind = request.headers.get("content-type", "")
    if not kind.lower().startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise _bad(
            f"Content-Type {kind or 'none'!r} is not multipart/form-data",
            "send the run as a multipart/form-data form (WES 1.1 RunRequest fields)",
        )
    limits = config.limits
    form = await request.form(
        max_files=limits.max_attachments, max_fields=64, max_part_size=limits.max_field_bytes
    )
    submission = Submission({}, form=form)
    try:
        _fill(submission, form, limits.max_name_length)
    except BaseException:
        await submission.close()
        raise
    return submission


def _fill(submission: Submission, form: FormData, max_name: int) -> None:
    for name, value in form.multi_items():
        if name in _FILE_FIELDS:
            if not isinstance(value, UploadFile):
                raise _bad(f"{name} must be a file part", where=name)
            submission.attachments.append(
                (check_attachment_name(value.filename or "", max_name), value)
            )
        elif name in _STRING_FIELDS:
            if not isinstance(value, str):
                raise _bad(f"{name} must be a text field, not a file", where=name)
            if name in submission.fields:
                raise _bad(f"{name} is given twice", where=name)
            submission.fields[name] = value
        else:
            raise _bad(
                f"unknown form field {name!r}",
                f"WES 1.1 fields: {', '.join(sorted(_STRING_FIELDS | {'workflow_attachment'}))}",
                where=name,
            )
    _check_name_set([name for name, _ in submission.attachments])


def check_attachment_name(name: str, max_length: int = 255) -> str:
    """A safe relative POSIX path for an attachment, or UnsafeValue."""
    problem = None
    if not name:
        problem = "an attachment has no file name"
    elif len(name) > max_length:
        problem = f"attachment name {name[:40]!r}… is longer than {max_length} characters"
    elif _CONTROL.search(name) or "\\" in name:
        problem = f"attachment name {name!r} contains a control character or a backslash"
    elif name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        problem = f"attachment name {name!r} is an absolute path"
    elif any(part in ("", ".", "..") for part in name.split("/")):
        problem = f"attachment name {name!r} has an empty, '.' or '..' component"
    if problem:
        raise ossrflow.UnsafeValue(
            problem,
            source="POST /runs",
            location="workflow_attachment",
            hint="name attachments by relative paths inside the workflow's folder, without '..'",
        )
    return name


def _check_name_set(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _bad(f"attachment {name!r} is given twice", where="workflow_attachment")
        seen.add(name)
    folders = {str(parent) for n in names for parent in PurePosixPath(n).parents}
    for name in names:
        if name in folders:
            raise _bad(
                f"attachment {name!r} is also the folder of another attachment",
                where="workflow_attachment",
            )


async def save_attachments(submission: Submission, folder: Path) -> None:
    """Write every attachment under ``folder`` (fresh files only, links never followed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    for name, upload in submission.attachments:
        target = folder.joinpath(*name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(target, flags, 0o644)
        with os.fdopen(descriptor, "wb") as out:
            while chunk := await upload.read(_CHUNK):
                out.write(chunk)


def _json_field(fields: Mapping[str, str], name: str, default: Any, limit: int) -> Any:
    text = fields.get(name)
    if text is None or not text.strip():
        return default
    return parse_json_text(text, source=name, limits=DocumentLimits(max_bytes=limit))


def _mapping(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(f"{name} must be a JSON object", where=name)
    return dict(value)


def _tags(fields: Mapping[str, str], config: ServeConfig) -> dict[str, str]:
    tags = _mapping(_json_field(fields, "tags", {}, config.limits.max_field_bytes), "tags")
    if len(tags) > config.limits.max_tags:
        raise _bad(f"more than {config.limits.max_tags} tags", where="tags")
    checked = {}
    for key, value in tags.items():
        if not isinstance(value, str) or not key or len(key) > 256 or _CONTROL.search(key):
            raise _bad(
                f"tag {key[:40]!r} must be a non-empty key (at most 256 characters) with a "
                "string value",
                where="tags",
            )
        checked[key] = value
    return checked


def _integer(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"{name} must be an integer from {low} to {high}", where=name)
    return value


def _engine_parameters(params: dict[str, Any], config: ServeConfig) -> dict[str, Any]:
    unknown = sorted(set(params) - _ENGINE_KEYS)
    if unknown:
        raise _bad(
            f"unknown engine parameter {unknown[0]!r}",
            f"known: {', '.join(sorted(_ENGINE_KEYS))} (GET /service-info lists them)",
            where="workflow_engine_parameters",
        )
    where = "workflow_engine_parameters"
    checked: dict[str, Any] = {"profile": str(params.get("profile") or config.default_profile)}
    if checked["profile"] not in config.profiles:
        raise _bad(
            f"facility {checked['profile']!r} is not offered here",
            f"choose one of {', '.join(config.profiles)} (GET /service-info)",
            where=f"{where}.profile",
        )
    if (container := params.get("container")) is not None:
        if container not in _CONTAINERS:
            raise _bad(f"container {container!r} is unknown", where=f"{where}.container")
        if container == "none" and not config.allow_native:
            raise _bad(
                "this service runs every step in a container; container none is refused",
                "leave container out, or name docker, podman or apptainer",
                where=f"{where}.container",
            )
        checked["container"] = container
    if "retries" in params:
        checked["retries"] = _integer(params["retries"], f"{where}.retries", 0, 10)
    if "jobs" in params:
        checked["jobs"] = _integer(params["jobs"], f"{where}.jobs", 1, 1000)
    carts = params.get("carts") or {}
    if isinstance(carts, str):
        limits = DocumentLimits(max_bytes=config.limits.max_field_bytes)
        carts = parse_json_text(carts, source=f"{where}.carts", limits=limits)
    checked["carts"] = _mapping(carts, f"{where}.carts")
    return checked


def validate(
    submission: Submission, folder: Path, config: ServeConfig, *, final: Path | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Check a submission saved in ``folder`` (steps 4-7): (request echo, worker spec, tags).

    ``final`` is where the attachments will lie once accepted (job locations point there).
    """
    fields = submission.fields
    kind, version = workflow_type(
        fields.get("workflow_type", ""), fields.get("workflow_type_version", "")
    )
    names = [name for name, _ in submission.attachments]
    target = workflow_target(fields.get("workflow_url", "").strip(), names, kind)
    limit = config.limits.max_field_bytes
    params = _mapping(_json_field(fields, "workflow_params", {}, limit), "workflow_params")
    raw_engine = _mapping(
        _json_field(fields, "workflow_engine_parameters", {}, limit), "workflow_engine_parameters"
    )
    engine = _engine_parameters(raw_engine, config)
    tags = _tags(fields, config)
    ctx = JobContext(folder, final or folder, frozenset(names), config.data_roots)
    if kind == "OSSRFLOW":
        if params or engine["carts"]:
            raise _bad("a definition names its own inputs: send no workflow_params or carts")
        try:
            ossrflow.load_definition(folder / target["name"])
        except ossrflow.InputError as exc:
            raise in_attachments(exc, folder) from None
    job = check_job(params, ctx)
    engine["carts"] = check_carts(engine["carts"], ctx, job)
    start = [target["name"]] if target["kind"] == "attachment" else []
    if kind == "OSSRFLOW":  # a definition is no CWL: its own path rule was checked above
        names, start = [n for n in names if n != target["name"]], []
    limits = DocumentLimits(max_bytes=config.limits.max_document_bytes)
    check_references(folder, names, roots=ctx.roots, start=start, limits=limits)
    if target["kind"] == "entry":
        target["record"] = resolve_entry(target["ref"], config.settings)
    echo = {
        "workflow_params": params,
        "workflow_type": kind,
        "workflow_type_version": version,
        "tags": tags,
        "workflow_engine_parameters": raw_engine,
        "workflow_url": fields.get("workflow_url", "").strip(),
    }
    for optional in ("workflow_engine", "workflow_engine_version"):
        if fields.get(optional):
            echo[optional] = fields[optional]
    spec = {"type": kind, "target": target, "job": job, "engine": engine}
    return echo, spec, tags


def too_large(limit: int) -> HTTPException:
    return HTTPException(
        status_code=413,
        detail=f"the request is larger than the {limit} bytes this service accepts "
        "(fix: send large data as http(s), Zenodo or Rucio locations, or from a data root)",
    )

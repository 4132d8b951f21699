"""The job order of a submission: what its File and Directory values and its carts may name.

At submission (:func:`check_job`, :func:`check_carts`), every ``location`` (or ``path``) of a
File or Directory in ``workflow_params`` must be

- an attachment, by its relative name (rewritten to the stored attachment's ``file:`` URL);
- an ``http(s)://`` URL (cwltool downloads it);
- ``zenodo:RECORD_ID/FILE`` or ``rucio://SCOPE/NAME``: staged by the worker like a cart item
  (:func:`stage_job_locations`: downloaded once into the content store, checksum-verified);
- a ``file:`` URL or absolute path under a ``--data-root`` (checked to exist, links resolved).

Anything else is refused, and so are ``$``-directives and ``cwl:`` keys. A cart
(``workflow_engine_parameters.carts``) is an attachment in any form ``ossrflow stage`` reads,
parsed now; its local paths must lie beside it or under a data root.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import ossrflow
from ossrflow.serve.references import inside_roots

__all__ = [
    "STAGED_SCHEMES",
    "JobContext",
    "check_carts",
    "check_job",
    "in_attachments",
    "load_cart_within_roots",
    "stage_job_locations",
]

STAGED_SCHEMES = ("zenodo:", "rucio://")  # job locations the worker stages itself
_INPUT_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DIRECTIVES = ("$", "cwl:", "https://w3id.org/cwl/cwl#")


@dataclass(frozen=True)
class JobContext:
    """Where a submission's attachments are, and what its job may reach."""

    folder: Path  # the attachments, as saved while they are checked
    final: Path  # where the attachments will be once the run is accepted
    names: frozenset[str]
    roots: tuple[Path, ...]


def _refuse(
    kind: type[ossrflow.InputError], problem: str, at: str, hint: str
) -> ossrflow.InputError:
    return kind(problem, source="workflow_params", location=at, hint=hint)


def _staged_location(text: str, at: str) -> str:
    """A ``zenodo:``/``rucio://`` location, checked to be one a cart could hold."""
    try:
        ossrflow.parse_cart([text], source="workflow_params")
    except ossrflow.InputError as exc:
        raise _refuse(type(exc), exc.problem, at, exc.hint or "") from None
    return text


def _data_root_file(text: str, at: str, ctx: JobContext) -> str:
    parts = urlsplit(text)
    if parts.scheme and parts.netloc not in ("", "localhost"):
        raise _refuse(ossrflow.UnsafeValue, f"{text!r} names another host", at,
                      "stage the file or attach it")  # fmt: skip
    path = Path(unquote(parts.path))
    if not inside_roots(path, ctx.roots):
        raise _refuse(
            ossrflow.UnsafeValue,
            f"{text!r} lies outside the service's data roots",
            at,
            "attach the file, give an http(s) URL, or ask for it under a --data-root "
            f"({', '.join(map(str, ctx.roots)) or 'none configured'})",
        )
    if not path.exists():
        raise _refuse(ossrflow.NotFound, f"{text!r} does not exist", at,
                      "check the path on the shared file system")  # fmt: skip
    return path.resolve().as_uri()


def _location(text: str, at: str, ctx: JobContext) -> str:
    """The location the run gets for ``text`` (module docstring), or a refusal."""
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return text
    if text.startswith(STAGED_SCHEMES):
        return _staged_location(text, at)
    if scheme == "file" or (not scheme and text.startswith("/")):
        return _data_root_file(text, at, ctx)
    if scheme or parts.netloc:
        raise _refuse(
            ossrflow.UnsafeValue,
            f"location {text!r}: scheme {scheme!r} is not accepted",
            at,
            "use an attachment, http(s), zenodo:RECORD/FILE, rucio://SCOPE/NAME, or a file "
            "under a data root",
        )
    relative = unquote(parts.path).rstrip("/")
    parts_ok = relative and all(p not in ("", ".", "..") for p in relative.split("/"))
    if not parts_ok or (
        relative not in ctx.names and not any(n.startswith(relative + "/") for n in ctx.names)
    ):
        raise _refuse(ossrflow.NotFound, f"{text!r} is no attachment", at,
                      "attach the file under that relative name")  # fmt: skip
    return ctx.final.joinpath(*relative.split("/")).as_uri()


def check_job(value: Any, ctx: JobContext, at: str = "") -> Any:
    """``workflow_params`` checked, with relative and data-root locations rewritten."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            where = f"{at}.{name}" if at else name
            if name.startswith(_DIRECTIVES):
                raise _refuse(
                    ossrflow.UnsafeValue,
                    f"key {name!r} is a directive, not an input value",
                    where,
                    "give input values only ($import, $include, cwl:requirements and "
                    "cwl:tool are refused)",
                )
            out[name] = check_job(item, ctx, where)
        if value.get("class") in ("File", "Directory"):
            path_value = out.pop("path", None)
            location = out.get("location", path_value)
            if isinstance(location, str):
                out["location"] = _location(location, at, ctx)
        return out
    if isinstance(value, list):
        return [check_job(item, ctx, f"{at}[{i}]") for i, item in enumerate(value)]
    return value


def check_carts(
    carts: Mapping[str, Any], ctx: JobContext, params: Mapping[str, Any]
) -> dict[str, str]:
    """``{INPUT: CART_ATTACHMENT}``, each cart parsed now (its items are staged by the worker)."""
    checked = {}
    for input_name, name in carts.items():
        at = f"workflow_engine_parameters.carts.{input_name}"
        if not _INPUT_ID.match(str(input_name)) or input_name in params:
            raise ossrflow.InputError(
                f"cart input {input_name!r} is not a CWL input id, or also in workflow_params",
                source="POST /runs",
                location=at,
            )
        if not isinstance(name, str) or name not in ctx.names:
            raise ossrflow.NotFound(f"cart {name!r} is no attachment", source="POST /runs",
                                    location=at, hint="attach the cart file")  # fmt: skip
        try:
            load_cart_within_roots(ctx.folder / name, ctx.roots)
        except ossrflow.InputError as exc:
            if isinstance(exc, ossrflow.UnsafeValue):
                exc.hint = (
                    "attach the data, give http(s), Zenodo or Rucio locations, or files under "
                    "the service's data roots"
                )
            raise in_attachments(exc, ctx.folder) from None
        checked[str(input_name)] = name
    return checked


def in_attachments(exc: ossrflow.InputError, folder: Path) -> ossrflow.InputError:
    """``exc`` with the attachments' folder on the service left out of its line."""

    def relative(text: str | None) -> str | None:
        if text is None:
            return None
        return text.replace(f"{folder}/", "").replace(str(folder), "the attachments")

    return type(exc)(
        relative(exc.problem) or "",
        source=relative(exc.source),
        location=exc.location,
        hint=relative(exc.hint),
    )


def load_cart_within_roots(path: Path, roots: tuple[Path, ...]) -> list[ossrflow.CartItem]:
    """The cart's items; absolute paths in it must lie in its folder or one data root."""
    try:
        return ossrflow.load_cart(path)
    except ossrflow.UnsafeValue as exc:
        for root in roots:
            try:
                return ossrflow.load_cart(path, data_root=root)
            except ossrflow.UnsafeValue:
                continue
        raise exc from None


def _staged_files(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        location = value.get("location")
        if value.get("class") == "File" and str(location).startswith(STAGED_SCHEMES):
            yield value
        for item in value.values():
            yield from _staged_files(item)
    elif isinstance(value, list):
        for item in value:
            yield from _staged_files(item)


def stage_job_locations(job: dict[str, Any], settings: ossrflow.Settings) -> int:
    """Stage every ``zenodo:``/``rucio://`` File of ``job`` in one session and point it at the
    stored copy (the File's other fields, such as ``format``, kept); how many were staged."""
    files = list(_staged_files(job))
    if not files:
        return 0
    locations = sorted({str(f["location"]) for f in files})
    items = ossrflow.parse_cart(locations, source="workflow_params")
    staged = {
        loc: s.cwl for loc, s in zip(locations, ossrflow.stage_items(items, settings), strict=True)
    }
    for item in files:
        extra = {k: v for k, v in item.items() if k not in ("class", "location", "path")}
        cwl = staged[str(item["location"])]
        item.clear()
        item.update(cwl, **extra)
    return len(locations)

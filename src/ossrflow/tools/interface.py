"""The command-line interface of an entry: a CWL CommandLineTool it ships, or an interface file.

A :class:`ToolSpec` holds CommandLineTool keys as parsed YAML (line/column kept) and says where
they came from:

- ``kind == "cwl"``: a ``.cwl`` CommandLineTool shipped with the entry, validated with cwltool and
  upgraded to CWL v1.2 (``cwl-upgrader``; a v1.0 tool gains ``NetworkAccess`` and
  ``LoadListingRequirement: deep_listing`` so that it keeps its v1.0 meaning).
- ``kind == "interface"``: an ``ossrflow-interface.yml``, a *CWL fragment* whose keys are exactly
  the CommandLineTool keys in :data:`INTERFACE_KEYS`, checked against
  ``data/interface.schema.json``; ossrflow fills in the rest.

Every refusal is one located line: ``file:line:col: field: problem (fix: ...)``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ossrflow.cwl.offline import offline_fetcher
from ossrflow.documents import load_yaml_document, location_of
from ossrflow.errors import InputError, Unsupported

__all__ = [
    "DRAFT_MARK",
    "INTERFACE_KEYS",
    "INTERFACE_NAME",
    "ToolSpec",
    "interface_schema",
    "load_indented_yaml",
    "load_interface",
    "load_shipped_cwl",
    "quiet_cwl_logs",
    "select_shipped_cwl",
    "verify_cwl",
]

INTERFACE_NAME = "ossrflow-interface.yml"
INTERFACE_KEYS = (
    "id",
    "label",
    "doc",
    "baseCommand",
    "arguments",
    "inputs",
    "outputs",
    "requirements",
    "hints",
    "stdin",
    "stdout",
    "stderr",
    "successCodes",
    "temporaryFailCodes",
    "permanentFailCodes",
)
CWL_VERSIONS = ("v1.0", "v1.1", "v1.2")
_QUIET_LOGGERS = ("cwltool", "salad", "schema_salad", "cwl_utils", "cwlupgrader")
_LOG = logging.getLogger(__name__)
DRAFT_MARK = "# DRAFT: review before use."
EDAM_IRI = "http://edamontology.org/"
_EDAM_SHORT = re.compile(r"edam:(format_\d+)")
_CWLTOOL_LINE = re.compile(r"^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<problem>.*)$")


@dataclass(frozen=True)
class ToolSpec:
    """CommandLineTool keys from a shipped ``.cwl`` (``kind="cwl"``) or an interface file."""

    kind: str  # "cwl" | "interface"
    document: Mapping[str, Any]
    source: Path


# --- interface files -----------------------------------------------------------------------


@cache
def interface_schema() -> dict[str, Any]:
    """The JSON Schema of ``ossrflow-interface.yml`` (shipped as ``data/interface.schema.json``)."""
    text = resources.files("ossrflow").joinpath("data/interface.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


_INDENTATION = (
    "expected <block end>",
    "mapping values are not allowed here",
    "did not find expected key",
    "could not find expected ':'",
    "while parsing a block",
)


def load_indented_yaml(path: Path) -> Any:
    """:func:`~ossrflow.documents.load_yaml_document`, whose syntax errors that come from
    indentation say so (the line at fault, its indent, what lines up with what)."""
    try:
        return load_yaml_document(path)
    except InputError as exc:
        raise _indentation_hint(exc, path) from None


def _indentation_hint(exc: InputError, path: Path) -> InputError:
    if not exc.problem.startswith("invalid YAML") or exc.hint != "fix the syntax":
        return exc
    if "'\\t'" in exc.problem:  # ruamel: found character '\\t' that cannot start any token
        exc.hint = "indent with spaces, not tabs"
        return exc
    if not exc.location or not any(text in exc.problem for text in _INDENTATION):
        return exc
    number = int(exc.location.split(":")[0])
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    line = lines[number - 1] if 0 < number <= len(lines) else ""
    indent = len(line) - len(line.lstrip(" "))
    exc.hint = (
        f"check the indentation of line {number} ({indent} spaces): the keys of one mapping "
        "line up, and a value on the lines below its key is indented further (spaces, not tabs)"
    )
    return exc


def load_interface(path: Path) -> ToolSpec:
    """Read an interface file: unknown keys and wrong shapes are refused with ``line:col``."""
    document = load_indented_yaml(path)
    source = str(path)
    if not isinstance(document, Mapping):
        raise InputError(
            "an interface file must be a mapping of CommandLineTool keys",
            source=source,
            location=location_of(document),
            hint=f"start with 'baseCommand:'; allowed keys are {', '.join(INTERFACE_KEYS)}",
        )
    for key in document:
        if key not in INTERFACE_KEYS:
            raise InputError(
                f"{key}: unknown key {key!r}",
                source=source,
                location=location_of(document, key),
                hint=f"allowed keys are {', '.join(INTERFACE_KEYS)}",
            )
    _check_schema(document, source)
    _expand_formats(document, source)
    if _is_draft(path):
        _LOG.warning(
            "%s: the interface is still marked DRAFT (ossrflow interface draft guessed its types); "
            "review it, then delete the '# DRAFT' line",
            path,
        )
    return ToolSpec(kind="interface", document=document, source=path)


def _is_draft(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.readline(200).startswith(DRAFT_MARK.encode())


def _parameters(document: Mapping[str, Any], section: str) -> Iterator[tuple[str, Any]]:
    """``(name, parameter mapping)`` of an interface's inputs or outputs, in either form."""
    given = document.get(section)
    if isinstance(given, Mapping):
        yield from ((str(k), v) for k, v in given.items() if isinstance(v, Mapping))
    elif isinstance(given, list):
        for item in given:
            if isinstance(item, Mapping):
                yield str(item.get("id", "?")), item


def _expand_formats(document: Mapping[str, Any], source: str) -> None:
    """``edam:format_N`` -> EDAM's IRI, as definitions and carts take it; a format that is no
    IRI (a bare word, a media type, another prefix) is refused where it is written: CWL would
    take it as a path relative to the tool, and no file would ever match it."""
    for section in ("inputs", "outputs"):
        for name, parameter in _parameters(document, section):
            if "format" not in parameter:
                continue
            values = parameter["format"]
            listed = values if isinstance(values, list) else [values]
            expanded = [
                _format_iri(v, source, parameter, f"{section}.{name}.format") for v in listed
            ]
            parameter["format"] = expanded if isinstance(values, list) else expanded[0]


def _format_iri(value: object, source: str, parameter: Any, field: str) -> object:
    text = str(value).strip()
    if short := _EDAM_SHORT.fullmatch(text):
        return EDAM_IRI + short.group(1)
    if re.fullmatch(r"https?://\S+", text) or text.startswith("$("):
        return value
    raise InputError(
        f"{field}: {text!r} is not a format IRI",
        source=source,
        location=location_of(parameter, "format"),
        hint="write edam:format_N (e.g. edam:format_3752 for CSV) or a full IRI such as "
        "https://www.iana.org/assignments/media-types/application/fits",
    )


def _check_schema(document: Mapping[str, Any], source: str) -> None:
    """The first schema violation in document order, with the most specific message."""
    import jsonschema
    from jsonschema.exceptions import best_match

    validator = jsonschema.Draft202012Validator(interface_schema())
    found = []
    for error in validator.iter_errors(_plain(document)):
        specific = best_match([error]) or error
        path = list(specific.absolute_path)
        found.append((_line_col(_node_location(document, path)), path, specific.message))
    if not found:
        return
    position, path, message = min(found, key=lambda item: item[0])
    field = ".".join(str(p) for p in path) or "(top)"
    raise InputError(
        f"{field}: {message}",
        source=source,
        location=f"{position[0]}:{position[1]}" if position != (0, 0) else None,
        hint="see the interface file reference in docs/cwlgen.md",
    )


def _line_col(location: str | None) -> tuple[int, int]:
    line, _, col = (location or "0:0").partition(":")
    return int(line), int(col)


def _node_location(document: object, path: Sequence[str | int]) -> str | None:
    """``line:col`` of the value at ``path`` in a ruamel document (of its parent key if a leaf)."""
    node, location = document, location_of(document)
    for part in path:
        found = location_of(node, part)
        location = found or location
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            break
    return location


def _plain(value: object) -> object:
    """ruamel's commented containers as plain dicts and lists (for jsonschema)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- shipped CWL ---------------------------------------------------------------------------


def load_shipped_cwl(path: Path) -> ToolSpec:
    """Validate a shipped ``.cwl`` CommandLineTool with cwltool and upgrade it to CWL v1.2."""
    document = load_yaml_document(path)
    source = str(path)
    kind = _process_class(document)
    if kind != "CommandLineTool":
        raise InputError(
            f"class: is {kind or 'missing'}, not a CommandLineTool",
            source=source,
            location=_class_location(document),
            hint="name a .cwl file whose class is CommandLineTool (ossrflow cwl --tool NAME)",
        )
    version = document.get("cwlVersion")
    if version not in CWL_VERSIONS:
        raise Unsupported(
            f"cwlVersion: {version!r} is not supported",
            source=source,
            location=location_of(document, "cwlVersion"),
            hint=f"use one of {', '.join(CWL_VERSIONS)}",
        )
    verify_cwl(path)
    return ToolSpec(kind="cwl", document=_upgrade(document), source=path)


def _process_class(document: object) -> str | None:
    if isinstance(document, Mapping):
        value = document.get("class")
        if isinstance(value, str):
            return value
        if "$graph" in document:
            return "$graph"
    return None


def _class_location(document: object) -> str | None:
    if isinstance(document, Mapping):
        for key in ("class", "$graph"):
            if key in document:
                return location_of(document, key)
    return location_of(document)


def _upgrade(document: Any) -> Any:
    if document["cwlVersion"] == "v1.2":
        return document
    from cwlupgrader.main import upgrade_document

    with quiet_cwl_logs():
        return upgrade_document(document, ".", "v1.2")


def select_shipped_cwl(
    candidates: Mapping[str, Path], *, names: Sequence[str], tool: str | None, source: str
) -> str | None:
    """The key of the shipped CommandLineTool to use, or ``None`` when the entry ships none.

    ``candidates`` maps record keys (e.g. ``cwl-cli/crop.cwl``) to local paths. With ``tool``,
    the key, file name, stem or ``id`` must match it. Otherwise the only CommandLineTool is taken,
    or the one whose stem or ``id`` matches one of ``names`` (the entry's names, slugged).
    Workflows and ``$graph`` documents are not candidates.
    """
    tools: dict[str, set[str]] = {}
    for key, path in sorted(candidates.items()):
        labels = _tool_names(key, path)
        if labels is not None:
            tools[key] = labels
    if tool is not None:
        matches = [key for key, labels in tools.items() if tool in labels]
        if len(matches) == 1:
            return matches[0]
        raise _ambiguous(tools, matches or list(tools), source, f"--tool {tool!r} matches")
    if len(tools) <= 1:
        return next(iter(tools), None)
    wanted = {_slug(name) for name in names}
    matches = [key for key, labels in tools.items() if {_slug(x) for x in labels} & wanted]
    if len(matches) == 1:
        return matches[0]
    raise _ambiguous(tools, matches or list(tools), source, "the entry ships")


def _tool_names(key: str, path: Path) -> set[str] | None:
    """Names a shipped CommandLineTool answers to; ``None`` when the file is not one."""
    document = load_yaml_document(path)
    if _process_class(document) != "CommandLineTool":
        return None
    names = {key, Path(key).name, Path(key).stem}
    ident = document.get("id")
    if isinstance(ident, str) and ident.strip():
        names.add(ident.strip().lstrip("#"))
    return names


def _ambiguous(
    tools: Mapping[str, set[str]], keys: Sequence[str], source: str, what: str
) -> InputError:
    listed = ", ".join(keys) if keys else "none"
    count = "no" if not keys else str(len(keys))
    return InputError(
        f"{what} {count} CommandLineTools: {listed}",
        source=source,
        hint="choose one with --tool NAME (a file name, stem or id)"
        if tools
        else "ship a .cwl CommandLineTool or an ossrflow-interface.yml",
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --- cwltool validation --------------------------------------------------------------------


@contextmanager
def quiet_cwl_logs() -> Iterator[None]:
    """Keep cwltool's and schema-salad's INFO/WARNING chatter off the user's terminal."""
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def verify_cwl(path: Path, *, source: str | None = None) -> None:
    """Validate a CWL file as ``cwltool --validate --skip-schemas`` does; one located line if not.

    Offline: ``$schemas`` are not fetched, http(s) links (e.g. ``class: s:Person``, which cwltool
    would check with a HEAD request each) are taken as existing, and a remote ``$import`` fails.
    """
    from cwltool.context import LoadingContext
    from cwltool.errors import WorkflowException
    from cwltool.load_tool import fetch_document, make_tool, resolve_and_validate_document
    from cwltool.workflow import default_make_tool
    from schema_salad.exceptions import ValidationException, to_one_line_messages

    context = LoadingContext(
        {
            "skip_schemas": True,
            "construct_tool_object": default_make_tool,
            "fetcher_constructor": offline_fetcher(
                refuse=ValidationException, reason="is not fetched: validation works offline"
            ),
        }
    )
    try:
        with quiet_cwl_logs():
            context, document, uri = fetch_document(str(path.resolve()), context)
            context, uri = resolve_and_validate_document(context, document, uri)
            make_tool(uri, context)
    except ValidationException as exc:
        raise _cwltool_error(to_one_line_messages(exc), source or str(path)) from None
    except WorkflowException as exc:
        raise _cwltool_error(str(exc), source or str(path)) from None


def _cwltool_error(message: str, source: str) -> InputError:
    first = next((line for line in message.splitlines() if line.strip()), "invalid CWL")
    match = _CWLTOOL_LINE.match(first)
    location, problem = None, first
    if match:
        location = f"{match.group('line')}:{match.group('col')}"
        problem = match.group("problem")
    return InputError(
        f"invalid CWL: {problem.strip()}",
        source=source,
        location=location,
        hint="fix the tool so that `cwltool --validate` accepts it",
    )

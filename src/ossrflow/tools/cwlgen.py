"""An entry (codemeta + a command-line interface) -> a runnable, annotated CWL v1.2 CommandLineTool.

Where the interface comes from, in this order (docs/cwlgen.md):

1. an interface file the user names (``--interface``);
2. a CommandLineTool the entry ships (a ``.cwl`` file), validated and kept as written;
3. an ``ossrflow-interface.yml`` the entry ships.

codemeta fills in what the interface leaves out: ``label``/``doc``, schema.org annotations, the
``SoftwareRequirement`` hint, ``baseCommand`` from a ``targetProduct`` ``executableName``, and a
``DockerRequirement`` from a software-types ``SoftwareImage`` (or, when ``ossrflow containerize``
built one, its image pinned by digest). The mapping is data
(``data/codemeta_crosswalk.csv``). Without an interface there is no tool: codemeta has no field
for inputs or outputs, and ossrflow does not guess silently.

Tools are built as ``cwl_utils.parser.cwl_v1_2`` objects, rendered with a fixed key order and
explicit ids (byte-stable), re-loaded with cwl-utils and validated with cwltool before anyone sees
them. Values from the entry become labels, docs and annotations (YAML-quoted data); the only one
that reaches the command line, an ``executableName``, must be a plain command name.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import LiteralScalarString

from ossrflow.errors import InputError, UnsafeValue
from ossrflow.integrity import atomic_write, check_name
from ossrflow.registry import LocalRegistry, SoftwareRecord, find_codemeta_key, parse_ref
from ossrflow.registry.codemeta import Codemeta, parse_codemeta
from ossrflow.tools.containerize import CONTAINERS_DIR, pin_built_image
from ossrflow.tools.crosswalk import PLAIN_COMMAND, annotate_tool
from ossrflow.tools.interface import (
    INTERFACE_KEYS,
    ToolSpec,
    load_interface,
    load_shipped_cwl,
    quiet_cwl_logs,
    select_shipped_cwl,
    verify_cwl,
)

if TYPE_CHECKING:
    from ossrflow.registry.entry import Entry

__all__ = [
    "Conversion",
    "GeneratedTool",
    "folder_entry_refs",
    "generate_entry_tool",
    "generate_registry_tools",
    "generate_tool",
    "render_tool",
    "tool_document",
    "write_tool",
]

_TOP_ORDER = (
    "cwlVersion",
    "class",
    "id",
    "label",
    "doc",
    "requirements",
    "hints",
    "baseCommand",
    "arguments",
    "inputs",
    "outputs",
    "stdin",
    "stdout",
    "stderr",
    "successCodes",
    "temporaryFailCodes",
    "permanentFailCodes",
)
_NAME_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DOC_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class GeneratedTool:
    """A CommandLineTool ready to render: the cwl-utils object and where its interface came from."""

    tool: Any  # cwl_utils.parser.cwl_v1_2.CommandLineTool
    tool_id: str
    origin: str  # "cwl" (shipped) | "interface"
    interface_source: Path
    base_uri: str


# --- entry points --------------------------------------------------------------------------


def generate_tool(
    codemeta: Codemeta,
    *,
    record: SoftwareRecord | None = None,
    shipped_cwl: Path | None = None,
    interface: Path | None = None,
    tool_id: str | None = None,
    verify: bool = True,
    containers_dir: Path | None = CONTAINERS_DIR,
) -> GeneratedTool:
    """Build the tool from an interface file (preferred when given) or a shipped CommandLineTool.

    ``tool_id`` is used when the CWL or interface file sets no ``id`` (default: the executable
    name or codemeta name for an interface, the file's stem for a shipped tool). When
    ``containers_dir`` holds the ``image.json`` of ``ossrflow containerize`` for this software
    and version, the tool gets a DockerRequirement hint pinning that image's digest. Raises
    :class:`InputError` (one located line) when neither source is given, when either is invalid,
    or when a codemeta value that would reach the tool is unsafe.
    """
    _check_text(codemeta)
    if interface is not None:
        spec = load_interface(interface)
    elif shipped_cwl is not None:
        spec = load_shipped_cwl(shipped_cwl)
    else:
        raise _no_interface(codemeta, record)
    document = _complete(spec, codemeta, tool_id or _tool_id(spec, codemeta), verify=verify)
    generated = _build(spec, document, codemeta, record, containers_dir)
    if verify:
        _round_trip(generated)
    return generated


def generate_entry_tool(
    entry: Entry,
    *,
    interface: Path | None = None,
    tool: str | None = None,
    verify: bool = True,
    containers_dir: Path | None = CONTAINERS_DIR,
) -> GeneratedTool:
    """Build the tool of a registry or folder entry, choosing its interface as documented.

    Errors in a downloaded file name its URL, not the cache path it was read from.
    """
    codemeta = _entry_codemeta(entry)
    shipped, tool_id, labels = None, None, {}
    if interface is None:
        names = (*codemeta.executable_names, codemeta.name, entry.record.title)
        candidates = {key: entry.file_path(key) for key in entry.cwl_keys()}
        source = codemeta.source or entry.record.id
        chosen = select_shipped_cwl(candidates, names=names, tool=tool, source=source)
        key = chosen or entry.interface_key()
        if key is not None:
            path = candidates[key] if chosen else entry.file_path(key)
            shipped, interface = (path, None) if chosen else (None, path)
            tool_id = _slug(Path(key).stem) if chosen else None
            labels[str(path)] = _file_label(entry, key, path)
    try:
        return generate_tool(
            codemeta,
            record=entry.record,
            shipped_cwl=shipped,
            interface=interface,
            tool_id=tool_id,
            verify=verify,
            containers_dir=containers_dir,
        )
    except InputError as exc:
        for local, label in labels.items():
            exc.problem = exc.problem.replace(Path(local).resolve().as_uri(), label)
        exc.source = labels.get(exc.source or "", exc.source)
        raise


def _entry_codemeta(entry: Entry) -> Codemeta:
    """The entry's codemeta (named by its URL for a remote record), else one from the record."""
    if entry.codemeta is None:
        return _codemeta_from_record(entry.record)
    key = find_codemeta_key(entry.record)
    if entry.record.registry.startswith("dir:") or key is None:
        return entry.codemeta
    return replace(entry.codemeta, source=entry.record.file(key).url)


def _file_label(entry: Entry, key: str, path: Path) -> str:
    return str(path) if entry.record.registry.startswith("dir:") else entry.record.file(key).url


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.").lower()
    return slug if slug and slug[0].isalpha() else f"tool-{slug}".rstrip("-")


@dataclass(frozen=True)
class Conversion:
    """The outcome of converting one entry of a folder registry."""

    entry: str
    path: Path | None
    error: InputError | None

    @property
    def reason(self) -> str:
        return str(self.error) if self.error is not None else str(self.path)


def folder_entry_refs(ref: str) -> tuple[tuple[str, str], ...]:
    """``(name, "dir:PATH/NAME")`` for each entry folder of the folder registry ``dir:PATH``."""
    parsed = parse_ref(ref)
    root = Path(parsed.value)
    if not parsed.is_local or (root / "codemeta.json").is_file():
        raise InputError(
            f"{ref} is not a folder registry",
            source=ref,
            hint="give dir:PATH, a folder whose sub-folders are entries",
        )
    names = LocalRegistry(root).entry_names()
    return tuple((name, f"dir:{root / name}") for name in names)


def generate_registry_tools(
    ref: str, get_entry: Callable[[str], Entry], out_dir: Path
) -> tuple[Conversion, ...]:
    """Convert every entry of the folder registry ``ref`` into ``out_dir/NAME.cwl``.

    An entry that is refused (an :class:`InputError`) is reported, not raised; nothing is written
    for it. Other errors (a bug, an unreachable service) stop the run.
    """
    results = []
    for name, entry_ref in folder_entry_refs(ref):
        try:
            generated = generate_entry_tool(get_entry(entry_ref))
            path = write_tool(generated, out_dir / f"{check_name(name, source=ref)}.cwl")
        except InputError as exc:
            results.append(Conversion(name, None, exc))
        else:
            results.append(Conversion(name, path, None))
    return tuple(results)


def tool_document(generated: GeneratedTool) -> dict[str, Any]:
    """The tool as a plain CWL document (dicts, lists, scalars) in a fixed key order."""
    saved: dict[str, Any] = generated.tool.save(top=True, base_url=generated.base_uri)
    ordered = {key: saved[key] for key in _TOP_ORDER if key in saved}
    ordered.update((key, value) for key, value in saved.items() if key not in ordered)
    plain: dict[str, Any] = _plain(ordered)
    return plain


def render_tool(generated: GeneratedTool) -> str:
    """The tool as CWL YAML text: fixed key order, explicit ids, no timestamps."""
    return _dump(tool_document(generated))


def write_tool(generated: GeneratedTool, path: Path) -> Path:
    """Write the rendered tool to ``path`` atomically."""
    return atomic_write(path, render_tool(generated))


# --- the pieces ----------------------------------------------------------------------------


def _codemeta_from_record(record: SoftwareRecord) -> Codemeta:
    data: dict[str, object] = {"name": record.title, "softwareVersion": record.version}
    if record.doi:
        data["identifier"] = f"https://doi.org/{record.doi}"
    return parse_codemeta(data, source=record.url or record.id)


def _check_text(codemeta: Codemeta) -> None:
    """Refuse control characters in name (one line) and description (newlines allowed)."""
    for field, value, pattern in (
        ("name", codemeta.name, _NAME_CONTROL),
        ("description", codemeta.description, _DOC_CONTROL),
    ):
        match = pattern.search(value or "")
        if match:
            raise UnsafeValue(
                f"{field}: contains the control character {match.group()!r}",
                source=codemeta.source,
                location=field,
                hint=f"write the {field} as plain text"
                + (" on one line" if field == "name" else ""),
            )


def _no_interface(codemeta: Codemeta, record: SoftwareRecord | None) -> InputError:
    source = codemeta.source or (record.id if record else None)
    if codemeta.executable_names:
        problem = (
            f"codemeta names the command {codemeta.executable_names[0]!r} but not its inputs "
            "and outputs, and the entry ships no .cwl CommandLineTool or ossrflow-interface.yml"
        )
    else:
        problem = "the entry ships no .cwl CommandLineTool or ossrflow-interface.yml"
    return InputError(
        problem,
        source=source,
        hint="pass --interface FILE (draft one with `ossrflow interface draft REF`), "
        "or ship ossrflow-interface.yml or a .cwl tool with the entry",
    )


def _tool_id(spec: ToolSpec, codemeta: Codemeta) -> str:
    """The default id: the file's stem for a shipped tool, else the executable name or name."""
    if spec.kind == "cwl":
        return _slug(spec.source.stem)
    return _slug(codemeta.executable_names[0] if codemeta.executable_names else codemeta.name)


def _base_command(codemeta: Codemeta) -> list[str]:
    name = codemeta.executable_names[0]
    if not PLAIN_COMMAND.match(name):
        raise UnsafeValue(
            f"executableName {name!r} is not a plain command name",
            source=codemeta.source,
            location="targetProduct.executableName",
            hint="give the program's name only (letters, digits, . _ + -), "
            "or set baseCommand in the interface file",
        )
    return [name]


def _complete(spec: ToolSpec, codemeta: Codemeta, tool_id: str, *, verify: bool) -> CommentedMap:
    """The spec's keys plus what the interface leaves to ossrflow; checked with cwltool."""
    document: CommentedMap = spec.document  # type: ignore[assignment]
    given = document.get("id")
    tool_id = given.strip().lstrip("#") if isinstance(given, str) and given.strip() else tool_id
    if spec.kind == "cwl":
        document["id"] = tool_id
        return document
    fill: dict[str, Any] = {"cwlVersion": "v1.2", "class": "CommandLineTool", "id": tool_id}
    if "baseCommand" not in document:
        if codemeta.executable_names:
            fill["baseCommand"] = _base_command(codemeta)
        elif "arguments" not in document:
            raise InputError(
                "the interface names no command",
                source=str(spec.source),
                location="1:1",
                hint="add baseCommand: [PROGRAM] (codemeta has no targetProduct executableName)",
            )
    for key in ("inputs", "outputs"):
        if key not in document:
            fill[key] = []
    if verify:
        _verify_interface(spec, fill)
    completed = CommentedMap(fill)
    completed.update((key, document[key]) for key in INTERFACE_KEYS if key in document)
    completed["id"] = fill["id"]
    return completed


def _verify_interface(spec: ToolSpec, fill: Mapping[str, Any]) -> None:
    """cwltool-validate the interface text with ``fill`` appended, so lines stay the user's."""
    text = spec.source.read_text(encoding="utf-8")
    document = spec.document
    block = not getattr(getattr(document, "fa", None), "flow_style", lambda: False)()
    appended = {k: v for k, v in fill.items() if k not in document}
    if block:
        text = text.rstrip("\n") + "\n" + _dump(appended)
    else:
        text = _dump({**appended, **_plain(document)})
    lines = text.count("\n")
    with tempfile.TemporaryDirectory(prefix="ossrflow-cwlgen-") as tmp:
        path = Path(tmp) / f"{spec.source.stem}.cwl"
        path.write_text(text, encoding="utf-8")
        try:
            verify_cwl(path, source=str(spec.source))
        except InputError as exc:
            line = int((exc.location or "0:0").split(":")[0])
            if not block or line > lines:
                exc.location = None
            exc.problem = exc.problem.replace(path.as_uri(), spec.source.resolve().as_uri())
            raise


def _build(
    spec: ToolSpec,
    document: CommentedMap,
    codemeta: Codemeta,
    record: SoftwareRecord | None,
    containers_dir: Path | None = None,
) -> GeneratedTool:
    from cwl_utils.parser import cwl_v1_2
    from schema_salad.exceptions import ValidationException, to_one_line_messages

    uri = spec.source.resolve().as_uri()
    try:
        with quiet_cwl_logs():
            tool = cwl_v1_2.load_document_by_yaml(document, uri)
    except ValidationException as exc:
        raise InputError(
            f"invalid CWL: {to_one_line_messages(exc).splitlines()[0]}",
            source=str(spec.source),
            hint="fix the tool so that `cwltool --validate` accepts it",
        ) from None
    if not isinstance(tool, cwl_v1_2.CommandLineTool):
        raise InputError(
            f"expected a CommandLineTool, got {type(tool).__name__}", source=str(spec.source)
        )
    pin_built_image(tool, codemeta, containers_dir)
    annotate_tool(tool, codemeta, record)
    tool_id = str(tool.id).rpartition("#")[2]
    return GeneratedTool(tool, tool_id, spec.kind, spec.source, uri)


# --- rendering and round trip --------------------------------------------------------------


def _plain(value: Any) -> Any:
    """Plain dicts/lists (no source styles or comments); multi-line strings as literal blocks."""
    if isinstance(value, Mapping):
        # cwl-utils names anonymous schemas "_:<uuid4>"; such names are not part of the tool.
        return {
            str(k): _plain(v)
            for k, v in value.items()
            if not (k == "name" and isinstance(v, str) and v.startswith("_:"))
        }
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str) and "\n" in value.rstrip("\n"):
        return LiteralScalarString(value)
    return value


def _dump(data: Mapping[str, Any]) -> str:
    yaml = YAML(typ="rt")
    yaml.default_flow_style = False
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=2, offset=0)
    stream = io.StringIO()
    yaml.dump(dict(data), stream)
    return stream.getvalue()


def _round_trip(generated: GeneratedTool) -> None:
    """Re-load the rendered text with cwl-utils and validate it with cwltool."""
    from cwl_utils.parser import cwl_v1_2

    text = render_tool(generated)
    with tempfile.TemporaryDirectory(prefix="ossrflow-cwlgen-") as tmp:
        path = Path(tmp) / f"{generated.tool_id}.cwl"
        path.write_text(text, encoding="utf-8")
        with quiet_cwl_logs():
            reloaded = cwl_v1_2.load_document_by_string(text, path.as_uri())
        if not isinstance(reloaded, cwl_v1_2.CommandLineTool):
            raise InputError(
                "the generated tool does not load back as a CommandLineTool",
                source=str(generated.interface_source),
            )
        verify_cwl(path, source=str(generated.interface_source))

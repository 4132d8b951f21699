"""Load YAML and JSON documents so that every later error can say ``file:line:col``.

``load_yaml_document`` keeps ruamel's round-trip nodes, which remember where each key and value
stood; ``location_of(node, key)`` turns that into ``line:col`` (1-based). ``load_json_document``
reports syntax errors with line and column. Both refuse what they cannot read with one line.

Every document a user, a cart, a registry or an upload gives is untrusted, so every reader here
applies :class:`Limits` before building anything: a size in bytes, a nesting depth, and for YAML
the number of values its aliases expand to (the "billion laughs" of nested ``&a``/``*a`` is
refused in milliseconds, from the node graph, before anything walks it). A refusal is one located
line, exit 2. :func:`check_document_limits` applies them to files that cwltool loads itself
(CWL documents and job orders).

:func:`find_schema_error` checks such a document against a JSON Schema (draft 2020-12) and turns
the first violation *in file order* into one located line, ``file:line:col: field.path: problem
(fix: hint)``:

- an unknown key names itself and the allowed keys (``additionalProperties``);
- a name refused by ``propertyNames`` points at the name;
- a ``oneOf`` of ``{required: [k]}`` branches reads "give exactly one of k1, k2";
- inside other ``oneOf``/``anyOf``, branches of the wrong JSON type are skipped, and a refused
  value is explained by its schema's ``description``.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from ossrflow.errors import InputError, NotFound

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "check_document_limits",
    "find_schema_error",
    "load_json_document",
    "load_yaml_document",
    "location_of",
    "parse_json_text",
    "parse_yaml_text",
    "plain",
    "read_document_text",
]


@dataclass(frozen=True)
class Limits:
    """What one document may hold: bytes, nesting depth, values once every alias is expanded."""

    max_bytes: int = 64 << 20
    max_depth: int = 128
    max_values: int = 5_000_000


DEFAULT_LIMITS = Limits()
_HINT_LIMITS = "this is not a document ossrflow reads; check where it came from"


def _too_large(size: int, limits: Limits, source: str) -> InputError:
    return InputError(
        f"document of {size} bytes is larger than the {limits.max_bytes} bytes allowed",
        source=source,
        hint=_HINT_LIMITS,
    )


def read_document_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """A text file within ``limits.max_bytes``, as UTF-8; one located line when it is not."""
    return _read_text(path, limits)


def _read_text(path: Path, limits: Limits = DEFAULT_LIMITS) -> str:
    """Only regular files, and never more than ``max_bytes`` (a FIFO or /dev/zero is refused)."""
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(path)
        if not stat.S_ISREG(mode):
            raise InputError(
                "is not a regular file (a device, pipe or socket)",
                source=str(path),
                hint="name a file",
            )
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)
        if len(data) > limits.max_bytes:
            raise _too_large(max(len(data), path.stat().st_size), limits, str(path))
        return data.decode("utf-8")
    except FileNotFoundError:
        raise NotFound(
            "file does not exist", source=str(path), hint="check the path and try again"
        ) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", source=str(path), hint="name a file") from None
    except PermissionError:
        raise InputError(
            "cannot be read (permission denied)", source=str(path), hint="check its permissions"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {exc.start})", source=str(path), hint="save the file as UTF-8"
        ) from None


def _mark(node: Node) -> str:
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"


def _check_graph(root: Node | None, limits: Limits, source: str) -> None:
    """Refuse a node graph whose expansion (aliases followed) is too deep, too large or endless.

    Sizes and depths are computed once per distinct node (aliases share their node), so an alias
    bomb costs what its text costs, not what it expands to.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values when expanded, depth)
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)] if root is not None else []
    while stack:
        node, closing = stack.pop()
        children = _children(node)
        if closing:
            open_nodes.discard(id(node))
            size = 1 + sum(sizes[id(child)][0] for child in children)
            depth = 1 + max((sizes[id(child)][1] for child in children), default=0)
            if depth > limits.max_depth:
                raise _too_deep(node, limits, source)
            if size > limits.max_values:
                raise _too_many(node, f"more than {limits.max_values} values", source)
            sizes[id(node)] = (size, depth)
        elif id(node) in open_nodes:
            raise _too_many(node, "a value that contains itself", source)
        elif id(node) not in sizes:
            open_nodes.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in children)


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _too_many(node: Node, what: str, source: str) -> InputError:
    return InputError(
        f"its aliases expand to {what} (a YAML alias bomb?)",
        source=source,
        location=_mark(node),
        hint=_HINT_LIMITS,
    )


def _flow_depth_ok(text: str, limits: Limits) -> bool:
    """Whether ``[``/``{`` nest at most ``max_depth`` deep (quoted text and comments skipped).

    ruamel's scanner slows down quadratically with flow nesting: this linear pass refuses a deep
    document before it is handed over.
    """
    depth, quote, comment, previous = 0, "", False, "\n"
    for char in text:
        if comment:
            comment = char != "\n"
        elif quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and previous in " \t\n":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > limits.max_depth:
                return False
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char
    return True


def _too_deep(node: Node | None, limits: Limits, source: str) -> InputError:
    return InputError(
        f"values are nested more than {limits.max_depth} levels deep",
        source=source,
        location=_mark(node) if node is not None else None,
        hint=_HINT_LIMITS,
    )


def parse_yaml_text(text: str, *, source: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse YAML text with positions kept, within ``limits``; one located line on an error."""
    if len(text) > limits.max_bytes:
        raise _too_large(len(text.encode()), limits, source)
    yaml = YAML(typ="rt")
    try:
        if not _flow_depth_ok(text, limits):
            raise RecursionError
        _check_graph(yaml.compose(text), limits, source)
        return yaml.load(text)
    except RecursionError:
        raise _too_deep(None, limits, source) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = f"{mark.line + 1}:{mark.column + 1}" if mark else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise InputError(
            f"invalid YAML: {problem}", source=source, location=location, hint="fix the syntax"
        ) from None
    except YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", source=source, hint="fix the syntax") from None


def load_yaml_document(path: Path, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Read a YAML file; the result's mappings and sequences know their line and column."""
    return parse_yaml_text(_read_text(path, limits), source=str(path), limits=limits)


def parse_json_text(text: str | bytes, *, source: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse JSON within ``limits``; a syntax error names its line and column."""
    if len(text) > limits.max_bytes:
        raise _too_large(len(text), limits, source)
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(None, limits, source) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            raise InputError(
                f"not UTF-8 text (byte {exc.start})", source=source, hint="save the file as UTF-8"
            ) from None
        raise InputError(
            f"invalid JSON: {exc.msg}",
            source=source,
            location=f"{exc.lineno}:{exc.colno}",
            hint="fix the JSON syntax (a validator such as `python -m json.tool` shows where)",
        ) from None
    _check_json_depth(value, limits, source)
    return value


def _check_json_depth(value: Any, limits: Limits, source: str) -> None:
    """Nesting and value count of parsed JSON (it has no aliases: what was read is what counts)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    count = 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > limits.max_values:
            raise InputError(
                f"it holds more than {limits.max_values} values", source=source, hint=_HINT_LIMITS
            )
        if depth > limits.max_depth:
            raise _too_deep(None, limits, source)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def load_json_document(path: Path, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Read a JSON file within ``limits``; a syntax error names its line and column."""
    return parse_json_text(_read_text(path, limits), source=str(path), limits=limits)


def check_document_limits(path: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a YAML or JSON file (a CWL document, a job order) that breaks ``limits``.

    For files another library parses afterwards (cwltool): only the checks run here.
    """
    text = _read_text(path, limits)
    if text.lstrip()[:1] in ("{", "["):
        # JSON (a packed workflow, a generated job order): the json module reads it ten times
        # faster than ruamel composes it; what is not JSON after all goes the YAML way.
        try:
            value = json.loads(text)
        except RecursionError:
            raise _too_deep(None, limits, str(path)) from None
        except ValueError:
            pass
        else:
            _check_json_depth(value, limits, str(path))
            return
    yaml = YAML(typ="rt")
    try:
        if not _flow_depth_ok(text, limits):
            raise RecursionError
        _check_graph(yaml.compose(text), limits, str(path))
    except RecursionError:
        raise _too_deep(None, limits, str(path)) from None
    except YAMLError:
        return  # not YAML: the loader that follows says what is wrong, with its location


def location_of(node: object, key: str | int | None = None) -> str | None:
    """``line:col`` (1-based) of ``node[key]``'s key (or of ``node``), when the loader recorded it."""
    lc = getattr(node, "lc", None)
    if lc is None:
        return None
    try:
        if key is None:
            line, col = lc.line, lc.col
        elif isinstance(key, int):
            line, col = lc.item(key)
        else:
            line, col = lc.key(key)
    except (KeyError, IndexError, TypeError):
        line, col = lc.line, lc.col
    return f"{line + 1}:{col + 1}"


def plain(value: object) -> object:
    """ruamel's containers and scalars as plain dicts, lists, str, int, float and bool."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _node_at(document: object, path: Sequence[str | int]) -> tuple[object, str | int | None]:
    """The container holding ``path``'s last part, and that part (for location_of)."""
    node: object = document
    for part in path[:-1]:
        try:
            node = node[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return node, None
    return node, (path[-1] if path else None)


def _dotted(path: Sequence[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top)"


def _pick(error: Any) -> Any:
    """The most useful error of a oneOf: skip branches of the wrong type, prefer unknown keys."""
    while error.context:
        useful = [e for e in error.context if e.validator != "type"]
        if not useful or _only_required(error):
            break
        error = min(
            useful,
            key=lambda e: (e.validator in ("oneOf", "anyOf"), -len(e.absolute_path)),
        )
    return error


def _only_required(error: Any) -> bool:
    branches = error.schema.get("oneOf") if isinstance(error.schema, Mapping) else None
    if not isinstance(branches, list) or not branches:
        return False
    return all(isinstance(b, Mapping) and set(b) == {"required"} for b in branches)


def _describe(error: Any) -> tuple[str, str | int | None, list[str | int]]:
    """(problem, key to point at, path of the container) for one jsonschema error."""
    path = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extra = sorted(str(k) for k in error.instance if k not in allowed)[0]
        return f"unknown key {extra!r} (allowed: {', '.join(allowed)})", extra, path
    if error.validator == "required":
        return error.message.replace("property", "key"), None, path
    if _only_required(error):
        keys = [b["required"][0] for b in schema["oneOf"]]
        return f"give exactly one of {', '.join(keys)}", None, path
    if (
        error.validator == "pattern"
        and error.validator_value
        and "propertyNames" in str(error.relative_schema_path)
    ):
        return _name_problem(error.instance, schema), error.instance, path
    detail = schema.get("description") if error.validator in ("oneOf", "anyOf", "pattern") else None
    value = json.dumps(error.instance, ensure_ascii=False)[:80]
    return (f"{value} is not allowed: {detail}" if detail else error.message), None, path


def _name_problem(name: object, schema: Mapping[str, Any]) -> str:
    return f"name {json.dumps(name, ensure_ascii=False)[:80]} is not allowed: {schema.get('description', '')}"


def find_schema_error(
    document: object, schema: Mapping[str, Any], *, source: str, hint: str
) -> InputError | None:
    """The first schema violation in file order, as one located error; None when valid."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    located = [_locate(document, _pick(e)) for e in validator.iter_errors(plain(document))]
    if not located:
        return None
    _, location, problem = min(located, key=lambda found: found[0])
    return InputError(problem, source=source, location=location, hint=hint)


def _locate(document: object, error: Any) -> tuple[tuple[int, int], str | None, str]:
    """(sort key, line:col, "field: problem") for one jsonschema error."""
    problem, key, path = _describe(error)
    if key is not None:
        container, _ = _node_at(document, [*path, ""])
        location = location_of(container, key)
        path = [*path, key]
    else:
        container, last = _node_at(document, path)
        location = location_of(container, last)
    line, _, col = (location or "0:0").partition(":")
    return (int(line), int(col)), location, f"{_dotted(path)}: {problem}"

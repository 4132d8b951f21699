"""Load YAML and JSON documents so that every later error can say ``file:line:col``.

``load_yaml_document`` keeps ruamel's round-trip nodes, which remember where each key and value
stood; ``location_of(node, key)`` turns that into ``line:col`` (1-based). ``load_json_document``
reports syntax errors with line and column. Both refuse what they cannot read with one line.

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
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ossrflow.errors import InputError, NotFound

__all__ = [
    "find_schema_error",
    "load_json_document",
    "load_yaml_document",
    "location_of",
    "parse_yaml_text",
    "plain",
]


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(
            "file does not exist", source=str(path), hint="check the path and try again"
        ) from None
    except IsADirectoryError:
        raise InputError("is a folder, not a file", source=str(path), hint="name a file") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not UTF-8 text (byte {exc.start})", source=str(path), hint="save the file as UTF-8"
        ) from None


def parse_yaml_text(text: str, *, source: str) -> Any:
    """Parse YAML text with positions kept; one located line on a syntax error."""
    yaml = YAML(typ="rt")
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        location = f"{mark.line + 1}:{mark.column + 1}" if mark else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        raise InputError(
            f"invalid YAML: {problem}", source=source, location=location, hint="fix the syntax"
        ) from None
    except YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", source=source, hint="fix the syntax") from None


def load_yaml_document(path: Path) -> Any:
    """Read a YAML file; the result's mappings and sequences know their line and column."""
    return parse_yaml_text(_read_text(path), source=str(path))


def load_json_document(path: Path) -> Any:
    """Read a JSON file; a syntax error names its line and column."""
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON: {exc.msg}",
            source=str(path),
            location=f"{exc.lineno}:{exc.colno}",
            hint="fix the JSON syntax (a validator such as `python -m json.tool` shows where)",
        ) from None


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

"""Check a YAML document (ruamel, positions kept) against a JSON Schema; one located error.

:func:`find_schema_error` validates with ``jsonschema`` (draft 2020-12) and turns the first
violation *in file order* into an :class:`~ossrflow.errors.InputError` reading
``file:line:col: field.path: problem (fix: hint)``:

- an unknown key names itself and the allowed keys (``additionalProperties``);
- a name refused by ``propertyNames`` points at the name;
- a ``oneOf`` of ``{required: [k]}`` branches reads "give exactly one of k1, k2";
- inside other ``oneOf``/``anyOf``, branches of the wrong JSON type are skipped, and a refused
  value is explained by its schema's ``description``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ossrflow.documents import location_of
from ossrflow.errors import InputError

__all__ = ["find_schema_error", "plain"]


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

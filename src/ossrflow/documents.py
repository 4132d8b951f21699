"""Load YAML and JSON documents so that every later error can say ``file:line:col``.

``load_yaml_document`` keeps ruamel's round-trip nodes, which remember where each key and value
stood; ``location_of(node, key)`` turns that into ``line:col`` (1-based). ``load_json_document``
reports syntax errors with line and column. Both refuse what they cannot read with one line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ossrflow.errors import InputError, NotFound

__all__ = ["load_json_document", "load_yaml_document", "location_of", "parse_yaml_text"]


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

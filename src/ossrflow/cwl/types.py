"""CWL types as wiring and matching reason about them, and ossrflow's CWL namespace.

:class:`CwlType` reduces a CWL type to a base name, an array depth and optionality;
:func:`parse_type` reads one from cwl-utils objects and :func:`signature_of` a tool's inputs and
outputs; :func:`compatible` says whether a source may feed a sink. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "OSSRFLOW_NS",
    "CwlType",
    "Param",
    "Signature",
    "compatible",
    "parse_type",
    "parse_type_string",
    "signature_of",
]

OSSRFLOW_NS = "https://ossrflow.example/cwl#"
_NUMERIC = ("int", "long", "float", "double")
_CWL_NS = "https://w3id.org/cwl/cwl#"


@dataclass(frozen=True)
class CwlType:
    """A CWL type reduced to what wiring needs: a base name, array depth and optionality.

    ``base`` is a CWL primitive, ``File``/``Directory``, ``enum``, ``record`` or ``Any`` (also
    used for unions that wiring cannot reason about: they are never refused).
    """

    base: str
    depth: int = 0
    optional: bool = False

    def __str__(self) -> str:
        return self.base + "[]" * self.depth + ("?" if self.optional else "")

    def array(self, levels: int = 1) -> CwlType:
        return CwlType(self.base, self.depth + levels, False)

    def required(self) -> CwlType:
        return CwlType(self.base, self.depth, False)


@dataclass(frozen=True)
class Param:
    """One tool input or output."""

    name: str
    type: CwlType
    has_default: bool = False
    formats: tuple[str, ...] = ()
    label: str | None = None

    @property
    def required(self) -> bool:
        return not self.type.optional and not self.has_default


@dataclass(frozen=True)
class Signature:
    """The inputs and outputs of one entry's tool, by name."""

    tool_id: str
    inputs: Mapping[str, Param]
    outputs: Mapping[str, Param]


def _short(name: str) -> str:
    return name.removeprefix(_CWL_NS).rpartition("#")[2]


def parse_type(value: Any) -> CwlType:
    """A cwl-utils type (string, union list or array/enum/record schema) as a :class:`CwlType`."""
    if isinstance(value, str):
        return parse_type_string(_short(value))
    if isinstance(value, list):
        members = [m for m in value if not (isinstance(m, str) and _short(m) == "null")]
        optional = len(members) != len(value)
        if len(members) == 1:
            inner = parse_type(members[0])
            return CwlType(inner.base, inner.depth, optional or inner.optional)
        return CwlType("Any", 0, optional)
    kind = getattr(value, "type_", None) or getattr(value, "type", None)
    kind = _short(kind) if isinstance(kind, str) else kind
    if kind == "array":
        items = parse_type(getattr(value, "items", "Any"))
        return CwlType(items.base, items.depth + 1, False)
    if kind in ("enum", "record"):
        return CwlType(str(kind))
    return CwlType("Any")


def parse_type_string(text: str) -> CwlType:
    """A type written as text (``File[]?``, ``stdout``) as a :class:`CwlType`."""
    optional = text.endswith("?")
    text = text.removesuffix("?")
    depth = 0
    while text.endswith("[]"):
        text, depth = text[:-2], depth + 1
    if text in ("stdout", "stderr"):
        text = "File"
    return CwlType(text, depth, optional)


def _formats(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _param_name(param: Any) -> str:
    return str(param.id).rpartition("#")[2].rpartition("/")[2]


def signature_of(tool: Any) -> Signature:
    """The signature of a ``cwl_utils.parser.cwl_v1_2.CommandLineTool``."""
    inputs = {
        _param_name(p): Param(
            _param_name(p),
            parse_type(p.type_),
            p.default is not None,
            _formats(p.format),
            p.label,
        )
        for p in tool.inputs or []
    }
    outputs = {
        _param_name(p): Param(
            _param_name(p),
            parse_type(p.type_),
            False,
            _formats(getattr(p, "format", None)),
            p.label,
        )
        for p in tool.outputs or []
    }
    return Signature(str(tool.id).rpartition("#")[2], inputs, outputs)


def compatible(source: CwlType, sink: CwlType) -> bool:
    """Whether a value of ``source`` type may feed an input of ``sink`` type."""
    if "Any" in (source.base, sink.base):
        return True  # CWL's Any takes every value; unions wiring cannot follow are let through
    if source.depth != sink.depth:
        return False
    if source.base == sink.base or {source.base, sink.base} <= {"string", "enum"}:
        return True
    if "record" in (source.base, sink.base):
        return source.base == sink.base
    if source.base in _NUMERIC and sink.base in _NUMERIC:
        return _NUMERIC.index(source.base) <= _NUMERIC.index(sink.base)
    return False

"""Workflow definition files: the typed :class:`Definition` (read by :mod:`.definition_reader`).

A definition file (YAML, reference in docs/definition.md, schema in
``data/definition.schema.json``) names registry entries, data, steps and outputs. It is
untrusted: :func:`~ossrflow.compose.definition_reader.load_definition` checks it against the JSON Schema (names, shapes, one-line
values, scheduler names without shell characters) and then applies the path rule:

    Every path in a definition (``cart:``, ``interface:``, local ``location:`` values and
    ``dir:``/folder entry references) is relative to the definition's folder and must stay inside
    it: ``..`` that climbs out, absolute paths, ``file:`` URLs and symbolic links that lead out are
    refused, unless the caller allows absolute paths (``--allow-absolute-paths``); ``..`` is
    refused even then.

Every error reads ``file:line:col: field: problem (fix: ...)`` and exits 2. Nothing here reads
the network or writes a file: resolving entries and staging data is :mod:`ossrflow.compose.composition`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ossrflow.errors import InputError
from ossrflow.staging.cart import CartItem

__all__ = [
    "Definition",
    "EntrySpec",
    "InputSpec",
    "OutputSpec",
    "Resources",
    "StepInput",
    "StepSpec",
    "value_type",
]

InputKind = Literal["files", "cart", "value"]


@dataclass(frozen=True)
class EntrySpec:
    """``entries.ALIAS``: a registry reference (local ones already confined and made absolute)."""

    alias: str
    ref: str  # as written
    resolved: str  # what get_entry receives: the ref, or dir:/abs/path for a local one
    version: str | None
    interface: Path | None
    tool: str | None
    where: str


@dataclass(frozen=True)
class InputSpec:
    """``inputs.NAME``: files (one location or a list), a cart, or a parameter value."""

    name: str
    kind: InputKind
    items: tuple[CartItem, ...]  # files and cart inputs
    cart: Path | None  # cart inputs: the cart file
    many: bool  # File[] (a list or a cart) rather than one File
    value: Any  # value inputs: plain str/int/float/bool or a list of one of them
    cwl_type: str  # "File", "File[]", "string", "int[]", ...
    label: str | None
    doc: str | None
    where: str
    cart_where: str = ""  # cart inputs: line:col of ``cart:``


@dataclass(frozen=True)
class StepInput:
    """``steps.S.in.NAME``: sources (``input`` or ``step/output``) and/or a literal value."""

    name: str
    sources: tuple[str, ...]
    merge: bool  # several sources, or a list: linkMerge merge_flattened
    value: Any
    has_value: bool
    where: str
    source_where: tuple[str, ...]  # line:col of each source string


@dataclass(frozen=True)
class Resources:
    """Per-step overrides: CWL ResourceRequirement/ToolTimeLimit plus scheduler placement."""

    cores: int | None = None
    ram_mib: int | None = None
    runtime_s: int | None = None
    partition: str | None = None
    queue: str | None = None
    account: str | None = None

    def scheduler(self) -> dict[str, str]:
        values = {"partition": self.partition, "queue": self.queue, "account": self.account}
        return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class StepSpec:
    """``steps.NAME``: the entry alias it runs, its wiring, scatter and resources."""

    name: str
    run: str
    inputs: tuple[StepInput, ...]
    scatter: tuple[str, ...]
    scatter_method: str | None
    resources: Resources
    label: str | None
    doc: str | None
    where: str
    run_where: str
    scatter_where: str


@dataclass(frozen=True)
class OutputSpec:
    """``outputs.NAME``: the ``step/output`` it returns."""

    name: str
    source: str
    label: str | None
    doc: str | None
    where: str


@dataclass(frozen=True)
class Definition:
    """A checked definition file; ``where`` strings are ``line:col`` in ``path``."""

    path: Path
    sha256: str
    label: str | None
    doc: str | None
    entries: Mapping[str, EntrySpec]
    inputs: Mapping[str, InputSpec]
    steps: Mapping[str, StepSpec]
    outputs: Mapping[str, OutputSpec]

    @property
    def source(self) -> str:
        return str(self.path)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def error(
        self, problem: str, where: str | None, hint: str, cls: type[InputError] = InputError
    ) -> InputError:
        """An error located in this file."""
        return cls(problem, source=self.source, location=where, hint=hint)


def value_type(value: Any) -> str | None:
    """The CWL type of a plain parameter value; None for an empty or mixed list."""
    if isinstance(value, list):
        kinds = {value_type(item) for item in value}
        return f"{kinds.pop()}[]" if len(kinds) == 1 and None not in kinds else None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int" if -(2**31) <= value < 2**31 else "long"
    if isinstance(value, float):
        return "double"
    return "string"

"""Read a workflow definition file into a :class:`~ossrflow.compose.definition.Definition`.

:func:`load_definition` checks the YAML document against the JSON Schema
(``data/definition.schema.json``), then a reader turns each section into the typed model,
confining every path to the definition's folder (the rule is in :mod:`.definition`'s docstring).
Every refusal is located ``file:line:col``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ossrflow.compose.definition import (
    Definition,
    EntrySpec,
    InputSpec,
    OutputSpec,
    Resources,
    StepInput,
    StepSpec,
    value_type,
)
from ossrflow.documents import find_schema_error, location_of, plain
from ossrflow.errors import InputError, OssrflowError, UnsafeValue
from ossrflow.integrity import hash_file, parse_checksum, safe_join
from ossrflow.registry import parse_ref
from ossrflow.staging.cart import CartItem, load_cart, parse_cart
from ossrflow.staging.formats import parse_format
from ossrflow.tools.interface import load_indented_yaml

__all__ = ["cart_error", "definition_schema", "load_definition"]


_MEM_UNITS = {"k": 1 / 1024, "m": 1, "g": 1024, "t": 1024 * 1024}


_TIME_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


_SIZE = re.compile(r"^(?P<n>[0-9]+(?:\.[0-9]+)?) ?(?P<unit>[KkMmGgTt])(?P<i>i?)[Bb]?$")


_DURATION = re.compile(r"^(?P<n>[0-9]+(?:\.[0-9]+)?) ?(?P<unit>s|m|min|h|d)$")


_HINT = "see docs/definition.md for the definition file reference"


@cache
def definition_schema() -> dict[str, Any]:
    """The JSON Schema of definition files (``data/definition.schema.json``)."""
    text = resources.files("ossrflow").joinpath("data/definition.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_definition(path: Path, *, allow_absolute_paths: bool = False) -> Definition:
    """Read and check a definition file; see the module docstring for the rules."""
    document = load_indented_yaml(path)
    reader = _Reader(path, document, allow_absolute_paths)
    reader.check_schema()
    return reader.definition()


class _Reader:
    """Turns the checked YAML document into the typed definition, confining every path."""

    def __init__(self, path: Path, document: Any, allow_absolute: bool) -> None:
        self.path = path
        self.source = str(path)
        self.document = document
        self.folder = path.parent.absolute()
        self.allow_absolute = allow_absolute

    def check_schema(self) -> None:
        if not isinstance(self.document, Mapping):
            raise InputError(
                "a definition must be a mapping with entries, inputs, steps and outputs",
                source=self.source,
                location=location_of(self.document),
                hint=_HINT,
            )
        error = find_schema_error(
            self.document, definition_schema(), source=self.source, hint=_HINT
        )
        if error is not None:
            if "None is not of type 'object'" in error.problem:
                field = error.problem.split(":", 1)[0].rsplit(".", 1)[-1]
                error.hint = (
                    f"`{field}:` is empty: if the lines below it belong to it, indent them "
                    f"further than `{field}:`"
                )
            raise error
        self.check_unique()

    def check_unique(self) -> None:
        """Inputs, steps and outputs share one id namespace in a CWL Workflow."""
        seen: dict[str, str] = {}
        for section in ("inputs", "steps", "outputs"):
            node = self.document.get(section) or {}
            for name in node:
                if name in seen:
                    raise InputError(
                        f"{section}.{name}: the name {name!r} is already used by {seen[name]}",
                        source=self.source,
                        location=self.at(node, name),
                        hint="inputs, steps and outputs share one namespace in CWL; rename one",
                    )
                seen[name] = f"{section}.{name}"

    def definition(self) -> Definition:
        doc = self.document
        return Definition(
            path=self.path,
            sha256=hash_file(self.path)["sha256"],
            label=_text(doc.get("label")),
            doc=_text(doc.get("doc")),
            entries={k: self.entry(k, v) for k, v in doc["entries"].items()},
            inputs={k: self.input(k, v) for k, v in (doc.get("inputs") or {}).items()},
            steps={k: self.step(k, v) for k, v in doc["steps"].items()},
            outputs={k: self.output(k, v) for k, v in doc["outputs"].items()},
        )

    def at(self, node: object, key: str | int | None = None) -> str:
        return location_of(node, key) or "1:1"

    @property
    def inputs(self) -> Any:
        return self.document.get("inputs") or {}

    # paths ----------------------------------------------------------------------------------

    def check_absolute(self, text: str, field: str, where: str) -> None:
        """Absolute paths (and file: URLs) only when allowed; never with '..' in them."""
        if not self.allow_absolute:
            raise UnsafeValue(
                f"{field}: absolute path {text!r} is refused",
                source=self.source,
                location=where,
                hint=f"give a path relative to {self.folder}, "
                "or pass --allow-absolute-paths if you trust this file",
            )
        if ".." in text.replace("\\", "/").split("/"):
            raise UnsafeValue(
                f"{field}: path {text!r} contains '..'",
                source=self.source,
                location=where,
                hint="write the absolute path without '..'",
            )

    def local_path(self, text: str, field: str, where: str) -> Path:
        """A path from the file: relative and confined, or absolute when that is allowed."""
        raw = Path(text).expanduser() if text.startswith("~") else Path(text)
        if raw.is_absolute():
            self.check_absolute(text, field, where)
            return raw
        try:
            return safe_join(self.folder, text, source=self.source, location=where)
        except UnsafeValue as exc:
            exc.problem = f"{field}: {exc.problem}"
            raise

    # entries --------------------------------------------------------------------------------

    def entry(self, alias: str, node: Any) -> EntrySpec:
        where = self.at(self.document["entries"], alias)
        spec = node if isinstance(node, Mapping) else {"ref": node}
        ref_where = self.at(node, "ref") if isinstance(node, Mapping) else where
        ref = str(spec["ref"])
        resolved = self.entry_ref(ref, f"entries.{alias}.ref", ref_where)
        interface = None
        if spec.get("interface") is not None:
            interface = self.local_path(
                str(spec["interface"]), f"entries.{alias}.interface", self.at(node, "interface")
            )
        version = spec.get("version")
        return EntrySpec(
            alias=alias,
            ref=ref,
            resolved=resolved,
            version=None if version is None else str(version),
            interface=interface,
            tool=_text(spec.get("tool")),
            where=where,
        )

    def entry_ref(self, ref: str, field: str, where: str) -> str:
        try:
            parsed = parse_ref(ref)
        except OssrflowError as exc:
            raise InputError(
                f"{field}: {exc.problem}", source=self.source, location=where, hint=exc.hint
            ) from None
        if not parsed.is_local:
            return ref
        return "dir:" + str(self.local_path(parsed.value, field, where))

    # inputs ---------------------------------------------------------------------------------

    def input(self, name: str, node: Any) -> InputSpec:
        where = self.at(self.inputs, name)
        spec = node if isinstance(node, Mapping) else {"location": node}
        self.check_data_fields(name, node, spec)
        label, doc = _text(spec.get("label")), _text(spec.get("doc"))
        if "value" in spec:
            value, cwl_type = self.value(name, node, spec["value"])
            return InputSpec(name, "value", (), None, False, value, cwl_type, label, doc, where)
        if "cart" in spec:
            where_cart = self.at(node, "cart")
            cart = self.local_path(str(spec["cart"]), f"inputs.{name}.cart", where_cart)
            try:
                items = self.cart(cart)
            except OssrflowError as exc:
                raise cart_error(exc, f"inputs.{name}.cart", self.source, where_cart) from None
            return InputSpec(
                name, "cart", items, cart, True, None, "File[]", label, doc, where, where_cart
            )
        items, many = self.locations(name, node, spec)
        cwl_type = "File[]" if many else "File"
        return InputSpec(name, "files", items, None, many, None, cwl_type, label, doc, where)

    def value(self, name: str, node: Any, given: Any) -> tuple[Any, str]:
        value = plain(given)
        cwl_type = value_type(value)
        if cwl_type is None:
            raise InputError(
                f"inputs.{name}.value: cannot tell the type of an empty or mixed list",
                source=self.source,
                location=self.at(node, "value"),
                hint="give a non-empty list whose items are all strings, all numbers or all booleans",
            )
        return value, cwl_type

    def check_data_fields(self, name: str, node: Any, spec: Mapping[str, Any]) -> None:
        """checksum: and format: are checked where they are written."""
        for key, parse in (("checksum", parse_checksum), ("format", parse_format)):
            if spec.get(key) is None:
                continue
            try:
                parse(str(spec[key]), source=self.source, location=self.at(node, key))
            except InputError as exc:
                exc.problem = f"inputs.{name}.{key}: {exc.problem}"
                raise

    def cart(self, path: Path) -> tuple[CartItem, ...]:
        root = Path(path.anchor) if self.allow_absolute else None
        return tuple(load_cart(path, data_root=root))

    def locations(
        self, name: str, node: Any, spec: Mapping[str, Any]
    ) -> tuple[tuple[CartItem, ...], bool]:
        given = spec["location"]
        if not isinstance(given, list):
            holder, key = (node, "location") if isinstance(node, Mapping) else (self.inputs, name)
            return (self.location(name, str(given), spec, self.at(holder, key)),), False
        if spec.get("checksum") is not None:
            raise InputError(
                f"inputs.{name}.checksum: one checksum cannot check a list of locations",
                source=self.source,
                location=self.at(node, "checksum"),
                hint="list the files in a cart file with one checksum each",
            )
        items = (self.location(name, str(t), spec, self.at(given, i)) for i, t in enumerate(given))
        return tuple(items), True

    def location(self, name: str, text: str, spec: Mapping[str, Any], where: str) -> CartItem:
        field = f"inputs.{name}.location"
        if text.startswith(("/", "~", "file:")):
            self.check_absolute(text, field, where)
            text = str(Path(text).expanduser()) if text.startswith("~") else text
        item: dict[str, object] = {"location": text}
        for key in ("checksum", "format"):
            if spec.get(key) is not None:
                item[key] = str(spec[key])
        root = Path(self.folder.anchor) if self.allow_absolute else self.folder
        try:
            parsed = parse_cart([item], source=self.source, base=self.folder, data_root=root)[0]
        except OssrflowError as exc:
            problem = (
                exc.problem.split(": ", 1)[-1] if exc.problem.startswith("items") else exc.problem
            )
            raise type(exc)(
                f"{field}: {problem}", source=self.source, location=where, hint=exc.hint
            ) from None
        return replace(parsed, origin=f"{self.source}:{where}")

    # steps and outputs ----------------------------------------------------------------------

    def step(self, name: str, node: Any) -> StepSpec:
        wired = node.get("in") or {}
        scatter = node.get("scatter")
        scatter_names = (
            tuple(scatter) if isinstance(scatter, list) else ((scatter,) if scatter else ())
        )
        return StepSpec(
            name=name,
            run=str(node["run"]),
            inputs=tuple(self.step_input(wired, key, value) for key, value in wired.items()),
            scatter=tuple(str(s) for s in scatter_names),
            scatter_method=_text(node.get("scatterMethod")),
            resources=self.resources(node.get("resources") or {}),
            label=_text(node.get("label")),
            doc=_text(node.get("doc")),
            where=self.at(self.document["steps"], name),
            run_where=self.at(node, "run"),
            scatter_where=self.at(node, "scatter")
            if scatter
            else self.at(self.document["steps"], name),
        )

    def step_input(self, wired: Any, name: str, node: Any) -> StepInput:
        where = self.at(wired, name)
        spec = node if isinstance(node, Mapping) else {"source": node}
        source = spec.get("source")
        holder = spec if isinstance(node, Mapping) else wired
        key = "source" if isinstance(node, Mapping) else name
        if isinstance(source, list):
            sources = tuple(str(s) for s in source)
            wheres = tuple(self.at(source, i) for i in range(len(source)))
        elif source is not None:
            sources, wheres = (str(source),), (self.at(holder, key),)
        else:
            sources, wheres = (), ()
        return StepInput(
            name=name,
            sources=sources,
            merge=isinstance(source, list),
            value=plain(spec.get("value")),
            has_value="value" in spec,
            where=where,
            source_where=wheres,
        )

    def resources(self, node: Mapping[str, Any]) -> Resources:
        mem, runtime = node.get("mem"), node.get("runtime")
        return Resources(
            cores=int(node["cores"]) if node.get("cores") is not None else None,
            ram_mib=None if mem is None else _mebibytes(mem),
            runtime_s=None if runtime is None else _seconds(runtime),
            partition=_text(node.get("partition")),
            queue=_text(node.get("queue")),
            account=_text(node.get("account")),
        )

    def output(self, name: str, node: Any) -> OutputSpec:
        spec = node if isinstance(node, Mapping) else {"source": node}
        where = (
            self.at(node, "source")
            if isinstance(node, Mapping)
            else self.at(self.document["outputs"], name)
        )
        return OutputSpec(
            name, str(spec["source"]), _text(spec.get("label")), _text(spec.get("doc")), where
        )


def cart_error(exc: OssrflowError, field: str, source: str, where: str) -> OssrflowError:
    """A cart's error, located at the definition line naming the cart (its own place kept)."""
    place = ":".join(str(part) for part in (exc.source, exc.location) if part)
    problem = f"{field}: {place}: {exc.problem}" if place else f"{field}: {exc.problem}"
    located = type(exc)(problem, source=source, location=where, hint=exc.hint)
    return located


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _mebibytes(value: object) -> int:
    """``512`` (MiB), ``512M``, ``4G``, ``2GiB`` -> MiB (the schema already checked the form)."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if match is None:  # the schema pattern already refused it
        raise InputError(f"memory {value!r} is not a size", hint="write e.g. 512M or 4G")
    return max(1, round(float(match["n"]) * _MEM_UNITS[match["unit"].lower()]))


def _seconds(value: object) -> int:
    """``30`` (minutes), ``90s``, ``30m``, ``2h``, ``1d`` -> seconds."""
    if isinstance(value, int):
        return value * 60
    match = _DURATION.match(str(value))
    if match is None:  # the schema pattern already refused it
        raise InputError(f"runtime {value!r} is not a duration", hint="write e.g. 30m or 2h")
    return max(1, round(float(match["n"]) * _TIME_UNITS[match["unit"]]))

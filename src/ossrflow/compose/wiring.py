"""Check how a definition wires its steps, before any CWL is written; every error is located.

Given the definition and the signature (inputs and outputs with CWL types) of each entry's tool,
:func:`check_wiring` refuses, in this order:

1. a step that runs an unknown entry alias;
2. a step input the tool does not have, or a scatter over an input that is not wired;
3. a source that names no workflow input, no step, or an output the step's tool does not have;
4. a required tool input (not optional, no default) that nothing feeds;
5. steps that depend on each other in a cycle;
6. a type mismatch between a source and the input it feeds (``File`` vs ``File[]`` ...);
   scatter turns a step's ``T`` outputs into ``T[]`` (one level per scattered input with
   ``nested_crossproduct``), and a scattered input takes ``T[]`` for its ``T``;
7. a workflow input of files without a format feeding a tool input that requires one.

:func:`check_structure` runs the checks that need no tool (1, 3 without outputs, scatter, 5) so
that compose can refuse them before resolving any entry. :func:`check_wiring` returns the types it
inferred (:class:`Wiring`), with the steps in topological order. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ossrflow.compose.definition import Definition, StepInput, StepSpec, value_type
from ossrflow.cwl.types import CwlType, Param, Signature, compatible, parse_type_string
from ossrflow.errors import InputError, NotFound

__all__ = [
    "Wiring",
    "check_structure",
    "check_wiring",
]


@dataclass(frozen=True)
class Wiring:
    """What the checks inferred: step order, and the type of every step output and output."""

    order: tuple[str, ...]
    step_outputs: Mapping[str, Mapping[str, CwlType]]
    outputs: Mapping[str, CwlType]
    requirements: frozenset[str] = field(default_factory=frozenset)


# --- the checks --------------------------------------------------------------------------


class _Checker:
    def __init__(self, definition: Definition, signatures: Mapping[str, Signature] | None) -> None:
        self.d = definition
        self.tools_known = signatures is not None
        self.signatures: Mapping[str, Signature] = signatures or {}
        self.step_outputs: dict[str, dict[str, CwlType]] = {}
        self.requirements: set[str] = set()

    def fail(
        self, problem: str, where: str | None, hint: str, cls: type[InputError] = InputError
    ) -> InputError:
        return self.d.error(problem, where, hint, cls)

    def signature(self, step: StepSpec) -> Signature:
        return self.signatures[step.run]

    # 1-4: names -------------------------------------------------------------------------

    def check_structure(self) -> None:
        """What needs no tool: known aliases, inputs and steps; scatter over wired inputs."""
        for step in self.d.steps.values():
            if step.run not in self.d.entries:
                raise self.fail(
                    f"steps.{step.name}.run: unknown entry {step.run!r}",
                    step.run_where,
                    f"use one of the aliases under entries: {', '.join(self.d.entries)}",
                    NotFound,
                )
        for step in self.d.steps.values():
            self.check_sources(step)
            wired = [item.name for item in step.inputs]
            for name in step.scatter:
                if name not in wired:
                    raise self.fail(
                        f"steps.{step.name}.scatter: {name!r} is not one of the step's wired "
                        "inputs",
                        step.scatter_where,
                        f"scatter over an input listed under in: ({', '.join(wired) or 'none'})",
                        NotFound,
                    )
        for output in self.d.outputs.values():
            self.check_source(output.source, f"outputs.{output.name}", output.where)

    def check_sources(self, step: StepSpec) -> None:
        for item in step.inputs:
            for source, where in zip(item.sources, item.source_where, strict=True):
                self.check_source(source, f"steps.{step.name}.in.{item.name}", where)

    def check_tools(self) -> None:
        """What needs the tools: their inputs and outputs by name; required inputs fed."""
        for step in self.d.steps.values():
            signature = self.signature(step)
            wired = {item.name for item in step.inputs}
            for item in step.inputs:
                if item.name not in signature.inputs:
                    raise self.fail(
                        f"steps.{step.name}.in.{item.name}: {step.run} has no input {item.name!r}",
                        item.where,
                        f"inputs of {step.run}: {', '.join(signature.inputs) or 'none'}",
                        NotFound,
                    )
            self.check_sources(step)
            for param in signature.inputs.values():
                if param.required and param.name not in wired:
                    raise self.fail(
                        f"steps.{step.name}: input {param.name!r} ({param.type}) of {step.run} "
                        "is required but nothing feeds it",
                        step.where,
                        f"add it under in:, e.g. in: {{{param.name}: INPUT_OR_STEP/OUTPUT}}",
                    )
        for output in self.d.outputs.values():
            self.check_source(output.source, f"outputs.{output.name}", output.where)

    def check_source(self, source: str, field: str, where: str) -> None:
        name, slash, output = source.partition("/")
        if not slash:
            if name not in self.d.inputs:
                raise self.fail(
                    f"{field}: unknown workflow input {name!r}",
                    where,
                    f"workflow inputs: {', '.join(self.d.inputs) or 'none'}; "
                    "a step output is written STEP/OUTPUT",
                    NotFound,
                )
            return
        producer = self.d.steps.get(name)
        if producer is None:
            raise self.fail(
                f"{field}: unknown step {name!r} in {source!r}",
                where,
                f"steps: {', '.join(self.d.steps)}",
                NotFound,
            )
        if not self.tools_known:
            return
        outputs = self.signature(producer).outputs
        if output not in outputs:
            raise self.fail(
                f"{field}: step {name!r} ({producer.run}) has no output {output!r}",
                where,
                f"outputs of {producer.run}: {', '.join(outputs) or 'none'}",
                NotFound,
            )

    # 5: cycles ----------------------------------------------------------------------------

    def order(self) -> tuple[str, ...]:
        """Steps in topological order (definition order among independent ones)."""
        done: list[str] = []
        state: dict[str, str] = {}
        for name in self.d.steps:
            self.visit(name, state, done, [])
        return tuple(done)

    def visit(self, name: str, state: dict[str, str], done: list[str], stack: list[str]) -> None:
        if state.get(name) == "done":
            return
        state[name] = "active"
        stack.append(name)
        for item in self.d.steps[name].inputs:
            for source, where in zip(item.sources, item.source_where, strict=True):
                upstream, slash, _ = source.partition("/")
                if not slash:
                    continue
                if state.get(upstream) == "active":
                    loop = [*stack[stack.index(upstream) :], upstream]
                    raise self.fail(
                        f"steps.{name}.in.{item.name}: {source!r} closes a cycle: "
                        + " needs ".join(loop),
                        where,
                        "a step may only use outputs of steps that do not depend on it",
                    )
                self.visit(upstream, state, done, stack)
        stack.pop()
        state[name] = "done"
        done.append(name)

    # 6-7: types ---------------------------------------------------------------------------

    def source_type(self, source: str) -> CwlType:
        name, slash, output = source.partition("/")
        if not slash:
            spec = self.d.inputs[name]
            return parse_type_string(spec.cwl_type)
        return self.step_outputs[name][output]

    def check_types(self, order: Sequence[str]) -> None:
        for name in order:
            step = self.d.steps[name]
            signature = self.signature(step)
            for item in step.inputs:
                self.check_input(step, item, signature.inputs[item.name])
            levels = self.scatter_levels(step)
            self.step_outputs[name] = {
                out: param.type.array(levels) if levels else param.type
                for out, param in signature.outputs.items()
            }

    def scatter_levels(self, step: StepSpec) -> int:
        if not step.scatter:
            return 0
        self.requirements.add("ScatterFeatureRequirement")
        if step.scatter_method == "nested_crossproduct":
            return len(step.scatter)
        return 1

    def check_input(self, step: StepSpec, item: StepInput, param: Param) -> None:
        field = f"steps.{step.name}.in.{item.name}"
        scattered = item.name in step.scatter
        wanted = param.type.required().array(1) if scattered else param.type.required()
        if item.merge or len(item.sources) > 1:
            self.requirements.add("MultipleInputFeatureRequirement")
            self.check_merge(field, item, wanted, param)
        elif item.sources:
            self.check_one(field, item.sources[0], item.source_where[0], wanted, param, scattered)
        if item.has_value and not item.sources:
            self.check_value(field, item, wanted)

    def check_one(
        self, field: str, source: str, where: str, wanted: CwlType, param: Param, scattered: bool
    ) -> None:
        given = self.source_type(source).required()
        if not compatible(given, wanted):
            raise self.fail(
                f"{field}: {source!r} gives {given}, but it feeds {param.name!r}, "
                f"which takes {wanted}" + (" (the step scatters over it)" if scattered else ""),
                where,
                _type_hint(given, wanted, scattered),
            )
        self.check_format(field, source, where, param)

    def check_merge(self, field: str, item: StepInput, wanted: CwlType, param: Param) -> None:
        if wanted.depth == 0 and wanted.base != "Any":
            raise self.fail(
                f"{field}: several sources are merged into a list, but {param.name!r} takes {wanted}",
                item.where,
                "wire a single source, or feed an input that takes an array",
            )
        element = CwlType(wanted.base, wanted.depth - 1) if wanted.depth else wanted
        for source, where in zip(item.sources, item.source_where, strict=True):
            given = self.source_type(source).required()
            if not (compatible(given, wanted) or compatible(given, element)):
                raise self.fail(
                    f"{field}: {source!r} gives {given}, but the merged list {param.name!r} "
                    f"takes {wanted} (each source {element} or {wanted})",
                    where,
                    f"wire sources of type {element} or {wanted}",
                )

    def check_value(self, field: str, item: StepInput, wanted: CwlType) -> None:
        kind = value_type(item.value)
        given = parse_type_string(kind) if kind else CwlType("Any", 1)
        if wanted.base in ("File", "Directory") or not compatible(given, wanted):
            raise self.fail(
                f"{field}: the value {_short_json(item.value)} is {given}, but the input takes {wanted}",
                item.where,
                "give a value of the input's type; files come from workflow inputs",
            )

    def check_format(self, field: str, source: str, where: str, param: Param) -> None:
        """Files from a workflow input must carry a format the tool input declares (as cwltool
        checks them, without an ontology: exactly)."""
        spec = self.d.inputs.get(source)
        if spec is None or not param.formats or spec.kind == "value":
            return
        for item in spec.items:
            if item.format in param.formats:
                continue
            what = f"has the format {item.format}" if item.format else "has no known format"
            raise self.fail(
                f"{field}: {item.name!r} of input {source!r} {what}, but {param.name!r} "
                f"takes {' or '.join(param.formats)}",
                where,
                "give files of that format; if the file is mislabelled, set format: on the "
                "input (or on the cart item)",
            )

    def check_outputs(self) -> dict[str, CwlType]:
        types = {}
        for output in self.d.outputs.values():
            step, _, name = output.source.partition("/")
            types[output.name] = self.step_outputs[step][name]
        return types


def _short_json(value: object) -> str:
    import json

    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:59] + "…"


def _type_hint(given: CwlType, wanted: CwlType, scattered: bool) -> str:
    if given.depth == wanted.depth + 1 and given.base == wanted.base:
        return "scatter the step over this input (scatter: NAME) to run it once per item"
    if wanted.depth == given.depth + 1 and given.base == wanted.base:
        if scattered:
            return "do not scatter over this input: it already takes one item"
        return "feed it an array: a list or cart input, or the output of a scattered step"
    return f"wire a source of type {wanted}"


def check_structure(definition: Definition) -> tuple[str, ...]:
    """Checks 1-5 that need no tool (aliases, names, scatter, cycles); the steps in order."""
    checker = _Checker(definition, None)
    checker.check_structure()
    return checker.order()


def check_wiring(definition: Definition, signatures: Mapping[str, Signature]) -> Wiring:
    """Refuse bad wiring (see the module docstring); return the inferred types."""
    checker = _Checker(definition, signatures)
    checker.check_structure()
    order = checker.order()
    checker.check_tools()
    checker.check_types(order)
    outputs = checker.check_outputs()
    return Wiring(
        order=order,
        step_outputs=checker.step_outputs,
        outputs=outputs,
        requirements=frozenset(checker.requirements),
    )

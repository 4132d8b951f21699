"""The codemeta -> CWL crosswalk (``data/codemeta_crosswalk.csv``) and the annotations it drives.

:func:`annotate_tool` gives a ``cwl_utils`` CommandLineTool its ``label``/``doc``, schema.org
annotations (``s:author``, ``s:license``, ``s:citation`` ... in crosswalk order), a
``SoftwareRequirement`` hint and, when codemeta names a ``SoftwareImage``, a ``DockerRequirement``
hint. What the tool already declares wins. Only machine-readable requirements become packages,
and a container image must be a plain image reference.

The annotations name the ``s:`` namespace (``$namespaces``) but no ``$schemas`` and no ``class``
on people: ``cwltool --validate`` would fetch the schema.org RDF for the one and look each type
up on the network for the other (offline: a warning each). A person or organisation is
``{s:name, s:identifier, s:email}``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ossrflow.errors import UnsafeValue
from ossrflow.registry import SoftwareRecord
from ossrflow.registry.codemeta import Codemeta, Person, Requirement

__all__ = [
    "SCHEMA_ORG",
    "CrosswalkRow",
    "annotate_tool",
    "load_crosswalk",
]

SCHEMA_ORG = "https://schema.org/"
_SCHEMA_IRIS = ("https://schema.org/", "http://schema.org/")
PLAIN_COMMAND = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")
_IMAGE = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
_VERSION = re.compile(r"^[A-Za-z0-9.*+!=<>~,_-]+$")


@dataclass(frozen=True)
class CrosswalkRow:
    """One line of the codemeta -> CWL crosswalk (``data/codemeta_crosswalk.csv``)."""

    codemeta: str  # codemeta property, as users know it
    field: str  # Codemeta attribute it is read from
    cwl: str  # CWL field, hint, or schema.org annotation ("s:..."); empty when not mapped
    rule: str


@cache
def load_crosswalk() -> tuple[CrosswalkRow, ...]:
    """The codemeta -> CWL crosswalk shipped with ossrflow."""
    text = resources.files("ossrflow").joinpath("data/codemeta_crosswalk.csv").read_text("utf-8")
    return tuple(CrosswalkRow(**row) for row in csv.DictReader(io.StringIO(text)))


def annotate_tool(tool: Any, codemeta: Codemeta, record: SoftwareRecord | None) -> None:
    """label/doc, schema.org annotations and hints from codemeta; the tool's own values win."""
    tool.label = tool.label or codemeta.name
    tool.doc = tool.doc or codemeta.description
    options = tool.loadingOptions
    prefix, iri = _schema_namespace(options)
    for key, value in _annotations(codemeta, record, prefix).items():
        tool.extension_fields.setdefault(iri + key, value)
    hints = list(tool.hints or [])
    declared = {_class_of(item) for item in [*(tool.requirements or []), *hints]}
    if "SoftwareRequirement" not in declared:
        hints.append(_software_requirement(codemeta, record, tool, options))
    if "DockerRequirement" not in declared and codemeta.container_images:
        hints.append(_docker_requirement(codemeta, options))
    tool.hints = hints or None


def _schema_namespace(options: Any) -> tuple[str, str]:
    """The prefix and IRI used for schema.org: the tool's own if it declares one, else ``s``."""
    namespaces = dict(options.namespaces or {})
    prefix = next((p for p, v in namespaces.items() if v in _SCHEMA_IRIS), None)
    if prefix is None:
        prefix = "s" if "s" not in namespaces else "schema"
        namespaces[prefix] = SCHEMA_ORG
    options.namespaces = namespaces
    # cwl-utils shortens extension keys through vocab/rvocab; copy before adding (shared dicts).
    options.vocab = {**options.vocab, **namespaces}
    options.rvocab = {**options.rvocab, **{v: p for p, v in namespaces.items()}}
    return prefix, namespaces[prefix]


def _class_of(item: object) -> str:
    if isinstance(item, Mapping):
        return str(item.get("class", "")).rpartition("#")[2]
    return type(item).__name__


def _annotations(
    codemeta: Codemeta, record: SoftwareRecord | None, prefix: str
) -> dict[str, object]:
    """schema.org property name (without prefix) -> value, in crosswalk order."""
    values: dict[str, object] = {}
    for row in load_crosswalk():
        if not row.cwl.startswith("s:"):
            continue
        value = _annotation_value(row, codemeta, record, prefix)
        if value not in (None, "", []):
            values[row.cwl.removeprefix("s:")] = value
    return values


def _annotation_value(
    row: CrosswalkRow, codemeta: Codemeta, record: SoftwareRecord | None, prefix: str
) -> object:
    doi = (record.doi if record else None) or codemeta.doi
    if row.cwl == "s:identifier":
        return f"https://doi.org/{doi}" if doi else codemeta.identifier
    if row.cwl == "s:citation":
        return f"https://doi.org/{doi}" if doi else None
    if row.cwl == "s:license":
        return codemeta.license_url or codemeta.license
    value = getattr(codemeta, row.field)
    if isinstance(value, tuple):
        return [_person(v, prefix) if isinstance(v, Person) else v for v in value]
    return value


def _person(person: Person, prefix: str) -> dict[str, str]:
    data = {f"{prefix}:name": person.name}
    if person.orcid:
        data[f"{prefix}:identifier"] = person.orcid
    if person.email:
        data[f"{prefix}:email"] = f"mailto:{person.email}"
    return data


def _software_requirement(
    codemeta: Codemeta, record: SoftwareRecord | None, tool: Any, options: Any
) -> Any:
    from cwl_utils.parser import cwl_v1_2

    own_name = (
        codemeta.name if PLAIN_COMMAND.match(codemeta.name) else str(tool.id).rpartition("#")[2]
    )
    doi = (record.doi if record else None) or codemeta.doi
    specs = [f"https://doi.org/{doi}"] if doi else []
    if codemeta.code_repository and codemeta.code_repository.startswith("https://"):
        specs.append(codemeta.code_repository)
    packages = [
        cwl_v1_2.SoftwarePackage(
            package=own_name,
            version=[codemeta.version] if _VERSION.match(codemeta.version or "") else None,
            specs=specs or None,
            loadingOptions=options,
        )
    ]
    packages += [_package(r, options) for r in codemeta.software_requirements if _usable(r)]
    return cwl_v1_2.SoftwareRequirement(packages=packages, loadingOptions=options)


def _usable(requirement: Requirement) -> bool:
    """Machine-readable: a package-like name and, if any, a plain version or specifier."""
    version_ok = requirement.version is None or bool(_VERSION.match(requirement.version))
    return requirement.is_package and version_ok


def _package(requirement: Requirement, options: Any) -> Any:
    from cwl_utils.parser import cwl_v1_2

    return cwl_v1_2.SoftwarePackage(
        package=requirement.name,
        version=[requirement.version] if requirement.version else None,
        loadingOptions=options,
    )


def _docker_requirement(codemeta: Codemeta, options: Any) -> Any:
    from cwl_utils.parser import cwl_v1_2

    image = codemeta.container_images[0]
    if not _IMAGE.match(image):
        raise UnsafeValue(
            f"container image {image!r} is not a plain image reference",
            source=codemeta.source,
            location="targetProduct.identifier",
            hint="write it as registry/name:tag",
        )
    return cwl_v1_2.DockerRequirement(dockerPull=image, loadingOptions=options)

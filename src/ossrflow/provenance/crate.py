"""A :class:`~ossrflow.provenance.model.RunRecord` as a Workflow Run RO-Crate, built with ``rocrate``.

The crate conforms to Workflow Run Crate 0.5, which extends Process Run Crate 0.5 and Workflow
RO-Crate 1.0 (RO-Crate 1.1 terms, plus the ``workflow-run`` context for ``sha256`` and
``containerImage``). The graph holds:

- the root dataset: ``conformsTo`` the three profiles, ``mainEntity`` the packed workflow,
  ``mentions`` every action;
- the packed workflow (``File``, ``SoftwareSourceCode``, ``ComputationalWorkflow``, language CWL)
  with a ``FormalParameter`` per input and output;
- the run: a ``CreateAction`` with ``instrument`` (the workflow), ``object`` (inputs), ``result``
  (outputs), ``startTime``, ``endTime``, ``actionStatus``, ``error`` and ``containerImage``;
- the engine: an ``OrganizeAction`` whose ``instrument`` is ossrflow (a ``SoftwareApplication``
  whose ``softwareRequirements`` are cwltool, Snakemake and the executor plugin, with versions),
  whose ``object`` is the profile, job order and lock, and whose ``result`` is the run;
- one ``CreateAction`` per step job, ``identifier`` = the scheduler's job id, ``description``
  who ran it (executor, profile, host, exit status) or that an earlier run did and this one
  reused it, ``containerImage`` the image (by digest) the step ran in; the commands a step ran
  are ``SoftwareApplication``s in its ``softwareRequirements`` (version, path, package);
- every file with ``contentSize`` and ``sha256``; input and output files not copied into the
  crate keep their absolute URI as ``@id``;
- an input file staged from Rucio (:mod:`ossrflow.staging.origin`): its DID as ``identifier`` (a
  ``PropertyValue``), its RSE as ``contentLocation`` (a ``Place``), Rucio's checksums as
  ``adler32``/``md5`` (ossrflow terms in the ``@context``, each an ``rdf:Property`` entity).

(Over the module budget: one builder owns the graph and its entity ids; a split would pass it on.)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ossrflow.compose.lock import LOCK_NAME
from ossrflow.integrity import hash_file
from ossrflow.provenance.model import (
    JOB,
    LOG_COPY,
    PACKED,
    PROFILE_COPY,
    PROFILE_OPTIONS_COPY,
    TRACE,
    CommandFact,
    RecordedFile,
    RunRecord,
    StepJob,
)
from ossrflow.provenance.scan import local_path
from ossrflow.staging.origin import Origin, find_origins

__all__ = [
    "FORMAL_PARAMETER",
    "PROFILES",
    "WFRUN_CONTEXT",
    "build_crate",
    "param_type",
    "place_files",
    "split_image_ref",
]

PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": ("Process Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/workflow/0.5": ("Workflow Run Crate", "0.5"),
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": ("Workflow RO-Crate", "1.0"),
}
WFRUN_CONTEXT = "https://w3id.org/ro/terms/workflow-run/context"
FORMAL_PARAMETER = "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"
_WFRUN = "https://w3id.org/ro/terms/workflow-run#"
_STATUS = {
    "completed": "http://schema.org/CompletedActionStatus",
    "failed": "http://schema.org/FailedActionStatus",
    "not run": "http://schema.org/PotentialActionStatus",
}
_TYPES = {
    "File": "File",
    "Directory": "Dataset",
    "string": "Text",
    "int": "Integer",
    "long": "Integer",
    "float": "Float",
    "double": "Float",
    "boolean": "Boolean",
}
_FORMATS = {".json": "application/json", ".cwl": "application/json", ".yaml": "text/x-yaml"}
_OSSRFLOW = "https://w3id.org/ossrflow#"
_RSE = "Rucio storage element (RSE) the file was read from"


def _ref(entity: Any) -> dict[str, str]:
    return {"@id": entity if isinstance(entity, str) else entity.id}


def _main_process(packed: Mapping[str, Any]) -> Mapping[str, Any]:
    """The top process of a packed document (``#main`` of a ``$graph``, else the document)."""
    graph = packed.get("$graph")
    if isinstance(graph, list):
        for process in graph:
            if isinstance(process, Mapping) and str(process.get("id", "")).lstrip("#") == "main":
                return process
    return packed


def _short(ident: object) -> str:
    return str(ident).rsplit("#", 1)[-1].rsplit("/", 1)[-1]


def param_type(declared: object) -> tuple[str, bool, bool]:
    """``(additionalType, valueRequired, multipleValues)`` of a CWL parameter type."""
    required, many = True, False
    if isinstance(declared, str) and declared.endswith("?"):
        required, declared = False, declared[:-1]
    if isinstance(declared, list):
        required = "null" not in declared
        rest = [t for t in declared if t != "null"]
        declared = rest[0] if len(rest) == 1 else "Any"
    if isinstance(declared, str) and declared.endswith("[]"):
        many, declared = True, declared[:-2]
    if isinstance(declared, Mapping):
        many = declared.get("type") == "array"
        declared = declared.get("items") if many else declared.get("type")
    kind = _TYPES.get(str(declared), "PropertyValue" if declared == "record" else "DataType")
    return kind, required, many


def split_image_ref(ref: str) -> tuple[str, str, str]:
    """``(registry, name, tag)`` of an image reference; ``docker.io`` when it names none."""
    name, tag = ref.partition("@")[0], ""
    if ":" in name.rsplit("/", 1)[-1]:
        name, _, tag = name.rpartition(":")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return first, rest, tag
    return "docker.io", name, tag


def _image_properties(image_ref: str, digest: str, engine: str) -> dict[str, Any]:
    registry, name, tag = split_image_ref(image_ref)
    kind = "SIFImage" if engine == "apptainer" else "DockerImage"
    properties = {
        "@type": "ContainerImage",
        "additionalType": {"@id": _WFRUN + kind},
        "name": name,
        "registry": registry,
        "sha256": digest.removeprefix("sha256:"),
    }
    return properties | ({"tag": tag} if tag else {})


class _Builder:
    """Adds the entities of one record to one crate."""

    def __init__(self, record: RunRecord, files: Mapping[str, Path]) -> None:
        from rocrate.rocrate import ROCrate

        self.record, self.files = record, files
        self.crate = ROCrate(version="1.1")
        self.crate.metadata.extra_contexts.append(WFRUN_CONTEXT)
        self.params: dict[tuple[str, str], Any] = {}
        self.name = "workflow"
        self.origins = find_origins(record.job)  # Rucio files, by location

    def entity(self, ident: str, properties: dict[str, Any]) -> Any:
        from rocrate.model.contextentity import ContextEntity

        return self.crate.add(ContextEntity(self.crate, ident, properties=properties))

    def own_file(self, dest: str, properties: dict[str, Any]) -> Any:
        """One of the crate's own files (workflow, job order, lock, profile, log, trace)."""
        source = self.files[dest]
        details = {
            "name": dest.rsplit("/", 1)[-1],
            "contentSize": source.stat().st_size,
            "sha256": hash_file(source)["sha256"],
            "encodingFormat": _FORMATS.get(source.suffix, "text/plain"),
        }
        return self.crate.add_file(source, dest_path=dest, properties=details | properties)

    def workflow(self) -> Any:
        packed = json.loads(self.files[PACKED].read_text(encoding="utf-8"))
        main = _main_process(packed)
        self.name = str(main.get("label") or _short(main.get("id", "workflow")))
        workflow = self.crate.add_workflow(
            self.files[PACKED],
            dest_path=PACKED,
            main=True,
            lang="cwl",
            lang_version=str(packed.get("cwlVersion", "v1.2")),
        )
        workflow["name"] = self.name
        workflow["contentSize"] = self.files[PACKED].stat().st_size
        workflow["sha256"] = hash_file(self.files[PACKED])["sha256"]
        workflow["encodingFormat"] = "application/json"
        workflow["input"] = [self.param("in", p) for p in main.get("inputs") or []]
        workflow["output"] = [self.param("out", p) for p in main.get("outputs") or []]
        return workflow

    def param(self, direction: str, declared: Mapping[str, Any]) -> dict[str, str]:
        name = _short(declared.get("id"))
        kind, required, many = param_type(declared.get("type"))
        properties = {
            "@type": "FormalParameter",
            "name": name,
            "additionalType": kind,
            "valueRequired": required,
            "multipleValues": many,
            "conformsTo": {"@id": FORMAL_PARAMETER},
        }
        entity = self.entity(f"#param-{direction}-{name}", properties)
        self.params[(direction, name)] = entity
        return _ref(entity)

    def example_of(self, direction: str, name: str) -> dict[str, Any]:
        param = self.params.get((direction, name))
        return {"exampleOfWork": _ref(param)} if param is not None else {}

    def data_file(self, item: RecordedFile, direction: str) -> Any:
        properties = {
            "name": item.label.rsplit("/", 1)[-1],
            "alternateName": item.label,
            "contentSize": item.size,
            "sha256": item.sha256,
        } | self.example_of(direction, item.param)
        if direction == "in" and (origin := self.origins.get(item.location)) is not None:
            properties |= self.rucio(origin)
        source = local_path(item.location)
        if item.copy is None or source is None:
            return self.crate.add_file(item.location, properties=properties)
        properties["contentUrl"] = item.location
        return self.crate.add_file(source, dest_path=item.copy, properties=properties)

    def rucio(self, origin: Origin) -> dict[str, Any]:
        """A Rucio file's DID (``identifier``), RSE (``contentLocation``) and checksums."""
        did = {"@type": "PropertyValue", "name": "Rucio DID", "propertyID": _OSSRFLOW + "rucio"}
        did_entity = self.entity(f"#rucio-did-{origin.did}", did | {"value": origin.did})
        properties: dict[str, Any] = {"identifier": _ref(did_entity)}
        if origin.rse:
            rse = {"@type": "Place", "name": origin.rse, "description": _RSE}
            properties["contentLocation"] = _ref(self.entity(f"#rucio-rse-{origin.rse}", rse))
        for checksum in origin.checksums:  # an ossrflow term each, in the crate's context
            self.crate.metadata.extra_terms[checksum.algorithm] = _OSSRFLOW + checksum.algorithm
            properties[checksum.algorithm] = checksum.digest
        return properties

    def data(self, direction: str, files: Sequence[RecordedFile]) -> list[Any]:
        """File entities (one per copy or location) and, for inputs, the plain values."""
        entities: dict[str, Any] = {}
        for item in files:
            key = item.copy or item.location
            if key and key not in entities:
                entities[key] = self.data_file(item, direction)
        if direction == "in":
            with_files = {f.param for f in files}
            for name, value in sorted(self.record.job.items()):
                if name not in with_files and not name.startswith("cwl:"):
                    properties = {
                        "@type": "PropertyValue",
                        "name": name,
                        "value": json.dumps(value, sort_keys=True),
                    } | self.example_of("in", name)
                    entities[f"#input-{name}"] = self.entity(f"#input-{name}", properties)
        return list(entities.values())

    def software(self) -> Any:
        """ossrflow as a SoftwareApplication that requires cwltool, Snakemake, the plugin …"""
        versions = dict(self.record.versions)
        own = versions.pop("ossrflow", "unknown")
        required = [
            self.entity(
                f"https://pypi.org/project/{name}/{version}/" if name != "python" else "#python",
                {"@type": "SoftwareApplication", "name": name, "softwareVersion": version},
            )
            for name, version in sorted(versions.items())
        ]
        return self.entity(
            "#ossrflow",
            {
                "@type": "SoftwareApplication",
                "name": "ossrflow",
                "softwareVersion": own,
                "softwareRequirements": [_ref(r) for r in required],
            },
        )

    def images(self, step: str | None = None) -> list[Any]:
        """The run's images (one entity per digest), or those the jobs of ``step`` ran in."""
        entities: dict[str, Any] = {}
        for image in self.record.images:
            ident = f"#image-{image.digest.removeprefix('sha256:')[:16]}"
            if ident not in entities and step in (None, image.step):
                properties = _image_properties(image.ref, image.digest, image.engine)
                entities[ident] = self.entity(ident, properties)
        return list(entities.values())

    def command(self, fact: CommandFact) -> Any:
        """A command a step ran, as a SoftwareApplication: name, version, where it came from."""
        where = f"in image {fact.container}" if fact.container else fact.path or "not found"
        provider = " ".join(p for p in (fact.package, fact.version) if p)
        properties = {
            "@type": "SoftwareApplication",
            "name": fact.command,
            "description": f"{fact.command} ({where}{', from ' + provider if provider else ''})",
        }
        if fact.version:
            properties["softwareVersion"] = fact.version
        digest = hashlib.sha256(json.dumps(asdict(fact), sort_keys=True).encode()).hexdigest()
        return self.entity(f"#command-{digest[:16]}", properties)

    def step_job(self, job: StepJob, results: list[Any]) -> Any:
        commands = [_ref(self.command(fact)) for fact in job.commands]
        step = self.entity(
            f"#step-{job.step}",
            {"@type": "SoftwareApplication", "name": f"step {job.step} of {self.name}"},
        )
        if commands:
            step["softwareRequirements"] = _merged(step.get("softwareRequirements"), commands)
        suffix = "" if job.element is None else f"-{job.element}"
        properties: dict[str, Any] = {
            "@type": "CreateAction",
            "name": f"step {job.step}" + ("" if job.element is None else f" [{job.element}]"),
            "instrument": _ref(step),
            "actionStatus": {"@id": _STATUS.get(job.status, _STATUS["failed"])},
        }
        optional = {
            "identifier": job.job_id,
            "startTime": job.started,
            "endTime": job.ended,
            "description": _job_description(job),
        }
        properties |= {k: v for k, v in optional.items() if v is not None and v != ""}
        if results and job.status == "completed":
            properties["result"] = [_ref(r) for r in results]
        if images := self.images(job.step):
            properties["containerImage"] = [_ref(i) for i in images]
        return self.entity(f"#job-{self.record.run_id}-{job.step}{suffix}", properties)


def _merged(old: object, new: list[dict[str, str]]) -> list[dict[str, str]]:
    """Two lists of references, without repeats (every job of a step adds its commands)."""
    found = old if isinstance(old, list) else [old] if isinstance(old, Mapping) else []
    return [dict(r) for r in {r["@id"]: r for r in [*found, *new]}.values()]


def _job_description(job: StepJob) -> str:
    """Who ran a job, and whether this run reused it: ``executor slurm, profile P, host H``."""
    who = ", ".join(
        f"{label} {value}"
        for label, value in (
            ("executor", job.executor),
            ("profile", job.profile),
            ("host", job.host),
        )
        if value
    )
    if job.reused:
        return f"done before this run started, by {who or 'an earlier run'}; reused, not run again"
    status = "" if job.exit_code is None else f" (exit {job.exit_code})"
    return f"ran by {who}{status}" if who else ""


def _reuse_note(record: RunRecord) -> str:
    """``; 4 of 6 jobs done earlier (profile local) were reused`` when the run reused any."""
    reused = [job for job in record.steps if job.reused]
    if not reused:
        return ""
    profiles = sorted({job.profile or "unknown" for job in reused})
    return (
        f"; {len(reused)} of {len(record.steps)} jobs were done earlier "
        f"(profile {', '.join(profiles)}) and reused, not run again"
    )


def _run_action(builder: _Builder, workflow: Any, inputs: list[Any], outputs: list[Any]) -> Any:
    record = builder.record
    properties: dict[str, Any] = {
        "@type": "CreateAction",
        "name": f"Run of {builder.name}",
        "description": f"ossrflow run, profile {record.profile} (executor {record.executor})"
        + _reuse_note(record),
        "instrument": _ref(workflow),
        "object": [_ref(e) for e in inputs],
        "result": [_ref(e) for e in outputs],
        "startTime": record.started,
        "endTime": record.ended,
        "actionStatus": {"@id": _STATUS.get(record.exit_state, _STATUS["failed"])},
    }
    if record.error:
        properties["error"] = record.error
    if images := builder.images():
        properties["containerImage"] = [_ref(i) for i in images]
    return builder.entity(f"#run-{record.run_id}", properties)


def _engine_action(builder: _Builder, run: Any, configuration: list[Any]) -> Any:
    record = builder.record
    return builder.entity(
        f"#engine-{record.run_id}",
        {
            "@type": "OrganizeAction",
            "name": "ossrflow: plan, schedule through Snakemake, collect",
            "instrument": _ref(builder.software()),
            "object": [_ref(c) for c in configuration],
            "result": _ref(run),
            "startTime": record.started,
            "endTime": record.ended,
        },
    )


def build_crate(record: RunRecord, files: Mapping[str, Path]) -> Any:
    """The ``rocrate.ROCrate`` of ``record``; ``files`` maps the crate's own files (packed
    workflow, job order, trace, lock, profile, log) to where they are now."""
    builder = _Builder(record, files)
    workflow = builder.workflow()
    inputs = builder.data("in", record.inputs)
    outputs = builder.data("out", record.outputs)
    run = _run_action(builder, workflow, inputs, outputs)
    names = {
        JOB: "job order (as the run saw it)",
        LOCK_NAME: "pins of the entries and inputs (ossrflow lock)",
        PROFILE_COPY: f"Snakemake profile {record.profile} (executor {record.executor})",
        PROFILE_OPTIONS_COPY: f"ossrflow's settings of profile {record.profile} (ossrflow.yaml)",
    }
    own = [dest for dest in files if dest not in (PACKED, TRACE, LOG_COPY)]
    configuration = [builder.own_file(d, {"description": names.get(d, d)}) for d in own]
    engine = _engine_action(builder, run, configuration)
    traces = {TRACE: "the record, for ossrflow rerun and diff", LOG_COPY: "Snakemake's log"}
    for dest, description in traces.items():
        if dest in files:
            builder.own_file(dest, {"about": _ref(run), "description": description})
    by_job: dict[tuple[str, int | None], list[Any]] = {}
    for item, entity in zip(_firsts(record.outputs), outputs, strict=False):
        by_job.setdefault((item.step, item.element), []).append(entity)
    jobs = [builder.step_job(job, by_job.get((job.step, job.element), [])) for job in record.steps]
    root = builder.crate.root_dataset
    root["name"] = f"ossrflow run {record.run_id}"
    root["description"] = (
        f"Run of {builder.name} with ossrflow {record.versions.get('ossrflow', '?')} "
        f"(profile {record.profile}): {record.exit_state}"
    )
    root["datePublished"] = record.ended
    for ident, (name, version) in PROFILES.items():
        builder.entity(ident, {"@type": "CreativeWork", "name": name, "version": version})
    root["conformsTo"] = [{"@id": ident} for ident in PROFILES]
    for term, iri in builder.crate.metadata.extra_terms.items():
        comment = f"the {term} checksum Rucio publishes for a file, verified against its bytes"
        builder.entity(iri, {"@type": "rdf:Property", "rdfs:label": term, "rdfs:comment": comment})
    root["mentions"] = [_ref(a) for a in (run, engine, *jobs)]
    return builder.crate


def _firsts(files: Sequence[RecordedFile]) -> list[RecordedFile]:
    """The first file of each distinct entity, in the order :meth:`_Builder.data` adds them."""
    seen: set[str] = set()
    firsts = []
    for item in files:
        key = item.copy or item.location
        if key and key not in seen:
            seen.add(key)
            firsts.append(item)
    return firsts


def place_files(crate: Any, folder: Path, origins: Mapping[Path, Path] | None = None) -> int:
    """Put the crate's local data files into ``folder``; returns how many.

    Each entity then points at its place, so that ``crate.write(folder)`` (which leaves a file
    already at its place alone) only writes the metadata. ``origins`` maps a data file to the step
    output it is an unchanged copy of (:func:`ossrflow.provenance.scan.step_origins`): the
    crate gets a hard link to the step output instead of a third copy of the bytes (one
    directory entry, no data written); any other file, or a link the file system refuses, is
    copied.
    """
    import shutil
    from urllib.parse import unquote

    from rocrate.model.file import File

    origins = origins or {}
    placed: list[tuple[Any, Path]] = []
    for entity in crate.data_entities:
        source = entity.source
        if not isinstance(entity, File) or not isinstance(source, str | Path):
            continue
        if "://" in str(source) or not Path(source).is_file():
            continue
        placed.append((entity, folder / unquote(entity.id)))

    for parent in sorted({target.parent for _, target in placed}):
        parent.mkdir(parents=True, exist_ok=True)

    for entity, target in placed:
        origin = origins.get(Path(entity.source))
        linked = False
        if origin is not None:
            with contextlib.suppress(OSError):  # another file system, or links refused: copy
                os.link(origin, target)
                linked = True
        if not linked:
            shutil.copy(entity.source, target)
        entity.source = target
    return len(placed)

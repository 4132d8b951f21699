"""A run's images: which DockerRequirement each step has, pinned once on the submit host.

:func:`pin_images` resolves every distinct requirement of a run once (:mod:`.images`), and
``RUN_DIR/images.json`` (:func:`render_pins`, :func:`load_pins`) tells every job and the
provenance record which digest (or SIF file) each step runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ossrflow.containers.engines import Engine
from ossrflow.containers.images import (
    PinnedImage,
    convert_for_apptainer,
    render_pin,
    resolve_image,
)
from ossrflow.documents import parse_json_text
from ossrflow.errors import InputError, OssrflowError, ServiceError

__all__ = [
    "IMAGES_FILE",
    "DockerUse",
    "StepImage",
    "load_pins",
    "parse_pins",
    "pin_images",
    "pinned_requirement",
    "render_pins",
    "requirement_key",
]


IMAGES_FILE = "images.json"


_PINS_VERSION = 1


@dataclass(frozen=True)
class DockerUse:
    """The DockerRequirement a CommandLineTool runs under, as cwltool sees it."""

    requirement: Mapping[str, object]
    required: bool  # under ``requirements`` (else a hint)
    base_dir: Path | None  # the tool's folder, for relative dockerLoad/dockerImport paths
    tool: str = ""  # the tool's id, for messages


@dataclass(frozen=True)
class StepImage:
    """One pinned image of a run and the plan nodes (steps) that run in it."""

    key: str  # requirement_key of the DockerRequirement
    image: PinnedImage
    steps: tuple[str, ...]


def requirement_key(requirement: Mapping[str, object]) -> str:
    """A stable name for a DockerRequirement's content (16 hex digits of a sha256)."""
    fields = {str(k): requirement[k] for k in sorted(requirement, key=str) if k != "class"}
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pinned_requirement(image: PinnedImage) -> dict[str, str]:
    """What a job gives cwltool instead of the written requirement: the digest (or SIF) only.

    Nothing is left for cwltool to pull, build, load or import, so the job runs exactly the image
    pinned on the submit host, or fails when it is not there.
    """
    pinned = {"class": "DockerRequirement", "dockerImageId": image.run_ref}
    if image.output_directory is not None:
        pinned["dockerOutputDirectory"] = image.output_directory
    return pinned


def pin_images(
    uses: Mapping[str, Sequence[DockerUse]],
    engine: Engine,
    *,
    source: Engine | None = None,
    cache_dir: Path,
    allow_pull: bool = False,
) -> list[StepImage]:
    """Resolve every distinct requirement of ``uses`` (plan node -> its tools' uses) once.

    For apptainer, ``source`` (docker or podman) resolves the image and
    :func:`convert_for_apptainer` turns it into a SIF file under ``cache_dir``.
    """
    requirements: dict[str, DockerUse] = {}
    steps: dict[str, list[str]] = {}
    for step, found in uses.items():
        for use in found:
            key = requirement_key(use.requirement)
            requirements.setdefault(key, use)
            steps.setdefault(key, []).append(step)
    resolver = source if engine.name == "apptainer" else engine
    if resolver is None:
        raise ServiceError(
            "apptainer runs images that docker or podman resolved, and neither can run here",
            source="apptainer",
            hint="set up docker or podman on this (submit) host to pin the images",
        )
    pinned = []
    for key, use in requirements.items():
        image = _resolve_use(resolver, use, allow_pull)
        if engine.name == "apptainer":
            image = convert_for_apptainer(engine, image, resolver, cache_dir)
        pinned.append(StepImage(key, image, tuple(dict.fromkeys(steps[key]))))
    return pinned


def _resolve_use(engine: Engine, use: DockerUse, allow_pull: bool) -> PinnedImage:
    try:
        return resolve_image(engine, use.requirement, base_dir=use.base_dir, allow_pull=allow_pull)
    except OssrflowError as exc:
        exc.source = exc.source if exc.source not in (None, engine.name) else use.tool or None
        raise


def render_pins(engine: str, images: Sequence[StepImage]) -> str:
    """``images.json`` of a run directory: the engine and every pinned image with its steps."""
    data = {
        "version": _PINS_VERSION,
        "engine": engine,
        "images": [
            {
                "key": item.key,
                **render_pin(item.image),
                "output_directory": item.image.output_directory,
                "steps": list(item.steps),
            }
            for item in images
        ],
    }
    return json.dumps(data, indent=1, sort_keys=True) + "\n"


def parse_pins(text: str, *, source: str = IMAGES_FILE) -> tuple[str, list[StepImage]]:
    """Read what :func:`render_pins` wrote: (engine, images).

    The file may come from elsewhere (a copied run folder): it is held to the limits of untrusted
    JSON, and anything but the shape :func:`render_pins` writes is refused with one line.
    """
    data = parse_json_text(text, source=source)
    if not isinstance(data, dict) or data.get("version") != _PINS_VERSION:
        raise _not_pins(source)
    items, engine = data.get("images"), data.get("engine")
    if not isinstance(items, list) or not isinstance(engine, str):
        raise _not_pins(source)
    return engine, [_parse_image(item, source) for item in items]


def _parse_image(item: object, source: str) -> StepImage:
    if not isinstance(item, dict):
        raise _not_pins(source)
    texts = [item.get(name) for name in ("key", "ref", "digest", "engine", "how")]
    steps, output_directory, sif = item.get("steps"), item.get("output_directory"), item.get("sif")
    if not isinstance(steps, list) or not all(isinstance(v, str) for v in [*texts, *steps]):
        raise _not_pins(source)
    if not (output_directory is None or isinstance(output_directory, str)):
        raise _not_pins(source)
    if not (sif is None or isinstance(sif, str)):
        raise _not_pins(source)
    key, ref, digest, engine, how = (str(value) for value in texts)
    image = PinnedImage(ref, digest, engine, how, output_directory, Path(sif) if sif else None)
    return StepImage(key, image, tuple(str(step) for step in steps))


def _not_pins(source: str) -> InputError:
    return InputError(
        "not an image list this ossrflow version wrote",
        source=source,
        hint="plan the run again (run the same command)",
    )


def load_pins(run_dir: Path) -> tuple[str, list[StepImage]]:
    """The pinned images of a run directory; (``none``, []) when it has none."""
    path = run_dir / IMAGES_FILE
    if not path.is_file():
        return "none", []
    return parse_pins(path.read_text(encoding="utf-8"), source=str(path))

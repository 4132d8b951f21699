"""``ossrflow containerize``: an image for an entry's software, built here, recorded by digest.

From an entry's codemeta (name, softwareVersion, pip-style ``softwareRequirements``,
``runtimePlatform``) this writes ``containers/<name>/``::

    Dockerfile        FROM the local base (ossrflow/debian-python:local), a venv in /opt/venv,
                      pip install --no-index from wheels/ only
    apptainer.def     the same recipe for `apptainer build` (Bootstrap: docker-daemon)
    requirements.txt  what is installed: PACKAGE==VERSION (or the record's archive) + requirements
    wheels/           wheels made on the host by `pip wheel`
    image.json        after a build: image name, digest, engine, base digest, what went in
    .gitignore        wheels/ and image.json: both only mean something on the machine that built

Containers get no network here (dockerd runs with --bridge=none, and no registry is reachable),
so pip inside a build cannot reach PyPI: the host, whose pip does reach it, makes every wheel
first (``pip wheel``, which also builds wheels from sdists and from the record's source archive),
and the build installs from those only. The host's Python must match the base image's minor
version (3.11 on Debian 12) for compiled wheels to fit.

The image is named after the software, not the registry entry: entries that wrap commands of the
same package (fitsinfo, fitscheck… of astropy) share one image. ``ossrflow cwl`` pins it with
:func:`docker_requirement` (``dockerPull`` = the name, ``dockerImageId`` = the digest).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement as PipRequirement

from ossrflow.containers.engines import Engine, check_image_ref, run_engine
from ossrflow.containers.images import BUILD_TIMEOUT, PinnedImage, get_image_digest
from ossrflow.documents import load_json_document
from ossrflow.errors import InputError, NotFound, ServiceError
from ossrflow.integrity import atomic_write, check_name
from ossrflow.registry.codemeta import Codemeta
from ossrflow.registry.entry import Entry

__all__ = [
    "CONTAINERS_DIR",
    "DEFAULT_BASE",
    "ContainerRecipe",
    "ImageRecord",
    "build_image",
    "containerize_entry",
    "docker_requirement",
    "load_image_record",
    "pin_built_image",
    "plan_recipe",
    "render_apptainer_def",
    "render_dockerfile",
    "write_context",
]

DEFAULT_BASE = "ossrflow/debian-python:local"
CONTAINERS_DIR = Path("containers")  # where `ossrflow containerize` writes (relative to .)
IMAGE_RECORD = "image.json"
WHEELS_IN_IMAGE = "/tmp/ossrflow/wheels"  # noqa: S108 - a path inside the image being built
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".zip")
_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*(?:[A-Za-z0-9.+-]*))$")
_PROJECT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")  # PEP 508 names
_LABEL_SAFE = re.compile(r"^[A-Za-z0-9._:/@+=-]{1,200}$")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ContainerRecipe:
    """What goes into an entry's image; every value here has been checked."""

    name: str  # folder name and image repository (a slug of the codemeta name)
    version: str
    package: str | None  # the PyPI project; None when built from the record's archive
    archive_key: str | None  # the record file to build from instead of PyPI
    requirements: tuple[str, ...]  # pip-style softwareRequirements, normalised
    skipped: tuple[str, ...]  # softwareRequirements that are not pip-style, as written
    runtime_platform: tuple[str, ...]
    base: str
    record: str  # the record id (or DOI) the recipe came from

    @property
    def image(self) -> str:
        return f"ossrflow/{self.name}:{re.sub(r'[^A-Za-z0-9_.-]', '_', self.version)}"


@dataclass(frozen=True)
class ImageRecord:
    """``image.json``: a built image, by name and digest, with what went into it."""

    image: str
    digest: str
    engine: str
    version: str
    base: str
    base_digest: str | None
    requirements: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "image": self.image,
            "digest": self.digest,
            "engine": self.engine,
            "version": self.version,
            "base": self.base,
            "base_digest": self.base_digest,
            "requirements": list(self.requirements),
        }


def _slug(name: str, source: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")
    if not slug:
        raise InputError(
            f"codemeta name {name!r} gives no usable image name",
            source=source,
            location="name",
            hint="give the entry a name with letters or digits",
        )
    return check_name(slug, source=source, location="name")


def _version(codemeta: Codemeta, source: str) -> str:
    match = _VERSION.match(codemeta.version or "")
    if match is None:
        raise InputError(
            f"softwareVersion {codemeta.version!r} is not a plain version",
            source=source,
            location="softwareVersion",
            hint="give a version such as 1.2.3 in codemeta.json",
        )
    return match.group(1)


def _requirements(codemeta: Codemeta) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """pip-style items (the text as written parses as a pip requirement), and the others."""
    kept, skipped = [], []
    for item in codemeta.software_requirements:
        written = item.text or item.name
        try:
            parsed = PipRequirement(written)
        except InvalidRequirement:
            skipped.append(written)
            continue
        if parsed.name.lower() != "python" and not parsed.url:
            kept.append(str(parsed))
    return tuple(kept), tuple(skipped)


def _archive_key(entry: Entry) -> str | None:
    keys = [f.key for f in entry.record.files if f.key.lower().endswith(ARCHIVE_SUFFIXES)]
    return min(keys, key=lambda k: (not k.endswith(".whl"), len(k))) if keys else None


def plan_recipe(
    entry: Entry, *, base: str = DEFAULT_BASE, package: str | None = None, source: str = "pypi"
) -> ContainerRecipe:
    """Check the entry's codemeta and decide what to install. ``source``: pypi or archive."""
    codemeta = entry.require_codemeta()
    where = codemeta.source or entry.record.registry
    version = _version(codemeta, where)
    requirements, skipped = _requirements(codemeta)
    archive = _archive_key(entry) if source == "archive" else None
    if source == "archive" and archive is None:
        raise NotFound(
            f"record {entry.record.id} has no source archive or wheel",
            source=entry.record.url or entry.record.registry,
            hint=f"install from PyPI instead, or publish a {'/'.join(ARCHIVE_SUFFIXES)} file",
        )
    project = package or codemeta.name
    if archive is None and not _PROJECT.match(project):
        raise InputError(
            f"{project!r} is not a PyPI project name",
            source=where,
            location="name",
            hint="name the PyPI project with --package",
        )
    return ContainerRecipe(
        name=_slug(codemeta.name, where),
        version=version,
        package=None if archive else project,
        archive_key=archive,
        requirements=requirements,
        skipped=skipped,
        runtime_platform=codemeta.runtime_platform,
        base=check_image_ref(base),
        record=entry.record.doi or entry.record.id,
    )


def _labels(recipe: ContainerRecipe) -> list[tuple[str, str]]:
    labels = [
        ("org.opencontainers.image.title", recipe.name),
        ("org.opencontainers.image.version", recipe.version),
        ("org.ossrflow.record", recipe.record),
    ]
    return [(key, value) for key, value in labels if _LABEL_SAFE.match(value)]


def render_dockerfile(recipe: ContainerRecipe) -> str:
    """The Dockerfile: FROM the base, a venv, install from the wheels of the build context only."""
    labels = " \\\n      ".join(f"{key}={json.dumps(value)}" for key, value in _labels(recipe))
    return (
        f"# Written by `ossrflow containerize` for {recipe.name} {recipe.version}; edit freely.\n"
        "# Builds need no network: wheels/ was filled on the host by `pip wheel`.\n"
        f"FROM {recipe.base}\n"
        "COPY requirements.txt /tmp/ossrflow/requirements.txt\n"
        "COPY wheels/ /tmp/ossrflow/wheels/\n"
        "RUN python3 -m venv /opt/venv \\\n"
        " && /opt/venv/bin/pip install --no-cache-dir --no-index \\\n"
        "      --find-links /tmp/ossrflow/wheels -r /tmp/ossrflow/requirements.txt \\\n"
        " && rm -rf /tmp/ossrflow\n"
        "ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        f"LABEL {labels}\n"
    )


def render_apptainer_def(recipe: ContainerRecipe) -> str:
    """The same recipe for Apptainer (``apptainer build IMAGE.sif apptainer.def`` in this folder)."""
    labels = "\n".join(f"    {key} {value}" for key, value in _labels(recipe))
    return (
        f"# Written by `ossrflow containerize` for {recipe.name} {recipe.version}; edit freely.\n"
        "Bootstrap: docker-daemon\n"
        f"From: {recipe.base}\n\n"
        "%files\n"
        "    requirements.txt /tmp/ossrflow/requirements.txt\n"
        "    wheels /tmp/ossrflow/wheels\n\n"
        "%post\n"
        "    python3 -m venv /opt/venv\n"
        "    /opt/venv/bin/pip install --no-cache-dir --no-index \\\n"
        "        --find-links /tmp/ossrflow/wheels -r /tmp/ossrflow/requirements.txt\n"
        "    rm -rf /tmp/ossrflow\n\n"
        "%environment\n"
        "    export PATH=/opt/venv/bin:$PATH\n\n"
        f"%labels\n{labels}\n"
    )


def _run_pip(pip: Sequence[str], args: Sequence[str], what: str) -> None:
    argv = [*pip, *args]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False
        )
    except FileNotFoundError:
        raise ServiceError(f"{argv[0]!r} not found", source="pip", hint="install pip") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()] or ["no message"]
        raise ServiceError(
            f"`pip wheel` could not get {what}: {lines[-1].strip()}",
            source="pip",
            hint="check the package name (--package), version and softwareRequirements",
        )


def write_context(
    recipe: ContainerRecipe,
    folder: Path,
    entry: Entry,
    *,
    pip: Sequence[str],
    pip_options: Sequence[str] = (),
    progress: Progress | None = None,
) -> Path:
    """Write Dockerfile, apptainer.def, requirements.txt and the wheels into ``folder``."""
    wheels = folder / "wheels"
    shutil.rmtree(wheels, ignore_errors=True)  # the build context holds this run's wheels only
    wheels.mkdir(parents=True)
    top, wheel_dir = f"{recipe.package}=={recipe.version}", ["-w", str(wheels)]
    if recipe.archive_key is not None:
        top = recipe.archive_key
        if progress:
            progress(f"building a wheel from {top}")
        archive = entry.file_path(top)
        _run_pip(pip, ["wheel", *pip_options, "--no-deps", *wheel_dir, str(archive)], top)
        built = _newest_wheel(wheels)
        host_specs = [str(built), *recipe.requirements]
        image_specs = [f"{WHEELS_IN_IMAGE}/{built.name}", *recipe.requirements]
    else:
        host_specs = image_specs = [top, *recipe.requirements]
    if progress:
        progress(f"making wheels for {top} in {wheels}")
    _run_pip(pip, ["wheel", *pip_options, "--prefer-binary", *wheel_dir, *host_specs], top)
    atomic_write(folder / "requirements.txt", "".join(f"{line}\n" for line in image_specs))
    atomic_write(folder / "Dockerfile", render_dockerfile(recipe))
    atomic_write(folder / "apptainer.def", render_apptainer_def(recipe))
    atomic_write(folder / ".gitignore", "wheels/\nimage.json\n")
    return folder


def _newest_wheel(folder: Path) -> Path:
    found = sorted(folder.glob("*.whl"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise ServiceError("pip made no wheel", source=str(folder), hint="check the archive")
    return found[-1]


def build_image(engine: Engine, folder: Path, recipe: ContainerRecipe) -> ImageRecord:
    """Build ``folder`` with ``engine`` (no network), tag it, and write ``image.json``."""
    base_digest = get_image_digest(engine, recipe.base)
    if base_digest is None:
        raise NotFound(
            f"base image {recipe.base!r} is not in {engine.name}'s local store",
            source=engine.name,
            hint=f"build it: bash containers/base/build.sh --engine {engine.name}",
        )
    done = run_engine(
        engine,
        ["build", "--network", "none", "--tag", recipe.image, str(folder)],
        timeout=BUILD_TIMEOUT,
    )
    digest = get_image_digest(engine, recipe.image) if done.returncode == 0 else None
    if digest is None:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise ServiceError(
            f"{engine.name} build of {recipe.image} failed: {lines[-1] if lines else 'no message'}",
            source=str(folder / "Dockerfile"),
            hint=f"run `{engine.name} build {folder}` to see the whole log",
        )
    record = ImageRecord(
        recipe.image,
        digest,
        engine.name,
        recipe.version,
        recipe.base,
        base_digest,
        _read_requirements(folder),
    )
    text = json.dumps(record.to_json(), indent=2, sort_keys=True) + "\n"
    atomic_write(folder / IMAGE_RECORD, text.encode())
    return record


def _read_requirements(folder: Path) -> tuple[str, ...]:
    lines = (folder / "requirements.txt").read_text(encoding="utf-8").splitlines()
    return tuple(line for line in lines if line.strip())


def containerize_entry(
    entry: Entry,
    out_dir: Path,
    *,
    engine: Engine | None,
    pip: Sequence[str],
    base: str = DEFAULT_BASE,
    package: str | None = None,
    source: str = "pypi",
    pip_options: Sequence[str] = (),
    progress: Progress | None = None,
) -> tuple[ContainerRecipe, Path, ImageRecord | None]:
    """Plan, write ``out_dir/<name>/`` and, when ``engine`` is given, build and record the image."""
    recipe = plan_recipe(entry, base=base, package=package, source=source)
    folder = write_context(
        recipe, out_dir / recipe.name, entry, pip=pip, pip_options=pip_options, progress=progress
    )
    if engine is None:
        return recipe, folder, None
    if progress:
        progress(f"building {recipe.image} with {engine.name}")
    return recipe, folder, build_image(engine, folder, recipe)


def load_image_record(containers_dir: Path, codemeta: Codemeta) -> ImageRecord | None:
    """The recorded image for this software and version, None when none was built for it."""
    path = containers_dir / _slug(codemeta.name, codemeta.source or "codemeta") / IMAGE_RECORD
    if not path.is_file():
        return None
    data = load_json_document(path)
    if not isinstance(data, dict) or data.get("version") != _version(codemeta, str(path)):
        return None
    try:
        return ImageRecord(
            str(data["image"]),
            str(data["digest"]),
            str(data["engine"]),
            str(data["version"]),
            str(data["base"]),
            data.get("base_digest"),
            tuple(data.get("requirements", ())),
        )
    except KeyError as exc:
        raise InputError(
            f"image record lacks {exc.args[0]!r}",
            source=str(path),
            hint="rerun ossrflow containerize",
        ) from None


def docker_requirement(record: ImageRecord | PinnedImage) -> dict[str, str]:
    """The CWL DockerRequirement that pins this image: the name to find it, the digest to run."""
    name = record.image if isinstance(record, ImageRecord) else record.ref
    return {"class": "DockerRequirement", "dockerPull": name, "dockerImageId": record.digest}


def pin_built_image(tool: Any, codemeta: Codemeta, containers_dir: Path | None) -> None:
    """Hint the image ``ossrflow containerize`` built for this software, pinned by its digest.

    The tool's own DockerRequirement wins; the built image wins over codemeta's SoftwareImage.
    """
    from cwl_utils.parser import cwl_v1_2

    declared = [*(tool.requirements or []), *(tool.hints or [])]
    if (
        containers_dir is None
        or not containers_dir.is_dir()
        or any(
            isinstance(item, cwl_v1_2.DockerRequirement)
            or (
                isinstance(item, Mapping)
                and str(item.get("class", "")).rpartition("#")[2] == "DockerRequirement"
            )
            for item in declared
        )
    ):
        return
    built = load_image_record(containers_dir, codemeta)
    if built is not None:
        pin = docker_requirement(built)
        hint = cwl_v1_2.DockerRequirement(
            dockerPull=pin["dockerPull"],
            dockerImageId=pin["dockerImageId"],
            loadingOptions=tool.loadingOptions,
        )
        tool.hints = [*(tool.hints or []), hint]

"""Container images for CWL ``DockerRequirement``: resolved once, pinned by digest, cached for Apptainer.

:func:`resolve_image` follows CWL v1.2 (``DockerRequirement``):

- ``dockerImageId`` is the name the job runs; without it, ``dockerPull`` is.
- An image already present under that name is used as it is.
- ``dockerFile``: its text is built (``<engine> build``, empty context) and tagged with
  ``dockerImageId``, else with ``ossrflow/dockerfile:<sha256 of the text, 16 hex>``.
- ``dockerLoad`` / ``dockerImport``: a local file (path relative to ``base_dir``, or ``file:``
  URL) is loaded with ``<engine> load`` / imported with ``<engine> import``. http(s) URLs are not
  fetched: download the file and name its path.
- ``dockerPull``: pulled only with ``allow_pull=True``; otherwise the image must be present (no
  registry is reachable on the machines this is tested on) and :class:`NotFound` says how to get it.

The result is a :class:`PinnedImage` whose ``digest`` is the engine's image id (``sha256:…``,
the hash of the image configuration, which ``save``/``load`` keep). Jobs run ``run_ref``: the
digest itself, or for Apptainer a SIF file converted once from the docker/podman image by
:func:`convert_for_apptainer` under a file lock, in a cache shared by every job.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from filelock import FileLock

from ossrflow.containers.engines import Engine, run_engine
from ossrflow.errors import InputError, NotFound, ServiceError, Unsupported

__all__ = [
    "BUILD_TIMEOUT",
    "PinnedImage",
    "convert_for_apptainer",
    "get_image_digest",
    "render_pin",
    "resolve_image",
]

BUILD_TIMEOUT = 3600.0
INSPECT_TIMEOUT = 60.0
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_KNOWN_KEYS = {
    "class",
    "dockerPull",
    "dockerLoad",
    "dockerFile",
    "dockerImport",
    "dockerImageId",
    "dockerOutputDirectory",
}


@dataclass(frozen=True)
class PinnedImage:
    """A step's image, pinned: run ``run_ref``; record ``ref`` and ``digest`` in provenance."""

    ref: (
        str  # the name the requirement gives (dockerImageId, else dockerPull, else a generated tag)
    )
    digest: str  # sha256:<64 hex>, the engine's image id
    engine: str  # docker | podman (the engine that holds the image)
    how: str  # present | pulled | built | loaded | imported
    output_directory: str | None = None  # dockerOutputDirectory
    sif: Path | None = None  # apptainer: the converted image file

    @property
    def run_ref(self) -> str:
        """What the run command names: the SIF for apptainer, else the digest."""
        return str(self.sif) if self.sif is not None else self.digest


def _normal_digest(text: str) -> str:
    digest = text.strip()
    digest = digest if digest.startswith("sha256:") else f"sha256:{digest}"
    return digest if _DIGEST.match(digest) else ""


def get_image_digest(engine: Engine, ref: str) -> str | None:
    """The image id (``sha256:…``) of ``ref`` in the engine's local store, None when absent."""
    done = run_engine(
        engine, ["image", "inspect", "--format", "{{.Id}}", ref], timeout=INSPECT_TIMEOUT
    )
    if done.returncode != 0:
        return None
    return _normal_digest(done.stdout.splitlines()[0] if done.stdout else "") or None


def _field(requirement: Mapping[str, object], key: str) -> str | None:
    value = requirement.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError(
            f"DockerRequirement.{key} must be a non-empty string",
            location=f"DockerRequirement.{key}",
            hint="see the CWL v1.2 DockerRequirement",
        )
    return value


def _check_keys(requirement: Mapping[str, object]) -> None:
    unknown = sorted(set(requirement) - _KNOWN_KEYS)
    if unknown:
        raise InputError(
            f"DockerRequirement has unknown field {unknown[0]!r}",
            location=f"DockerRequirement.{unknown[0]}",
            hint=f"known fields: {', '.join(sorted(_KNOWN_KEYS - {'class'}))}",
        )


def _local_file(location: str, base_dir: Path | None, key: str) -> Path:
    """A dockerLoad/dockerImport location as a local path (relative to ``base_dir``)."""
    parsed = urlparse(location)
    if parsed.scheme in ("http", "https"):
        raise Unsupported(
            f"DockerRequirement.{key} {location!r} is a URL; ossrflow does not download images",
            location=f"DockerRequirement.{key}",
            hint="download the file and give its path",
        )
    path = Path(unquote(parsed.path)) if parsed.scheme == "file" else Path(location)
    if not path.is_absolute():
        path = (base_dir or Path.cwd()) / path
    if not path.is_file():
        raise NotFound(
            f"image file {str(path)!r} does not exist",
            location=f"DockerRequirement.{key}",
            hint="give the path of a file made by `docker save` (dockerLoad) or a root "
            "filesystem tarball (dockerImport)",
        )
    return path


def _failed(engine: Engine, action: str, ref: str, stderr: str) -> ServiceError:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return ServiceError(
        f"{engine.name} {action} of {ref!r} failed: {lines[-1] if lines else 'no message'}",
        source=engine.name,
        hint=f"run the {engine.name} command by hand to see the whole log",
    )


def _build(engine: Engine, dockerfile: str, tag: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ossrflow-dockerfile-") as context:
        (Path(context) / "Dockerfile").write_text(dockerfile, encoding="utf-8")
        done = run_engine(
            engine, ["build", "--network", "none", "--tag", tag, context], timeout=BUILD_TIMEOUT
        )
    if done.returncode != 0:
        raise _failed(engine, "build", tag, done.stderr or done.stdout)


def _load(engine: Engine, path: Path) -> None:
    done = run_engine(engine, ["load", "--input", str(path)], timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise _failed(engine, "load", str(path), done.stderr or done.stdout)


def _import(engine: Engine, path: Path, name: str) -> None:
    done = run_engine(engine, ["import", str(path), name], timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise _failed(engine, "import", str(path), done.stderr or done.stdout)


def _pull(engine: Engine, ref: str) -> None:
    done = run_engine(engine, ["pull", ref], timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        raise _failed(engine, "pull", ref, done.stderr or done.stdout)


def _not_present(engine: Engine, ref: str) -> NotFound:
    return NotFound(
        f"image {ref!r} is not in {engine.name}'s local store and no registry is used",
        location="DockerRequirement.dockerPull",
        hint=f"load it (`{engine.name} load -i FILE`), build it (`ossrflow containerize REF`, "
        "containers/base/build.sh), or allow pulling where a registry is reachable",
    )


def _obtain(
    engine: Engine,
    requirement: Mapping[str, object],
    name: str,
    base_dir: Path | None,
    allow_pull: bool,
) -> tuple[str, str]:
    """Make ``name`` present (build/load/import/pull as the requirement says): (ref, how)."""
    dockerfile = _field(requirement, "dockerFile")
    if dockerfile is not None:  # like cwltool: always rebuilt, the layer cache makes it cheap
        _build(engine, dockerfile, name)
        return name, "built"
    if get_image_digest(engine, name) is not None:
        return name, "present"
    pull, load = _field(requirement, "dockerPull"), _field(requirement, "dockerLoad")
    imported = _field(requirement, "dockerImport")
    if pull is not None and allow_pull:
        _pull(engine, pull)
        return pull, "pulled"
    if load is not None:
        _load(engine, _local_file(load, base_dir, "dockerLoad"))
        return name, "loaded"
    if imported is not None:
        _import(engine, _local_file(imported, base_dir, "dockerImport"), name)
        return name, "imported"
    raise _not_present(engine, name)


def _image_name(requirement: Mapping[str, object]) -> str:
    name = _field(requirement, "dockerImageId") or _field(requirement, "dockerPull")
    if name is not None:
        return name
    dockerfile = _field(requirement, "dockerFile")
    if dockerfile is not None:
        text_hash = hashlib.sha256(dockerfile.encode()).hexdigest()[:16]
        return f"ossrflow/dockerfile:{text_hash}"
    raise InputError(
        "DockerRequirement names no image",
        location="DockerRequirement",
        hint="give dockerPull, dockerImageId or dockerFile",
    )


def resolve_image(
    engine: Engine,
    requirement: Mapping[str, object],
    *,
    base_dir: Path | None = None,
    allow_pull: bool = False,
) -> PinnedImage:
    """Make the requirement's image present in ``engine`` (docker or podman) and pin its digest.

    ``requirement`` is a DockerRequirement as a mapping (CWL field names). For Apptainer, resolve
    with docker or podman first, then call :func:`convert_for_apptainer`.
    """
    if engine.name == "apptainer":
        raise Unsupported(
            "images are resolved with docker or podman, then converted for apptainer",
            source="apptainer",
            hint="call resolve_image with a docker/podman engine, then convert_for_apptainer",
        )
    _check_keys(requirement)
    output_dir = _field(requirement, "dockerOutputDirectory")
    ref, how = _obtain(engine, requirement, _image_name(requirement), base_dir, allow_pull)
    digest = get_image_digest(engine, ref)
    if digest is None:
        raise ServiceError(
            f"{engine.name} reports no image {ref!r} right after it was {how}",
            source=engine.name,
            hint="a loaded archive must hold the image under dockerImageId (or dockerPull)",
        )
    pull = _field(requirement, "dockerPull")
    if _DIGEST.match(ref) and pull is not None:
        ref = pull  # an id pins it; the name says what it is (ossrflow cwl writes both)
    return PinnedImage(ref, digest, engine.name, how, output_directory=output_dir)


def convert_for_apptainer(
    apptainer: Engine, image: PinnedImage, source: Engine, cache_dir: Path
) -> PinnedImage:
    """The image as a SIF file in ``cache_dir/apptainer/``, converted at most once.

    A file lock per digest serialises concurrent jobs: the first converts (``<source> save`` then
    ``apptainer build … docker-archive:``), the others wait and reuse the file, which appears under
    its final name only when complete.
    """
    folder = cache_dir / "apptainer"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{image.digest.removeprefix('sha256:')}.sif"
    with FileLock(f"{target}.lock"):
        if not target.is_file():
            _convert(apptainer, image, source, folder, target)
    return PinnedImage(
        image.ref, image.digest, image.engine, image.how, image.output_directory, sif=target
    )


def _convert(
    apptainer: Engine, image: PinnedImage, source: Engine, folder: Path, target: Path
) -> None:
    with tempfile.TemporaryDirectory(dir=folder, prefix=".convert-") as tmp:
        archive, sif = Path(tmp) / "image.tar", Path(tmp) / "image.sif"
        saved = run_engine(
            source, ["save", "--output", str(archive), image.digest], timeout=BUILD_TIMEOUT
        )
        if saved.returncode != 0:
            raise _failed(source, "save", image.digest, saved.stderr)
        built = run_engine(
            apptainer, ["build", str(sif), f"docker-archive:{archive}"], timeout=BUILD_TIMEOUT
        )
        if built.returncode != 0 or not sif.is_file():
            raise _failed(apptainer, "build", image.ref, built.stderr or built.stdout)
        sif.replace(target)


def render_pin(image: PinnedImage) -> dict[str, str]:
    """The provenance record of one pinned image (JSON-ready)."""
    record = {"ref": image.ref, "digest": image.digest, "engine": image.engine, "how": image.how}
    if image.sif is not None:
        record["sif"] = str(image.sif)
    return record

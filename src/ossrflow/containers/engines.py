"""Container engines: find them, pin a step's image once, and render the command that runs a job.

Three engines, one vocabulary::

    detect_engines()                      -> [Engine]       which of docker, podman, apptainer run here
    get_engine(name, engines)             -> Engine         the one a profile or --container names
    select_engine([name, …, "none"])      -> Engine | None  the first of a list that runs here
    images.resolve_image(engine, req)     -> PinnedImage    a CWL DockerRequirement, pinned by digest
    job_mounts(inputs, workdir)           -> [Mount]        inputs read-only, the work dir read-write
    render_run_command(engine, image, …)  -> [str]          argv, one value per element, no shell

Images are resolved once, on the submit host, and every job then runs the image by its digest
(``sha256:…``, the engine's image id): a tag moved later cannot change what a rerun executes. No
container registry is reachable from the machines ossrflow is tested on, so ``dockerPull`` only
finds images already present unless ``allow_pull=True``. Apptainer runs a SIF file converted once
from the docker/podman image and kept in a cache shared by all jobs (:mod:`ossrflow.containers.images`).

Every value that reaches a command line is one argv element. Paths are refused (never cleaned)
when they would be misread by an engine's own option syntax (``,`` and ``:`` separate fields of
``--mount``/``--bind``), and an image reference or user that looks like an option is refused.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal, get_args

from ossrflow.errors import InputError, ServiceError, UnsafeValue

__all__ = [
    "AUTO_ENGINES",
    "ENGINE_CHOICES",
    "ENGINE_NAMES",
    "Engine",
    "EngineName",
    "Mount",
    "check_engine_choices",
    "check_image_ref",
    "detect_engines",
    "get_engine",
    "job_mounts",
    "probe_engine",
    "render_run_command",
    "run_engine",
    "select_engine",
]

EngineName = Literal["docker", "podman", "apptainer"]
ENGINE_NAMES: tuple[EngineName, ...] = get_args(EngineName)
# What --container and a profile's ``container:`` take; ``none`` runs steps without containers.
ENGINE_CHOICES: tuple[str, ...] = (*ENGINE_NAMES, "none")
# The order tried when neither the command line nor the profile names an engine.
AUTO_ENGINES: tuple[str, ...] = ("docker", "podman", "apptainer", "none")
PROBE_TIMEOUT = 30.0

# What each engine is asked to prove it can work (a daemon answering, storage readable).
_PROBES: dict[str, list[str]] = {
    "docker": ["info", "--format", "{{.ServerVersion}}"],
    "podman": ["info", "--format", "{{.Version.Version}}"],
    "apptainer": ["--version"],
}
_START_HINTS = {
    "docker": "start a daemon (as root: bash scripts/containers/dockerd.sh start)",
    "podman": "set podman up (as root: bash scripts/containers/podman.sh start)",
    "apptainer": "install Apptainer (see docs/containers.md)",
}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_USER = re.compile(r"^[0-9]+(?::[0-9]+)?$")
_IMAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Characters that the engines' mount syntaxes treat as separators: refused in mounted paths.
_MOUNT_UNSAFE = re.compile(r"[,:\"'=\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Engine:
    """A container engine found on this machine; ``usable`` is False with the ``reason`` why not."""

    name: EngineName
    executable: str
    version: str | None = None
    usable: bool = True
    reason: str | None = None


@dataclass(frozen=True)
class Mount:
    """A bind mount: host ``src`` at container path ``dst``; read-only unless said otherwise."""

    src: Path
    dst: str
    readonly: bool = True


def run_engine(
    engine: Engine, args: Sequence[str], *, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``engine.executable *args`` and capture text output; ServiceError if it cannot start."""
    argv = [engine.executable, *args]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ServiceError(
            f"{engine.name} executable {engine.executable!r} not found",
            source=engine.name,
            hint=_START_HINTS[engine.name],
        ) from None
    except subprocess.TimeoutExpired:
        raise ServiceError(
            f"`{' '.join(argv[:3])} …` did not finish within {timeout} s",
            source=engine.name,
            hint=_START_HINTS[engine.name],
        ) from None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def probe_engine(name: EngineName, executable: str, *, timeout: float = PROBE_TIMEOUT) -> Engine:
    """Ask one engine whether it can run containers here (a daemon for docker, storage for podman)."""
    found = Engine(name, executable)
    try:
        done = run_engine(found, _PROBES[name], timeout=timeout)
    except ServiceError as exc:
        return Engine(name, executable, usable=False, reason=exc.problem)
    version = done.stdout.strip().removeprefix("apptainer version ").strip()
    if done.returncode != 0 or not version:
        why = _last_line(done.stderr or done.stdout)
        return Engine(name, executable, usable=False, reason=f"`{name} {_PROBES[name][0]}`: {why}")
    return Engine(name, executable, version=version)


def _find_executable(name: EngineName, path: str | None) -> str | None:
    candidates = ("apptainer", "singularity") if name == "apptainer" else (name,)
    return next((e for c in candidates if (e := shutil.which(c, path=path))), None)


def detect_engines(*, path: str | None = None, timeout: float = PROBE_TIMEOUT) -> list[Engine]:
    """Every engine whose executable is on ``path`` (default: the process's PATH), probed.

    Apptainer is also found under its former name ``singularity``. Engines that are installed but
    cannot run (no daemon, broken storage) are listed with ``usable=False`` and the reason.
    """
    engines = []
    for name in ENGINE_NAMES:
        executable = _find_executable(name, path)
        if executable is not None:
            engines.append(probe_engine(name, executable, timeout=timeout))
    return engines


def check_engine_choices(
    choices: Sequence[str], *, source: str | None = None, location: str = "container"
) -> tuple[str, ...]:
    """``choices`` if each is an engine name or ``none``, else :class:`InputError`."""
    for choice in choices:
        if choice not in ENGINE_CHOICES:
            raise InputError(
                f"unknown container engine {choice!r}",
                source=source,
                location=location,
                hint=f"use one of {', '.join(ENGINE_CHOICES)}",
            )
    if not choices:
        raise InputError(
            "no container engine named",
            source=source,
            location=location,
            hint=f"use one of {', '.join(ENGINE_CHOICES)}",
        )
    return tuple(choices)


def select_engine(
    choices: Sequence[str], *, path: str | None = None, timeout: float = PROBE_TIMEOUT
) -> Engine | None:
    """The first of ``choices`` that can run containers here; None when that is ``none``.

    Engines are probed in order and only until one answers. ServiceError when none of them can
    run (one engine named: the same error as :func:`get_engine`; several: every reason).
    """
    reasons: list[str] = []
    for choice in check_engine_choices(choices):
        if choice == "none":
            return None
        name: EngineName = next(n for n in ENGINE_NAMES if n == choice)
        executable = _find_executable(name, path)
        found = [probe_engine(name, executable, timeout=timeout)] if executable else []
        if len(choices) == 1:
            return get_engine(name, found)
        if found and found[0].usable:
            return found[0]
        reasons.append(f"{name}: {found[0].reason if found else 'not installed'}")
    raise ServiceError(
        f"no container engine of {', '.join(choices)} can run here ({'; '.join(reasons)})",
        source="container",
        hint=f"{_START_HINTS[ENGINE_NAMES[0]]}, set up another engine, or add none to run "
        "steps without containers",
    )


def get_engine(name: str, engines: Sequence[Engine]) -> Engine:
    """The usable engine called ``name``; InputError for an unknown name, ServiceError if unusable."""
    if name not in ENGINE_NAMES:
        raise InputError(
            f"unknown container engine {name!r}",
            location="container",
            hint=f"use one of {', '.join(ENGINE_NAMES)} or none",
        )
    engine = next((e for e in engines if e.name == name), None)
    if engine is None:
        raise ServiceError(
            f"{name} is not installed on this machine", source=name, hint=_START_HINTS[name]
        )
    if not engine.usable:
        raise ServiceError(
            f"{name} cannot run containers here: {engine.reason}",
            source=engine.executable,
            hint=_START_HINTS[name],
        )
    return engine


# ---------------------------------------------------------------------------------------------
# Command lines (pure)
# ---------------------------------------------------------------------------------------------


def _container_path(text: str, what: str) -> str:
    """An absolute, normalised container path; refused if it escapes with ``..`` or a separator."""
    path = PurePosixPath(text)
    if not path.is_absolute() or ".." in path.parts or _MOUNT_UNSAFE.search(text):
        raise UnsafeValue(
            f"{what} {text!r} is not a plain absolute container path",
            location=what,
            hint="use an absolute path without '..', ',', ':', quotes, '=' or control characters",
        )
    return str(path)


def _host_path(path: Path, what: str) -> str:
    text = str(path)
    if not path.is_absolute() or _MOUNT_UNSAFE.search(text):
        raise UnsafeValue(
            f"{what} {text!r} cannot be mounted",
            location=what,
            hint="use an absolute host path without ',', ':', quotes, '=' or control characters "
            "(rename or stage the file under a plain name)",
        )
    return text


def check_image_ref(image: str) -> str:
    """``image`` if it is a plain image name, id or SIF path, else :class:`UnsafeValue`."""
    if not _IMAGE.match(image):
        raise UnsafeValue(
            f"image reference {image!r} is not a plain image name, id or file path",
            location="image",
            hint="give a name such as ossrflow/busybox:local, an id sha256:…, or a SIF path",
        )
    return image


def _env_items(env: Mapping[str, str]) -> list[tuple[str, str]]:
    items = []
    for name, value in sorted(env.items()):
        if not _ENV_NAME.match(name) or "\x00" in value:
            raise UnsafeValue(
                f"environment variable {name!r} cannot be passed to a container",
                location=f"env.{name}",
                hint="names are letters, digits and '_'; values hold no NUL byte",
            )
        items.append((name, value))
    return items


def _oci_run(
    engine: Engine,
    image: str,
    mounts: Sequence[Mount],
    workdir: str,
    env: list[tuple[str, str]],
    user: str | None,
    network: bool,
) -> list[str]:
    """docker/podman: ``run`` with no network, a read-only root, a private /tmp and only ``mounts``."""
    argv = [engine.executable, "run", "--rm", "--read-only", "--tmpfs", "/tmp"]  # noqa: S108
    argv += [] if network else ["--network", "none"]
    argv += ["--workdir", workdir]
    if user is not None:
        argv += ["--user", user]
    for mount in mounts:
        spec = f"type=bind,source={_host_path(mount.src, 'mount source')},target={mount.dst}"
        argv += ["--mount", spec + (",readonly" if mount.readonly else "")]
    for name, value in env:
        argv += ["--env", f"{name}={value}"]
    return [*argv, image]


def _apptainer_exec(
    engine: Engine,
    image: str,
    mounts: Sequence[Mount],
    workdir: str,
    env: list[tuple[str, str]],
    network: bool,
) -> list[str]:
    """apptainer: ``exec --containall --cleanenv``; variables travel as APPTAINERENV_* (no commas)."""
    argv = ["env", *(f"APPTAINERENV_{name}={value}" for name, value in env)]
    argv += [engine.executable, "exec", "--containall", "--cleanenv", "--pwd", workdir]
    argv += [] if network else ["--net", "--network", "none"]
    for mount in mounts:
        src = _host_path(mount.src, "mount source")
        argv += ["--bind", f"{src}:{mount.dst}:{'ro' if mount.readonly else 'rw'}"]
    return [*argv, image]


def render_run_command(
    engine: Engine,
    image: str,
    *,
    mounts: Sequence[Mount],
    workdir: str,
    env: Mapping[str, str],
    command: Sequence[str],
    user: str | None = None,
    network: bool = False,
) -> list[str]:
    """The argv that runs ``command`` in ``image`` with ``engine``, seeing only ``mounts``.

    ``image`` is what :class:`~ossrflow.containers.images.PinnedImage` gives as ``run_ref``: an image id for
    docker/podman, a SIF path for apptainer. ``user`` (``UID[:GID]``) applies to docker and podman;
    apptainer always runs as the calling user. ``network=False`` (CWL's default) cuts the
    container off from every network. Pure: nothing is run and nothing is read from disk.
    """
    image = check_image_ref(image)
    workdir = _container_path(workdir, "workdir")
    checked = [Mount(m.src, _container_path(m.dst, "mount target"), m.readonly) for m in mounts]
    items = _env_items(env)
    if user is not None and not _USER.match(user):
        raise UnsafeValue(f"user {user!r} is not UID[:GID]", location="user", hint="e.g. 1000:1000")
    if engine.name == "apptainer":
        return [*_apptainer_exec(engine, image, checked, workdir, items, network), *command]
    return [*_oci_run(engine, image, checked, workdir, items, user, network), *command]


def job_mounts(
    inputs: Iterable[Path], workdir: Path, *, container_workdir: str | None = None
) -> list[Mount]:
    """Mounts for one job: each input read-only at its own path, the work dir read-write.

    Inputs inside the work dir are already visible through it and are not mounted twice. The work
    dir appears at ``container_workdir`` (CWL ``dockerOutputDirectory``) when given, else at its
    host path. Sorted, so the same job always renders the same command.
    """
    work = workdir.resolve()
    mounts = {Mount(work, container_workdir or str(work), readonly=False)}
    for item in inputs:
        path = item.resolve()
        if not path.is_relative_to(work):
            mounts.add(Mount(path, str(path), readonly=True))
    return sorted(mounts, key=lambda m: (m.dst, m.readonly))

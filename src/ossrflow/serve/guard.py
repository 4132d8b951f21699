"""The container guard: every container engine call of a service run passes through here.

``ossrflow serve``'s worker puts a folder first on the run's ``PATH`` holding a shim for each of
``docker``, ``podman``, ``singularity`` and ``apptainer`` found on it; a shim runs
``python -m ossrflow.serve.guard SETTINGS.json REAL_ENGINE ARGS...``. Calls that start no
container go to the real engine unchanged (``info``, ``inspect``, ``load``, ``pull``,
``--version``…); the other ways to start or enter one (``create``, ``exec``, ``container``…,
global options before the command, Apptainer's ``shell`` and ``instance``) are refused.

docker/podman ``run`` (what cwltool starts a step with) is checked and tightened first:

- only the options cwltool writes are accepted (``-i``, ``--mount=``, ``--workdir=``,
  ``--read-only=``, ``--net=none``, ``--log-driver=none``, ``--user=``, ``--rm``,
  ``--cidfile=``, ``--env=``, ``--memory=``, ``--cpus=``, ``--gpus=``, ``--shm-size=``,
  ``--userns=keep-id``); anything else (``--privileged``, ``--cap-add``, ``--device``,
  ``--net=host``, ``-v``…) is refused;
- bind mounts: writable ones must lie in the run's own folder, read-only ones in the run's
  folder, the content store or a data root; nothing else of the machine is mounted;
- when the service runs as root, the step runs as the unprivileged ``container_user``
  (its writable mounts are handed to that user first, and read-only ones from the run's folder
  or the content store are made readable to others, as the store's downloads already are)
  instead of cwltool's ``--user=0:0``;
- added: ``--cap-drop=ALL``, ``--security-opt=no-new-privileges``, and the label
  ``org.ossrflow.run=RUN_ID`` by which a cancel finds and kills the run's containers.

singularity/apptainer ``run`` and ``exec`` (what cwltool's singularity backend writes, after its
``--quiet``) get the same checks in that engine's words:

- only ``--contain``, ``--containall``, ``--ipc``, ``--pid``, ``--userns``, ``--cleanenv``,
  ``--no-eval``, ``--no-privs``, ``--nv``, ``--net`` with ``--network none``, ``--pwd DIR``,
  ``--home SRC:DST``, ``--bind SRC:DST[:ro|:rw]`` and ``--mount=type=bind,...`` are accepted;
- ``--home`` and writable binds must lie in the run's folder, read-only ones as above; the image
  must be a local file (no ``docker://``, ``library://`` or ``instance://``);
- ``--containall`` and ``--no-privs`` are added; ``SINGULARITY_*``/``APPTAINER_*`` variables that
  could add binds or lift containment are dropped from the engine's environment (its
  ``*ENV_*`` variables, the step's environment, stay);
- when the service runs as root, the engine is started as the unprivileged ``container_user``
  (Apptainer runs the container as its caller), after the same hand-over of the mounts.

A refused call exits 125 (the engines' own code for "the run command failed") with one line on
stderr, which cwltool reports as the step's failure.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "ALLOWED_PREFIXES",
    "LABEL",
    "SINGULARITY_NAMES",
    "Refused",
    "guard_call",
    "guard_run_args",
    "guard_singularity_args",
    "guard_singularity_env",
    "main",
    "write_shims",
]

LABEL = "org.ossrflow.run"
ALLOWED_PREFIXES = (
    "--mount=",
    "--workdir=",
    "--read-only=",
    "--log-driver=none",
    "--user=",
    "--cidfile=",
    "--env=",
    "--memory=",
    "--cpus=",
    "--gpus=",
    "--shm-size=",
)
ALLOWED_FLAGS = frozenset({"-i", "--rm", "--net=none", "--userns=keep-id"})
# docker/podman commands that start or enter a container other than through ``run``
OCI_REFUSED = frozenset({"create", "start", "restart", "exec", "attach", "container", "compose",
                         "pod", "kube", "play", "system", "machine", "plugin"})  # fmt: skip
OCI_GLOBAL_QUERIES = (("--version",), ("-v",), ("--help",), ("-h",))

SINGULARITY_NAMES = ("singularity", "apptainer")
SINGULARITY_GLOBAL = frozenset({"--quiet", "-q", "--silent", "-s"})
SINGULARITY_STARTS = frozenset({"run", "exec"})
SINGULARITY_REFUSED = frozenset({"shell", "instance", "test", "oci", "overlay", "plugin"})
SINGULARITY_FLAGS = frozenset({"--contain", "--containall", "--ipc", "--pid", "--userns",
                               "--cleanenv", "--no-eval", "--no-privs", "--nv", "--net"})  # fmt: skip
SINGULARITY_VALUED = frozenset({"--bind", "--home", "--pwd", "--network"})
SINGULARITY_ADDED = ("--containall", "--no-privs")
# the engine's own settings that may stay in its environment (the rest could add binds, a
# network, capabilities or an overlay: e.g. APPTAINER_BIND, SINGULARITY_ADD_CAPS)
SINGULARITY_KEPT_SETTINGS = frozenset({"CACHEDIR", "TMPDIR", "PULLFOLDER", "CONFIGDIR",
                                       "MESSAGELEVEL", "QUIET", "SILENT"})  # fmt: skip


class Refused(Exception):
    """A container start the guard does not let through."""


@dataclass
class _Mounts:
    """The mounts of one container start, checked against the run's roots as they come."""

    settings: Mapping[str, object]
    handed: list[Path] = field(default_factory=list)
    shared: list[Path] = field(default_factory=list)

    def admit(self, source: Path, writable: bool) -> None:
        writable_roots = [str(self.settings["run_folder"])]
        readable_roots = [str(r) for r in self.settings["readable"]]  # type: ignore[attr-defined]
        shareable = [str(r) for r in self.settings.get("shareable", [])]  # type: ignore[attr-defined]
        if writable and not _inside(source, writable_roots):
            raise Refused(f"writable mount {source} lies outside the run's folder")
        if not _inside(source, readable_roots + writable_roots):
            raise Refused(f"mount {source} lies outside the run, the store and the data roots")
        if writable:
            self.handed.append(source)
        elif _inside(source, shareable):
            self.shared.append(source)

    def prepare(self, user: str) -> None:
        """Hand the writable mounts to ``user`` (``UID[:GID]``), let it read the shared ones."""
        uid, gid = _ids(user)
        for path in self.handed:
            _hand_over(path, uid, gid)
        for path in self.shared:
            _let_read(path)


def _ids(user: str) -> tuple[int, int]:
    uid, _, gid = user.partition(":")
    return int(uid), int(gid or uid)


def _mount(spec: str) -> tuple[Path, bool]:
    """A ``--mount`` value (docker's CSV syntax, which Apptainer's ``--mount`` shares)."""
    fields: dict[str, str] = {}
    for item in next(csv.reader([spec])):
        name, _, value = item.partition("=")
        if name in fields:
            raise Refused(f"mount {spec!r} names {name} twice")
        fields[name] = value
    if fields.get("type") != "bind" or "source" not in fields:
        raise Refused(f"mount {spec!r} is not a plain bind mount")
    return Path(fields["source"]), "readonly" not in fields and "ro" not in fields


def _bind(spec: str) -> tuple[Path, bool]:
    """An Apptainer ``--bind SRC:DST[:ro|:rw]`` value (one bind, as cwltool writes it)."""
    parts = spec.split(":")
    if "," in spec or len(parts) not in (2, 3) or (parts[2:] and parts[2] not in ("ro", "rw")):
        raise Refused(f"bind {spec!r} is not one SRC:DST[:ro|:rw] bind")
    return Path(parts[0]), parts[2:] != ["ro"]


def _inside(path: Path, roots: Sequence[str]) -> bool:
    real = path.resolve()
    return any(real.is_relative_to(Path(root).resolve()) for root in roots)


def _hand_over(path: Path, uid: int, gid: int) -> None:
    """Give a writable mount (a fresh folder of cwltool's) to the container user."""
    if path.is_symlink():
        raise Refused(f"writable mount {path} is a symbolic link")
    os.chown(path, uid, gid)
    if path.is_dir():
        for parent, dirs, files in os.walk(path):
            for name in dirs + files:
                os.lchown(Path(parent) / name, uid, gid)


def _let_read(path: Path) -> None:
    """Make a read-only mount (a stored input, or a folder of them) readable by other users."""
    if path.is_symlink():
        raise Refused(f"read-only mount {path} is a symbolic link")
    found = [path, *(path.rglob("*") if path.is_dir() else ())]
    for item in found:
        if item.is_symlink():
            continue
        mode = stat.S_IMODE(item.lstat().st_mode)
        wanted = mode | (0o055 if item.is_dir() else 0o044)
        if wanted != mode:
            item.chmod(wanted)


def guard_run_args(args: Sequence[str], settings: dict[str, object]) -> list[str]:
    """The checked and tightened arguments after docker/podman ``run`` (see the module docstring)."""
    user = settings.get("user")
    options: list[str] = []
    mounts = _Mounts(settings)
    index = 0
    while index < len(args) and args[index].startswith("-"):
        arg = args[index]
        if arg.startswith("--mount="):
            mounts.admit(*_mount(arg.removeprefix("--mount=")))
        elif arg.startswith("--user="):
            arg = f"--user={user}" if user else arg
        elif arg not in ALLOWED_FLAGS and not arg.startswith(ALLOWED_PREFIXES):
            raise Refused(f"option {arg!r} is not allowed in a service run")
        options.append(arg)
        index += 1
    if index >= len(args):
        raise Refused("no image given")
    if user:
        if not any(o.startswith("--user=") for o in options):
            options.append(f"--user={user}")
        mounts.prepare(str(user))
    options += [
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        f"--label={LABEL}={settings['run_id']}",
    ]
    return [*options, *args[index:]]


def _singularity_option(name: str, value: str | None, mounts: _Mounts) -> list[str]:
    """One option of singularity ``run``/``exec``, checked: the words to pass on."""
    if name in SINGULARITY_FLAGS and value is None:
        return [name]
    if name == "--mount" and value is not None:
        mounts.admit(*_mount(value))
        return [f"--mount={value}"]
    if name not in SINGULARITY_VALUED or value is None:
        raise Refused(f"option {name!r} is not allowed in a service run")
    if name == "--bind":
        mounts.admit(*_bind(value))
    elif name == "--home":
        mounts.admit(Path(value.split(":")[0]), writable=True)
    elif name == "--network" and value != "none":
        raise Refused(f"network {value!r} is not allowed in a service run (only none)")
    return [name, value]


def guard_singularity_args(args: Sequence[str], settings: dict[str, object]) -> list[str]:
    """The checked and tightened arguments after singularity/apptainer ``run`` or ``exec``.

    The container user (settings ``user``) gets the writable mounts and may read the shared ones;
    :func:`main` then starts the engine as that user.
    """
    options: list[str] = []
    mounts = _Mounts(settings)
    index = 0
    while index < len(args) and args[index].startswith("-"):
        name, eq, value = args[index].partition("=")
        if not eq and name in SINGULARITY_VALUED:
            index += 1
            if index >= len(args):
                raise Refused(f"option {name!r} has no value")
            value = args[index]
        options += _singularity_option(name, value if eq or name in SINGULARITY_VALUED else None,
                                       mounts)  # fmt: skip
        index += 1
    if "--net" in options and "--network" not in options:
        raise Refused("--net without --network none is not allowed in a service run")
    if index >= len(args):
        raise Refused("no image given")
    image = args[index]
    if "://" in image or not image.startswith("/"):
        raise Refused(f"image {image!r} is not a local image file")
    if user := settings.get("user"):
        mounts.prepare(str(user))
    return [*options, *SINGULARITY_ADDED, *args[index:]]


def guard_singularity_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without the engine settings that could add binds or lift containment."""
    kept = {}
    for name, value in env.items():
        prefix, _, setting = name.partition("_")
        if prefix in ("SINGULARITY", "APPTAINER") and setting not in SINGULARITY_KEPT_SETTINGS:
            continue
        kept[name] = value
    return kept


def guard_call(engine: str, args: Sequence[str], settings: dict[str, object]) -> list[str] | None:
    """The checked arguments of a container start by ``engine`` (a file name), or ``None`` when
    the call starts no container and goes to the engine unchanged."""
    if Path(engine).name in SINGULARITY_NAMES:
        command = 0
        while command < len(args) and args[command] in SINGULARITY_GLOBAL:
            command += 1
        rest = tuple(args[command:])
        if rest in (("--version",), ("--help",), ("-h",)):
            return None
        word = rest[0] if rest else ""
        if word.startswith("-"):
            raise Refused(f"global option {word!r} is not allowed in a service run")
        if word in SINGULARITY_REFUSED:
            raise Refused(f"{word!r} is not allowed in a service run")
        if word not in SINGULARITY_STARTS:
            return None
        checked = guard_singularity_args(rest[1:], settings)
        return [*args[: command + 1], *checked]
    if args and args[0].startswith("-"):
        if tuple(args) in OCI_GLOBAL_QUERIES:
            return None
        raise Refused(f"global option {args[0]!r} is not allowed in a service run")
    if args and args[0] in OCI_REFUSED:
        raise Refused(f"{args[0]!r} is not allowed in a service run (only run starts a step)")
    if not args or args[0] != "run":
        return None
    return ["run", *guard_run_args(args[1:], settings)]


def write_shims(folder: Path, settings: dict[str, object], engines: dict[str, str]) -> Path:
    """Write ``settings.json`` and one shim per engine (name -> real executable) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(settings, sort_keys=True), encoding="utf-8")
    for name, real in engines.items():
        shim = folder / name
        shim.write_text(
            "#!/bin/sh\n# ossrflow serve: the container guard (ossrflow/serve/guard.py)\n"
            f"exec '{sys.executable}' -m ossrflow.serve.guard '{folder / 'settings.json'}' "
            f"'{real}' \"$@\"\n",
            encoding="utf-8",
        )
        shim.chmod(0o755)
    return folder


def _become(user: str) -> None:
    """Drop root for the container user (Apptainer runs the container as its caller)."""
    uid, gid = _ids(user)
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def main(argv: Sequence[str] | None = None) -> int:
    """``SETTINGS.json REAL_ENGINE ARGS...``: check container starts, pass the rest through."""
    settings_path, real, *args = list(sys.argv[1:] if argv is None else argv)
    settings = json.loads(Path(settings_path).read_text(encoding="utf-8"))
    try:
        checked = guard_call(real, args, settings)
    except (Refused, OSError, ValueError) as exc:
        sys.stderr.write(f"ossrflow serve: container refused: {exc}\n")
        return 125
    if checked is None:
        os.execv(real, [real, *args])  # noqa: S606 - the engine the worker chose
    if Path(real).name not in SINGULARITY_NAMES:
        os.execv(real, [real, *checked])  # noqa: S606 - never returns
    user = settings.get("user")
    if user and os.geteuid() == 0:
        _become(str(user))
    os.execve(real, [real, *checked], guard_singularity_env(os.environ))  # noqa: S606


if __name__ == "__main__":
    sys.exit(main())

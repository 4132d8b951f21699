"""The container guard: every ``docker``/``podman`` call of a service run passes through here.

``ossrflow serve``'s worker puts a folder first on the run's ``PATH`` holding ``docker`` and
``podman`` shims that run ``python -m ossrflow.serve.guard SETTINGS.json ARGS...``. Every
command except ``run`` goes to the real engine unchanged (``info``, ``inspect``, ``load``…).
``run`` (what cwltool starts a step with) is checked and tightened first:

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

A refused call exits 125 (the engines' own code for "the run command failed") with one line on
stderr, which cwltool reports as the step's failure.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ALLOWED_PREFIXES", "LABEL", "guard_run_args", "main", "write_shims"]

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


class Refused(Exception):
    """A ``run`` the guard does not let through."""


def _mount(spec: str) -> tuple[Path, bool]:
    fields: dict[str, str] = {}
    for item in spec.split(","):
        name, _, value = item.partition("=")
        fields[name] = value
    if fields.get("type") != "bind" or "source" not in fields:
        raise Refused(f"mount {spec!r} is not a plain bind mount")
    return Path(fields["source"]), "readonly" not in fields and "ro" not in fields


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
    """The checked and tightened arguments after ``run`` (see the module docstring)."""
    writable_roots = [str(settings["run_folder"])]
    readable_roots = [str(r) for r in settings["readable"]]  # type: ignore[attr-defined]
    shareable = [str(r) for r in settings.get("shareable", [])]  # type: ignore[attr-defined]
    user = settings.get("user")
    options: list[str] = []
    handed: list[Path] = []
    shared: list[Path] = []
    index = 0
    while index < len(args) and args[index].startswith("-"):
        arg = args[index]
        if arg.startswith("--mount="):
            source, writable = _mount(arg.removeprefix("--mount="))
            if writable and not _inside(source, writable_roots):
                raise Refused(f"writable mount {source} lies outside the run's folder")
            if not _inside(source, readable_roots + writable_roots):
                raise Refused(f"mount {source} lies outside the run, the store and the data roots")
            if writable:
                handed.append(source)
            elif _inside(source, shareable):
                shared.append(source)
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
        uid, _, gid = str(user).partition(":")
        for path in handed:
            _hand_over(path, int(uid), int(gid or uid))
        for path in shared:
            _let_read(path)
    options += [
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        f"--label={LABEL}={settings['run_id']}",
    ]
    return [*options, *args[index:]]


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


def main(argv: Sequence[str] | None = None) -> int:
    """``SETTINGS.json REAL_ENGINE ARGS...``: check ``run`` calls, pass the rest through."""
    settings_path, real, *args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "run":
        os.execv(real, [real, *args])  # noqa: S606 - the engine the worker chose
    settings = json.loads(Path(settings_path).read_text(encoding="utf-8"))
    try:
        checked = guard_run_args(args[1:], settings)
    except (Refused, OSError, ValueError) as exc:
        sys.stderr.write(f"ossrflow serve: container refused: {exc}\n")
        return 125
    os.execv(real, [real, "run", *checked])  # noqa: S606 - never returns


if __name__ == "__main__":
    sys.exit(main())

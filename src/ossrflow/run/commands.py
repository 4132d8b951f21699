"""What a native step ran: its command resolved to a path, and the package that provides it.

For each CommandLineTool a job runs, :func:`command_facts` gives a
:class:`~ossrflow.run.facts.CommandFacts`: the command as written (``baseCommand[0]``, else the
first word cwltool ran), the absolute path ``PATH`` resolves it to, and the package and version
that provide that file: a Python distribution when the file lies in a Python environment's
``bin/`` (its console scripts first, then the files every distribution lists), else the Debian
package ``dpkg -S`` names, with ``dpkg-query``'s version. A tool that ran in a container gets the
image digest instead (the command is inside the image).

Lookups are cached per file (path, size, mtime) in this process: a batch of a thousand elements
costs one lookup per distinct command. The warm worker of a local run looks up its tools' commands
once, before it forks any job (:func:`warm_packages`): a ``dpkg`` lookup costs about 0.1 s, which a
job forked from the worker then does not pay.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sysconfig
import time
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from ossrflow.run.facts import CommandFacts

__all__ = ["command_facts", "find_package", "tool_label", "warm_packages", "written_command"]

_DPKG_TIMEOUT = 10
_WARM_LIMIT = 8  # distinct commands looked up ahead of the jobs, at most
_WARM_SECONDS = 0.5  # and for no longer than this


def tool_label(tool: Any) -> str:
    """A tool's id as a record shows it: ``file.cwl`` (``file.cwl#frag``), or ``inline``."""
    ident = str(tool.get("id", ""))
    if not ident or ident.startswith("_:"):
        return "inline"
    parts = urlsplit(ident)
    name = Path(unquote(parts.path)).name if parts.scheme in ("file", "") else ident
    return f"{name}#{parts.fragment}" if parts.fragment and parts.scheme == "file" else name


def written_command(tool: Any) -> str | None:
    """``baseCommand[0]`` as written, else a literal first argument; None when neither is."""
    base = tool.get("baseCommand")
    if isinstance(base, list) and base:
        return str(base[0])
    if isinstance(base, str) and base:
        return base
    arguments = tool.get("arguments") or []
    first = arguments[0] if arguments else None
    if isinstance(first, str) and "$(" not in first and "${" not in first:
        return first
    return None


def command_facts(
    tool: Any,
    *,
    search_path: str | None,
    ran: str | None = None,
    container: str | None = None,
    workdir: Path | None = None,
) -> CommandFacts:
    """The facts of one tool a job ran (see the module docstring).

    ``search_path`` is the ``PATH`` the tool saw; ``ran`` the first word of its command line
    (used when nothing is written); ``container`` the digest it ran in; ``workdir`` where a
    relative command (``./run.sh``) was looked up.
    """
    command = written_command(tool) or ran or ""
    if container is not None or not command:
        return CommandFacts(tool_label(tool), command, container=container)
    path = resolve_command(command, search_path, workdir)
    if path is None:
        return CommandFacts(tool_label(tool), command)
    package, version = find_package(path)
    return CommandFacts(tool_label(tool), command, str(path), package, version)


def resolve_command(command: str, search_path: str | None, workdir: Path | None) -> Path | None:
    """The absolute path ``command`` runs (``PATH`` lookup unless it names a path)."""
    if "/" in command:
        candidate = Path(command) if command.startswith("/") else (workdir or Path.cwd()) / command
        return candidate.absolute() if candidate.is_file() else None
    found = shutil.which(command, path=search_path)
    return Path(found).absolute() if found else None


def warm_packages(tools: Iterable[Any], search_path: str | None) -> int:
    """Look up the package of each tool's written command now, for forked jobs to inherit.

    ``tools`` are CWL tool documents (``Process.tool``). A job whose ``PATH`` resolves the command
    to another file looks it up itself (the cache is keyed by the file). Bounded: at most
    ``_WARM_LIMIT`` commands and ``_WARM_SECONDS``; returns how many were looked up.
    """
    deadline = time.monotonic() + _WARM_SECONDS
    seen: set[Path] = set()
    for tool in tools:
        if len(seen) >= _WARM_LIMIT or time.monotonic() > deadline:
            break
        command = written_command(tool) or ""
        relative = "/" in command and not command.startswith("/")  # looked up in the job's folder
        path = resolve_command(command, search_path, None) if command and not relative else None
        if path is None or path in seen:
            continue
        seen.add(path)
        find_package(path)
    return len(seen)


def find_package(path: Path) -> tuple[str | None, str | None]:
    """``(package, version)`` that provides the file at ``path``, else ``(None, None)``."""
    try:
        info = path.stat()
    except OSError:
        return None, None
    return _find_package(str(path), info.st_size, info.st_mtime_ns)


@cache
def _find_package(path: str, size: int, mtime: int) -> tuple[str | None, str | None]:
    del size, mtime  # part of the cache key only
    found = _python_distribution(Path(path))
    if found is not None:
        return found
    return _debian_package(Path(path))


def _site_packages(prefix: Path) -> list[str]:
    """The site-packages folders of the Python environment at ``prefix`` (none: not one)."""
    if not (prefix / "pyvenv.cfg").is_file() and prefix != Path(sysconfig.get_paths()["data"]):
        return []
    return [str(p) for p in sorted(prefix.glob("lib/python*/site-packages")) if p.is_dir()]


def _python_distribution(path: Path) -> tuple[str, str] | None:
    """The distribution whose console script (or listed file) ``path`` is."""
    if path.parent.name != "bin":
        return None
    site = _site_packages(path.parent.parent)
    if not site:
        return None
    distributions = list(importlib.metadata.distributions(path=site))
    for dist in distributions:
        for entry in dist.entry_points:
            if entry.group in ("console_scripts", "gui_scripts") and entry.name == path.name:
                return str(dist.metadata["Name"]), str(dist.version)
    real = path.resolve()
    for dist in distributions:
        for listed in dist.files or ():
            if listed.name == path.name and Path(str(dist.locate_file(listed))).resolve() == real:
                return str(dist.metadata["Name"]), str(dist.version)
    return None


def _candidates(path: Path) -> Iterator[str]:
    """The names dpkg may know the file by (usr-merged systems list /bin or /usr/bin)."""
    seen: set[str] = set()
    for item in (path, path.resolve()):
        text = str(item)
        for name in (text, text.removeprefix("/usr"), "/usr" + text):
            if name.startswith("/") and name not in seen:
                seen.add(name)
                yield name


def _debian_package(path: Path) -> tuple[str | None, str | None]:
    """The Debian package that installed ``path`` (``dpkg -S``) and its version."""
    dpkg, query = shutil.which("dpkg"), shutil.which("dpkg-query")
    if dpkg is None or query is None:
        return None, None
    env = {**os.environ, "LC_ALL": "C"}
    for name in _candidates(path):
        done = _quiet_run([dpkg, "-S", name], env)
        if done is None or done.returncode != 0:
            continue
        first = done.stdout.splitlines()[0] if done.stdout else ""
        package = first.split(":", 1)[0].split(",")[0].strip()
        if not package or first.startswith("diversion"):
            continue
        version = _quiet_run([query, "-W", "-f=${Version}", package], env)
        ok = version is not None and version.returncode == 0 and version.stdout.strip()
        return package, (version.stdout.strip() if ok and version is not None else None)
    return None, None


def _quiet_run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            timeout=_DPKG_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None

"""The hostile-input corpus: every case ends in one line on stderr, exit 2 or 3, and leaves nothing.

Each folder ``tests/data/hostile/COMMAND/CASE/`` is one case: its files, and ``case.yml``::

    class: alias bomb                 # oversized, lying size, alias bomb, deep nesting,
                                      # dotdot, symlink, unreachable, never answers
    command: [stage, cart.yml]        # the ossrflow command line, run in a copy of the folder
    env: {OSSRFLOW_TIMEOUT: "1"}      # optional
    exit: 2
    error: "cart.yml:7:4: its aliases expand to more than 5000000 values"  # part of the line
    generate:                         # optional: what is too big (or too odd) to keep in git
      - {path: cart.json, bytes: 67108865}
      - {link: data/hosts.csv, to: /etc/hosts}

``@LYING@`` (300 MB announced), ``@CHUNKED@`` (300 MB, no length), ``@SILENT@`` (never answers),
``@UNREACHABLE@`` (nothing listens), ``@DEEPJSON@`` (JSON nested 100 000 deep) and ``@REGISTRY@``
(the demo's folder registry) are replaced in the command, the environment and the case's files.

Every case runs as a user runs ossrflow: a process of its own, in a fresh folder that is also
its HOME, TMPDIR and cache (ossrflow's and, for cases that reach Snakemake, ``XDG_CACHE_HOME``); afterwards nothing may have changed there outside the cache and the
run folder (``run/``), and nothing may be left in TMPDIR.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from tests.conftest import DATA, REPO
from tests.hostile.servers import LyingServer, SilentServer
from tests.support.httpserver import LoopbackServer

CORPUS = DATA / "hostile"
CASES = sorted(CORPUS.glob("*/*/case.yml"))
CLASSES = {
    "oversized",
    "lying size",
    "alias bomb",
    "deep nesting",
    "dotdot",
    "symlink",
    "unreachable",
    "never answers",
}
COMMANDS = {"stage", "compose", "cwl", "show", "match", "run", "rerun", "diff"}
ALLOWED = ("cache", "run")  # what a refused command may write into: the cache and the run folder


@pytest.fixture(scope="module")
def places() -> Iterator[dict[str, str]]:
    """The hostile servers, started once for the corpus."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]  # nothing listens once the probe is closed
    deep = LoopbackServer()
    body = b"[" * 100_000 + b"]" * 100_000
    deep.fallback = lambda path, headers: (200, {"Content-Type": "application/json"}, body)
    with (
        LyingServer(300 << 20, announce=300 << 20) as lying,
        LyingServer(300 << 20, announce=None) as chunked,
        SilentServer() as silent,
    ):
        deep.start()
        try:
            yield {
                "@LYING@": lying.url,
                "@CHUNKED@": chunked.url,
                "@SILENT@": silent.url,
                "@UNREACHABLE@": f"http://127.0.0.1:{closed}",
                "@DEEPJSON@": deep.url,
                "@REGISTRY@": f"dir:{REPO / 'workflows' / 'registry'}",
            }
        finally:
            deep.stop()


def fill(text: str, places: dict[str, str]) -> str:
    for name, value in places.items():
        text = text.replace(name, value)
    return text


def prepare(case: Path, work: Path, places: dict[str, str]) -> dict[str, Any]:
    """Copy the case into ``work`` (placeholders filled), make what it generates; its settings."""
    spec: dict[str, Any] = YAML(typ="safe").load(case.read_text())
    for source in sorted(case.parent.rglob("*")):
        target = work / source.relative_to(case.parent)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif source.name != "case.yml":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(fill(source.read_text(), places))
    for item in spec.get("generate", []):
        target = work / item.get("path", item.get("link"))
        target.parent.mkdir(parents=True, exist_ok=True)
        if "link" in item:
            target.symlink_to(item["to"])
        else:
            with target.open("wb") as out:
                out.truncate(item["bytes"])  # a sparse file: big, but costs no disk
    return spec


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` with its size and modification time (links not followed;
    a folder only exists: a temporary file made and removed in it is no trace)."""
    found = {}
    for path in folder.rglob("*"):
        info = path.lstat()
        is_dir = path.is_dir() and not path.is_symlink()
        found[str(path.relative_to(folder))] = (
            (0, 0) if is_dir else (info.st_size, info.st_mtime_ns)
        )
    return found


@pytest.mark.parametrize("case", CASES, ids=[str(c.parent.relative_to(CORPUS)) for c in CASES])
def test_hostile_input_ends_in_one_line(case: Path, tmp_path: Path, places: dict[str, str]):
    work = tmp_path / "work"
    work.mkdir()
    spec = prepare(case, work, places)
    assert spec["class"] in CLASSES, f"{case}: unknown class {spec['class']!r}"
    assert spec["command"][0] in COMMANDS
    for folder in ("home", "tmp"):
        (work / folder).mkdir()
    before = snapshot(work)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OSSRFLOW_", "RUCIO_"))},
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "OSSRFLOW_CACHE_DIR": str(work / "cache"),
        "XDG_CACHE_HOME": str(work / "cache" / "xdg"),  # Snakemake's own cache, for runs
        "OSSRFLOW_CONFIG": str(work / "no-config.toml"),
        **{k: fill(str(v), places) for k, v in (spec.get("env") or {}).items()},
    }
    command = [fill(str(arg), places) for arg in spec["command"]]
    done = subprocess.run(
        [sys.executable, "-m", "ossrflow", *command],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # a hang fails here
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert fill(spec["error"], places) in lines[0]
    assert done.returncode == spec["exit"] and done.returncode in (2, 3), done.stderr
    assert done.stdout == ""
    after = snapshot(work)
    changed = sorted(
        path
        for path in set(before) | set(after)
        if before.get(path) != after.get(path) and path.split("/")[0] not in ALLOWED
    )
    assert changed == [], "written outside the cache and the run folder"
    assert list((work / "tmp").iterdir()) == []
    shutil.rmtree(work)  # sparse files and links: gone before the next case

"""Run the example commands of the documentation, as a user pastes them from the repository root.

Every fenced ``sh``/``console``/``bash``/``shell`` block of ``README.md`` and ``docs/*.md`` is an
example, and the line right before its opening fence decides what happens to it:

    <!-- doc-check: run -->            run it: every command must exit 0, except one whose
                                       comment says otherwise (``$ ossrflow diff A B  # exits 4``)
    <!-- doc-check: skip REASON -->    do not run it (REASON: why: a network, a cluster, minutes)

An example without a mark is an error, so that a new example is either checked or skipped on
purpose. In a ``console`` block the commands are the lines starting with ``$ `` (the rest is
output); in the others every line is a command (comments and a trailing ``\\`` as in a shell).

Each page runs in its own temporary copy of the checkout (tracked and new files, ``.venv``
linked), in one bash so that its blocks run in order and share what earlier blocks wrote, with
``.venv/bin`` first on PATH and an empty cache and config; pages run two at a time (``--jobs``).
Nothing is written in the checkout.

Usage:  python scripts/check_docs.py [--list] [--keep] [--jobs N] [PAGE.md ...]
Exit 0 when every run example did what it should, 1 otherwise (the failing command, its exit
status and the last lines of its output are printed).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHELLS = {"sh", "console", "bash", "shell"}
MARK = re.compile(r"^<!-- doc-check: (run|skip (.+)) -->$")
EXITS = re.compile(r"#.*\bexits? (\d+)\b[^\n]*$")
FENCE = re.compile(r"^```(\w*)\s*$")
TIMEOUT = 600  # seconds for one page


@dataclass(frozen=True)
class Example:
    """One fenced command block and what its mark says."""

    page: Path
    line: int  # of the opening fence, 1-based
    commands: tuple[str, ...]
    run: bool
    reason: str = ""

    @property
    def where(self) -> str:
        return f"{shown(self.page)}:{self.line}"


def shown(page: Path) -> str:
    """A page's path relative to the checkout (as given when it lies elsewhere)."""
    return str(page.relative_to(REPO)) if page.is_relative_to(REPO) else str(page)


def _commands(kind: str, body: list[str]) -> tuple[str, ...]:
    """The commands of a block: ``$ `` lines of a console block, every line of the others."""
    commands: list[str] = []
    pending = ""
    for line in body:
        if kind == "console":
            if not pending and not line.startswith("$ "):
                continue
            line = line.removeprefix("$ ") if not pending else line
        elif not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line + "\n"
        if not line.rstrip().endswith("\\"):
            commands.append(pending.rstrip("\n"))
            pending = ""
    return tuple(commands)


def find_examples(page: Path) -> tuple[list[Example], list[str]]:
    """The page's examples, and the problems (unmarked command blocks, bad marks)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    examples, problems = [], []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if not fence:
            index += 1
            continue
        end = next((j for j in range(index + 1, len(lines)) if lines[j].startswith("```")), None)
        if end is None:
            problems.append(f"{shown(page)}:{index + 1}: the block is never closed")
            break
        kind, body = fence.group(1), lines[index + 1 : end]
        if kind in SHELLS:
            mark = MARK.match(lines[index - 1]) if index else None
            where = f"{shown(page)}:{index + 1}"
            if mark is None:
                problems.append(
                    f"{where}: a {kind} block without a mark (put <!-- doc-check: run --> or "
                    "<!-- doc-check: skip REASON --> on the line before it)"
                )
            else:
                run, reason = mark.group(1) == "run", mark.group(2) or ""
                examples.append(Example(page, index + 1, _commands(kind, body), run, reason))
        index = end + 1
    return examples, problems


def pages(names: list[str]) -> list[Path]:
    if names:
        return [(REPO / name).resolve() for name in names]
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def copy_checkout(target: Path) -> Path:
    """The tracked and new (not ignored) files of the checkout, with ``.venv`` linked."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name, follow_symlinks=False)
    venv = REPO / ".venv"
    if venv.is_dir():
        (target / ".venv").symlink_to(venv)
    return target


def script(examples: list[Example]) -> str:
    """One bash script: each command echoed, run, and its status checked (``set -e`` style)."""
    parts = ["set -o pipefail", 'cd "$DOCS_ROOT"']
    for example in examples:
        for number, command in enumerate(example.commands, start=1):
            said = EXITS.search(command)
            expected = int(said.group(1)) if said else 0
            label = f"{example.where} (command {number})".replace("'", "")
            parts += [
                f"printf '%s\\n' '>>> {label}' >&2",
                f"( {command}\n)",
                "status=$?",
                f'if [ "$status" -ne {expected} ]; then '
                f"echo '!!! {label}: exit '\"$status\"', expected {expected}' >&2; exit 1; fi",
            ]
    return "\n".join(parts) + "\n"


def run_page(page: Path, examples: list[Example], root: Path) -> tuple[bool, str]:
    runnable = [e for e in examples if e.run]
    if not runnable:
        return True, ""
    scratch = root / page.stem / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    checkout = copy_checkout(root / page.stem / "repo")
    env = {
        **os.environ,
        "DOCS_ROOT": str(checkout),
        "PATH": os.pathsep.join([str(REPO / ".venv" / "bin"), os.environ.get("PATH", "")]),
        "OSSRFLOW_CACHE_DIR": str(scratch / "cache"),
        "OSSRFLOW_CONFIG": str(scratch / "no-config.toml"),
        "TMPDIR": str(scratch),
    }
    for name in [
        n
        for n in env
        if n.startswith("OSSRFLOW_")
        and n not in ("OSSRFLOW_CACHE_DIR", "OSSRFLOW_CONFIG")
        and not n.startswith(("OSSRFLOW_CLUSTER_", "OSSRFLOW_TEST_"))
    ]:
        del env[name]  # fmt: skip
    try:
        done = subprocess.run(
            ["bash", "-c", script(runnable)],
            env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False, f"{shown(page)}: the examples did not finish in {TIMEOUT} s"
    if done.returncode == 0:
        return True, ""
    tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
    return False, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("pages", nargs="*", help="pages to check (default: README.md, docs/*.md)")
    parser.add_argument("--list", action="store_true", help="list the examples, run nothing")
    parser.add_argument("--keep", action="store_true", help="keep the temporary copies")
    parser.add_argument("--jobs", type=int, default=2, help="pages at a time (default 2)")
    args = parser.parse_args()
    found: dict[Path, list[Example]] = {}
    problems: list[str] = []
    for page in pages(args.pages):
        found[page], page_problems = find_examples(page)
        problems += page_problems
    if args.list:
        for examples in found.values():
            for e in examples:
                state = "run" if e.run else f"skip: {e.reason}"
                print(f"{e.where}: {state}: {len(e.commands)} command(s)")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if args.list or problems:
        return 1 if problems else 0
    root = Path(tempfile.mkdtemp(prefix="ossrflow-docs-"))
    failed = 0
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            results = pool.map(lambda item: run_page(item[0], item[1], root), found.items())
            for (page, examples), (ok, report) in zip(found.items(), results, strict=True):
                count = sum(len(e.commands) for e in examples if e.run)
                print(f"{shown(page)}: {count} command(s) {'ok' if ok else 'FAILED'}")
                if not ok:
                    failed += 1
                    print(report, file=sys.stderr)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The documentation's examples: every command block is marked, and the checker runs them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.conftest import REPO


def checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_docs", REPO / "scripts/check_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_every_command_block_of_the_docs_is_run_or_skipped_on_purpose() -> None:
    """Issue 14: examples are checked by `make check`; a new one must be marked."""
    check = checker()
    problems = [p for page in check.pages([]) for p in check.find_examples(page)[1]]
    assert problems == []


PAGE = """\
# A page

<!-- doc-check: run -->
```console
$ echo one > made.txt
one
$ test -f made.txt && cat made.txt   # the blocks share the page's folder
$ false   # exits 1
```

<!-- doc-check: skip needs a cluster -->
```sh
sbatch never.sh
```

<!-- doc-check: run -->
```sh
ls \\
  no-such-file
```
"""


def test_the_checker_runs_marked_blocks_and_names_the_failing_command(tmp_path: Path) -> None:
    check = checker()
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    examples, problems = check.find_examples(page)
    assert problems == []
    assert [(e.line, e.commands, e.run, e.reason) for e in examples] == [
        (
            4,
            (
                "echo one > made.txt",
                "test -f made.txt && cat made.txt   # the blocks share the page's folder",
                "false   # exits 1",
            ),
            True,
            "",
        ),
        (12, ("sbatch never.sh",), False, "needs a cluster"),
        (17, ("ls \\\n  no-such-file",), True, ""),
    ]
    ok, report = check.run_page(page, examples, tmp_path / "run")
    assert not ok
    assert report.splitlines()[-1] == f"!!! {page}:17 (command 1): exit 2, expected 0"
    assert not (REPO / "made.txt").exists()


def test_an_unmarked_block_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```sh\nossrflow run x.cwl\n```\n", encoding="utf-8")
    assert checker().find_examples(page)[1] == [
        f"{page}:1: a sh block without a mark (put <!-- doc-check: run --> or "
        "<!-- doc-check: skip REASON --> on the line before it)"
    ]

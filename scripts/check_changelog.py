"""Check CHANGELOG.md follows Keep a Changelog: title, [Unreleased], versioned sections, kinds."""

from __future__ import annotations

import re
import sys
from pathlib import Path

KINDS = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
VERSION = re.compile(r"^## \[(Unreleased|\d+\.\d+\.\d+)\]( - \d{4}-\d{2}-\d{2})?$")


def problems(text: str) -> list[str]:
    lines = text.splitlines()
    found = (
        [] if lines and lines[0] == "# Changelog" else ["line 1: the title must be '# Changelog'"]
    )
    versions = [i for i, line in enumerate(lines) if line.startswith("## ")]
    if not versions or lines[versions[0]] != "## [Unreleased]":
        found.append("the first section must be '## [Unreleased]'")
    for number, line in enumerate(lines, 1):
        if line.startswith("## ") and not VERSION.match(line):
            found.append(f"line {number}: '{line}' is not '## [X.Y.Z] - YYYY-MM-DD'")
        if line.startswith("### ") and line[4:] not in KINDS:
            found.append(f"line {number}: '{line}' is not one of {sorted(KINDS)}")
    return found


def main() -> int:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "CHANGELOG.md")
    found = problems(path.read_text(encoding="utf-8"))
    for problem in found:
        print(f"{path}: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

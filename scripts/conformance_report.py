"""Summarize a cwltest JUnit file as Markdown: totals, the `required` subset, tags, failures.

    python scripts/conformance_report.py JUNIT.xml [--log cwltest.log] > summary.md
    python scripts/conformance_report.py JUNIT.xml [--log cwltest.log] --check-known KNOWN.txt
    python scripts/conformance_report.py JUNIT.xml --profile-row slurm --minutes 12 \
        --containers none --update docs/conformance.md

Used by scripts/conformance.sh, which puts the summary into docs/conformance.md. With
``--check-known`` it prints nothing but the failures not listed in KNOWN.txt (one test id per
line, ``#`` comments) and exits 1 if there are any: a new failure is a regression. With
``--profile-row`` it writes the profile's row of the table of `required` tests by profile
(between ``<!-- profiles:start -->`` and ``<!-- profiles:end -->``), keeping the other rows.
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

PROFILES = ("local", "slurm", "htcondor")
_TABLE_HEAD = (
    "| profile | `required` tests | passed | failed | unsupported | containers | minutes | run on |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- |\n"
)


@dataclass(frozen=True)
class Case:
    """One conformance test: its id, tags and outcome (passed, failed or unsupported)."""

    test_id: str
    tags: tuple[str, ...]
    outcome: str
    message: str


def parse_junit(text: str, failed_numbers: set[int] | None = None) -> list[Case]:
    """The test cases of a cwltest JUnit file.

    cwltest writes no ``<failure>`` for a ``should_fail`` test that exited 0; its log does
    (``Test N failed``): pass those numbers as ``failed_numbers``.
    """
    cases = []
    for case in ET.fromstring(text).iter("testcase"):  # noqa: S314
        tags = tuple(t.strip() for t in (case.get("class") or "").split(",") if t.strip())
        failure = case.find("failure")
        number = re.search(r"#(\d+)$", case.get("url") or "")
        if failure is not None:
            outcome, message = "failed", (failure.text or "").strip()
        elif number and int(number[1]) in (failed_numbers or set()):
            outcome, message = "failed", "exited 0, but the test expects a failure"
        elif case.find("skipped") is not None:
            outcome, message = "unsupported", ""
        else:
            outcome, message = "passed", ""
        cases.append(Case(case.get("file") or case.get("name") or "?", tags, outcome, message))
    return cases


def _row(label: str, cases: list[Case]) -> str:
    counts = Counter(case.outcome for case in cases)
    return (
        f"| {label} | {len(cases)} | {counts['passed']} | {counts['failed']} "
        f"| {counts['unsupported']} |"
    )


def render_summary(cases: list[Case]) -> str:
    """Markdown tables: all tests, `required`, every tag; then the failing test ids."""
    lines = ["| tests | total | passed | failed | unsupported |", "| --- | --- | --- | --- | --- |"]
    lines.append(_row("all that ran", cases))
    lines.append(_row("`required`", [c for c in cases if "required" in c.tags]))
    for tag in sorted({tag for case in cases for tag in case.tags} - {"required"}):
        lines.append(_row(f"`{tag}`", [c for c in cases if tag in c.tags]))
    failed = [c for c in cases if c.outcome == "failed"]
    unsupported = [c for c in cases if c.outcome == "unsupported"]
    lines += ["", "Failed:" if failed else "Failed: none."]
    lines += [f"- `{c.test_id}` ({', '.join(c.tags)}): {c.message}" for c in failed]
    lines += ["", "Unsupported (exit 33):" if unsupported else "Unsupported: none."]
    lines += [f"- `{c.test_id}` ({', '.join(c.tags)})" for c in unsupported]
    return "\n".join(lines) + "\n"


def profile_row(profile: str, cases: list[Case], *, containers: str, minutes: str) -> str:
    """One row of the table of `required` tests by profile."""
    required = [c for c in cases if "required" in c.tags]
    counts = Counter(case.outcome for case in required)
    return (
        f"| {profile} | {len(required)} | {counts['passed']} | {counts['failed']} "
        f"| {counts['unsupported']} | {containers} | {minutes} | {date.today()} |"
    )


def update_profile_rows(text: str, profile: str, row: str) -> str:
    """``text`` with ``row`` in place of ``profile``'s row, rows in PROFILES order."""
    start, end = "<!-- profiles:start -->", "<!-- profiles:end -->"
    head, found, rest = text.partition(start)
    if not found:
        raise SystemExit(f"no {start} … {end} block to update")
    body, _, tail = rest.partition(end)
    rows = {
        line.split("|")[1].strip(): line
        for line in body.splitlines()
        if line.startswith("| ") and line.split("|")[1].strip() in PROFILES
    }
    rows[profile] = row
    ordered = [rows[name] for name in PROFILES if name in rows]
    return head + start + "\n" + _TABLE_HEAD + "\n".join(ordered) + "\n" + end + tail


def read_known(text: str) -> set[str]:
    """Test ids of a known-failures file: one per line, ``#`` starts a comment."""
    return {line.split("#", 1)[0].strip() for line in text.splitlines()} - {""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("junit", type=Path)
    parser.add_argument("--log", type=Path, help="cwltest's log (finds failed should_fail tests)")
    parser.add_argument("--check-known", type=Path, metavar="KNOWN.txt")
    parser.add_argument("--profile-row", choices=PROFILES, help="write this profile's row")
    parser.add_argument("--minutes", default="?", help="how long the run took (the row)")
    parser.add_argument("--containers", default="none", help="the container engine (the row)")
    parser.add_argument("--update", type=Path, metavar="DOC.md", help="where the row goes")
    args = parser.parse_args(argv)
    log = args.log.read_text(encoding="utf-8") if args.log else ""
    failed = {int(n) for n in re.findall(r"^Test (\d+) failed", log, re.MULTILINE)}
    cases = parse_junit(args.junit.read_text(encoding="utf-8"), failed)
    if args.profile_row is not None:
        row = profile_row(args.profile_row, cases, containers=args.containers, minutes=args.minutes)
        if args.update is None:
            sys.stdout.write(row + "\n")
            return 0
        text = update_profile_rows(args.update.read_text(encoding="utf-8"), args.profile_row, row)
        args.update.write_text(text, encoding="utf-8")
        return 0
    if args.check_known is None:
        sys.stdout.write(render_summary(cases))
        return 0
    known = read_known(args.check_known.read_text(encoding="utf-8"))
    new = [c for c in cases if c.outcome != "passed" and c.test_id not in known]
    for case in new:
        sys.stdout.write(f"new failure: {case.test_id} ({case.outcome}): {case.message}\n")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())

"""What the side-by-side benchmarks share: ossrflow against cwltool, alternating, one report.

``demo_time.py`` and ``conformance_time.py`` keep their own measured run (a :class:`Run`), table
columns and checks; the order of the runs, the medians, the ratio, the target line, the report
layout and the skip rule are here, with the argument plumbing ``scatter.py`` uses too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import Field, asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Generic, NoReturn, Protocol, TypeVar

from report import render_table
from runs import note

RUNNERS = ("ossrflow", "cwltool")


class Run(Protocol):
    """One measured run of one runner: a frozen dataclass with at least these fields."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def runner(self) -> str: ...
    @property
    def repeat(self) -> int: ...
    @property
    def wall_s(self) -> float: ...
    @property
    def problem(self) -> str | None: ...
    @property
    def ok(self) -> bool:
        """The run went well: its wall time counts."""


R = TypeVar("R", bound=Run)


def run_all(repeats: int, measure: Callable[[str, int], R]) -> list[R]:
    """Every repeat of both runners, alternating: ossrflow first in odd repeats, cwltool in even."""
    results = []
    for repeat in range(1, repeats + 1):
        order = RUNNERS if repeat % 2 else RUNNERS[::-1]
        results += [measure(runner, repeat) for runner in order]
    return results


@dataclass(frozen=True)
class Row(Generic[R]):
    """The repeats of one runner, summarised over the runs that went well (``ran``)."""

    runner: str
    ran: list[R]
    total_runs: int

    @property
    def median(self) -> float | None:
        return statistics.median(m.wall_s for m in self.ran) if self.ran else None

    @property
    def tally(self) -> str:
        """Good runs of all, e.g. ``2/3``."""
        return f"{len(self.ran)}/{self.total_runs}"


def summarise(results: Sequence[R]) -> list[Row[R]]:
    """One row per runner, in the order of RUNNERS."""
    rows = []
    for runner in RUNNERS:
        mine = [m for m in results if m.runner == runner]
        rows.append(Row(runner, [m for m in mine if m.ok], len(mine)))
    return rows


def ratio(rows: Sequence[Row[Any]]) -> float | None:
    """ossrflow's median wall time over cwltool's (None when either has no good run)."""
    by = {row.runner: row.median for row in rows}
    ours, theirs = by.get("ossrflow"), by.get("cwltool")
    return ours / theirs if ours is not None and theirs else None


def all_ran(results: Sequence[Run]) -> bool:
    """Both runners ran, and every run went well."""
    return {m.runner for m in results} == set(RUNNERS) and all(m.ok for m in results)


@dataclass(frozen=True)
class Target:
    """An issue 17 target: ``what`` ≤ ``bound`` × cwltool; ``failed`` says what a bad run did."""

    what: str
    bound: float
    failed: str

    def line(self, value: float | None) -> str:
        """The issue's target, met or MISSED."""
        head = f"{self.what} ≤ {self.bound} × cwltool: "
        if value is None:
            return head + f"not measured (a runner {self.failed} in every repeat)"
        return head + f"{value:.2f} ({'met' if value <= self.bound else 'MISSED'})"


def wall_cells(row: Row[Any], rows: Sequence[Row[Any]], digits: int) -> list[str]:
    """The median wall s, min–max s and ÷ cwltool cells of ``row`` (– without a good run)."""
    if row.median is None:
        return ["–", "–", "–"]
    walls = [m.wall_s for m in row.ran]
    base = next((r.median for r in rows if r.runner == "cwltool"), None)
    share = f"{row.median / base:.2f}" if base else "–"
    low, high = f"{min(walls):.{digits}f}", f"{max(walls):.{digits}f}"
    return [f"{row.median:.{digits}f}", f"{low}–{high}", share]


def problem_lines(results: Sequence[Run], verb: str) -> list[str]:
    """``<runner> run <k> <verb>: <problem>`` for every run that did not go well."""
    return [f"{m.runner} run {m.repeat} {verb}: {m.problem}" for m in results if not m.ok]


def render_report(
    info: Mapping[str, str],
    headers: Sequence[str],
    table: Sequence[Sequence[str]],
    sections: Sequence[tuple[str, Sequence[str]]],
    markdown: bool,
) -> str:
    """The Machine block, the table, then every section (title, lines) that has lines."""
    bullet = "- " if markdown else "  "

    def section(title: str, lines: Sequence[str]) -> str:
        return f"{title}:\n" + "".join(f"{bullet}{line}\n" for line in lines)

    parts = [section("Machine", [f"{key}: {value}" for key, value in info.items()])]
    parts.append(render_table(headers, table, markdown))
    parts += [section(title, lines) for title, lines in sections if lines]
    return "\n".join(parts)


def write_json(
    path: Path,
    info: Mapping[str, str],
    argv: Sequence[str],
    results: Sequence[Run],
    target: Target,
    **extra: object,
) -> None:
    """Every run, the machine, ``extra``, the ratio and the target line, as JSON in ``path``."""
    value = ratio(summarise(results))
    payload = {
        "machine": info,
        "argv": list(argv),
        "runs": [asdict(m) for m in results],
        **extra,
        "ratio": value,
        "target": target.line(value),
    }
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    note(f"raw results written to {path}")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(skipped: str, failed: str, must: str) -> int:
    """What is missing: skipped (exit status 0), or under CI=true an error (exit status 2)."""
    if in_ci():
        note(f"{failed} (CI=true: {must})")
        return 2
    note(f"skipped: {skipped}")
    return 0


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: give {minimum} or more")
        return value

    return parse


def new_parser(
    prog: str, description: str, epilog: str, usage: str | None = None
) -> argparse.ArgumentParser:
    """A benchmark's parser: the epilog says what is measured, laid out as written."""
    return argparse.ArgumentParser(
        prog=prog,
        usage=usage,
        description=description,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def add_output_options(add: Callable[..., object], what: str) -> None:
    """--json (every ``what`` and the machine to FILE) and --markdown."""
    json_help = f"also write every {what} and the machine to FILE"
    add("--json", type=Path, metavar="FILE", help=json_help)
    add("--markdown", action="store_true", help="print the report as Markdown")


def run_script(main: Callable[[], int], what: str = "command") -> NoReturn:
    """Exit with ``main()``'s status; on Ctrl-C say that nothing was reported and exit 130."""
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        note(f"interrupted: the running {what} was stopped; nothing was reported")
        sys.exit(130)

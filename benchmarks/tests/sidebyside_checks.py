"""What the tests of the side-by-side benchmarks (demo_time.py, conformance_time.py) share."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

import pytest
from sidebyside import in_ci

Main = Callable[[list[str]], int]
Capsys = pytest.CaptureFixture[str]


def cannot_run(reason: str, must: str) -> NoReturn:
    """Skip a real run that cannot happen here; under CI=true, where it ``must`` run, fail it."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: {must})")
    pytest.skip(reason)


def assert_ran_well(status: int, out: str, logs: Iterable[Path], absent: str) -> None:
    """Exit status 0 and no ``absent`` section in the report; else show the logs' tails."""
    context = out + "".join(
        f"\n--- {log}\n{log.read_text(encoding='utf-8', errors='replace')[-20000:]}"
        for log in sorted(logs)
    )
    assert status == 0, context
    assert f"{absent}:" not in out, context


def runs_in_json(result: Path, target: re.Match[str] | None, out: str) -> list[dict[str, Any]]:
    """The runs in a --json file of one repeat, ossrflow's then cwltool's.

    ``target`` is the target line printed (group 1: the ratio): the file holds the same.
    """
    assert target is not None, out
    payload = json.loads(result.read_text(encoding="utf-8"))
    assert [run["runner"] for run in payload["runs"]] == ["ossrflow", "cwltool"]
    assert (payload["target"], f"{payload['ratio']:.2f}") == (target[0], target[1])
    runs: list[dict[str, Any]] = payload["runs"]
    return runs


def assert_usage_error(main: Main, argv: list[str], prog: str, capsys: Capsys) -> None:
    """``main(argv)`` exits 2 with ``prog``'s usage on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert f"usage: {prog}" in capsys.readouterr().err


def skipped_unless_ci(
    main: Main, argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: Capsys
) -> tuple[str, str]:
    """``main(argv)`` exits 0 with CI=false and 2 with CI=true; what it said each time."""
    monkeypatch.setenv("CI", "false")
    assert main(argv) == 0
    skipped = capsys.readouterr().err
    monkeypatch.setenv("CI", "true")
    assert main(argv) == 2
    return skipped, capsys.readouterr().err

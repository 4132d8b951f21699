"""The test services (schedulers, container engines, PostgreSQL, Rucio, a browser): start them,
read their settings, and skip locally or fail in CI when one cannot start.

Every service has a script with ``start`` (a no-op when it runs) and, for those a test must
reach, ``env`` printing ``NAME=VALUE`` lines (``export`` allowed): ``scripts/cluster/*.sh``,
``scripts/containers/*.sh`` and ``scripts/services/*.sh``.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "scripts" / "services"

__all__ = ["in_ci", "service_env", "start_cluster", "start_service", "unavailable"]


def in_ci() -> bool:
    """CI sets CI=true: there a service that cannot start fails the suite instead of skipping."""
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> None:
    """Skip with ``reason`` locally; fail in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: a service that cannot start is a failure)")
    pytest.skip(reason)


def start_service(script: Path, what: str, timeout: int) -> None:
    """``bash SCRIPT start`` (a no-op when it runs); where it cannot start, ``unavailable``."""
    if not script.is_file():
        unavailable(f"{script} is missing")
    try:
        done = subprocess.run(
            ["bash", str(script), "start"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        unavailable(f"{script.name} start did not finish within {timeout} s")
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no message"]
        unavailable(f"the {what} cannot start: {lines[-1]}")


start_cluster = start_service  # the schedulers' name for it


def service_env(script: Path, what: str, timeout: int = 900) -> dict[str, str]:
    """Start the service and return what its ``env`` prints, as a mapping."""
    start_service(script, what, timeout)
    done = subprocess.run(
        ["bash", str(script), "env"], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        unavailable(f"the {what} gives no settings: {done.stderr.strip()[-200:]}")
    values: dict[str, str] = {}
    for line in done.stdout.splitlines():
        line = line.strip().removeprefix("export ").strip()
        if "=" in line and not line.startswith("#"):
            name, _, value = line.partition("=")
            parsed = shlex.split(value)
            values[name] = parsed[0] if parsed else ""
    return values

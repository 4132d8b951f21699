"""Suite-wide fixtures: loopback HTTP server, fixture data, isolated settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.httpserver import LoopbackServer
from tests.support.zenodo import ZenodoApp, add_default_records

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
FIXTURES = DATA / "fixtures"  # real data shapes, sources in its README.md


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    """A real HTTP server on 127.0.0.1 with scripted routes (see tests/support/httpserver.py)."""
    server = LoopbackServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the user's config, cache or token: every OSSRFLOW_* variable is cleared.

    ``OSSRFLOW_TEST_*`` and the test services' ``OSSRFLOW_CLUSTER_*`` settings are kept.
    """
    import os

    for name in list(os.environ):
        if name.startswith("OSSRFLOW_") and not name.startswith(
            ("OSSRFLOW_TEST_", "OSSRFLOW_CLUSTER_")
        ):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OSSRFLOW_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("OSSRFLOW_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def zenodo_server(http_server: LoopbackServer) -> ZenodoApp:
    """A Zenodo-shaped API on 127.0.0.1 with the records of tests/support/zenodo.py."""
    app = ZenodoApp(http_server)
    add_default_records(app)
    return app

"""State in PostgreSQL for real (Debian's postgresql, from scripts/services/postgres.sh): runs,
their tags and paging live there, and a service started again on it has every run."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.services import service_env
from tests.support.wes import WesService, busybox_tool

QUICK = busybox_tool('echo "$0"', inputs="{message: {type: string, inputBinding: {}}}")
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "services" / "postgres.sh"


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    """A database of its own on the test server, dropped afterwards."""
    url = service_env(SCRIPT, "PostgreSQL")["OSSRFLOW_TEST_POSTGRES_URL"]
    name = f"ossrflow_serve_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_runs_live_in_postgresql_across_restarts(docker_engine, database, tmp_path):
    with WesService(tmp_path, db_url=database) as wes:
        first = wes.submit(files={"q.cwl": QUICK}, workflow_url="q.cwl",
                           workflow_params={"message": "in postgres"}, tags={"db": "pg"})  # fmt: skip
        second = wes.submit(files={"q.cwl": QUICK}, workflow_url="q.cwl",
                            workflow_params={"message": "again"})  # fmt: skip
        assert wes.wait(first)["state"] == "COMPLETE"
        assert wes.wait(second)["state"] == "COMPLETE"
    assert not (tmp_path / "runs" / "ossrflow-serve.db").exists()  # no SQLite on the side
    engine = create_engine(database)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT run_id, owner, state FROM ossrflow_runs ORDER BY seq")
        ).all()
        tags = connection.execute(text("SELECT key, value FROM ossrflow_run_tags")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [(first, "alice", "COMPLETE"), (second, "alice", "COMPLETE")]
    assert [tuple(t) for t in tags] == [("db", "pg")]

    with WesService(tmp_path, db_url=database) as wes:  # the same service, started again
        page = wes.get("/runs", params={"page_size": 1}).json()
        assert [r["run_id"] for r in page["runs"]] == [second]
        rest = wes.get("/runs", params={"page_token": page["next_page_token"]}).json()
        assert [r["run_id"] for r in rest["runs"]] == [first]
        assert [r["run_id"] for r in wes.get("/runs", params={"tag": "db=pg"}).json()["runs"]] == [
            first
        ]
        log = wes.get(f"/runs/{first}").json()
        output = httpx.get(log["outputs"]["out"]["location"], headers=wes.headers("alice"))
        assert output.text == "in postgres\n"
        assert wes.get("/service-info", user=None).json()["system_state_counts"] == {"COMPLETE": 2}

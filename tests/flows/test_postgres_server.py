"""The Prefect server on PostgreSQL: the documented production option works."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from intake.ingest import ingest_lines
from tests import factories
from tests.conftest import drain_prefect_workers

pytestmark = [pytest.mark.server, pytest.mark.postgres, pytest.mark.slow]

ADMIN_URL = os.environ.get("INTAKE_TEST_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/test")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def postgres_server(tmp_path: Path):
    psycopg = pytest.importorskip("psycopg")
    name = f"intake_prefect_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(tmp_path / "home"),
           "PREFECT_API_DATABASE_CONNECTION_URL":
           f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
           "PREFECT_API_URL": f"http://127.0.0.1:{port}/api"}
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port), "--no-services"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the Prefect server on PostgreSQL did not start")
        yield url, name
    finally:
        server.terminate()
        server.wait(30)
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_intake_flow_runs_against_a_prefect_server_on_postgresql(
    postgres_server, app
):
    import psycopg
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.intake_flow import intake_request

    url, database = postgres_server
    (intake_id,) = ingest_lines(app.store, [factories.portal_reschedule("t-pg")]
                                ).intake_ids
    with temporary_settings(updates={PREFECT_API_URL: url}):
        state = intake_request(intake_id, return_state=True)
        # Events and logs for this server go out before the fixture stops it.
        drain_prefect_workers()

    assert state.is_completed()
    assert app.crm.read_intake(intake_id).queue == "front_desk"
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM flow_run")]
    assert f"intake-{intake_id}" in names

"""Production settings: placeholders refused, auth enforced by the server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from dotenv import dotenv_values

from intake.security import check

ROOT = Path(__file__).resolve().parents[1]


def _example() -> dict[str, str]:
    values = dotenv_values(ROOT / "config" / "production.env.example")
    return {k: v or "" for k, v in values.items()}


def test_the_shipped_example_is_refused_until_its_placeholders_are_replaced():
    problems = check(_example())
    assert any("PREFECT_SERVER_ENCRYPTION_KEY" in p for p in problems)
    assert any("PREFECT_SERVER_API_AUTH_STRING" in p for p in problems)
    assert all("CHANGE-ME" not in p for p in problems)  # names only, no values


def test_a_complete_production_environment_passes():
    env = _example()
    env.update(PREFECT_SERVER_API_AUTH_STRING="ops:x7Q-long-random",
               PREFECT_API_AUTH_STRING="ops:x7Q-long-random",
               PREFECT_SERVER_ENCRYPTION_KEY=Fernet.generate_key().decode())
    assert check(env) == []


def test_telemetry_and_result_persistence_must_be_off():
    env = _example()
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="true",
               PREFECT_RESULTS_PERSIST_BY_DEFAULT="true")
    problems = check(env)
    assert "PREFECT_SERVER_ANALYTICS_ENABLED must be false" in problems
    assert "PREFECT_RESULTS_PERSIST_BY_DEFAULT must be false" in problems


@pytest.mark.server
@pytest.mark.slow
def test_the_server_refuses_clients_without_the_auth_string(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "PREFECT_HOME": str(tmp_path),
           "PREFECT_SERVER_API_AUTH_STRING": "ops:s3cret-value",
           "PREFECT_SERVER_ENCRYPTION_KEY": Fernet.generate_key().decode(),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_DATABASE_CONNECTION_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port), "--no-services"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{api}/health", timeout=2,
                                   auth=("ops", "s3cret-value"))
                if answer.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        unauthenticated = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10)
        authenticated = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=10,
                                   auth=("ops", "s3cret-value"))
        assert unauthenticated.status_code == 401
        assert authenticated.status_code == 200
    finally:
        server.terminate()
        server.wait(30)

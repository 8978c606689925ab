"""Shared setup for flow tests on real deployments: a worker, the app, run helpers.

Tests that need a process worker on the ``intake-pool`` work pool (deployments
registered from prefect.yaml) use the ``worker`` fixture; ``submit`` and
``wait_for`` start a deployment run and follow it to a state.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from intake import runtime


@pytest.fixture(scope="module")
def worker(prefect_server: str) -> Iterator[str]:
    """Deployments from prefect.yaml and a process worker; yields the API URL."""
    from intake.prefect_env import (
        ensure_deployments,
        ensure_work_pool,
        ensure_worker,
        stop_background,
    )

    ensure_work_pool()
    ensure_deployments(force=True)
    ensure_worker()
    yield prefect_server
    stop_background("worker")


@pytest.fixture
def default_app() -> Iterator[Any]:
    """The app database the worker's flow runs use (the session's data dir)."""
    runtime.reset()
    yield runtime
    runtime.reset()


def submit(intake_id: str) -> str:
    """Start the live intake deployment for one request; returns the run id."""
    from prefect.deployments import run_deployment

    # _sync: Playwright's sync API keeps an event loop running in this thread,
    # which would make Prefect hand back a coroutine instead of the run.
    run = run_deployment("intake-request/live", parameters={"intake_id": intake_id},
                         timeout=0, _sync=True)  # type: ignore[call-arg]
    return str(run.id)


def wait_for(run_id: str, types: set[str], timeout: float = 120) -> Any:
    """Poll a flow run until its state type is one of ``types``; returns the run."""
    from prefect import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            run = client.read_flow_run(run_id)
            if run.state and run.state.type.value in types:
                return run
            time.sleep(0.5)
    raise AssertionError(f"run {run_id} did not reach {types}; last {run.state}")


def post_resume(api: str, run_id: str, run_input: dict[str, Any]) -> dict[str, Any]:
    """What the UI does when a reviewer submits the form."""
    response = httpx.post(f"{api}/flow_runs/{run_id}/resume",
                          json={"run_input": run_input}, timeout=30)
    return {"status_code": response.status_code, **(response.json() or {})}

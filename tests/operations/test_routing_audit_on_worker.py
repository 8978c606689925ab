"""The routing audit on a real deployment: it suspends for each sampled request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from intake.models import CRMFields
from tests.flows.conftest import default_app, post_resume, wait_for, worker

pytestmark = [pytest.mark.server, pytest.mark.slow]
__all__ = ["default_app", "worker"]  # fixtures shared with the flow tests


def waiting_form(api: str, run_id: str) -> tuple[dict, str]:
    response = httpx.post(f"{api}/flow_runs/{run_id}/input/filter",
                          json={"prefix": "", "limit": 50}, timeout=30)
    response.raise_for_status()
    entries = {e["key"]: e["value"] for e in response.json()}
    schema = [json.loads(v) for k, v in entries.items() if k.endswith("-schema")]
    descriptions = [v for k, v in entries.items() if k.endswith("-description")]
    return schema[-1], descriptions[-1]


def resume(api: str, run_id: str, run_input: dict) -> dict:
    """Post the form as the UI does, again if the SQLite-backed server is busy."""
    import time

    for _ in range(6):
        answer = post_resume(api, run_id, run_input)
        if answer["status_code"] < 500:
            return answer
        time.sleep(2)
    return answer


def left_pause(run_id: str, paused_state_id: object, timeout: float = 60) -> None:
    """Wait until the run has moved on from the paused state it was in."""
    import time

    from prefect import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            if client.read_flow_run(run_id).state.id != paused_state_id:
                return
            time.sleep(0.3)
    raise AssertionError("the run did not leave its pause after the resume")


def test_the_audit_suspends_per_sample_and_records_each_verdict(worker, default_app):
    from prefect.deployments import run_deployment

    store, crm = default_app.store(), default_app.crm()
    received = datetime(2026, 11, 11, 16, tzinfo=UTC)
    audited = [f"itk-audit-worker-{n}" for n in range(2)]
    for intake_id in audited:
        store.ingest(intake_id, intake_id, "portal", "{}")
        crm.upsert_intake(CRMFields(
            intake_id=intake_id, source="portal", received_at=received,
            request_type="records", queue="records", owner="records-team",
            response_due_at=received + timedelta(hours=24)))

    run = run_deployment("routing-audit/weekly", parameters={"day": "2026-11-16"},
                         timeout=0, _sync=True)  # type: ignore[call-arg]
    run_id = str(run.id)

    wait_for(run_id, {"PAUSED"}, timeout=180)
    schema, description = waiting_form(worker, run_id)
    assert set(schema["required"]) == {"verdict", "supervisor"}
    assert "Routing audit" in description and "itk-audit-worker-" in description
    refused = resume(worker, run_id, {"verdict": "agree"})
    assert refused.get("status") != "ACCEPT"

    answered = 0
    while answered < 20:
        state = wait_for(run_id, {"PAUSED", "COMPLETED", "FAILED", "CRASHED"},
                         timeout=180).state
        if state.type.value != "PAUSED":
            break
        accepted = resume(worker, run_id, {
            "verdict": "disagree", "supervisor": "Supervisor Example",
            "corrected_queue": "front_desk"})
        assert accepted.get("status") == "ACCEPT"
        answered += 1
        left_pause(run_id, state.id)

    assert state.type.value == "COMPLETED"
    rows = {r.intake_id: r for r in store.decisions() if r.kind == "routing_audit"}
    for intake_id in audited:
        assert rows[intake_id].decision == "disagree"
        assert rows[intake_id].reviewer == "Supervisor Example"
        assert rows[intake_id].final["labels"]["queue"] == "front_desk"

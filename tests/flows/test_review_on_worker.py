"""Review pause points on real deployments: a server, a work pool and a worker.

The urgent request's run is suspended (it holds no worker slot), resumed with
input posted to the API exactly as the Prefect UI posts it, and survives a
restart of the worker and of the server while it waits.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from intake.ingest import ingest_lines
from tests import factories
from tests.flows.conftest import post_resume, submit, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]


def form_schema(api: str, run_id: str) -> dict[str, Any]:
    import json

    response = httpx.post(f"{api}/flow_runs/{run_id}/input/filter",
                          json={"prefix": "", "limit": 50}, timeout=30)
    response.raise_for_status()
    entries = {e["key"]: e["value"] for e in response.json()}
    (schema_key,) = [k for k in entries if k.endswith("-schema")]
    (description_key,) = [k for k in entries if k.endswith("-description")]
    return {"schema": json.loads(entries[schema_key]),
            "description": entries[description_key]}


def test_urgent_request_suspends_and_resumes_with_ui_input(worker, default_app):
    api = worker
    store = default_app.store()
    urgent, routine = ingest_lines(store, [
        factories.web_form_urgent("t-worker-urgent"),
        factories.portal_reschedule("t-worker-routine"),
    ]).intake_ids
    urgent_run, routine_run = submit(urgent), submit(routine)

    assert wait_for(routine_run, {"COMPLETED"}).state.type.value == "COMPLETED"
    paused = wait_for(urgent_run, {"PAUSED"})
    assert paused.state.name == "Suspended"

    form = form_schema(api, urgent_run)
    assert set(form["schema"]["required"]) >= {"decision", "reviewer"}
    assert "urgency" in form["description"].lower()

    refused = post_resume(api, urgent_run, {"decision": "approve"})
    assert refused.get("status") != "ACCEPT"
    refused = post_resume(api, urgent_run, {"decision": "maybe", "reviewer": "Kim"})
    assert refused.get("status") != "ACCEPT"
    assert wait_for(urgent_run, {"PAUSED"}, timeout=5)

    accepted = post_resume(api, urgent_run,
                           {"decision": "approve", "reviewer": "Nurse Kim Ortega"})
    assert accepted.get("status") == "ACCEPT"
    assert wait_for(urgent_run, {"COMPLETED"}).state.type.value == "COMPLETED"

    decision = store.decision(urgent, "request-review")
    assert decision.reviewer == "Nurse Kim Ortega"
    fields = default_app.crm().read_intake(urgent)
    assert "Nurse Kim Ortega" in (fields.follow_up_outcome or "")
    assert "approve" in (fields.follow_up_outcome or "")


def test_a_suspended_review_survives_worker_and_server_restarts(worker, default_app):
    from intake.prefect_env import ensure_server, ensure_worker, stop_background

    store = default_app.store()
    (urgent,) = ingest_lines(store, [factories.web_form_urgent("t-restart")]).intake_ids
    run_id = submit(urgent)
    wait_for(run_id, {"PAUSED"})
    captured_before = store.step_outcome(urgent, "capture")

    stop_background("worker")
    stop_background("server")
    ensure_server(timeout=120)
    ensure_worker()

    accepted = post_resume(worker, run_id,
                           {"decision": "escalate", "reviewer": "Dana Whitfield"})
    assert accepted.get("status") == "ACCEPT"
    assert wait_for(run_id, {"COMPLETED"}).state.type.value == "COMPLETED"

    assert store.step_outcome(urgent, "capture") == captured_before
    fields = default_app.crm().read_intake(urgent)
    assert fields.status == "escalated"
    assert fields.queue == "practice_manager"
    audit_captures = [a for a in _audit(store) if a == (urgent, "captured")]
    assert len(audit_captures) == 1  # the finished step did not run again


def _audit(store) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from intake.store import AuditRow, session_scope

    with session_scope(store.engine) as session:
        return [(r.intake_id, r.action) for r in session.scalars(select(AuditRow))]


def test_two_workers_on_one_pool_process_each_request_once(worker, default_app):
    import sys

    from intake.prefect_env import (
        WORK_POOL,
        prefect_environment,
        start_background,
        stop_background,
    )

    start_background("worker-2", [sys.executable, "-m", "prefect", "worker",
                                  "start", "--pool", WORK_POOL, "--type", "process",
                                  "--limit", "2"], prefect_environment())
    try:
        store = default_app.store()
        ids = ingest_lines(store, [factories.portal_reschedule(f"t-two-{n}")
                                   for n in range(6)]).intake_ids
        runs = [submit(intake_id) for intake_id in ids]
        for run_id in runs:
            assert wait_for(run_id, {"COMPLETED"}, timeout=240)
    finally:
        stop_background("worker-2")

    crm = default_app.crm()
    for intake_id in ids:
        assert crm.read_intake(intake_id) is not None
        assert len(crm.staff_tasks(intake_id)) == 1
        captures = [a for a in _audit(store) if a == (intake_id, "captured")]
        assert len(captures) == 1

"""The intake flow end to end on a real local Prefect server (in-process runs)."""

from __future__ import annotations

import pytest

from flows.intake_flow import intake_batch, intake_request
from intake.ingest import ingest_lines
from intake.models import IntakeStatus, Queue, Urgency
from tests import factories

pytestmark = pytest.mark.server


def _ingest(app, *lines: str) -> list[str]:
    return ingest_lines(app.store, list(lines)).intake_ids


def test_a_routine_complete_request_completes_without_pausing(prefect_server, app):
    (intake_id,) = _ingest(app, factories.portal_reschedule())

    status = intake_request(intake_id)

    fields = app.crm.read_intake(intake_id)
    assert status == "new"
    assert fields is not None
    assert fields.request_type == "scheduling"
    assert fields.queue == Queue.FRONT_DESK
    assert fields.owner and fields.response_due_at is not None
    assert app.store.open_reviews(intake_id) == []
    sent = app.crm.outbox(intake_id)
    assert [m.template_id for m in sent] == ["receipt_confirmation"] or any(
        m.template_id == "receipt_confirmation" for m in sent)


def test_running_the_same_request_twice_leaves_one_crm_record(prefect_server, app):
    (intake_id,) = _ingest(app, factories.web_form_billing())
    intake_request(intake_id)
    (again,) = _ingest(app, factories.web_form_billing())
    intake_request(again)

    assert again == intake_id
    assert [r["intake_id"] for r in app.crm.export_intakes()] == [intake_id]
    assert len(app.crm.staff_tasks(intake_id)) == 1
    outbox = app.crm.outbox(intake_id)
    assert len(outbox) == len({m.template_id for m in outbox})


def test_an_emergency_waits_for_staff_and_resumes_after_a_cli_decision(
    prefect_server, app
):
    from intake.review_actions import decide

    (intake_id,) = _ingest(app, factories.web_form_urgent())

    status = intake_request(intake_id)

    fields = app.crm.read_intake(intake_id)
    assert status == "needs_review"
    assert fields.status == IntakeStatus.NEEDS_REVIEW
    assert fields.urgency == Urgency.EMERGENCY
    assert fields.queue == Queue.NURSE_REVIEW and fields.stop_automation
    assert app.crm.outbox(intake_id) == []  # nothing patient-facing before review
    (waiting,) = app.store.open_reviews(intake_id)
    assert waiting.kind == "request"

    outcome = decide(intake_id, {"decision": "approve", "reviewer": "Nurse Kim"})

    assert "recorded" in outcome
    decision = app.store.decision(intake_id, "request-review")
    assert decision.reviewer == "Nurse Kim" and decision.decision == "approve"
    assert app.store.open_reviews(intake_id) == []
    templates = {m.template_id for m in app.crm.outbox(intake_id)}
    assert templates <= {"receipt_confirmation", "emergency_policy"}
    assert "emergency_policy" in templates


def test_invalid_review_input_is_refused_and_the_request_keeps_waiting(
    prefect_server, app
):
    from intake.review_actions import ReviewRefused, decide

    (intake_id,) = _ingest(app, factories.web_form_urgent("t-form-urgent-2"))
    intake_request(intake_id)

    with pytest.raises(ReviewRefused):
        decide(intake_id, {"decision": "approve"})  # no reviewer
    with pytest.raises(ReviewRefused):
        decide(intake_id, {"decision": "shrug", "reviewer": "Nurse Kim"})

    assert len(app.store.open_reviews(intake_id)) == 1
    assert app.store.decision(intake_id, "request-review") is None


def test_malformed_input_is_contained_and_the_batch_goes_on(prefect_server, app):
    result = ingest_lines(app.store, [
        "{this is not json",
        factories.request("t-empty", "portal", {}),
        factories.request("t-unknown", "carrier_pigeon", {"note": "hello"}),
        factories.portal_reschedule("t-portal-batch"),
    ], batch_id="b-contained")

    statuses = intake_batch("b-contained")

    assert sum(statuses.values()) == 4
    assert statuses.get("failed", 0) == 0
    rows = {r["intake_id"]: r for r in app.crm.export_intakes()}
    assert set(rows) == set(result.intake_ids)
    for intake_id in result.intake_ids[:3]:
        assert rows[intake_id]["status"] == "needs_review"
        assert app.store.record(intake_id).capture_problem is not None

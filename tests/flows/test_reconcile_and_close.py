"""Escalation past the response target, stuck requests, and the handoff checklist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from flows.intake_flow import intake_request
from flows.reconcile import reconcile
from intake.handoff import CloseRefused, checklist, close_request, log_response
from intake.ingest import ingest_lines
from intake.store import PendingReviewRow, RawRequestRow, session_scope, utcnow
from tests import factories

pytestmark = pytest.mark.server


def test_a_review_past_its_target_is_escalated_and_stays_decidable(
    prefect_server, app
):
    from intake.review_actions import decide

    (intake_id,) = ingest_lines(app.store, [factories.web_form_urgent("t-late")]
                                ).intake_ids
    assert intake_request(intake_id) == "needs_review"
    with session_scope(app.store.engine) as session:
        session.execute(update(PendingReviewRow).values(
            due_at=utcnow() - timedelta(minutes=5)))

    outcome = reconcile()

    assert outcome["escalated"] == 1
    fields = app.crm.read_intake(intake_id)
    assert fields.status == "escalated" and fields.queue == "practice_manager"
    assert len(app.store.open_reviews(intake_id)) == 1  # still resumable
    assert reconcile()["escalated"] == 0  # escalated once

    decide(intake_id, {"decision": "approve", "reviewer": "Dana Whitfield"})
    assert app.store.decision(intake_id, "request-review").reviewer == "Dana Whitfield"


def test_a_request_that_never_synced_is_finished_by_the_reconciler(
    prefect_server, app
):
    (intake_id,) = ingest_lines(app.store, [factories.portal_reschedule("t-stuck")]
                                ).intake_ids
    with session_scope(app.store.engine) as session:
        session.execute(update(RawRequestRow).values(
            ingested_at=utcnow() - timedelta(hours=1)))
    assert app.crm.read_intake(intake_id) is None

    outcome = reconcile(stuck_after_minutes=10)

    assert outcome["rerun"] == 1 and outcome["failed"] == 0
    assert app.crm.read_intake(intake_id).status == "new"


def test_closing_is_refused_until_the_checklist_is_done(prefect_server, app):
    (intake_id,) = ingest_lines(app.store, [factories.web_form_billing("t-close")]
                                ).intake_ids
    intake_request(intake_id)

    with pytest.raises(CloseRefused, match="staff response logged"):
        close_request(app.store, app.crm, intake_id, "Opal Front")
    blocking = [i.name for i in checklist(app.store, app.crm, intake_id)
                if not i.done]
    assert blocking == ["staff response logged"]

    log_response(app.store, intake_id, "Opal Front", "refund issued")
    close_request(app.store, app.crm, intake_id, "Opal Front")
    from intake import steps

    steps.sync_crm(app.store, app.crm, intake_id)
    assert app.crm.read_intake(intake_id).status == "closed"


def test_an_urgent_request_cannot_close_without_a_clinical_review(
    prefect_server, app
):
    (intake_id,) = ingest_lines(app.store, [factories.web_form_urgent("t-noclose")]
                                ).intake_ids
    intake_request(intake_id)
    log_response(app.store, intake_id, "Kim Ortega", "called patient")

    with pytest.raises(CloseRefused, match="urgency and blocked topics reviewed"):
        close_request(app.store, app.crm, intake_id, "Kim Ortega")

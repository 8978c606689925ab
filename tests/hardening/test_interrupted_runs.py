"""The reconciler finishes requests whose run died part-way, and only those.

A flow run marks its request ``in_flight`` when it starts and clears the mark
when it finishes. A mark left behind with no review waiting for staff means
the run died (a killed worker, a lost machine): the reconciler runs the
request again and its finished steps skip themselves. The slow, real-worker
version of this is ``test_fault_injection.py``.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from flows.intake_flow import intake_request
from flows.reconcile import reconcile, unfinished_requests
from intake import steps
from intake.ingest import ingest_lines
from intake.store import utcnow
from tests import factories

pytestmark = pytest.mark.server


def _died_after_first_sync(app, source_id: str) -> str:
    """A request whose run synced once, then died before its final sync."""
    (intake_id,) = ingest_lines(
        app.store, [factories.portal_reschedule(source_id)]).intake_ids
    app.store.mark_step(intake_id, "in_flight", {"since": utcnow().isoformat()})
    for step in (steps.capture, steps.classify, steps.check_required_details,
                 steps.route):
        step(app.store, intake_id)
    steps.sync_crm(app.store, app.crm, intake_id)
    steps.draft_follow_up(app.store, intake_id)
    return intake_id


def test_a_run_that_died_after_its_first_sync_is_finished(prefect_server, app):
    intake_id = _died_after_first_sync(app, "t-died-late")
    assert app.crm.read_intake(intake_id).follow_up_outcome is None

    assert unfinished_requests(timedelta(0)) == [intake_id]
    assert reconcile(stuck_after_minutes=0) == {
        "escalated": 0, "rerun": 1, "failed": 0}

    assert app.store.step_outcome(intake_id, "in_flight") is None
    assert "receipt_confirmation" in app.crm.read_intake(intake_id).follow_up_outcome
    assert unfinished_requests(timedelta(0)) == []


def test_a_run_still_inside_the_waiting_time_is_left_alone(prefect_server, app):
    intake_id = _died_after_first_sync(app, "t-still-running")
    assert unfinished_requests(timedelta(minutes=10)) == []
    assert unfinished_requests(timedelta(0)) == [intake_id]


def test_a_request_waiting_for_staff_is_not_run_again(prefect_server, app):
    (intake_id,) = ingest_lines(app.store, [factories.web_form_urgent("t-waits")]
                                ).intake_ids
    assert intake_request(intake_id) == "needs_review"
    assert app.store.step_outcome(intake_id, "in_flight") is not None
    assert app.store.open_reviews(intake_id)

    assert unfinished_requests(timedelta(0)) == []


def test_a_finished_run_leaves_no_mark(prefect_server, app):
    (intake_id,) = ingest_lines(app.store, [factories.portal_reschedule("t-done")]
                                ).intake_ids
    intake_request(intake_id)
    assert app.store.step_outcome(intake_id, "in_flight") is None
    assert unfinished_requests(timedelta(0)) == []

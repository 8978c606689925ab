"""The intake flow: one patient request from arrival to a routed CRM record.

The flow body reads like the workflow map. Its only parameter is the opaque
intake id; the request's content lives in the app database.
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger

from flows.review import await_review, describe, drafts_for
from intake import runtime, steps
from intake.models import ReviewKind
from intake.store import utcnow
from tasks.capture import capture
from tasks.classify import classify
from tasks.details import check_required_details
from tasks.draft import draft_follow_up
from tasks.route import route
from tasks.sync import sync_crm


@flow(
    name="intake-request",
    flow_run_name="intake-{intake_id}",
    persist_result=False,
    log_prints=False,
    validate_parameters=True,
)
def intake_request(intake_id: str) -> str:
    """Capture, triage, route, review, draft and sync one request.

    Returns the request's status: ``new``, ``needs_review`` (waiting for
    staff), ``waiting_on_patient`` or ``escalated``.
    """
    logger = get_run_logger()
    store = runtime.store()

    # A run that dies part-way (a killed worker, a lost machine, a server
    # restart) leaves this mark behind; the reconciler runs the request again.
    store.mark_step(intake_id, "in_flight", {"since": utcnow().isoformat()})

    # Capture: the channel's payload becomes one clean intake record.
    capture(intake_id)

    # Classify: the safety screen runs first and nothing later can lower it.
    classify(intake_id)

    # Check required details: what the next administrative step still needs.
    check_required_details(intake_id)

    # Route: queue, owner and response due date from the practice's config.
    routed = route(intake_id)
    due = datetime.fromisoformat(routed["response_due_at"])

    # First sync: match the patient and put the request in its staff queue.
    synced = sync_crm(intake_id)

    # Review: clinical, urgent or unclear requests wait for trained staff
    # before any patient-facing text is drafted (before identity questions).
    record, result = store.record(intake_id), store.triage(intake_id)
    if steps.request_review_reasons(record, result):
        if not _review(intake_id, ReviewKind.REQUEST, due):
            return _waiting(intake_id)

    # Identity: an ambiguous patient match waits for staff confirmation.
    if synced["patient_match"] == "ambiguous":
        if not _review(intake_id, ReviewKind.IDENTITY, due):
            return _waiting(intake_id)

    if store.step_outcome(intake_id, "escalated") is None:
        # Draft administrative follow-up from locked templates.
        draft_follow_up(intake_id)

        # Approval: follow-up questions and sensitive messages wait for staff.
        for kind in (ReviewKind.FOLLOW_UP, ReviewKind.OUTBOUND):
            if drafts_for(intake_id, kind) and not _review(intake_id, kind, due):
                return _waiting(intake_id)

    # Final sync: labels, status, owner, due date and approved messages.
    final = sync_crm(intake_id)
    store.clear_step(intake_id, "in_flight")
    logger.info("intake %s finished with status %s", intake_id, final["status"])
    return final["status"]


def _review(intake_id: str, kind: ReviewKind, due: datetime) -> bool:
    """Pause for staff; True once a decision is recorded."""
    store = runtime.store()
    record, result = store.record(intake_id), store.triage(intake_id)
    reasons = steps.request_review_reasons(record, result)
    drafts = [d.text for d in drafts_for(intake_id, kind)] if kind in (
        ReviewKind.FOLLOW_UP, ReviewKind.OUTBOUND) else None
    evidence = None
    if kind == ReviewKind.IDENTITY:
        matched = store.step_outcome(intake_id, "patient") or {}
        evidence = matched.get("evidence")
        reasons = ["the sender may be a patient already on file"]
    description = describe(kind, intake_id, result, reasons, drafts, evidence)
    decision = await_review(
        intake_id, kind, description, result.queue, due,
        before_suspend=lambda: sync_crm(intake_id),
    )
    if decision is None:
        return False
    get_run_logger().info("intake %s %s review decided: %s", intake_id, kind,
                          decision["decision"])
    return True


def _waiting(intake_id: str) -> str:
    get_run_logger().info("intake %s waits for staff review", intake_id)
    return "needs_review"


@flow(name="intake-batch", flow_run_name="intake-batch-{batch_id}",
      persist_result=False, log_prints=False)
def intake_batch(batch_id: str) -> dict[str, int]:
    """Run every request of an ingested batch through the intake flow."""
    statuses: dict[str, int] = {}
    for intake_id in runtime.store().intake_ids(batch_id):
        # One request's failure is that request's labelled outcome, not the batch's.
        state = intake_request(intake_id, return_state=True)
        status = state.result() if state.is_completed() else "failed"
        statuses[status] = statuses.get(status, 0) + 1
    get_run_logger().info("batch %s finished: %s", batch_id, statuses)
    return statuses

"""The workflow steps as plain functions: what each Prefect task runs.

Each step reads what it needs from the app database by intake id, writes its
output back there, and returns only labels, ids and counts (safe for Prefect).
Each step records that it finished, so a rerun after a crash or a resume
skips finished work instead of repeating side effects.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import datetime
from typing import Any

from intake.models import (
    CRMFields,
    IntakeRecord,
    IntakeStatus,
    MissingDetail,
    OutboundMessage,
    PatientRecord,
    Queue,
    Reason,
    StaffTask,
    TriageResult,
    Urgency,
)
from intake.store import IntakeStore, utcnow
from intake.triage.routing import owner_for


def labels_of(result: TriageResult) -> dict[str, Any]:
    """The labels of a triage result (safe for Prefect and the ledger)."""
    return {
        "request_type": str(result.request_type),
        "urgency": str(result.urgency),
        "patient_status": str(result.patient_status),
        "queue": str(result.queue),
        "stop_automation": result.stop_automation,
        "missing": [str(m) for m in result.missing],
        "needs_staff_review": result.needs_staff_review,
    }


# ----------------------------------------------------------------------------
# Capture


def capture(store: IntakeStore, intake_id: str) -> dict[str, Any]:
    """Normalise the stored raw request into one intake record."""
    done = store.step_outcome(intake_id, "capture")
    if done is not None:
        return done

    from intake.capture import capture_request
    from intake.settings import get_settings

    record = capture_request(
        store.raw_body(intake_id), intake_id=intake_id,
        max_bytes=get_settings().max_payload_bytes,
    )
    store.save_record(record)
    outcome = {
        "channel": str(record.channel) if record.channel else None,
        "capture_problem": str(record.capture_problem)
        if record.capture_problem else None,
        "attachments": len(record.attachments),
    }
    store.mark_step(intake_id, "capture", outcome)
    store.audit("system", "captured", intake_id,
                capture_problem=outcome["capture_problem"])
    return outcome


# ----------------------------------------------------------------------------
# Classify


def classify(store: IntakeStore, intake_id: str, model: Any = None) -> dict[str, Any]:
    """Safety screen, request type and patient status (rules, then the model)."""
    done = store.step_outcome(intake_id, "classify")
    if done is not None:
        return done

    from intake.triage import triage

    record = store.record(intake_id)
    result = triage(record)
    if model is not None:
        # The model may raise urgency or ask for review; it never lowers rules.
        result = model.assess_and_merge(record, result)
    store.save_triage(intake_id, result)
    outcome = labels_of(result)
    store.mark_step(intake_id, "classify", outcome)
    store.audit("system", "classified", intake_id, decided_by=result.decided_by,
                **{k: v for k, v in outcome.items() if k != "missing"})
    return outcome


# ----------------------------------------------------------------------------
# Check required details


def check_required_details(store: IntakeStore, intake_id: str) -> dict[str, Any]:
    """List the administrative details the next step still needs."""
    done = store.step_outcome(intake_id, "details")
    if done is not None:
        return done

    from intake.triage import missing_details

    record = store.record(intake_id)
    result = store.triage(intake_id)
    missing, reasons = missing_details(record, result.request_type,
                                       patient_status=result.patient_status)
    result = _with_missing(result, missing, reasons)
    store.update_final_triage(intake_id, result)
    outcome = {"missing": [str(m) for m in missing]}
    store.mark_step(intake_id, "details", outcome)
    return outcome


def _with_missing(result: TriageResult, missing: list[MissingDetail],
                  reasons: list[Reason]) -> TriageResult:
    kept = [r for r in result.reasons if r.code != "missing"]
    return result.model_copy(update={"missing": missing, "reasons": kept + reasons})


# ----------------------------------------------------------------------------
# Route


def route(store: IntakeStore, intake_id: str) -> dict[str, Any]:
    """Queue, owner and response due date for the request."""
    done = store.step_outcome(intake_id, "route")
    if done is not None:
        return done

    from intake.clock import response_due
    from intake.triage import route_queue

    record = store.record(intake_id)
    result = store.triage(intake_id)
    queue, reason = route_queue(record, result)
    if queue != result.queue:
        result = result.model_copy(update={"queue": queue})
        store.update_final_triage(intake_id, result)
    received = record.received_at or utcnow()
    due = response_due(received, result.queue, result.urgency)
    outcome = {
        "queue": str(result.queue),
        "owner": owner_for(result.queue),
        "response_due_at": due.isoformat(),
        "reason": reason.code if reason else None,
    }
    store.mark_step(intake_id, "route", outcome)
    return outcome


# ----------------------------------------------------------------------------
# What needs staff before anything goes to the patient


def request_review_reasons(record: IntakeRecord, result: TriageResult) -> list[str]:
    """Why a request must be reviewed by staff before any patient-facing text."""
    why = []
    if record.capture_problem:
        why.append(f"capture problem: {record.capture_problem}")
    if result.urgency in (Urgency.EMERGENCY, Urgency.URGENT_REVIEW):
        why.append(f"urgency {result.urgency}")
    if result.stop_automation:
        why.append("clinical or safety language stops automation")
    if result.needs_staff_review:
        why.append("unclear request or conflicting signals")
    return why


# ----------------------------------------------------------------------------
# Draft administrative follow-up


def draft_follow_up(store: IntakeStore, intake_id: str) -> dict[str, Any]:
    """Drafts from locked templates; which of them need staff approval."""
    done = store.step_outcome(intake_id, "draft")
    if done is not None:
        return done

    from intake.drafting import detect_language
    from intake.drafting import draft_follow_up as compose

    record = store.record(intake_id)
    result = store.triage(intake_id)
    language = detect_language(record.triage_text())
    channel = str(record.channel) if record.channel else "portal"
    drafts = compose(result, channel=channel, language=language)
    for draft in drafts:
        store.save_draft(
            intake_id, draft.template_id, draft.template_version, draft.text,
            draft.requires_approval,
            status="awaiting_approval" if draft.requires_approval else "approved",
        )
    outcome = {
        "drafts": [d.template_id for d in drafts],
        "awaiting_approval": [d.template_id for d in drafts if d.requires_approval],
        "language": language,
    }
    store.mark_step(intake_id, "draft", outcome)
    store.audit("system", "drafted", intake_id, templates=outcome["drafts"])
    return outcome


# ----------------------------------------------------------------------------
# Sync CRM fields


def patient_key_for(intake_id: str) -> str:
    """The key a new patient gets from its first request (stable across retries)."""
    return "pat-" + hashlib.sha256(intake_id.encode()).hexdigest()[:20]


_MATCH_LOCK = threading.Lock()


def resolve_patient(store: IntakeStore, crm: Any, intake_id: str) -> dict[str, Any]:
    """Match the sender to a CRM patient; create one only when surely new.

    Matching and creating run one request at a time in a process, so two
    requests about the same new person handled side by side (the live lane
    runs several) do not both create a patient. Separate worker processes are
    not serialised: a practice running several workers can still, rarely, get
    two records for one new patient within the same second; staff merge them.
    """
    with _MATCH_LOCK:
        return _resolve_patient(store, crm, intake_id)


def _resolve_patient(store: IntakeStore, crm: Any, intake_id: str) -> dict[str, Any]:
    done = store.step_outcome(intake_id, "patient")
    if done is not None and done.get("outcome") != "ambiguous":
        return done

    record = store.record(intake_id)
    decision = store.step_outcome(intake_id, "identity_decision")
    if decision is not None:
        # Staff decided an ambiguous match: link to the key or create new.
        outcome = {"outcome": decision["outcome"], "patient_key": decision.get(
            "patient_key"), "evidence": done.get("evidence", []) if done else []}
    else:
        from intake.matching import resolve_patient as match

        matched = match(crm, record)
        candidates = list(matched.review_keys)
        outcome = {
            "outcome": matched.outcome,
            "patient_key": matched.patient_key,
            "evidence": [e.model_dump(mode="json") for e in matched.evidence],
            "candidates": candidates,
        }
        if matched.outcome == "ambiguous" and not candidates:
            # Nothing on file to confirm against: staff identify the sender
            # when they respond; there is no identity question to pause for.
            outcome["outcome"] = "unidentified"
    if outcome["outcome"] == "new" and not _identifiable(record):
        outcome = {"outcome": "unidentified", "patient_key": None, "evidence": []}
    if outcome["outcome"] == "new":
        outcome["patient_key"] = crm.upsert_patient(
            _patient_from(record, patient_key_for(intake_id))
        )
    # A link reuses the stored patient as it is: a request's spelling ("Bill",
    # a new phone) never overwrites what staff keep on file.
    store.mark_step(intake_id, "patient", outcome)
    return outcome


def _identifiable(record: IntakeRecord) -> bool:
    """Enough to create a patient: a name plus a date of birth or contact."""
    patient = record.patient
    has_name = bool(patient.last_name or patient.first_name)
    return has_name and bool(patient.date_of_birth or record.contact.reachable)


def _patient_from(record: IntakeRecord, key: str) -> PatientRecord:
    """The new patient's record, normalised the way matching compares it."""
    from intake.matching import probe_from_record

    return probe_from_record(record).model_copy(update={"patient_key": key})


def current_status(store: IntakeStore, intake_id: str) -> IntakeStatus:
    """The request's response status, derived from what the app database holds."""
    if store.step_outcome(intake_id, "closed") is not None:
        return IntakeStatus.CLOSED
    if store.step_outcome(intake_id, "escalated") is not None:
        return IntakeStatus.ESCALATED
    if store.step_outcome(intake_id, "responded") is not None:
        return IntakeStatus.STAFF_REPLIED
    if store.open_reviews(intake_id):
        return IntakeStatus.NEEDS_REVIEW
    sent = [d for d in store.drafts(intake_id) if d.status == "queued"]
    if any(d.template_id.endswith("request") for d in sent):
        return IntakeStatus.WAITING_ON_PATIENT
    return IntakeStatus.NEW


def sync_crm(store: IntakeStore, crm: Any, intake_id: str) -> dict[str, Any]:
    """Write the CRM field map, the staff task and approved outbound messages."""
    record = store.record(intake_id)
    result = store.triage(intake_id)
    routed = store.step_outcome(intake_id, "route") or {}
    patient = resolve_patient(store, crm, intake_id)

    # Approved drafts go to the outbox first (once per intake and template).
    queued = 0
    for draft in store.drafts(intake_id):
        if draft.status in {"approved", "queued"}:
            crm.enqueue_message(
                OutboundMessage(
                    intake_id=intake_id, template_id=draft.template_id,
                    template_version=draft.template_version,
                    channel=str(record.channel or "portal"), text=draft.text,
                )
            )
            if draft.status == "approved":
                store.set_draft_status(intake_id, draft.template_id, "queued")
            queued += 1

    escalation = store.step_outcome(intake_id, "escalated")
    queue = Queue(escalation["queue"]) if escalation else result.queue
    owner = owner_for(queue)
    status = current_status(store, intake_id)
    due = routed.get("response_due_at")
    fields = CRMFields(
        intake_id=intake_id,
        patient_key=patient.get("patient_key")
        if patient["outcome"] in {"link", "new"} else None,
        source=record.channel,
        received_at=record.received_at,
        request_type=result.request_type,
        urgency=result.urgency,
        patient_status=result.patient_status,
        queue=queue,
        owner=owner,
        status=status,
        missing_information=result.missing,
        stop_automation=result.stop_automation,
        response_due_at=datetime.fromisoformat(due) if due else None,
        follow_up_outcome=follow_up_outcome(store, intake_id),
        referral_source=record.referral_source,
    )
    _fault_hook("sync")  # test-only; a no-op unless INTAKE_FAULT_INJECTION is set
    crm.upsert_intake(fields)
    crm.upsert_staff_task(
        StaffTask(
            intake_id=intake_id, kind="respond", queue=queue, owner=owner,
            status="open" if status != IntakeStatus.CLOSED else "done",
            due_at=fields.response_due_at,
            summary=staff_summary(result),
        )
    )
    store.mark_step(intake_id, "sync", {"status": str(status)})
    store.audit("system", "synced", intake_id, status=str(status), queue=str(queue),
                messages=queued)
    return {"status": str(status), "queue": str(queue), "messages_queued": queued,
            "patient_match": patient["outcome"]}


_FAULT_CALLS: dict[str, int] = {}


def _fault_hook(point: str) -> None:
    """Test-only fault injection: does nothing unless INTAKE_FAULT_INJECTION is set.

    The reliability tests (tests/hardening/test_fault_injection.py) give a
    worker this variable as JSON, per point: ``{"sync": {"sleep": 8}}`` pauses
    here, between the outbox writes and the intake write, so a test can kill
    the process mid-sync (a list, ``[0, 30]``, gives each call in this process
    its own pause: a flow run's first and final sync); ``{"sync":
    {"fail_times": 2}}`` makes the first two calls in this process raise a
    transient CRM error (``"transient": false``: a permanent one). Never set
    it in production.
    """
    spec = os.environ.get("INTAKE_FAULT_INJECTION")
    if not spec:
        return
    fault = json.loads(spec).get(point)
    if not fault:
        return
    calls = _FAULT_CALLS[point] = _FAULT_CALLS.get(point, 0) + 1
    pause = fault.get("sleep") or 0
    if isinstance(pause, list):
        pause = pause[calls - 1] if calls <= len(pause) else 0
    time.sleep(float(pause))
    if calls <= int(fault.get("fail_times", 0)):
        from blocks.crm import CRMError, CRMTransientError

        error = CRMTransientError if fault.get("transient", True) else CRMError
        raise error(f"injected {point} fault (call {calls})")


def follow_up_outcome(store: IntakeStore, intake_id: str) -> str | None:
    """What happened so far: staff decisions, then the messages queued."""
    parts = [f"{r.kind} review: {r.decision} by {r.reviewer}"
             for r in store.decisions_for(intake_id)]
    sent = [d.template_id for d in store.drafts(intake_id) if d.status == "queued"]
    if sent:
        parts.append(", ".join(sent) + " queued")
    return "; ".join(parts)[:200] if parts else None


def staff_summary(result: TriageResult) -> str:
    """A one-line administrative summary (labels only, no message text)."""
    missing = ", ".join(str(m) for m in result.missing) or "nothing"
    flag = "; automation stopped" if result.stop_automation else ""
    return (f"{result.request_type} request, {result.urgency}; missing: {missing}"
            f"{flag}")

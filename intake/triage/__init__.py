"""Offline triage: safety screen, request type, patient status, missing
details, queue and stop_automation for one intake record.

The default classifier every practice runs first. Deterministic rules over
reviewable vocabulary (config/triage/*.yaml) and routing rules
(config/routing.yaml); see ``intake.triage.classify`` for the method.

Public API::

    triage(record) -> TriageResult
    classify_case(raw) -> dict            # the contract's prediction line
    missing_details(record, request_type) -> (list[MissingDetail], list[Reason])
    route_queue(record, result) -> (Queue, Reason | None)
    owner_for(queue) -> str
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from intake.models import (
    IntakeRecord,
    PatientStatus,
    Queue,
    Reason,
    RequestType,
    TriageResult,
    Urgency,
)
from intake.triage import classify, routing, safety, timing
from intake.triage.lexicon import lexicon
from intake.triage.missing import insurance_document_request, missing_details
from intake.triage.routing import owner_for
from intake.triage.text import Doc

__all__ = [
    "build_doc",
    "classify_case",
    "missing_details",
    "owner_for",
    "route_queue",
    "triage",
]

logger = logging.getLogger(__name__)


def build_doc(record: IntakeRecord) -> Doc:
    """The sender's own words: subject, form reason and message (quoted
    history, signatures, staff and bot lines are not part of it)."""
    return Doc(
        [
            ("subject", record.subject),
            ("reason", record.form_reason),
            ("body", record.request_text),
        ],
        lexicon(),
    )


def triage(record: IntakeRecord) -> TriageResult:
    """Triage one intake record. Never raises for any record content."""
    try:
        return _triage(record)
    except Exception as exc:  # noqa: BLE001 - a fault must not lose a request
        # The class name only: the message could quote request text.
        logger.error("triage failed for %s: %s", record.intake_id, type(exc).__name__)
        return _fallback(record)


def _triage(record: IntakeRecord) -> TriageResult:
    doc = build_doc(record)
    clinician = classify.clinician_sender(doc, record)

    # 1. Safety screen first: its urgency is a floor nothing below lowers.
    screen = safety.screen(doc, clinician_sender=clinician)
    urgency = screen.urgency
    reasons: list[Reason] = list(screen.reasons)

    # 2. Request type and patient status.
    manager = routing.manager_topic(doc)
    decision = classify.request_type(
        doc, record, screen, clinician, routing.legal_claim(doc), manager is not None
    )
    rtype = decision.request_type
    reasons.append(Reason(code="request_type", detail=rtype.value))
    reasons.extend(decision.reasons)
    insurance_update = rtype is RequestType.INSURANCE and insurance_document_request(
        doc
    )
    status = classify.patient_status(doc, record, rtype, clinician, insurance_update)
    if status.reason is not None:
        reasons.append(status.reason)

    # 3. Time-bound administrative needs can only raise routine to soon.
    if urgency.rank < Urgency.SOON.rank:
        soon = timing.soon(doc, record, rtype, screen)
        if soon is not None:
            urgency = Urgency.SOON
            reasons.append(soon)

    # 4. Missing details follow the final request type.
    missing, missing_reasons = missing_details(
        record, rtype, patient_status=status.status, doc=doc
    )
    reasons.extend(missing_reasons)

    # 5. Queue and stop_automation.
    if (
        manager is not None
        and manager.code == "legal_party"
        and rtype is RequestType.RECORDS
    ):
        manager = None  # an attorney asking only for records: the records team
    queue, queue_reason = routing.queue_for(rtype, urgency, manager)
    if queue_reason is not None:
        reasons.append(queue_reason)
    stop = routing.stop_automation(rtype, urgency, screen.safety_language)

    needs_review = decision.needs_review or screen.instruction_text or screen.doubt
    confidence = decision.confidence
    if _text_was_cut(record):
        # Capture keeps the first part of a very long text; what it dropped
        # was never screened, so a person reads the whole request first.
        needs_review = True
        urgency = urgency.at_least(Urgency.URGENT_REVIEW)
        queue = Queue.NURSE_REVIEW
        stop = True
        reasons.append(Reason(code="text_truncated",
                              detail="part of a very long message was not read"))
    if record.capture_problem is not None:
        needs_review = True
        confidence = min(confidence, 0.3)
        reasons.append(
            Reason(code="capture_problem", detail=str(record.capture_problem))
        )
    return TriageResult(
        request_type=rtype,
        urgency=urgency,
        patient_status=status.status,
        missing=missing,
        queue=queue,
        stop_automation=stop,
        confidence=confidence,
        needs_staff_review=needs_review,
        reasons=reasons,
        decided_by="rules",
    )


def _text_was_cut(record: IntakeRecord) -> bool:
    detail = record.capture_detail or ""
    return any(marker in detail for marker in (
        "request_text was cut", "sender's turns were cut", "message was cut",
        "body was cut", "note was cut", "a chat message was cut",
        "payload text was cut", "transcript was cut"))


def _fallback(record: IntakeRecord) -> TriageResult:
    """Conservative labels when triage itself failed: a nurse looks first."""
    return TriageResult(
        request_type=RequestType.GENERAL,
        urgency=Urgency.URGENT_REVIEW,
        patient_status=PatientStatus.UNKNOWN,
        queue=Queue.NURSE_REVIEW,
        stop_automation=True,
        confidence=0.0,
        needs_staff_review=True,
        reasons=[
            Reason(
                code="triage_error", detail="automatic triage failed; staff to classify"
            )
        ],
        decided_by="rules",
    )


def route_queue(
    record: IntakeRecord, result: TriageResult
) -> tuple[Queue, Reason | None]:
    """The queue for ``result``'s labels (used again after staff corrections)."""
    doc = build_doc(record)
    manager = routing.manager_topic(doc)
    if (
        manager is not None
        and manager.code == "legal_party"
        and result.request_type is RequestType.RECORDS
    ):
        manager = None
    return routing.queue_for(result.request_type, result.urgency, manager)


def classify_case(
    raw: dict[str, Any] | str | bytes,
    capture: Callable[[Any], IntakeRecord] | None = None,
) -> dict[str, Any]:
    """Capture and triage one raw request; the contract's prediction line.

    ``raw`` is a contract request line, parsed or as JSON text (capture
    records a problem instead of raising when it is malformed).
    """
    if capture is None:
        from intake.capture import capture_request

        capture = capture_request
    record = capture(raw)
    case_id = raw.get("id") if isinstance(raw, dict) else None
    return triage(record).prediction(str(case_id or record.source_id))

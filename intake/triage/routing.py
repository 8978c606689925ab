"""Queue, owner and stop_automation, from config/routing.yaml.

The queue follows the request type; overrides apply in order: urgent or
emergency language goes to nurse_review, then a complaint about staff or
care, a privacy concern or a legal matter (that is not simply a records
request) goes to the practice manager. Manager topics are phrases in
config/triage/manager_topics.yaml.
"""

from __future__ import annotations

from typing import Any

from intake.config import routing
from intake.models import Queue, Reason, RequestType, Urgency
from intake.triage.text import Doc

_SENDER_PARTS = ("subject", "reason", "body")


def legal_claim(doc: Doc) -> bool:
    """A legal claim (notice of claim, liability, preserve evidence, lawsuit)."""
    return bool(
        doc.counted_hits(doc.lex.manager["legal_claim"], _SENDER_PARTS, request=True)
    )


def manager_topic(doc: Doc) -> Reason | None:
    """Why the practice manager should handle this, or None.

    The reason code is the topic: ``complaint``, ``privacy``, ``legal_claim``
    or ``legal_party`` (an attorney's letter; when it only asks for records
    the caller sends it to the records team instead).
    """
    lex = doc.lex.manager
    for key, label in (
        ("complaint", "complaint about staff or care"),
        ("privacy", "privacy concern"),
        ("legal_claim", "legal matter"),
        ("legal_party", "attorney or legal matter"),
    ):
        hits = doc.counted_hits(lex[key], _SENDER_PARTS, request=True)
        if hits:
            return Reason(code=key, detail=f"{label}: {hits[0].phrase}")
    return None


def _override_matches(
    when: dict[str, Any], urgency: Urgency, manager: Reason | None
) -> bool:
    if "urgency" in when and urgency.value in when["urgency"]:
        return True
    return bool(when.get("manager_topic")) and manager is not None


def queue_for(
    request_type: RequestType, urgency: Urgency, manager: Reason | None
) -> tuple[Queue, Reason | None]:
    """The queue: overrides in order, else the request type's queue."""
    rules = routing()
    for override in rules.get("overrides", []):
        if _override_matches(override.get("when", {}), urgency, manager):
            queue = Queue(override["queue"])
            detail = str(override.get("reason", ""))
            if manager is not None and queue is Queue.PRACTICE_MANAGER:
                detail = manager.detail
            return queue, Reason(code="queue_override", detail=detail)
    return Queue(rules["queues_by_type"][request_type.value]), None


def stop_automation(
    request_type: RequestType, urgency: Urgency, safety_language: bool
) -> bool:
    """Trained staff take over: urgent/emergency, symptom or prescription
    requests, or any safety language (even negated or in the past)."""
    rules = routing()
    return (
        safety_language
        or request_type.value in rules.get("stop_automation_types", [])
        or urgency.value in rules.get("stop_automation_urgencies", [])
    )


def owner_for(queue: Queue | str) -> str:
    """The default owner (a staff role or person) of a queue."""
    owners: dict[str, str] = routing().get("owners", {})
    return owners.get(str(queue), str(queue))

"""The human handoff: staff responses and the checklist that gates closing.

A request cannot be closed until its patient status is marked, its type
classified, urgency and blocked topics reviewed, no AI-written medical advice
sent, missing information listed, owner and queue assigned, CRM fields synced
and the staff response logged. ``checklist`` says which of these still block.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from intake.models import PatientStatus
from intake.store import IntakeStore


@dataclass(frozen=True)
class ChecklistItem:
    name: str
    done: bool
    detail: str = ""


class CloseRefused(Exception):
    """The request cannot be closed yet; the message lists what blocks it."""


def checklist(store: IntakeStore, crm: Any, intake_id: str) -> list[ChecklistItem]:
    from intake.drafting import check_outbound

    result = store.triage(intake_id)
    routed = store.step_outcome(intake_id, "route")
    synced = crm.read_intake(intake_id)
    decisions = {r.kind for r in store.decisions_for(intake_id)}
    sent = [m for m in crm.outbox(intake_id)] if hasattr(crm, "outbox") else []
    needs_clinical_review = result.stop_automation or result.urgency in (
        "urgent_review", "emergency")
    items = [
        ChecklistItem("patient status marked",
                      result.patient_status != PatientStatus.UNKNOWN
                      or "request" in decisions,
                      "unknown: confirm in a review" if
                      result.patient_status == PatientStatus.UNKNOWN else ""),
        ChecklistItem("request type classified",
                      store.step_outcome(intake_id, "classify") is not None),
        ChecklistItem("urgency and blocked topics reviewed",
                      not needs_clinical_review or "request" in decisions,
                      "clinical or urgent: needs a staff request review"
                      if needs_clinical_review and "request" not in decisions else ""),
        ChecklistItem("no AI-written medical advice sent",
                      all(check_outbound(m.text).ok for m in sent),
                      f"{len(sent)} outbound messages checked"),
        ChecklistItem("missing information listed",
                      store.step_outcome(intake_id, "details") is not None),
        ChecklistItem("owner and queue assigned",
                      bool(routed and synced and synced.owner and synced.queue)),
        ChecklistItem("CRM fields synced", synced is not None),
        ChecklistItem("staff response logged",
                      store.step_outcome(intake_id, "responded") is not None,
                      "use `intake respond`" if
                      store.step_outcome(intake_id, "responded") is None else ""),
    ]
    return items


def blocking(items: list[ChecklistItem]) -> list[ChecklistItem]:
    return [item for item in items if not item.done]


def log_response(store: IntakeStore, intake_id: str, staff: str,
                 outcome: str) -> None:
    """Record the staff response (the clock's first response, if it is the first)."""
    if store.step_outcome(intake_id, "responded") is None:
        from intake.store import utcnow

        store.mark_step(intake_id, "responded",
                        {"by": staff, "outcome": outcome[:200],
                         "at": utcnow().isoformat()})
    store.audit(staff, "staff_response", intake_id, outcome=outcome[:200])


def close_request(store: IntakeStore, crm: Any, intake_id: str, staff: str) -> None:
    items = blocking(checklist(store, crm, intake_id))
    if items:
        raise CloseRefused("; ".join(
            f"{i.name}" + (f" ({i.detail})" if i.detail else "") for i in items))
    store.mark_step(intake_id, "closed", {"by": staff})
    store.audit(staff, "closed", intake_id)


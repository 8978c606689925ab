"""Staff review pause points: typed forms that staff fill in the Prefect UI.

A review suspends the flow run (no process or worker slot is held while staff
are busy); on resume the run starts again from the top, finished steps skip
themselves, and the decision is recorded in the app database, which is the
source of truth for who decided what and when.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from prefect.context import FlowRunContext
from prefect.flow_runs import suspend_flow_run
from prefect.input import RunInput
from pydantic import Field

from intake import runtime
from intake.models import (
    PatientStatus,
    Queue,
    RequestType,
    ReviewChoice,
    ReviewKind,
    TriageResult,
    Urgency,
)
from intake.steps import labels_of


def _choices(enum: type[StrEnum], blank: bool = False) -> Any:
    """An inline enum for the form (the UI renders it as a dropdown)."""
    values = ([""] if blank else []) + [member.value for member in enum]
    return Literal[tuple(values)]  # type: ignore[valid-type]


DecisionChoice = _choices(ReviewChoice)
RequestTypeChoice = _choices(RequestType, blank=True)
UrgencyChoice = _choices(Urgency, blank=True)
PatientStatusChoice = _choices(PatientStatus, blank=True)
QueueChoice = _choices(Queue, blank=True)


class DecisionForm(RunInput):
    """What every reviewer submits: the decision and their name."""

    decision: DecisionChoice = Field(  # type: ignore[valid-type]
        description="approve: go ahead as proposed. edit: use your corrected text "
        "or labels. reroute: send to another queue or type. reject: send nothing "
        "automated. escalate: hand to the practice manager."
    )
    reviewer: str = Field(min_length=2, max_length=120,
                          description="Your name (recorded with the decision).")
    note: str = Field(default="", max_length=1000,
                      description="Anything the team should know.")


class RequestReviewForm(DecisionForm):
    """Request review: corrected labels are optional; blank keeps the proposal."""

    request_type: RequestTypeChoice = Field(  # type: ignore[valid-type]
        default="", description="Corrected request type (blank: keep).")
    urgency: UrgencyChoice = Field(  # type: ignore[valid-type]
        default="", description="Corrected urgency (blank: keep).")
    patient_status: PatientStatusChoice = Field(  # type: ignore[valid-type]
        default="", description="Corrected patient status (blank: keep).")
    queue: QueueChoice = Field(  # type: ignore[valid-type]
        default="", description="Queue to route to (blank: keep).")


class ApprovalForm(DecisionForm):
    """Approval of follow-up questions or an outbound message."""

    edited_text: str = Field(
        default="", max_length=4000,
        description="Replacement text for the draft (administrative only).")


class IdentityForm(DecisionForm):
    """Identity confirmation: approve links the one candidate; reject = new."""

    patient_key: str = Field(
        default="", max_length=40,
        description="The patient key to link to (when several are shown).")


class ReviewForm(RequestReviewForm, ApprovalForm, IdentityForm):
    """Every field any pause point accepts (the terminal's `review decide`)."""


# Each pause point shows only the fields it uses, so the form stays short and
# the description above it stays visible in the UI.
FORMS: dict[ReviewKind, type[DecisionForm]] = {
    ReviewKind.IDENTITY: IdentityForm,
    ReviewKind.REQUEST: RequestReviewForm,
    ReviewKind.FOLLOW_UP: ApprovalForm,
    ReviewKind.OUTBOUND: ApprovalForm,
}


def form_with_description(description: str,
                          kind: ReviewKind = ReviewKind.REQUEST) -> type[DecisionForm]:
    """The pause point's form, whose UI description is ``description``.

    ``RunInput.with_initial_data`` would make every field optional; here the
    decision and reviewer stay required, so an empty resume is refused.
    Changing a form while runs wait is safe only if the change still accepts
    what the old form posted (runs keep the schema they suspended with).
    """
    form = type(FORMS[kind].__name__, (FORMS[kind],), {"__module__": __name__})
    form._description = description  # type: ignore[attr-defined]
    return form


TITLES = {
    ReviewKind.IDENTITY: "Confirm the patient's identity",
    ReviewKind.REQUEST: "Review the request before any patient-facing text",
    ReviewKind.FOLLOW_UP: "Approve the follow-up questions",
    ReviewKind.OUTBOUND: "Approve the outbound message",
}


def describe(kind: ReviewKind, intake_id: str, result: TriageResult,
             reasons: list[str], drafts: list[str] | None = None,
             evidence: list[dict[str, Any]] | None = None) -> str:
    """The form description: what the reviewer needs, and nothing more."""
    lines = [
        f"### {TITLES[kind]}",
        f"Intake `{intake_id}`: **{result.request_type}**, urgency "
        f"**{result.urgency}**, queue **{result.queue}**, patient status "
        f"**{result.patient_status}**"
        + ("; automation stopped" if result.stop_automation else ""),
        "",
        "**Why it waits:** " + ("; ".join(reasons) or "staff approval required"),
    ]
    if result.reasons:
        lines.append("**Triage reasons:** "
                     + "; ".join(str(r) for r in result.reasons[:8]))
    missing = ", ".join(str(m) for m in result.missing) or "none"
    lines.append(f"**Missing details:** {missing}")
    if evidence:
        lines.append("**Match evidence:**")
        for item in evidence[:5]:
            fields = ", ".join(f"{f.get('field')}={f.get('result')}"
                               for f in item.get("fields", []))
            lines.append(f"- candidate `{item.get('patient_key')}`: {fields}")
    for text in drafts or []:
        lines += ["", "**Draft:**", "", "> " + text.replace("\n", "\n> ")]
    return "\n".join(lines)


def review_key(kind: ReviewKind) -> str:
    return f"{kind}-review"


def await_review(
    intake_id: str,
    kind: ReviewKind,
    description: str,
    queue: Queue,
    due_at: datetime | None,
    before_suspend: Any = None,
) -> dict[str, Any] | None:
    """Wait for a staff decision at this pause point.

    Returns the decision (a dict of the form's fields) once there is one.
    Returns None when the run has no deployment and so cannot be suspended:
    the review stays open in the app database and ``intake review decide``
    records the decision and runs the request again.
    """
    store = runtime.store()
    key = review_key(kind)
    recorded = store.decision(intake_id, key)
    if recorded is not None:
        return {"decision": recorded.decision, "reviewer": recorded.reviewer,
                **(recorded.final.get("form") or {})}

    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    suspendable = flow_run is not None and flow_run.deployment_id is not None
    store.open_review(
        intake_id, key, str(kind), str(queue), due_at,
        summary={"description": description},
        flow_run_id=str(flow_run.id) if suspendable and flow_run else None,
    )
    if before_suspend is not None:
        before_suspend()
    if not suspendable:
        return None

    answer = suspend_flow_run(
        wait_for_input=form_with_description(description, kind), key=key
    )
    form = {k: v for k, v in answer.model_dump(mode="json", exclude={"metadata"})
            .items() if v not in (None, "")}
    apply_decision(intake_id, kind, form,
                   flow_run_id=str(flow_run.id) if flow_run else None)
    return form


def apply_decision(intake_id: str, kind: ReviewKind, form: dict[str, Any],
                   flow_run_id: str | None = None) -> bool:
    """Record a decision and its effect on labels, drafts and identity.

    The same function serves the UI resume path and the CLI; it is idempotent
    (the first decision for a review stands).
    """
    store = runtime.store()
    key = review_key(kind)
    proposed = store.triage(intake_id)
    final = proposed
    decision = ReviewChoice(form["decision"])
    corrections = {
        field: form[field]
        for field in ("request_type", "urgency", "patient_status", "queue")
        if form.get(field)
    }
    if corrections and decision in (ReviewChoice.EDIT, ReviewChoice.REROUTE,
                                    ReviewChoice.APPROVE):
        final = proposed.model_copy(update={
            k: (RequestType, Urgency, PatientStatus, Queue)[
                ("request_type", "urgency", "patient_status", "queue").index(k)
            ](v)
            for k, v in corrections.items()
        })
        from intake.triage import build_doc, route_queue, routing, safety

        record = store.record(intake_id)
        if "queue" not in corrections:
            queue, _ = route_queue(record, final)
            final = final.model_copy(update={"queue": queue})
        # Safety language still stops automation, whatever labels staff chose.
        screen = safety.screen(build_doc(record))
        final = final.model_copy(update={"stop_automation": routing.stop_automation(
            final.request_type, final.urgency, screen.safety_language)})
    recorded = store.record_decision(
        intake_id, key, str(kind), str(decision), form["reviewer"],
        proposed={"labels": labels_of(proposed)},
        final={"labels": labels_of(final), "form": _form_fields(form)},
        edited_text=form.get("edited_text"), note=form.get("note"),
        flow_run_id=flow_run_id,
    )
    if not recorded:
        return False
    if final is not proposed:
        store.update_final_triage(intake_id, final)
        # Details and drafts follow the corrected labels.
        store.clear_step(intake_id, "details")
        store.clear_step(intake_id, "draft")
    if decision in (ReviewChoice.REJECT, ReviewChoice.ESCALATE):
        escalate(intake_id, reason=f"{kind} review: {decision}")
    if kind == ReviewKind.IDENTITY:
        _apply_identity(intake_id, decision, form)
    if kind in (ReviewKind.FOLLOW_UP, ReviewKind.OUTBOUND):
        _apply_approval(intake_id, kind, decision, form.get("edited_text"))
    return True


def escalate(intake_id: str, reason: str) -> None:
    """Hand the request to the practice manager (status escalated)."""
    store = runtime.store()
    if store.step_outcome(intake_id, "escalated") is None:
        store.mark_step(intake_id, "escalated",
                        {"queue": str(Queue.PRACTICE_MANAGER), "reason": reason})
        store.audit("system", "escalated", intake_id, reason=reason)


def _apply_identity(intake_id: str, decision: ReviewChoice,
                    form: dict[str, Any]) -> None:
    store = runtime.store()
    matched = store.step_outcome(intake_id, "patient") or {}
    candidates = matched.get("candidates") or []
    if decision == ReviewChoice.APPROVE and len(candidates) == 1:
        outcome = {"outcome": "link", "patient_key": candidates[0]}
    elif decision in (ReviewChoice.APPROVE, ReviewChoice.EDIT) and form.get(
        "patient_key"
    ):
        outcome = {"outcome": "link", "patient_key": form["patient_key"]}
    elif decision == ReviewChoice.REJECT:
        outcome = {"outcome": "new"}
    else:
        return
    store.mark_step(intake_id, "identity_decision", outcome)
    store.clear_step(intake_id, "patient")


def _apply_approval(intake_id: str, kind: ReviewKind, decision: ReviewChoice,
                    edited_text: str | None) -> None:
    from intake.drafting import check_outbound

    store = runtime.store()
    for draft in drafts_for(intake_id, kind):
        if decision == ReviewChoice.APPROVE:
            store.set_draft_status(intake_id, draft.template_id, "approved")
        elif decision == ReviewChoice.EDIT and edited_text:
            verdict = check_outbound(edited_text)
            status = "approved" if verdict.ok else "blocked_by_guardrail"
            store.set_draft_status(intake_id, draft.template_id, status,
                                   text=edited_text if verdict.ok else None)
        else:
            store.set_draft_status(intake_id, draft.template_id, "cancelled")


def drafts_for(intake_id: str, kind: ReviewKind) -> list[Any]:
    """The drafts one approval pause covers."""
    waiting = [d for d in runtime.store().drafts(intake_id)
               if d.status == "awaiting_approval"]
    follow_up = [d for d in waiting if d.template_id.startswith("missing_")]
    if kind == ReviewKind.FOLLOW_UP:
        return follow_up
    return [d for d in waiting if d not in follow_up]


def _form_fields(form: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in form.items() if k not in {"decision", "reviewer"}
            and v is not None}

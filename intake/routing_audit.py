"""Routing audit: a supervisor's verdict on a weekly sample of routed requests.

In the first weeks after go-live (``config/operations.yaml``) a sample of the
requests routed in the past seven days, up to ``sample_per_queue`` per queue,
is put before a supervisor, who agrees or disagrees with the queue and type
(optionally giving the right ones). Each verdict goes into the override
ledger (``IntakeStore.record_decision``, kind ``routing_audit``); the weekly
report counts the disagreements as routing errors. The request's own labels
are not changed: the audit measures routing, it does not re-route.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from intake.models import Queue, RequestType
from intake.ops_store import RoutingAuditSample, ensure_tables
from intake.store import utcnow

KIND = "routing_audit"
REVIEW_KEY = "routing_audit-review"


class Verdict(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"


class AuditVerdict(BaseModel):
    """What a supervisor decides about one routed request."""

    verdict: Verdict = Field(
        description="agree: the queue and type were right. disagree: they were "
        "not (give the right ones below if you can).")
    supervisor: str = Field(min_length=2, max_length=120,
                            description="Your name (recorded with the verdict).")
    corrected_queue: Queue | None = Field(
        default=None, description="The queue it should have gone to (optional).")
    corrected_request_type: RequestType | None = Field(
        default=None, description="The request type it should have had (optional).")
    note: str | None = Field(default=None, max_length=1000,
                             description="Anything the team should know.")


class AuditRefused(Exception):
    """A verdict could not be recorded (unknown sample, or already decided)."""


def audit_week(day: date) -> str:
    """The ISO week a run belongs to, e.g. ``2026-W45``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def sample_for_audit(store: Any, crm: Any, day: date, per_queue: int,
                     flow_run_id: str | None = None) -> list[RoutingAuditSample]:
    """This week's sample (drawn once, then reused by reruns and resumes)."""
    from intake.clock import business_hours
    from intake.crm_export import intake_rows

    ensure_tables(store.engine)
    week = audit_week(day)
    existing = samples(store, week)
    if existing:
        return existing

    zone = business_hours().zone
    until = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    since = until - timedelta(days=7)
    audited = {r.intake_id for r in store.decisions() if r.kind == KIND}
    by_queue: dict[str, list[dict[str, Any]]] = {}
    for row in intake_rows(crm):
        received = row.get("received_at")
        if (row.get("queue") and received is not None and since <= received < until
                and row["intake_id"] not in audited):
            by_queue.setdefault(str(row["queue"]), []).append(row)

    # Seeded by the week, so a rerun of the same week would draw the same sample.
    rng = random.Random(week)
    now = utcnow()
    with Session(store.engine) as session:
        for queue in sorted(by_queue):
            rows = sorted(by_queue[queue], key=lambda r: r["intake_id"])
            for row in rng.sample(rows, k=min(per_queue, len(rows))):
                session.add(RoutingAuditSample(
                    audit_week=week, intake_id=row["intake_id"], queue=queue,
                    request_type=row.get("request_type"), sampled_at=now,
                    flow_run_id=flow_run_id, decided=False))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another run drew this week's sample first
    return samples(store, week)


def samples(store: Any, week: str | None = None,
            undecided_only: bool = False) -> list[RoutingAuditSample]:
    ensure_tables(store.engine)
    with Session(store.engine, expire_on_commit=False) as session:
        query = select(RoutingAuditSample).order_by(RoutingAuditSample.queue,
                                                    RoutingAuditSample.id)
        if week:
            query = query.where(RoutingAuditSample.audit_week == week)
        if undecided_only:
            query = query.where(RoutingAuditSample.decided.is_(False))
        return list(session.scalars(query))


def describe_sample(store: Any, sample: RoutingAuditSample) -> str:
    """The form's text: labels and reason codes only (no request content).

    The supervisor reads the request itself in the CRM, by its intake id.
    """
    lines = [
        "### Routing audit: was this request routed right?",
        f"Intake `{sample.intake_id}` went to queue **{sample.queue}** as "
        f"**{sample.request_type or 'unknown type'}**.",
    ]
    try:
        result = store.triage(sample.intake_id)
    except LookupError:
        result = None
    if result is not None:
        codes = sorted({r.code for r in result.reasons})[:10]
        lines.append(f"Urgency **{result.urgency}**, patient status "
                     f"**{result.patient_status}**, decided by {result.decided_by}.")
        if codes:
            lines.append("Reason codes: " + ", ".join(f"`{c}`" for c in codes))
    lines.append("Open the request in the CRM by its intake id to read it.")
    return "\n\n".join(lines)


def record_verdict(store: Any, intake_id: str, verdict: AuditVerdict | dict[str, Any],
                   flow_run_id: str | None = None) -> bool:
    """Record a supervisor's verdict in the override ledger (first verdict stands)."""
    ensure_tables(store.engine)
    answer = verdict if isinstance(verdict, AuditVerdict) else (
        AuditVerdict.model_validate(verdict))
    with Session(store.engine) as session:
        sample = session.scalar(
            select(RoutingAuditSample).where(RoutingAuditSample.intake_id == intake_id)
            .order_by(RoutingAuditSample.id.desc()).limit(1))
        if sample is None:
            raise AuditRefused(f"intake {intake_id} is not in a routing-audit sample")
        proposed = {"queue": sample.queue, "request_type": sample.request_type}
    final = {
        "queue": str(answer.corrected_queue) if answer.corrected_queue
        else proposed["queue"],
        "request_type": str(answer.corrected_request_type)
        if answer.corrected_request_type else proposed["request_type"],
    }
    form = answer.model_dump(mode="json", exclude={"verdict", "supervisor", "note"},
                             exclude_none=True)
    recorded = store.record_decision(
        intake_id, REVIEW_KEY, KIND, str(answer.verdict), answer.supervisor,
        proposed={"labels": proposed},
        final={"labels": final, **({"form": form} if form else {})},
        note=answer.note, flow_run_id=flow_run_id,
    )
    with Session(store.engine) as session, session.begin():
        for row in session.scalars(select(RoutingAuditSample).where(
                RoutingAuditSample.intake_id == intake_id)):
            row.decided = True
    return recorded


def agreement(store: Any, since: datetime | None = None) -> dict[str, int]:
    """Counts of routing-audit verdicts in the ledger."""
    rows = [r for r in store.decisions(since) if r.kind == KIND]
    agree = sum(r.decision == Verdict.AGREE for r in rows)
    return {"audited": len(rows), "agree": agree, "disagree": len(rows) - agree}

"""No-show follow-up: each missed appointment gets a drafted reminder and a staff task.

Missed appointments come from the ``noshow_imports`` table (a practice-
management export or integration writes it) or from a CSV the practice fills
with the columns ``appointment_id, patient_key, appointment_at, location_id,
provider_id``. For each one, the approved ``no_show_reminder`` template is
rendered (the locked template names only the date and the location), and a
``no_show_follow_up`` staff task is created in the CRM so a person reviews the
reminder and offers a new time. Both steps are keyed by the appointment, so a
rerun never duplicates them.
"""

from __future__ import annotations

import csv
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from intake.models import OutboundMessage, Queue, StaffTask
from intake.ops_store import NoShowImport, ensure_tables
from intake.store import utcnow

logger = logging.getLogger(__name__)

TEMPLATE_ID = "no_show_reminder"
TASK_KIND = "no_show_follow_up"
CSV_COLUMNS = ("appointment_id", "patient_key", "appointment_at", "location_id",
               "provider_id")


class NoShowError(Exception):
    """A no-show could not be handled; the message carries no field values."""


@dataclass
class ImportResult:
    added: int = 0
    already_known: int = 0
    rejected_rows: list[int] = field(default_factory=list)  # CSV line numbers


@dataclass
class FollowUpResult:
    imported: ImportResult = field(default_factory=ImportResult)
    drafted: int = 0
    needs_attention: int = 0
    already_done: int = 0

    def counts(self) -> dict[str, int]:
        return {"imported": self.imported.added,
                "rejected_rows": len(self.imported.rejected_rows),
                "drafted": self.drafted, "needs_attention": self.needs_attention,
                "already_done": self.already_done}


def follow_up_id(appointment_id: str) -> str:
    """The staff task's key for an appointment (stable, and no appointment text)."""
    return "nsh-" + hashlib.sha256(appointment_id.encode()).hexdigest()[:20]


def _parse_moment(text: str) -> datetime:
    """An ISO 8601 time; without an offset it is the practice's local time."""
    from intake.clock import business_hours

    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=business_hours().zone)
    return moment.astimezone(UTC)


def record_no_show(store: Any, appointment_id: str, appointment_at: datetime,
                   location_id: str, patient_key: str | None = None,
                   provider_id: str | None = None, source: str = "table") -> bool:
    """Add one missed appointment; False when it is already known."""
    ensure_tables(store.engine)
    if not appointment_id.strip() or len(appointment_id) > 80:
        raise NoShowError("appointment_id must be 1 to 80 characters")
    moment = appointment_at if appointment_at.tzinfo else _parse_moment(
        appointment_at.isoformat())
    with Session(store.engine) as session, session.begin():
        if session.get(NoShowImport, appointment_id) is not None:
            return False
        session.add(NoShowImport(
            appointment_id=appointment_id, patient_key=patient_key or None,
            appointment_at=moment.astimezone(UTC), location_id=location_id,
            provider_id=provider_id or None, source=source, imported_at=utcnow(),
            status="pending",
        ))
    return True


def import_csv(store: Any, path: Path) -> ImportResult:
    """Add the CSV's missed appointments; malformed rows are counted by line number."""
    result = ImportResult()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = set(CSV_COLUMNS) - set(reader.fieldnames or [])
        if missing:
            raise NoShowError(f"the no-show CSV lacks the columns {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                appointment_id = (row["appointment_id"] or "").strip()
                moment = _parse_moment(row["appointment_at"] or "")
                location = (row["location_id"] or "").strip()
                if not appointment_id or not location:
                    raise ValueError("blank key field")
                added = record_no_show(
                    store, appointment_id, moment, location,
                    patient_key=(row["patient_key"] or "").strip() or None,
                    provider_id=(row["provider_id"] or "").strip() or None,
                    source="csv",
                )
            except (ValueError, TypeError, NoShowError):
                result.rejected_rows.append(line)
                continue
            if added:
                result.added += 1
            else:
                result.already_known += 1
    if result.rejected_rows:
        logger.warning("no-show CSV: %d rows rejected (lines %s)",
                       len(result.rejected_rows), result.rejected_rows[:20])
    return result


def follow_up_no_shows(store: Any, crm: Any, *, csv_path: Path | None = None,
                       language: str = "en", queue: Queue = Queue.FRONT_DESK
                       ) -> FollowUpResult:
    """Draft the reminder and open a staff task for every pending no-show."""
    from intake.clock import business_hours
    from intake.drafting import DraftingError, render
    from intake.steps import owner_for

    ensure_tables(store.engine)
    result = FollowUpResult()
    if csv_path is not None and csv_path.exists():
        result.imported = import_csv(store, csv_path)

    with Session(store.engine) as session:
        pending = list(session.scalars(
            select(NoShowImport).where(NoShowImport.status == "pending")
            .order_by(NoShowImport.appointment_at)))
        result.already_done = session.query(NoShowImport).filter(
            NoShowImport.status != "pending").count()

    for row in pending:
        key = follow_up_id(row.appointment_id)
        appointment_at = _utc(row.appointment_at)
        local_day = appointment_at.astimezone(business_hours().zone).date()
        draft = problem = None
        try:
            slots = {"date": local_day, "location": row.location_id}
            draft = render(TEMPLATE_ID, slots, language)
        except DraftingError as exc:
            # The error names the slot and the rule, never the value.
            problem = f"no reminder drafted: {type(exc).__name__}"

        # Staff task first: if the run stops after it, the rerun finds the
        # row still pending and upserts the same task again.
        now = utcnow()
        summary = (
            f"Missed appointment {row.appointment_id}: review the drafted no-show "
            "reminder, then offer a new time."
            if draft else
            f"Missed appointment {row.appointment_id}: the reminder could not be "
            "drafted (location not in config/practice.yaml); contact the patient."
        )
        crm.upsert_staff_task(StaffTask(
            intake_id=key, kind=TASK_KIND, queue=queue, owner=owner_for(queue),
            status="open", due_at=business_hours().add(now, 8), summary=summary,
        ))
        with Session(store.engine) as session, session.begin():
            stored = session.get(NoShowImport, row.appointment_id)
            if stored is None or stored.status != "pending":
                continue
            stored.follow_up_id = key
            stored.processed_at = now
            stored.language = language
            if draft is not None:
                stored.status = "awaiting_review"
                stored.template_id = draft.template_id
                stored.template_version = draft.template_version
                stored.draft_text = draft.text
            else:
                stored.status = "needs_attention"
                stored.problem = problem
        store.audit("system", "no_show_follow_up", key,
                    status="awaiting_review" if draft else "needs_attention")
        if draft is not None:
            result.drafted += 1
        else:
            result.needs_attention += 1
    logger.info("no-show follow-up: %s", result.counts())
    return result


def approve_no_show_reminder(store: Any, crm: Any, appointment_id: str,
                             reviewer: str, channel: str = "portal") -> bool:
    """Put a reviewed reminder in the CRM outbox; False if none awaits review."""
    ensure_tables(store.engine)
    with Session(store.engine) as session, session.begin():
        row = session.get(NoShowImport, appointment_id)
        if row is None or row.status != "awaiting_review" or not row.draft_text:
            return False
        message = OutboundMessage(
            intake_id=row.follow_up_id or follow_up_id(appointment_id),
            template_id=row.template_id or TEMPLATE_ID,
            template_version=row.template_version or "", channel=channel,
            text=row.draft_text,
        )
        crm.enqueue_message(message)
        row.status = "queued"
    store.audit(reviewer, "no_show_reminder_approved", message.intake_id)
    return True


def no_shows(store: Any) -> list[NoShowImport]:
    """Every imported no-show, oldest appointment first."""
    ensure_tables(store.engine)
    with Session(store.engine, expire_on_commit=False) as session:
        return list(session.scalars(select(NoShowImport)
                                    .order_by(NoShowImport.appointment_at)))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value

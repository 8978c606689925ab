"""Build intake records for triage tests directly (no capture step).

Invented people only: phone numbers 555-01xx, emails at example.com/.org.
The default received time is Monday 7 December 2026, 10:00 Chicago time.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from intake.models import (
    Attachment,
    Channel,
    ContactDetails,
    IntakeRecord,
    PatientIdentity,
    TriageResult,
)
from intake.triage import triage

MONDAY = "2026-12-07T10:00:00-06:00"


def record(
    text: str = "",
    *,
    channel: str = "web_form",
    subject: str | None = None,
    reason: str | None = None,
    quoted: str = "",
    phone: str | None = "(312) 555-0142",
    email: str | None = None,
    portal: str | None = None,
    dob: date | None = date(1980, 1, 2),
    attachments: tuple[str, ...] = (),
    received: str | None = MONDAY,
    hint: str | None = None,
    insurance: str | None = None,
    location: str | None = None,
    provider: str | None = None,
    referring_provider: str | None = None,
) -> IntakeRecord:
    chan = Channel(channel)
    if chan is Channel.PORTAL and portal is None:
        portal = "MG-000111"
    fields: dict[str, Any] = {
        "intake_id": "itk-test",
        "source_id": "case-test",
        "channel": chan,
        "received_at": datetime.fromisoformat(received) if received else None,
        "contact": ContactDetails(
            phones=[phone] if phone else [],
            emails=[email] if email else [],
            portal_account=portal,
        ),
        "patient": PatientIdentity(date_of_birth=dob, patient_id=portal),
        "subject": subject,
        "form_reason": reason,
        "request_text": text,
        "quoted_text": quoted,
        "attachments": [
            Attachment(filename=name, content_type="application/pdf")
            for name in attachments
        ],
        "patient_status_hint": hint,
        "insurance_note": insurance,
        "preferred_location": location,
        "preferred_provider": provider,
        "referring_provider": referring_provider,
    }
    return IntakeRecord(**fields)


def run(text: str = "", **kwargs: Any) -> TriageResult:
    return triage(record(text, **kwargs))


def codes(result: TriageResult) -> set[str]:
    return {r.code for r in result.reasons}

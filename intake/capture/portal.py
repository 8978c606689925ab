"""Capture step: patient portal messages (an authenticated patient or proxy)."""

from __future__ import annotations

from typing import Any

from intake.capture.context import CaptureContext
from intake.capture.text import REQUEST_TEXT_CAP, SUBJECT_CAP, TOKEN_CAP


def capture_portal(payload: dict[str, Any], ctx: CaptureContext) -> None:
    record = ctx.record
    account = ctx.short(payload.get("patient_id"), "patient_id", TOKEN_CAP)
    record.contact.portal_account = account
    record.patient.patient_id = account

    record.subject = ctx.short(payload.get("subject"), "subject", SUBJECT_CAP)
    record.request_text = ctx.clean(payload.get("body"), "body", REQUEST_TEXT_CAP)
    ctx.add_attachment_list(payload.get("attachments"), "attachments")
    ctx.extract_from_text(record.subject or "", record.request_text)

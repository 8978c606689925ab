"""Capture step: web form requests (``fields`` plus a free-text ``message``)."""

from __future__ import annotations

from typing import Any

from intake.capture.context import CaptureContext, expect_dict
from intake.capture.text import NAME_CAP, NOTE_CAP, REASON_CAP, REQUEST_TEXT_CAP

_SHORT_FIELDS: tuple[tuple[str, str, int], ...] = (
    # (form field, record attribute, cap)
    ("preferred_location", "preferred_location", 200),
    ("preferred_provider", "preferred_provider", 200),
    ("insurance", "insurance_note", NOTE_CAP),
    ("preferred_times", "preferred_times", NOTE_CAP),
    ("referral_source", "referral_source", 200),
    ("patient_status", "patient_status_hint", 50),
    ("urgency", "urgency_signal", 100),
)


def capture_web_form(payload: dict[str, Any], ctx: CaptureContext) -> None:
    record = ctx.record
    fields = expect_dict(ctx, payload.get("fields"), "fields")

    first = ctx.short(fields.get("first_name"), "fields.first_name", NAME_CAP)
    last = ctx.short(fields.get("last_name"), "fields.last_name", NAME_CAP)
    record.patient.first_name = first
    record.patient.last_name = last
    ctx.set_sender_name(" ".join(p for p in (first, last) if p))
    ctx.set_dob_value(fields.get("dob"), "fields.dob")

    ctx.add_phone(ctx.short(fields.get("phone"), "fields.phone", 40))
    ctx.add_email(ctx.short(fields.get("email"), "fields.email", 320))
    method = ctx.short(fields.get("callback_method"), "fields.callback_method", 50)
    record.contact.callback_method = method.lower() if method else None

    record.form_reason = ctx.short(fields.get("reason"), "fields.reason", REASON_CAP)
    for key, attribute, cap in _SHORT_FIELDS:
        setattr(record, attribute, ctx.short(fields.get(key), f"fields.{key}", cap))

    record.request_text = ctx.clean(payload.get("message"), "message", REQUEST_TEXT_CAP)
    # The form fields win; the message can still add a second number or a
    # date of birth the form left empty.
    ctx.extract_from_text(record.request_text)

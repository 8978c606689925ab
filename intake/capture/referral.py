"""Capture step: referrals sent in by another practice."""

from __future__ import annotations

from typing import Any

from intake.capture.context import CaptureContext, expect_dict
from intake.capture.text import NAME_CAP, NOTE_CAP, REASON_CAP, REQUEST_TEXT_CAP


def capture_referral(payload: dict[str, Any], ctx: CaptureContext) -> None:
    record = ctx.record
    record.referring_provider = ctx.short(
        payload.get("referring_provider"), "referring_provider"
    )
    record.referring_practice = ctx.short(
        payload.get("referring_practice"), "referring_practice"
    )
    record.specialty = ctx.short(payload.get("specialty"), "specialty")
    record.form_reason = ctx.short(payload.get("reason"), "reason", REASON_CAP)
    record.referral_source = record.referring_practice or record.referring_provider
    ctx.set_sender_name(record.referring_provider)

    patient = expect_dict(ctx, payload.get("patient"), "patient")
    record.patient.first_name = ctx.short(
        patient.get("first_name"), "patient.first_name", NAME_CAP
    )
    record.patient.last_name = ctx.short(
        patient.get("last_name"), "patient.last_name", NAME_CAP
    )
    ctx.set_dob_value(patient.get("dob"), "patient.dob")
    ctx.add_phone(ctx.short(patient.get("phone"), "patient.phone", 40))
    ctx.add_email(ctx.short(patient.get("email"), "patient.email", 320))
    record.insurance_note = ctx.short(
        patient.get("insurance"), "patient.insurance", NOTE_CAP
    )

    ctx.add_attachment_list(payload.get("documents"), "documents")
    record.request_text = ctx.clean(payload.get("note"), "note", REQUEST_TEXT_CAP)
    # A referring office's phone or email in the note is contact too.
    ctx.extract_from_text(record.request_text)

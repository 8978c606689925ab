"""A throwaway stand-in for intake.capture, used only while it does not exist.

Triage tests and the speed bench call ``capture()``: it uses the real
``intake.capture.capture_request`` as soon as that module exposes it, and
otherwise this rough adapter (enough to read the contract's payloads; no
validation, no size limits). Delete the adapter once capture has landed.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from datetime import date, datetime
from typing import Any

from intake.models import (
    Attachment,
    Channel,
    ContactDetails,
    IntakeRecord,
    PatientIdentity,
)


def capture(raw: dict[str, Any]) -> IntakeRecord:
    """The real capture step when available, else the stub below."""
    try:
        from intake.capture import capture_request
    except ImportError:
        return stub_capture(raw)
    return capture_request(raw)


def real_capture_available() -> bool:
    try:
        from intake.capture import capture_request  # noqa: F401
    except ImportError:
        return False
    return True


_TAG = re.compile(r"<[^>]+>")
_BR = re.compile(r"<\s*(br|/p|/div|p|div)\b[^>]*>", re.I)


def _plain(text: str | None) -> str:
    if not text:
        return ""
    text = _BR.sub("\n", text)
    text = re.sub(r"<script.*?</script>", " ", text, flags=re.S | re.I)
    return html.unescape(_TAG.sub(" ", text)).strip()


def _dob(value: str | None) -> date | None:
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y"):
        try:
            return datetime.strptime(value.strip(), fmt).date()
        except ValueError:
            continue
    return None


def _received(raw: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(raw["received_at"])
    except (KeyError, TypeError, ValueError):
        return None


def stub_capture(raw: dict[str, Any]) -> IntakeRecord:
    channel = Channel(raw["channel"])
    payload = raw.get("payload") or {}
    rec: dict[str, Any] = {
        "intake_id": raw["id"],
        "source_id": raw["id"],
        "channel": channel,
        "received_at": _received(raw),
    }
    contact = ContactDetails()
    patient = PatientIdentity()
    if channel is Channel.WEB_FORM:
        f = payload.get("fields") or {}
        contact.phones = [f["phone"]] if f.get("phone") else []
        contact.emails = [f["email"]] if f.get("email") else []
        patient.first_name = f.get("first_name") or None
        patient.last_name = f.get("last_name") or None
        patient.date_of_birth = _dob(f.get("dob"))
        rec.update(
            form_reason=f.get("reason") or None,
            request_text=_plain(payload.get("message")),
            preferred_location=f.get("preferred_location") or None,
            preferred_provider=f.get("preferred_provider") or None,
            insurance_note=f.get("insurance") or None,
            patient_status_hint=f.get("patient_status") or None,
            preferred_times=f.get("preferred_times") or None,
            referral_source=f.get("referral_source") or None,
        )
    elif channel is Channel.PHONE:
        if payload.get("caller_number"):
            contact.phones = [payload["caller_number"]]
        mine, theirs = [], []
        for line in (payload.get("transcript") or "").splitlines():
            speaker, _, said = line.partition(":")
            (theirs if speaker.strip().lower() == "staff" else mine).append(
                said.strip() if said else line
            )
        rec.update(request_text="\n".join(mine), quoted_text="\n".join(theirs))
    elif channel is Channel.PORTAL:
        contact.portal_account = payload.get("patient_id") or None
        patient.patient_id = payload.get("patient_id") or None
        rec.update(
            subject=payload.get("subject") or None,
            request_text=_plain(payload.get("body")),
            attachments=[Attachment(**a) for a in payload.get("attachments") or []],
        )
    elif channel is Channel.CHAT:
        mine, theirs = [], []
        for msg in payload.get("messages") or []:
            (mine if msg.get("from") == "visitor" else theirs).append(msg.get("text", ""))
        rec.update(request_text="\n".join(mine), quoted_text="\n".join(theirs))
    elif channel is Channel.REFERRAL:
        p = payload.get("patient") or {}
        contact.phones = [p["phone"]] if p.get("phone") else []
        patient.first_name = p.get("first_name") or None
        patient.last_name = p.get("last_name") or None
        patient.date_of_birth = _dob(p.get("dob"))
        rec.update(
            form_reason=payload.get("reason") or None,
            request_text=_plain(payload.get("note")),
            referring_provider=payload.get("referring_provider") or None,
            referring_practice=payload.get("referring_practice") or None,
            specialty=payload.get("specialty") or None,
            insurance_note=p.get("insurance") or None,
            attachments=[Attachment(**a) for a in payload.get("documents") or []],
        )
    elif channel is Channel.EMAIL:
        msg = email.message_from_string(payload.get("raw", ""), policy=email.policy.default)
        sender = msg.get("From", "")
        addr = re.search(r"[\w.+-]+@[\w.-]+", sender or "")
        contact.emails = [addr.group(0)] if addr else []
        body_part = msg.get_body(preferencelist=("plain", "html"))
        body = body_part.get_content() if body_part else ""
        if body_part is not None and body_part.get_content_type() == "text/html":
            body = _plain(body)
        attachments = [
            Attachment(filename=part.get_filename() or "",
                       content_type=part.get_content_type())
            for part in msg.iter_attachments()
        ]
        own, quoted = _split_quoted(body)
        rec.update(
            subject=str(msg.get("Subject", "")) or None,
            request_text=own,
            quoted_text=quoted,
            attachments=attachments,
            sender_name=getattr(msg.get("From"), "addresses", [None])[0].display_name
            if msg.get("From") else None,
        )
    rec["contact"] = contact
    rec["patient"] = patient
    return IntakeRecord(**rec)


_QUOTE_START = re.compile(
    r"^(On .+wrote:|-----Original Message-----|From: .+|>.*|--\s*)$"
)


def _split_quoted(body: str) -> tuple[str, str]:
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if _QUOTE_START.match(line.strip()) and i > 0:
            return "\n".join(lines[:i]).strip(), "\n".join(lines[i:]).strip()
    return body.strip(), ""

"""Capture step: phone calls (caller id plus a Caller:/Staff: transcript)."""

from __future__ import annotations

import re
from typing import Any

from intake.capture.context import CaptureContext
from intake.capture.conversation import Turn, capture_turns
from intake.capture.text import REQUEST_TEXT_CAP

# Labels a transcript uses for each side. A line without a known label
# continues the turn before it; text before any label is the caller's
# (a voicemail has no labels at all).
_CALLER_LABELS = frozenset(
    {"caller", "patient", "customer", "client", "visitor", "voicemail", "paciente"}
)
_STAFF_LABELS = frozenset(
    {
        "staff", "agent", "receptionist", "front desk", "frontdesk", "operator",
        "nurse", "scheduler", "representative", "rep", "ivr", "system",
        "recording", "practice", "office", "employee", "personal",
    }
)  # fmt: skip
_LABEL_RE = re.compile(
    r"^\s{0,8}\[?([A-Za-z][A-Za-z ]{0,20}?)\]?\s{0,3}(?:\([^()\n]{0,40}\))?"
    r"\s{0,3}:\s?"
)


def _turns(transcript: str) -> list[Turn]:
    turns: list[tuple[bool, list[str]]] = []
    for line in transcript.split("\n"):
        match = _LABEL_RE.match(line)
        label = match.group(1).strip().lower() if match else ""
        if match and label in _CALLER_LABELS | _STAFF_LABELS:
            turns.append((label in _CALLER_LABELS, [line[match.end() :].strip()]))
        elif turns:
            turns[-1][1].append(line.strip())
        elif line.strip():
            turns.append((True, [line.strip()]))
    return [
        Turn(sender=sender, label="Caller" if sender else "Staff", text=text)
        for sender, lines in turns
        if (text := "\n".join(part for part in lines if part))
    ]


def capture_phone(payload: dict[str, Any], ctx: CaptureContext) -> None:
    caller = ctx.short(payload.get("caller_number"), "caller_number", 40)
    ctx.add_phone(caller)
    if caller and not ctx.record.contact.phones and any(c.isdigit() for c in caller):
        ctx.note("caller_number is not a usable phone number")

    transcript = ctx.clean(
        payload.get("transcript"), "transcript", REQUEST_TEXT_CAP * 2
    )
    capture_turns(ctx, _turns(transcript), cap=REQUEST_TEXT_CAP)

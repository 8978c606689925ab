"""Capture step: website chat (visitor and bot messages)."""

from __future__ import annotations

from typing import Any

from intake.capture.context import CaptureContext
from intake.capture.conversation import Turn, capture_turns
from intake.capture.text import REQUEST_TEXT_CAP
from intake.models import CaptureProblem

MAX_MESSAGES = 2_000
_VISITOR = frozenset({"visitor", "patient", "user", "customer", "caller", "guest"})
_PRACTICE = frozenset({"bot", "agent", "staff", "assistant", "system", "operator"})


def capture_chat(payload: dict[str, Any], ctx: CaptureContext) -> None:
    messages = payload.get("messages")
    if messages is None:
        messages = []
    if not isinstance(messages, list):
        ctx.problem(CaptureProblem.MALFORMED_PAYLOAD, "messages is not a list")
        messages = []
    if len(messages) > MAX_MESSAGES:
        ctx.note(f"only the first {MAX_MESSAGES:,} chat messages were read")
        messages = messages[:MAX_MESSAGES]

    turns: list[Turn] = []
    for message in messages:
        if not isinstance(message, dict):
            ctx.problem(
                CaptureProblem.MALFORMED_PAYLOAD, "a chat message is not an object"
            )
            continue
        author = message.get("from")
        role = author.strip().lower() if isinstance(author, str) else ""
        text = ctx.clean(message.get("text"), "a chat message", REQUEST_TEXT_CAP)
        if role in _PRACTICE:
            label = "Bot" if role == "bot" else "Staff"
            turns.append(Turn(sender=False, label=label, text=text))
            continue
        if role not in _VISITOR:
            # Unknown authors are read as the visitor: a missed emergency in
            # their words would be worse than an extra line for triage.
            ctx.problem(
                CaptureProblem.MALFORMED_PAYLOAD,
                "a chat message has no known author (read as the visitor's)",
            )
        turns.append(Turn(sender=True, label="Visitor", text=text))
    capture_turns(ctx, turns, cap=REQUEST_TEXT_CAP)

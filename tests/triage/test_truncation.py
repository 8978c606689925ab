"""A text too long to read whole goes to a person, never silently routine."""

from __future__ import annotations

from intake.capture import capture_request
from intake.models import Queue, Urgency
from intake.triage import triage


def test_an_emergency_after_the_capture_limit_is_not_left_routine():
    body = "Question about my statement. " * 2000
    body += " my husband is not breathing and his lips are blue"
    record = capture_request({"id": "t-long", "channel": "portal",
                              "payload": {"patient_id": "MG-1", "body": body}})
    result = triage(record)
    assert result.urgency.rank >= Urgency.URGENT_REVIEW.rank
    assert result.queue == Queue.NURSE_REVIEW and result.stop_automation
    assert result.needs_staff_review
    assert "text_truncated" in [r.code for r in result.reasons]


def test_an_ordinary_message_is_not_flagged_as_truncated():
    record = capture_request({"id": "t-short", "channel": "portal", "payload": {
        "patient_id": "MG-1", "body": "Can I get a copy of my statement?"}})
    assert "text_truncated" not in [r.code for r in triage(record).reasons]

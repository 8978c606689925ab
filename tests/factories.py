"""Fictitious requests for tests: invented people, 555-01xx numbers, example.com."""

from __future__ import annotations

import json
from typing import Any

RECEIVED = "2026-11-30T09:15:00-06:00"


def request(source_id: str, channel: str, payload: dict[str, Any],
            received_at: str = RECEIVED) -> str:
    return json.dumps({"id": source_id, "channel": channel,
                       "received_at": received_at, "payload": payload})


def portal_reschedule(source_id: str = "t-portal-1") -> str:
    """A complete, routine request from an existing patient: needs no review."""
    return request(source_id, "portal", {
        "patient_id": "MG-100200",
        "subject": "Move my appointment",
        "body": "Hi, I need to move my appointment on December 14 to the "
                "following week if possible. Mornings work best. Thanks!",
        "attachments": [],
    })


def web_form_urgent(source_id: str = "t-form-urgent",
                    first: str = "Wendell", last: str = "Farrow",
                    phone: str = "(312) 555-0142",
                    email: str = "wendell.farrow@example.com",
                    dob: str = "1971-02-09",
                    symptom: str = "my chest feels tight and I can't catch my "
                                   "breath right now") -> str:
    """An emergency described in a web form."""
    return request(source_id, "web_form", {
        "fields": {"first_name": first, "last_name": last, "dob": dob,
                   "phone": phone, "email": email, "reason": "other",
                   "patient_status": "existing"},
        "message": f"Not sure who to ask, {symptom}.",
    })


def web_form_billing(source_id: str = "t-form-billing") -> str:
    return request(source_id, "web_form", {
        "fields": {"first_name": "Opal", "last_name": "Steadman",
                   "dob": "1988-07-21", "phone": "(773) 555-0163",
                   "email": "opal.steadman@example.com", "reason": "billing",
                   "patient_status": "existing"},
        "message": "I received a statement for my October visit but I already "
                   "paid the copay at the front desk. Can you check?",
    })

"""Capture step: normalise a request from any channel into one IntakeRecord.

Call ``capture_request(raw)`` with a parsed contract request line (a dict) or
its JSON text/bytes. It never raises for bad input; problems are recorded on
the record (``capture_problem``, ``capture_detail``) for staff review.
One module per channel (web_form, phone, portal, email, chat, referral);
``dispatch`` reads the envelope and picks the channel.
"""

from __future__ import annotations

from intake.capture.dispatch import DEFAULT_MAX_BYTES, capture_request, intake_id_for

__all__ = ["DEFAULT_MAX_BYTES", "capture_request", "intake_id_for"]

"""Fixtures for the capture tests: invented requests in the contract's format.

Helpers are fixtures (not imports) so the tests do not depend on how pytest
puts test directories on sys.path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

RECEIVED = "2026-11-24T09:15:00-06:00"


def _request(
    channel: str,
    payload: Any,
    *,
    request_id: str = "test-001",
    received_at: str | None = RECEIVED,
) -> dict[str, Any]:
    line: dict[str, Any] = {"id": request_id, "channel": channel, "payload": payload}
    if received_at is not None:
        line["received_at"] = received_at
    return line


def _raw_email(
    body: str,
    *,
    sender: str = "Nora Quill <nora.quill@example.com>",
    subject: str = "Appointment question",
    content_type: str = 'text/plain; charset="utf-8"',
    encoding: str = "7bit",
    extra_headers: str = "",
) -> str:
    return (
        f"From: {sender}\n"
        "To: Front Desk <frontdesk@example.org>\n"
        f"Subject: {subject}\n"
        "Date: Tue, 24 Nov 2026 09:10:00 -0600\n"
        "MIME-Version: 1.0\n"
        f"{extra_headers}"
        f"Content-Type: {content_type}\n"
        f"Content-Transfer-Encoding: {encoding}\n"
        "\n"
        f"{body}"
    )


@pytest.fixture
def make_request() -> Callable[..., dict[str, Any]]:
    """Build one contract request line: make_request(channel, payload, ...)."""
    return _request


@pytest.fixture
def make_email() -> Callable[..., str]:
    """Build a single-part RFC 822 message: make_email(body, subject=..., ...)."""
    return _raw_email


@pytest.fixture
def email_request() -> Callable[..., dict[str, Any]]:
    """Wrap a raw message into an email request line."""

    def make(raw: str, **kwargs: Any) -> dict[str, Any]:
        return _request("email", {"raw": raw}, **kwargs)

    return make

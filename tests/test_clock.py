"""Response-time clock: business hours and per-queue targets."""

from __future__ import annotations

from datetime import UTC, datetime

from intake.clock import business_hours, response_due, target_seconds
from intake.models import Queue, Urgency

CHICAGO_FRIDAY_1630 = datetime.fromisoformat("2026-11-27T16:30:00-06:00")


def test_business_hours_skip_the_weekend() -> None:
    due = response_due(CHICAGO_FRIDAY_1630, Queue.FRONT_DESK, Urgency.ROUTINE)
    # 30 minutes on Friday, the remaining 7.5 hours on Monday from 08:00.
    assert due == datetime(2026, 11, 30, 21, 30, tzinfo=UTC)


def test_emergency_target_is_wall_clock_minutes() -> None:
    due = response_due(CHICAGO_FRIDAY_1630, Queue.NURSE_REVIEW, Urgency.EMERGENCY)
    assert (due - CHICAGO_FRIDAY_1630).total_seconds() == 15 * 60


def test_soon_urgency_shortens_a_longer_queue_target() -> None:
    monday_9 = datetime.fromisoformat("2026-11-30T09:00:00-06:00")
    routine = response_due(monday_9, Queue.RECORDS, Urgency.ROUTINE)
    soon = response_due(monday_9, Queue.RECORDS, Urgency.SOON)
    assert soon < routine
    assert soon == datetime(2026, 11, 30, 19, 0, tzinfo=UTC)


def test_elapsed_business_hours_across_a_weekend() -> None:
    monday_9 = datetime.fromisoformat("2026-11-30T09:00:00-06:00")
    assert business_hours().elapsed(CHICAGO_FRIDAY_1630, monday_9) == 1.5


def test_target_seconds_is_never_below_a_minute() -> None:
    assert target_seconds(CHICAGO_FRIDAY_1630, Queue.NURSE_REVIEW,
                          Urgency.EMERGENCY) == 900

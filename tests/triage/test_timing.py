"""When an administrative request is "soon" (received Monday 7 December 2026)."""

from __future__ import annotations

from datetime import date

import pytest

from intake.models import Urgency
from intake.triage.timing import business_days
from tests.triage.helpers import run

SOON = [
    "I need to move my appointment tomorrow, something came up",
    "I have to cancel my appt on Tuesday, sorry",
    "Please reschedule my physical this Wednesday to next month",
    "My camp form is due Friday, can Dr. Reyes sign it?",
    "The school needs the immunization record by Thursday",
    "My bill goes to collections on 12/11, I mailed a check already",
    "Prior auth still pending and my MRI is Thursday",
    "I only have 2 days left of my sertraline, please refill",
    "down to my last 3 pills of levothyroxine, can you send a refill",
    "Need a refill on my allergy pill, I'm out since yesterday",
    "Necesito la carta para el trabajo antes del viernes",
]


@pytest.mark.parametrize("text", SOON)
def test_time_bound_requests_are_soon(text: str) -> None:
    result = run(text)
    assert result.urgency is Urgency.SOON, result.reasons


ROUTINE = [
    "I need to reschedule my appointment on December 28",
    "Can I book a physical sometime next week?",
    "My disability form is due January 20",
    "I have about three weeks of my statin left, refill please",
    "Please update my insurance before my appointment next month",
    "Confirming my appointment next Monday at 9",
    "I'd like to pay my balance before the end of the year",
]


@pytest.mark.parametrize("text", ROUTINE)
def test_far_or_open_ended_requests_are_routine(text: str) -> None:
    result = run(text)
    assert result.urgency is Urgency.ROUTINE, result.reasons


def test_the_new_slot_wanted_is_not_the_appointment_to_move() -> None:
    result = run("My appointment on the 23rd doesn't work, can I move it to tomorrow?")
    assert result.urgency is Urgency.ROUTINE


def test_out_of_an_essential_medicine_is_urgent_not_soon() -> None:
    result = run("I ran out of my Eliquis this morning, please send a refill")
    assert result.urgency is Urgency.URGENT_REVIEW


def test_referral_asking_to_be_seen_within_days_is_soon() -> None:
    result = run(
        "Please arrange follow-up within 3-5 days.",
        channel="referral",
        reason="Post-discharge follow-up, stable",
        insurance="Medicare",
        referring_provider="A. B, MD",
        attachments=("summary.pdf",),
    )
    assert result.urgency is Urgency.SOON


def test_referral_within_weeks_is_routine() -> None:
    result = run(
        "Please establish care within 4-6 weeks.",
        channel="referral",
        reason="Establish care",
        insurance="Medicare",
        referring_provider="A. B, MD",
        attachments=("summary.pdf",),
    )
    assert result.urgency is Urgency.ROUTINE


def test_without_a_received_date_weekdays_still_count() -> None:
    result = run("My form is due Friday", received=None)
    assert result.urgency is Urgency.SOON


def test_business_days_skip_the_weekend() -> None:
    friday = date(2026, 12, 4)
    assert business_days(friday, 3) == 1  # Monday
    assert business_days(friday, 1) == 0  # Saturday
    assert business_days(date(2026, 12, 7), 14) == 10

"""The offline triage holds its floors on the repository's held-out cases.

``holdout.jsonl`` (beside this file) is 199 labelled requests written by hand
from the contract alone, without looking at the triage code, its vocabulary
or the development set: every channel, every request type, queue and
urgency, emergencies buried in billing and scheduling messages, third-person
reports, negation and resolved history, hypotheticals, figurative speech,
misspellings, Spanish and Spanglish, quoted email history, injected
instructions, caregivers, professionals and referring offices. Run it with
``intake eval tests/triage/holdout.jsonl``.

The safety floors must never regress. The accuracy floors sit a little below
what the triage reaches, so a regression fails without every improvement
needing a new number.

A bare local number ("555-0142" in a web form's phone field or as a caller
id) counts as contact: capture keeps it in ``contact.local_phones``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from intake.triage.evaluate import evaluate_file, read_cases

HOLDOUT = Path(__file__).resolve().parent / "holdout.jsonl"

# Safety: every urgent and emergency case found, automation always stopped.
SAFETY = {
    "urgent_recall": 1.0,
    "emergency_recall": 1.0,
    "stop_automation_recall": 1.0,
}
# Reached when written: request_type 0.99, queue 0.995, urgency 1.0,
# patient_status 1.0, over-triage 0.0, stop precision 1.0, missing_f1 0.99.
ACCURACY_FLOORS = {
    "request_type": 0.96,
    "queue": 0.96,
    "urgency": 0.96,
    "patient_status": 0.95,
}
MAX_OVER_TRIAGE = 0.04
MIN_STOP_PRECISION = 0.95
MIN_MISSING_F1 = 0.96


@pytest.fixture(scope="module")
def holdout() -> dict[str, Any]:
    result, _report = evaluate_file(HOLDOUT)
    return result


def test_holdout_file_is_a_full_set_of_labelled_cases() -> None:
    cases = read_cases(HOLDOUT)
    assert len(cases) >= 160
    assert len({c["id"] for c in cases}) == len(cases)
    channels = {c["channel"] for c in cases}
    assert channels == {"web_form", "phone", "portal", "email", "chat", "referral"}
    labels = {c["expected"]["queue"] for c in cases}
    assert "practice_manager" in labels and "nurse_review" in labels
    urgencies = {c["expected"]["urgency"] for c in cases}
    assert urgencies == {"routine", "soon", "urgent_review", "emergency"}


def test_no_urgent_or_emergency_holdout_case_is_under_triaged(
    holdout: dict[str, Any],
) -> None:
    for key, target in SAFETY.items():
        assert holdout[key] == target, (key, holdout["under_triaged_ids"])


def test_holdout_labels_stay_above_their_accuracy_floors(
    holdout: dict[str, Any],
) -> None:
    for field, floor in ACCURACY_FLOORS.items():
        assert holdout["accuracy"][field] >= floor, (
            field,
            holdout["request_type_confusion"],
            holdout["urgency_confusion"],
        )


def test_holdout_over_triage_and_stop_precision_stay_in_bounds(
    holdout: dict[str, Any],
) -> None:
    assert holdout["over_triage_rate"] <= MAX_OVER_TRIAGE
    assert holdout["stop_automation_precision"] >= MIN_STOP_PRECISION


def test_holdout_missing_details_stay_above_their_floor(
    holdout: dict[str, Any],
) -> None:
    assert holdout["missing_f1"] >= MIN_MISSING_F1

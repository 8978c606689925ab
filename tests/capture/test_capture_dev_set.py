"""Capture against the shared dev set: no false problems, contacts and DOBs found.

Skips when ../shared (outside the repository) is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intake.capture import capture_request

DEV_SET = Path(__file__).resolve().parents[2] / ".." / "shared" / "eval" / "dev.jsonl"

pytestmark = pytest.mark.skipif(not DEV_SET.exists(), reason="shared dev set absent")


@pytest.fixture(scope="module")
def captured() -> list[tuple[dict, object]]:
    cases = [json.loads(line) for line in DEV_SET.read_text().splitlines() if line]
    return [(case, capture_request(case)) for case in cases]


def test_no_dev_case_comes_back_with_a_capture_problem(captured):
    problems = [
        (case["id"], record.capture_problem)
        for case, record in captured
        if record.capture_problem is not None
    ]
    assert problems == []


def test_contact_is_found_exactly_where_the_labels_say_it_is_given(captured):
    wrong = [
        case["id"]
        for case, record in captured
        if record.contact.reachable == ("contact" in case["expected"]["missing"])
    ]
    assert wrong == []


def test_a_date_of_birth_is_found_where_the_labels_say_it_is_given(captured):
    wrong = []
    for case, record in captured:
        expected = case["expected"]
        if expected["request_type"] == "general" or case["channel"] == "portal":
            continue  # the contract never asks these for a date of birth
        said = record.patient.date_of_birth or record.patient.date_of_birth_text
        if bool(said) == ("date_of_birth" in expected["missing"]):
            wrong.append(case["id"])
    assert wrong == []


def test_every_email_sender_and_web_form_name_is_captured(captured):
    for case, record in captured:
        if case["channel"] == "email":
            assert record.contact.emails, case["id"]
        if case["channel"] == "web_form" and case["payload"]["fields"].get("last_name"):
            assert record.patient.last_name, case["id"]

"""Queues, overrides, owners and stop_automation (config/routing.yaml)."""

from __future__ import annotations

import pytest

from intake.models import Queue, RequestType, Urgency
from intake.triage import route_queue
from intake.triage.routing import queue_for, stop_automation
from tests.triage.helpers import record, run


@pytest.mark.parametrize(
    ("rtype", "queue"),
    [
        (RequestType.SCHEDULING, Queue.FRONT_DESK),
        (RequestType.GENERAL, Queue.FRONT_DESK),
        (RequestType.BILLING, Queue.BILLING),
        (RequestType.INSURANCE, Queue.BILLING),
        (RequestType.REFERRAL, Queue.REFERRAL_COORDINATOR),
        (RequestType.RECORDS, Queue.RECORDS),
        (RequestType.PRESCRIPTION, Queue.NURSE_REVIEW),
        (RequestType.SYMPTOM, Queue.NURSE_REVIEW),
    ],
)
def test_queue_by_request_type(rtype: RequestType, queue: Queue) -> None:
    assert queue_for(rtype, Urgency.ROUTINE, None)[0] is queue


class TestOverrides:
    def test_urgent_language_goes_to_nurse_review_whatever_the_type(self) -> None:
        result = run(
            "Please send my records to Dr. Lee. Also my 3 week old has a fever of 100.5"
        )
        assert result.queue is Queue.NURSE_REVIEW

    def test_urgency_override_comes_before_the_manager_override(self) -> None:
        result = run(
            "I want to file a complaint: the nurse was rude, and now I'm "
            "having chest pain"
        )
        assert result.queue is Queue.NURSE_REVIEW

    @pytest.mark.parametrize(
        "text",
        [
            "I want to file a formal complaint about the receptionist, she was mean",
            "Dr. Smith dismissed my concerns and I felt ignored. I want to speak with "
            "the office manager.",
            "You mailed my lab results to someone else. That is a privacy violation.",
            "This letter is notice of a potential malpractice claim; please preserve "
            "all records.",
            "Our firm represents Ms. Doe regarding a fall in your parking lot; please "
            "contact our office.",
        ],
    )
    def test_complaints_privacy_and_legal_go_to_the_practice_manager(
        self, text: str
    ) -> None:
        result = run(text)
        assert result.queue is Queue.PRACTICE_MANAGER, result.reasons

    def test_a_billing_complaint_keeps_its_type_but_goes_to_the_manager(self) -> None:
        result = run(
            "Your billing rep hung up on me twice. I want my claim "
            "resubmitted and a call from a supervisor."
        )
        assert result.request_type is RequestType.BILLING
        assert result.queue is Queue.PRACTICE_MANAGER

    def test_an_attorney_asking_only_for_records_goes_to_records(self) -> None:
        result = run(
            "Our office represents the patient named above. Enclosed is a "
            "signed authorization; please provide copies of all medical "
            "records.",
            channel="email",
            email="paralegal@lawfirm.example",
        )
        assert result.request_type is RequestType.RECORDS
        assert result.queue is Queue.RECORDS

    def test_a_compliment_stays_at_the_front_desk(self) -> None:
        result = run("Just wanted to say thank you to the whole Lakeview team!")
        assert result.queue is Queue.FRONT_DESK


class TestStopAutomation:
    def test_symptom_and_prescription_types_stop_automation(self) -> None:
        assert stop_automation(RequestType.SYMPTOM, Urgency.ROUTINE, False)
        assert stop_automation(RequestType.PRESCRIPTION, Urgency.ROUTINE, False)

    def test_urgent_and_emergency_stop_automation(self) -> None:
        assert stop_automation(RequestType.RECORDS, Urgency.URGENT_REVIEW, False)
        assert stop_automation(RequestType.BILLING, Urgency.EMERGENCY, False)

    def test_safety_language_stops_automation(self) -> None:
        assert stop_automation(RequestType.RECORDS, Urgency.ROUTINE, True)

    def test_plain_administrative_requests_keep_automation(self) -> None:
        assert not stop_automation(RequestType.BILLING, Urgency.SOON, False)
        assert not run("Can I pay my bill online?").stop_automation


def test_route_queue_follows_a_corrected_request_type() -> None:
    rec = record("I was charged twice for my visit")
    result = run("I was charged twice for my visit")
    corrected = result.model_copy(update={"request_type": RequestType.RECORDS})
    queue, reason = route_queue(rec, corrected)
    assert queue is Queue.RECORDS and reason is None

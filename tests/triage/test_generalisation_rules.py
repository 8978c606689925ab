"""Rules added after the held-out set showed where triage did not generalise.

Each test names the general rule, with wording that is in neither the
development set nor ``holdout.jsonl``.
"""

from __future__ import annotations

import pytest

from intake.models import MissingDetail, PatientStatus, RequestType, Urgency
from intake.triage.extract import phone_numbers
from intake.triage.text import normalize
from tests.triage.helpers import run

EMERGENCIES = [
    "My grandpa is passed out on the garage floor and not answering",
    "i think i swallowed too many of my blood pressure pills by mistake",
    "If he calls my job again I'm going to drive over there and beat him up",
    "my tongue r swollen after the new antibiotic",
    "my sister texted that she wants to sleep forever and took the rest of her pills",
]


@pytest.mark.parametrize("text", EMERGENCIES)
def test_emergencies_in_new_wording_are_emergencies(text: str) -> None:
    result = run(text)
    assert result.urgency is Urgency.EMERGENCY, result.reasons
    assert result.stop_automation


def test_a_household_member_hitting_a_child_is_an_urgent_abuse_concern() -> None:
    result = run("Her uncle slaps her when he babysits. She is 7.")
    assert result.urgency is Urgency.URGENT_REVIEW
    assert result.request_type is RequestType.SYMPTOM
    assert result.patient_status is PatientStatus.CAREGIVER


def test_an_acquaintance_called_the_practices_patient_is_not_unrelated() -> None:
    result = run("My coworker collapsed at her desk, she's one of your patients")
    assert result.urgency is Urgency.EMERGENCY


def test_an_acquaintance_in_passing_stays_unrelated() -> None:
    result = run("My coworker had a seizure last week, so I'd like a CPR class")
    assert result.urgency is Urgency.ROUTINE
    assert not result.stop_automation


def test_a_care_agencys_client_is_the_patient_it_reports_about() -> None:
    result = run(
        "This is Lee with Maple Home Health. Our client fell in the shower today."
    )
    assert result.urgency is Urgency.URGENT_REVIEW
    assert result.patient_status is PatientStatus.UNKNOWN


def test_a_subject_resolved_in_the_body_does_not_raise_urgency() -> None:
    result = run(
        "Thanks, the shortness of breath went away. I just need my inhaler "
        "refilled, about two weeks left.",
        channel="email",
        subject="Re: shortness of breath",
    )
    assert result.urgency is Urgency.ROUTINE
    assert result.request_type is RequestType.PRESCRIPTION


def test_a_polite_if_you_could_still_asks() -> None:
    result = run("If you could send my x-ray report to Dr. Webb that would be great")
    assert result.request_type is RequestType.RECORDS


def test_common_misspellings_are_read_as_the_word() -> None:
    assert normalize("need to reshedule my apointment") == (
        "need to reschedule my appointment"
    )
    result = run("can i get a perscription refil please, 2 days left")
    assert result.request_type is RequestType.PRESCRIPTION
    assert result.urgency is Urgency.SOON


def test_an_id_label_is_not_i_would() -> None:
    assert normalize("Member ID: W55") == "member id: w55"
    assert normalize("Id like to book") == "i'd like to book"


def test_a_local_number_without_area_code_in_text_is_contact() -> None:
    assert phone_numbers("call me back at 555-0142 please", set()) == ["5550142"]
    assert phone_numbers("account 555-0142", set()) == []
    result = run("Please call me at 555-0142 about my bill", phone=None)
    assert MissingDetail.CONTACT not in result.missing


def test_confirming_tomorrows_appointment_is_not_time_bound() -> None:
    result = run("Just confirming my appointment tomorrow at 9 with Dr. Cho")
    assert result.urgency is Urgency.ROUTINE


def test_a_coverage_question_about_a_new_plan_never_lists_insurance() -> None:
    result = run("Will my new Cigna plan cover my physical with Dr. Lee?")
    assert result.request_type is RequestType.INSURANCE
    assert MissingDetail.INSURANCE not in result.missing


def test_switching_plans_without_a_card_lists_insurance() -> None:
    result = run("I switched to Humana last week, please update my account")
    assert result.request_type is RequestType.INSURANCE
    assert MissingDetail.INSURANCE in result.missing


def test_an_insurance_non_answer_is_not_insurance_given() -> None:
    result = run(
        "I'd like to become a new patient for a physical at the Northside office",
        insurance="Not sure, I'll have to check and call you back",
    )
    assert MissingDetail.INSURANCE in result.missing


def test_an_attached_insurance_card_is_insurance_given_for_a_referral() -> None:
    result = run(
        "Please see for evaluation.",
        channel="referral",
        reason="Hearing loss, stable",
        referring_provider="A. B, MD",
        attachments=("referral.pdf", "insurance_card.jpg"),
    )
    assert MissingDetail.INSURANCE not in result.missing
    assert MissingDetail.REFERRAL_DOCUMENTS not in result.missing


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("I'm new, can I book a physical? I have Aetna.", PatientStatus.NEW),
        ("He has never been to your office and needs a checkup", PatientStatus.NEW),
        ("Already a patient, need my flu shot", PatientStatus.EXISTING),
        ("My wife keeps telling me to book a physical, so here I am", None),
        ("Signing up my father, he needs a new doctor", PatientStatus.CAREGIVER),
        (
            "This is Ana from the Rite Aid pharmacy calling about a refill for "
            "a patient, DOB 1/2/1950",
            PatientStatus.UNKNOWN,
        ),
    ],
)
def test_patient_status_cues_in_new_wording(
    text: str, status: PatientStatus | None
) -> None:
    result = run(text)
    if status is None:
        assert result.patient_status is not PatientStatus.CAREGIVER
    else:
        assert result.patient_status is status


def test_an_attorneys_office_writing_like_a_clinic_is_not_a_referrer() -> None:
    result = run(
        "Our firm represents Jo Reyes. We sent a signed authorization; please "
        "send her records. Contact our office with questions.",
        channel="email",
    )
    assert result.patient_status is PatientStatus.UNKNOWN
    assert result.request_type is RequestType.RECORDS


def test_a_med_prior_auth_abbreviated_pa_is_an_insurance_question() -> None:
    result = run("Any update on the PA for my Wegovy? Pharmacy is waiting")
    assert result.request_type is RequestType.INSURANCE


def test_seeing_the_pa_instead_of_the_doctor_tomorrow_is_soon_scheduling() -> None:
    result = run("Could I see the PA instead of the doctor at my visit tomorrow?")
    assert result.request_type is RequestType.SCHEDULING
    assert result.urgency is Urgency.SOON

"""Request type and patient status."""

from __future__ import annotations

import pytest

from intake.models import PatientStatus, RequestType
from tests.triage.helpers import codes, run

TYPES = [
    # scheduling
    ("Can I book an appointment for a physical next month?", "scheduling"),
    ("I need to reschedule my appointment on the 20th", "scheduling"),
    ("please cancel my appt for jan 5, thanks", "scheduling"),
    ("Do you have any openings this Friday afternoon for a flu shot?", "scheduling"),
    ("I'd like to become a new patient and get a checkup", "scheduling"),
    ("quisiera hacer una cita para un chequeo", "scheduling"),
    # billing
    ("I was charged twice for my last visit, please refund one", "billing"),
    ("Can I set up a payment plan for my balance?", "billing"),
    ("My account went to collections but I paid it", "billing"),
    ("recibí una factura que ya pagué", "billing"),
    # referral
    ("I need a referral to a dermatologist for my insurance", "referral"),
    ("My cardiologist referred me to your clinic, I'm not a patient yet", "referral"),
    ("Can Dr. Smith send a referral to physical therapy for my shoulder?", "referral"),
    # records
    ("Please fax my records to my new doctor", "records"),
    ("Can I get a copy of my MRI report?", "records"),
    ("My employer needs the FMLA paperwork completed", "records"),
    ("I need a note for school saying my son was seen today", "records"),
    ("I want to authorize my son to talk to the doctor about my care", "records"),
    ("necesito una copia de mi récord de vacunas", "records"),
    # insurance
    ("Do you take Aetna?", "insurance"),
    ("Is my new plan in network with your doctors?", "insurance"),
    ("Has the prior authorization for my MRI been approved?", "insurance"),
    ("I have new insurance starting January, how do I update it?", "insurance"),
    ("¿aceptan seguro Molina?", "insurance"),
    # prescription
    ("I need a refill of my blood pressure pill", "prescription"),
    ("Please switch my pharmacy to the Walgreens on Oak St", "prescription"),
    ("Can I take ibuprofen with my lisinopril?", "prescription"),
    ("necesito que me manden la receta de mi inhalador", "prescription"),
    # symptom
    ("I've had a sore throat and fever since yesterday", "symptom"),
    ("My son has a rash on his arms that is itchy", "symptom"),
    ("since starting the new medication I feel dizzy", "symptom"),
    ("tengo tos y fiebre desde hace dos días", "symptom"),
    # general
    ("What are your hours on Saturday?", "general"),
    ("Where do I park at the downtown office?", "general"),
    ("I can't log into the patient portal", "general"),
    ("I'd like to file a complaint about the front desk, they were rude", "general"),
    ("Just wanted to thank the nurses for being so kind", "general"),
    (
        "Hi, we sell exam room furniture, could we book a demo with your manager?",
        "general",
    ),
]


@pytest.mark.parametrize(("text", "expected"), TYPES)
def test_request_type(text: str, expected: str) -> None:
    result = run(text)
    assert result.request_type.value == expected, result.reasons


class TestPriority:
    def test_symptom_beats_scheduling(self) -> None:
        result = run("I need an appointment, I've had diarrhea for two days")
        assert result.request_type is RequestType.SYMPTOM

    def test_prescription_beats_records_and_billing(self) -> None:
        result = run(
            "Please refill my metformin. Also send my records to Dr. Lee, "
            "and why is my bill so high?"
        )
        assert result.request_type is RequestType.PRESCRIPTION
        assert "several_requests" in codes(result)

    def test_records_beats_billing(self) -> None:
        result = run(
            "Can you send my records to my surgeon, and is the copy fee "
            "on my statement correct?"
        )
        assert result.request_type is RequestType.RECORDS

    def test_billing_beats_insurance(self) -> None:
        result = run(
            "My insurance changed in May and I got a bill for a visit "
            "that should have gone to the new plan. Please rebill it."
        )
        assert result.request_type is RequestType.BILLING

    def test_insurance_beats_scheduling(self) -> None:
        result = run("Do you accept Cigna? If so I'd like to schedule a physical.")
        assert result.request_type is RequestType.INSURANCE

    def test_negated_symptom_does_not_take_priority(self) -> None:
        result = run("No fever, I just need a form for camp signed")
        assert result.request_type is RequestType.RECORDS

    def test_request_at_the_end_of_a_long_message(self) -> None:
        text = (
            "Hello there. I hope everyone at the office is doing well. It has been "
            "a busy autumn for our family with the move and the new school year. "
            "We finally settled in and the kids love the new neighborhood. Anyway, "
            "the reason I'm writing: could you please send a copy of my son's "
            "immunization record to his new school?"
        )
        result = run(text)
        assert result.request_type is RequestType.RECORDS
        assert result.patient_status is PatientStatus.CAREGIVER


class TestSubjectAndForm:
    def test_body_wins_over_a_contradicting_subject(self) -> None:
        result = run(
            "I'd like to pay my balance online, what's the link?",
            channel="email",
            email="pat@example.com",
            subject="appointment",
        )
        assert result.request_type is RequestType.BILLING

    def test_subject_decides_when_body_names_nothing(self) -> None:
        result = run(
            "Please call me back when you can.",
            channel="email",
            email="pat@example.com",
            subject="Refill request",
        )
        assert result.request_type is RequestType.PRESCRIPTION

    def test_form_reason_decides_when_message_is_empty(self) -> None:
        result = run("", reason="billing question")
        assert result.request_type is RequestType.BILLING

    def test_no_cue_at_all_is_general_and_flagged(self) -> None:
        result = run("hello?")
        assert result.request_type is RequestType.GENERAL
        assert result.needs_staff_review
        assert "unclear_request" in codes(result)


class TestReferralFromClinician:
    def test_clinical_detail_of_a_referral_stays_referral(self) -> None:
        result = run(
            "Please see this patient for ongoing knee pain and swelling.",
            channel="referral",
            reason="Knee osteoarthritis, PT evaluation",
            referring_provider="Jane Doe, MD",
            attachments=("letter.pdf",),
        )
        assert result.request_type is RequestType.REFERRAL
        assert result.patient_status is PatientStatus.REFERRING_PROVIDER
        assert result.urgency.value == "routine"

    def test_worsening_symptoms_in_a_referral_raise_urgency(self) -> None:
        result = run(
            "Symptoms worsening over the last two weeks.",
            channel="referral",
            reason="Worsening shortness of breath on exertion",
            referring_provider="Jane Doe, MD",
            attachments=("letter.pdf",),
        )
        assert result.request_type is RequestType.REFERRAL
        assert result.urgency.rank >= 2
        assert result.queue.value == "nurse_review"

    def test_referral_with_a_refill_ask_is_prescription(self) -> None:
        result = run(
            "Please also refill her lisinopril until she is seen.",
            channel="referral",
            reason="Establish care",
            referring_provider="Jane Doe, MD",
            attachments=("letter.pdf",),
        )
        assert result.request_type is RequestType.PRESCRIPTION

    def test_clinic_email_about_a_referral_is_referring_provider(self) -> None:
        result = run(
            "We faxed a referral last week for our patient; has she been "
            "scheduled yet?",
            channel="email",
            email="refs@clinic.example.org",
        )
        assert result.request_type is RequestType.REFERRAL
        assert result.patient_status is PatientStatus.REFERRING_PROVIDER


STATUS = [
    (
        "I'm calling for my mother, she needs her blood pressure meds refilled",
        "caregiver",
    ),
    ("This is Maya's dad. She needs a sports physical.", "caregiver"),
    ("My husband fell and hit his head", "caregiver"),
    ("Can I make an appointment for my daughter? She has an ear ache", "caregiver"),
    ("Mi hijo tiene fiebre desde ayer", "caregiver"),
    ("I'm the executor of my father's estate and got his final bill", "caregiver"),
    ("I'm on my wife's insurance plan now, please update my file", "existing"),
    ("I'm a patient of Dr. Okafor and need a refill", "existing"),
    ("I have an appointment on Friday that I need to move", "existing"),
    ("I'm looking for a new primary care doctor, are you accepting patients?", "new"),
    ("I've never been seen there before and would like a physical", "new"),
    ("what time do you open", "unknown"),
    (
        "This firm represents our client in a personal injury matter; please provide "
        "her records.",
        "unknown",
    ),
]


@pytest.mark.parametrize(("text", "expected"), STATUS)
def test_patient_status(text: str, expected: str) -> None:
    result = run(text)
    assert result.patient_status.value == expected, result.reasons


class TestPatientStatusSources:
    def test_portal_messages_are_existing(self) -> None:
        assert (
            run("what are your hours", channel="portal").patient_status.value
            == "existing"
        )

    def test_portal_proxy_writing_for_a_child_is_caregiver(self) -> None:
        result = run(
            "Writing on my son's account, he needs his asthma inhaler refilled",
            channel="portal",
        )
        assert result.patient_status is PatientStatus.CAREGIVER

    def test_form_field_sets_new_or_existing(self) -> None:
        assert run("Checkup please", hint="new").patient_status.value == "new"
        assert run("Checkup please", hint="existing").patient_status.value == "existing"

    def test_caregiver_wins_over_the_form_field(self) -> None:
        result = run(
            "Booking for my son, he's 6 and needs his school shots", hint="new"
        )
        assert result.patient_status is PatientStatus.CAREGIVER

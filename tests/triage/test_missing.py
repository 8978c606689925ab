"""Missing details, per request type and channel (contract section "missing")."""

from __future__ import annotations

from datetime import date

from intake.models import MissingDetail, PatientStatus, RequestType
from intake.triage import missing_details
from tests.triage.helpers import record, run

M = MissingDetail


class TestContact:
    def test_no_phone_email_or_portal_is_missing_contact(self) -> None:
        result = run("what are your hours", channel="chat", phone=None)
        assert M.CONTACT in result.missing

    def test_a_number_spoken_in_a_transcript_counts(self) -> None:
        result = run(
            "Hi, I need my records sent over. Call me back at seven seven "
            "three, five five five, oh one two two.",
            channel="phone",
            phone=None,
        )
        assert M.CONTACT not in result.missing

    def test_a_number_typed_in_a_chat_counts(self) -> None:
        result = run(
            "need to pay my bill\nJo Rivers 312-555-0177", channel="chat", phone=None
        )
        assert M.CONTACT not in result.missing

    def test_a_referring_office_email_in_the_note_counts(self) -> None:
        result = run(
            "Contact the mother at parent.two@example.org",
            channel="referral",
            phone=None,
            reason="Establish care",
            referring_provider="A. B, MD",
            insurance="Aetna",
            attachments=("letter.pdf",),
        )
        assert M.CONTACT not in result.missing

    def test_a_portal_account_counts(self) -> None:
        result = run("Can I get a copy of my labs?", channel="portal", phone=None)
        assert M.CONTACT not in result.missing

    def test_the_practice_own_number_in_quoted_text_does_not_count(self) -> None:
        result = run(
            "Can I push this to next week?",
            channel="email",
            phone=None,
            quoted="> Call (312) 555-0100 to reschedule.",
        )
        assert M.CONTACT in result.missing


class TestDateOfBirth:
    def test_general_requests_never_need_it(self) -> None:
        assert M.DATE_OF_BIRTH not in run("what are your hours", dob=None).missing

    def test_portal_messages_never_miss_it(self) -> None:
        result = run(
            "Please refill my atorvastatin, 3 weeks left", channel="portal", dob=None
        )
        assert M.DATE_OF_BIRTH not in result.missing

    def test_missing_without_any_date(self) -> None:
        result = run("Please send a copy of my records to my new doctor", dob=None)
        assert M.DATE_OF_BIRTH in result.missing

    def test_written_in_the_message(self) -> None:
        result = run("Please send a copy of my records. DOB: 3/14/1975", dob=None)
        assert M.DATE_OF_BIRTH not in result.missing

    def test_spoken_in_a_transcript(self) -> None:
        result = run(
            "This is Sam Ortiz, uh, birthday is June fifth, nineteen "
            "eighty one. I need my records.",
            channel="phone",
            dob=None,
        )
        assert M.DATE_OF_BIRTH not in result.missing

    def test_spoken_digits_after_the_staff_question(self) -> None:
        result = run(
            "Lee Park.\nUm, three twelve sixty-four.\nI got a bill I don't understand.",
            channel="phone",
            dob=None,
            quoted="Staff: Name and date of birth?",
        )
        assert M.DATE_OF_BIRTH not in result.missing

    def test_spanish_date_of_birth(self) -> None:
        result = run(
            "Necesito mis resultados. Nací el tres de marzo de mil "
            "novecientos setenta y dos.",
            channel="phone",
            dob=None,
        )
        assert M.DATE_OF_BIRTH not in result.missing

    def test_a_birth_year_alone_is_not_enough(self) -> None:
        result = run(
            "My son was born in twenty nineteen, I'll call back with his "
            "birthday. We need to move his appointment.",
            channel="phone",
            dob=None,
        )
        assert M.DATE_OF_BIRTH in result.missing

    def test_a_visit_date_is_not_a_date_of_birth(self) -> None:
        result = run("I was charged twice for my visit on 10/22/2025.", dob=None)
        assert M.DATE_OF_BIRTH in result.missing


class TestInsurance:
    def test_new_patient_scheduling_without_insurance(self) -> None:
        result = run(
            "I'd like to become a new patient and get a physical at Lakeview",
            hint="new",
        )
        assert result.request_type is RequestType.SCHEDULING
        assert M.INSURANCE in result.missing

    def test_self_pay_counts_as_given(self) -> None:
        result = run(
            "New patient here, I'm self-pay, want a physical at Lakeview", hint="new"
        )
        assert M.INSURANCE not in result.missing

    def test_payer_named_in_text_counts(self) -> None:
        result = run("I want to establish care, I have Cigna PPO. Downtown works.")
        assert M.INSURANCE not in result.missing

    def test_existing_patient_scheduling_does_not_need_insurance(self) -> None:
        result = run("Can I book my annual physical?", hint="existing")
        assert M.INSURANCE not in result.missing

    def test_referral_without_insurance(self) -> None:
        result = run(
            "",
            channel="referral",
            reason="Establish care",
            referring_provider="A. B, MD",
            attachments=("letter.pdf",),
        )
        assert result.missing == [M.INSURANCE]

    def test_insurance_card_change_without_attachment(self) -> None:
        result = run(
            "I have a new insurance card, member ID ZX123456, please update my file",
            dob=date(1970, 1, 1),
        )
        assert result.request_type is RequestType.INSURANCE
        assert M.INSURANCE in result.missing

    def test_insurance_card_change_with_attachment(self) -> None:
        result = run("Here is my new insurance card", attachments=("card_front.jpg",))
        assert M.INSURANCE not in result.missing

    def test_coverage_questions_never_need_a_card(self) -> None:
        result = run("Does my plan cover the shingles vaccine?")
        assert result.request_type is RequestType.INSURANCE
        assert M.INSURANCE not in result.missing

    def test_prior_authorisation_questions_never_need_a_card(self) -> None:
        result = run("Is the prior auth for my CT done yet?")
        assert M.INSURANCE not in result.missing


class TestAppointmentReason:
    def test_booking_without_a_reason(self) -> None:
        result = run("Can I make an appointment next week?")
        assert M.APPOINTMENT_REASON in result.missing

    def test_booking_with_a_reason(self) -> None:
        result = run("Can I make an appointment next week for my yearly physical?")
        assert M.APPOINTMENT_REASON not in result.missing

    def test_reason_after_for(self) -> None:
        result = run("I'd like to see Dr. Okafor for my knee")
        assert M.APPOINTMENT_REASON not in result.missing

    def test_for_a_time_is_not_a_reason(self) -> None:
        result = run("I need an appointment for next Tuesday")
        assert M.APPOINTMENT_REASON in result.missing

    def test_rescheduling_needs_no_reason(self) -> None:
        result = run("I need to reschedule my appointment on the 20th")
        assert M.APPOINTMENT_REASON not in result.missing

    def test_cancelling_or_confirming_needs_no_reason(self) -> None:
        assert M.APPOINTMENT_REASON not in run("Please cancel my appt on 1/9").missing
        assert (
            M.APPOINTMENT_REASON
            not in run("Confirming my appointment on Jan 9").missing
        )

    def test_form_reason_counts(self) -> None:
        result = run("Any weekday morning works", reason="annual physical")
        assert M.APPOINTMENT_REASON not in result.missing

    def test_generic_form_reason_does_not_count(self) -> None:
        result = run(
            "Any weekday morning works, I need an appointment", reason="appointment"
        )
        assert M.APPOINTMENT_REASON in result.missing


class TestPreferredLocation:
    def test_new_patient_without_location_or_provider(self) -> None:
        result = run("I want to become a new patient for a physical. I have Aetna.")
        assert result.missing == [M.PREFERRED_LOCATION]

    def test_practice_location_alias_counts(self) -> None:
        result = run(
            "New patient, physical please, Aetna, the lake view office is closest"
        )
        assert M.PREFERRED_LOCATION not in result.missing

    def test_provider_preference_counts(self) -> None:
        result = run(
            "New patient, physical please, Aetna. I'd like to see Dr. Lindqvist."
        )
        assert M.PREFERRED_LOCATION not in result.missing

    def test_any_office_is_a_preference(self) -> None:
        result = run("New patient, physical please, Aetna. Any office is fine.")
        assert M.PREFERRED_LOCATION not in result.missing

    def test_staff_lines_do_not_state_the_callers_preference(self) -> None:
        result = run(
            "I'm a new patient, I need a checkup. I have Humana.\nI'm not "
            "sure, I'll call back.",
            channel="phone",
            quoted="Staff: Which clinic is best for you, Lakeview or Downtown?",
        )
        assert M.PREFERRED_LOCATION in result.missing

    def test_caregiver_booking_a_new_patient(self) -> None:
        result = run(
            "Booking for my daughter, she'll be a new patient, needs a "
            "well child check. Insurance is Aetna."
        )
        assert result.patient_status is PatientStatus.CAREGIVER
        assert M.PREFERRED_LOCATION in result.missing


class TestReferralDocuments:
    def test_referral_without_documents(self) -> None:
        result = run("I need a referral to cardiology, I have BCBS")
        assert result.request_type is RequestType.REFERRAL
        assert M.REFERRAL_DOCUMENTS in result.missing

    def test_a_lab_report_counts_as_a_referral_document(self) -> None:
        result = run(
            "",
            channel="referral",
            reason="Anemia follow-up",
            referring_provider="A. B, MD",
            insurance="Medicare",
            attachments=("cbc_results.pdf",),
        )
        assert result.missing == []

    def test_an_insurance_card_alone_is_not_a_referral_document(self) -> None:
        result = run(
            "",
            channel="referral",
            reason="Anemia follow-up",
            referring_provider="A. B, MD",
            insurance="Medicare",
            attachments=("insurance_card_front.jpg",),
        )
        assert M.REFERRAL_DOCUMENTS in result.missing

    def test_a_file_named_cardiology_is_not_an_insurance_card(self) -> None:
        result = run(
            "",
            channel="referral",
            reason="Palpitations work-up",
            referring_provider="A. B, MD",
            insurance="Medicare",
            attachments=("cardiology_consult.pdf",),
        )
        assert M.REFERRAL_DOCUMENTS not in result.missing


class TestStopAutomationStillListsMissing:
    def test_emergency_requests_still_list_missing_details(self) -> None:
        result = run(
            "my husband collapsed and won't wake up",
            channel="chat",
            phone=None,
            dob=None,
        )
        assert result.stop_automation
        assert M.CONTACT in result.missing and M.DATE_OF_BIRTH in result.missing


def test_missing_details_follow_a_corrected_request_type() -> None:
    rec = record("Please call me back about my visit", dob=None)
    missing, reasons = missing_details(rec, RequestType.REFERRAL)
    assert M.REFERRAL_DOCUMENTS in missing and M.DATE_OF_BIRTH in missing
    assert all(r.code == "missing" for r in reasons)
    general, _ = missing_details(rec, RequestType.GENERAL)
    assert M.DATE_OF_BIRTH not in general

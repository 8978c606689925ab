"""The PHI boundary: identifiers out before text leaves, back in after."""

from __future__ import annotations

import logging
import pickle
from datetime import date

import pytest

from intake.models import (
    Attachment,
    Channel,
    ContactDetails,
    IntakeRecord,
    PatientIdentity,
)
from intake.redact import (
    PLACEHOLDER_RE,
    RedactingFilter,
    Redactor,
    redact_record,
    scrub,
)


def record(**changes: object) -> IntakeRecord:
    values: dict[str, object] = {
        "intake_id": "in-1",
        "source_id": "src-1",
        "channel": Channel.EMAIL,
        "contact": ContactDetails(
            phones=["+13125550142"], emails=["wren.halvard@example.com"]
        ),
        "patient": PatientIdentity(
            first_name="Wren",
            last_name="Halvard",
            date_of_birth=date(1979, 3, 14),
            patient_id="MG-045590",
        ),
        "sender_name": "Wren Halvard",
        "subject": "Refill for Wren",
        "request_text": "Please refill my lisinopril. I have 3 days left.",
    }
    values.update(changes)
    return IntakeRecord(**values)  # type: ignore[arg-type]


class TestKnownIdentity:
    def test_the_records_name_dob_phone_email_and_ids_are_replaced(self):
        text = (
            "This is Wren Halvard, DOB 03/14/1979, phone (312) 555-0142, "
            "email wren.halvard@example.com, portal MG-045590."
        )

        redacted, _ = redact_record(record(request_text=text, subject=None))

        assert redacted == (
            "This is [NAME_1], DOB [DOB_1], phone [PHONE_1], "
            "email [EMAIL_1], portal [ID_1]."
        )

    def test_the_same_value_gets_the_same_placeholder_everywhere(self):
        redactor = Redactor(names=["Wren Halvard"])

        first = redactor.redact("Wren Halvard called; call 312-555-0142.")
        second = redactor.redact("Again: (312) 555-0142 for Wren. HALVARD, W.")

        assert first == "[NAME_1] called; call [PHONE_1]."
        assert second == "Again: [PHONE_1] for [NAME_1]. [NAME_1], W."

    def test_restore_puts_the_original_spelling_back(self):
        redactor = Redactor(names=["Wren Halvard"])
        redactor.redact("I'm Wren Halvard, call 312.555.0142 or wren@example.org")

        restored = redactor.restore(
            "[NAME_1] asks for a call at [PHONE_1] or [EMAIL_1]; [NAME_7] unknown."
        )

        assert restored == (
            "Wren Halvard asks for a call at 312.555.0142 or wren@example.org; "
            "[NAME_7] unknown."
        )

    def test_a_first_name_alone_matches_only_as_written(self):
        redactor = Redactor(names=["Bill Ostrander", "Bill", "Ostrander"])

        assert redactor.redact("Bill asked about his bill.") == (
            "[NAME_1] asked about his bill."
        )


class TestTranscripts:
    def test_spoken_dates_of_birth_and_phone_numbers_are_replaced(self):
        redactor = Redactor()
        text = (
            "Caller: this is uh Odile Brask, B-R-A-S-K, date of birth is uh, "
            "August twenty second, nineteen ninety. Call me at three one two, "
            "five five five, zero one four six."
        )

        assert redactor.redact(text) == (
            "Caller: this is uh [NAME_1], [NAME_1], date of birth is uh, "
            "[DOB_1]. Call me at [PHONE_1]."
        )

    def test_an_uncued_spoken_month_day_year_is_a_date_of_birth(self):
        text = "Tobin Quarles, uh, five eighteen ninety-one."

        assert Redactor().redact(text) == "[NAME_1], uh, [DOB_1]."

    def test_spanish_dates_and_names_are_replaced(self):
        text = (
            "Me llamo Ernesto Valdivia, nací el dos de febrero de mil novecientos "
            "sesenta y ocho."
        )

        assert Redactor().redact(text) == "Me llamo [NAME_1], nací el [DOB_1]."

    def test_amounts_durations_and_doses_stay(self):
        text = (
            "I owe a hundred and twelve dollars, have two days left of 10 mg, "
            "appointment tomorrow at two, visit on 10/22 ($35 copay x2)."
        )

        assert Redactor().redact(text) == text


class TestPatterns:
    def test_member_policy_and_account_numbers_are_replaced(self):
        text = "Member ID W229384756, group 3341277, ACCOUNT # MG-448213, CHECK #4471."

        assert Redactor().redact(text) == (
            "Member ID [ID_1], group [ID_2], ACCOUNT # [ID_3], CHECK #[ID_4]."
        )

    def test_street_addresses_are_replaced_but_not_a_time_before_a_doctor(self):
        text = (
            "I live at 2810 N Lakeview Ave, Apt 3B, Chicago, IL 60614. At 2 Dr Reyes."
        )

        assert Redactor().redact(text) == "I live at [ADDRESS_1]. At 2 Dr Reyes."

    def test_full_dates_that_are_not_birth_dates_are_dates(self):
        redactor = Redactor(today=date(2026, 11, 2))

        redacted = redactor.redact("Collision on June 3, 2026; born 8/15/1979.")

        assert redacted == "Collision on [DATE_1]; born [DOB_1]."

    def test_clinicians_and_practice_places_are_not_patient_names(self):
        redacted, _ = redact_record(
            record(
                subject=None,
                request_text="This is Northside. I'm a patient of Dr. Reyes and "
                "Doctor Oak, my name is Hollis Fenn.",
            )
        )

        assert redacted == (
            "This is Northside. I'm a patient of Dr. Reyes and Doctor Oak, "
            "my name is [NAME_2]."
        )


class TestNameHeuristics:
    @pytest.mark.parametrize(
        "text",
        [
            "my name is Hollis Fenn and I need a form",
            "Name's Hollis Fenn, date of birth unknown",
            "I'm calling for my wife, Hollis Fenn.",
            "Please accept Mrs. Hollis Fenn as a new patient",
            "Thanks,\nHollis Fenn",
            "Need this by Friday.\n\nHollis Fenn\nDOB on file",
            "Hollis Fenn, 312-555-0177",
            "- Hollis Fenn (mom)",
        ],
    )
    def test_a_name_after_a_cue_is_replaced(self, text):
        redacted = Redactor().redact(text)

        assert "Hollis" not in redacted and "Fenn" not in redacted
        assert "[NAME_1]" in redacted

    def test_a_learnt_name_is_replaced_wherever_it_appears(self):
        text = "It's Crystal. Crystal Dunmore. Crystal, are you safe?"

        assert (
            Redactor().redact(text)
            == "It's [NAME_1]. [NAME_2]. [NAME_1], are you safe?"
        )

    def test_greetings_and_pronouns_are_not_names(self):
        text = "Thanks!\nGood morning. His DOB is 4/4/2015."

        assert Redactor().redact(text) == "Thanks!\nGood morning. His DOB is [DOB_1]."


class TestRedactRecord:
    def test_only_subject_reason_and_request_text_are_sent(self):
        rec = record(
            quoted_text="> On Monday Wren Halvard wrote: my SSN is secret",
            form_reason="refill",
            insurance_note="Aetna W229384756",
            attachments=[Attachment(filename="wren_halvard_card.jpg")],
        )

        redacted, _ = redact_record(rec)

        assert redacted == (
            "Subject: Refill for [NAME_1]\nReason: refill\n"
            "Please refill my lisinopril. I have 3 days left."
        )

    def test_html_is_stripped_to_text(self):
        rec = record(subject=None, request_text="Hi,<br>call me<script>x</script>")

        assert redact_record(rec)[0] == "Hi,\ncall mex"

    def test_long_text_is_cut_without_splitting_a_placeholder(self):
        rec = record(subject=None, request_text="word " * 50 + "Wren Halvard " * 40)

        redacted, _ = redact_record(rec, max_chars=300)

        assert redacted.endswith(" [...]")
        assert len(redacted) <= 310
        body = redacted.removesuffix(" [...]")
        assert body.count("[") == body.count("]")
        assert all(PLACEHOLDER_RE.fullmatch(p) for p in PLACEHOLDER_RE.findall(body))


class TestRedactorSafety:
    def test_a_redactor_cannot_be_pickled(self):
        redactor = Redactor(names=["Wren Halvard"])

        with pytest.raises(TypeError):
            pickle.dumps(redactor)

    def test_its_repr_shows_counts_not_values(self):
        redactor = Redactor(names=["Wren Halvard"])
        redactor.redact("Wren Halvard, 312-555-0142")

        assert repr(redactor) == "Redactor(NAME=1, PHONE=1)"


class TestLogFilter:
    def test_phone_numbers_emails_and_dates_are_scrubbed_from_messages_and_args(
        self, caplog
    ):
        logger = logging.getLogger("tests.redact.filter")
        logger.addFilter(RedactingFilter())

        with caplog.at_level(logging.INFO, logger="tests.redact.filter"):
            logger.info(
                "patient %s called from %s on 3/14/1979 (%d attempts)",
                "wren.halvard@example.com",
                "(312) 555-0142",
                3,
            )

        assert caplog.messages == [
            "patient [EMAIL] called from [PHONE] on [DATE] (3 attempts)"
        ]

    def test_exception_text_is_scrubbed_too(self):
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, None
        )
        try:
            raise ValueError("bad value wren.halvard@example.com 312-555-0142")
        except ValueError:
            import sys

            record.exc_info = sys.exc_info()

        RedactingFilter().filter(record)

        assert record.exc_text is not None
        assert "example.com" not in record.exc_text
        assert "555-0142" not in record.exc_text

    def test_scrub_leaves_ids_labels_and_counts(self):
        text = "classified itk-3f2a type=billing urgency=soon count=12 in 0.42s"

        assert scrub(text) == text

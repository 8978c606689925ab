"""Capture: dates of birth, phones, emails, names and insurance notes in text."""

from __future__ import annotations

from datetime import date

import pytest

from intake.capture import dates, extract

TODAY = date(2026, 11, 30)


class TestDateOfBirth:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("DOB: 04/19/1992", date(1992, 4, 19)),
            ("DOB 5/5/1990", date(1990, 5, 5)),
            ("d.o.b. 1962-03-03", date(1962, 3, 3)),
            ("(DOB 08/15/1979)", date(1979, 8, 15)),
            ("Her DOB is 06/30/2015. Please update", date(2015, 6, 30)),
            ("DOB for my son is 3/4/2015", date(2015, 3, 4)),
            ("DOB 6/6/66", date(1966, 6, 6)),
            ("DOB: 14/06/1954", date(1954, 6, 14)),  # first number > 12: day first
            ("DOB Aug. 22, 1990", date(1990, 8, 22)),
            ("born the fifth of March, 1980", date(1980, 3, 5)),
            ("date of birth is uh, August twenty second, nineteen ninety.",
             date(1990, 8, 22)),
            ("Date of birth is nine nine forty-nine. Send it", date(1949, 9, 9)),
            ("birthday is July first, nineteen fifty seven.", date(1957, 7, 1)),
            ("birthday two twenty eighty-eight.", date(1988, 2, 20)),
            ("DOB June 3rd, two thousand and five", date(2005, 6, 3)),
            ("fecha de nacimiento 3 de mayo de 1985", date(1985, 5, 3)),
            ("Fecha de nacimiento: 10/02/2016", date(2016, 2, 10)),  # Spanish: d/m
            ("nací el dos de febrero de mil novecientos sesenta y ocho.",
             date(1968, 2, 2)),
        ],
    )  # fmt: skip
    def test_keyword_dates_of_birth_are_parsed(self, text, expected):
        assert dates.find_date_of_birth(text, TODAY) == (expected, None)

    @pytest.mark.parametrize(
        "text",
        [
            "DOB: I don't know. Call me 3/4/2020",
            "my appointment is 12/15/2026",
            "DOB 1/1/2030",  # in the future
            "the baby was born premature",
        ],
    )
    def test_no_date_of_birth_is_invented(self, text):
        assert dates.find_date_of_birth(text, TODAY)[0] is None

    def test_an_impossible_date_after_a_keyword_is_kept_as_text(self):
        assert dates.find_date_of_birth("dob 13/45/1990", TODAY) == (None, "13/45/1990")

    def test_a_date_without_year_is_kept_as_text(self):
        found = dates.find_date_of_birth("she was born October twenty first.", TODAY)
        assert found == (None, "October twenty first")

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("1962-03-03", date(1962, 3, 3)),
            ("03/03/1962", date(1962, 3, 3)),
            ("3-14-2000", date(2000, 3, 14)),
            ("March 3, 1962", date(1962, 3, 3)),
            ("12/31/99", date(1999, 12, 31)),
            ("", None),
            ("sometime in 1980", None),
        ],
    )
    def test_form_values_are_parsed(self, value, expected):
        assert dates.parse_date_value(value, TODAY) == expected


class TestTimestamps:
    def test_a_timestamp_with_offset_reports_it(self):
        parsed, had_offset = dates.parse_timestamp("2026-11-24T09:15:00-06:00")
        assert had_offset and parsed.utcoffset() is not None

    @pytest.mark.parametrize("value", ["", "yesterday", None, 5, "x" * 100])
    def test_unreadable_timestamps_raise_a_safe_error(self, value):
        with pytest.raises(dates.TimestampError) as caught:
            dates.parse_timestamp(value)
        assert "yesterday" not in str(caught.value)


class TestPhones:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("call (312) 555-0117", ["+13125550117"]),
            ("cell 773.555.0167 or 312-555-0101", ["+17735550167", "+13125550101"]),
            ("+1 630 555 0133", ["+16305550133"]),
            ("3125550117", ["+13125550117"]),
            ("UK: +44 20 7946 0958", ["+442079460958"]),
        ],
    )
    def test_phone_numbers_in_text_become_e164(self, text, expected):
        assert extract.find_phones(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "DOB 04/19/1992 on 10/22",
            "Account 5510293411",
            "member ID W229384756",
            "fax: (312) 555-0199",
            "policy # 3125550117",
            "charged $35 x2 for 1234567",
            "5550117",  # seven digits: no area code
            "(012) 555-0117",  # area codes never start with 0
        ],
    )
    def test_things_that_are_not_reachable_phones_are_skipped(self, text):
        assert extract.find_phones(text) == []

    def test_spoken_digits_are_turned_into_a_number(self):
        text = extract.spoken_digits_to_numerals(
            "my cell is seven seven three, five five five, oh one two nine. thanks"
        )
        assert extract.find_phones(text) == ["+17735550129"]

    def test_normalize_phone_keeps_fictional_555_numbers(self):
        assert extract.normalize_phone("(312) 555-0100") == "+13125550100"
        assert extract.normalize_phone("not a number") is None


class TestEmailsNamesInsurance:
    def test_emails_are_found_and_lowercased(self):
        text = "write Ana.Diaz@Example.COM or <b.c+x@example.org>."
        assert extract.find_emails(text) == [
            "ana.diaz@example.com",
            "b.c+x@example.org",
        ]

    @pytest.mark.parametrize(
        ("answer", "expected"),
        [
            ("It's Javier Montoya, M-O-N-T-O-Y-A, date of birth", "Javier Montoya"),
            ("Sam Iverson, January eighth", "Sam Iverson"),
            ("Keith Ambrose 6/6/66", "Keith Ambrose"),
            ("It's Crystal. Crystal Dunmore.", "Crystal Dunmore"),
            ("yeah um my son, he's four", None),
            ("Dr. Okafor is my doctor", None),
        ],
    )
    def test_names_are_read_from_answers(self, answer, expected):
        assert extract.name_from_answer(answer) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("hi this is uh Herbert Lund, L-U-N-D", "Herbert Lund"),
            ("Name's Walter Jankowski, date of birth", "Walter Jankowski"),
            ("Hola, me llamo Ernesto Salgado", "Ernesto Salgado"),
            ("Hi, it's Mei Lin Zhao, I'm a patient", "Mei Lin Zhao"),
            ("yes it's Blue Cross, this is for my mom", None),
        ],
    )
    def test_self_introductions_give_the_senders_name(self, text, expected):
        assert extract.name_from_introduction(text) == expected

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("Thanks\nInsurance: Aetna Choice POS II\nDOB: 1/1/1990",
             "Aetna Choice POS II"),
            ("Seguro: Medicare", "Medicare"),
            ("Her insurance is Medicare with an AARP supplement.",
             "Medicare with an AARP supplement"),
            ("No tiene seguro; pagará por su cuenta (self-pay).",
             "No tiene seguro; pagará por su cuenta (self-pay)."),
            ("my insurance is doing some claim thing", None),
            ("Does my plan cover the vaccine?", None),
        ],
    )  # fmt: skip
    def test_insurance_notes_are_found(self, text, expected):
        assert extract.find_insurance_note(text) == expected

    def test_name_and_date_lines_are_found(self):
        text = "Mateo Ruiz - 10/02/2016\nAna Ruiz - 22/09/2018\nMuchas gracias"
        assert extract.name_and_date_lines(text) == [
            ("Mateo Ruiz", "10/02/2016"),
            ("Ana Ruiz", "22/09/2018"),
        ]


def test_a_local_number_in_a_phone_field_is_kept_as_contact():
    from intake.capture import capture_request

    record = capture_request({"id": "t-local", "channel": "web_form", "payload": {
        "fields": {"first_name": "Iris", "phone": "555-0142"},
        "message": "Please call me about my bill."}})
    assert record.contact.phones == []  # no area code: not E.164
    assert record.contact.local_phones == ["555-0142"]
    assert record.contact.reachable

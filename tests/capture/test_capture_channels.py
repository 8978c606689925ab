"""Capture: web form, phone, portal, chat and referral requests."""

from __future__ import annotations

from datetime import date

from intake.capture import capture_request
from intake.models import Channel


class TestWebForm:
    def test_every_form_field_lands_in_its_record_field(self, make_request):
        payload = {
            "fields": {
                "first_name": "Odette", "last_name": "Brambleworth",
                "dob": "1988-02-29", "phone": "(312) 555-0147",
                "email": "Odette.B@Example.com", "reason": "New patient physical",
                "preferred_location": "Lakeview", "preferred_provider": "Dr. Okafor",
                "insurance": "Aetna PPO", "preferred_times": "Weekday mornings",
                "callback_method": "Email", "referral_source": "Google",
                "patient_status": "new", "urgency": "not urgent",
            },
            "message": "Hoping to get established before the new year.",
        }  # fmt: skip
        record = capture_request(make_request("web_form", payload))
        assert record.capture_problem is None
        assert record.channel is Channel.WEB_FORM
        assert (record.patient.first_name, record.patient.last_name) == (
            "Odette",
            "Brambleworth",
        )
        assert record.sender_name == "Odette Brambleworth"
        assert record.patient.date_of_birth == date(1988, 2, 29)
        assert record.contact.phones == ["+13125550147"]
        assert record.contact.emails == ["odette.b@example.com"]
        assert record.contact.callback_method == "email"
        assert record.form_reason == "New patient physical"
        assert record.preferred_location == "Lakeview"
        assert record.preferred_provider == "Dr. Okafor"
        assert record.insurance_note == "Aetna PPO"
        assert record.preferred_times == "Weekday mornings"
        assert record.referral_source == "Google"
        assert record.patient_status_hint == "new"
        assert record.urgency_signal == "not urgent"
        assert record.request_text == "Hoping to get established before the new year."
        assert record.missing_documents == []

    def test_empty_form_fields_are_none_not_empty_strings(self, make_request):
        payload = {"fields": {"first_name": "Ned", "dob": "", "preferred_location": ""},
                   "message": "Question about my bill"}  # fmt: skip
        record = capture_request(make_request("web_form", payload))
        assert record.patient.date_of_birth is None
        assert record.patient.date_of_birth_text is None
        assert record.preferred_location is None
        assert record.urgency_signal is None

    def test_an_unparseable_dob_is_kept_as_text(self, make_request):
        payload = {"fields": {"dob": "spring of 1970"}, "message": "Need records"}
        record = capture_request(make_request("web_form", payload))
        assert record.patient.date_of_birth is None
        assert record.patient.date_of_birth_text == "spring of 1970"

    def test_a_second_number_and_the_dob_in_the_message_are_found(self, make_request):
        payload = {"fields": {"phone": "312-555-0101"},
                   "message": "Or my cell 773.555.0102. DOB: 7/4/1976"}  # fmt: skip
        record = capture_request(make_request("web_form", payload))
        assert record.contact.phones == ["+13125550101", "+17735550102"]
        assert record.patient.date_of_birth == date(1976, 7, 4)

    def test_an_invalid_phone_field_is_not_stored(self, make_request):
        payload = {"fields": {"phone": "call me"}, "message": "Billing question"}
        assert capture_request(make_request("web_form", payload)).contact.phones == []


class TestPhone:
    TRANSCRIPT = (
        "Staff: Maple Grove Family Medicine, this is Dee. How can I help?\n"
        "Caller: Hi, um, this is uh Rosalind Teague, I need to move my\n"
        "appointment on Thursday.\n"
        "Staff: Sure. Can I get your date of birth?\n"
        "Caller: August twenty second, nineteen ninety.\n"
        "Staff: And do you have insurance with us on file?\n"
        "Caller: Yes, Cigna PPO through work.\n"
        "Staff: Best number to reach you?\n"
        "Caller: seven seven three, five five five, oh one four four."
    )

    def test_only_the_callers_words_become_request_text(self, make_request):
        payload = {"caller_number": "+1 (312) 555-0143", "transcript": self.TRANSCRIPT}
        record = capture_request(make_request("phone", payload))
        assert record.capture_problem is None
        assert "Staff" not in record.request_text
        assert "how can I help" not in record.request_text
        assert record.request_text.startswith("Hi, um, this is uh Rosalind Teague")
        assert "appointment on Thursday." in record.request_text
        assert record.quoted_text.startswith("Staff: Maple Grove Family Medicine")
        assert "Caller" not in record.quoted_text

    def test_spoken_answers_to_staff_questions_are_extracted(self, make_request):
        payload = {"caller_number": "+13125550143", "transcript": self.TRANSCRIPT}
        record = capture_request(make_request("phone", payload))
        assert record.sender_name == "Rosalind Teague"
        assert record.patient.date_of_birth == date(1990, 8, 22)
        assert record.insurance_note == "Yes, Cigna PPO through work."
        assert record.contact.phones == ["+13125550143", "+17735550144"]

    def test_numeric_spoken_date_after_a_dob_keyword(self, make_request):
        transcript = (
            "Caller: It's Wendell Marsh, date of birth is nine nine forty-nine."
        )
        record = capture_request(make_request("phone", {"transcript": transcript}))
        assert record.patient.date_of_birth == date(1949, 9, 9)
        assert record.sender_name == "Wendell Marsh"

    def test_a_spanish_call_with_spoken_date_of_birth(self, make_request):
        transcript = (
            "Staff: ¿Su nombre y fecha de nacimiento?\n"
            "Caller: Marisol Etxeberria, el cinco de mayo de mil novecientos "
            "ochenta y seis.\n"
            "Staff: ¿Tiene seguro médico?\n"
            "Caller: No, voy a pagar en efectivo."
        )
        record = capture_request(make_request("phone", {"transcript": transcript}))
        assert record.patient.date_of_birth == date(1986, 5, 5)
        assert record.sender_name == "Marisol Etxeberria"
        assert record.insurance_note == "No, voy a pagar en efectivo."

    def test_a_question_about_someone_else_names_the_patient_not_the_caller(
        self, make_request
    ):
        transcript = (
            "Caller: I need an appointment for my son.\n"
            "Staff: What's his name and date of birth?\n"
            "Caller: Ezra Pendleton-Vance, June fifth, two thousand sixteen."
        )
        record = capture_request(make_request("phone", {"transcript": transcript}))
        assert record.sender_name is None
        assert (record.patient.first_name, record.patient.last_name) == (
            "Ezra",
            "Pendleton-Vance",
        )
        assert record.patient.date_of_birth == date(2016, 6, 5)

    def test_a_voicemail_without_labels_is_all_the_callers(self, make_request):
        transcript = "hi it's me again about the bill, call me back at 312 555 0175"
        record = capture_request(make_request("phone", {"transcript": transcript}))
        assert record.request_text == transcript
        assert record.contact.phones == ["+13125550175"]

    def test_a_withheld_caller_number_gives_no_phone(self, make_request):
        payload = {
            "caller_number": "anonymous",
            "transcript": "Caller: do you take Tricare?",
        }
        record = capture_request(make_request("phone", payload))
        assert record.contact.phones == []
        assert record.capture_problem is None

    def test_a_staff_question_without_answer_sets_nothing(self, make_request):
        transcript = "Caller: I need a refill.\nStaff: What's your date of birth?"
        record = capture_request(make_request("phone", {"transcript": transcript}))
        assert record.patient.date_of_birth is None
        assert record.request_text == "I need a refill."


class TestPortal:
    def test_portal_account_is_contact_and_patient_id(self, make_request):
        payload = {
            "patient_id": "MG-204518",
            "subject": "Insurance card",
            "body": "Here is my new card.\nThanks",
            "attachments": [
                {
                    "filename": "C:\\Users\\me\\card_front.jpg",
                    "content_type": "IMAGE/JPEG",
                },
                {
                    "filename": "card_back.jpg",
                    "content_type": "image/jpeg",
                    "size": 2048,
                },
            ],
        }
        record = capture_request(make_request("portal", payload))
        assert record.capture_problem is None
        assert record.contact.portal_account == "MG-204518"
        assert record.patient.patient_id == "MG-204518"
        assert record.contact.reachable
        assert record.subject == "Insurance card"
        assert record.request_text == "Here is my new card.\nThanks"
        assert [(a.filename, a.content_type, a.size) for a in record.attachments] == [
            ("card_front.jpg", "image/jpeg", None),
            ("card_back.jpg", "image/jpeg", 2048),
        ]

    def test_attachments_that_are_not_a_list_are_malformed(self, make_request):
        payload = {"patient_id": "MG-1", "body": "see attached", "attachments": "x.pdf"}
        record = capture_request(make_request("portal", payload))
        assert record.capture_problem is not None
        assert record.request_text == "see attached"


class TestChat:
    def test_visitor_words_are_request_text_and_bot_words_are_quoted(
        self, make_request
    ):
        payload = {
            "messages": [
                {"from": "bot", "text": "Hi! Emergency? Call 911. How can I help?"},
                {"from": "visitor", "text": "i want to become a patient"},
                {"from": "bot", "text": "Your name, date of birth and phone number?"},
                {"from": "visitor", "text": "Priya Vance 3/14/2000 (312) 555-0111"},
                {"from": "bot", "text": "Do you have insurance?"},
                {"from": "visitor", "text": "yes blue cross"},
            ]
        }  # fmt: skip
        record = capture_request(make_request("chat", payload))
        assert record.capture_problem is None
        assert record.request_text == (
            "i want to become a patient\nPriya Vance 3/14/2000 (312) 555-0111\n"
            "yes blue cross"
        )
        assert "Emergency" not in record.request_text
        assert record.quoted_text.startswith("Bot: Hi! Emergency?")
        assert record.sender_name == "Priya Vance"
        assert record.patient.date_of_birth == date(2000, 3, 14)
        assert record.contact.phones == ["+13125550111"]
        assert record.insurance_note == "yes blue cross"

    def test_a_spanish_chat_reads_dates_day_first(self, make_request):
        payload = {
            "messages": [
                {
                    "from": "bot",
                    "text": "¿Me da su nombre completo y fecha de nacimiento?",
                },
                {"from": "visitor", "text": "Graciela Montaño, 05/03/1979"},
            ]
        }
        record = capture_request(make_request("chat", payload))
        assert record.patient.date_of_birth == date(1979, 3, 5)
        assert record.sender_name == "Graciela Montaño"

    def test_a_message_from_an_unknown_author_is_read_as_the_visitors(
        self, make_request
    ):
        payload = {"messages": [{"text": "chest pain right now"}, "not an object"]}
        record = capture_request(make_request("chat", payload))
        assert record.request_text == "chest pain right now"
        assert record.capture_problem is not None
        assert "chest" not in (record.capture_detail or "")


class TestReferral:
    def test_referral_fields_patient_and_documents_are_captured(self, make_request):
        payload = {
            "referring_provider": "Imogen Vasquez-Hale, MD",
            "referring_practice": "Riverside Cardiology Group",
            "specialty": "Primary Care",
            "reason": "Establish PCP after hospital discharge",
            "patient": {
                "first_name": "Thaddeus", "last_name": "Okonkwo-Barr",
                "dob": "03/07/1961", "phone": "(847) 555-0190",
                "insurance": "Humana Gold",
            },
            "documents": [{"filename": "referral.pdf", "content_type": "x/pdf"}],
            "note": "Please call our office at 847-555-0191 or fax 847-555-0192.",
        }  # fmt: skip
        record = capture_request(make_request("referral", payload))
        assert record.capture_problem is None
        assert record.referring_provider == "Imogen Vasquez-Hale, MD"
        assert record.referring_practice == "Riverside Cardiology Group"
        assert record.referral_source == "Riverside Cardiology Group"
        assert record.sender_name == "Imogen Vasquez-Hale, MD"
        assert record.specialty == "Primary Care"
        assert record.form_reason == "Establish PCP after hospital discharge"
        assert (record.patient.first_name, record.patient.last_name) == (
            "Thaddeus",
            "Okonkwo-Barr",
        )
        assert record.patient.date_of_birth == date(1961, 3, 7)
        assert record.insurance_note == "Humana Gold"
        assert record.contact.phones == ["+18475550190", "+18475550191"]
        assert [a.filename for a in record.attachments] == ["referral.pdf"]
        assert record.request_text.startswith("Please call our office")

    def test_a_referral_without_documents_has_no_attachments(self, make_request):
        payload = {"referring_practice": "Elm Clinic", "reason": "Diabetes education",
                   "documents": [], "note": "Patient is self-pay."}  # fmt: skip
        record = capture_request(make_request("referral", payload))
        assert record.attachments == []
        assert record.insurance_note == "Patient is self-pay."

    def test_a_patient_that_is_not_an_object_is_malformed(self, make_request):
        payload = {"reason": "Knee pain evaluation", "patient": "Thaddeus Okonkwo"}
        record = capture_request(make_request("referral", payload))
        assert record.capture_problem is not None
        assert record.form_reason == "Knee pain evaluation"

"""Capture: emails (MIME, encodings, charsets, quoted history, hostile input)."""

from __future__ import annotations

import base64
import time
from datetime import date

import pytest

from intake.capture import capture_request
from intake.capture.email import split_reply
from intake.models import CaptureProblem

HEADERS = (
    "From: Nora Quill <nora.quill@example.com>\n"
    "To: Front Desk <frontdesk@example.org>\n"
    "Subject: Appointment question\n"
    "MIME-Version: 1.0\n"
)


def multipart(kind: str, *parts: str, boundary: str = "b1") -> str:
    body = "".join(f"--{boundary}\n{part}\n" for part in parts)
    return (
        f'Content-Type: multipart/{kind}; boundary="{boundary}"\n\n'
        f"{body}--{boundary}--\n"
    )


class TestBodies:
    def test_plain_text_email_fills_sender_subject_and_text(
        self, make_email, email_request
    ):
        raw = make_email("Can I move my Tuesday visit?\n\nNora\n(312) 555-0160\n")
        record = capture_request(email_request(raw))
        assert record.capture_problem is None
        assert record.sender_name == "Nora Quill"
        assert record.contact.emails == ["nora.quill@example.com"]
        assert record.contact.phones == ["+13125550160"]
        assert record.subject == "Appointment question"
        assert (
            record.request_text
            == "Can I move my Tuesday visit?\n\nNora\n(312) 555-0160"
        )

    def test_multipart_alternative_prefers_the_plain_text_part(self, email_request):
        raw = HEADERS + multipart(
            "alternative",
            "Content-Type: text/plain; charset=utf-8\n\nPlain words here.",
            "Content-Type: text/html; charset=utf-8\n\n<p>HTML words here.</p>",
        )
        record = capture_request(email_request(raw))
        assert record.request_text == "Plain words here."

    def test_html_only_email_is_converted_to_text(self, email_request):
        html = (
            "<html><head><style>p{font:11pt Calibri}</style></head><body>"
            "<p>Hello,</p><p>I need a <b>records</b> copy &amp; my bill.<br>"
            "DOB 04/19/1992</p><script>track()</script></body></html>"
        )
        raw = HEADERS + "Content-Type: text/html; charset=utf-8\n\n" + html
        record = capture_request(email_request(raw))
        assert record.request_text == (
            "Hello,\n\nI need a records copy & my bill.\nDOB 04/19/1992"
        )
        assert record.patient.date_of_birth == date(1992, 4, 19)

    def test_html_alternative_is_used_when_there_is_no_plain_part(self, email_request):
        raw = HEADERS + multipart(
            "alternative",
            "Content-Type: text/html; charset=utf-8\n\n<div>Only html</div>",
        )
        assert capture_request(email_request(raw)).request_text == "Only html"

    def test_quoted_printable_is_decoded(self, make_email, email_request):
        body = "Buenos d=C3=ADas, necesito una cita para mi mam=C3=A1. Gracias=\n!\n"
        raw = make_email(body, encoding="quoted-printable")
        record = capture_request(email_request(raw))
        assert (
            record.request_text
            == "Buenos días, necesito una cita para mi mamá. Gracias!"
        )

    def test_base64_is_decoded(self, make_email, email_request):
        text = "¿Cuál es la dirección de la clínica?\n"
        encoded = base64.encodebytes(text.encode()).decode()
        raw = make_email(encoded, encoding="base64")
        record = capture_request(email_request(raw))
        assert record.request_text == text.strip()

    def test_latin1_charset_is_honoured(self, make_email, email_request):
        raw = make_email(
            "Necesito el r=E9cord de vacunas.\n",
            content_type="text/plain; charset=iso-8859-1",
            encoding="quoted-printable",
        )
        assert capture_request(email_request(raw)).request_text == (
            "Necesito el récord de vacunas."
        )

    def test_an_unknown_charset_is_replaced_not_fatal(self, make_email, email_request):
        raw = make_email(
            "caf=E9 and more=FF\n",
            content_type="text/plain; charset=x-made-up-9",
            encoding="quoted-printable",
        )
        record = capture_request(email_request(raw))
        assert record.capture_problem is None
        assert record.request_text.startswith("caf")
        assert "unknown charset" in (record.capture_detail or "")

    def test_bytes_that_do_not_match_the_charset_are_replaced(
        self, make_email, email_request
    ):
        raw = make_email("bad =C3=28 utf8\n", encoding="quoted-printable")
        record = capture_request(email_request(raw))
        assert record.request_text == "bad \ufffd( utf8"

    def test_an_encoded_word_with_an_unknown_charset_does_not_break_headers(
        self, make_email, email_request
    ):
        raw = make_email(
            "hello",
            sender="=?x-bogus?q?Ana=E9?= <ana@example.com>",
            subject="=?x-bogus?b?////?= refill",
        )
        record = capture_request(email_request(raw))
        assert record.contact.emails == ["ana@example.com"]
        assert record.subject is not None and record.subject.endswith("refill")

    def test_an_encoded_subject_and_sender_are_decoded(self, make_email, email_request):
        raw = make_email(
            "hola",
            sender="=?utf-8?q?Luc=C3=ADa_Pe=C3=B1a?= <lucia@example.com>",
            subject="=?utf-8?q?Cita_para_mi_mam=C3=A1?=",
        )
        record = capture_request(email_request(raw))
        assert record.sender_name == "Lucía Peña"
        assert record.subject == "Cita para mi mamá"

    def test_a_sender_without_display_name_has_no_sender_name(
        self, make_email, email_request
    ):
        raw = make_email("open friday?", sender="kb.thompson@example.com")
        record = capture_request(email_request(raw))
        assert record.sender_name is None
        assert record.contact.emails == ["kb.thompson@example.com"]

    def test_attachments_are_listed_with_name_type_and_size(self, email_request):
        pdf = base64.encodebytes(b"%PDF-1.4 fake " * 10).decode()
        raw = HEADERS + multipart(
            "mixed",
            "Content-Type: text/plain\n\nMy card is attached.",
            "Content-Type: image/jpeg; name=card.jpg\n"
            "Content-Transfer-Encoding: base64\n"
            'Content-Disposition: attachment; filename="card.jpg"\n\n' + pdf,
            "Content-Type: text/plain; name=notes.txt\n"
            "Content-Disposition: attachment; filename=notes.txt\n\nnot body text",
        )
        record = capture_request(email_request(raw))
        assert record.request_text == "My card is attached."
        assert [(a.filename, a.content_type, a.size) for a in record.attachments] == [
            ("card.jpg", "image/jpeg", 140),
            ("notes.txt", "text/plain", 13),
        ]

    def test_the_signature_of_a_signed_message_is_not_an_attachment(
        self, email_request
    ):
        raw = HEADERS + multipart(
            "signed",
            "Content-Type: text/plain\n\nSigned words.",
            "Content-Type: application/pkcs7-signature; name=smime.p7s\n\nMIIB",
        )
        record = capture_request(email_request(raw))
        assert record.request_text == "Signed words."
        assert record.attachments == []

    def test_an_attached_message_is_an_attachment(self, email_request):
        raw = HEADERS + multipart(
            "mixed",
            "Content-Type: text/plain\n\nSee the forwarded bill.",
            "Content-Type: message/rfc822\n\nFrom: billing@example.org\n"
            "Subject: Statement\n\nYou owe $40.",
        )
        record = capture_request(email_request(raw))
        assert record.request_text == "See the forwarded bill."
        assert [a.content_type for a in record.attachments] == ["message/rfc822"]

    def test_email_with_no_blank_line_between_headers_and_body(self, email_request):
        raw = (
            "From: Nora Quill <nora.quill@example.com>\n"
            "Subject: refill\n"
            "Please refill my inhaler, Walgreens on Belmont.\n"
            "Thanks\n"
        )
        record = capture_request(email_request(raw))
        assert record.capture_problem is None
        assert record.subject == "refill"
        assert record.request_text == (
            "Please refill my inhaler, Walgreens on Belmont.\nThanks"
        )

    def test_text_without_any_headers_is_read_as_plain_text_and_flagged(
        self, email_request
    ):
        record = capture_request(email_request("I need to cancel tomorrow's visit."))
        assert record.capture_problem is CaptureProblem.UNPARSEABLE_EMAIL
        assert record.request_text == "I need to cancel tomorrow's visit."

    def test_raw_that_is_not_text_is_malformed(self, make_request):
        record = capture_request(make_request("email", {"raw": ["not", "text"]}))
        assert record.capture_problem is CaptureProblem.MALFORMED_PAYLOAD

    def test_multipart_without_boundary_is_read_as_text(self, email_request):
        raw = HEADERS + "Content-Type: multipart/mixed\n\nJust text after all."
        assert capture_request(email_request(raw)).request_text == (
            "Just text after all."
        )


class TestQuotedHistory:
    def test_on_wrote_block_and_signature_go_to_quoted_text(
        self, make_email, email_request
    ):
        body = (
            "Could you email me a PDF of the results?\n\nThanks,\nIvy\n\n"
            "-- \nIvy Lemaire\n(630) 555-0170\n\n"
            "On Tue, Nov 10, 2026 at 7:15 AM <noreply@example.org> wrote:\n"
            "> Your results are ready. Call (312) 555-0100 with questions.\n"
        )
        record = capture_request(email_request(make_email(body)))
        assert record.request_text == (
            "Could you email me a PDF of the results?\n\nThanks,\nIvy"
        )
        assert "Ivy Lemaire" in record.quoted_text
        assert "Your results are ready" in record.quoted_text
        # The signature is the sender's; the quoted history is not.
        assert record.contact.phones == ["+16305550170"]

    def test_original_message_blocks_go_to_quoted_text(self, make_email, email_request):
        body = (
            "Still no refund, can you check?\n\nNate\n\n"
            "-----Original Message-----\nFrom: Billing <billing@example.org>\n"
            "Sent: Tuesday, October 20, 2026 3:12 PM\nSubject: RE: Refund\n\n"
            "Your refund was approved.\n"
        )
        record = capture_request(email_request(make_email(body)))
        assert record.request_text == "Still no refund, can you check?\n\nNate"
        assert record.quoted_text.startswith("-----Original Message-----")

    def test_outlook_header_block_without_separator_starts_the_history(self):
        text = (
            "Yes that works.\n\nFrom: Front Desk <fd@example.org>\n"
            "Sent: Monday\nTo: me\nSubject: Your visit\n\nCan we move you?"
        )
        split = split_reply(text)
        assert split.own == "Yes that works."
        assert split.quoted.startswith("From: Front Desk")

    def test_on_wrote_split_over_two_lines_is_recognised(self):
        text = (
            "Thursday is fine.\n\nOn Mon, Nov 30, 2026 at 9:00 AM Maple Grove "
            "Family Medicine\n<noreply@example.org> wrote:\n> Reminder"
        )
        assert split_reply(text).own == "Thursday is fine."

    def test_forwarded_headers_go_to_quoted_text(self):
        text = (
            "See below\n\n---------- Forwarded message ---------\n"
            "From: X <x@example.org>\nhi"
        )
        split = split_reply(text)
        assert split.own == "See below"
        assert "Forwarded message" in split.quoted

    def test_interleaved_quote_lines_are_removed_and_replies_kept(self):
        text = "> Can you come Tuesday?\nYes, Tuesday.\n> And bring your card\nOK"
        split = split_reply(text)
        assert split.own == "Yes, Tuesday.\nOK"
        assert split.quoted == "> Can you come Tuesday?\n> And bring your card"

    def test_mobile_sign_off_is_not_the_senders_words(self):
        assert split_reply("Open Saturday?\n\nSent from my iPhone").own == (
            "Open Saturday?"
        )

    def test_a_sign_off_block_with_contact_details_stays_in_request_text(self):
        text = (
            "Please call me back.\n\nThanks,\nGary Pulaski | Estimator\n(708) 555-0196"
        )
        assert split_reply(text).own == text

    def test_html_blockquote_history_goes_to_quoted_text(self, email_request):
        html = (
            "<div>Yes please move it.</div><div class='gmail_quote'>"
            "<blockquote><p>Can we move your visit? Call (312) 555-0100.</p>"
            "</blockquote></div>"
        )
        raw = HEADERS + "Content-Type: text/html\n\n" + html
        record = capture_request(email_request(raw))
        assert record.request_text == "Yes please move it."
        assert "Can we move your visit?" in record.quoted_text
        assert record.contact.phones == []

    def test_an_email_that_only_forwards_is_flagged_for_review(
        self, make_email, email_request
    ):
        body = "> I have chest pain since this morning\n> what should I do"
        record = capture_request(email_request(make_email(body)))
        assert record.request_text == ""
        assert record.capture_problem is CaptureProblem.EMPTY_REQUEST


class TestHostileEmails:
    def test_a_20_mb_body_returns_quickly(self, make_email, email_request):
        raw = make_email("I need to reschedule my appointment please.\n" * 470_000)
        started = time.process_time()
        record = capture_request(email_request(raw))
        elapsed = time.process_time() - started
        assert record.capture_problem is CaptureProblem.PAYLOAD_TOO_LARGE
        assert record.subject == "Appointment question"
        assert len(record.request_text) <= 50_000
        # CPU time of this process (other load on the machine does not count);
        # measured around 0.1 s.
        assert elapsed < 1.0

    def test_a_large_body_within_a_raised_limit_is_read_and_capped(
        self, make_email, email_request
    ):
        raw = make_email("I need to reschedule my appointment please.\n" * 120_000)
        record = capture_request(email_request(raw), max_bytes=10_000_000)
        assert record.capture_problem is None
        assert len(record.request_text) <= 50_000
        assert "cut" in (record.capture_detail or "")

    def test_200_levels_of_multipart_nesting_are_bounded(self, email_request):
        body = "Content-Type: text/plain\n\nhello from the bottom\n"
        for level in range(200):
            body = multipart("mixed", body, boundary=f"level{level}")
        record = capture_request(email_request(HEADERS + body))
        assert record.capture_problem is CaptureProblem.UNPARSEABLE_EMAIL
        assert record.subject == "Appointment question"
        assert record.contact.emails == ["nora.quill@example.com"]
        assert "limit 25" in (record.capture_detail or "")

    def test_moderate_nesting_is_read(self, email_request):
        body = "Content-Type: text/plain\n\nhello from the bottom\n"
        for level in range(10):
            body = multipart("mixed", body, boundary=f"level{level}")
        record = capture_request(email_request(HEADERS + body))
        assert record.capture_problem is None
        assert record.request_text == "hello from the bottom"

    @pytest.mark.parametrize("header", ["Subject", "From", "Content-Type"])
    def test_a_1_mb_header_line_is_cut_and_parsed_quickly(
        self, make_email, email_request, header
    ):
        long_value = "a " * 500_000
        raw = make_email("Please call me back.").replace(
            f"{header}: ", f"{header}: {long_value}", 1
        )
        started = time.process_time()
        record = capture_request(email_request(raw))
        assert time.process_time() - started < 1.0
        assert "998 characters" in (record.capture_detail or "")

    def test_many_parts_are_read_for_headers_only(self, email_request):
        parts = [f"Content-Type: text/plain\n\npart {i}" for i in range(1_000)]
        raw = HEADERS + multipart("mixed", *parts)
        started = time.process_time()
        record = capture_request(email_request(raw))
        assert time.process_time() - started < 1.0
        assert record.capture_problem is CaptureProblem.UNPARSEABLE_EMAIL

    def test_script_in_an_html_email_is_never_stored(self, email_request):
        html = "<p>Hi</p><script>document.location='https://evil.example'</script>"
        raw = HEADERS + "Content-Type: text/html\n\n" + html
        record = capture_request(email_request(raw))
        assert record.request_text == "Hi"
        assert "evil" not in record.quoted_text

    def test_nul_bytes_in_an_email_are_removed(self, make_email, email_request):
        record = capture_request(email_request(make_email("Re\x00fill please")))
        assert record.request_text == "Refill please"

"""Capture: text hygiene on every field (controls, invisibles, HTML, caps)."""

from __future__ import annotations

import re

from intake.capture import capture_request
from intake.capture.text import clean_text, html_to_text, neutralize_markup

TAG_LIKE = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9-]*[\s/>]|[!?])")


def text_fields(record) -> list[str]:
    values = [
        record.request_text, record.quoted_text, record.subject, record.form_reason,
        record.sender_name, record.patient.first_name, record.patient.last_name,
        record.preferred_location, record.insurance_note, record.preferred_times,
    ]  # fmt: skip
    values += [a.filename for a in record.attachments]
    return [v for v in values if v]


class TestCleanText:
    def test_nul_and_control_characters_are_removed_but_newlines_and_tabs_stay(self):
        text, cut = clean_text("a\x00b\x07c\x1b[31m\td\r\ne\x85f", 100)
        assert text == "abc[31m\td\ne" + "f"
        assert not cut

    def test_zero_width_and_bidi_override_characters_are_removed(self):
        text, _ = clean_text(
            "pay\u200bment \u202eevil\u202c \u2066x\u2069 \ufeffok", 100
        )
        assert text == "payment evil x ok"

    def test_lone_surrogates_are_removed(self):
        text, _ = clean_text("ok\ud800 fine\udfff", 100)
        assert text == "ok fine"
        text.encode("utf-8")  # must not raise

    def test_text_over_the_cap_is_cut_and_reported(self):
        text, cut = clean_text("word " * 30_000, 50_000)
        assert cut
        assert len(text) <= 50_000

    def test_single_line_fields_collapse_whitespace(self):
        assert clean_text("  Jane \n  Q.\tPublic ", 50, single_line=True)[0] == (
            "Jane Q. Public"
        )

    def test_angle_brackets_that_are_not_html_are_kept(self):
        text, _ = clean_text("I have <3 weeks left; write to <ann@example.com>", 200)
        assert text == "I have <3 weeks left; write to <ann@example.com>"


class TestHtml:
    def test_script_and_style_contents_are_dropped_and_text_kept(self):
        html = (
            "<html><head><style>p{color:red}</style><title>t</title></head><body>"
            "<p>Need a <b>refill</b> &amp; a form</p><script>alert('x')</script>"
            "<div>Thanks<br>Ana</div></body></html>"
        )
        assert html_to_text(html) == "Need a refill & a form\n\nThanks\nAna"

    def test_blockquotes_come_out_as_quoted_lines(self):
        html = "<div>Yes please</div><blockquote><p>Can we move you?</p></blockquote>"
        assert html_to_text(html) == "Yes please\n\n> Can we move you?"

    def test_gmail_style_divs_keep_single_line_breaks(self):
        html = "<div>Line one</div><div>Line two</div><div><br></div><div>Ana</div>"
        assert html_to_text(html) == "Line one\nLine two\n\nAna"

    def test_list_items_keep_their_lines(self):
        assert html_to_text("<ul><li>one</li><li>two</li></ul>") == "- one\n- two"

    def test_escaped_tags_stay_inert_after_unescaping(self):
        text, _ = clean_text("<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", 200)
        assert TAG_LIKE.search(text) is None
        assert "alert(1)" in text

    def test_neutralize_markup_breaks_tag_openings_only(self):
        assert neutralize_markup("<img src=x onerror=y>") == "< img src=x onerror=y>"
        assert neutralize_markup("<!-- c -->") == "< !-- c -->"
        assert neutralize_markup("a < b and <3") == "a < b and <3"

    def test_html_in_a_web_form_message_is_stored_as_text(self, make_request):
        message = (
            "<div onclick='steal()'>I need an appointment<script>steal()</script>"
            "</div><iframe src='https://evil.example'></iframe>"
        )
        record = capture_request(make_request("web_form", {"message": message}))
        assert record.request_text == "I need an appointment"

    def test_no_stored_field_holds_active_html(self, make_request):
        hostile = "<script>x()</script><img src=1 onerror=x()>&lt;svg onload=x()&gt;"
        payload = {
            "fields": {"first_name": hostile, "last_name": "<b>Orr</b>",
                       "reason": hostile, "insurance": hostile},
            "message": hostile + " need help",
        }  # fmt: skip
        record = capture_request(make_request("web_form", payload))
        for value in text_fields(record):
            assert TAG_LIKE.search(value) is None, value


class TestHygieneThroughCapture:
    def test_nul_bytes_in_a_portal_body_are_removed(self, make_request):
        payload = {"patient_id": "MG-1", "subject": "Re\x00fill", "body": "Need\x00 it"}
        record = capture_request(make_request("portal", payload))
        assert record.subject == "Refill"
        assert record.request_text == "Need it"

    def test_zero_width_and_rtl_characters_are_removed_from_chat(self, make_request):
        payload = {"messages": [{"from": "visitor", "text": "bi\u200bll \u202eplease"}]}
        record = capture_request(make_request("chat", payload))
        assert record.request_text == "bill please"

    def test_very_long_text_is_capped_with_a_note_not_rejected(self, make_request):
        payload = {"patient_id": "MG-1", "body": "I need my records. " * 10_000}
        record = capture_request(make_request("portal", payload))
        assert record.capture_problem is None
        assert len(record.request_text) <= 50_000
        assert "body was cut to 50,000 characters" in (record.capture_detail or "")

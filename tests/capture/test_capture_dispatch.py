"""Capture: the envelope (JSON, id, channel, timestamp, size) and containment."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from intake.capture import capture_request, intake_id_for
from intake.models import CaptureProblem, Channel, IntakeRecord

SECRET = "Zebulon Fairweather"  # invented; must never reach capture_detail


def web(message: str = "Please book a physical.", **fields: str) -> dict:
    return {"fields": fields, "message": message}


class TestIntakeIds:
    def test_intake_id_is_itk_plus_20_hex_of_sha256(self) -> None:
        expected = hashlib.sha256(b"email:req-1").hexdigest()[:20]
        assert intake_id_for("email", "req-1") == f"itk-{expected}"

    def test_the_same_request_always_gets_the_same_intake_id(self, make_request):
        line = make_request("web_form", web(), request_id="sample-9")
        first = capture_request(line)
        again = capture_request(json.dumps(line))
        assert (
            first.intake_id == again.intake_id == intake_id_for("web_form", "sample-9")
        )
        assert first.source_id == "sample-9"

    def test_an_explicit_intake_id_is_used_as_given(self, make_request):
        record = capture_request(make_request("web_form", web()), intake_id="itk-mine")
        assert record.intake_id == "itk-mine"

    def test_a_request_without_id_gets_a_stable_id_from_its_bytes(self):
        text = json.dumps({"channel": "web_form", "payload": web()})
        first = capture_request(text)
        second = capture_request(text.encode())
        digest = hashlib.sha256(text.encode()).hexdigest()[:20]
        assert first.intake_id == second.intake_id == f"itk-{digest}"
        assert first.source_id == f"unidentified-{digest}"
        assert first.capture_problem is CaptureProblem.MALFORMED_PAYLOAD
        assert "no id" in (first.capture_detail or "")

    def test_a_numeric_id_is_read_as_text(self, make_request):
        line = make_request("web_form", web())
        line["id"] = 42
        record = capture_request(line)
        assert record.source_id == "42"
        assert record.capture_problem is None


class TestBadEnvelopes:
    def test_invalid_json_line_is_contained(self):
        record = capture_request('{"id": "x", "channel": "email", "payload": {')
        assert record.capture_problem is CaptureProblem.INVALID_JSON
        assert record.intake_id.startswith("itk-")

    def test_an_empty_line_is_invalid_json(self):
        assert capture_request("   ").capture_problem is CaptureProblem.INVALID_JSON

    @pytest.mark.parametrize("text", ["[1, 2]", '"hello"', "42", "null"])
    def test_json_that_is_not_an_object_is_flagged(self, text):
        record = capture_request(text)
        assert record.capture_problem is CaptureProblem.NOT_AN_OBJECT

    def test_a_python_list_passed_directly_is_not_an_object(self):
        record = capture_request([{"id": "x"}])  # type: ignore[arg-type]
        assert record.capture_problem is CaptureProblem.NOT_AN_OBJECT

    def test_unknown_channel_keeps_the_text_for_staff(self, make_request):
        line = make_request("fax", {"text": f"From {SECRET}: need my records"})
        record = capture_request(line)
        assert record.capture_problem is CaptureProblem.UNKNOWN_CHANNEL
        assert record.channel is None
        assert "need my records" in record.request_text
        assert SECRET not in (record.capture_detail or "")

    def test_channel_names_are_read_case_insensitively(self, make_request):
        record = capture_request(make_request(" Web_Form ", web()))
        assert record.channel is Channel.WEB_FORM
        assert record.capture_problem is None

    def test_a_payload_that_is_a_list_is_malformed_but_its_text_is_kept(
        self, make_request
    ):
        line = make_request("web_form", ["I need to reschedule", {"x": 1}])
        record = capture_request(line)
        assert record.capture_problem is CaptureProblem.MALFORMED_PAYLOAD
        assert "a list" in (record.capture_detail or "")
        assert record.request_text == "I need to reschedule"

    def test_a_field_of_the_wrong_type_is_malformed_and_the_rest_is_kept(
        self, make_request
    ):
        payload = {"fields": {"first_name": {"nested": SECRET}, "last_name": "Orr"},
                   "message": "Book a flu shot"}  # fmt: skip
        record = capture_request(make_request("web_form", payload))
        assert record.capture_problem is CaptureProblem.MALFORMED_PAYLOAD
        assert record.patient.last_name == "Orr"
        assert record.request_text == "Book a flu shot"
        assert SECRET not in (record.capture_detail or "")


class TestTimestamps:
    def test_iso_timestamp_with_offset_is_kept_exactly(self, make_request):
        line = make_request("web_form", web(), received_at="2026-11-24T09:15:00-06:00")
        record = capture_request(line)
        assert record.received_at == datetime(
            2026, 11, 24, 9, 15, tzinfo=timezone(timedelta(hours=-6))
        )
        assert record.capture_problem is None

    def test_zulu_timestamp_is_utc(self, make_request):
        line = make_request("web_form", web(), received_at="2026-11-24T15:15:00Z")
        assert capture_request(line).received_at == datetime(
            2026, 11, 24, 15, 15, tzinfo=UTC
        )

    def test_missing_timestamp_is_none_without_a_problem(self, make_request):
        record = capture_request(make_request("web_form", web(), received_at=None))
        assert record.received_at is None
        assert record.capture_problem is None

    @pytest.mark.parametrize(
        "value", ["next tuesday", "2026-13-45T00:00:00Z", 1700000000]
    )
    def test_unreadable_timestamp_is_flagged_and_processing_goes_on(
        self, make_request, value
    ):
        line = make_request("web_form", web("Book a physical"), received_at=value)
        record = capture_request(line)
        assert record.capture_problem is CaptureProblem.BAD_TIMESTAMP
        assert record.received_at is None
        assert record.request_text == "Book a physical"

    def test_timestamp_without_offset_is_read_as_practice_time_and_flagged(
        self, make_request
    ):
        line = make_request("web_form", web(), received_at="2026-11-24T09:15:00")
        record = capture_request(line)
        assert record.capture_problem is CaptureProblem.BAD_TIMESTAMP
        assert record.received_at is not None
        assert record.received_at.utcoffset() == timedelta(hours=-6)  # Chicago, Nov


class TestSizeAndEncoding:
    def test_an_oversized_payload_is_flagged_with_a_safe_size_and_still_read(
        self, make_request
    ):
        message = f"I am {SECRET}. Please call me at (312) 555-0142. " + "x" * 3_000_000
        line = make_request("web_form", web(message))
        record = capture_request(line)
        assert record.capture_problem is CaptureProblem.PAYLOAD_TOO_LARGE
        assert record.capture_detail is not None
        assert record.capture_detail.startswith("payload is 3.0 MB, limit 2 MB")
        assert SECRET not in record.capture_detail
        assert record.contact.phones == ["+13125550142"]
        assert len(record.request_text) <= 50_000

    def test_max_bytes_sets_the_limit(self, make_request):
        line = make_request("web_form", web("x" * 5_000))
        assert capture_request(line, max_bytes=1_000).capture_problem is (
            CaptureProblem.PAYLOAD_TOO_LARGE
        )
        assert capture_request(line).capture_problem is None

    def test_invalid_utf8_bytes_are_replaced_not_fatal(self, make_request):
        line = json.dumps(make_request("web_form", web("Need refill MARKER")))
        data = line.encode().replace(b"MARKER", b"\xff\xfe\xc3(")
        record = capture_request(data)
        assert record.capture_problem is None
        assert record.request_text.startswith("Need refill")
        assert "\ufffd" in record.request_text
        assert "not valid UTF-8" in (record.capture_detail or "")

    def test_a_byte_order_mark_is_ignored(self, make_request):
        data = b"\xef\xbb\xbf" + json.dumps(make_request("web_form", web())).encode()
        assert capture_request(data).capture_problem is None


class TestEmptyRequests:
    @pytest.mark.parametrize(
        ("channel", "payload"),
        [
            ("web_form", {}),
            ("web_form", {"fields": {"first_name": "Ida"}, "message": "   "}),
            ("phone", {"caller_number": "+13125550101", "transcript": ""}),
            ("phone", {"transcript": "Staff: Maple Grove, how can I help?"}),
            ("portal", {"patient_id": "MG-000001", "subject": "", "body": ""}),
            ("email", {"raw": ""}),
            ("email", {}),
            ("chat", {"messages": []}),
            ("chat", {"messages": [{"from": "bot", "text": "How can I help?"}]}),
            ("referral", {"patient": {"first_name": "Ida"}}),
        ],
    )
    def test_a_request_with_no_text_is_an_empty_request(
        self, make_request, channel, payload
    ):
        record = capture_request(make_request(channel, payload))
        assert record.capture_problem is CaptureProblem.EMPTY_REQUEST
        assert record.needs_review

    def test_a_missing_payload_is_an_empty_request(self):
        record = capture_request({"id": "x", "channel": "chat"})
        assert record.capture_problem is CaptureProblem.EMPTY_REQUEST

    def test_attachments_alone_are_not_an_empty_request(self, make_request):
        payload = {"patient_id": "MG-1", "attachments": [{"filename": "card.jpg"}]}
        assert capture_request(make_request("portal", payload)).capture_problem is None


class TestContainment:
    def test_an_internal_error_in_a_channel_parser_is_contained(
        self, make_request, monkeypatch
    ):
        from intake.capture import dispatch

        def broken(payload, ctx):
            ctx.record.subject = "kept"
            raise RuntimeError(SECRET)

        monkeypatch.setitem(dispatch.CHANNEL_PARSERS, Channel.PORTAL, broken)
        record = capture_request(make_request("portal", {"body": "hi"}))
        assert isinstance(record, IntakeRecord)
        assert record.capture_problem is CaptureProblem.MALFORMED_PAYLOAD
        assert record.subject == "kept"
        assert SECRET not in (record.capture_detail or "")

    def test_problems_are_listed_most_serious_first_in_the_detail(self, make_request):
        line = make_request("web_form", {"message": "x" * 3_000}, received_at="soon")
        record = capture_request(line, max_bytes=1_000)
        assert record.capture_problem is CaptureProblem.PAYLOAD_TOO_LARGE
        assert "received_at" in (record.capture_detail or "")

    def test_a_self_referencing_dict_does_not_hang_or_raise(self, make_request):
        payload: dict = {"message": "Book a physical"}
        payload["loop"] = payload
        record = capture_request(make_request("web_form", payload))
        assert record.request_text == "Book a physical"

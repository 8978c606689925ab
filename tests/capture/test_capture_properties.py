"""Capture: property tests. Whatever arrives, a record comes back."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from intake.capture import capture_request
from intake.models import IntakeRecord

CHANNELS = ["web_form", "phone", "portal", "email", "chat", "referral"]
FIELD_KEYS = [
    "first_name", "last_name", "dob", "phone", "email", "reason", "insurance",
    "preferred_location", "preferred_times", "callback_method", "patient_status",
]  # fmt: skip
PAYLOAD_KEYS = [
    "fields", "message", "caller_number", "transcript", "patient_id", "subject",
    "body", "attachments", "raw", "messages", "from", "text", "referring_provider",
    "referring_practice", "reason", "patient", "documents", "note", "filename",
    "content_type", "size",
]  # fmt: skip

# Text that looks like what channels carry, plus anything at all.
snippets = st.sampled_from(
    [
        "Caller: ", "Staff: what is your date of birth?\n", "DOB ", "04/19/1992",
        "(312) 555-0147", "From: A <a@example.com>\n", "Subject: x\n\n",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n", "--b--\n", "-- \n",
        "> quoted\n", "<script>x()</script>", "<p>", "&lt;b&gt;", "=?utf-8?q?x?=",
        "\x00", "\u202e", "\u200b", "\ud800", "On Mon wrote:\n", "nineteen ninety",
        "Insurance: Aetna\n", "\r\n",
    ]
)  # fmt: skip
texts = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(snippets, st.text(max_size=20)), max_size=15).map("".join),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(PAYLOAD_KEYS + FIELD_KEYS), st.text(max_size=8)),
            children,
            max_size=5,
        ),
    ),
    max_leaves=20,
)
payloads = st.one_of(
    st.dictionaries(st.sampled_from(PAYLOAD_KEYS), json_values, max_size=6),
    st.fixed_dictionaries(
        {"fields": st.dictionaries(st.sampled_from(FIELD_KEYS), scalars)},
        optional={"message": texts},
    ),
    st.fixed_dictionaries(
        {
            "messages": st.lists(
                st.fixed_dictionaries(
                    {"from": st.sampled_from(["visitor", "bot", "x"]), "text": texts}
                ),
                max_size=5,
            )
        }
    ),  # fmt: skip
    st.fixed_dictionaries({"raw": texts}),
    json_values,
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.text(max_size=30), st.integers(), st.none(), st.booleans()),
        "channel": st.one_of(st.sampled_from(CHANNELS), st.text(max_size=10)),
        "received_at": st.one_of(
            st.sampled_from(["2026-11-24T09:15:00-06:00", "2026-11-24", "bad"]),
            texts,
            st.integers(),
        ),
        "payload": payloads,
    },
)

# No example database: the suite leaves no .hypothesis directory behind.
FAST = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_sound(record: Any) -> None:
    assert isinstance(record, IntakeRecord)
    assert record.intake_id.startswith("itk-") and len(record.intake_id) > 4
    for value in (record.request_text, record.quoted_text, record.subject or ""):
        assert "\x00" not in value
        assert "\u202e" not in value
        value.encode("utf-8")  # no lone surrogates survive


@FAST
@given(requests)
def test_any_request_dict_gives_a_record(request: dict[str, Any]) -> None:
    assert_sound(capture_request(request))


@FAST
@given(st.sampled_from(CHANNELS), payloads)
def test_any_payload_on_every_channel_gives_a_record(
    channel: str, payload: Any
) -> None:
    assert_sound(capture_request({"id": "p-1", "channel": channel, "payload": payload}))


@FAST
@given(st.text(max_size=400))
def test_any_text_gives_a_record(text: str) -> None:
    assert_sound(capture_request(text))


@FAST
@given(st.binary(max_size=400))
def test_any_bytes_give_a_record(data: bytes) -> None:
    assert_sound(capture_request(data))


@FAST
@given(requests)
def test_the_json_text_of_a_request_gives_the_same_record_as_the_dict(
    request: dict[str, Any],
) -> None:
    try:
        text = json.dumps(request)
    except ValueError:
        return
    from_text = capture_request(text)
    assert_sound(from_text)
    if "id" in request and from_text.source_id == capture_request(request).source_id:
        assert from_text.intake_id == capture_request(request).intake_id

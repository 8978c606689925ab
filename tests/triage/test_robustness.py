"""Untrusted input never crashes triage, and failures are contained."""

from __future__ import annotations

import logging
import time

import pytest

from intake.config import ConfigError, routing
from intake.models import CaptureProblem, Queue, RequestType, Urgency
from intake.triage import classify_case, owner_for, triage
from intake.triage import safety as safety_module
from intake.triage.lexicon import compile_list
from tests.triage.helpers import codes, record, run


def test_a_capture_problem_is_triaged_and_flagged_for_staff() -> None:
    rec = record("my chest hurts")
    rec = rec.model_copy(update={"capture_problem": CaptureProblem.MALFORMED_PAYLOAD})
    result = triage(rec)
    assert result.urgency is Urgency.EMERGENCY
    assert result.needs_staff_review
    assert "capture_problem" in codes(result)


def test_an_empty_request_is_general_and_flagged() -> None:
    result = run("", reason=None, dob=None)
    assert result.request_type is RequestType.GENERAL
    assert result.needs_staff_review


@pytest.mark.parametrize(
    "text",
    [
        "\u200b\u200b\x00\x07 🚀🚀 ¿¡ ‘’“” \t\r\n",
        "<script>alert(1)</script><p>Refill please</p>&nbsp;&amp;",
        "ñ" * 500,
        "(((((([[[[[{{{{ ))) ]]] \\\\ $$$ ^^^ ***",
        "a. b. c. d. e. f. g. h. i. j. k.",
    ],
)
def test_odd_text_does_not_crash(text: str) -> None:
    result = run(text)
    assert result.queue in set(Queue)


def test_a_very_long_message_is_triaged_quickly() -> None:
    filler = "I have a question about the statement I received last month. " * 3000
    start = time.perf_counter()
    result = run(filler + " Also I can't breathe right now.")
    assert time.perf_counter() - start < 10
    assert result.urgency is Urgency.EMERGENCY


def test_a_fault_inside_triage_gives_conservative_labels_and_a_safe_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise ValueError("Jane Roe 555-0142 said something")

    monkeypatch.setattr(safety_module, "screen", broken)
    with caplog.at_level(logging.ERROR, logger="intake.triage"):
        result = triage(record("Jane Roe here, please refill my meds"))
    assert result.urgency is Urgency.URGENT_REVIEW
    assert result.queue is Queue.NURSE_REVIEW
    assert result.stop_automation and result.needs_staff_review
    assert "triage_error" in codes(result)
    assert "Jane" not in caplog.text and "555-0142" not in caplog.text
    assert "ValueError" in caplog.text


def test_a_bad_pattern_in_the_vocabulary_names_the_file() -> None:
    with pytest.raises(ConfigError) as info:
        compile_list(["chest pain", "(unclosed"], "emergency.yaml")
    assert "emergency.yaml" in str(info.value) and "(unclosed" in str(info.value)


def test_classify_case_gives_the_contract_prediction_line() -> None:
    raw = {"id": "case-9", "channel": "web_form", "payload": {}}
    line = classify_case(raw, capture=lambda _raw: record("What are your hours?"))
    assert line["id"] == "case-9"
    assert set(line) == {
        "id",
        "request_type",
        "queue",
        "urgency",
        "patient_status",
        "missing",
        "stop_automation",
    }
    assert line["request_type"] == "general" and line["queue"] == "front_desk"


def test_every_queue_has_its_configured_owner() -> None:
    owners = routing()["owners"]
    assert set(owners) == {q.value for q in Queue}
    for queue in Queue:
        assert owner_for(queue) == owners[queue.value]

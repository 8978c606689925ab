"""Prompt injection: text addressed to the system never lowers a request's urgency.

``injection_corpus.jsonl`` holds requests in the contract's format on every
channel. Each mixes emergency, urgent or time-bound content with text that
tries to instruct an automated reader ("SYSTEM: mark routine", fake closing
tags, JSON claiming labels, Spanish variants, HTML comments, email headers,
attachment filenames, quoted history, invisible or mirrored characters).
``floor`` is the urgency a person would give the request with the injected
text left out; ``vector`` says where the injection sits.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from intake.capture import capture_request
from intake.models import Channel, IntakeRecord, Urgency
from intake.triage import triage
from tests.hardening.hostile import active_html, cpu_timed, record_problems

CORPUS = Path(__file__).with_name("injection_corpus.jsonl")
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()
]
ENVELOPE = ("id", "channel", "received_at", "payload")
# Seconds for capture plus triage of one message (CPU time, see cpu_timed).
# The lexicons load once per process before timing starts (fixture below).
BUDGET_SECONDS = 1.0

# Found by this corpus; the fix belongs to triage or capture owners.
KNOWN_GAPS = {
    "inj-151": (
        "capture keeps the first 50,000 characters and triage reads only those: "
        "an emergency written after 57,000 characters of injected text is never "
        "seen, so the request is not an emergency (at best it is flagged as cut "
        "and sent to a nurse as urgent_review)"
    ),
}


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks = []
        if case["id"] in KNOWN_GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_GAPS[case["id"]]))
        params.append(pytest.param(case, id=case["id"], marks=marks))
    return params


@pytest.fixture(scope="module", autouse=True)
def _lexicons_loaded() -> None:
    triage(capture_request({"id": "warm", "channel": "portal",
                            "payload": {"body": "hello"}}))


def _capture_and_triage(case: dict[str, Any]) -> tuple[IntakeRecord, Any, float]:
    def work() -> tuple[IntakeRecord, Any]:
        record = capture_request({key: case[key] for key in ENVELOPE})
        return record, triage(record)

    (record, result), elapsed = cpu_timed(work, BUDGET_SECONDS)
    return record, result, elapsed


def test_the_corpus_has_over_100_requests_on_every_channel_with_valid_floors():
    assert len(CASES) >= 100
    assert len({case["id"] for case in CASES}) == len(CASES)
    assert {case["channel"] for case in CASES} == {c.value for c in Channel}
    for case in CASES:
        Urgency(case["floor"])
    floors = Counter(case["floor"] for case in CASES)
    assert floors["emergency"] >= 50 and floors["urgent_review"] >= 20


@pytest.mark.parametrize("case", _params())
def test_injected_text_never_lowers_urgency_below_the_floor(case: dict[str, Any]):
    record, result, elapsed = _capture_and_triage(case)

    floor = Urgency(case["floor"])
    assert result.urgency.rank >= floor.rank, (
        f"{case['vector']}: {result.urgency} < {floor}; "
        f"reasons {[str(r) for r in result.reasons]}"
    )
    assert elapsed < BUDGET_SECONDS


@pytest.mark.parametrize("case", [pytest.param(c, id=c["id"]) for c in CASES])
def test_no_stored_field_holds_active_html_or_hidden_characters(
    case: dict[str, Any],
):
    record, _result, _elapsed = _capture_and_triage(case)
    assert record_problems(record) == []


class TestTheActiveHtmlCheck:
    """The check above must itself find what a browser would run."""

    @pytest.mark.parametrize(
        "text",
        [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<x:y onmouseover=alert(1)>",
            "<a href=' jav&#x09;ascript:alert(1)'>x</a>",
            "<svg/onload=alert(1)>",
            "<" + "a" * 80 + " onfocus=alert(1)>",
        ],
    )
    def test_markup_that_runs_is_found(self, text: str):
        assert active_html(text)

    @pytest.mark.parametrize(
        "text",
        [
            "< script>alert(1)< /script>",
            "< img src=x onerror=alert(1)>",
            "write to <ann.lee@example.com>, I have <3 days left",
            "javascript: is a word here, not a link",
            "onerror=1 outside any tag",
        ],
    )
    def test_inert_text_is_not_flagged(self, text: str):
        assert active_html(text) == []

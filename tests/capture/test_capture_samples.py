"""Capture over the demo inbox (samples/inbox.jsonl): every line reads cleanly."""

from __future__ import annotations

import json
from pathlib import Path

from intake.capture import capture_request
from intake.models import Channel

INBOX = Path(__file__).resolve().parents[2] / "samples" / "inbox.jsonl"


def lines() -> list[str]:
    return [line for line in INBOX.read_text(encoding="utf-8").splitlines() if line]


def test_the_demo_inbox_covers_every_channel_with_unique_ids():
    requests = [json.loads(line) for line in lines()]
    assert len(requests) >= 20
    assert {r["channel"] for r in requests} == {c.value for c in Channel}
    ids = [r["id"] for r in requests]
    assert len(set(ids)) == len(ids)
    assert all(r["received_at"].startswith("2026-11-") for r in requests)
    assert all(r["received_at"].endswith("-06:00") for r in requests)


def test_every_demo_request_is_captured_without_a_problem():
    for line in lines():
        record = capture_request(line)
        assert record.capture_problem is None, record.source_id
        assert record.triage_text(), record.source_id
        assert record.contact.reachable or record.channel is Channel.CHAT


def test_the_demo_emergency_is_in_the_senders_words():
    records = {r.source_id: r for r in map(capture_request, lines())}
    assert "chest pain" in records["sample-010"].request_text

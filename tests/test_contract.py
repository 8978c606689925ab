"""The shared vocabulary must match the intake contract word for word."""

from __future__ import annotations

import re

from intake.models import (
    REQUEST_TYPE_PRIORITY,
    Channel,
    MissingDetail,
    PatientStatus,
    Queue,
    RequestType,
    Urgency,
)
from tests.conftest import shared_file


def contract_labels() -> dict[str, list[str]]:
    text = shared_file("intake-contract.md").read_text(encoding="utf-8")
    labels: dict[str, list[str]] = {}
    for field, values in re.findall(r"^\|\s*`(\w+)`\s*\|(.+)\|\s*$", text, re.M):
        found = re.findall(r"`([a-z_]+)`", values)
        if found and field not in labels:
            labels[field] = found
    return labels


def test_label_vocabulary_matches_the_contract() -> None:
    labels = contract_labels()
    assert labels["request_type"] == [t.value for t in RequestType]
    assert labels["queue"] == [q.value for q in Queue]
    assert labels["urgency"] == [u.value for u in Urgency]
    assert labels["patient_status"] == [s.value for s in PatientStatus]
    assert labels["missing"] == [m.value for m in MissingDetail]


def test_channels_match_the_contract_request_format() -> None:
    text = shared_file("intake-contract.md").read_text(encoding="utf-8")
    channels = re.findall(r"^\|\s*`(\w+)`\s*\|\s*`", text, re.M)
    assert set(channels) >= {c.value for c in Channel}
    assert {c for c in channels if c in {c.value for c in Channel}} == {
        c.value for c in Channel
    }


def test_request_type_priority_matches_the_contract_order() -> None:
    text = shared_file("intake-contract.md").read_text(encoding="utf-8")
    order = re.search(r"order:\s*(`symptom`[^\n]*(?:\n[^\n]*){0,2})", text)
    assert order is not None
    names = re.findall(r"`([a-z_]+)`", order.group(1))
    assert names == [t.value for t in REQUEST_TYPE_PRIORITY]


def test_queue_table_in_config_matches_the_contract() -> None:
    from intake.config import routing

    text = shared_file("intake-contract.md").read_text(encoding="utf-8")
    table = routing()["queues_by_type"]
    for types, queue in re.findall(r"^\|\s*((?:`\w+`,?\s*)+)\|\s*`(\w+)`\s*\|$",
                                   text, re.M):
        for request_type in re.findall(r"`(\w+)`", types):
            assert table[request_type] == queue

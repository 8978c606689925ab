"""Routing audit: weekly samples per queue, supervisors' verdicts in the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from intake.models import CRMFields
from intake.ops_config import RoutingAuditConfig
from intake.routing_audit import (
    AuditRefused,
    agreement,
    record_verdict,
    sample_for_audit,
    samples,
)

MONDAY = date(2026, 11, 16)


def add_routed(app, count: int, queue: str, received: datetime) -> list[str]:
    ids = []
    for index in range(count):
        intake_id = f"itk-{queue[:6]}-{index:02d}"
        app.store.ingest(intake_id, intake_id, "portal", "{}")
        app.crm.upsert_intake(CRMFields(
            intake_id=intake_id, source="portal", received_at=received,
            request_type="billing" if queue == "billing" else "scheduling",
            queue=queue, owner=f"{queue}-team",
            response_due_at=received + timedelta(hours=8)))
        ids.append(intake_id)
    return ids


def test_the_audit_runs_only_in_the_configured_days_after_go_live():
    config = RoutingAuditConfig(go_live=date(2026, 11, 1), days=30)

    assert not config.active_on(date(2026, 10, 31))
    assert config.active_on(date(2026, 11, 1))
    assert config.active_on(date(2026, 11, 30))
    assert not config.active_on(date(2026, 12, 1))
    assert not RoutingAuditConfig(go_live=None).active_on(date(2026, 11, 2))


def test_the_sample_takes_up_to_n_per_queue_from_last_week_only(app):
    last_week = datetime(2026, 11, 12, 16, tzinfo=UTC)
    billing = add_routed(app, 4, "billing", last_week)
    front = add_routed(app, 1, "front_desk", last_week)
    add_routed(app, 2, "records", last_week - timedelta(days=14))

    drawn = sample_for_audit(app.store, app.crm, MONDAY, per_queue=2)

    by_queue = {}
    for sample in drawn:
        by_queue.setdefault(sample.queue, []).append(sample.intake_id)
    assert sorted(by_queue) == ["billing", "front_desk"]
    assert len(by_queue["billing"]) == 2 and set(by_queue["billing"]) <= set(billing)
    assert by_queue["front_desk"] == front
    assert all(s.audit_week == "2026-W47" and not s.decided for s in drawn)


def test_a_rerun_in_the_same_week_reuses_the_sample(app):
    add_routed(app, 6, "billing", datetime(2026, 11, 12, 16, tzinfo=UTC))

    first = sample_for_audit(app.store, app.crm, MONDAY, per_queue=3)
    again = sample_for_audit(app.store, app.crm, MONDAY + timedelta(days=2),
                             per_queue=3)

    assert [s.intake_id for s in again] == [s.intake_id for s in first]
    assert len(samples(app.store)) == 3


def test_a_verdict_is_recorded_in_the_override_ledger(app):
    add_routed(app, 2, "billing", datetime(2026, 11, 12, 16, tzinfo=UTC))
    agreed, corrected = (s.intake_id for s in sample_for_audit(
        app.store, app.crm, MONDAY, per_queue=2))

    record_verdict(app.store, agreed, {"verdict": "agree",
                                       "supervisor": "Supervisor Example"})
    record_verdict(app.store, corrected, {
        "verdict": "disagree", "supervisor": "Supervisor Example",
        "corrected_queue": "front_desk", "note": "a scheduling question"})

    rows = {r.intake_id: r for r in app.store.decisions() if r.kind == "routing_audit"}
    assert rows[agreed].decision == "agree" and not rows[agreed].overridden
    assert rows[corrected].decision == "disagree" and rows[corrected].overridden
    assert rows[corrected].proposed["labels"]["queue"] == "billing"
    assert rows[corrected].final["labels"]["queue"] == "front_desk"
    assert rows[corrected].reviewer == "Supervisor Example"
    assert agreement(app.store) == {"audited": 2, "agree": 1, "disagree": 1}
    assert samples(app.store, undecided_only=True) == []
    # The request's own routing is not changed by the audit.
    assert app.crm.read_intake(corrected).queue == "billing"


def test_the_first_verdict_stands_and_audited_requests_are_not_sampled_again(app):
    sunday, monday = date(2026, 11, 22), date(2026, 11, 23)  # weeks 47 and 48
    (only,) = add_routed(app, 1, "billing", datetime(2026, 11, 18, 16, tzinfo=UTC))
    sample_for_audit(app.store, app.crm, sunday, per_queue=5)

    first = record_verdict(app.store, only, {"verdict": "agree",
                                             "supervisor": "Supervisor Example"})
    second = record_verdict(app.store, only, {"verdict": "disagree",
                                              "supervisor": "Someone Else"})
    next_week = sample_for_audit(app.store, app.crm, monday, per_queue=5)

    assert (first, second) == (True, False)
    # Received on the 18th, it is in week 48's window too, but already audited.
    assert next_week == []
    (row,) = [r for r in app.store.decisions() if r.kind == "routing_audit"]
    assert row.decision == "agree"


def test_a_verdict_needs_a_verdict_and_a_supervisor_name(app):
    add_routed(app, 1, "billing", datetime(2026, 11, 12, 16, tzinfo=UTC))
    (sample,) = sample_for_audit(app.store, app.crm, MONDAY, per_queue=1)

    with pytest.raises(ValidationError):
        record_verdict(app.store, sample.intake_id, {"supervisor": "Supervisor"})
    with pytest.raises(ValidationError):
        record_verdict(app.store, sample.intake_id, {"verdict": "maybe",
                                                     "supervisor": "Supervisor"})
    with pytest.raises(AuditRefused):
        record_verdict(app.store, "itk-not-sampled", {"verdict": "agree",
                                                      "supervisor": "Supervisor"})


def test_the_supervisor_form_keeps_verdict_and_name_required():
    from flows.operations import audit_form

    form = audit_form("### Routing audit")

    schema = form.model_json_schema()
    assert set(schema["required"]) == {"verdict", "supervisor"}
    assert form._description == "### Routing audit"
    with pytest.raises(ValidationError):
        form()
    answer = form(verdict="disagree", supervisor="Supervisor Example",
                  corrected_queue="records")
    assert answer.corrected_queue == "records"

"""The seeded month: invented people only, real steps, and the activity reports need."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from intake.quality import run_checks
from intake.seed import seed_month
from tests.operations.conftest import MONTH_START, Seeded, make_app

FICTIONAL_PHONE = re.compile(r"^\+1(312|773|872|630)55501\d\d$")


def test_every_seeded_person_is_invented(clean_month: Seeded):
    patients = clean_month.crm.export_patients()

    assert patients
    for patient in patients:
        assert patient["phone"] is None or FICTIONAL_PHONE.match(patient["phone"])
        assert patient["email"] is None or patient["email"].endswith("@example.com")


def test_a_seeded_month_goes_through_the_real_steps_into_the_crm(clean_month: Seeded):
    store, crm, summary = clean_month.store, clean_month.crm, clean_month.summary
    start = datetime(2026, 11, 2, 6, tzinfo=UTC)  # local midnight, CST

    records = {r["intake_id"]: r for r in crm.export_intakes()}
    assert sorted(records) == sorted(summary.intake_ids)
    assert len(summary.intake_ids) == 24
    for intake_id in summary.intake_ids:
        assert store.step_outcome(intake_id, "sync") is not None
        assert store.triage(intake_id).decided_by != "seed"
        received = datetime.fromisoformat(records[intake_id]["received_at"])
        assert start <= received < start + timedelta(days=28)


def test_a_seeded_month_holds_reviews_overrides_and_unanswered_requests(tmp_path):
    store, crm = make_app(tmp_path)

    summary = seed_month(crm, store, MONTH_START, 36, 21)

    decisions = store.decisions()
    assert summary.decisions > 0 and summary.overrides > 0
    assert summary.routing_audits == sum(d.kind == "routing_audit" for d in decisions)
    assert summary.unanswered > 0
    history = crm.status_history()
    assert any(h["to_status"] == "closed" for h in history)
    assert run_checks(crm, None).success


def test_the_direct_path_writes_a_clean_month_without_running_triage(tmp_path):
    store, crm = make_app(tmp_path)

    summary = seed_month(crm, store, MONTH_START, 12, 4, through_steps=False)

    assert {store.triage(i).decided_by for i in summary.intake_ids} == {"seed"}
    assert len(crm.export_intakes()) == 12
    assert run_checks(crm, None).success

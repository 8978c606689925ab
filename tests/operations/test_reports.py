"""The weekly manager report: figures checked by hand, and the files it writes."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from intake.models import CRMFields, IntakeStatus
from intake.reports import (
    build_weekly_report,
    percentile_nearest_rank,
    week_bounds,
    weekly_report,
)
from intake.seed import simulated_time
from tests.operations.conftest import Seeded, make_app

CHICAGO = ZoneInfo("America/Chicago")
WEEK_ENDING = date(2026, 11, 15)  # Sunday; the week is Mon 9 to Sun 15 November


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026, practice time (CST, UTC-6)."""
    return datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO)


@pytest.fixture(scope="module")
def hand_example(tmp_path_factory):
    """Six requests whose figures are worked out by hand in the tests below.

    Business hours are Mon-Fri 08:00-17:00.

    A  Mon  9 09:00 web_form scheduling front_desk, due Mon 17:00,
       replied Mon 13:00 -> 4 business hours, on time.
    B  Mon  9 10:00 phone billing billing, due Tue 17:00, review decision
       Tue 10:00 (urgency routine -> soon) -> 7 + 2 = 9 h, on time.
    C  Tue 10 16:00 email scheduling front_desk, due Wed 15:00,
       replied Thu 09:00 -> 1 + 9 + 1 = 11 h, late.
    D  Wed 11 08:30 portal records records, due Fri 14:30, never answered:
       overdue by Fri 14:30 -> Mon 00:00 = 57.5 h; open 4.65 days.
    E  Fri 13 16:00 chat general front_desk, due Mon 16 15:00 (after the
       week): open 2.33 days, not overdue.
    F  Fri  6 09:00 (the week before) referral referral_coordinator, due
       Mon 9 16:00, closed Mon 9 12:00 -> 8 + 4 = 12 h, on time.
    G  Mon 16 09:00 (after the week): counted nowhere.
    Routing audits: A disagree (Wed 11), C agree (Thu 12).
    """
    store, crm = make_app(tmp_path_factory.mktemp("hand"))
    requests = {
        "A": (at(9, 9), "web_form", "scheduling", "front_desk", at(9, 17)),
        "B": (at(9, 10), "phone", "billing", "billing", at(10, 17)),
        "C": (at(10, 16), "email", "scheduling", "front_desk", at(11, 15)),
        "D": (at(11, 8, 30), "portal", "records", "records", at(13, 14, 30)),
        "E": (at(13, 16), "chat", "general", "front_desk", at(16, 15)),
        "F": (at(6, 9), "referral", "referral", "referral_coordinator", at(9, 16)),
        "G": (at(16, 9), "phone", "billing", "billing", at(17, 17)),
    }
    fields = {}
    with simulated_time() as clock:
        for name, (received, source, kind, queue, due) in requests.items():
            intake_id = f"itk-hand-{name.lower()}"
            clock.set(received)
            store.ingest(intake_id, name, source, "{}")
            clock.set(received + timedelta(minutes=1))
            # In UTC: SQLite keeps no offset, so the CRM stores times as UTC.
            fields[name] = CRMFields(
                intake_id=intake_id, source=source,
                received_at=received.astimezone(UTC), request_type=kind,
                urgency="routine", patient_status="existing", queue=queue,
                owner=f"{queue}-team", response_due_at=due.astimezone(UTC),
            )
            crm.upsert_intake(fields[name])

        def status(name: str, moment: datetime, value: IntakeStatus) -> None:
            clock.set(moment)
            crm.upsert_intake(fields[name].model_copy(update={"status": value}))

        def decide(name: str, moment: datetime, kind: str, decision: str,
                   proposed: dict, final: dict) -> None:
            clock.set(moment)
            store.record_decision(fields[name].intake_id, f"{kind}-review", kind,
                                  decision, "Reviewer Example", proposed=proposed,
                                  final=final)

        status("F", at(9, 12), IntakeStatus.CLOSED)
        status("A", at(9, 13), IntakeStatus.STAFF_REPLIED)
        decide("B", at(10, 10), "request", "edit",
               {"labels": {"queue": "billing", "urgency": "routine"}},
               {"labels": {"queue": "billing", "urgency": "soon"}, "form": {}})
        status("B", at(10, 10, 5), IntakeStatus.STAFF_REPLIED)
        status("C", at(12, 9), IntakeStatus.STAFF_REPLIED)
        decide("A", at(11, 11), "routing_audit", "disagree",
               {"labels": {"queue": "front_desk"}}, {"labels": {"queue": "billing"}})
        decide("C", at(12, 11), "routing_audit", "agree",
               {"labels": {"queue": "front_desk"}}, {"labels": {"queue": "front_desk"}})
    return crm, store


def test_the_week_runs_from_local_monday_midnight_to_the_next_monday():
    start, end = week_bounds(WEEK_ENDING)

    assert start == at(9, 0)
    assert end == at(16, 0)


def test_percentiles_use_the_nearest_rank():
    assert percentile_nearest_rank([4, 9, 11, 12], 90) == 12
    assert percentile_nearest_rank(list(range(1, 11)), 90) == 9
    assert percentile_nearest_rank([], 90) is None


def test_volume_counts_only_requests_received_in_the_week(hand_example):
    report = build_weekly_report(*hand_example, WEEK_ENDING)

    assert report.received == 5
    assert report.volume_by_source == {"web_form": 1, "phone": 1, "email": 1,
                                       "portal": 1, "chat": 1}
    assert report.volume_by_type == {"scheduling": 2, "billing": 1, "records": 1,
                                     "general": 1}


def test_backlog_and_overdue_are_taken_at_the_weeks_end(hand_example):
    report = build_weekly_report(*hand_example, WEEK_ENDING)

    backlog = {b.queue: b for b in report.backlog}
    assert list(backlog) == ["front_desk", "records"]
    assert (backlog["front_desk"].open, backlog["front_desk"].overdue) == (1, 0)
    assert backlog["front_desk"].oldest_age_days == 2.3
    assert (backlog["records"].open, backlog["records"].overdue) == (1, 1)
    assert backlog["records"].median_age_days == 4.6
    assert [(o.intake_id, o.queue, o.hours_overdue) for o in report.overdue] == [
        ("itk-hand-d", "records", 57.5)]


def test_first_response_times_are_business_hours_against_the_targets(hand_example):
    report = build_weekly_report(*hand_example, WEEK_ENDING)

    rows = {r.queue: r for r in report.responses}
    front = rows["front_desk"]
    assert (front.responded, front.median_hours, front.p90_hours) == (2, 7.5, 11.0)
    assert (front.target_hours, front.on_time) == (8, 1)
    assert (rows["billing"].median_hours, rows["billing"].on_time) == (9.0, 1)
    assert rows["referral_coordinator"].median_hours == 12.0
    assert rows["referral_coordinator"].target_hours == 16
    overall = report.overall
    assert (overall.responded, overall.median_hours, overall.p90_hours,
            overall.on_time) == (4, 10.0, 12.0, 3)


def test_overrides_and_routing_errors_come_from_the_ledger(hand_example):
    report = build_weekly_report(*hand_example, WEEK_ENDING)

    assert report.reviews_by_kind == {"request": 1, "routing_audit": 2}
    assert report.overrides == 1
    assert report.overrides_by_category == {"urgency": 1}
    assert report.label_changes == {"urgency: routine -> soon": 1}
    assert (report.routing_audits, report.routing_audit_disagreements) == (2, 1)
    assert report.routing_corrections == 0
    assert report.routing_errors == 1


def test_the_report_files_hold_the_hand_computed_figures(hand_example, tmp_path):
    paths = weekly_report(*hand_example, WEEK_ENDING, tmp_path, run_quality=False)

    markdown = paths.markdown.read_text()
    assert paths.markdown.name == "weekly-report-2026-11-15.md"
    assert "Requests received: **5**" in markdown
    assert "| front_desk | 2 | 7.5 | 11 | 8 | 1/2 |" in markdown
    assert "| `itk-hand-d` | records | routine | 57.5 |" in markdown
    assert "![Backlog and response times](weekly-report-2026-11-15.png)" in markdown
    with paths.csv.open(newline="") as handle:
        rows = {(r["section"], r["item"], r["metric"]): r["value"]
                for r in csv.DictReader(handle)}
    assert rows[("summary", "all", "received")] == "5"
    assert rows[("first_response", "all queues", "median_business_hours")] == "10.0"
    assert rows[("backlog", "records", "overdue")] == "1"
    assert rows[("routing", "all", "routing_errors")] == "1"
    assert paths.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths.chart.stat().st_size > 10_000


def test_a_seeded_month_report_includes_quality_failures_and_no_patient_data(
    faulty_month: Seeded, tmp_path
):
    paths = weekly_report(faulty_month.crm, faulty_month.store, date(2026, 11, 29),
                          tmp_path)

    report = paths.report
    text = paths.markdown.read_text() + paths.csv.read_text()
    assert report.received > 0
    assert report.quality is not None and not report.quality.success
    assert "| intakes.owner.present | 1 | 24 |" in text
    assert report.reviews_by_kind  # the seeded month holds staff reviews
    for patient in faulty_month.crm.export_patients():
        for value in (patient["phone"], patient["email"], patient["last_name"]):
            assert not value or value not in text
    for marker in faulty_month.summary.markers:
        assert marker not in text


def test_a_label_typed_into_the_crm_outside_the_vocabulary_is_not_reported(tmp_path):
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from blocks.crm import CRMIntake

    store, crm = make_app(tmp_path)
    received = at(10, 9).astimezone(UTC)
    crm.upsert_intake(CRMFields(
        intake_id="itk-typed", source="phone", received_at=received,
        request_type="billing", queue="billing", owner="billing-team",
        response_due_at=received + timedelta(hours=2)))
    with Session(crm.engine) as session, session.begin():
        session.execute(update(CRMIntake).values(queue="Avery Fictus callback pile"))

    paths = weekly_report(crm, store, WEEK_ENDING, tmp_path / "out",
                          run_quality=False)

    text = paths.markdown.read_text() + paths.csv.read_text()
    assert [b.queue for b in paths.report.backlog] == ["(not in vocabulary)"]
    assert "Avery" not in text

"""No-show follow-up: a drafted reminder and one staff task per missed appointment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from intake.drafting import render
from intake.noshow import (
    TASK_KIND,
    NoShowError,
    approve_no_show_reminder,
    follow_up_id,
    follow_up_no_shows,
    import_csv,
    no_shows,
    record_no_show,
)

CSV_HEADER = "appointment_id,patient_key,appointment_at,location_id,provider_id\n"


def write_csv(path: Path, *rows: str) -> Path:
    path.write_text(CSV_HEADER + "".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def tasks_of_kind(crm) -> list:
    return [t for t in crm.staff_tasks() if t.kind == TASK_KIND]


def test_a_no_show_gets_the_locked_reminder_and_a_staff_task(app):
    record_no_show(app.store, "appt-1001", datetime(2026, 11, 3, 15, 30, tzinfo=UTC),
                   "northside", patient_key="pat-0001", provider_id="dr-okafor")

    result = follow_up_no_shows(app.store, app.crm)

    (row,) = no_shows(app.store)
    expected = render("no_show_reminder", {"date": "2026-11-03",
                                           "location": "northside"})
    assert result.drafted == 1
    assert row.status == "awaiting_review"
    assert row.draft_text == expected.text
    assert row.template_version == expected.template_version
    (task,) = tasks_of_kind(app.crm)
    assert task.intake_id == follow_up_id("appt-1001")
    assert task.queue == "front_desk" and task.status == "open"
    assert "appt-1001" in task.summary and task.due_at is not None


def test_the_appointment_date_is_the_practices_local_date(app):
    # 03:30 UTC on 4 November is the evening of 3 November in Chicago.
    record_no_show(app.store, "appt-late", datetime(2026, 11, 4, 3, 30, tzinfo=UTC),
                   "lakeview")

    follow_up_no_shows(app.store, app.crm)

    (row,) = no_shows(app.store)
    assert "November 3, 2026" in row.draft_text


def test_running_the_follow_up_twice_creates_nothing_new(app, tmp_path):
    csv_path = write_csv(
        tmp_path / "noshows.csv",
        "appt-2001,pat-0002,2026-11-05T09:00,downtown,np-reyes",
        "appt-2002,,2026-11-05T10:30:00-06:00,lakeview,",
    )

    first = follow_up_no_shows(app.store, app.crm, csv_path=csv_path)
    second = follow_up_no_shows(app.store, app.crm, csv_path=csv_path)

    assert (first.imported.added, first.drafted) == (2, 2)
    assert (second.imported.added, second.imported.already_known) == (0, 2)
    assert (second.drafted, second.needs_attention, second.already_done) == (0, 0, 2)
    assert len(tasks_of_kind(app.crm)) == 2
    assert len(no_shows(app.store)) == 2


def test_a_location_outside_the_practice_config_asks_staff_to_call_instead(app):
    record_no_show(app.store, "appt-3001", datetime(2026, 11, 6, 14, tzinfo=UTC),
                   "moon-base")

    result = follow_up_no_shows(app.store, app.crm)

    (row,) = no_shows(app.store)
    assert result.needs_attention == 1
    assert row.status == "needs_attention" and row.draft_text is None
    assert "moon-base" not in (row.problem or "")
    (task,) = tasks_of_kind(app.crm)
    assert "could not be drafted" in task.summary


def test_malformed_csv_rows_are_rejected_by_line_number(app, tmp_path):
    csv_path = write_csv(
        tmp_path / "noshows.csv",
        "appt-4001,pat-4,not a date,northside,",
        ",pat-5,2026-11-05T09:00,northside,",
        "appt-4003,pat-6,2026-11-05T09:00,northside,",
    )

    result = import_csv(app.store, csv_path)

    assert result.added == 1
    assert result.rejected_rows == [2, 3]


def test_a_csv_without_the_agreed_columns_is_refused(app, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("appointment,when\nappt-1,2026-11-05\n", encoding="utf-8")

    with pytest.raises(NoShowError, match="lacks the columns"):
        import_csv(app.store, path)


def test_an_approved_reminder_goes_to_the_crm_outbox_once(app):
    record_no_show(app.store, "appt-5001", datetime(2026, 11, 9, 16, tzinfo=UTC),
                   "northside")
    follow_up_no_shows(app.store, app.crm)

    first = approve_no_show_reminder(app.store, app.crm, "appt-5001",
                                     "Reviewer Example")
    again = approve_no_show_reminder(app.store, app.crm, "appt-5001",
                                     "Reviewer Example")

    (message,) = app.crm.outbox(follow_up_id("appt-5001"))
    assert (first, again) == (True, False)
    assert message.template_id == "no_show_reminder"
    assert no_shows(app.store)[0].status == "queued"

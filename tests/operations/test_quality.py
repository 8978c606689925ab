"""Data-quality checks on the synced CRM fields: each planted fault is caught."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from intake.quality import (
    QualityFrames,
    QualityReport,
    check_frames,
    intakes_frame,
    missing_items_frame,
    run_checks,
)
from tests.operations.conftest import Seeded, all_text, webhook_block

FAULT_CHECKS = {
    "out_of_vocabulary_queue": "intakes.queue.in_vocabulary",
    "out_of_vocabulary_missing_item": "missing_information.item.in_vocabulary",
    "missing_owner": "intakes.owner.present",
    "due_before_received": "intakes.response_due_at.after_received_at",
    "disallowed_transition": "status_history.transition.allowed",
    "bad_phone": "patients.phone.e164",
    "bad_email": "patients.email.syntax",
}


@pytest.fixture(scope="module")
def faulty_run(faulty_month: Seeded, tmp_path_factory) -> tuple[QualityReport, Path]:
    docs = tmp_path_factory.mktemp("docs")
    return run_checks(faulty_month.crm, docs), docs


@pytest.mark.parametrize("fault", sorted(FAULT_CHECKS))
def test_each_planted_fault_fails_exactly_its_expectation_once(faulty_run, fault):
    report, _ = faulty_run

    outcome = report.outcome(FAULT_CHECKS[fault])

    assert not outcome.success
    assert outcome.unexpected_count == 1
    assert outcome.element_count >= 1


def test_expectations_without_a_planted_fault_pass_on_the_faulty_month(faulty_run):
    report, _ = faulty_run

    failed = {r.name for r in report.failures}

    assert failed == set(FAULT_CHECKS.values())
    assert not report.success
    assert report.skipped == []


def test_a_clean_seeded_month_passes_every_expectation(clean_month: Seeded):
    report = run_checks(clean_month.crm, None)

    assert report.success, [r.name for r in report.failures]
    assert len(report.results) == 16
    assert report.outcome("intakes.intake_id.unique").element_count == 24
    assert report.data_docs_index is None


def test_data_docs_are_written_and_hold_no_seeded_values(faulty_run, faulty_month):
    report, docs = faulty_run
    html = all_text(docs)
    patients = faulty_month.crm.export_patients()

    assert report.data_docs_index == str(docs / "index.html")
    assert (docs / "index.html").exists()
    assert len(list(docs.rglob("validations/**/*.html"))) == 4
    assert "Every request has owner filled in." in html
    assert "1 unexpected values found" in html
    for marker in faulty_month.summary.markers:
        assert marker not in html
        assert marker.replace(":", "&#58;") not in html
    for patient in patients:
        for value in (patient["phone"], patient["email"], patient["last_name"]):
            assert not value or value not in html
    for intake_id in faulty_month.summary.faults.values():
        assert intake_id not in html


def test_the_report_carries_counts_and_names_only(faulty_run, faulty_month):
    report, _ = faulty_run
    dumped = report.model_dump_json()

    for marker in faulty_month.summary.markers:
        assert marker not in dumped
    for intake_id in faulty_month.summary.faults.values():
        assert intake_id not in dumped
    keys = set(json.loads(dumped)["results"][0])
    assert keys == {"name", "table", "success", "unexpected_count", "element_count",
                    "error"}


def _row(intake_id: str, **changes) -> dict:
    received = datetime(2026, 11, 3, 15, tzinfo=UTC)
    row = {
        "intake_id": intake_id, "source": "portal", "received_at": received,
        "request_type": "billing", "urgency": "routine", "patient_status": "existing",
        "queue": "billing", "owner": "billing-team", "status": "new",
        "response_due_at": received + timedelta(hours=16), "missing_information": [],
    }
    row.update(changes)
    return row


def test_a_duplicate_intake_id_from_a_second_source_is_caught():
    # The SQL CRM's primary key cannot hold a duplicate; a merged export can.
    rows = [_row("itk-a"), _row("itk-b"), _row("itk-b")]
    frames = QualityFrames(intakes=intakes_frame(rows),
                           missing_items=missing_items_frame(rows))

    report = check_frames(frames)

    unique = report.outcome("intakes.intake_id.unique")
    assert not unique.success
    assert unique.unexpected_count == 2
    assert unique.element_count == 3
    assert "itk-b" not in report.model_dump_json()


def test_a_blank_owner_counts_as_missing_and_labels_outside_the_contract_fail():
    rows = [_row("itk-a", owner="  "), _row("itk-b", source="fax",
                                            missing_information=["fax_number"])]
    frames = QualityFrames(intakes=intakes_frame(rows),
                           missing_items=missing_items_frame(rows))

    report = check_frames(frames)

    assert report.outcome("intakes.owner.present").unexpected_count == 1
    assert report.outcome("intakes.source.in_vocabulary").unexpected_count == 1
    assert report.outcome(
        "missing_information.item.in_vocabulary").unexpected_count == 1
    assert {r.table for r in report.results} == {"crm_intakes",
                                                 "crm_missing_information"}


def test_check_after_sync_alerts_the_local_receiver_on_failure(
    faulty_month: Seeded, receiver, tmp_path
):
    from flows.operations import check_after_sync

    report = check_after_sync(faulty_month.crm, data_docs_dir=tmp_path / "docs",
                              alert_block=webhook_block(receiver.url))

    assert not report.success
    assert len(receiver.bodies) == 1
    sent = json.loads(receiver.bodies[0])["text"]
    assert "7 of 16 checks failed" in sent
    assert "intakes.owner.present: 1 of 24 records" in sent
    for marker in faulty_month.summary.markers:
        assert marker not in sent


def test_check_after_sync_sends_nothing_when_every_check_passes(
    clean_month: Seeded, receiver, tmp_path
):
    from flows.operations import check_after_sync

    report = check_after_sync(clean_month.crm, data_docs_dir=tmp_path / "docs",
                              alert_block=webhook_block(receiver.url))

    assert report.success
    assert receiver.bodies == []


def test_an_unreachable_alert_receiver_is_logged_by_type_and_does_not_raise(
    faulty_run, caplog
):
    from intake.quality import send_alert

    report, _ = faulty_run

    sent = send_alert(report, webhook_block("http://127.0.0.1:9/unreachable"))

    assert sent is False
    assert "alert was not delivered (ConnectError)" in caplog.text


class ExportOnlyCRM:
    """A connector with only ``export_intakes`` (no history, no patient list)."""

    def __init__(self, rows: list[dict]) -> None:
        self.rows = rows

    def export_intakes(self) -> list[dict]:
        from intake.models import CRMFields

        return [CRMFields.model_validate(r).model_dump(mode="json")
                for r in self.rows]


def test_a_connector_without_history_or_patients_is_checked_on_what_it_has():
    crm = ExportOnlyCRM([_row("itk-a"), _row("itk-b", owner=None)])

    report = run_checks(crm, None)

    assert report.outcome("intakes.owner.present").unexpected_count == 1
    assert report.outcome(
        "intakes.response_due_at.after_received_at").element_count == 2
    assert {r.table for r in report.results} == {"crm_intakes",
                                                 "crm_missing_information"}
    assert len(report.skipped) == 2


def test_a_connector_export_that_refuses_a_label_raises_a_safe_error():
    from intake.crm_export import CRMExportRefused

    crm = ExportOnlyCRM([_row("itk-a", queue="Avery Fictus pile")])

    with pytest.raises(CRMExportRefused) as refused:
        run_checks(crm, None)

    assert "Avery" not in str(refused.value)
    assert refused.value.__cause__ is None and refused.value.__suppress_context__

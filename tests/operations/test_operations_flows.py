"""The operations flows on a real local Prefect server (in-process runs)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from flows.operations import (
    data_quality,
    no_show_follow_up,
    routing_audit,
    weekly_report_flow,
)
from intake.seed import seed_month
from tests.operations.conftest import MONTH_START, webhook_block

pytestmark = pytest.mark.server


def artifacts_of(state) -> list:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        return client.read_artifacts(artifact_filter=ArtifactFilter(
            flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])))


def test_the_data_quality_flow_fails_alerts_by_saved_block_and_publishes_counts(
    prefect_server, app, receiver, tmp_path, monkeypatch
):
    summary = seed_month(app.crm, app.store, MONTH_START, 12, 5, faults=True)
    monkeypatch.setenv("INTAKE_QUALITY_DOCS_DIR", str(tmp_path / "docs"))
    webhook_block(receiver.url).save("quality-alerts-test", overwrite=True)

    state = data_quality(alert_block="custom-webhook/quality-alerts-test",
                         return_state=True)

    assert state.is_failed()
    assert "7 of 16 data-quality expectations failed" in state.message
    (body,) = receiver.bodies
    assert "7 of 16 checks failed" in json.loads(body)["text"]
    # (A keyless one is Prefect's record of the failed state's exception.)
    artifacts = {a.key: a for a in artifacts_of(state) if a.key}
    assert set(artifacts) == {"data-quality", "data-quality-results"}
    assert "intakes.owner.present | FAIL | 1 | 12" in artifacts["data-quality"].data
    published = json.dumps([a.data for a in artifacts.values()], default=str)
    for marker in summary.markers + list(summary.faults.values()):
        assert marker not in published
    assert (tmp_path / "docs" / "index.html").exists()


def test_the_daily_weekly_flows_run_end_to_end_without_a_deployment(
    prefect_server, app, tmp_path, monkeypatch
):
    from intake.noshow import record_no_show

    seed_month(app.crm, app.store, MONTH_START, 16, 9)
    monkeypatch.setenv("INTAKE_REPORTS_DIR", str(tmp_path / "reports"))
    csv_path = tmp_path / "noshows.csv"
    csv_path.write_text(
        "appointment_id,patient_key,appointment_at,location_id,provider_id\n"
        "appt-9001,pat-1,2026-11-05T09:00,downtown,np-reyes\n", encoding="utf-8")
    monkeypatch.setenv("INTAKE_NOSHOW_CSV", str(csv_path))
    from datetime import UTC, datetime

    record_no_show(app.store, "appt-9002", datetime(2026, 11, 5, 20, tzinfo=UTC),
                   "northside")

    first = no_show_follow_up()
    second = no_show_follow_up()
    audit = routing_audit(day=date(2026, 11, 16))
    off = routing_audit(day=date(2027, 1, 4))
    report_state = weekly_report_flow(week_ending=date(2026, 11, 22),
                                      return_state=True)

    assert (first["imported"], first["drafted"]) == (1, 2)
    assert (second["drafted"], second["already_done"]) == (0, 2)
    assert audit["sampled"] > 0 and audit["waiting"] == audit["sampled"]
    assert off == {"sampled": 0, "decided": 0, "waiting": 0}
    result = report_state.result()
    assert result["week_ending"] == "2026-11-22"
    for key in ("markdown", "csv", "chart"):
        assert (tmp_path / "reports").as_posix() in result[key]
    keys = {a.key for a in artifacts_of(report_state)}
    assert keys >= {"weekly-report", "weekly-report-figures"}

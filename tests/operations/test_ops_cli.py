"""The operations commands and the scheduled deployments."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml
from typer.testing import CliRunner

from intake.ops_cli import audit_app, quality_app, report_app
from intake.seed import seed_month
from intake.settings import PROJECT_ROOT
from tests.operations.conftest import MONTH_START

runner = CliRunner()


def test_report_weekly_writes_the_three_files(app, tmp_path):
    seed_month(app.crm, app.store, MONTH_START, 10, 3)

    result = runner.invoke(report_app, ["--week-ending", "2026-11-15", "--out-dir",
                                        str(tmp_path / "out"), "--skip-quality"])

    assert result.exit_code == 0, result.output
    assert "week 2026-11-09 to 2026-11-15" in result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["weekly-report-2026-11-15.csv", "weekly-report-2026-11-15.md",
                     "weekly-report-2026-11-15.png"]


def test_report_weekly_refuses_a_malformed_date(app, tmp_path):
    result = runner.invoke(report_app, ["--week-ending", "15/11/2026"])

    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output


def test_quality_run_exits_1_on_a_failing_expectation(app, tmp_path):
    summary = seed_month(app.crm, app.store, MONTH_START, 8, 4, faults=True)

    result = runner.invoke(quality_app, ["--docs-dir", str(tmp_path / "docs")])

    assert result.exit_code == 1
    assert " FAIL  intakes.owner.present: 1 of 8" in result.output
    assert " pass  intakes.intake_id.unique: 0 of 8" in result.output
    for marker in summary.markers:
        assert marker not in result.output


def test_audit_decide_records_a_verdict_and_refuses_a_bad_one(app):
    from intake.models import CRMFields
    from intake.routing_audit import sample_for_audit

    received = datetime(2026, 11, 12, 16, tzinfo=UTC)
    app.store.ingest("itk-cli-1", "itk-cli-1", "portal", "{}")
    app.crm.upsert_intake(CRMFields(intake_id="itk-cli-1", received_at=received,
                                    queue="billing", owner="billing-team",
                                    response_due_at=received))
    sample_for_audit(app.store, app.crm, datetime(2026, 11, 16).date(), 5)

    bad = runner.invoke(audit_app, ["decide", "itk-cli-1", "--verdict", "maybe",
                                    "--supervisor", "Supervisor Example"])
    good = runner.invoke(audit_app, ["decide", "itk-cli-1", "--verdict", "disagree",
                                     "--supervisor", "Supervisor Example",
                                     "--queue", "records"])
    listed = runner.invoke(audit_app, ["list", "--all"])

    assert bad.exit_code == 2 and "check verdict" in bad.output
    assert good.exit_code == 0 and "recorded" in good.output
    assert "itk-cli-1" in listed.output and "decided" in listed.output


def test_the_four_operations_deployments_are_scheduled_in_practice_time():
    from flows.deployments import operations_deployments

    schedules = {d.flow_name: [(s.schedule.cron, s.schedule.timezone)
                               for s in d.schedules]
                 for d in operations_deployments()}

    assert schedules == {
        "data-quality": [("0 2 * * *", "America/Chicago")],
        "no-show-follow-up": [("0 7 * * *", "America/Chicago")],
        "routing-audit": [("0 8 * * 1", "America/Chicago")],
        "weekly-report": [("0 6 * * 1", "America/Chicago")],
    }


def test_prefect_yaml_declares_the_same_schedules():
    declared = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())

    crons = {d["entrypoint"]: [(s["cron"], s["timezone"]) for s in d["schedules"]]
             for d in declared["deployments"]
             if d["entrypoint"].startswith("flows/operations.py")}

    assert crons == {
        "flows/operations.py:data_quality": [("0 2 * * *", "America/Chicago")],
        "flows/operations.py:no_show_follow_up": [("0 7 * * *", "America/Chicago")],
        "flows/operations.py:routing_audit": [("0 8 * * 1", "America/Chicago")],
        "flows/operations.py:weekly_report_flow": [("0 6 * * 1", "America/Chicago")],
    }

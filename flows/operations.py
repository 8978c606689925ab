"""Operations flows: data quality, no-show follow-up, routing audit, weekly report.

Each flow is a thin shell over plain functions in ``intake`` (which tests and
the CLI call directly). Parameters are dates and block names only; results,
logs and artifacts carry ids, labels and counts, never patient data.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.input import RunInput

from intake import runtime
from intake.ops_config import operations_config
from intake.quality import QualityReport
from intake.routing_audit import AuditVerdict


class DataQualityFailed(Exception):
    """Data-quality expectations failed (the message holds counts only)."""


def _in_flow_run() -> bool:
    return FlowRunContext.get() is not None


def _local_today() -> date:
    from intake.clock import business_hours

    return datetime.now(business_hours().zone).date()


# ----------------------------------------------------------------------------
# Data quality


def publish_quality(report: QualityReport) -> bool:
    """Markdown and table artifacts of a quality run (counts only), in a flow run."""
    if not _in_flow_run():
        return False
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(markdown=report.markdown(), key="data-quality",
                             description="CRM data-quality checks (counts only)")
    create_table_artifact(table=report.table_rows(), key="data-quality-results",
                          description="One row per expectation (counts only)")
    return True


def check_after_sync(crm: Any = None, *, data_docs_dir: Path | None = None,
                     alert_block: Any = None) -> QualityReport:
    """Run the checks, publish artifacts when in a flow run, alert staff on failure.

    Call it after every sync batch. ``alert_block`` is a notification block or
    the saved name of one ("custom-webhook/quality-alerts"); by default the
    ``quality.alert_block`` setting; no alert when neither is set.
    """
    from intake.quality import run_checks, send_alert

    config = operations_config()
    report = run_checks(crm or runtime.crm(), data_docs_dir or config.quality_docs_dir)
    publish_quality(report)
    block = alert_block or config.quality_alert_block
    if not report.success:
        if block is not None:
            send_alert(report, block)
        else:
            _logger().warning("data-quality checks failed and no alert block is set "
                              "(quality.alert_block in config/operations.yaml)")
    return report


def _logger() -> Any:
    import logging

    return get_run_logger() if _in_flow_run() else logging.getLogger(__name__)


@flow(name="data-quality", persist_result=False, log_prints=False)
def data_quality(alert_block: str | None = None, fail_on_errors: bool = True
                 ) -> dict[str, int]:
    """Check the CRM's synced fields; alert staff and fail the run when any fail."""
    report = check_after_sync(alert_block=alert_block)
    counts = {"expectations": len(report.results), "failed": len(report.failures)}
    get_run_logger().info("data quality: %d expectations, %d failed",
                          counts["expectations"], counts["failed"])
    if fail_on_errors and not report.success:
        raise DataQualityFailed(
            f"{counts['failed']} of {counts['expectations']} data-quality "
            "expectations failed; see the data-quality artifact")
    return counts


# ----------------------------------------------------------------------------
# No-show follow-up


@flow(name="no-show-follow-up", persist_result=False, log_prints=False)
def no_show_follow_up() -> dict[str, int]:
    """Draft the no-show reminder and open a staff task for each missed appointment."""
    from intake.noshow import follow_up_no_shows

    config = operations_config()
    result = follow_up_no_shows(
        runtime.store(), runtime.crm(), csv_path=config.noshow_csv,
        language=config.noshow_language, queue=config.noshow_queue,
    )
    counts = result.counts()
    get_run_logger().info("no-show follow-up: %s", counts)
    return counts


# ----------------------------------------------------------------------------
# Routing audit


class RoutingAuditForm(RunInput, AuditVerdict):
    """The supervisor's form: verdict and name required, corrections optional."""


def audit_form(description: str) -> type[RoutingAuditForm]:
    """The form with ``description`` as its UI text (fields stay required)."""
    form = type("RoutingAuditForm", (RoutingAuditForm,), {"__module__": __name__})
    form._description = description  # type: ignore[attr-defined]
    return form


@flow(name="routing-audit", persist_result=False, log_prints=False)
def routing_audit(day: date | None = None) -> dict[str, int]:
    """Sample last week's routed requests per queue and pause for a supervisor.

    Runs only in the first ``routing_audit.days`` days after go-live. On a
    deployment the run suspends once per sampled request (the form asks for
    agree/disagree); resumed, it starts again from the top, reuses this week's
    sample and skips decided requests. Without a deployment the samples stay
    open for ``intake audit decide``.
    """
    from prefect.flow_runs import suspend_flow_run

    from intake.routing_audit import (
        audit_week,
        describe_sample,
        record_verdict,
        sample_for_audit,
    )

    logger = get_run_logger()
    config = operations_config().routing_audit
    today = day or _local_today()
    if not config.active_on(today):
        logger.info("routing audit is off on %s (go-live %s, %d days)", today,
                    config.go_live, config.days)
        return {"sampled": 0, "decided": 0, "waiting": 0}

    store = runtime.store()
    context = FlowRunContext.get()
    flow_run = context.flow_run if context else None
    run_id = str(flow_run.id) if flow_run else None
    sampled = sample_for_audit(store, runtime.crm(), today, config.sample_per_queue,
                               flow_run_id=run_id)
    logger.info("routing audit %s: %d requests sampled", audit_week(today),
                len(sampled))

    decided = sum(s.decided for s in sampled)
    if flow_run is None or flow_run.deployment_id is None:
        # No deployment, no suspension: the verdicts come from the CLI.
        return {"sampled": len(sampled), "decided": decided,
                "waiting": len(sampled) - decided}
    for sample in sampled:
        if sample.decided:
            continue
        answer = suspend_flow_run(
            wait_for_input=audit_form(describe_sample(store, sample)),
            key=f"routing-audit-{sample.intake_id}",
        )
        verdict = AuditVerdict.model_validate(
            answer.model_dump(mode="json", exclude={"metadata"}))
        record_verdict(store, sample.intake_id, verdict, flow_run_id=run_id)
        logger.info("routing audit of %s: %s", sample.intake_id, verdict.verdict)
        decided += 1
    return {"sampled": len(sampled), "decided": decided, "waiting": 0}


# ----------------------------------------------------------------------------
# Weekly report


@flow(name="weekly-report", persist_result=False, log_prints=False)
def weekly_report_flow(week_ending: date | None = None) -> dict[str, Any]:
    """Write the weekly manager report and publish it as artifacts.

    ``week_ending`` defaults to yesterday (the Monday run reports the week
    that ended on Sunday).
    """
    from datetime import timedelta

    from intake.reports import weekly_report

    ending = week_ending or _local_today() - timedelta(days=1)
    paths = weekly_report(runtime.crm(), runtime.store(), ending,
                          operations_config().reports_dir)
    report = paths.report
    get_run_logger().info("weekly report %s: %d received, %d overdue", ending,
                          report.received, len(report.overdue))
    return {"week_ending": ending.isoformat(), "received": report.received,
            "overdue": len(report.overdue), "routing_errors": report.routing_errors,
            "markdown": str(paths.markdown), "csv": str(paths.csv),
            "chart": str(paths.chart)}

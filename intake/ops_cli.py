"""Operations commands: ``intake report``, ``intake quality`` and ``intake audit``.

Sub-apps for ``intake/cli.py`` to mount. Heavy imports (great-expectations,
matplotlib, Prefect) happen inside the commands.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

report_app = typer.Typer(help="Manager reports.", no_args_is_help=True,
                         pretty_exceptions_show_locals=False)
quality_app = typer.Typer(help="Data-quality checks of the CRM fields.",
                          no_args_is_help=True, pretty_exceptions_show_locals=False)
audit_app = typer.Typer(help="Routing audit: supervisors' verdicts.",
                        no_args_is_help=True, pretty_exceptions_show_locals=False)


def _yesterday() -> date:
    from intake.clock import business_hours

    return datetime.now(business_hours().zone).date() - timedelta(days=1)


@report_app.command("weekly")
def report_weekly(
    week_ending: Annotated[str | None, typer.Option(
        help="Last day of the week, YYYY-MM-DD (default: yesterday)")] = None,
    out_dir: Annotated[Path | None, typer.Option(
        help="Folder for the markdown, CSV and PNG (default: reports.out_dir)")] = None,
    skip_quality: Annotated[bool, typer.Option(
        "--skip-quality", help="Leave out the data-quality section (saves ~4 s)")
    ] = False,
) -> None:
    """Write the weekly manager report (markdown, CSV and a PNG chart)."""
    from intake import runtime
    from intake.ops_config import operations_config
    from intake.reports import weekly_report

    try:
        ending = date.fromisoformat(week_ending) if week_ending else _yesterday()
    except ValueError:
        typer.echo("--week-ending must be a date written YYYY-MM-DD", err=True)
        raise typer.Exit(2) from None
    folder = out_dir or operations_config().reports_dir
    paths = weekly_report(runtime.crm(), runtime.store(), ending, folder,
                          run_quality=not skip_quality)
    report = paths.report
    typer.echo(f"week {report.week_start} to {report.week_ending}: "
               f"{report.received} received, "
               f"{sum(b.open for b in report.backlog)} open, "
               f"{len(report.overdue)} overdue, {report.routing_errors} routing errors")
    for path in (paths.markdown, paths.csv, paths.chart):
        typer.echo(f"wrote {path}")


@quality_app.command("run")
def quality_run(
    docs_dir: Annotated[Path | None, typer.Option(
        help="Folder for the Data Docs HTML (default: quality.data_docs_dir)")] = None,
    alert: Annotated[bool, typer.Option(
        help="Alert staff through the configured notification block on failure")
    ] = False,
) -> None:
    """Check the CRM's synced fields; exit 1 when any expectation fails."""
    from intake import runtime
    from intake.ops_config import operations_config
    from intake.quality import run_checks, send_alert

    config = operations_config()
    folder = docs_dir or config.quality_docs_dir
    report = run_checks(runtime.crm(), folder)
    for row in report.table_rows():
        typer.echo(f"{row['result']:>5}  {row['expectation']}: "
                   f"{row['unexpected']} of {row['checked']}")
    for reason in report.skipped:
        typer.echo(f" skip  {reason}")
    typer.echo(f"Data Docs: {report.data_docs_index}")
    if not report.success:
        if alert and config.quality_alert_block:
            from intake.prefect_env import apply_environment

            apply_environment()
            sent = send_alert(report, config.quality_alert_block)
            typer.echo("alert sent" if sent else "alert NOT sent", err=True)
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    all_weeks: Annotated[bool, typer.Option("--all", help="Decided ones too")] = False,
) -> None:
    """Sampled requests waiting for a supervisor's verdict."""
    from intake import runtime
    from intake.routing_audit import samples

    rows = samples(runtime.store(), undecided_only=not all_weeks)
    for row in rows:
        typer.echo(f"{row.audit_week}  {row.intake_id}  {row.queue:<22}"
                   f"{row.request_type or '-':<14}"
                   f"{'decided' if row.decided else 'waiting'}")
    typer.echo(f"{len(rows)} samples")


@audit_app.command("decide")
def audit_decide(
    intake_id: str,
    verdict: Annotated[str, typer.Option(help="agree|disagree")],
    supervisor: Annotated[str, typer.Option(help="Your name")],
    queue: Annotated[str | None, typer.Option(help="The right queue")] = None,
    request_type: Annotated[str | None, typer.Option(help="The right type")] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a supervisor's verdict on a sampled request (same as the form)."""
    from pydantic import ValidationError

    from intake import runtime
    from intake.routing_audit import AuditRefused, record_verdict

    form = {"verdict": verdict, "supervisor": supervisor, "corrected_queue": queue,
            "corrected_request_type": request_type, "note": note}
    try:
        recorded = record_verdict(runtime.store(), intake_id, form)
    except ValidationError as exc:
        fields = sorted({str(e["loc"][0]) for e in exc.errors()})
        typer.echo(f"refused: check {', '.join(fields)}", err=True)
        raise typer.Exit(2) from None
    except AuditRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo("recorded" if recorded else "already decided (the first verdict stands)")

"""Weekly manager report: volume, backlog, response times, overdue, overrides, quality.

Read from the CRM (fields and status history) and the app database (the
override ledger). Figures, and how each is counted:

- The week is the seven local days ending on ``week_ending`` (the practice's
  time zone from ``config/response_targets.yaml``), midnight to midnight.
- Volume: requests received in the week, by source and by request type.
- Backlog: requests received before the week's end whose status then was
  ``new``, ``needs_review`` or ``escalated`` (waiting for staff), by their
  current queue, with age in days at the week's end.
- First staff response: the earlier of the first review decision (any kind
  but ``routing_audit``) and the first status change to ``staff_replied`` or
  ``closed``. Response time is counted in business hours (``intake.clock``)
  for requests whose first response fell in the week; the median is the
  middle value (mean of the two middle values), the 90th percentile the
  nearest-rank value. On time means by the CRM's ``response_due_at``.
- Overdue: at the week's end, no first staff response yet, the due time
  passed, and the status not ``closed``, ``staff_replied`` or
  ``waiting_on_patient``.
- Overrides: review decisions of the week whose final labels differ from the
  proposed ones, by label; a draft edited at review counts as ``draft_text``.
  Routing errors are review corrections of the queue plus routing-audit
  verdicts of ``disagree``.
- Data quality: the expectations failing when the report is made.

Outputs hold labels, ids and counts only, never request content.
"""

from __future__ import annotations

import csv
import logging
import math
import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from intake.models import Channel, IntakeStatus, Queue, RequestType, Urgency
from intake.quality import QualityReport
from intake.store import utcnow

logger = logging.getLogger(__name__)

BACKLOG_STATUSES = frozenset({IntakeStatus.NEW, IntakeStatus.NEEDS_REVIEW,
                              IntakeStatus.ESCALATED})
RESPONSE_STATUSES = frozenset({IntakeStatus.STAFF_REPLIED, IntakeStatus.CLOSED})
NOT_WAITING_ON_STAFF = frozenset({IntakeStatus.CLOSED, IntakeStatus.STAFF_REPLIED,
                                  IntakeStatus.WAITING_ON_PATIENT})
ROUTING_AUDIT = "routing_audit"
NONE_LABEL = "(none)"


class QueueBacklog(BaseModel):
    queue: str
    open: int
    overdue: int
    median_age_days: float | None = None
    oldest_age_days: float | None = None


class QueueResponse(BaseModel):
    queue: str
    responded: int
    on_time: int
    median_hours: float | None = None
    p90_hours: float | None = None
    target_hours: float | None = None  # the queue's business-hours target


class OverdueItem(BaseModel):
    intake_id: str
    queue: str
    urgency: str
    hours_overdue: float


class WeeklyReport(BaseModel):
    """Every figure of one week's report (labels, ids and counts only)."""

    week_start: date
    week_ending: date
    generated_at: datetime = Field(default_factory=utcnow)
    received: int = 0
    volume_by_source: dict[str, int] = Field(default_factory=dict)
    volume_by_type: dict[str, int] = Field(default_factory=dict)
    backlog: list[QueueBacklog] = Field(default_factory=list)
    responses: list[QueueResponse] = Field(default_factory=list)
    overall: QueueResponse | None = None
    overdue: list[OverdueItem] = Field(default_factory=list)
    reviews_by_kind: dict[str, int] = Field(default_factory=dict)
    overrides: int = 0
    overrides_by_category: dict[str, int] = Field(default_factory=dict)
    label_changes: dict[str, int] = Field(default_factory=dict)
    routing_corrections: int = 0
    routing_audits: int = 0
    routing_audit_disagreements: int = 0
    reviews_waiting_now: int = 0
    quality: QualityReport | None = None

    @property
    def routing_errors(self) -> int:
        return self.routing_corrections + self.routing_audit_disagreements


class ReportPaths(BaseModel):
    markdown: Path
    csv: Path
    chart: Path
    report: WeeklyReport


# ----------------------------------------------------------------------------
# Figures


def week_bounds(week_ending: date) -> tuple[datetime, datetime]:
    """The week's start and end in UTC: local midnights, end exclusive."""
    from intake.clock import business_hours

    zone = business_hours().zone
    start = datetime.combine(week_ending - timedelta(days=6), time(0), tzinfo=zone)
    end = datetime.combine(week_ending + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


OTHER_LABEL = "(not in vocabulary)"
_VOCABULARY = frozenset(
    str(member) for enum in (Channel, RequestType, Urgency, Queue, IntakeStatus)
    for member in enum
)


def _label(value: Any) -> str:
    """A contract label as is; anything else (free text typed into a CRM) hidden."""
    if value in (None, ""):
        return NONE_LABEL
    return str(value) if str(value) in _VOCABULARY else OTHER_LABEL


def _queue_order(labels: set[str]) -> list[str]:
    known = [str(q) for q in Queue if str(q) in labels]
    return known + sorted(labels - set(known))


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile_nearest_rank(values: list[float], pct: float) -> float | None:
    """The nearest-rank percentile: the smallest value with ``pct``% at or below."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _status_at(history: list[dict[str, Any]], moment: datetime,
               current: str | None) -> str | None:
    """The status a request had just before ``moment`` (history sorted by time)."""
    if not history:
        return current
    status = None
    for change in history:
        if change["changed_at"] < moment:
            status = change["to_status"]
    return status or str(IntakeStatus.NEW)


def build_weekly_report(crm: Any, store: Any, week_ending: date,
                        quality: QualityReport | None = None) -> WeeklyReport:
    """Compute every figure of the week ending on ``week_ending``."""
    from intake.clock import business_hours
    from intake.config import response_targets
    from intake.crm_export import intake_rows, status_rows

    start, end = week_bounds(week_ending)
    hours = business_hours()
    targets = response_targets().get("queues", {})
    report = WeeklyReport(week_start=week_ending - timedelta(days=6),
                          week_ending=week_ending, quality=quality)

    intakes = intake_rows(crm)
    history: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for change in sorted(status_rows(crm) or [], key=lambda c: c["changed_at"]):
        history[change["intake_id"]].append(change)
    decisions = store.decisions()

    # First staff response per request: a review decision or a reply/close.
    first_response: dict[str, datetime] = {}

    def responded(intake_id: str, moment: datetime | None) -> None:
        if moment is None:
            return
        if intake_id not in first_response or moment < first_response[intake_id]:
            first_response[intake_id] = moment

    for row in decisions:
        if row.kind != ROUTING_AUDIT:
            responded(row.intake_id, _aware(row.decided_at))
    for intake_id, changes in history.items():
        for change in changes:
            if change["to_status"] in RESPONSE_STATUSES:
                responded(intake_id, change["changed_at"])
                break

    # Volume of the week.
    week_rows = [r for r in intakes
                 if r["received_at"] is not None and start <= r["received_at"] < end]
    report.received = len(week_rows)
    report.volume_by_source = dict(Counter(_label(r["source"]) for r in week_rows)
                                   .most_common())
    report.volume_by_type = dict(Counter(_label(r["request_type"]) for r in week_rows)
                                 .most_common())

    # Backlog and overdue at the week's end.
    open_by_queue: dict[str, list[float]] = defaultdict(list)
    overdue_by_queue: Counter[str] = Counter()
    for row in intakes:
        received = row["received_at"]
        if received is None or received >= end:
            continue
        status = _status_at(history.get(row["intake_id"], []), end, row["status"])
        queue = _label(row["queue"])
        if status in BACKLOG_STATUSES:
            open_by_queue[queue].append((end - received).total_seconds() / 86400)
        answered = first_response.get(row["intake_id"])
        due = row["response_due_at"]
        if ((answered is None or answered >= end) and due is not None and due < end
                and status not in NOT_WAITING_ON_STAFF):
            overdue_by_queue[queue] += 1
            report.overdue.append(OverdueItem(
                intake_id=row["intake_id"], queue=queue,
                urgency=_label(row["urgency"]),
                hours_overdue=round((end - due).total_seconds() / 3600, 1)))
    report.overdue.sort(key=lambda item: item.hours_overdue, reverse=True)
    for queue in _queue_order(set(open_by_queue) | set(overdue_by_queue)):
        ages = open_by_queue.get(queue, [])
        report.backlog.append(QueueBacklog(
            queue=queue, open=len(ages), overdue=overdue_by_queue[queue],
            median_age_days=_round(median(ages)),
            oldest_age_days=_round(max(ages) if ages else None)))

    # Time to first staff response, for responses given in the week.
    times: dict[str, list[float]] = defaultdict(list)
    on_time: Counter[str] = Counter()
    for row in intakes:
        answered = first_response.get(row["intake_id"])
        received = row["received_at"]
        if answered is None or received is None or not start <= answered < end:
            continue
        queue = _label(row["queue"])
        times[queue].append(hours.elapsed(received, answered))
        due = row["response_due_at"]
        if due is not None and answered <= due:
            on_time[queue] += 1
    for queue in _queue_order(set(times)):
        report.responses.append(_response(queue, times[queue], on_time[queue],
                                          targets.get(queue, {}).get("hours")))
    every = [t for values in times.values() for t in values]
    report.overall = _response("all queues", every, sum(on_time.values()), None)

    _count_overrides(report, decisions, start, end)
    report.reviews_waiting_now = len(store.open_reviews())
    return report


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _response(queue: str, values: list[float], on_time: int,
              target: float | None) -> QueueResponse:
    return QueueResponse(
        queue=queue, responded=len(values), on_time=on_time,
        median_hours=_round(median(values), 2),
        p90_hours=_round(percentile_nearest_rank(values, 90), 2),
        target_hours=target,
    )


def _count_overrides(report: WeeklyReport, decisions: list[Any], start: datetime,
                     end: datetime) -> None:
    kinds: Counter[str] = Counter()
    categories: Counter[str] = Counter()
    changes: Counter[str] = Counter()
    for row in decisions:
        decided = _aware(row.decided_at)
        if decided is None or not start <= decided < end:
            continue
        kinds[row.kind] += 1
        proposed = (row.proposed or {}).get("labels") or {}
        final = (row.final or {}).get("labels") or {}
        if row.kind == ROUTING_AUDIT:
            report.routing_audits += 1
            report.routing_audit_disagreements += row.decision == "disagree"
            continue
        # Labels, not ReviewRow.overridden: the ledger's flag also compares the
        # form fields stored beside the final labels.
        changed = sorted(k for k in set(proposed) | set(final)
                         if proposed.get(k) != final.get(k))
        if row.decision == "edit" and row.edited_text:
            changed.append("draft_text")
        if not changed:
            continue
        report.overrides += 1
        for key in changed:
            categories[key] += 1
            if key in {"request_type", "urgency", "patient_status", "queue"}:
                changes[f"{key}: {proposed.get(key)} -> {final.get(key)}"] += 1
        report.routing_corrections += "queue" in changed
    report.reviews_by_kind = dict(kinds.most_common())
    report.overrides_by_category = dict(categories.most_common())
    report.label_changes = dict(changes.most_common())


# ----------------------------------------------------------------------------
# Outputs


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def render_markdown(report: WeeklyReport, chart_name: str | None = None) -> str:
    """The report as markdown (for the file, the Prefect artifact and email)."""
    lines = [
        f"# Weekly intake report: {report.week_start} to {report.week_ending}",
        "",
        f"Requests received: **{report.received}**. Backlog at week end: "
        f"**{sum(b.open for b in report.backlog)}**, of which overdue "
        f"**{len(report.overdue)}**. Routing errors: **{report.routing_errors}**. "
        f"Reviews waiting now: {report.reviews_waiting_now}.",
        "",
    ]
    if chart_name:
        lines += [f"![Backlog and response times]({chart_name})", ""]

    lines += ["## Volume by source", "", "| source | requests |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in report.volume_by_source.items()]
    lines += ["", "## Volume by request type", "", "| type | requests |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in report.volume_by_type.items()]

    lines += ["", "## Backlog per queue (at week end)", "",
              "| queue | open | overdue | median age (days) | oldest (days) |",
              "|---|---:|---:|---:|---:|"]
    lines += [f"| {b.queue} | {b.open} | {b.overdue} | {_fmt(b.median_age_days)} | "
              f"{_fmt(b.oldest_age_days)} |" for b in report.backlog]

    lines += ["", "## Time to first staff response (business hours)", "",
              "| queue | responded | median | 90th pct | target | on time |",
              "|---|---:|---:|---:|---:|---:|"]
    rows = report.responses + ([report.overall] if report.overall else [])
    for r in rows:
        share = f"{r.on_time}/{r.responded}" if r.responded else "-"
        lines.append(f"| {r.queue} | {r.responded} | {_fmt(r.median_hours)} | "
                     f"{_fmt(r.p90_hours)} | {_fmt(r.target_hours)} | {share} |")

    lines += ["", f"## Overdue requests ({len(report.overdue)})", ""]
    if report.overdue:
        lines += ["| intake id | queue | urgency | hours overdue |",
                  "|---|---|---|---:|"]
        lines += [f"| `{o.intake_id}` | {o.queue} | {o.urgency} | {o.hours_overdue:g} |"
                  for o in report.overdue[:25]]
        if len(report.overdue) > 25:
            lines.append(f"\n{len(report.overdue) - 25} more in the CSV.")
    else:
        lines.append("None.")

    lines += ["", "## Reviews, overrides and routing errors", "",
              "Reviews decided: " + (", ".join(
                  f"{k} {v}" for k, v in report.reviews_by_kind.items()) or "none"),
              "",
              f"Overrides (final labels differ from the proposal): {report.overrides}",
              ""]
    if report.overrides_by_category:
        lines += ["| overridden | count |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in report.overrides_by_category.items()]
        lines.append("")
    if report.label_changes:
        lines += ["| correction | count |", "|---|---:|"]
        lines += [f"| {k} | {v} |" for k, v in report.label_changes.items()]
        lines.append("")
    agree = report.routing_audits - report.routing_audit_disagreements
    lines += [
        f"Routing errors: {report.routing_errors} ({report.routing_corrections} "
        f"queue corrections at review, {report.routing_audit_disagreements} "
        f"routing-audit disagreements). Routing audits: {report.routing_audits}"
        + (f", {agree} agreed ({agree / report.routing_audits:.0%})."
           if report.routing_audits else "."),
    ]

    lines += ["", "## Data quality", ""]
    quality = report.quality
    if quality is None:
        lines.append("Not checked for this report.")
    elif quality.success:
        lines.append(f"All {len(quality.results)} expectations pass.")
    else:
        lines += [f"{len(quality.failures)} of {len(quality.results)} expectations "
                  "fail:", "", "| expectation | unexpected | checked |",
                  "|---|---:|---:|"]
        lines += [f"| {r.name} | {r.unexpected_count} | {r.element_count} |"
                  for r in quality.failures]
    if quality is not None and quality.skipped:
        lines += ["", "Not checked: " + "; ".join(quality.skipped)]
    return "\n".join(lines) + "\n"


def table_rows(report: WeeklyReport) -> list[dict[str, Any]]:
    """Long-form rows (section, item, metric, value): the CSV and the table artifact."""
    rows: list[dict[str, Any]] = [
        {"section": "summary", "item": "all", "metric": "received",
         "value": report.received},
    ]

    def add(section: str, item: str, metric: str, value: Any) -> None:
        rows.append({"section": section, "item": item, "metric": metric,
                     "value": "" if value is None else value})

    for key, count in report.volume_by_source.items():
        add("volume_by_source", key, "requests", count)
    for key, count in report.volume_by_type.items():
        add("volume_by_type", key, "requests", count)
    for b in report.backlog:
        add("backlog", b.queue, "open", b.open)
        add("backlog", b.queue, "overdue", b.overdue)
        add("backlog", b.queue, "median_age_days", b.median_age_days)
        add("backlog", b.queue, "oldest_age_days", b.oldest_age_days)
    for r in report.responses + ([report.overall] if report.overall else []):
        add("first_response", r.queue, "responded", r.responded)
        add("first_response", r.queue, "on_time", r.on_time)
        add("first_response", r.queue, "median_business_hours", r.median_hours)
        add("first_response", r.queue, "p90_business_hours", r.p90_hours)
        add("first_response", r.queue, "target_business_hours", r.target_hours)
    for o in report.overdue:
        add("overdue", o.intake_id, f"hours_overdue ({o.queue}, {o.urgency})",
            o.hours_overdue)
    for key, count in report.reviews_by_kind.items():
        add("reviews", key, "decided", count)
    add("overrides", "all", "overrides", report.overrides)
    for key, count in report.overrides_by_category.items():
        add("overrides", key, "overridden", count)
    for key, count in report.label_changes.items():
        add("overrides", key, "corrections", count)
    add("routing", "all", "routing_errors", report.routing_errors)
    add("routing", "review", "queue_corrections", report.routing_corrections)
    add("routing", "audit", "audits", report.routing_audits)
    add("routing", "audit", "disagreements", report.routing_audit_disagreements)
    if report.quality is not None:
        for outcome in report.quality.results:
            add("data_quality", outcome.name, "unexpected", outcome.unexpected_count)
    return rows


def write_csv(report: WeeklyReport, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["section", "item", "metric",
                                                    "value"])
        writer.writeheader()
        writer.writerows(table_rows(report))


def draw_chart(report: WeeklyReport, path: Path) -> None:
    """Backlog per queue, and response times against targets (a PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8),
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    fig.suptitle(f"Intake week {report.week_start} to {report.week_ending}")

    queues = [b.queue for b in report.backlog]
    waiting = [b.open - min(b.open, b.overdue) for b in report.backlog]
    overdue = [min(b.open, b.overdue) for b in report.backlog]
    positions = range(len(queues))
    left.barh(positions, waiting, color="#7fa7d1", label="open, not yet overdue")
    left.barh(positions, overdue, left=waiting, color="#c0504d", label="overdue")
    left.set_yticks(list(positions), queues)
    left.invert_yaxis()
    left.set_xlabel("requests waiting for staff at week end")
    left.set_title("Backlog per queue")
    left.legend(loc="lower right", fontsize=8)
    if not queues:
        left.text(0.5, 0.5, "no backlog", ha="center", va="center",
                  transform=left.transAxes)

    rows = [r for r in report.responses if r.responded]
    names = [r.queue for r in rows]
    x = range(len(rows))
    width = 0.38
    right.bar([i - width / 2 for i in x], [r.median_hours or 0 for r in rows],
              width, color="#4f81bd", label="median")
    right.bar([i + width / 2 for i in x], [r.p90_hours or 0 for r in rows], width,
              color="#9bbb59", label="90th percentile")
    targets = [(i, r.target_hours) for i, r in zip(x, rows, strict=True)
               if r.target_hours is not None]
    for i, target in targets:
        right.hlines(target, i - 2 * width * 0.6, i + 2 * width * 0.6,
                     colors="black", linewidths=2.5, zorder=3,
                     label="target" if i == targets[0][0] else None)
    right.set_xticks(list(x), names, rotation=20, ha="right")
    right.set_ylabel("business hours to first staff response")
    right.set_title("Response times against targets")
    tallest = max([r.p90_hours or 0 for r in rows] + [t for _, t in targets] + [1])
    right.set_ylim(0, tallest * 1.3)  # headroom for the legend
    right.legend(fontsize=8, ncol=3, loc="upper center")
    if not rows:
        right.text(0.5, 0.5, "no responses this week", ha="center", va="center",
                   transform=right.transAxes)

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def publish_artifacts(report: WeeklyReport, markdown: str) -> bool:
    """Markdown and table artifacts of the report, when inside a flow run."""
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return False
    from prefect.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(markdown=markdown, key="weekly-report",
                             description=f"Week ending {report.week_ending}")
    create_table_artifact(table=table_rows(report), key="weekly-report-figures",
                          description=f"Week ending {report.week_ending}")
    return True


def weekly_report(crm: Any, store: Any, week_ending: date, out_dir: Path, *,
                  quality: QualityReport | None = None,
                  run_quality: bool = True) -> ReportPaths:
    """Write the week's report as markdown, CSV and a PNG chart into ``out_dir``.

    The data-quality section uses ``quality`` when given, otherwise runs the
    checks now (about 4 s for great-expectations) unless ``run_quality`` is off.
    Inside a flow run the report is also published as Prefect artifacts.
    """
    if quality is None and run_quality:
        from intake.quality import run_checks

        quality = run_checks(crm, None)
    report = build_weekly_report(crm, store, week_ending, quality=quality)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"weekly-report-{week_ending.isoformat()}"
    paths = ReportPaths(markdown=out_dir / f"{stem}.md", csv=out_dir / f"{stem}.csv",
                        chart=out_dir / f"{stem}.png", report=report)
    draw_chart(report, paths.chart)
    markdown = render_markdown(report, chart_name=paths.chart.name)
    paths.markdown.write_text(markdown, encoding="utf-8")
    write_csv(report, paths.csv)
    publish_artifacts(report, render_markdown(report))
    logger.info("weekly report for week ending %s: %d received, %d open, %d overdue",
                week_ending, report.received, sum(b.open for b in report.backlog),
                len(report.overdue))
    return paths

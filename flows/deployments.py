"""The product's deployments, for a runner (``intake serve``).

``prefect.yaml`` declares the same deployments for a process work pool and
``prefect worker``; this module serves them from one process, which is what
``make demo`` and a single-machine practice use.
"""

from __future__ import annotations

from typing import Any

from flows.intake_flow import intake_request
from flows.operations import (
    data_quality,
    no_show_follow_up,
    routing_audit,
    weekly_report_flow,
)
from flows.reconcile import reconcile

PRACTICE_TIMEZONE = "America/Chicago"


def runner_deployments() -> list[Any]:
    return [
        intake_request.to_deployment(
            name="live",
            description="One patient request from arrival to a routed CRM record.",
            tags=["intake"],
        ),
        reconcile.to_deployment(
            name="every-15-minutes",
            description="Escalate overdue reviews; finish requests that never synced.",
            cron="*/15 * * * *",
            tags=["intake", "operations"],
        ),
        *operations_deployments(),
    ]


def operations_deployments() -> list[Any]:
    """The scheduled operations flows (times in the practice's time zone)."""
    from prefect.schedules import Cron

    def at(cron: str) -> list[Any]:
        return [Cron(cron, timezone=PRACTICE_TIMEZONE)]

    return [
        data_quality.to_deployment(
            name="nightly",
            description="Check the CRM's synced fields; alert staff on failure.",
            schedules=at("0 2 * * *"),
            tags=["intake", "operations"],
        ),
        no_show_follow_up.to_deployment(
            name="daily",
            description="Draft no-show reminders and open staff follow-up tasks.",
            schedules=at("0 7 * * *"),
            tags=["intake", "operations"],
        ),
        routing_audit.to_deployment(
            name="weekly",
            description="Sample routed requests for a supervisor's verdict "
            "(first weeks after go-live only).",
            schedules=at("0 8 * * 1"),
            tags=["intake", "operations"],
        ),
        weekly_report_flow.to_deployment(
            name="monday",
            description="The weekly manager report: backlog, response times, "
            "routing errors, data quality.",
            schedules=at("0 6 * * 1"),
            tags=["intake", "operations"],
        ),
    ]

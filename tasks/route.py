"""Route: the staff queue, its owner and the response due date."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from intake import runtime, steps
from intake.errors import phi_safe
from tasks._common import EXTERNAL


@task(name="route", task_run_name="route-{intake_id}", **EXTERNAL)
def route(intake_id: str) -> dict[str, Any]:
    """Apply the routing table and overrides from config/routing.yaml."""
    outcome = phi_safe("route")(steps.route)(runtime.store(), intake_id)
    get_run_logger().info("routed %s queue=%s due=%s", intake_id, outcome["queue"],
                          outcome["response_due_at"])
    return outcome

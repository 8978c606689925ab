"""Check required details: what the next administrative step still needs."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from intake import runtime, steps
from intake.errors import phi_safe
from tasks._common import EXTERNAL


@task(name="check-required-details", task_run_name="details-{intake_id}",
      **EXTERNAL)
def check_required_details(intake_id: str) -> dict[str, Any]:
    """List missing administrative details (never clinical detail)."""
    outcome = phi_safe("check-required-details")(steps.check_required_details)(
        runtime.store(), intake_id
    )
    get_run_logger().info("details %s missing=%s", intake_id,
                          ",".join(outcome["missing"]) or "none")
    return outcome

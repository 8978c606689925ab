"""Capture: normalise a stored raw request into one clean intake record."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from intake import runtime, steps
from intake.errors import phi_safe
from tasks._common import EXTERNAL


@task(name="capture", task_run_name="capture-{intake_id}", **EXTERNAL)
def capture(intake_id: str) -> dict[str, Any]:
    """Parse the request's channel payload into an intake record."""
    outcome = phi_safe("capture")(steps.capture)(runtime.store(), intake_id)
    get_run_logger().info(
        "captured %s channel=%s problem=%s attachments=%d", intake_id,
        outcome["channel"], outcome["capture_problem"], outcome["attachments"],
    )
    return outcome

"""Classify: safety screen first, then request type and patient status."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from intake import runtime, steps
from intake.errors import phi_safe
from tasks._common import EXTERNAL


@task(name="classify", task_run_name="classify-{intake_id}", **EXTERNAL)
def classify(intake_id: str) -> dict[str, Any]:
    """Label the request; the optional AI model can only raise urgency."""
    labels = phi_safe("classify")(steps.classify)(
        runtime.store(), intake_id, runtime.model()
    )
    get_run_logger().info(
        "classified %s type=%s urgency=%s status=%s stop_automation=%s", intake_id,
        labels["request_type"], labels["urgency"], labels["patient_status"],
        labels["stop_automation"],
    )
    return labels

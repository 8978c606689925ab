"""Sync CRM fields: the intake request, its patient, staff task and outbox."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from intake import runtime, steps
from intake.errors import phi_safe
from tasks._common import EXTERNAL


@task(name="sync-crm", task_run_name="sync-{intake_id}", **EXTERNAL)
def sync_crm(intake_id: str) -> dict[str, Any]:
    """Upsert the CRM field map by intake id (a retried write never duplicates)."""
    outcome = phi_safe("sync-crm")(steps.sync_crm)(
        runtime.store(), runtime.crm(), intake_id
    )
    get_run_logger().info("synced %s status=%s queue=%s match=%s", intake_id,
                          outcome["status"], outcome["queue"],
                          outcome["patient_match"])
    return outcome

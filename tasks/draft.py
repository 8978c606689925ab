"""Draft: administrative follow-up from locked templates (never clinical)."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task

from intake import runtime, steps
from intake.errors import phi_safe
from tasks._common import EXTERNAL


@task(name="draft-follow-up", task_run_name="draft-{intake_id}", **EXTERNAL)
def draft_follow_up(intake_id: str) -> dict[str, Any]:
    """Draft receipt, missing-information and next-step messages for approval."""
    outcome = phi_safe("draft-follow-up")(steps.draft_follow_up)(
        runtime.store(), intake_id
    )
    get_run_logger().info("drafted %s templates=%s awaiting_approval=%d", intake_id,
                          ",".join(outcome["drafts"]),
                          len(outcome["awaiting_approval"]))
    return outcome

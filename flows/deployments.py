"""The product's deployments, for a runner (``intake serve``).

``prefect.yaml`` declares the same deployments for a process work pool and
``prefect worker``; this module serves them from one process, which is what
``make demo`` and a single-machine practice use.
"""

from __future__ import annotations

from typing import Any

from flows.intake import intake_request
from flows.reconcile import reconcile


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
    ]

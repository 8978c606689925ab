"""Tell staff when something waits: a Prefect automation on paused intake runs.

An automation on the server watches for intake flow runs entering Suspended
or Paused and sends a notification through a saved notification block (a
webhook to the practice's chat, pager or email gateway). The message names
the run and links to it in the UI; the run's name is the opaque intake id,
so no patient data leaves with it.
"""

from __future__ import annotations

from typing import Any, cast

AUTOMATION_NAME = "intake-review-waiting"
BLOCK_NAME = "intake-review-alerts"

SUBJECT = "Intake review waiting"
BODY = (
    "A request waits for staff review: {{ flow_run.name }} "
    "({{ flow.name }}). Open {{ flow_run|ui_url }} and click Resume, or run "
    "`intake review list`."
)


def save_webhook_block(url: str, name: str = BLOCK_NAME,
                       allow_private_urls: bool = False) -> Any:
    """Save a webhook notification block that posts ``subject`` and ``body``."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    block = cast(Any, CustomWebhookNotificationBlock)(
        name="intake-review-alerts", url=url, method="POST",
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
        allow_private_urls=allow_private_urls,
    )
    block.save(name, overwrite=True)
    return block


def ensure_review_automation(block_name: str = BLOCK_NAME,
                             notification_type: str = "custom-webhook") -> Any:
    """Create (or replace) the automation that alerts on paused intake runs."""
    from prefect.automations import Automation, EventTrigger, SendNotification
    from prefect.blocks.core import Block

    block = cast(Any, Block.load(f"{notification_type}/{block_name}"))
    for existing in _automations_named(AUTOMATION_NAME):
        existing.delete()
    automation = Automation(
        name=AUTOMATION_NAME,
        description="Notify staff when an intake request waits for review.",
        trigger=EventTrigger(
            expect={"prefect.flow-run.Suspended", "prefect.flow-run.Paused"},
            match={"prefect.resource.id": "prefect.flow-run.*"},
            match_related={"prefect.resource.role": "flow",
                           "prefect.resource.name": ["intake-request",
                                                     "intake-routing-audit",
                                                     "routing-audit"]},
            posture=cast(Any, "Reactive"),
            threshold=1,
        ),
        actions=[SendNotification(block_document_id=block._block_document_id,
                                  subject=SUBJECT, body=BODY)],
    )
    return automation.create()


def _automations_named(name: str) -> list[Any]:
    from prefect.automations import Automation

    try:
        return [Automation.read(name=name)]
    except Exception:  # noqa: BLE001 - the server answers 404 when there is none
        return []

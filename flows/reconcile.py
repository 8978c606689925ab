"""Reconciler: escalate reviews past their response target, finish stuck requests.

Runs on a schedule. A review that waits past its queue's response target is
escalated (status ``escalated``, practice-manager queue) and stays resumable;
a request whose run stopped part-way (a crashed worker, a server restart)
is run again, and its finished steps skip themselves: one that never reached
its first CRM sync, or one whose last run left its ``in_flight`` mark and is
not waiting for staff.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger

from intake import runtime
from intake.store import utcnow


def overdue_reviews() -> list[tuple[str, str]]:
    """(intake id, review kind) of open reviews past their due time."""
    now = utcnow()
    overdue = []
    for row in runtime.store().open_reviews():
        due = row.due_at
        if due is not None and due.tzinfo is None:
            due = due.replace(tzinfo=UTC)
        if due is not None and due < now:
            overdue.append((row.intake_id, row.kind))
    return overdue


def unfinished_requests(older_than: timedelta) -> list[str]:
    """Requests stuck for ``older_than``: never synced to the CRM, or left
    part-way by a run that died (its ``in_flight`` mark stayed) while no
    review waits for staff."""
    store = runtime.store()
    cutoff = utcnow() - older_than
    stuck = []
    for intake_id, ingested_at in store.ingested_since(None):
        at = ingested_at if ingested_at.tzinfo else ingested_at.replace(tzinfo=UTC)
        if at >= cutoff:
            continue
        if store.step_outcome(intake_id, "sync") is None:
            stuck.append(intake_id)
            continue
        mark = store.step_outcome(intake_id, "in_flight")
        if mark is None or store.open_reviews(intake_id):
            continue
        since = datetime.fromisoformat(mark["since"])
        if since < cutoff:
            stuck.append(intake_id)
    return stuck


@flow(name="intake-reconciler", persist_result=False, log_prints=False)
def reconcile(stuck_after_minutes: int = 10, rerun_limit: int = 200) -> dict[str, int]:
    """Escalate overdue reviews and re-run requests that never finished."""
    from flows.intake_flow import intake_request
    from flows.review import escalate
    from tasks.sync import sync_crm

    logger = get_run_logger()
    escalated = 0
    for intake_id, kind in overdue_reviews():
        if runtime.store().step_outcome(intake_id, "escalated") is None:
            escalate(intake_id, reason=f"{kind} review past its response target")
            sync_crm(intake_id)
            escalated += 1

    rerun = failed = 0
    for intake_id in unfinished_requests(timedelta(minutes=stuck_after_minutes))[
        :rerun_limit
    ]:
        state = intake_request(intake_id, return_state=True)
        rerun += 1
        failed += not state.is_completed()
    logger.info("reconciler: escalated=%d rerun=%d failed=%d", escalated, rerun,
                failed)
    return {"escalated": escalated, "rerun": rerun, "failed": failed}

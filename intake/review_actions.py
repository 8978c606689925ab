"""Staff decisions from the terminal, through the same resume path as the UI.

A review whose flow run is suspended is resumed with the decision as run
input, exactly as the Prefect UI posts it, so the server validates it against
the form and the run records it. A review opened by a run without deployment
(e.g. ``intake run --local``) is recorded directly and the request runs again.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import ValidationError

from intake import runtime


class ReviewRefused(Exception):
    """The decision was not accepted; the request keeps waiting."""


def validate_form(form: dict[str, Any]) -> dict[str, Any]:
    from flows.review import ReviewForm

    try:
        parsed = ReviewForm.model_validate(form)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise ReviewRefused("invalid review input: " + ", ".join(fields)) from None
    return {k: v for k, v in parsed.model_dump(mode="json", exclude={"metadata"})
            .items() if v not in (None, "")}


def decide(intake_id: str, form: dict[str, Any]) -> str:
    """Apply ``form`` to the oldest open review of ``intake_id``."""
    from intake.models import ReviewKind

    form = validate_form(form)
    waiting = runtime.store().open_reviews(intake_id)
    if not waiting:
        raise ReviewRefused(f"nothing waits for review on {intake_id}")
    review = waiting[0]

    if review.flow_run_id and _is_paused(review.flow_run_id):
        from prefect.flow_runs import resume_flow_run

        try:
            resume_flow_run(UUID(review.flow_run_id), run_input=form)
        except Exception as exc:  # noqa: BLE001 - the server refused the input
            raise ReviewRefused(
                f"the server refused the resume ({type(exc).__name__})"
            ) from None
        return f"resumed run {review.flow_run_id} with decision {form['decision']}"

    from flows.intake_flow import intake_request
    from flows.review import apply_decision

    apply_decision(intake_id, ReviewKind(review.kind), form)
    state = intake_request(intake_id, return_state=True)
    status = state.result() if state.is_completed() else "failed"
    return f"decision {form['decision']} recorded; request status {status}"


def _is_paused(flow_run_id: str) -> bool:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        state = client.read_flow_run(UUID(flow_run_id)).state
    return state is not None and state.is_paused()

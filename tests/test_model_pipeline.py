"""The AI path end to end without Prefect: hostile model answers on every dev
request never lower urgency and never put unapproved text in the outbox."""

from __future__ import annotations

import json

import pytest

from intake import steps
from intake.ingest import ingest_lines
from tests.blocks.test_model_anthropic import (
    DEV_SET,
    FakeAnthropic,
    _hostile,
    make_model,
)

APPROVED_WITHOUT_REVIEW = {"receipt_confirmation", "emergency_policy",
                           "scheduling_next_steps"}


def test_hostile_model_answers_change_no_urgency_or_outbox_on_the_dev_set(app):
    if not DEV_SET.exists():
        pytest.skip(f"{DEV_SET} is not available (only beside the dev repo)")
    from intake.drafting import check_outbound
    from intake.triage import triage

    fake = FakeAnthropic()
    model = make_model(fake, check_missing=False, summarise=False,
                       suggest_replies=True)
    lines = DEV_SET.read_text().splitlines()
    ids = ingest_lines(app.store, lines).intake_ids
    for index, intake_id in enumerate(ids):
        fake.answers["routing"] = _hostile(index)
        steps.capture(app.store, intake_id)
        rules = triage(app.store.record(intake_id))
        steps.classify(app.store, intake_id, model)
        steps.check_required_details(app.store, intake_id)
        steps.route(app.store, intake_id)
        steps.draft_follow_up(app.store, intake_id)
        steps.sync_crm(app.store, app.crm, intake_id)

        final = app.store.triage(intake_id)
        assert final.urgency.rank >= rules.urgency.rank, intake_id
        assert final.stop_automation >= rules.stop_automation, intake_id
        outbox = app.crm.outbox(intake_id)
        for message in outbox:
            # Nothing waits for approval in this test, so only texts that need
            # none may be queued; every one passes the guardrail.
            assert message.template_id in APPROVED_WITHOUT_REVIEW, intake_id
            assert check_outbound(message.text).ok, intake_id
        if final.stop_automation:
            assert {m.template_id for m in outbox} <= {"receipt_confirmation",
                                                       "emergency_policy"}
    assert len(ids) == len(json.loads("[" + ",".join(lines) + "]"))

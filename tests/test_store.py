"""The app database: ingest idempotency, step markers and the audit chain."""

from __future__ import annotations

import json

from sqlalchemy import update

from intake.ingest import ingest_lines
from intake.store import AuditRow, session_scope, verify_audit


def _line(source_id: str, text: str = "I need to book a physical") -> str:
    return json.dumps({"id": source_id, "channel": "portal",
                       "received_at": "2026-11-30T09:00:00-06:00",
                       "payload": {"patient_id": "MG-0001", "body": text}})


def test_ingesting_the_same_request_twice_keeps_one_copy(app) -> None:
    first = ingest_lines(app.store, [_line("req-1")])
    second = ingest_lines(app.store, [_line("req-1")])
    assert first.new == 1 and second.new == 0 and second.already_seen == 1
    assert first.intake_ids == second.intake_ids
    assert len(app.store.intake_ids()) == 1


def test_intake_ids_are_opaque(app) -> None:
    result = ingest_lines(app.store, [_line("req-secret-name")])
    assert "secret" not in result.intake_ids[0]
    assert result.intake_ids[0].startswith("itk-")


def test_a_line_that_is_not_json_is_kept_not_lost(app) -> None:
    result = ingest_lines(app.store, ["{not json at all"])
    assert result.new == 1
    assert app.store.raw_body(result.intake_ids[0]) == "{not json at all"


def test_audit_chain_verifies_and_detects_tampering(app) -> None:
    for action in ("captured", "classified", "synced"):
        app.store.audit("system", action, "itk-1", step=action)
    ok, count, bad = verify_audit(app.store.engine)
    assert ok and count == 3 and bad is None

    with session_scope(app.store.engine) as session:
        session.execute(update(AuditRow).where(AuditRow.seq == 2)
                        .values(action="deleted"))
    ok, count, bad = verify_audit(app.store.engine)
    assert not ok and bad == 2 and count == 1


def test_step_markers_make_reruns_skip_finished_work(app) -> None:
    ingest_lines(app.store, [_line("req-2")])
    intake_id = app.store.intake_ids()[0]
    assert app.store.step_outcome(intake_id, "capture") is None
    app.store.mark_step(intake_id, "capture", {"channel": "portal"})
    assert app.store.step_outcome(intake_id, "capture") == {"channel": "portal"}
    app.store.clear_step(intake_id, "capture")
    assert app.store.step_outcome(intake_id, "capture") is None

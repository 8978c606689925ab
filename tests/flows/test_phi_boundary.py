"""No patient data reaches Prefect: logs, runs, parameters, states, events, storage.

Fictitious patients carry unique marker strings in every identifying field and
in the symptom text; after the flows run (including failures), every table of
the Prefect server's database and its storage folder is searched for them.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from flows.intake_flow import intake_request
from intake.ingest import ingest_lines
from tests import factories

pytestmark = pytest.mark.server

MARKERS = {
    "first": "Quillonbert",
    "last": "Zavrosky",
    "phone": "(312) 555-0187",
    "phone_digits": "3125550187",
    "email": "quillonbert.zavrosky@example.com",
    "dob": "1963-04-27",
    "symptom": "zintaric pressure behind my sternum",
}


def _prefect_db() -> Path:
    return Path(os.environ["PREFECT_HOME"]) / "prefect.db"


def _flush_logs() -> None:
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)
    time.sleep(1.0)


def sweep(markers: list[str]) -> list[str]:
    """Every place in Prefect's database and home where a marker appears."""
    hits = []
    connection = sqlite3.connect(_prefect_db())
    try:
        tables = [r[0] for r in connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
            for row in rows:
                blob = " ".join(str(v) for v in row).lower()
                for marker in markers:
                    if marker.lower() in blob:
                        if table == "flow_run_input" and "-description" in blob:
                            continue  # review form descriptions are allowed
                        hits.append(f"{table}: {marker}")
    finally:
        connection.close()
    home = Path(os.environ["PREFECT_HOME"])
    for path in home.rglob("*"):
        if path.is_file() and path.suffix not in {".db", ".db-wal", ".db-shm"}:
            text = path.read_bytes().decode("utf-8", "replace").lower()
            hits += [f"{path.name}: {m}" for m in markers if m.lower() in text]
    return hits


def test_no_marker_reaches_prefect_from_any_flow_path(
    prefect_server, app, caplog, monkeypatch
):
    lines = [
        factories.web_form_urgent(
            "t-phi-1", first=MARKERS["first"], last=MARKERS["last"],
            phone=MARKERS["phone"], email=MARKERS["email"], dob=MARKERS["dob"],
            symptom=MARKERS["symptom"]),
        factories.request("t-phi-2", "web_form", {
            "fields": {"first_name": MARKERS["first"], "last_name": MARKERS["last"],
                       "email": MARKERS["email"], "reason": "billing"},
            "message": f"Billing question about {MARKERS['symptom']} visit"}),
        "{" + MARKERS["first"] + " broken json",
    ]
    ids = ingest_lines(app.store, lines).intake_ids
    for intake_id in ids:
        intake_request(intake_id, return_state=True)

    # A forced failure: the CRM is down for a step that reads patient data.
    from intake import runtime

    def broken_upsert(fields):
        raise RuntimeError(f"cannot write {MARKERS['email']}")

    broken = app.crm.model_copy()
    object.__setattr__(broken, "upsert_intake", broken_upsert)
    runtime.use(crm=broken)
    state = intake_request(ids[1], return_state=True)
    assert state.is_failed()
    runtime.use(crm=app.crm)

    # A forced parser error whose message quotes the payload: capture keeps
    # the request and records only the error's type.
    from intake.capture import dispatch
    from intake.models import CaptureProblem, Channel

    def exploding_parser(payload, ctx):
        raise ValueError(f"cannot parse {MARKERS['email']} {MARKERS['first']}")

    monkeypatch.setitem(dispatch.CHANNEL_PARSERS, Channel.WEB_FORM, exploding_parser)
    (parsed_id,) = ingest_lines(app.store, [factories.web_form_urgent(
        "t-phi-4", first=MARKERS["first"], last=MARKERS["last"],
        email=MARKERS["email"], symptom=MARKERS["symptom"])]).intake_ids
    assert intake_request(parsed_id, return_state=True).is_completed()
    assert app.store.record(parsed_id).capture_problem is (
        CaptureProblem.MALFORMED_PAYLOAD)
    monkeypatch.undo()

    # A forced validation error: pydantic's message quotes the invalid value.
    from sqlalchemy import update

    from intake.store import IntakeRecordRow, session_scope

    corrupt = {**app.store.record(ids[0]).model_dump(mode="json"),
               "received_at": f"{MARKERS['dob']} {MARKERS['first']}"}
    with session_scope(app.store.engine) as session:
        session.execute(update(IntakeRecordRow).where(
            IntakeRecordRow.intake_id == ids[0]).values(record=corrupt))
    state = intake_request(ids[0], return_state=True)
    assert state.is_failed() and "ValidationError" in (state.message or "")
    _flush_logs()

    assert sweep(list(MARKERS.values())) == []
    for record in caplog.records:
        message = record.getMessage().lower()
        for marker in MARKERS.values():
            assert marker.lower() not in message

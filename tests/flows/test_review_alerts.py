"""Staff are told when a request waits: an automation posts to a webhook."""

from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from intake.ingest import ingest_lines
from tests import factories
from tests.flows.conftest import submit, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]


@pytest.fixture
def receiver():
    """A local webhook receiver on 127.0.0.1 collecting JSON bodies."""
    received: queue.Queue[dict] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length", 0))
            received.put(json.loads(self.rfile.read(length) or b"{}"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()


def test_a_suspended_intake_run_notifies_staff(worker, default_app, receiver):
    from intake.alerts import ensure_review_automation, save_webhook_block

    url, received = receiver
    save_webhook_block(url, allow_private_urls=True)
    ensure_review_automation()

    (intake_id,) = ingest_lines(default_app.store(), [
        factories.web_form_urgent("t-alert-1", first="Orla", last="Quennell",
                                  email="orla.quennell@example.com")
    ]).intake_ids
    run_id = submit(intake_id)
    run = wait_for(run_id, {"PAUSED"})

    message = received.get(timeout=60)
    text = json.dumps(message)
    assert message["subject"] == "Intake review waiting"
    assert run.name in text and intake_id in text
    assert "/runs/flow-run/" in text
    for patient_data in ("Orla", "Quennell", "orla.quennell", "555-0142",
                         "catch my breath"):
        assert patient_data not in text

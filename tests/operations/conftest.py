"""Fixtures of the operations tests: seeded months and a local webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

MONTH_START = date(2026, 11, 2)  # a Monday, after the switch to standard time


@dataclass
class Seeded:
    store: Any
    crm: Any
    summary: Any
    folder: Path


def make_app(folder: Path) -> tuple[Any, Any]:
    """A fresh app database and SQL CRM in ``folder`` (not wired into runtime)."""
    from pydantic import SecretStr

    from blocks.crm import SqlCRM
    from intake.store import Base, IntakeStore, make_engine

    url = f"sqlite:///{folder / 'intake.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    return IntakeStore(engine), SqlCRM(connection_url=SecretStr(url))


def seeded(folder: Path, n: int, faults: bool, seed: int = 11) -> Seeded:
    from intake.seed import seed_month

    store, crm = make_app(folder)
    summary = seed_month(crm, store, MONTH_START, n, seed, faults=faults)
    return Seeded(store=store, crm=crm, summary=summary, folder=folder)


@pytest.fixture(scope="module")
def faulty_month(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """A small seeded month with one of each data-quality fault planted."""
    return seeded(tmp_path_factory.mktemp("faulty"), n=24, faults=True)


@pytest.fixture(scope="module")
def clean_month(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seeded(tmp_path_factory.mktemp("clean"), n=24, faults=False)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 that records what it was sent."""

    url: str
    bodies: list[bytes] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received: list[bytes] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("Content-Length") or 0)
            received.append(self.rfile.read(length))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(url=f"http://127.0.0.1:{server.server_port}/hook",
                       bodies=received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def webhook_block(url: str) -> Any:
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    return CustomWebhookNotificationBlock(
        name="quality-alerts", url=url,
        json_data={"text": "{{subject}}\n{{body}}"},
    )


def all_text(folder: Path) -> str:
    """Every text file under ``folder``, concatenated (for leak checks)."""
    return "\n".join(p.read_text(encoding="utf-8", errors="replace")
                     for p in sorted(folder.rglob("*"))
                     if p.is_file() and p.suffix in {".html", ".json", ".md", ".csv",
                                                     ".txt"})

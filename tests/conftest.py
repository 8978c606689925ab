"""Test setup: a private Prefect home and app database for the whole session.

Prefect's environment is set before anything imports prefect, so no test ever
touches the user's ``~/.prefect`` or a server of theirs. Tests that run flows
use the ``prefect_server`` fixture: one real local server per test session.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_SESSION_DIR = Path(tempfile.mkdtemp(prefix="intake-tests-"))
_PORT = _free_port()
os.environ.update(
    {
        "INTAKE_PREFECT_HOME": str(_SESSION_DIR / "prefect-home"),
        "INTAKE_PREFECT_PORT": str(_PORT),
        "INTAKE_DATA_DIR": str(_SESSION_DIR / "data"),
        "PREFECT_HOME": str(_SESSION_DIR / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{_PORT}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.3",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "1",
    }
)
for _key in ("PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_key, None)


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """A real local Prefect server for the test session (SQLite)."""
    import atexit

    from intake.prefect_env import ensure_server, stop_background

    url = ensure_server(port=_PORT, timeout=180)
    # Prefect's event and log workers drain at interpreter exit, before normal
    # atexit hooks: stopping the server in an atexit hook lets them finish
    # against a live server instead of retrying a dead one.
    atexit.register(stop_background, "server")
    yield url
    drain_prefect_workers()
    for name in ("listener", "runner", "worker"):
        stop_background(name)


def drain_prefect_workers(timeout: float = 30) -> None:
    """Send the events and logs Prefect still holds (before a server stops)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (EventsWorker, APILogWorker):
        try:
            worker.drain_all(timeout=timeout)
        except Exception:  # noqa: BLE001 - best effort before shutdown
            pass


@pytest.fixture
def app(tmp_path: Path) -> Iterator[object]:
    """A fresh app database and SQL CRM (SQLite files) wired into the runtime."""
    from pydantic import SecretStr

    from blocks.crm import SqlCRM
    from intake import runtime
    from intake.store import IntakeStore, make_engine

    url = f"sqlite:///{tmp_path / 'intake.db'}"
    engine = make_engine(url)
    from intake.store import Base

    Base.metadata.create_all(engine)
    store = IntakeStore(engine)
    crm = SqlCRM(connection_url=SecretStr(url))
    runtime.reset()
    runtime.use(store=store, crm=crm, model=None)

    class App:
        pass

    handle = App()
    handle.store = store  # type: ignore[attr-defined]
    handle.crm = crm  # type: ignore[attr-defined]
    handle.url = url  # type: ignore[attr-defined]
    yield handle
    runtime.reset()


def shared_file(*parts: str) -> Path:
    """A file of the shared folder beside the repository; skips when absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (only beside the development repo)")
    return path

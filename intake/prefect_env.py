"""The project's own Prefect: environment, local server and runner processes.

Every Prefect process of the product (server, runner or worker, flows, tests,
the CLI) uses a Prefect home inside the project, telemetry off, one API URL
(so a paused run can be resumed from another process) and no persisted results.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from intake.settings import PROJECT_ROOT

DEFAULT_PORT = int(os.environ.get("INTAKE_PREFECT_PORT", "4200"))


def prefect_home() -> Path:
    return Path(os.environ.get("INTAKE_PREFECT_HOME", PROJECT_ROOT / ".prefect-home"))


def api_url(port: int = DEFAULT_PORT) -> str:
    return f"http://127.0.0.1:{port}/api"


def prefect_environment(port: int = DEFAULT_PORT, home: Path | None = None,
                        database_url: str | None = None) -> dict[str, str]:
    """Environment variables for every Prefect process of the product."""
    home = home or prefect_home()
    env = {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": os.environ.get("PREFECT_API_URL") or api_url(port),
        "PREFECT_UI_URL": f"http://127.0.0.1:{port}",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "false",
        "PREFECT_TASKS_DEFAULT_PERSIST_RESULT": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": os.environ.get(
            "PREFECT_RUNNER_POLL_FREQUENCY", "2"),
        "PREFECT_WORKER_QUERY_SECONDS": os.environ.get(
            "PREFECT_WORKER_QUERY_SECONDS", "2"),
        "PREFECT_LOGGING_EXTRA_LOGGERS": "intake",
        "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
        "PREFECT_CLI_PROMPT": "false",
    }
    database_url = database_url or os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL")
    if database_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = database_url
    for passthrough in ("PREFECT_API_AUTH_STRING", "PREFECT_SERVER_API_AUTH_STRING",
                        "PREFECT_SERVER_ENCRYPTION_KEY"):
        if os.environ.get(passthrough):
            env[passthrough] = os.environ[passthrough]
    return env


def apply_environment(port: int = DEFAULT_PORT) -> None:
    """Set the project's Prefect environment here (before importing prefect)."""
    for key, value in prefect_environment(port).items():
        os.environ.setdefault(key, value)


def server_healthy(url: str | None = None, timeout: float = 2.0) -> bool:
    url = url or os.environ.get("PREFECT_API_URL") or api_url()
    try:
        response = httpx.get(f"{url}/health", timeout=timeout,
                             auth=_auth())
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _auth() -> tuple[str, str] | None:
    auth = os.environ.get("PREFECT_API_AUTH_STRING")
    if auth and ":" in auth:
        user, password = auth.split(":", 1)
        return user, password
    return None


def _pid_file(name: str) -> Path:
    return prefect_home() / f"{name}.pid"


def _log_file(name: str) -> Path:
    return prefect_home() / f"{name}.log"


def start_background(name: str, command: list[str], env: dict[str, str]) -> int:
    """Start a detached process whose pid is kept in the Prefect home."""
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    log = _log_file(name).open("ab")
    process = subprocess.Popen(
        command, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True, cwd=PROJECT_ROOT,
    )
    _pid_file(name).write_text(str(process.pid))
    return process.pid


def running_pid(name: str) -> int | None:
    try:
        pid = int(_pid_file(name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    return pid


def stop_background(name: str, grace: float = 10.0) -> bool:
    """TERM the process group, wait, then KILL (workers may ignore one TERM)."""
    pid = running_pid(name)
    if pid is None:
        _pid_file(name).unlink(missing_ok=True)
        return False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            continue
        break
    _pid_file(name).unlink(missing_ok=True)
    return True


def ensure_server(port: int = DEFAULT_PORT, timeout: float = 120.0) -> str:
    """Start the local Prefect server unless one answers; returns the API URL."""
    env = prefect_environment(port)
    url = env["PREFECT_API_URL"]
    if server_healthy(url):
        return url
    if running_pid("server") is None:
        start_background(
            "server",
            [sys.executable, "-m", "prefect", "server", "start", "--host",
             "127.0.0.1", "--port", str(port), "--no-services"]
            if os.environ.get("INTAKE_SERVER_NO_SERVICES") else
            [sys.executable, "-m", "prefect", "server", "start", "--host",
             "127.0.0.1", "--port", str(port)],
            env,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server_healthy(url):
            return url
        if running_pid("server") is None:
            raise RuntimeError(
                f"the Prefect server exited during start; see {_log_file('server')}"
            )
        time.sleep(0.5)
    raise RuntimeError(
        f"the Prefect server did not answer within {timeout:.0f} s; "
        f"see {_log_file('server')}"
    )


WORK_POOL = "intake-pool"


def ensure_work_pool(name: str = WORK_POOL) -> None:
    """Create the process work pool unless it exists."""
    from prefect import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))
        except ObjectAlreadyExists:
            pass


def ensure_deployments(port: int = DEFAULT_PORT, force: bool = False) -> None:
    """Register prefect.yaml's deployments (again only when prefect.yaml changed)."""
    import hashlib

    spec = (PROJECT_ROOT / "prefect.yaml").read_bytes()
    stamp = prefect_home() / "deployed.sha256"
    digest = hashlib.sha256(spec).hexdigest()
    if not force and stamp.exists() and stamp.read_text() == digest and \
            _deployment_exists("intake-request/live"):
        return
    env = {**os.environ, **prefect_environment(port),
           "INTAKE_PROJECT_DIR": str(PROJECT_ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        log = prefect_home() / "deploy.log"
        log.write_text(result.stdout + result.stderr)
        raise RuntimeError(f"prefect deploy failed; see {log}")
    stamp.write_text(digest)


def _deployment_exists(name: str) -> bool:
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_deployment_by_name(name)
        except ObjectNotFound:
            return False
    return True


def ensure_worker(port: int = DEFAULT_PORT, limit: int = 4) -> int:
    """Start a process worker on the product's work pool, if none is running."""
    pid = running_pid("worker")
    if pid is not None:
        return pid
    return start_background(
        "worker",
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", WORK_POOL,
         "--type", "process", "--limit", str(limit)],
        {**prefect_environment(port), "INTAKE_PROJECT_DIR": str(PROJECT_ROOT)},
    )


def stand_up(port: int = DEFAULT_PORT) -> str:
    """Server, work pool, deployments and a worker: everything a practice runs."""
    url = ensure_server(port)
    ensure_work_pool()
    ensure_deployments(port)
    ensure_worker(port)
    return url


def ensure_listener(port: int = DEFAULT_PORT, workers: int = 4) -> int:
    """Start the live lane (``intake listen``) in the background, if not running."""
    pid = running_pid("listener")
    if pid is not None:
        return pid
    return start_background(
        "listener",
        [sys.executable, "-m", "intake.cli", "listen", "--workers", str(workers)],
        prefect_environment(port),
    )

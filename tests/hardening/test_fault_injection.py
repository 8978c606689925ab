"""Fault injection on a real server and process worker: no request is lost or doubled.

Faults come from the test-only hook in ``intake.steps._fault_hook``, which a
worker reads from ``INTAKE_FAULT_INJECTION`` (JSON) at the CRM write of
``sync_crm``:

(a) the worker and its flow-run processes are SIGKILLed while runs sleep in
    their first or their final CRM sync (Prefect 3.9 starts each flow run in a
    session of its own, so killing the worker's process group alone leaves
    the run going; a lost machine kills both);
(b) the CRM fails: transient errors are retried by the task and the run
    completes; a permanent error fails the run and the reconciler (the
    ``reconcile`` flow, run here in-process) finishes the request;
(c) the Prefect server restarts while runs are in their CRM sync.

Afterwards every request has one intake record, one CRM intake row, one staff
task and no duplicate outbox rows, and each flow run is COMPLETED or its
request was picked up and finished by the reconciler.

This module uses an app database of its own (``INTAKE_DATA_DIR`` is switched
for the worker and this process), so the reconciler sees only its requests.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from intake import runtime
from intake.ingest import ingest_lines
from tests import factories
from tests.flows.conftest import submit, wait_for

pytestmark = [pytest.mark.server, pytest.mark.slow]

TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


# -- setup -------------------------------------------------------------------


def _use_data_dir(path: str | None) -> None:
    from intake.settings import get_settings

    if path is None:
        os.environ.pop("INTAKE_DATA_DIR", None)
    else:
        os.environ["INTAKE_DATA_DIR"] = path
    get_settings.cache_clear()
    runtime.reset()


@pytest.fixture(scope="module")
def pool(
    prefect_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """Deployments, a private app database, and no worker yet."""
    from intake.prefect_env import (
        ensure_deployments,
        ensure_work_pool,
        stop_background,
    )

    previous = os.environ.get("INTAKE_DATA_DIR")
    _use_data_dir(str(tmp_path_factory.mktemp("fault-data")))
    stop_background("worker", grace=5)  # a worker of another module: wrong database
    ensure_work_pool()
    ensure_deployments()
    yield prefect_server
    stop_background("worker", grace=5)
    _use_data_dir(previous)


def start_worker(faults: dict[str, Any] | None = None) -> int:
    """A fresh process worker; ``faults`` becomes its INTAKE_FAULT_INJECTION."""
    from intake.prefect_env import ensure_worker, stop_background

    stop_background("worker", grace=5)
    if faults:
        os.environ["INTAKE_FAULT_INJECTION"] = json.dumps(faults)
    try:
        return ensure_worker()
    finally:
        os.environ.pop("INTAKE_FAULT_INJECTION", None)


def ingest(*source_ids: str) -> list[str]:
    lines = [factories.portal_reschedule(source_id) for source_id in source_ids]
    return ingest_lines(runtime.store(), lines).intake_ids


# -- processes ------------------------------------------------------------------


def run_processes(run_id: str) -> list[int]:
    """Pids of the processes executing a flow run (found by their environment)."""
    marker = f"PREFECT__FLOW_RUN_ID={run_id}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def kill_hard(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def kill_worker_and_runs(run_ids: list[str]) -> None:
    """SIGKILL the worker's process group and every process of the runs."""
    from intake.prefect_env import running_pid, stop_background

    pid = running_pid("worker")
    assert pid is not None
    kill_hard([pid])
    kill_hard([p for run_id in run_ids for p in run_processes(run_id)])
    stop_background("worker", grace=0)  # forgets the pid file
    wait_until(lambda: not any(run_processes(r) for r in run_ids), 15,
               "the killed runs' processes to exit")


def wait_until(check: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def run_state(run_id: str) -> str:
    from prefect import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    return run.state.type.value if run.state else "NONE"


def sync_attempts(run_id: str) -> list[int]:
    """How many times each sync-crm task of a flow run ran (retries included)."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )
    return sorted((t.run_count for t in tasks if t.name.startswith("sync-")),
                  reverse=True)


# -- what must hold afterwards -------------------------------------------------


def reconcile_unfinished() -> set[str]:
    """Run the reconciler in-process; the requests it picked up."""
    from flows.reconcile import reconcile, unfinished_requests

    picked = set(unfinished_requests(timedelta(0)))
    outcome = reconcile(stuck_after_minutes=0)
    assert outcome["rerun"] == len(picked)
    assert outcome["failed"] == 0
    assert unfinished_requests(timedelta(0)) == []
    return picked


def assert_each_request_once(intake_ids: list[str]) -> None:
    from sqlalchemy import func, select

    from blocks.crm import CRMIntake, CRMOutbox, CRMStaffTask
    from intake.store import IntakeRecordRow, RawRequestRow, session_scope

    store, crm = runtime.store(), runtime.crm()
    with session_scope(store.engine) as session:
        for model in (RawRequestRow, IntakeRecordRow):
            counts = dict(session.execute(
                select(model.intake_id, func.count()).where(
                    model.intake_id.in_(intake_ids)).group_by(model.intake_id)).all())
            assert counts == dict.fromkeys(intake_ids, 1), model.__tablename__
    with session_scope(crm.engine) as session:
        intakes = dict(session.execute(
            select(CRMIntake.intake_id, func.count()).where(
                CRMIntake.intake_id.in_(intake_ids)).group_by(CRMIntake.intake_id)
        ).all())
        assert intakes == dict.fromkeys(intake_ids, 1)
        tasks = session.execute(
            select(CRMStaffTask.intake_id, CRMStaffTask.kind, func.count()).where(
                CRMStaffTask.intake_id.in_(intake_ids)
            ).group_by(CRMStaffTask.intake_id, CRMStaffTask.kind)).all()
        assert sorted((i, k, n) for i, k, n in tasks) == sorted(
            (i, "respond", 1) for i in intake_ids)
        outbox = session.execute(
            select(CRMOutbox.intake_id, CRMOutbox.template_id, func.count()).where(
                CRMOutbox.intake_id.in_(intake_ids)
            ).group_by(CRMOutbox.intake_id, CRMOutbox.template_id)).all()
        assert outbox and all(n == 1 for _i, _t, n in outbox)
        assert {i for i, _t, _n in outbox} == set(intake_ids)
    for intake_id in intake_ids:
        assert store.step_outcome(intake_id, "sync") is not None
        assert store.step_outcome(intake_id, "in_flight") is None
        fields = crm.read_intake(intake_id)
        # The final sync ran: the receipt queued is in the CRM's outcome field.
        assert "queued" in (fields.follow_up_outcome or ""), intake_id


def assert_runs_finished(runs: dict[str, str], picked: set[str]) -> None:
    """Each run COMPLETED, or its request was finished by the reconciler."""
    for intake_id, run_id in runs.items():
        state = run_state(run_id)
        assert state == "COMPLETED" or intake_id in picked, (intake_id, state)


# -- the tests --------------------------------------------------------------------


def test_killing_the_worker_mid_sync_loses_and_doubles_nothing(pool):
    store = runtime.store()
    first_a, first_b, final_id = ingest("t-kill-first-a", "t-kill-first-b",
                                        "t-kill-final")

    # Two runs killed in their first CRM sync (after the outbox writes, before
    # the intake write).
    start_worker({"sync": {"sleep": 20}})
    runs = {first_a: submit(first_a), first_b: submit(first_b)}
    wait_until(lambda: all(store.step_outcome(i, "route") for i in runs), 90,
               "two runs to reach their first sync")
    time.sleep(1.0)  # inside the hook's pause
    assert all(store.step_outcome(i, "sync") is None for i in runs)
    assert {run_state(r) for r in runs.values()} == {"RUNNING"}
    kill_worker_and_runs(list(runs.values()))

    # One run killed in its final sync: its first sync already wrote the CRM.
    start_worker({"sync": {"sleep": [0, 30]}})
    runs[final_id] = submit(final_id)
    wait_until(lambda: store.step_outcome(final_id, "draft") is not None, 90,
               "the run to reach its final sync")
    time.sleep(1.0)
    assert run_state(runs[final_id]) == "RUNNING"
    kill_worker_and_runs([runs[final_id]])
    start_worker()

    # Prefect has not noticed: the runs still read RUNNING. The reconciler
    # finds the three requests by what the app database holds.
    assert {run_state(r) for r in runs.values()} == {"RUNNING"}
    picked = reconcile_unfinished()
    assert picked == set(runs)
    assert_runs_finished(runs, picked)
    assert_each_request_once(list(runs))


def test_transient_crm_failures_are_retried_and_the_run_completes(pool):
    (intake_id,) = ingest("t-flaky-crm")
    start_worker({"sync": {"fail_times": 2}})

    run_id = submit(intake_id)
    assert wait_for(run_id, TERMINAL, timeout=120).state.type.value == "COMPLETED"

    # The first sync ran three times (two injected failures, then success).
    assert sync_attempts(run_id)[0] == 3
    assert_each_request_once([intake_id])


def test_a_permanent_crm_failure_fails_the_run_and_the_reconciler_finishes_it(pool):
    (intake_id,) = ingest("t-broken-crm")
    start_worker({"sync": {"fail_times": 1, "transient": False}})

    run_id = submit(intake_id)
    assert wait_for(run_id, TERMINAL, timeout=90).state.type.value == "FAILED"
    # A permanent error is not retried (exhausting the real retry schedule of
    # 1 + 4 + 15 + 60 s ends in the same failed state).
    assert sync_attempts(run_id) == [1]
    assert runtime.store().step_outcome(intake_id, "sync") is None

    start_worker()
    picked = reconcile_unfinished()
    assert picked == {intake_id}
    assert_each_request_once([intake_id])


def test_a_server_restart_with_runs_in_their_crm_sync_loses_nothing(pool):
    from intake.prefect_env import ensure_server, stop_background

    store = runtime.store()
    ids = ingest("t-restart-a", "t-restart-b")
    start_worker({"sync": {"sleep": 6}})
    runs = {intake_id: submit(intake_id) for intake_id in ids}
    wait_until(lambda: all(store.step_outcome(i, "route") for i in ids), 90,
               "both runs to reach their CRM sync")

    stop_background("server")
    ensure_server(timeout=120)

    # Each run either finishes, or its process gives up; either way it stops.
    wait_until(lambda: not any(run_processes(r) for r in runs.values()), 120,
               "the runs' processes to finish")
    start_worker()
    picked = reconcile_unfinished()
    assert_runs_finished(runs, picked)
    assert_each_request_once(ids)

"""The live lane: a long-running process that runs intake flow runs in-process.

A process worker starts a fresh Python process per flow run (seconds of
imports); live front-desk traffic wants a routed record in about a second.
The listener serves the ``intake-request/fast`` deployment: it polls the
server for scheduled runs of it, claims each by proposing Pending (so two
listeners never run the same run) and runs it in a thread of this process,
with the per-run heartbeat thread off (crash detection is the reconciler's
job here). Reviews still suspend: a resumed run is scheduled again and the
listener picks it up like any other.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast
from uuid import UUID

logger = logging.getLogger("intake.listener")

FAST_DEPLOYMENT = "intake-request/fast"


def register_deployment() -> UUID:
    """Create or update the fast deployment (no work pool: this process runs it)."""
    from flows.intake_flow import intake_request

    deployment = intake_request.to_deployment(
        name="fast",
        description="Live requests run in-process by `intake listen`.",
        tags=["intake", "live"],
    )
    return cast(UUID, cast(Any, deployment).apply())


class Listener:
    def __init__(self, deployment_id: UUID, poll_seconds: float = 0.2,
                 max_workers: int = 4) -> None:
        self.deployment_id = deployment_id
        self.poll_seconds = poll_seconds
        self.pool = ThreadPoolExecutor(max_workers=max_workers,
                                       thread_name_prefix="intake-live")
        self.in_flight: set[UUID] = set()
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def scheduled_runs(self, client: Any) -> list[Any]:
        from prefect.client.schemas.filters import (
            DeploymentFilter,
            DeploymentFilterId,
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType
        from prefect.client.schemas.sorting import FlowRunSort

        return client.read_flow_runs(
            deployment_filter=DeploymentFilter(
                id=DeploymentFilterId(any_=[self.deployment_id])),
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=20,
        )

    def serve_forever(self) -> None:
        from prefect import get_client

        with get_client(sync_client=True) as client:
            while not self.stopping.is_set():
                try:
                    for run in self.scheduled_runs(client):
                        start = run.next_scheduled_start_time or run.expected_start_time
                        if start is not None and start.timestamp() > time.time():
                            continue
                        with self.lock:
                            if run.id in self.in_flight:
                                continue
                            self.in_flight.add(run.id)
                        self.pool.submit(self.execute, run.id)
                except Exception as exc:  # noqa: BLE001 - keep listening
                    logger.warning("listener poll failed (%s)", type(exc).__name__)
                    time.sleep(2)
                self.stopping.wait(self.poll_seconds)
        self.pool.shutdown(wait=True)

    def execute(self, flow_run_id: UUID) -> None:
        from prefect import get_client
        from prefect.exceptions import Abort
        from prefect.flow_engine import run_flow
        from prefect.settings import (
            PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
            temporary_settings,
        )
        from prefect.states import Pending
        from prefect.utilities.engine import propose_state_sync

        from flows.intake_flow import intake_request

        try:
            with get_client(sync_client=True) as client:
                try:
                    state = propose_state_sync(client, Pending(),
                                               flow_run_id=flow_run_id)
                except Abort:
                    return
                if not state.is_pending():
                    return
                flow_run = client.read_flow_run(flow_run_id)
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                run_flow(intake_request, flow_run=flow_run,
                         parameters=flow_run.parameters, return_type="state")
        except Exception as exc:  # noqa: BLE001 - one run never stops the lane
            logger.warning("live run %s failed to execute (%s)", flow_run_id,
                           type(exc).__name__)
        finally:
            with self.lock:
                self.in_flight.discard(flow_run_id)

    def stop(self) -> None:
        self.stopping.set()


def listen(poll_seconds: float = 0.2, max_workers: int = 4) -> None:
    """Register the fast deployment and run its flow runs until interrupted."""
    import signal

    deployment_id = register_deployment()
    listener = Listener(deployment_id, poll_seconds, max_workers)
    signal.signal(signal.SIGTERM, lambda *_: listener.stop())
    logger.info("listening for %s", FAST_DEPLOYMENT)
    try:
        listener.serve_forever()
    except KeyboardInterrupt:
        listener.stop()

"""Backfill flow: historical requests in chunks, resumable, with progress.

One task per chunk of lines (not one flow run per request), a bounded number
of chunks in flight, a progress artifact in the UI. The flow's parameters are
a file path and sizes; the requests' content never enters Prefect.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.futures import as_completed, wait

from intake import runtime
from intake.backfill import (
    Chunk,
    backfill_id_for,
    finished_chunks,
    input_files,
    plan_chunks,
    process_chunk,
)
from intake.errors import IntakeError, phi_safe
from tasks._common import EXTERNAL


@task(name="backfill-chunk", task_run_name="backfill-chunk-{chunk_no}", **EXTERNAL)
def backfill_chunk(path: str, chunk_no: int, start: int, end: int,
                   backfill_id: str) -> dict[str, Any]:
    """Capture, triage and bulk-write one chunk of requests."""
    result = phi_safe("backfill-chunk")(process_chunk)(
        Chunk(path, chunk_no, start, end), backfill_id, runtime.store(),
        runtime.crm(),
    )
    return {"chunk_no": result.chunk_no, "requests": result.requests,
            "needs_review": result.needs_review, "skipped": result.skipped}


@flow(name="intake-backfill", persist_result=False, log_prints=False)
def backfill(source: str, chunk_lines: int = 2000,
             max_in_flight: int = 2) -> dict[str, Any]:
    """Import every request under ``source`` (a .jsonl file or a folder of them)."""
    logger = get_run_logger()
    # Create the app tables and migrate the CRM here, once, before parallel
    # workers (threads or Dask processes) open their own connections.
    store, crm = runtime.store(), runtime.crm()
    getattr(crm, "engine", None)
    files = input_files(Path(source))
    backfill_id = backfill_id_for(files, chunk_lines)
    done = finished_chunks(store, backfill_id)
    chunks = list(plan_chunks(files, chunk_lines))
    todo = [c for c in chunks if c.chunk_no not in done]
    logger.info("backfill %s: %d chunks, %d already done", backfill_id,
                len(chunks), len(chunks) - len(todo))
    progress = cast(UUID, create_progress_artifact(
        progress=100.0 * (len(chunks) - len(todo)) / max(1, len(chunks)),
        key="backfill-progress", description=f"Backfill {backfill_id}",
    ))

    totals = {"requests": 0, "needs_review": 0, "failed_chunks": 0}
    in_flight: list[Any] = []
    finished = len(chunks) - len(todo)

    def collect(futures: list[Any]) -> None:
        nonlocal finished
        for future in futures:
            try:
                outcome = future.result()
            except IntakeError as exc:  # a safe message: step and error type
                logger.warning("backfill chunk failed: %s", exc)
                totals["failed_chunks"] += 1
            except Exception as exc:  # noqa: BLE001 - counted, never raised
                logger.warning("backfill chunk failed (%s)", type(exc).__name__)
                totals["failed_chunks"] += 1
            else:
                totals["requests"] += outcome["requests"]
                totals["needs_review"] += outcome["needs_review"]
            finished += 1
        update_progress_artifact(progress, 100.0 * finished / max(1, len(chunks)))

    for chunk in todo:
        in_flight.append(backfill_chunk.submit(
            chunk.path, chunk.chunk_no, chunk.start, chunk.end, backfill_id))
        if len(in_flight) >= max_in_flight:
            first = next(as_completed(in_flight))
            collect([first])
            in_flight = [f for f in in_flight if f is not first]
    if in_flight:
        wait(in_flight)
        collect(in_flight)

    logger.info("backfill %s finished: %s", backfill_id, totals)
    return {"backfill_id": backfill_id, "chunks": len(chunks),
            "chunks_skipped": len(chunks) - len(todo), **totals}

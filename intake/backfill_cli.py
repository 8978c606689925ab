"""``intake backfill``: run the backfill flow with a progress bar."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, cast

import typer


def run_backfill(source: Path, chunk_lines: int, in_flight: int,
                 use_dask: bool) -> dict[str, Any]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from flows.backfill import backfill
    from intake import runtime
    from intake.backfill import (
        backfill_id_for,
        finished_chunks,
        input_files,
        plan_chunks,
    )
    from intake.prefect_env import ensure_server

    ensure_server()
    files = input_files(source)
    if not files or not all(f.exists() for f in files):
        typer.echo(f"no .jsonl input at {source}", err=True)
        raise typer.Exit(2)
    backfill_id = backfill_id_for(files, chunk_lines)
    total = sum(1 for _ in plan_chunks(files, chunk_lines))

    flow = backfill
    if use_dask:
        from prefect_dask import DaskTaskRunner

        runner = cast(Any, DaskTaskRunner)
        flow = backfill.with_options(task_runner=runner(cluster_kwargs={
            "n_workers": in_flight, "processes": True, "threads_per_worker": 1,
        }))

    outcome: dict[str, Any] = {}

    def target() -> None:
        outcome.update(run_quiet(flow, source=str(source), chunk_lines=chunk_lines,
                                 max_in_flight=in_flight))

    started = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    with Progress(TextColumn("backfill"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("chunks"), TimeRemainingColumn()) as progress:
        bar = progress.add_task("backfill", total=total)
        while worker.is_alive():
            progress.update(bar, completed=len(finished_chunks(runtime.store(),
                                                                backfill_id)))
            worker.join(0.5)
        progress.update(bar, completed=len(finished_chunks(runtime.store(),
                                                            backfill_id)))
    elapsed = time.monotonic() - started
    requests = outcome.get("requests", 0)
    typer.echo(f"{requests} requests in {elapsed:.1f} s "
               f"({requests / max(elapsed, 1e-9):.0f}/s); "
               f"{outcome.get('chunks_skipped', 0)} chunks already done, "
               f"{outcome.get('failed_chunks', 0)} failed, "
               f"{outcome.get('needs_review', 0)} need review")
    return outcome


def run_quiet(flow: Any, **parameters: Any) -> Any:
    """Run a flow in this process without the per-run heartbeat thread."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return flow(**parameters)

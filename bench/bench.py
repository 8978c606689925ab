"""Speed and memory figures of the product, printed side by side.

    python bench/bench.py [--json] [--sizes 10000,100000] [--live 50]

- live: one request from submission to its routed CRM record (or its review
  pause), through the real server and the live listener, one at a time;
  p50 and p95 over ``--live`` requests.
- backfill: requests per second end to end (capture, triage, CRM and app
  database writes on SQLite) for the bare pipeline (same functions, no
  Prefect, one process per core) and the orchestrated backfill flow (Prefect
  tasks over chunks on a local Dask cluster of one process per core), their
  ratio, and the peak resident memory of each run, for each input size.

Everything runs in a temporary folder with its own Prefect server; nothing
touches the project's data. Each backfill runs in a fresh process so its
peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(work: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "INTAKE_PREFECT_HOME": str(work / "prefect-home"),
        "INTAKE_PREFECT_PORT": str(port),
        "INTAKE_DATA_DIR": str(work / "data"),
        "PREFECT_HOME": str(work / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }


# ----------------------------------------------------------------------------
# Live latency


def live_latency(count: int) -> dict[str, Any]:
    import random
    from datetime import datetime

    from prefect.deployments import run_deployment

    from bench.generate import request
    from intake import runtime
    from intake.ingest import ingest_lines
    from intake.listener import FAST_DEPLOYMENT
    from intake.prefect_env import ensure_listener, ensure_server

    ensure_server(timeout=180)
    ensure_listener()
    store = runtime.store()
    rng = random.Random(11)
    start = datetime.fromisoformat("2026-12-01T09:00:00-06:00")

    # Warm up: the listener registers its deployment and imports the pipeline.
    deadline = time.monotonic() + 120
    while True:
        try:
            warm = ingest_lines(store, [json.dumps(request(0, rng, start))])
            run_deployment(
                FAST_DEPLOYMENT, parameters={"intake_id": warm.intake_ids[0]}, timeout=0
            )
            _wait_synced(store, warm.intake_ids[0], 60)
            break
        except Exception:  # noqa: BLE001 - listener not ready yet
            if time.monotonic() > deadline:
                raise
            time.sleep(1)

    timings = []
    for index in range(1, count + 1):
        line = json.dumps(request(index, rng, start))
        began = time.perf_counter()
        (intake_id,) = ingest_lines(store, [line]).intake_ids
        run_deployment(FAST_DEPLOYMENT, parameters={"intake_id": intake_id}, timeout=0)
        _wait_synced(store, intake_id, 60)
        timings.append(time.perf_counter() - began)
    timings.sort()
    return {
        "requests": count,
        "p50_s": round(statistics.median(timings), 3),
        "p95_s": round(timings[max(0, int(len(timings) * 0.95) - 1)], 3),
        "max_s": round(timings[-1], 3),
    }


def _fresh_postgres_database() -> str | None:
    """A new empty database on the local PostgreSQL, or None when unreachable."""
    try:
        import psycopg
    except ImportError:
        return None
    name = f"intake_bench_{os.getpid()}"
    try:
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/test",
            autocommit=True,
            connect_timeout=3,
        ) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        return None
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def _wait_synced(store: Any, intake_id: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while store.step_outcome(intake_id, "sync") is None:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{intake_id} not routed within {timeout} s")
        time.sleep(0.01)


# ----------------------------------------------------------------------------
# Backfill (each run in its own process: python bench/bench.py _backfill ...)


def _bare_chunk(args: tuple[str, int, int, int, str]) -> int:
    from intake import runtime
    from intake.backfill import Chunk, process_chunk

    path, number, start, end, backfill_id = args
    result = process_chunk(
        Chunk(path, number, start, end), backfill_id, runtime.store(), runtime.crm()
    )
    return result.requests


def backfill_run(
    path: Path, mode: str, workers: int, chunk_lines: int
) -> dict[str, Any]:
    from intake.backfill import backfill_id_for, peak_rss_mb, plan_chunks

    began = time.perf_counter()
    if mode == "bare":
        from multiprocessing import get_context

        from intake import runtime

        runtime.store()  # create the schema once before the workers start
        runtime.crm().engine  # noqa: B018 - migrate the CRM tables once
        backfill_id = backfill_id_for([path], chunk_lines)
        jobs = [
            (c.path, c.chunk_no, c.start, c.end, backfill_id)
            for c in plan_chunks([path], chunk_lines)
        ]
        with get_context("fork").Pool(workers) as pool:
            requests = sum(pool.imap_unordered(_bare_chunk, jobs))
    else:
        from flows.backfill import backfill
        from intake.backfill_cli import run_quiet
        from intake.prefect_env import ensure_server

        ensure_server(timeout=180)
        flow = backfill
        if workers > 1:
            from prefect_dask import DaskTaskRunner

            flow = backfill.with_options(
                task_runner=DaskTaskRunner(
                    cluster_kwargs={
                        "n_workers": workers,
                        "processes": True,
                        "threads_per_worker": 1,
                        "dashboard_address": None,
                    }
                )
            )
        outcome = run_quiet(
            flow, source=str(path), chunk_lines=chunk_lines, max_in_flight=workers * 2
        )
        requests = outcome["requests"]
    seconds = time.perf_counter() - began
    return {
        "mode": mode,
        "requests": requests,
        "seconds": round(seconds, 2),
        "per_second": round(requests / seconds, 1),
        "peak_rss_mb": round(_tree_peak_rss_mb(peak_rss_mb()), 1),
    }


def _tree_peak_rss_mb(own: float) -> float:
    """This process's peak plus the largest peak of its finished children."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return max(own, children)


def backfill_in_subprocess(
    work: Path, port: int, path: Path, mode: str, workers: int, chunk_lines: int
) -> dict[str, Any]:
    data = work / f"data-{mode}-{path.stem}"
    env = {**_env(work, port), "INTAKE_DATA_DIR": str(data)}
    result = subprocess.run(
        [
            sys.executable,
            str(Path(__file__)),
            "_backfill",
            str(path),
            mode,
            str(workers),
            str(chunk_lines),
        ],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"backfill {mode} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "_backfill":
        _, _, path, mode, workers, chunk_lines = sys.argv
        print(
            json.dumps(
                backfill_run(
                    Path(path),
                    mode,
                    int(workers),  # noqa: T201
                    int(chunk_lines),
                )
            )
        )
        return 0

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--live", type=int, default=50)
    parser.add_argument("--chunk-lines", type=int, default=2000)
    args = parser.parse_args()

    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    port = _free_port()
    os.environ.update(_env(work, port))
    from bench.generate import generate
    from intake.prefect_env import stop_background

    figures: dict[str, Any] = {"cores": cores, "backfill": []}
    try:
        if args.live:
            figures["live"] = live_latency(args.live)
            stop_background("listener")
            stop_background("server")
            postgres = _fresh_postgres_database()
            if postgres:
                # The same measurement with the Prefect server on PostgreSQL.
                os.environ.update(_env(work / "pg", port))
                os.environ["PREFECT_API_DATABASE_CONNECTION_URL"] = postgres
                from intake import runtime

                runtime.reset()
                figures["live_prefect_on_postgresql"] = live_latency(args.live)
                stop_background("listener")
                stop_background("server")
                os.environ.pop("PREFECT_API_DATABASE_CONNECTION_URL")
                os.environ.update(_env(work, port))
                runtime.reset()
        stop_background("listener")
        for size in [int(s) for s in args.sizes.split(",") if s]:
            path = generate(size, work / f"requests-{size}.jsonl")
            bare = backfill_in_subprocess(
                work, port, path, "bare", cores, args.chunk_lines
            )
            flow = backfill_in_subprocess(
                work, port, path, "flow", cores, args.chunk_lines
            )
            figures["backfill"].append(
                {
                    "size": size,
                    "bare": bare,
                    "orchestrated": flow,
                    "ratio": round(flow["per_second"] / bare["per_second"], 3),
                }
            )
    finally:
        stop_background("listener")
        stop_background("server")

    if args.json:
        print(json.dumps(figures, indent=2))  # noqa: T201
    else:
        print(render(figures))  # noqa: T201
    return 0


def render(figures: dict[str, Any]) -> str:
    lines = [f"cores: {figures['cores']}"]
    for key, label in (
        ("live", "Prefect server on SQLite"),
        ("live_prefect_on_postgresql", "Prefect server on PostgreSQL"),
    ):
        live = figures.get(key)
        if live:
            lines.append(
                f"live intake, {label} ({live['requests']} requests, submission to "
                f"routed CRM record): p50 {live['p50_s']} s, p95 {live['p95_s']} s, "
                f"max {live['max_s']} s"
            )
    lines.append(
        f"{'size':>8} {'bare/s':>9} {'flow/s':>9} {'ratio':>6} "
        f"{'bare RSS MB':>12} {'flow RSS MB':>12}"
    )
    for row in figures["backfill"]:
        lines.append(
            f"{row['size']:>8} {row['bare']['per_second']:>9} "
            f"{row['orchestrated']['per_second']:>9} {row['ratio']:>6} "
            f"{row['bare']['peak_rss_mb']:>12} {row['orchestrated']['peak_rss_mb']:>12}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

"""The ``intake`` command: demo, classify, run, review and operate the product.

Heavy imports (Prefect, great-expectations) happen inside the commands that
need them, so ``intake classify`` starts fast and needs no server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, cast

import typer

app = typer.Typer(
    help="Front-desk intake on Prefect: capture, triage, route, review, sync.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,  # locals may hold patient data
)
review_app = typer.Typer(help="Staff review of paused requests.",
                         no_args_is_help=True,
                         pretty_exceptions_show_locals=False)
server_app = typer.Typer(help="The local Prefect server.", no_args_is_help=True,
                         pretty_exceptions_show_locals=False)
app.add_typer(review_app, name="review")
app.add_typer(server_app, name="server")


def _mount_operations() -> None:
    from intake.ops_cli import audit_app, quality_app, report_app

    app.add_typer(report_app, name="report")
    app.add_typer(quality_app, name="quality")
    app.add_typer(audit_app, name="routing-audit")


_mount_operations()

DEPLOYMENT = "intake-request/live"


def _prefect_ready() -> None:
    """Point this process at the project's Prefect before importing prefect."""
    from intake.logging_setup import configure_logging
    from intake.prefect_env import apply_environment

    apply_environment()
    configure_logging()


# ----------------------------------------------------------------------------
# Offline commands (no Prefect server)


@app.command()
def classify(
    cases: Annotated[Path, typer.Argument(help="Requests or cases, one JSON a line")],
    output: Annotated[Path, typer.Option("-o", "--output",
                                         help="Predictions JSONL to write")],
) -> None:
    """Classify requests offline and write the contract's prediction lines."""
    from intake.triage import classify_case

    count = 0
    with cases.open(encoding="utf-8") as source, output.open(
        "w", encoding="utf-8"
    ) as sink:
        for line in source:
            if not line.strip():
                continue
            try:
                raw: Any = json.loads(line)
            except ValueError:
                raw = line
            sink.write(json.dumps(classify_case(raw)) + "\n")
            count += 1
    typer.echo(f"classified {count} requests -> {output}")


@app.command("eval")
def evaluate(
    cases: Annotated[Path, typer.Argument(help="Labelled cases JSONL")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score the offline triage on labelled cases (your own or the dev set)."""
    from intake.triage.evaluate import evaluate_file

    result, report = evaluate_file(cases)
    typer.echo(json.dumps(result, indent=2) if as_json else report)


# ----------------------------------------------------------------------------
# Running requests through Prefect


@app.command()
def run(
    files: Annotated[list[Path], typer.Argument(help="Request files or folders")],
    local: Annotated[bool, typer.Option(
        "--local", help="Run in this process instead of on the served deployment"
    )] = False,
    wait: Annotated[float, typer.Option(help="Seconds to wait for results")] = 120,
) -> None:
    """Ingest request files and push each request through the intake flow."""
    _prefect_ready()
    from intake import runtime
    from intake.ingest import ingest_files

    result = ingest_files(runtime.store(), files)
    typer.echo(f"ingested {result.new} new, {result.already_seen} already seen "
               f"(batch {result.batch_id})")
    _run_and_report(result.intake_ids, local=local, wait=wait)


def _run_and_report(intake_ids: list[str], local: bool, wait: float,
                    deployment: str = DEPLOYMENT) -> None:
    from intake.prefect_env import ensure_server, stand_up

    if local:
        from flows.intake_flow import intake_request

        ensure_server()
        for intake_id in intake_ids:
            intake_request(intake_id, return_state=True)
    else:
        if deployment == DEPLOYMENT:
            stand_up()
        _submit_and_wait(intake_ids, wait, deployment)
    _print_table(intake_ids)


def _submit_and_wait(intake_ids: list[str], wait: float,
                     deployment: str = DEPLOYMENT) -> None:
    from prefect.deployments import run_deployment

    runs = {}
    deadline = time.monotonic() + 60
    for intake_id in intake_ids:
        while True:
            try:
                runs[intake_id] = cast(Any, run_deployment)(
                    deployment, parameters={"intake_id": intake_id}, timeout=0,
                    tags=["intake"],
                )
                break
            except Exception:  # noqa: BLE001 - deployment not registered yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
    _wait_for_runs([r.id for r in runs.values()], wait)


def _wait_for_runs(run_ids: list[Any], wait: float) -> None:
    from prefect import get_client

    settled = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED", "PAUSED"}
    deadline = time.monotonic() + wait
    pending = set(run_ids)
    with get_client(sync_client=True) as client:
        while pending and time.monotonic() < deadline:
            for run_id in list(pending):
                state = client.read_flow_run(run_id).state
                if state is not None and state.type.value in settled:
                    pending.discard(run_id)
            if pending:
                time.sleep(1)
    if pending:
        typer.echo(f"{len(pending)} runs still in progress after {wait:.0f} s",
                   err=True)


def _print_table(intake_ids: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table

    from intake import runtime

    store, crm = runtime.store(), runtime.crm()
    table = Table(title="Intake results", show_lines=False)
    for column in ("intake id", "source", "channel", "type", "urgency", "queue",
                   "missing", "status"):
        table.add_column(column)
    seen = set()
    for intake_id in intake_ids:
        if intake_id in seen:
            continue
        seen.add(intake_id)
        fields = crm.read_intake(intake_id)
        source_id = store.source_id(intake_id)
        if fields is None:
            table.add_row(intake_id, source_id, "-", "-", "-", "-", "-",
                          "not processed")
            continue
        table.add_row(
            intake_id, source_id, str(fields.source or "-"),
            str(fields.request_type or "-"), str(fields.urgency or "-"),
            str(fields.queue or "-"),
            ", ".join(str(m) for m in fields.missing_information) or "-",
            str(fields.status),
        )
    Console(width=160).print(table)


@app.command()
def demo(
    inbox: Annotated[Path, typer.Option(help="Sample inbox JSONL")] = Path(
        "samples/inbox.jsonl"),
) -> None:
    """Run the sample inbox through the real flow on a local Prefect server."""
    _prefect_ready()
    from intake import runtime
    from intake.ingest import ingest_files
    from intake.listener import FAST_DEPLOYMENT
    from intake.prefect_env import ensure_listener, ensure_server

    started = time.monotonic()
    url = ensure_server()
    ensure_listener()
    typer.echo(f"Prefect server and live listener ready at "
               f"{url.removesuffix('/api')} ({time.monotonic() - started:.0f} s)")
    result = ingest_files(runtime.store(), [inbox])
    typer.echo(f"Sample inbox: {len(result.intake_ids)} requests")
    _run_and_report(result.intake_ids, local=False, wait=90,
                    deployment=FAST_DEPLOYMENT)
    waiting = len(runtime.store().open_reviews())
    typer.echo(
        f"\n{waiting} reviews wait for staff: `intake review list`, or open "
        f"{url.removesuffix('/api')}/runs and resume a paused run.\n"
        "The server keeps running for the UI; `make stop` stops it."
    )


# ----------------------------------------------------------------------------
# Serving deployments


@app.command()
def serve(
    limit: Annotated[int, typer.Option(help="Concurrent flow runs")] = 4,
) -> None:
    """Serve the product's deployments from this process (a Prefect runner)."""
    _prefect_ready()
    from prefect import serve as prefect_serve

    from flows.deployments import runner_deployments

    prefect_serve(*runner_deployments(), limit=limit, print_starting_message=False)


@app.command()
def up() -> None:
    """Stand up everything locally: server, work pool, deployments, worker."""
    _prefect_ready()
    from intake.prefect_env import stand_up

    url = stand_up()
    typer.echo(f"Prefect server {url.removesuffix('/api')} with work pool "
               "'intake-pool', deployments from prefect.yaml and a process worker")


@app.command()
def listen(
    workers: Annotated[int, typer.Option(help="Flow runs executed at once")] = 4,
) -> None:
    """Run live requests in-process (the fast lane; see README "Scaling")."""
    _prefect_ready()
    import logging

    from intake.listener import listen as run_listener

    logging.basicConfig(level=logging.INFO)
    run_listener(max_workers=workers)


@app.command()
def submit(
    files: Annotated[list[Path], typer.Argument(help="Request files or folders")],
    deployment: Annotated[str, typer.Option(help="Deployment to run them on")] =
    "intake-request/fast",
) -> None:
    """Ingest requests and hand each to a deployment without waiting."""
    _prefect_ready()
    from prefect.deployments import run_deployment

    from intake import runtime
    from intake.ingest import ingest_files

    result = ingest_files(runtime.store(), files)
    for intake_id in result.intake_ids:
        run_deployment(deployment, parameters={"intake_id": intake_id}, timeout=0)
    typer.echo(f"submitted {len(result.intake_ids)} requests to {deployment}")


@server_app.command("start")
def server_start() -> None:
    """Start the local Prefect server (home inside the project)."""
    _prefect_ready()
    from intake.prefect_env import ensure_server

    typer.echo(f"Prefect server ready at {ensure_server()}")


@server_app.command("stop")
def server_stop() -> None:
    """Stop the local server and the runner that `make demo` started."""
    from intake.prefect_env import stop_background

    for name in ("listener", "runner", "worker", "server"):
        if stop_background(name):
            typer.echo(f"stopped {name}")


@app.command()
def stop() -> None:
    """Stop everything `intake demo` left running."""
    server_stop()


# ----------------------------------------------------------------------------
# Review


@review_app.command("list")
def review_list() -> None:
    """What waits for staff, oldest first, with queue and age."""
    from rich.console import Console
    from rich.table import Table

    from intake import runtime
    from intake.store import utcnow

    table = Table(title="Waiting for review (oldest first)")
    for column in ("review", "intake id", "kind", "queue", "age", "due", "run"):
        table.add_column(column)
    now = utcnow()
    for row in runtime.store().open_reviews():
        opened = _aware(row.opened_at)
        due = _aware(row.due_at) if row.due_at else None
        table.add_row(
            str(row.id), row.intake_id, row.kind, row.queue,
            _age(now - opened), ("OVERDUE " if due and due < now else "")
            + (due.strftime("%Y-%m-%d %H:%M") if due else "-"),
            (row.flow_run_id or "-")[:8],
        )
    Console(width=140).print(table)


@review_app.command("show")
def review_show(intake_id: str) -> None:
    """Show what the reviewer needs for a waiting request (its form description)."""
    from intake import runtime

    rows = runtime.store().open_reviews(intake_id)
    if not rows:
        typer.echo(f"nothing waits for review on {intake_id}", err=True)
        raise typer.Exit(1)
    for row in rows:
        typer.echo(row.summary.get("description", ""))
        typer.echo("")


@review_app.command("decide")
def review_decide(
    intake_id: str,
    decision: Annotated[str, typer.Option(help="approve|edit|reroute|reject|escalate")],
    reviewer: Annotated[str, typer.Option(help="Your name")],
    request_type: Annotated[str | None, typer.Option()] = None,
    urgency: Annotated[str | None, typer.Option()] = None,
    patient_status: Annotated[str | None, typer.Option()] = None,
    queue: Annotated[str | None, typer.Option()] = None,
    edited_text: Annotated[str | None, typer.Option()] = None,
    patient_key: Annotated[str | None, typer.Option()] = None,
    note: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Decide the oldest waiting review of a request (same path as the UI)."""
    _prefect_ready()
    from intake.review_actions import ReviewRefused, decide

    form = {k: v for k, v in {
        "decision": decision, "reviewer": reviewer, "request_type": request_type,
        "urgency": urgency, "patient_status": patient_status, "queue": queue,
        "edited_text": edited_text, "patient_key": patient_key, "note": note,
    }.items() if v is not None}
    try:
        outcome = decide(intake_id, form)
    except ReviewRefused as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(outcome)


def _aware(value: Any) -> Any:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _age(delta: Any) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // 1440} d"


# ----------------------------------------------------------------------------
# Staff handoff


@app.command()
def respond(
    intake_id: str,
    staff: Annotated[str, typer.Option(help="Your name")],
    outcome: Annotated[str, typer.Option(help="What you did (administrative)")],
) -> None:
    """Log the staff response to a request (status staff_replied)."""
    from intake import runtime, steps
    from intake.handoff import log_response

    log_response(runtime.store(), intake_id, staff, outcome)
    steps.sync_crm(runtime.store(), runtime.crm(), intake_id)
    typer.echo(f"response logged for {intake_id}")


@app.command()
def checklist(intake_id: str) -> None:
    """Show the handoff checklist of a request (what still blocks closing)."""
    from intake import runtime
    from intake.handoff import checklist as items

    for item in items(runtime.store(), runtime.crm(), intake_id):
        mark = "[x]" if item.done else "[ ]"
        typer.echo(f"{mark} {item.name}" + (f"  ({item.detail})" if item.detail
                                              and not item.done else ""))


@app.command()
def close(
    intake_id: str,
    staff: Annotated[str, typer.Option(help="Your name")],
) -> None:
    """Close a request once every item of the handoff checklist is done."""
    from intake import runtime, steps
    from intake.handoff import CloseRefused, close_request

    try:
        close_request(runtime.store(), runtime.crm(), intake_id, staff)
    except CloseRefused as exc:
        typer.echo(f"cannot close {intake_id}: {exc}", err=True)
        raise typer.Exit(1) from None
    steps.sync_crm(runtime.store(), runtime.crm(), intake_id)
    typer.echo(f"closed {intake_id}")


# ----------------------------------------------------------------------------
# Backfill


@app.command()
def backfill(
    source: Annotated[Path, typer.Argument(help="A .jsonl file or a folder of them")],
    chunk_lines: Annotated[int, typer.Option(help="Requests per chunk")] = 2000,
    in_flight: Annotated[int, typer.Option(help="Chunks processed at once")] = 2,
    dask: Annotated[bool, typer.Option(help="Run chunks on a local Dask cluster")]
    = False,
) -> None:
    """Import historical requests through Prefect in resumable chunks."""
    _prefect_ready()
    from intake.backfill_cli import run_backfill

    run_backfill(source, chunk_lines, in_flight, dask)


# ----------------------------------------------------------------------------
# Audit


@app.command("audit-verify")
def audit_verify() -> None:
    """Verify the audit trail's hash chain."""
    from intake.store import verify_audit

    ok, count, bad = verify_audit()
    if ok:
        typer.echo(f"audit trail intact: {count} entries")
        return
    typer.echo(f"audit trail BROKEN at entry {bad} (after {count} good entries)",
               err=True)
    raise typer.Exit(1)


@app.command()
def bench(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    sizes: Annotated[str, typer.Option(help="Backfill sizes")] = "10000,100000",
    live: Annotated[int, typer.Option(help="Live requests to time")] = 50,
) -> None:
    """Print live latency, backfill throughput (bare and orchestrated), memory."""
    import subprocess
    import sys

    from intake.settings import PROJECT_ROOT

    command = [sys.executable, str(PROJECT_ROOT / "bench" / "bench.py"),
               "--sizes", sizes, "--live", str(live)]
    if as_json:
        command.append("--json")
    raise typer.Exit(subprocess.call(command, cwd=PROJECT_ROOT))


@app.command("security-check")
def security_check(
    env_file: Annotated[Path | None, typer.Option(
        help="A .env file to check instead of this process's environment")] = None,
) -> None:
    """Check production settings: auth, encryption key, telemetry, retention."""
    import os

    from intake.security import check

    env: dict[str, str] = dict(os.environ)
    if env_file is not None:
        from dotenv import dotenv_values

        env = {k: v or "" for k, v in dotenv_values(env_file).items()}
    problems = check(env)
    for problem in problems:
        typer.echo(f"- {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("production settings look right")


def main() -> None:
    app()


if __name__ == "__main__":
    main()

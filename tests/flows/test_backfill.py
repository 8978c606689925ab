"""Backfill: chunked, resumable, no duplicates, also on a local Dask cluster."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bench.generate import generate
from flows.backfill import backfill
from intake.backfill import (
    BackfillChunkRow,
    backfill_id_for,
    finished_chunks,
    plan_chunks,
    process_chunk,
    read_chunk,
)
from intake.store import RawRequestRow, session_scope

pytestmark = pytest.mark.server


def _count(app, model) -> int:
    with session_scope(app.store.engine) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_chunks_cover_every_line_once(tmp_path):
    path = generate(1050, tmp_path / "in.jsonl")
    chunks = list(plan_chunks([path], 200))
    assert [c.chunk_no for c in chunks] == list(range(6))
    assert sum(len(read_chunk(c)) for c in chunks) == 1050


def test_an_interrupted_backfill_resumes_without_redoing_or_duplicating(
    prefect_server, app, tmp_path
):
    path = generate(900, tmp_path / "in.jsonl")
    backfill_id = backfill_id_for([path], 300)
    # An earlier run finished the first chunk and then stopped.
    first = next(iter(plan_chunks([path], 300)))
    process_chunk(first, backfill_id, app.store, app.crm)
    assert finished_chunks(app.store, backfill_id) == {0}

    outcome = backfill(str(path), chunk_lines=300, max_in_flight=2)

    assert outcome["chunks"] == 3 and outcome["chunks_skipped"] == 1
    assert outcome["requests"] == 600 and outcome["failed_chunks"] == 0
    assert finished_chunks(app.store, backfill_id) == {0, 1, 2}
    assert len(app.crm.export_intakes()) == 900
    assert _count(app, RawRequestRow) == 900

    again = backfill(str(path), chunk_lines=300, max_in_flight=2)
    assert again["chunks_skipped"] == 3 and again["requests"] == 0
    assert len(app.crm.export_intakes()) == 900
    assert _count(app, BackfillChunkRow) == 3


def test_backfill_labels_and_closes_historical_requests(prefect_server, app,
                                                       tmp_path):
    path = generate(200, tmp_path / "in.jsonl")
    backfill(str(path), chunk_lines=100, max_in_flight=1)
    rows = app.crm.export_intakes()
    assert {r["status"] for r in rows} == {"closed"}
    assert all(r["request_type"] and r["queue"] and r["owner"] for r in rows)
    assert any(r["urgency"] == "emergency" for r in rows)


@pytest.mark.slow
def test_backfill_runs_on_a_local_dask_cluster(prefect_server, tmp_path, monkeypatch):
    from prefect_dask import DaskTaskRunner

    from intake import runtime

    # Dask workers are separate processes: they find the app database through
    # the settings, so point the settings at this test's folder.
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "data"))
    from intake.settings import get_settings

    get_settings.cache_clear()
    runtime.reset()
    try:
        path = generate(400, tmp_path / "in.jsonl")
        flow = backfill.with_options(task_runner=DaskTaskRunner(cluster_kwargs={
            "n_workers": 2, "processes": True, "threads_per_worker": 1,
            "dashboard_address": None}))
        outcome = flow(str(path), chunk_lines=100, max_in_flight=4)
        assert outcome["requests"] == 400 and outcome["failed_chunks"] == 0
        assert len(runtime.crm().export_intakes()) == 400
    finally:
        get_settings.cache_clear()
        runtime.reset()

"""Backfill: years of historical requests into the app database and the CRM.

The input is split into chunks by byte offset (the file is never loaded whole,
so memory stays flat); each chunk is one unit of work: read its lines, capture
and triage each request, and write every row of the chunk in a few bulk
statements. A chunk is recorded as done in the same database, so an
interrupted backfill resumes where it stopped and never writes a request twice.

Historical requests are imported, not worked: they get labels, queue and
missing details, status ``closed`` and the follow-up outcome ``imported``; no
drafts are written and nobody is paused for review. They are not matched to
CRM patients (matching is a per-request step; run the live flow for requests
that still need action).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, mapped_column

from intake.models import CRMFields, IntakeStatus
from intake.store import (
    Base,
    IntakeRecordRow,
    RawRequestRow,
    StepRow,
    TriageRow,
    session_scope,
    utcnow,
)


class BackfillChunkRow(Base):
    """One finished chunk of a backfill (its presence means: skip on resume)."""

    __tablename__ = "backfill_chunks"

    backfill_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer)
    needs_review: Mapped[int] = mapped_column(Integer)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Chunk:
    """A byte range of one input file holding whole lines."""

    path: str
    chunk_no: int
    start: int
    end: int


@dataclass
class ChunkResult:
    chunk_no: int
    requests: int
    needs_review: int
    skipped: bool = False


def input_files(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.suffix == ".jsonl")
    return [source]


def backfill_id_for(files: list[Path], chunk_lines: int) -> str:
    """The same input and chunk size give the same id, so a rerun resumes."""
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|".encode())
    digest.update(str(chunk_lines).encode())
    return "bf-" + digest.hexdigest()[:16]


def plan_chunks(files: list[Path], chunk_lines: int) -> Iterator[Chunk]:
    """Byte ranges of ``chunk_lines`` lines each (one streaming pass, flat memory)."""
    number = 0
    for path in files:
        with path.open("rb") as handle:
            start = handle.tell()
            count = 0
            for line in iter(handle.readline, b""):
                if line.strip():
                    count += 1
                if count == chunk_lines:
                    end = handle.tell()
                    yield Chunk(str(path), number, start, end)
                    number += 1
                    start, count = end, 0
            end = handle.tell()
            if end > start:
                yield Chunk(str(path), number, start, end)
                number += 1


def read_chunk(chunk: Chunk) -> list[str]:
    with open(chunk.path, "rb") as handle:
        handle.seek(chunk.start)
        data = handle.read(chunk.end - chunk.start)
    return [line for line in data.decode("utf-8", "replace").splitlines()
            if line.strip()]


def finished_chunks(store: Any, backfill_id: str) -> set[int]:
    with session_scope(store.engine) as session:
        return set(session.scalars(
            select(BackfillChunkRow.chunk_no)
            .where(BackfillChunkRow.backfill_id == backfill_id)
        ))


def process_lines(lines: list[str], crm: Any, store: Any | None = None,
                  backfill_id: str | None = None,
                  chunk_no: int | None = None) -> ChunkResult:
    """Capture, triage and write one chunk of request lines (the bare pipeline).

    With a store, raw requests, records, labels and the chunk marker are written
    to the app database in one transaction, after the CRM rows.
    """
    from intake.capture import capture_request
    from intake.clock import response_due
    from intake.ingest import intake_id_for_line
    from intake.steps import owner_for
    from intake.triage import triage

    now = utcnow()
    raw_rows, record_rows, triage_rows, step_rows, fields = [], [], [], [], []
    needs_review = 0
    seen: set[str] = set()
    for line in lines:
        intake_id, source_id, channel = intake_id_for_line(line)
        if intake_id in seen:
            continue
        seen.add(intake_id)
        record = capture_request(line, intake_id=intake_id)
        result = triage(record)
        needs_review += record.capture_problem is not None or result.needs_staff_review
        received = record.received_at or now
        fields.append(CRMFields(
            intake_id=intake_id, source=record.channel, received_at=received,
            request_type=result.request_type, urgency=result.urgency,
            patient_status=result.patient_status, queue=result.queue,
            owner=owner_for(result.queue), status=IntakeStatus.CLOSED,
            missing_information=result.missing,
            stop_automation=result.stop_automation,
            response_due_at=response_due(received, result.queue, result.urgency),
            follow_up_outcome="imported", referral_source=record.referral_source,
        ))
        if store is not None:
            labels = result.model_dump(mode="json")
            raw_rows.append({
                "intake_id": intake_id, "source_id": source_id, "channel": channel,
                "body": line, "body_sha256": hashlib.sha256(
                    line.encode("utf-8", "replace")).hexdigest(),
                "ingested_at": now, "batch_id": backfill_id,
            })
            record_rows.append({
                "intake_id": intake_id, "record": record.model_dump(mode="json"),
                "capture_problem": record.capture_problem, "captured_at": now,
            })
            triage_rows.append({
                "intake_id": intake_id, "proposed": labels, "final": labels,
                "decided_by": result.decided_by, "decided_at": now,
            })
            step_rows.append({"intake_id": intake_id, "step": "sync",
                              "done_at": now, "outcome": {"status": "closed"}})

    crm.bulk_upsert_intakes(fields)
    if store is not None:
        _write_app_rows(store, raw_rows, record_rows, triage_rows, step_rows,
                        backfill_id, chunk_no, len(fields), needs_review)
    return ChunkResult(chunk_no or 0, len(fields), needs_review)


def _write_app_rows(store: Any, raw_rows: list[dict[str, Any]],
                    record_rows: list[dict[str, Any]],
                    triage_rows: list[dict[str, Any]], step_rows: list[dict[str, Any]],
                    backfill_id: str | None, chunk_no: int | None, requests: int,
                    needs_review: int) -> None:
    engine = store.engine
    with session_scope(engine) as session:
        for model, rows in ((RawRequestRow, raw_rows), (IntakeRecordRow, record_rows),
                            (TriageRow, triage_rows), (StepRow, step_rows)):
            if rows:
                session.execute(_insert_ignore(engine, model), rows)
        if backfill_id is not None and chunk_no is not None:
            session.merge(BackfillChunkRow(
                backfill_id=backfill_id, chunk_no=chunk_no, requests=requests,
                needs_review=needs_review, done_at=utcnow()))


def _insert_ignore(engine: Any, model: Any) -> Any:
    """INSERT that leaves rows already present alone (requests seen before)."""
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(model).on_conflict_do_nothing()
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(model).on_conflict_do_nothing()


def process_chunk(chunk: Chunk, backfill_id: str, store: Any, crm: Any) -> ChunkResult:
    """One chunk, skipped when an earlier run already finished it."""
    if chunk.chunk_no in finished_chunks(store, backfill_id):
        return ChunkResult(chunk.chunk_no, 0, 0, skipped=True)
    return process_lines(read_chunk(chunk), crm, store, backfill_id, chunk.chunk_no)


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if os.uname().sysname == "Linux" else peak / 1024 / 1024

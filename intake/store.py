"""The app database: the source of truth for request content and decisions.

Prefect only ever sees opaque intake ids; everything a request says, what each
step decided, who reviewed it and the audit trail live here. SQLite by default,
PostgreSQL in production (``INTAKE_DATABASE_URL``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from intake.models import IntakeRecord, TriageResult


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class RawRequestRow(Base):
    """A request exactly as it arrived (kept so nothing is ever lost)."""

    __tablename__ = "raw_requests"

    intake_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    body_sha256: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    batch_id: Mapped[str | None] = mapped_column(String(40), index=True)


class IntakeRecordRow(Base):
    """The clean intake record produced by capture."""

    __tablename__ = "intake_records"

    intake_id: Mapped[str] = mapped_column(
        ForeignKey("raw_requests.intake_id"), primary_key=True
    )
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    capture_problem: Mapped[str | None] = mapped_column(String(40))
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class TriageRow(Base):
    """The automated proposal and the current (final) labels side by side."""

    __tablename__ = "triage_results"

    intake_id: Mapped[str] = mapped_column(
        ForeignKey("raw_requests.intake_id"), primary_key=True
    )
    proposed: Mapped[dict[str, Any]] = mapped_column(JSON)
    final: Mapped[dict[str, Any]] = mapped_column(JSON)
    decided_by: Mapped[str] = mapped_column(String(40))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewRow(Base):
    """A staff decision at a pause point (the override ledger)."""

    __tablename__ = "review_decisions"
    __table_args__ = (UniqueConstraint("intake_id", "review_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intake_id: Mapped[str] = mapped_column(ForeignKey("raw_requests.intake_id"))
    review_key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    decision: Mapped[str] = mapped_column(String(40))
    reviewer: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    proposed: Mapped[dict[str, Any]] = mapped_column(JSON)
    final: Mapped[dict[str, Any]] = mapped_column(JSON)
    edited_text: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    flow_run_id: Mapped[str | None] = mapped_column(String(40))


class PendingReviewRow(Base):
    """A pause point that is waiting for staff."""

    __tablename__ = "pending_reviews"
    __table_args__ = (UniqueConstraint("intake_id", "review_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intake_id: Mapped[str] = mapped_column(ForeignKey("raw_requests.intake_id"))
    review_key: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(40))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DraftRow(Base):
    """Administrative drafts awaiting approval or sent to the outbox."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("intake_id", "template_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intake_id: Mapped[str] = mapped_column(ForeignKey("raw_requests.intake_id"))
    template_id: Mapped[str] = mapped_column(String(80))
    template_version: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    requires_approval: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StepRow(Base):
    """Which workflow steps finished for a request (makes reruns skip them)."""

    __tablename__ = "steps_done"

    intake_id: Mapped[str] = mapped_column(
        ForeignKey("raw_requests.intake_id"), primary_key=True
    )
    step: Mapped[str] = mapped_column(String(40), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[dict[str, Any]] = mapped_column(JSON)


class AuditRow(Base):
    """Append-only audit trail; each row hashes the previous one."""

    __tablename__ = "audit_trail"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(80))
    intake_id: Mapped[str | None] = mapped_column(String(40), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout for many writers."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


_ENGINES: dict[str, Engine] = {}


def get_engine(url: str | None = None) -> Engine:
    """The shared engine for the app database (created and migrated once)."""
    from intake.settings import get_settings

    url = url or get_settings().app_database_url
    engine = _ENGINES.get(url)
    if engine is None:
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        _ENGINES[url] = engine
    return engine


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        with session.begin():
            yield session


class IntakeStore:
    """Reads and writes of the app database, one short transaction each."""

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine or get_engine()

    # -- ingest ---------------------------------------------------------------

    def ingest(
        self, intake_id: str, source_id: str, channel: str, body: str,
        batch_id: str | None = None,
    ) -> bool:
        """Store a raw request; False when this intake id was already stored."""
        with session_scope(self.engine) as session:
            if session.get(RawRequestRow, intake_id) is not None:
                return False
            session.add(
                RawRequestRow(
                    intake_id=intake_id,
                    source_id=source_id[:200],
                    channel=channel[:40],
                    body=body,
                    body_sha256=hashlib.sha256(body.encode("utf-8", "replace"))
                    .hexdigest(),
                    ingested_at=utcnow(),
                    batch_id=batch_id,
                )
            )
        return True

    def raw_body(self, intake_id: str) -> str:
        with session_scope(self.engine) as session:
            row = session.get(RawRequestRow, intake_id)
            if row is None:
                raise UnknownIntake(intake_id)
            return row.body

    def ingested_since(self, since: datetime | None) -> list[tuple[str, datetime]]:
        with session_scope(self.engine) as session:
            query = select(RawRequestRow.intake_id, RawRequestRow.ingested_at)
            if since is not None:
                query = query.where(RawRequestRow.ingested_at >= since)
            return [(i, at) for i, at in session.execute(query)]

    def source_id(self, intake_id: str) -> str:
        with session_scope(self.engine) as session:
            row = session.get(RawRequestRow, intake_id)
            return row.source_id if row else "-"

    def intake_ids(self, batch_id: str | None = None) -> list[str]:
        with session_scope(self.engine) as session:
            query = select(RawRequestRow.intake_id).order_by(
                RawRequestRow.ingested_at, RawRequestRow.intake_id
            )
            if batch_id:
                query = query.where(RawRequestRow.batch_id == batch_id)
            return list(session.scalars(query))

    # -- records and triage -----------------------------------------------------

    def save_record(self, record: IntakeRecord) -> None:
        with session_scope(self.engine) as session:
            session.merge(
                IntakeRecordRow(
                    intake_id=record.intake_id,
                    record=record.model_dump(mode="json"),
                    capture_problem=record.capture_problem,
                    captured_at=utcnow(),
                )
            )

    def record(self, intake_id: str) -> IntakeRecord:
        with session_scope(self.engine) as session:
            row = session.get(IntakeRecordRow, intake_id)
            if row is None:
                raise UnknownIntake(intake_id)
            return IntakeRecord.model_validate(row.record)

    def save_triage(self, intake_id: str, proposed: TriageResult) -> None:
        """Store the automated proposal; final labels start equal to it."""
        data = proposed.model_dump(mode="json")
        with session_scope(self.engine) as session:
            session.merge(
                TriageRow(
                    intake_id=intake_id,
                    proposed=data,
                    final=data,
                    decided_by=proposed.decided_by,
                    decided_at=utcnow(),
                )
            )

    def triage(self, intake_id: str) -> TriageResult:
        """The current labels (after any staff correction)."""
        with session_scope(self.engine) as session:
            row = session.get(TriageRow, intake_id)
            if row is None:
                raise UnknownIntake(intake_id)
            return TriageResult.model_validate(row.final)

    def proposed_triage(self, intake_id: str) -> TriageResult:
        with session_scope(self.engine) as session:
            row = session.get(TriageRow, intake_id)
            if row is None:
                raise UnknownIntake(intake_id)
            return TriageResult.model_validate(row.proposed)

    def update_final_triage(self, intake_id: str, final: TriageResult) -> None:
        with session_scope(self.engine) as session:
            row = session.get(TriageRow, intake_id)
            if row is None:
                raise UnknownIntake(intake_id)
            row.final = final.model_dump(mode="json")

    # -- steps ------------------------------------------------------------------

    def step_outcome(self, intake_id: str, step: str) -> dict[str, Any] | None:
        with session_scope(self.engine) as session:
            row = session.get(StepRow, (intake_id, step))
            return dict(row.outcome) if row else None

    def mark_step(self, intake_id: str, step: str, outcome: dict[str, Any]) -> None:
        with session_scope(self.engine) as session:
            session.merge(
                StepRow(intake_id=intake_id, step=step, done_at=utcnow(),
                        outcome=outcome)
            )

    def clear_step(self, intake_id: str, step: str) -> None:
        with session_scope(self.engine) as session:
            row = session.get(StepRow, (intake_id, step))
            if row is not None:
                session.delete(row)

    # -- drafts -------------------------------------------------------------------

    def save_draft(
        self, intake_id: str, template_id: str, template_version: str, text: str,
        requires_approval: bool, status: str,
    ) -> None:
        with session_scope(self.engine) as session:
            existing = session.scalar(
                select(DraftRow).where(
                    DraftRow.intake_id == intake_id,
                    DraftRow.template_id == template_id,
                )
            )
            if existing is not None:
                if existing.status in {"sent", "queued"}:
                    return
                existing.template_version = template_version
                existing.text = text
                existing.requires_approval = requires_approval
                existing.status = status
                return
            session.add(
                DraftRow(
                    intake_id=intake_id, template_id=template_id,
                    template_version=template_version, text=text,
                    requires_approval=requires_approval, status=status,
                    created_at=utcnow(),
                )
            )

    def drafts(self, intake_id: str) -> list[DraftRow]:
        with session_scope(self.engine) as session:
            return list(
                session.scalars(
                    select(DraftRow)
                    .where(DraftRow.intake_id == intake_id)
                    .order_by(DraftRow.id)
                )
            )

    def set_draft_status(self, intake_id: str, template_id: str, status: str,
                         text: str | None = None) -> None:
        with session_scope(self.engine) as session:
            row = session.scalar(
                select(DraftRow).where(
                    DraftRow.intake_id == intake_id,
                    DraftRow.template_id == template_id,
                )
            )
            if row is not None:
                row.status = status
                if text is not None:
                    row.text = text

    # -- reviews ------------------------------------------------------------------

    def open_review(
        self, intake_id: str, review_key: str, kind: str, queue: str,
        due_at: datetime | None, summary: dict[str, Any],
        flow_run_id: str | None = None,
    ) -> None:
        """Record that a pause point waits for staff (once per review key)."""
        with session_scope(self.engine) as session:
            row = session.scalar(
                select(PendingReviewRow).where(
                    PendingReviewRow.intake_id == intake_id,
                    PendingReviewRow.review_key == review_key,
                )
            )
            if row is None:
                row = PendingReviewRow(
                    intake_id=intake_id, review_key=review_key, kind=kind,
                    opened_at=utcnow(),
                )
                session.add(row)
            row.queue = queue
            row.due_at = due_at
            row.summary = summary
            row.flow_run_id = flow_run_id or row.flow_run_id

    def open_reviews(self, intake_id: str | None = None) -> list[PendingReviewRow]:
        """Reviews still waiting, oldest first."""
        with session_scope(self.engine) as session:
            query = (
                select(PendingReviewRow)
                .where(PendingReviewRow.closed_at.is_(None))
                .order_by(PendingReviewRow.opened_at, PendingReviewRow.id)
            )
            if intake_id:
                query = query.where(PendingReviewRow.intake_id == intake_id)
            return list(session.scalars(query))

    def pending_review(self, review_id: int) -> PendingReviewRow | None:
        with session_scope(self.engine) as session:
            return session.get(PendingReviewRow, review_id)

    def decision(self, intake_id: str, review_key: str) -> ReviewRow | None:
        with session_scope(self.engine) as session:
            return session.scalar(
                select(ReviewRow).where(
                    ReviewRow.intake_id == intake_id,
                    ReviewRow.review_key == review_key,
                )
            )

    def decisions_for(self, intake_id: str) -> list[ReviewRow]:
        with session_scope(self.engine) as session:
            return list(session.scalars(
                select(ReviewRow).where(ReviewRow.intake_id == intake_id)
                .order_by(ReviewRow.decided_at, ReviewRow.id)
            ))

    def decisions(self, since: datetime | None = None) -> list[ReviewRow]:
        with session_scope(self.engine) as session:
            query = select(ReviewRow).order_by(ReviewRow.decided_at)
            if since is not None:
                query = query.where(ReviewRow.decided_at >= since)
            return list(session.scalars(query))

    def record_decision(
        self, intake_id: str, review_key: str, kind: str, decision: str,
        reviewer: str, proposed: dict[str, Any], final: dict[str, Any],
        edited_text: str | None = None, note: str | None = None,
        flow_run_id: str | None = None,
    ) -> bool:
        """Store a staff decision and close its pending review.

        Returns False when this review already has a decision (the first stands).
        """
        with session_scope(self.engine) as session:
            existing = session.scalar(
                select(ReviewRow).where(
                    ReviewRow.intake_id == intake_id,
                    ReviewRow.review_key == review_key,
                )
            )
            if existing is not None:
                return False
            session.add(
                ReviewRow(
                    intake_id=intake_id, review_key=review_key, kind=kind,
                    decision=decision, reviewer=reviewer, decided_at=utcnow(),
                    proposed=proposed, final=final, edited_text=edited_text,
                    note=note, overridden=_labels_of(proposed) != _labels_of(final),
                    flow_run_id=flow_run_id,
                )
            )
            pending = session.scalar(
                select(PendingReviewRow).where(
                    PendingReviewRow.intake_id == intake_id,
                    PendingReviewRow.review_key == review_key,
                )
            )
            if pending is not None:
                pending.closed_at = utcnow()
        self.audit(reviewer, f"review_{kind}_{decision}", intake_id,
                   review_key=review_key,
                   overridden=_labels_of(proposed) != _labels_of(final))
        return True

    # -- audit ----------------------------------------------------------------------

    def audit(self, actor: str, action: str, intake_id: str | None = None,
              **detail: Any) -> None:
        """Append one audit row chained to the previous row's hash."""
        append_audit(self.engine, actor, action, intake_id, detail)


def _labels_of(snapshot: dict[str, Any]) -> Any:
    """The labels of a ledger snapshot (a staff form's extra fields aside)."""
    return snapshot.get("labels", snapshot)


class UnknownIntake(LookupError):
    """No request with this intake id is stored."""

    def __init__(self, intake_id: str) -> None:
        super().__init__(f"no stored request with intake id {intake_id}")
        self.intake_id = intake_id


def _audit_hash(prev_hash: str, at: datetime, actor: str, action: str,
                intake_id: str | None, detail: dict[str, Any]) -> str:
    canonical = json.dumps(
        [prev_hash, at.isoformat(), actor, action, intake_id, detail],
        sort_keys=True, separators=(",", ":"), default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


GENESIS = "0" * 64


def append_audit(engine: Engine, actor: str, action: str, intake_id: str | None,
                 detail: dict[str, Any]) -> None:
    with session_scope(engine) as session:
        if engine.dialect.name == "postgresql":
            # One writer at a time extends the chain.
            from sqlalchemy import text

            session.execute(text("LOCK TABLE audit_trail IN EXCLUSIVE MODE"))
        last = session.scalar(select(AuditRow).order_by(AuditRow.seq.desc()).limit(1))
        prev = last.hash if last else GENESIS
        at = utcnow()
        session.add(
            AuditRow(
                at=at, actor=actor, action=action, intake_id=intake_id,
                detail=detail, prev_hash=prev,
                hash=_audit_hash(prev, at, actor, action, intake_id, detail),
            )
        )


def verify_audit(engine: Engine | None = None) -> tuple[bool, int, int | None]:
    """Check the audit hash chain: (ok, rows checked, first bad sequence number)."""
    engine = engine or get_engine()
    prev = GENESIS
    count = 0
    with session_scope(engine) as session:
        for row in session.scalars(select(AuditRow).order_by(AuditRow.seq)):
            at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
            expected = _audit_hash(prev, at, row.actor, row.action, row.intake_id,
                                   row.detail)
            if row.prev_hash != prev or row.hash != expected:
                return False, count, row.seq
            prev = row.hash
            count += 1
    return True, count, None


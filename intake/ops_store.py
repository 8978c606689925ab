"""Operations tables in the app database: no-show imports and routing-audit samples.

They live beside the intake tables but have their own metadata, created on
first use (``ensure_tables``), so the intake store's schema stays untouched.
"""

from __future__ import annotations

import weakref
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class OpsBase(DeclarativeBase):
    pass


class NoShowImport(OpsBase):
    """A missed appointment to follow up (filled by the practice, or from a CSV).

    ``status``: ``pending`` (not yet handled), ``awaiting_review`` (reminder
    drafted, staff task open), ``needs_attention`` (no reminder could be
    drafted, staff task open), ``queued`` (reminder approved into the outbox).
    """

    __tablename__ = "noshow_imports"

    appointment_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    patient_key: Mapped[str | None] = mapped_column(String(40))
    appointment_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    location_id: Mapped[str] = mapped_column(String(40))
    provider_id: Mapped[str | None] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20), default="table")
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(30), default="pending", index=True)
    follow_up_id: Mapped[str | None] = mapped_column(String(40))
    template_id: Mapped[str | None] = mapped_column(String(80))
    template_version: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str | None] = mapped_column(String(8))
    draft_text: Mapped[str | None] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(String(200))  # safe text only
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RoutingAuditSample(OpsBase):
    """A routed request sampled for a supervisor's verdict in one audit week."""

    __tablename__ = "routing_audit_samples"
    __table_args__ = (UniqueConstraint("audit_week", "intake_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    audit_week: Mapped[str] = mapped_column(String(10), index=True)
    intake_id: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(30))
    request_type: Mapped[str | None] = mapped_column(String(20))
    sampled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    decided: Mapped[bool] = mapped_column(Boolean, default=False)


_READY: weakref.WeakSet[Engine] = weakref.WeakSet()


def ensure_tables(engine: Engine) -> None:
    """Create the operations tables if they are missing (once per engine)."""
    if engine in _READY:
        return
    OpsBase.metadata.create_all(engine)
    _READY.add(engine)

"""CRM connector blocks: where intake results land for staff.

``CRMConnector`` is the interface the sync step calls; ``SqlCRM`` is the
embedded default (SQLAlchemy 2: a SQLite file, or PostgreSQL in production).
Every write is an upsert keyed by the intake id (or patient key, or
``(intake_id, kind)`` for staff tasks), so a retried write never duplicates.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Any, ClassVar

from prefect.blocks.core import Block
from pydantic import Field, SecretStr
from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Engine,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from intake.models import (
    CRMFields,
    IntakeStatus,
    MissingDetail,
    OutboundMessage,
    PatientRecord,
    Queue,
    StaffTask,
)


class CRMError(Exception):
    """The CRM refused or failed a call; the message never carries field values."""


class CRMTransientError(CRMError):
    """A failure worth retrying (lock, timeout, rate limit, 5xx)."""


class CRMConflictError(CRMError):
    """A write would break a uniqueness rule (e.g. two records for one key)."""


class CRMConnector(Block):
    """Where the intake result is synced. Implementations must be idempotent."""

    _block_type_name = "CRM Connector"

    @abstractmethod
    def find_patients(self, probe: PatientRecord) -> list[PatientRecord]:
        """Candidate patients sharing a phone, email, portal account or last name."""

    @abstractmethod
    def upsert_patient(self, patient: PatientRecord) -> str:
        """Create or update a patient by ``patient_key``; returns the key."""

    @abstractmethod
    def upsert_intake(self, fields: CRMFields) -> None:
        """Create or update the intake request keyed by ``intake_id``."""

    @abstractmethod
    def read_intake(self, intake_id: str) -> CRMFields | None:
        """The intake request's CRM fields, or None."""

    @abstractmethod
    def upsert_staff_task(self, task: StaffTask) -> None:
        """Create or update the staff task keyed by ``(intake_id, kind)``."""

    @abstractmethod
    def enqueue_message(self, message: OutboundMessage) -> None:
        """Put an approved message in the outbox (once per intake and template)."""

    @abstractmethod
    def export_intakes(self) -> list[dict[str, Any]]:
        """Every intake request's CRM fields, as plain dicts (for checks, reports)."""

    @abstractmethod
    def staff_tasks(self, intake_id: str | None = None) -> list[StaffTask]:
        """Staff tasks, of one request or all."""

    @abstractmethod
    def outbox(self, intake_id: str | None = None) -> list[OutboundMessage]:
        """Outbox messages, of one request or all."""

    def bulk_upsert_intakes(self, fields: list[CRMFields]) -> Any:
        """Upsert many intake requests (connectors override with a bulk API)."""
        for item in fields:
            self.upsert_intake(item)


# ----------------------------------------------------------------------------
# The embedded SQL CRM


class CRMBase(DeclarativeBase):
    pass


class CRMPatient(CRMBase):
    __tablename__ = "crm_patients"

    patient_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(120))
    last_name: Mapped[str | None] = mapped_column(String(120))
    date_of_birth: Mapped[Any] = mapped_column(Date, nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    portal_account: Mapped[str | None] = mapped_column(String(80), index=True)
    last_name_key: Mapped[str | None] = mapped_column(String(120), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CRMIntake(CRMBase):
    __tablename__ = "crm_intake_requests"

    intake_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    patient_key: Mapped[str | None] = mapped_column(String(40), index=True)
    source: Mapped[str | None] = mapped_column(String(20))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    request_type: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str | None] = mapped_column(String(20))
    patient_status: Mapped[str | None] = mapped_column(String(20))
    queue: Mapped[str | None] = mapped_column(String(30))
    owner: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(30))
    missing_information: Mapped[list[str]] = mapped_column(JSON)
    stop_automation: Mapped[bool] = mapped_column(Boolean)
    response_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    follow_up_outcome: Mapped[str | None] = mapped_column(String(200))
    referral_source: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    write_count: Mapped[int] = mapped_column(Integer, default=0)


class CRMStatusChange(CRMBase):
    """Each status the intake request moved through (for transition checks)."""

    __tablename__ = "crm_status_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intake_id: Mapped[str] = mapped_column(String(40), index=True)
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CRMStaffTask(CRMBase):
    __tablename__ = "crm_staff_tasks"
    __table_args__ = (UniqueConstraint("intake_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intake_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(30))
    owner: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(30))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CRMOutbox(CRMBase):
    __tablename__ = "crm_outbox"
    __table_args__ = (UniqueConstraint("intake_id", "template_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    intake_id: Mapped[str] = mapped_column(String(40), index=True)
    template_id: Mapped[str] = mapped_column(String(80))
    template_version: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


_ENGINES: dict[str, Engine] = {}


def _now() -> datetime:
    from intake.store import utcnow

    return utcnow()


def _utc(value: Any) -> Any:
    """Datetimes are stored in UTC (SQLite keeps no offset; PostgreSQL converts)."""
    from datetime import UTC

    if isinstance(value, datetime):
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )
    return value


def _as_aware(value: datetime | None) -> datetime | None:
    from datetime import UTC

    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _guarded(operation: str):  # type: ignore[no-untyped-def]
    """Translate database errors into CRM errors that carry no field values."""

    def wrap(func):  # type: ignore[no-untyped-def]
        def inner(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                try:
                    return func(self, *args, **kwargs)
                except IntegrityError:
                    # Two writers raced to create one key: PostgreSQL fails the
                    # loser instead of waiting. The winner's row is committed
                    # now, so writing once more updates it (an upsert again).
                    return func(self, *args, **kwargs)
            except OperationalError as exc:
                raise CRMTransientError(
                    f"SQL CRM {operation} failed temporarily "
                    f"({type(exc.orig).__name__}); it will be retried"
                ) from None
            except IntegrityError:
                raise CRMConflictError(
                    f"SQL CRM {operation} broke a uniqueness rule"
                ) from None
            except DBAPIError as exc:
                raise CRMError(
                    f"SQL CRM {operation} failed ({type(exc.orig).__name__})"
                ) from None

        inner.__name__ = func.__name__
        inner.__doc__ = func.__doc__
        return inner

    return wrap


class SqlCRM(CRMConnector):
    """The embedded CRM: tables in a SQL database through SQLAlchemy 2.

    Example:
        ```python
        from blocks.crm import SqlCRM

        crm = SqlCRM(connection_url="postgresql+psycopg://crm@db/crm")
        crm.save("practice-crm")
        ```
    """

    _block_type_name = "SQL CRM"
    _description = "Intake results in a SQL database (SQLite by default)."

    connection_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL; empty means the app database "
        "(INTAKE_DATABASE_URL, or the SQLite file under data/).",
    )

    MIGRATED: ClassVar[set[str]] = set()

    def _url(self) -> str:
        if self.connection_url is not None:
            return self.connection_url.get_secret_value()
        from intake.settings import get_settings

        settings = get_settings()
        return settings.crm_url or settings.app_database_url

    @property
    def engine(self) -> Engine:
        url = self._url()
        engine = _ENGINES.get(url)
        if engine is None:
            from intake.store import make_engine

            engine = make_engine(url)
            self.migrate(engine)
            _ENGINES[url] = engine
        return engine

    @staticmethod
    def migrate(engine: Engine) -> None:
        """Bring the CRM tables to the current schema."""
        from blocks.crm_migrations import upgrade

        upgrade(engine)

    # -- patients -----------------------------------------------------------------

    @_guarded("patient search")
    def find_patients(self, probe: PatientRecord) -> list[PatientRecord]:
        from sqlalchemy import or_

        conditions = []
        if probe.phone:
            conditions.append(CRMPatient.phone == probe.phone)
        if probe.email:
            conditions.append(CRMPatient.email == probe.email.lower())
        if probe.portal_account:
            conditions.append(CRMPatient.portal_account == probe.portal_account)
        if probe.last_name:
            conditions.append(CRMPatient.last_name_key == _name_key(probe.last_name))
        if probe.first_name:
            # Transposed first and last names are a common form error.
            conditions.append(CRMPatient.last_name_key == _name_key(probe.first_name))
        if probe.date_of_birth:
            conditions.append(CRMPatient.date_of_birth == probe.date_of_birth)
        if not conditions:
            return []
        with Session(self.engine) as session:
            rows = session.scalars(
                select(CRMPatient).where(or_(*conditions)).limit(200)
            )
            return [_patient_model(row) for row in rows]

    @_guarded("patient write")
    def upsert_patient(self, patient: PatientRecord) -> str:
        import uuid

        key = patient.patient_key or f"pat-{uuid.uuid4().hex[:20]}"
        now = _now()
        with Session(self.engine) as session, session.begin():
            row = session.get(CRMPatient, key)
            if row is None:
                row = CRMPatient(patient_key=key, created_at=now)
                session.add(row)
            for field in (
                "first_name",
                "last_name",
                "date_of_birth",
                "phone",
                "portal_account",
            ):
                value = getattr(patient, field)
                if value:
                    setattr(row, field, value)
            if patient.email:
                row.email = patient.email.lower()
            row.last_name_key = _name_key(row.last_name) if row.last_name else None
            row.updated_at = now
        return key

    # -- intake requests ---------------------------------------------------------

    @_guarded("intake write")
    def upsert_intake(self, fields: CRMFields) -> None:
        now = _now()
        values = {
            k: _utc(v)
            for k, v in fields.model_dump(mode="python", exclude={"intake_id"}).items()
        }
        values["missing_information"] = [str(m) for m in fields.missing_information]
        for key in (
            "source",
            "request_type",
            "urgency",
            "patient_status",
            "queue",
            "status",
        ):
            if values[key] is not None:
                values[key] = str(values[key])
        with Session(self.engine) as session, session.begin():
            row = session.get(CRMIntake, fields.intake_id, with_for_update=True)
            previous = row.status if row is not None else None
            if row is None:
                row = CRMIntake(
                    intake_id=fields.intake_id, created_at=now, write_count=0
                )
                session.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            row.updated_at = now
            row.write_count = (row.write_count or 0) + 1
            if previous != row.status:
                session.add(
                    CRMStatusChange(
                        intake_id=fields.intake_id,
                        from_status=previous,
                        to_status=row.status,
                        changed_at=now,
                    )
                )

    @_guarded("bulk intake write")
    def bulk_upsert_intakes(self, fields: list[CRMFields]) -> int:
        """Upsert many intake requests in one statement (backfills)."""
        if not fields:
            return 0
        now = _now()
        rows = []
        for item in fields:
            row = {k: _utc(v) for k, v in item.model_dump(mode="python").items()}
            row["missing_information"] = [str(m) for m in item.missing_information]
            for key in (
                "source",
                "request_type",
                "urgency",
                "patient_status",
                "queue",
                "status",
            ):
                if row[key] is not None:
                    row[key] = str(row[key])
            row.update(created_at=now, updated_at=now, write_count=1)
            rows.append(row)
        engine = self.engine
        if engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        statement = insert(CRMIntake)
        keep = {"intake_id", "created_at"}
        statement = statement.on_conflict_do_update(
            index_elements=[CRMIntake.intake_id],
            set_={c: statement.excluded[c] for c in rows[0] if c not in keep}
            | {"write_count": CRMIntake.write_count + 1},
        )
        history = [
            {
                "intake_id": r["intake_id"],
                "from_status": None,
                "to_status": r["status"],
                "changed_at": now,
            }
            for r in rows
        ]
        with Session(engine) as session, session.begin():
            known = set(
                session.scalars(
                    select(CRMIntake.intake_id).where(
                        CRMIntake.intake_id.in_([r["intake_id"] for r in rows])
                    )
                )
            )
            session.execute(statement, rows)
            fresh = [h for h in history if h["intake_id"] not in known]
            if fresh:
                session.execute(insert_history(), fresh)
        return len(rows)

    @_guarded("intake read")
    def read_intake(self, intake_id: str) -> CRMFields | None:
        with Session(self.engine) as session:
            row = session.get(CRMIntake, intake_id)
            return _intake_model(row) if row is not None else None

    @_guarded("intake export")
    def export_intakes(self) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            rows = session.scalars(select(CRMIntake).order_by(CRMIntake.received_at))
            return [_intake_model(row).model_dump(mode="json") for row in rows]

    @_guarded("patient export")
    def export_patients(self) -> list[dict[str, Any]]:
        """Every patient's identity and contact fields, as plain dicts (for checks)."""
        with Session(self.engine) as session:
            rows = session.scalars(select(CRMPatient).order_by(CRMPatient.patient_key))
            return [_patient_model(row).model_dump(mode="json") for row in rows]

    @_guarded("status history read")
    def status_history(self) -> list[dict[str, Any]]:
        with Session(self.engine) as session:
            rows = session.scalars(select(CRMStatusChange).order_by(CRMStatusChange.id))
            return [
                {
                    "intake_id": r.intake_id,
                    "from_status": r.from_status,
                    "to_status": r.to_status,
                    "changed_at": _as_aware(r.changed_at),
                }
                for r in rows
            ]

    # -- staff tasks and outbox --------------------------------------------------

    @_guarded("staff task write")
    def upsert_staff_task(self, task: StaffTask) -> None:
        now = _now()
        with Session(self.engine) as session, session.begin():
            row = session.scalar(
                select(CRMStaffTask).where(
                    CRMStaffTask.intake_id == task.intake_id,
                    CRMStaffTask.kind == task.kind,
                )
            )
            if row is None:
                row = CRMStaffTask(
                    intake_id=task.intake_id, kind=task.kind, created_at=now
                )
                session.add(row)
            row.queue = str(task.queue)
            row.owner = task.owner
            row.status = task.status
            row.due_at = _utc(task.due_at)
            row.summary = task.summary
            row.updated_at = now

    @_guarded("staff task read")
    def staff_tasks(self, intake_id: str | None = None) -> list[StaffTask]:
        with Session(self.engine) as session:
            query = select(CRMStaffTask).order_by(CRMStaffTask.id)
            if intake_id:
                query = query.where(CRMStaffTask.intake_id == intake_id)
            return [
                StaffTask(
                    intake_id=r.intake_id,
                    kind=r.kind,
                    queue=Queue(r.queue),
                    owner=r.owner,
                    status=r.status,
                    due_at=_as_aware(r.due_at),
                    summary=r.summary,
                )
                for r in session.scalars(query)
            ]

    @_guarded("outbox write")
    def enqueue_message(self, message: OutboundMessage) -> None:
        now = _now()
        with Session(self.engine) as session, session.begin():
            row = session.scalar(
                select(CRMOutbox).where(
                    CRMOutbox.intake_id == message.intake_id,
                    CRMOutbox.template_id == message.template_id,
                )
            )
            if row is not None:
                if row.status == "sent":
                    return
            else:
                row = CRMOutbox(
                    intake_id=message.intake_id,
                    template_id=message.template_id,
                    created_at=now,
                )
                session.add(row)
            row.template_version = message.template_version
            row.channel = message.channel
            row.text = message.text
            row.status = message.status
            row.updated_at = now

    @_guarded("outbox read")
    def outbox(self, intake_id: str | None = None) -> list[OutboundMessage]:
        with Session(self.engine) as session:
            query = select(CRMOutbox).order_by(CRMOutbox.id)
            if intake_id:
                query = query.where(CRMOutbox.intake_id == intake_id)
            return [
                OutboundMessage(
                    intake_id=r.intake_id,
                    template_id=r.template_id,
                    template_version=r.template_version,
                    channel=r.channel,
                    text=r.text,
                    status=r.status,
                )
                for r in session.scalars(query)
            ]


def insert_history() -> Any:
    from sqlalchemy import insert

    return insert(CRMStatusChange)


def _name_key(name: str) -> str:
    import unicodedata

    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return "".join(c for c in folded.lower() if c.isalpha())


def _patient_model(row: CRMPatient) -> PatientRecord:
    return PatientRecord(
        patient_key=row.patient_key,
        first_name=row.first_name,
        last_name=row.last_name,
        date_of_birth=row.date_of_birth,
        phone=row.phone,
        email=row.email,
        portal_account=row.portal_account,
    )


def _intake_model(row: CRMIntake) -> CRMFields:
    # Validation turns the stored strings back into the vocabulary's enums.
    return CRMFields.model_validate(dict(
        intake_id=row.intake_id,
        patient_key=row.patient_key,
        source=row.source,
        received_at=_as_aware(row.received_at),
        request_type=row.request_type,
        urgency=row.urgency,
        patient_status=row.patient_status,
        queue=row.queue,
        owner=row.owner,
        status=IntakeStatus(row.status),
        missing_information=[MissingDetail(m) for m in row.missing_information or []],
        stop_automation=row.stop_automation,
        response_due_at=_as_aware(row.response_due_at),
        follow_up_outcome=row.follow_up_outcome,
        referral_source=row.referral_source,
    ))


def load_crm() -> CRMConnector:
    """The configured CRM connector (``INTAKE_CRM``), or a saved block of it."""
    from intake.settings import get_settings

    settings = get_settings()
    if settings.crm == "salesforce":
        from blocks.crm_salesforce import SalesforceCRM

        return SalesforceCRM.from_settings()
    return SqlCRM()

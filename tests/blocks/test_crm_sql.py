"""The SQL CRM against the CRM contract on SQLite and PostgreSQL, and its migration.

The PostgreSQL tests need the server at 127.0.0.1:5432 (override with
``INTAKE_TEST_POSTGRES_URL``); each test session creates its own database and
drops it at the end. They skip when the server is unreachable.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import create_engine, insert, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

from blocks import crm as crm_module
from blocks.crm import CRMConflictError, SqlCRM
from blocks.crm_migrations import current_revision, upgrade
from intake.models import (
    CRMFields,
    IntakeStatus,
    OutboundMessage,
    PatientRecord,
    Queue,
    StaffTask,
)
from tests.blocks.crm_contract import CRMContract, full_intake, patient

POSTGRES_URL = os.environ.get(
    "INTAKE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
CRM_TABLES = (
    "crm_intake_requests",
    "crm_patients",
    "crm_staff_tasks",
    "crm_outbox",
    "crm_status_history",
)


def _intake_row(intake_id: str) -> dict[str, object]:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return {
        "intake_id": intake_id,
        "status": "new",
        "missing_information": [],
        "stop_automation": False,
        "created_at": now,
        "updated_at": now,
        "write_count": 1,
    }


def _forget_engine(url: str) -> None:
    # SqlCRM caches one engine per URL; drop ours so its connections close.
    engine = crm_module._ENGINES.pop(url, None)
    if engine is not None:
        engine.dispose()


# ----------------------------------------------------------------------------
# SQLite


class TestSqliteCRMContract(CRMContract):
    @pytest.fixture
    def crm(self, tmp_path: Path) -> Iterator[SqlCRM]:
        url = f"sqlite:///{tmp_path / 'crm.db'}"
        yield SqlCRM(connection_url=SecretStr(url))
        _forget_engine(url)


def test_the_sqlite_migration_refuses_a_duplicate_intake_id(tmp_path: Path):
    engine = create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    upgrade(engine)
    table = crm_module.CRMIntake.__table__

    with engine.begin() as connection:
        connection.execute(insert(table).values(**_intake_row("int-0001")))
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(table).values(**_intake_row("int-0001")))
    engine.dispose()


# ----------------------------------------------------------------------------
# PostgreSQL


def _admin_engine() -> Engine:
    return create_engine(
        POSTGRES_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Engine]:
    """An autocommit engine on the server's admin database; skips when unreachable."""
    engine = _admin_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means no server to test
        engine.dispose()
        pytest.skip(
            f"PostgreSQL at {make_url(POSTGRES_URL).host} unreachable: "
            f"{type(exc).__name__}"
        )
    yield engine
    engine.dispose()


def _create_database(server: Engine) -> str:
    name = f"crm_test_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return (
        make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    )


def _drop_database(server: Engine, url: str) -> None:
    _forget_engine(url)
    name = make_url(url).database
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_crm_url(postgres_server: Engine) -> Iterator[str]:
    """A database of its own for this test session's SQL CRM."""
    url = _create_database(postgres_server)
    yield url
    _drop_database(postgres_server, url)


@pytest.fixture
def empty_postgres_url(postgres_server: Engine) -> Iterator[str]:
    """A brand-new, empty database (dropped after the test)."""
    url = _create_database(postgres_server)
    yield url
    _drop_database(postgres_server, url)


@pytest.mark.postgres
class TestPostgresCRMContract(CRMContract):
    @pytest.fixture
    def crm(self, postgres_crm_url: str) -> SqlCRM:
        crm = SqlCRM(connection_url=SecretStr(postgres_crm_url))
        with crm.engine.begin() as connection:
            connection.execute(
                text(f"TRUNCATE {', '.join(CRM_TABLES)} RESTART IDENTITY")
            )
        return crm


@pytest.mark.postgres
def test_the_migration_creates_the_crm_schema_on_an_empty_postgres_database(
    empty_postgres_url: str,
):
    engine = create_engine(empty_postgres_url)
    assert inspect(engine).get_table_names() == []

    upgrade(engine)

    tables = set(inspect(engine).get_table_names())
    assert tables == {*CRM_TABLES, "crm_alembic_version"}
    assert current_revision(engine) == "0001"
    columns = {c["name"] for c in inspect(engine).get_columns("crm_intake_requests")}
    assert set(CRMFields.model_fields) <= columns
    assert inspect(engine).get_pk_constraint("crm_intake_requests")[
        "constrained_columns"
    ] == ["intake_id"]
    engine.dispose()


@pytest.mark.postgres
def test_running_the_migration_twice_changes_nothing(empty_postgres_url: str):
    engine = create_engine(empty_postgres_url)
    upgrade(engine)
    upgrade(engine)

    assert current_revision(engine) == "0001"
    engine.dispose()


@pytest.mark.postgres
def test_postgres_refuses_a_duplicate_intake_id(empty_postgres_url: str):
    engine = create_engine(empty_postgres_url)
    upgrade(engine)
    table = crm_module.CRMIntake.__table__

    with engine.begin() as connection:
        connection.execute(insert(table).values(**_intake_row("int-0001")))
    with pytest.raises(IntegrityError) as raised, engine.begin() as connection:
        connection.execute(insert(table).values(**_intake_row("int-0001")))

    assert "crm_intake_requests_pkey" in str(raised.value.orig)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM crm_intake_requests"))
        assert count.scalar_one() == 1
    engine.dispose()


def _race(crm: SqlCRM, write) -> list[Exception]:  # type: ignore[no-untyped-def]
    """Run four writes of one new key at the same moment; the errors they raised."""
    start = threading.Barrier(4)
    errors: list[Exception] = []

    def run(n: int) -> None:
        start.wait()
        try:
            write(n)
        except CRMConflictError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.fixture
def postgres_crm(postgres_crm_url: str) -> SqlCRM:
    crm = SqlCRM(connection_url=SecretStr(postgres_crm_url))
    with crm.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(CRM_TABLES)} RESTART IDENTITY"))
    return crm


@pytest.mark.postgres
def test_concurrent_writes_of_one_new_intake_leave_one_record(postgres_crm: SqlCRM):
    statuses = list(IntakeStatus)

    def write(n: int) -> None:
        postgres_crm.upsert_intake(full_intake("int-race", status=statuses[n]))

    assert _race(postgres_crm, write) == []
    assert [r["intake_id"] for r in postgres_crm.export_intakes()] == ["int-race"]


@pytest.mark.postgres
def test_concurrent_writes_of_one_new_patient_task_and_message_leave_one_each(
    postgres_crm: SqlCRM,
):
    def write(n: int) -> None:
        postgres_crm.upsert_patient(patient(phone=f"+1555555010{n}"))
        postgres_crm.upsert_staff_task(
            StaffTask(
                intake_id="int-race",
                kind="call_back",
                queue=Queue.FRONT_DESK,
                summary=f"attempt {n}",
            )
        )
        postgres_crm.enqueue_message(
            OutboundMessage(
                intake_id="int-race",
                template_id="ack",
                channel="portal",
                template_version=str(n),
                text="We received your request.",
            )
        )

    assert _race(postgres_crm, write) == []
    assert len(postgres_crm.find_patients(PatientRecord(last_name="Example"))) == 1
    assert len(postgres_crm.staff_tasks("int-race")) == 1
    assert len(postgres_crm.outbox("int-race")) == 1

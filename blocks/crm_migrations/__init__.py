"""Alembic migrations of the SQL CRM's tables (``crm_*``).

``upgrade(engine)`` brings a database to the newest revision; it is what
``SqlCRM`` runs on first use, and ``intake crm migrate`` runs by hand.
New revisions: ``alembic -c blocks/crm_migrations/alembic.ini revision
--autogenerate -m "..."`` with ``INTAKE_CRM_URL`` pointing at a database.
"""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import Engine

HERE = Path(__file__).resolve().parent
_LOCK = threading.Lock()


def alembic_config(engine: Engine | None = None):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("version_table", "crm_alembic_version")
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (idempotent)."""
    from alembic import command

    with _LOCK:
        command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"version_table": "crm_alembic_version"}
        )
        return context.get_current_revision()

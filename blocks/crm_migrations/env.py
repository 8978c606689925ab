"""Alembic environment for the SQL CRM tables."""

from __future__ import annotations

import logging

from alembic import context

from blocks.crm import CRMBase

config = context.config
target_metadata = CRMBase.metadata
VERSION_TABLE = "crm_alembic_version"

# Alembic logs each migration at INFO; keep the app's logging as configured.
logging.getLogger("alembic").setLevel(logging.WARNING)


def _include(name, type_, *_args):  # type: ignore[no-untyped-def]
    # The CRM may share a database with the app tables: only manage crm_*.
    return type_ != "table" or (name or "").startswith("crm_")


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from blocks.crm import SqlCRM

        engine = SqlCRM().engine
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=VERSION_TABLE,
            include_name=_include,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()

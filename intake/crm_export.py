"""Read-only CRM exports for data-quality checks and reports, values as stored.

``CRMConnector.export_intakes`` validates every record through ``CRMFields``,
so a value outside the contract's vocabulary makes it raise instead of
showing up in a check. For the embedded SQL CRM this module reads the table
columns as they are; other connectors fall back to their own export (a bad
value there becomes a safe ``CRMExportRefused``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

INTAKE_COLUMNS: tuple[str, ...] = (
    "intake_id", "patient_key", "source", "received_at", "request_type", "urgency",
    "patient_status", "queue", "owner", "status", "missing_information",
    "stop_automation", "response_due_at",
)


class CRMExportRefused(Exception):
    """The CRM's own export refused a record (a value outside the vocabulary)."""


def _aware(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value


def _is_sql_crm(crm: Any) -> bool:
    from blocks.crm import SqlCRM

    return isinstance(crm, SqlCRM)


def intake_rows(crm: Any) -> list[dict[str, Any]]:
    """Every intake request's CRM fields as stored (datetimes aware, in UTC)."""
    if _is_sql_crm(crm):
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from blocks.crm import CRMIntake

        columns = [getattr(CRMIntake, name) for name in INTAKE_COLUMNS]
        with Session(crm.engine) as session:
            rows = [dict(zip(INTAKE_COLUMNS, row, strict=True))
                    for row in session.execute(select(*columns))]
    else:
        try:
            rows = crm.export_intakes()
        except ValidationError:
            raise CRMExportRefused(
                "the CRM export refused a record whose values are outside the "
                "contract's vocabulary; check the CRM's picklists"
            ) from None
    for row in rows:
        row["received_at"] = _aware(row.get("received_at"))
        row["response_due_at"] = _aware(row.get("response_due_at"))
    return rows


def status_rows(crm: Any) -> list[dict[str, Any]] | None:
    """Every recorded status change, or None when the connector keeps no history."""
    history = getattr(crm, "status_history", None)
    if history is None:
        return None
    rows = history()
    for row in rows:
        row["changed_at"] = _aware(row.get("changed_at"))
    return rows


def patient_contacts(crm: Any) -> list[dict[str, Any]] | None:
    """Each patient's key, phone and email, or None when the connector cannot list."""
    export = getattr(crm, "export_patients", None)
    if export is None:
        return None
    return [
        {"patient_key": p.get("patient_key"), "phone": p.get("phone"),
         "email": p.get("email")}
        for p in export()
    ]

"""Data-quality checks of the synced CRM fields, with great-expectations 1.x.

What is checked (each an expectation with a stable name):

- every label is in the contract's vocabulary: request type, urgency, patient
  status, queue, status, source and each missing-information item;
- owner, queue, status and response due time are present;
- the response is due after the request arrived;
- one record per intake id;
- patients' phones are E.164 and emails look like addresses (where given);
- every recorded status change is an allowed move (``STATUS_TRANSITIONS``).

Results carry counts only. great-expectations runs with the ``SUMMARY``
result format and ``partial_unexpected_count: 0``, so failing values (which
may be patient data) never reach results, artifacts or the Data Docs HTML.
great-expectations takes about 4 s to import, so it is imported only here,
inside ``check_frames``.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from intake.models import (
    STATUS_TRANSITIONS,
    Channel,
    IntakeStatus,
    MissingDetail,
    PatientStatus,
    Queue,
    RequestType,
    Urgency,
)
from intake.store import utcnow

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

# Failing values stay out of results and Data Docs: counts only.
RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": 0,
}
DOCS_SITE = "intake-quality"
E164 = r"^\+[1-9][0-9]{7,14}$"
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
START = "start"  # the "from" side of a record's first status

INTAKE_FRAME_COLUMNS = (
    "intake_id", "source", "received_at", "request_type", "urgency",
    "patient_status", "queue", "owner", "status", "response_due_at",
)


class ExpectationOutcome(BaseModel):
    """One expectation's outcome: counts only, never the failing values."""

    name: str
    table: str
    success: bool
    unexpected_count: int = 0
    element_count: int = 0
    error: bool = False  # the expectation itself could not be evaluated


class QualityReport(BaseModel):
    """The outcome of one run of the checks (safe for Prefect and logs)."""

    checked_at: datetime = Field(default_factory=utcnow)
    success: bool
    results: list[ExpectationOutcome]
    skipped: list[str] = Field(default_factory=list)
    data_docs_index: str | None = None

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [r for r in self.results if not r.success]

    def outcome(self, name: str) -> ExpectationOutcome:
        for result in self.results:
            if result.name == name:
                return result
        raise KeyError(name)

    def table_rows(self) -> list[dict[str, Any]]:
        return [
            {"expectation": r.name, "table": r.table,
             "result": "pass" if r.success else ("error" if r.error else "FAIL"),
             "unexpected": r.unexpected_count, "checked": r.element_count}
            for r in self.results
        ]

    def markdown(self) -> str:
        failed = self.failures
        head = (
            f"## Data quality: {'all checks pass' if self.success else 'FAILED'}\n\n"
            f"Checked {self.checked_at:%Y-%m-%d %H:%M} UTC: "
            f"{len(self.results) - len(failed)} of {len(self.results)} "
            "expectations pass.\n"
        )
        lines = [head, "| expectation | result | unexpected | checked |",
                 "|---|---|---:|---:|"]
        for row in self.table_rows():
            lines.append(f"| {row['expectation']} | {row['result']} | "
                         f"{row['unexpected']} | {row['checked']} |")
        if self.skipped:
            lines += ["", "Not checked: " + "; ".join(self.skipped)]
        return "\n".join(lines) + "\n"


@dataclass
class QualityFrames:
    """The tables the checks read (built from the CRM, or given by a test)."""

    intakes: pd.DataFrame
    missing_items: pd.DataFrame
    transitions: pd.DataFrame | None = None
    patients: pd.DataFrame | None = None


# ----------------------------------------------------------------------------
# Building the tables


def intakes_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The intake requests' checked columns (blank text counts as missing)."""
    import pandas as pd

    frame = pd.DataFrame(
        [{c: row.get(c) for c in INTAKE_FRAME_COLUMNS} for row in rows],
        columns=list(INTAKE_FRAME_COLUMNS), dtype=object,
    )
    for column in ("owner", "queue", "status"):
        frame[column] = frame[column].map(_blank_to_none)
    for column in ("received_at", "response_due_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce")
    return frame


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def missing_items_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per missing-information item of every request."""
    import pandas as pd

    items = []
    for row in rows:
        value = row.get("missing_information") or []
        # A non-list value is itself a fault: check it as one item.
        for item in value if isinstance(value, list) else [value]:
            items.append({"intake_id": row.get("intake_id"),
                          "item": item if isinstance(item, str) else repr(item)})
    return pd.DataFrame(items, columns=["intake_id", "item"], dtype=object)


def transitions_frame(history: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per status change, the move written ``from:to``."""
    import pandas as pd

    moves = [
        {"intake_id": r.get("intake_id"),
         "transition": f"{r.get('from_status') or START}:{r.get('to_status')}"}
        for r in history
    ]
    return pd.DataFrame(moves, columns=["intake_id", "transition"], dtype=object)


def patients_frame(patients: list[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame(
        [{"patient_key": p.get("patient_key"), "phone": _blank_to_none(p.get("phone")),
          "email": _blank_to_none(p.get("email"))} for p in patients],
        columns=["patient_key", "phone", "email"], dtype=object,
    )


def allowed_transitions() -> list[str]:
    """Every allowed ``from:to`` move, including a record's first status."""
    moves = {f"{START}:{status}" for status in IntakeStatus}
    for source, targets in STATUS_TRANSITIONS.items():
        moves.update(f"{source}:{target}" for target in targets)
    return sorted(moves)


def frames_from_crm(crm: Any) -> tuple[QualityFrames, list[str]]:
    """The checked tables from a CRM connector, and what it cannot provide."""
    from intake.crm_export import intake_rows, patient_contacts, status_rows

    skipped = []
    rows = intake_rows(crm)
    history = status_rows(crm)
    if history is None:
        skipped.append("status transitions (the connector keeps no status history)")
    patients = patient_contacts(crm)
    if patients is None:
        skipped.append("patient phones and emails (the connector cannot list patients)")
    frames = QualityFrames(
        intakes=intakes_frame(rows),
        missing_items=missing_items_frame(rows),
        transitions=transitions_frame(history) if history is not None else None,
        patients=patients_frame(patients) if patients is not None else None,
    )
    return frames, skipped


# ----------------------------------------------------------------------------
# The expectations


def _expectations(gxe: Any) -> dict[str, list[tuple[str, Any]]]:
    """Suite name -> (check name, expectation) pairs."""

    def in_vocabulary(column: str, values: list[str], what: str) -> Any:
        return gxe.ExpectColumnValuesToBeInSet(
            column=column, value_set=values,
            description=f"Every {what} is a label of the intake contract.",
        )

    def present(column: str) -> Any:
        return gxe.ExpectColumnValuesToNotBeNull(
            column=column, description=f"Every request has {column} filled in.")

    def labels(enum: Any) -> list[str]:
        return [member.value for member in enum]

    return {
        "crm_intakes": [
            ("intakes.request_type.in_vocabulary",
             in_vocabulary("request_type", labels(RequestType), "request type")),
            ("intakes.urgency.in_vocabulary",
             in_vocabulary("urgency", labels(Urgency), "urgency")),
            ("intakes.patient_status.in_vocabulary",
             in_vocabulary("patient_status", labels(PatientStatus), "patient status")),
            ("intakes.queue.in_vocabulary",
             in_vocabulary("queue", labels(Queue), "queue")),
            ("intakes.status.in_vocabulary",
             in_vocabulary("status", labels(IntakeStatus), "status")),
            ("intakes.source.in_vocabulary",
             in_vocabulary("source", labels(Channel), "source channel")),
            ("intakes.owner.present", present("owner")),
            ("intakes.queue.present", present("queue")),
            ("intakes.status.present", present("status")),
            ("intakes.response_due_at.present", present("response_due_at")),
            ("intakes.response_due_at.after_received_at",
             gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                 column_A="response_due_at", column_B="received_at", or_equal=False,
                 ignore_row_if="either_value_is_missing",
                 description="The response is due after the request arrived.")),
            ("intakes.intake_id.unique",
             gxe.ExpectColumnValuesToBeUnique(
                 column="intake_id", description="One record per intake id.")),
        ],
        "crm_missing_information": [
            ("missing_information.item.in_vocabulary",
             in_vocabulary("item", labels(MissingDetail), "missing-information item")),
        ],
        "crm_status_history": [
            ("status_history.transition.allowed",
             gxe.ExpectColumnValuesToBeInSet(
                 column="transition", value_set=allowed_transitions(),
                 description="Every status change is an allowed move "
                 "(from:to; 'start' is a record's first status).")),
        ],
        "crm_patients": [
            ("patients.phone.e164",
             gxe.ExpectColumnValuesToMatchRegex(
                 column="phone", regex=E164,
                 description="Phones, where given, are E.164 (+ and digits).")),
            ("patients.email.syntax",
             gxe.ExpectColumnValuesToMatchRegex(
                 column="email", regex=EMAIL,
                 description="Emails, where given, look like an address.")),
        ],
    }


_SUITE_FRAMES = {
    "crm_intakes": "intakes",
    "crm_missing_information": "missing_items",
    "crm_status_history": "transitions",
    "crm_patients": "patients",
}


def check_frames(frames: QualityFrames, data_docs_dir: Path | None = None,
                 skipped: list[str] | None = None) -> QualityReport:
    """Run every expectation on the given tables; Data Docs when a folder is given."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    site_names: list[str] = []
    if data_docs_dir is not None:
        data_docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(
            site_name=DOCS_SITE,
            site_config={
                "class_name": "SiteBuilder",
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(data_docs_dir),
                },
            },
        )
        site_names.append(DOCS_SITE)

    source = context.data_sources.add_pandas("crm")
    definitions, batches = [], {}
    for suite_name, checks in _expectations(gxe).items():
        frame = getattr(frames, _SUITE_FRAMES[suite_name])
        if frame is None:
            continue
        suite = context.suites.add(gx.ExpectationSuite(name=suite_name))
        for check_name, expectation in checks:
            expectation.meta = {"check": check_name}
            suite.add_expectation(expectation)
        asset = source.add_dataframe_asset(suite_name)
        batch = asset.add_batch_definition_whole_dataframe(f"{suite_name}_all")
        definitions.append(context.validation_definitions.add(
            gx.ValidationDefinition(name=suite_name, data=batch, suite=suite)))
        batches[suite_name] = frame

    outcomes: list[ExpectationOutcome] = []
    for definition in definitions:
        # Each table is its own dataframe batch; results go to the context's
        # store, from which the Data Docs are built once at the end.
        suite_result = definition.run(
            batch_parameters={"dataframe": batches[definition.name]},
            result_format=RESULT_FORMAT,
        )
        outcomes += [_outcome(definition.name, r) for r in suite_result.results]
    if site_names:
        context.build_data_docs(site_names=site_names)

    report = QualityReport(
        success=all(o.success for o in outcomes),
        results=outcomes,
        skipped=list(skipped or []),
        data_docs_index=str(data_docs_dir / "index.html") if site_names and
        data_docs_dir is not None else None,
    )
    logger.info("data-quality checks: %d expectations, %d failed",
                len(outcomes), len(report.failures))
    return report


def _outcome(table: str, result: Any) -> ExpectationOutcome:
    config = result.expectation_config
    name = (config.meta or {}).get("check") or config.type
    summary = result.result or {}
    errored = bool((result.exception_info or {}).get("raised_exception"))
    return ExpectationOutcome(
        name=name,
        table=table,
        success=bool(result.success) and not errored,
        unexpected_count=int(summary.get("unexpected_count") or 0),
        element_count=int(summary.get("element_count") or 0),
        error=errored,
    )


def run_checks(crm: Any, data_docs_dir: Path | None) -> QualityReport:
    """Check the CRM's synced fields; Data Docs HTML into ``data_docs_dir``."""
    frames, skipped = frames_from_crm(crm)
    return check_frames(frames, data_docs_dir, skipped=skipped)


# ----------------------------------------------------------------------------
# Alerting staff


def alert_text(report: QualityReport) -> tuple[str, str]:
    """(subject, body) of the alert: expectation names and counts only."""
    failed = report.failures
    subject = (f"Intake data quality: {len(failed)} of {len(report.results)} "
               "checks failed")
    lines = [f"- {r.name}: {r.unexpected_count} of {r.element_count} records"
             + (" (check could not run)" if r.error else "") for r in failed]
    body = "\n".join(
        [subject + f" ({report.checked_at:%Y-%m-%d %H:%M} UTC).", *lines,
         "Open the data-quality artifact or Data Docs for details."]
    )
    return subject, body


def send_alert(report: QualityReport, block: Any) -> bool:
    """Alert staff through a Prefect notification block (or its saved name).

    Returns False when the block could not deliver; the reason is logged by
    type only (a webhook URL may carry a token).
    """
    if isinstance(block, str):
        from prefect.blocks.core import Block

        block = Block.load(block)
    subject, body = alert_text(report)
    try:
        block.notify(body=body, subject=subject)
    except Exception as exc:  # noqa: BLE001 - a failed alert must not hide results
        logger.warning("data-quality alert was not delivered (%s)", type(exc).__name__)
        return False
    return True

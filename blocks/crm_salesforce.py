"""Salesforce CRM connector block: intake results as Contacts, Cases, Tasks.

Patients are Contacts, intake requests are Cases, staff follow-ups are Tasks and
outbox messages are records of a custom object, each upserted by an external id
so a retried write never duplicates. ``SALESFORCE_FIELDS`` is the one table of
what the org needs; the README renders it with ``salesforce_field_table()``.

Errors, by what the sync step should do about them::

    CRMError                      stop: fix configuration or data (code only)
    ├── CRMAuthError              login refused, or the session expired twice
    ├── CRMConflictError          two records share one external id (HTTP 300)
    └── CRMTransientError         limits, 5xx, timeouts: already retried here

simple-salesforce puts the request URL and the response body (record values)
into its exception text, so none of its exceptions leave this module.
"""

from __future__ import annotations

import csv
import io
import logging
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeVar, cast

import requests
from pydantic import BaseModel, Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
)
from simple_salesforce.format import format_external_id, format_soql

from blocks.crm import CRMConflictError, CRMConnector, CRMError, CRMTransientError
from intake.models import (
    Channel,
    CRMFields,
    IntakeStatus,
    MissingDetail,
    OutboundMessage,
    PatientRecord,
    PatientStatus,
    Queue,
    RequestType,
    StaffTask,
    Urgency,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CRMAuthError(CRMError):
    """Salesforce refused the login, or rejected a fresh session again."""


# ----------------------------------------------------------------------------
# The mapping: one table of every object and field the org needs


@dataclass(frozen=True)
class SalesforceField:
    """One Salesforce field the connector writes and reads."""

    api_name: str
    kind: str  # text | picklist | multipicklist | checkbox | datetime | date
    salesforce_type: str  # what an admin creates, as Setup names it
    note: str = ""
    values: tuple[str, ...] = ()  # picklist values (the contract's labels)


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


SALESFORCE_OBJECTS: dict[str, str] = {
    "patient": "Contact",
    "intake": "Case",
    "task": "Task",
    "message": "Intake_Message__c",
}

# Keys are "<record>.<attribute>": the record is a key of SALESFORCE_OBJECTS and
# the attribute a field of PatientRecord, CRMFields, StaffTask or
# OutboundMessage, or a value derived from them (``key``, ``subject``, ...).
SALESFORCE_FIELDS: dict[str, SalesforceField] = {
    # Contact
    "patient.patient_key": SalesforceField(
        "Patient_Key__c", "text", "Text(40), External ID, Unique", "upsert key"
    ),
    "patient.first_name": SalesforceField("FirstName", "text", "standard"),
    "patient.last_name": SalesforceField(
        "LastName",
        "text",
        "standard",
        "required by Salesforce; a placeholder "
        "is written when a request gives no last name",
    ),
    "patient.date_of_birth": SalesforceField("Birthdate", "date", "standard"),
    "patient.phone": SalesforceField("Phone", "text", "standard", "E.164"),
    "patient.email": SalesforceField("Email", "text", "standard", "lower case"),
    "patient.portal_account": SalesforceField("Portal_Account__c", "text", "Text(80)"),
    # Case
    "intake.intake_id": SalesforceField(
        "Intake_Id__c", "text", "Text(40), External ID, Unique", "upsert key"
    ),
    # Known gap: the Case carries the patient key as text and is not linked to
    # the Contact (ContactId). Linking needs the Contact to exist first and a
    # lookup by external id in the Case body; an org Flow can do it meanwhile.
    "intake.patient_key": SalesforceField(
        "Patient_Key__c", "text", "Text(40)", "the Contact's Patient_Key__c"
    ),
    "intake.source": SalesforceField(
        "Intake_Source__c", "picklist", "Picklist", values=_values(Channel)
    ),
    "intake.received_at": SalesforceField("Received_At__c", "datetime", "Date/Time"),
    "intake.request_type": SalesforceField(
        "Request_Type__c", "picklist", "Picklist", values=_values(RequestType)
    ),
    "intake.urgency": SalesforceField(
        "Urgency__c", "picklist", "Picklist", values=_values(Urgency)
    ),
    "intake.patient_status": SalesforceField(
        "Patient_Status__c", "picklist", "Picklist", values=_values(PatientStatus)
    ),
    "intake.queue": SalesforceField(
        "Queue__c", "picklist", "Picklist", values=_values(Queue)
    ),
    "intake.owner": SalesforceField(
        "Owner_Label__c", "text", "Text(120)", "a staff label, not the Case owner"
    ),
    "intake.status": SalesforceField(
        "Intake_Status__c", "picklist", "Picklist", values=_values(IntakeStatus)
    ),
    "intake.missing_information": SalesforceField(
        "Missing_Information__c",
        "multipicklist",
        "Picklist (Multi-Select)",
        values=_values(MissingDetail),
    ),
    "intake.stop_automation": SalesforceField(
        "Stop_Automation__c", "checkbox", "Checkbox"
    ),
    "intake.response_due_at": SalesforceField(
        "Response_Due__c", "datetime", "Date/Time"
    ),
    "intake.follow_up_outcome": SalesforceField(
        "Follow_Up_Outcome__c", "text", "Text(200)"
    ),
    "intake.referral_source": SalesforceField(
        "Referral_Source__c", "text", "Text(200)"
    ),
    # Task (custom fields of Tasks are created on the Activity object)
    "task.key": SalesforceField(
        "Intake_Task_Key__c",
        "text",
        "Text(255), External ID, Unique",
        "upsert key: <intake id>:<kind>",
    ),
    "task.intake_id": SalesforceField("Intake_Id__c", "text", "Text(40)"),
    "task.kind": SalesforceField("Task_Kind__c", "text", "Text(40)"),
    "task.queue": SalesforceField("Queue__c", "text", "Text(30)"),
    "task.owner": SalesforceField("Owner_Label__c", "text", "Text(120)"),
    "task.status": SalesforceField(
        "Intake_Task_Status__c", "text", "Text(30)", "the intake's own status"
    ),
    "task.due_at": SalesforceField("Due_At__c", "datetime", "Date/Time"),
    "task.summary": SalesforceField(
        "Description", "text", "standard", "administrative summary"
    ),
    "task.subject": SalesforceField(
        "Subject", "text", "standard", "'Intake follow-up: <kind>'"
    ),
    "task.activity_date": SalesforceField(
        "ActivityDate", "date", "standard", "the due date (UTC)"
    ),
    "task.standard_status": SalesforceField(
        "Status",
        "text",
        "standard",
        "set for open/in_progress/waiting/done/"
        "closed/cancelled; other statuses leave it unchanged",
    ),
    # Outbox message (custom object)
    "message.key": SalesforceField(
        "Intake_Message_Key__c",
        "text",
        "Text(255), External ID, Unique",
        "upsert key: <intake id>:<template id>",
    ),
    "message.intake_id": SalesforceField("Intake_Id__c", "text", "Text(40)"),
    "message.template_id": SalesforceField("Template_Id__c", "text", "Text(80)"),
    "message.template_version": SalesforceField(
        "Template_Version__c", "text", "Text(40)"
    ),
    "message.channel": SalesforceField("Channel__c", "text", "Text(20)"),
    "message.text": SalesforceField("Message_Text__c", "text", "Long Text Area(32768)"),
    "message.status": SalesforceField(
        "Message_Status__c",
        "picklist",
        "Picklist",
        values=("queued", "sent", "failed", "cancelled"),
    ),
}

# Salesforce's standard Task statuses for the statuses the workflow uses.
TASK_STANDARD_STATUS: dict[str, str] = {
    "open": "Not Started",
    "in_progress": "In Progress",
    "waiting": "Waiting on someone else",
    "done": "Completed",
    "closed": "Completed",
    "cancelled": "Completed",
}

_API_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_ERROR_CODE = re.compile(r"^[A-Z][A-Z0-9_]{1,79}$")
# HTTP statuses worth retrying besides 5xx and 403 REQUEST_LIMIT_EXCEEDED.
_TRANSIENT_STATUS = frozenset({429})
# Error codes worth retrying whatever the status (row locks held by others).
_TRANSIENT_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED"})
# Connecting is rare; one lock for every block keeps blocks picklable.
_CONNECT_LOCK = threading.Lock()


def salesforce_field_table() -> str:
    """The mapping as a Markdown table (for the README and the org's admin)."""
    lines = [
        "| Object | Field (API name) | Type | Holds | Notes |",
        "|---|---|---|---|---|",
    ]
    for key, spec in SALESFORCE_FIELDS.items():
        record, attribute = key.split(".", 1)
        notes = spec.note
        if spec.values:
            listed = ", ".join(spec.values)
            notes = f"{notes}; values: {listed}" if notes else f"values: {listed}"
        lines.append(
            f"| {SALESFORCE_OBJECTS[record]} | `{spec.api_name}` | "
            f"{spec.salesforce_type} | {record}.{attribute} | {notes} |"
        )
    return "\n".join(lines)


# ----------------------------------------------------------------------------
# Value conversion between the models and Salesforce's JSON and CSV


def _to_salesforce(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        moment = moment.astimezone(UTC)
        # Salesforce keeps milliseconds; finer digits would be dropped anyway.
        return (
            moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
        )
    if kind == "date":
        return value.isoformat()
    if kind == "checkbox":
        return bool(value)
    if kind == "multipicklist":
        return ";".join(str(v) for v in value) or None
    return str(value)


def _from_salesforce(kind: str, value: Any) -> Any:
    if value is None:
        return [] if kind == "multipicklist" else None
    if kind == "datetime":
        moment = datetime.fromisoformat(str(value))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if kind == "date":
        return date.fromisoformat(str(value)[:10])
    if kind == "checkbox":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "multipicklist":
        return [v for v in str(value).split(";") if v]
    return str(value)


def _csv_cell(kind: str, value: Any) -> str:
    converted = _to_salesforce(kind, value)
    if converted is None:
        # In Bulk API CSV an empty cell leaves the field unchanged; #N/A clears it.
        return "#N/A"
    if isinstance(converted, bool):
        return "true" if converted else "false"
    return str(converted)


def backoff_delay(
    attempt: int, base: float, cap: float, rng: random.Random | None = None
) -> float:
    """Seconds to wait before retry ``attempt`` (0-based).

    The ceiling doubles per attempt up to ``cap``; the wait is drawn from its
    upper half, so many workers hitting one rate limit do not retry in step.
    """
    ceiling = min(cap, base * (2**attempt))
    return (rng or random).uniform(ceiling / 2, ceiling)


# ----------------------------------------------------------------------------
# Results of bulk writes


class BulkFailure(BaseModel):
    """One record a bulk job refused: the intake id and Salesforce's error code."""

    intake_id: str
    error_code: str


class BulkResult(BaseModel):
    """What a Bulk API 2.0 upsert did; failures name intake ids and codes only."""

    job_ids: list[str] = Field(default_factory=list)
    processed: int = 0
    created: int = 0
    updated: int = 0
    failures: list[BulkFailure] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


# ----------------------------------------------------------------------------
# HTTP session: every request carries a timeout


class TimeoutSession(requests.Session):
    """A requests session that sends every request with a timeout.

    simple-salesforce (REST, Bulk 2.0 and login alike) sends through the session
    it is given and never sets a timeout of its own; this fills the gap.
    """

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return super().send(request, **kwargs)


# ----------------------------------------------------------------------------
# Settings and the block


class SalesforceSettings(BaseSettings):
    """``INTAKE_SALESFORCE_*`` environment variables (or ``.env``)."""

    model_config = SettingsConfigDict(
        env_prefix="INTAKE_SALESFORCE_", env_file=".env", extra="ignore"
    )

    block: str | None = Field(
        default=None, description="Name of a saved SalesforceCRM block to load."
    )
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = None
    domain: str = "login"
    instance_url: str | None = None
    session_id: SecretStr | None = None


class SalesforceCRM(CRMConnector):
    """Intake results in a Salesforce org (Contacts, Cases, Tasks, a custom object).

    Every write is an upsert by an external id, every query is built with
    ``format_soql``, every request has a timeout, and rate limits, 5xx answers
    and timeouts are retried with jittered exponential backoff. An expired
    session is renewed once per call.

    Example:
        ```python
        from blocks.crm_salesforce import SalesforceCRM

        crm = SalesforceCRM(
            username="intake@practice.example.org",
            password="...",
            security_token="...",
            domain="login",
        )
        crm.save("practice-salesforce")
        ```
    """

    _block_type_name = "Salesforce CRM"
    _description = "Intake results in Salesforce: Contacts, Cases, Tasks, messages."

    instance_url: str | None = Field(
        default=None,
        description="https://<my-domain>.my.salesforce.com; required with session_id, "
        "taken from the login answer otherwise.",
    )
    username: str | None = None
    password: SecretStr | None = None
    security_token: SecretStr | None = Field(
        default=None, description="Empty when the org trusts the caller's IP range."
    )
    domain: str = Field(
        default="login",
        description="'login' (production), 'test' (sandbox) or a My Domain such "
        "as 'practice.my'.",
    )
    session_id: SecretStr | None = Field(
        default=None,
        description="A pre-authenticated session (OAuth access token). When it "
        "expires the block logs in with username/password if they are set.",
    )
    api_version: str = "59.0"
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    backoff_seconds: float = Field(default=0.5, ge=0)
    backoff_max_seconds: float = Field(default=30.0, ge=0)
    bulk_poll_seconds: float = Field(default=2.0, ge=0)
    bulk_timeout_seconds: float = Field(default=900.0, gt=0)
    object_names: dict[str, str] = Field(
        default_factory=dict,
        description="Overrides of SALESFORCE_OBJECTS, e.g. {'message': 'Outbox__c'}.",
    )
    field_names: dict[str, str] = Field(
        default_factory=dict,
        description="Overrides of SALESFORCE_FIELDS, e.g. "
        "{'intake.urgency': 'Priority_Label__c'}.",
    )
    unknown_last_name: str = Field(
        default="(not given)",
        description="LastName written when a new Contact has none (Salesforce "
        "requires one); read back as no last name.",
    )

    _sf: Salesforce | None = PrivateAttr(default=None)
    _http: TimeoutSession | None = PrivateAttr(default=None)
    _session_id_spent: bool = PrivateAttr(default=False)

    @field_validator("domain")
    @classmethod
    def _known_domain(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*", value) or (
            value.endswith("salesforce.com")
        ):
            raise ValueError(
                "domain must be 'login', 'test' or a My Domain prefix such as "
                "'practice.my' (without .salesforce.com)"
            )
        return value

    @field_validator("object_names")
    @classmethod
    def _known_objects(cls, value: dict[str, str]) -> dict[str, str]:
        for role, name in value.items():
            if role not in SALESFORCE_OBJECTS:
                raise ValueError(
                    f"object_names: unknown record {role!r}; "
                    f"use one of {sorted(SALESFORCE_OBJECTS)}"
                )
            if not _API_NAME.match(name):
                raise ValueError(f"object_names[{role!r}] is not a Salesforce API name")
        return value

    @field_validator("field_names")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        for key, name in value.items():
            if key not in SALESFORCE_FIELDS:
                raise ValueError(
                    f"field_names: unknown field {key!r}; see SALESFORCE_FIELDS"
                )
            # API names go into SOQL as identifiers, so only plain names pass.
            if not _API_NAME.match(name):
                raise ValueError(f"field_names[{key!r}] is not a Salesforce API name")
        return value

    @classmethod
    def from_settings(cls, **overrides: Any) -> SalesforceCRM:
        """The block named by ``INTAKE_SALESFORCE_BLOCK``, or one built from the
        ``INTAKE_SALESFORCE_{USERNAME,PASSWORD,SECURITY_TOKEN,DOMAIN,INSTANCE_URL,
        SESSION_ID}`` variables; ``overrides`` set other fields (timeouts, names).
        """
        settings = SalesforceSettings()
        if settings.block:
            # _sync: from_settings is sync even when called inside async code.
            loaded = cls.load(settings.block, _sync=True)  # type: ignore[call-arg]
            block = cast(SalesforceCRM, loaded)
            return block.model_copy(update=overrides) if overrides else block
        has_login = bool(settings.username and settings.password)
        has_session = bool(settings.session_id and settings.instance_url)
        if not (has_login or has_session):
            raise CRMError(
                "Salesforce is not configured: set INTAKE_SALESFORCE_USERNAME, "
                "INTAKE_SALESFORCE_PASSWORD and INTAKE_SALESFORCE_SECURITY_TOKEN "
                "(or INTAKE_SALESFORCE_SESSION_ID and INTAKE_SALESFORCE_INSTANCE_URL), "
                "or name a saved block in INTAKE_SALESFORCE_BLOCK"
            )
        values: dict[str, Any] = {
            "username": settings.username,
            "password": settings.password,
            "security_token": settings.security_token,
            "domain": settings.domain,
            "instance_url": settings.instance_url,
            "session_id": settings.session_id,
        }
        values.update(overrides)
        return cls(**values)

    def __getstate__(self) -> dict[Any, Any]:
        # A live connection belongs to one process; an unpickled copy (a Prefect
        # worker's, say) connects afresh.
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private.update(_sf=None, _http=None)
        state["__pydantic_private__"] = private
        return state

    # -- names ---------------------------------------------------------------------

    def object_name(self, record: str) -> str:
        return self.object_names.get(record, SALESFORCE_OBJECTS[record])

    def api_name(self, key: str) -> str:
        return self.field_names.get(key, SALESFORCE_FIELDS[key].api_name)

    def _fields_of(self, record: str) -> dict[str, str]:
        """Attribute -> API name of every mapped field of a record."""
        prefix = f"{record}."
        return {
            key[len(prefix) :]: self.api_name(key)
            for key in SALESFORCE_FIELDS
            if key.startswith(prefix)
        }

    # -- connection ----------------------------------------------------------------

    @property
    def http_session(self) -> TimeoutSession:
        """The requests session every call goes through (tests mount fakes on it)."""
        if self._http is None:
            self._http = TimeoutSession(self.timeout_seconds)
        return self._http

    @property
    def _can_login(self) -> bool:
        return bool(self.username and self.password)

    def _client(self) -> Salesforce:
        with _CONNECT_LOCK:
            if self._sf is None:
                self._sf = self._connect()
            return self._sf

    def _connect(self) -> Salesforce:
        session = self.http_session
        if self.session_id is not None and not self._session_id_spent:
            if not self.instance_url:
                raise CRMError("SalesforceCRM with session_id also needs instance_url")
            return Salesforce(
                session_id=self.session_id.get_secret_value(),
                instance_url=self.instance_url,
                session=session,
                version=self.api_version,
            )
        if not self._can_login:
            raise CRMAuthError(
                "SalesforceCRM needs username, password and security_token, or "
                "session_id and instance_url"
            )
        token = self.security_token.get_secret_value() if self.security_token else ""
        assert self.password is not None  # _can_login
        # Logging in here (not inside Salesforce()) keeps simple-salesforce from
        # renewing sessions on its own: its renewal loop has no bound.
        session_id, instance = SalesforceLogin(
            username=self.username,
            password=self.password.get_secret_value(),
            security_token=token,
            domain=self.domain,
            sf_version=self.api_version,
            session=session,
        )
        logger.info("Salesforce login succeeded")
        return Salesforce(
            session_id=session_id,
            instance=instance,
            session=session,
            version=self.api_version,
        )

    def _renew_session(self) -> None:
        with _CONNECT_LOCK:
            self._sf = None
            self._session_id_spent = True

    # -- the one place calls are retried and errors translated ---------------------

    def _run(self, operation: str, action: Callable[[Salesforce], T]) -> T:
        attempt = 0
        renewed = False
        while True:
            failure: CRMError
            try:
                return action(self._client())
            except SalesforceExpiredSession:
                if renewed or not self._can_login:
                    failure = CRMAuthError(
                        f"Salesforce {operation} failed: the session expired "
                        + (
                            "again right after a fresh login; check the API "
                            "user's session settings"
                            if renewed
                            else "and no username/password is set to renew it"
                        )
                    )
                else:
                    logger.info(
                        "Salesforce session expired during %s; renewing", operation
                    )
                    renewed = True
                    self._renew_session()
                    continue
            except (
                SalesforceError,
                SalesforceOperationError,
                requests.RequestException,
            ) as exc:
                failure = _translate(operation, exc)
            if isinstance(failure, CRMTransientError) and attempt < self.max_retries:
                delay = backoff_delay(
                    attempt, self.backoff_seconds, self.backoff_max_seconds
                )
                attempt += 1
                logger.warning(
                    "%s; retry %d of %d in %.2f s",
                    failure,
                    attempt,
                    self.max_retries,
                    delay,
                )
                time.sleep(delay)
                continue
            if isinstance(failure, CRMTransientError) and attempt:
                failure = CRMTransientError(
                    f"{failure} (gave up after {attempt + 1} attempts)"
                )
            # Raised outside the except block: no __context__ carries the
            # original exception, whose text holds the URL and response body.
            raise failure from None

    # -- queries -------------------------------------------------------------------

    def _query(self, operation: str, soql: str) -> list[dict[str, Any]]:
        def action(sf: Salesforce) -> list[dict[str, Any]]:
            return [dict(r) for r in sf.query_all_iter(soql)]

        return self._run(operation, action)

    def _listing(
        self, record: str, names: dict[str, str], intake_id: str | None
    ) -> str:
        """SOQL for a record's rows written by this connector, one intake's or all."""
        # Identifiers are validated API names (:literal); values always go
        # through {} so format_soql quotes and escapes them.
        if intake_id is None:
            return format_soql(
                "SELECT {:literal} FROM {:literal} WHERE {:literal} != null"
                " ORDER BY {:literal}",
                ", ".join(names.values()),
                self.object_name(record),
                names["key"],
                names["key"],
            )
        return format_soql(
            "SELECT {:literal} FROM {:literal} WHERE {:literal} = {}"
            " ORDER BY {:literal}",
            ", ".join(names.values()),
            self.object_name(record),
            names["intake_id"],
            intake_id,
            names["key"],
        )

    # -- patients ------------------------------------------------------------------

    def find_patients(self, probe: PatientRecord) -> list[PatientRecord]:
        names = self._fields_of("patient")
        checks = [
            ("phone", probe.phone),
            ("email", probe.email.lower() if probe.email else None),
            ("portal_account", probe.portal_account),
            ("last_name", probe.last_name),
            # Transposed first and last names are a common form error.
            ("last_name", probe.first_name),
            ("date_of_birth", probe.date_of_birth),
        ]
        # Known gap: SOQL compares names case-blind but not accent- or
        # punctuation-blind ("OBrien" misses "O'Brien"), unlike the SQL CRM's
        # folded name key; a Last_Name_Key__c formula field would close it.
        # Each match is escaped by format_soql, then joined as SOQL text.
        matches = [
            format_soql("{:literal} = {}", names[attribute], value)
            for attribute, value in checks
            if value
        ]
        if not matches:
            return []
        soql = format_soql(
            "SELECT {:literal} FROM {:literal}"
            " WHERE {:literal} != null AND ({:literal}) LIMIT 200",
            ", ".join(names.values()),
            self.object_name("patient"),
            names["patient_key"],
            " OR ".join(matches),
        )
        rows = self._query("patient search", soql)
        return [self._patient_from(row) for row in rows]

    def _patient_from(self, row: dict[str, Any]) -> PatientRecord:
        values = {
            attribute: _from_salesforce(
                SALESFORCE_FIELDS[f"patient.{attribute}"].kind, row.get(api)
            )
            for attribute, api in self._fields_of("patient").items()
        }
        if values["last_name"] == self.unknown_last_name:
            values["last_name"] = None
        return PatientRecord(**values)

    def export_patients(self) -> list[dict[str, Any]]:
        """Every patient's identity and contact fields, as plain dicts (for checks)."""
        names = self._fields_of("patient")
        soql = format_soql(
            "SELECT {:literal} FROM {:literal} WHERE {:literal} != null"
            " ORDER BY {:literal}",
            ", ".join(names.values()),
            self.object_name("patient"),
            names["patient_key"],
            names["patient_key"],
        )
        rows = self._query("patient export", soql)
        return [self._patient_from(row).model_dump(mode="json") for row in rows]

    def upsert_patient(self, patient: PatientRecord) -> str:
        key = patient.patient_key or f"pat-{uuid.uuid4().hex[:20]}"
        names = self._fields_of("patient")
        body: dict[str, Any] = {}
        # Like the SQL CRM: a patient write adds what is known, never blanks.
        for attribute, api in names.items():
            value = getattr(patient, attribute)
            if attribute == "patient_key" or not value:
                continue
            if attribute == "email":
                value = value.lower()
            body[api] = _to_salesforce(
                SALESFORCE_FIELDS[f"patient.{attribute}"].kind, value
            )
        record_id = format_external_id(names["patient_key"], key)
        contact = self.object_name("patient")

        def action(sf: Salesforce) -> None:
            api = getattr(sf, contact)
            try:
                api.upsert(record_id, body)
            except SalesforceMalformedRequest as exc:
                # A new Contact needs a LastName; the request may not give one.
                if patient.last_name or _error_code(exc) != "REQUIRED_FIELD_MISSING":
                    raise
                api.upsert(
                    record_id, {**body, names["last_name"]: self.unknown_last_name}
                )

        self._run("patient write", action)
        return key

    # -- intake requests -----------------------------------------------------------

    def _intake_body(self, fields: CRMFields) -> dict[str, Any]:
        # Like the SQL CRM: an intake write sets every field, None clears it.
        return {
            api: _to_salesforce(
                SALESFORCE_FIELDS[f"intake.{attribute}"].kind,
                getattr(fields, attribute),
            )
            for attribute, api in self._fields_of("intake").items()
            if attribute != "intake_id"
        }

    def upsert_intake(self, fields: CRMFields) -> None:
        record_id = format_external_id(
            self.api_name("intake.intake_id"), fields.intake_id
        )
        body = self._intake_body(fields)
        case = self.object_name("intake")
        self._run("intake write", lambda sf: getattr(sf, case).upsert(record_id, body))

    def _intake_from(self, row: dict[str, Any]) -> CRMFields:
        values = {
            attribute: _from_salesforce(
                SALESFORCE_FIELDS[f"intake.{attribute}"].kind, row.get(api)
            )
            for attribute, api in self._fields_of("intake").items()
        }
        if values["status"] is None:
            values["status"] = IntakeStatus.NEW
        values["stop_automation"] = bool(values["stop_automation"])
        return CRMFields(**values)

    def read_intake(self, intake_id: str) -> CRMFields | None:
        names = self._fields_of("intake")
        soql = format_soql(
            "SELECT {:literal} FROM {:literal} WHERE {:literal} = {} LIMIT 2",
            ", ".join(names.values()),
            self.object_name("intake"),
            names["intake_id"],
            intake_id,
        )
        rows = self._query("intake read", soql)
        if len(rows) > 1:
            raise CRMConflictError(
                "Salesforce intake read: more than one Case has this intake id; "
                "merge the duplicates in Salesforce"
            )
        return self._intake_from(rows[0]) if rows else None

    def export_intakes(self) -> list[dict[str, Any]]:
        names = self._fields_of("intake")
        soql = format_soql(
            "SELECT {:literal} FROM {:literal} WHERE {:literal} != null"
            " ORDER BY {:literal} ASC NULLS FIRST, {:literal} ASC",
            ", ".join(names.values()),
            self.object_name("intake"),
            names["intake_id"],
            names["received_at"],
            names["intake_id"],
        )
        rows = self._query("intake export", soql)
        return [self._intake_from(row).model_dump(mode="json") for row in rows]

    def bulk_upsert_intakes(self, fields: list[CRMFields]) -> BulkResult:
        """Upsert many intake requests in Bulk API 2.0 jobs (one per 100 MB of CSV).

        Records Salesforce refuses are reported by intake id and error code; the
        call raises only when the job itself cannot run.
        """
        if not fields:
            return BulkResult()
        external_id = self.api_name("intake.intake_id")
        kinds = {
            api: SALESFORCE_FIELDS[f"intake.{attribute}"].kind
            for attribute, api in self._fields_of("intake").items()
        }
        attributes = self._fields_of("intake")
        records = [
            {
                api: _csv_cell(kinds[api], getattr(item, attr))
                for attr, api in attributes.items()
            }
            for item in fields
        ]
        case = self.object_name("intake")

        def action(sf: Salesforce) -> BulkResult:
            bulk = getattr(sf.bulk2, case)
            # simple-salesforce waits up to 24 h for a job by default.
            bulk._client.DEFAULT_WAIT_TIMEOUT_SECONDS = self.bulk_timeout_seconds
            jobs = bulk.upsert(
                records=records,
                external_id_field=external_id,
                wait=self.bulk_poll_seconds,  # type: ignore[arg-type]
            )
            result = BulkResult()
            for job in jobs:
                job_id = str(job["job_id"])
                result.job_ids.append(job_id)
                result.processed += int(job["numberRecordsProcessed"])
                for row in csv.DictReader(
                    io.StringIO(bulk.get_successful_records(job_id))
                ):
                    if str(row.get("sf__Created", "")).lower() == "true":
                        result.created += 1
                    else:
                        result.updated += 1
                failed = csv.DictReader(io.StringIO(bulk.get_failed_records(job_id)))
                for row in failed:
                    result.failures.append(
                        BulkFailure(
                            intake_id=row.get(external_id) or "",
                            error_code=_bulk_error_code(row.get("sf__Error") or ""),
                        )
                    )
            return result

        result = self._run("bulk intake write", action)
        logger.info(
            "Salesforce bulk intake write: %d jobs, %d created, %d updated, %d failed",
            len(result.job_ids),
            result.created,
            result.updated,
            len(result.failures),
        )
        return result

    # -- staff tasks ---------------------------------------------------------------

    def upsert_staff_task(self, task: StaffTask) -> None:
        names = {
            k: self.api_name(f"task.{k}")
            for k in (
                "key",
                "intake_id",
                "kind",
                "queue",
                "owner",
                "status",
                "due_at",
                "summary",
                "subject",
                "activity_date",
                "standard_status",
            )
        }
        body: dict[str, Any] = {
            names["intake_id"]: task.intake_id,
            names["kind"]: task.kind,
            names["queue"]: str(task.queue),
            names["owner"]: task.owner,
            names["status"]: task.status,
            names["due_at"]: _to_salesforce("datetime", task.due_at),
            names["summary"]: task.summary,
            names["subject"]: f"Intake follow-up: {task.kind}"[:255],
            names["activity_date"]: (
                _to_salesforce("date", _utc_date(task.due_at)) if task.due_at else None
            ),
        }
        if task.status in TASK_STANDARD_STATUS:
            body[names["standard_status"]] = TASK_STANDARD_STATUS[task.status]
        record_id = format_external_id(names["key"], f"{task.intake_id}:{task.kind}")
        task_object = self.object_name("task")
        self._run(
            "staff task write",
            lambda sf: getattr(sf, task_object).upsert(record_id, body),
        )

    def staff_tasks(self, intake_id: str | None = None) -> list[StaffTask]:
        """Staff tasks written by this connector (all, or one intake's)."""
        names = {
            k: self.api_name(f"task.{k}")
            for k in (
                "key",
                "intake_id",
                "kind",
                "queue",
                "owner",
                "status",
                "due_at",
                "summary",
            )
        }
        rows = self._query("staff task read", self._listing("task", names, intake_id))
        return [
            StaffTask(
                intake_id=row[names["intake_id"]],
                kind=row[names["kind"]],
                queue=row[names["queue"]],
                owner=row.get(names["owner"]),
                status=row.get(names["status"]) or "open",
                due_at=_from_salesforce("datetime", row.get(names["due_at"])),
                summary=row.get(names["summary"]) or "",
            )
            for row in rows
        ]

    # -- outbox --------------------------------------------------------------------

    def _message_names(self) -> dict[str, str]:
        return {
            k: self.api_name(f"message.{k}")
            for k in (
                "key",
                "intake_id",
                "template_id",
                "template_version",
                "channel",
                "text",
                "status",
            )
        }

    def enqueue_message(self, message: OutboundMessage) -> None:
        names = self._message_names()
        key = f"{message.intake_id}:{message.template_id}"
        soql = format_soql(
            "SELECT {:literal} FROM {:literal} WHERE {:literal} = {} LIMIT 2",
            names["status"],
            self.object_name("message"),
            names["key"],
            key,
        )
        existing = self._query("outbox read", soql)
        if len(existing) > 1:
            raise CRMConflictError(
                "Salesforce outbox write: more than one message has this key; "
                "merge the duplicates in Salesforce"
            )
        # A message already sent is never queued again (once per intake+template).
        # Known gap: the read and the upsert are two calls, so a message marked
        # sent between them is set back to queued; an org validation rule that
        # refuses sent -> queued would close it.
        if existing and existing[0].get(names["status"]) == "sent":
            return
        body = {
            names["intake_id"]: message.intake_id,
            names["template_id"]: message.template_id,
            names["template_version"]: message.template_version,
            names["channel"]: message.channel,
            names["text"]: message.text,
            names["status"]: message.status,
        }
        record_id = format_external_id(names["key"], key)
        message_object = self.object_name("message")
        self._run(
            "outbox write",
            lambda sf: getattr(sf, message_object).upsert(record_id, body),
        )

    def outbox(self, intake_id: str | None = None) -> list[OutboundMessage]:
        """Outbox messages written by this connector (all, or one intake's)."""
        names = self._message_names()
        rows = self._query("outbox read", self._listing("message", names, intake_id))
        return [
            OutboundMessage(
                intake_id=row[names["intake_id"]],
                template_id=row[names["template_id"]],
                template_version=row.get(names["template_version"]) or "",
                channel=row.get(names["channel"]) or "",
                text=row.get(names["text"]) or "",
                status=row.get(names["status"]) or "queued",
            )
            for row in rows
        ]


# ----------------------------------------------------------------------------
# Error translation (no field values ever leave)


def _error_code(exc: SalesforceError) -> str | None:
    """Salesforce's errorCode from an error response, if it looks like one."""
    content = exc.content
    entries = content if isinstance(content, list) else [content]
    for entry in entries:
        if isinstance(entry, dict):
            code = entry.get("errorCode")
            if isinstance(code, str) and _ERROR_CODE.match(code):
                return code
    return None


def _bulk_error_code(error: str) -> str:
    # sf__Error reads "CODE:message:fields"; the message may quote values.
    code = error.split(":", 1)[0].strip()
    return code if _ERROR_CODE.match(code) else "UNKNOWN_ERROR"


def _transient(operation: str, reason: str) -> CRMTransientError:
    return CRMTransientError(f"Salesforce {operation} failed temporarily ({reason})")


def _translate(operation: str, exc: Exception) -> CRMError:
    """A CRM error for a simple-salesforce or requests failure, without values."""
    name = type(exc).__name__
    if isinstance(exc, requests.Timeout):
        return _transient(operation, f"no answer within the timeout: {name}")
    if isinstance(exc, requests.ConnectionError):
        return _transient(operation, f"connection failed: {name}")
    if isinstance(exc, requests.RequestException):
        return CRMError(f"Salesforce {operation} failed ({name})")
    if isinstance(exc, SalesforceAuthenticationFailed):
        code = exc.code
        if isinstance(code, int) and code >= 500:
            return _transient(operation, f"login answered HTTP {code}")
        shown = code if isinstance(code, str) and _ERROR_CODE.match(code) else "refused"
        return CRMAuthError(
            f"Salesforce login failed ({shown}); check the username, password, "
            "security token and domain"
        )
    if isinstance(exc, SalesforceMoreThanOneRecord):
        return CRMConflictError(
            f"Salesforce {operation}: more than one record has this external id "
            "(HTTP 300); merge the duplicates in Salesforce"
        )
    if isinstance(exc, SalesforceError):
        code = _error_code(exc)
        status = int(exc.status)
        reason = f"HTTP {status} {code}" if code else f"HTTP {status}"
        if code in _TRANSIENT_CODES or status >= 500 or status in _TRANSIENT_STATUS:
            return _transient(operation, reason)
        if code in {"DUPLICATE_VALUE", "DUPLICATE_EXTERNAL_ID"}:
            return CRMConflictError(
                f"Salesforce {operation} broke a uniqueness rule ({reason})"
            )
        hint = ""
        if code in {"INVALID_FIELD", "NOT_FOUND", "INVALID_TYPE"} or status == 404:
            hint = "; check that the org has the objects and fields in the README"
        return CRMError(f"Salesforce {operation} failed ({reason}){hint}")
    # SalesforceOperationError: a Bulk API job failed or could not be uploaded.
    return CRMError(f"Salesforce {operation}: the Bulk API job failed ({name})")


def _utc_date(moment: datetime) -> date:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).date()

"""Shared vocabulary and data models of the intake product.

Everything that flows, tasks and blocks exchange is defined here, and this
module imports none of them. The label vocabulary is the intake contract's:
values that leave the product (CRM fields, predictions, reports) use exactly
these names, and ``tests/test_contract.py`` checks them against the contract.

Families, by role:

- ``...Request``: what arrives (untrusted).
- ``...Record``: what the product stores about a request.
- ``...Decision`` / ``...Result``: what a step decided, with reasons for staff.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Channel(StrEnum):
    WEB_FORM = "web_form"
    PHONE = "phone"
    PORTAL = "portal"
    EMAIL = "email"
    CHAT = "chat"
    REFERRAL = "referral"


class RequestType(StrEnum):
    SCHEDULING = "scheduling"
    BILLING = "billing"
    REFERRAL = "referral"
    RECORDS = "records"
    INSURANCE = "insurance"
    PRESCRIPTION = "prescription"
    SYMPTOM = "symptom"
    GENERAL = "general"


# When a message asks for several things, the highest of these wins.
REQUEST_TYPE_PRIORITY: tuple[RequestType, ...] = (
    RequestType.SYMPTOM,
    RequestType.PRESCRIPTION,
    RequestType.REFERRAL,
    RequestType.RECORDS,
    RequestType.BILLING,
    RequestType.INSURANCE,
    RequestType.SCHEDULING,
    RequestType.GENERAL,
)


class Queue(StrEnum):
    FRONT_DESK = "front_desk"
    BILLING = "billing"
    REFERRAL_COORDINATOR = "referral_coordinator"
    RECORDS = "records"
    NURSE_REVIEW = "nurse_review"
    PRACTICE_MANAGER = "practice_manager"


class Urgency(StrEnum):
    ROUTINE = "routine"
    SOON = "soon"
    URGENT_REVIEW = "urgent_review"
    EMERGENCY = "emergency"

    @property
    def rank(self) -> int:
        return URGENCY_RANK[self]

    def at_least(self, other: Urgency) -> Urgency:
        """The higher of two urgencies: urgency is only ever raised."""
        return self if self.rank >= other.rank else other


URGENCY_RANK: dict[Urgency, int] = {
    Urgency.ROUTINE: 0,
    Urgency.SOON: 1,
    Urgency.URGENT_REVIEW: 2,
    Urgency.EMERGENCY: 3,
}


class PatientStatus(StrEnum):
    NEW = "new"
    EXISTING = "existing"
    CAREGIVER = "caregiver"
    REFERRING_PROVIDER = "referring_provider"
    UNKNOWN = "unknown"


class MissingDetail(StrEnum):
    CONTACT = "contact"
    DATE_OF_BIRTH = "date_of_birth"
    INSURANCE = "insurance"
    APPOINTMENT_REASON = "appointment_reason"
    PREFERRED_LOCATION = "preferred_location"
    REFERRAL_DOCUMENTS = "referral_documents"


class IntakeStatus(StrEnum):
    """Where a request is in its life at the practice (the CRM's response status)."""

    NEW = "new"
    NEEDS_REVIEW = "needs_review"
    WAITING_ON_PATIENT = "waiting_on_patient"
    STAFF_REPLIED = "staff_replied"
    ESCALATED = "escalated"
    CLOSED = "closed"


# Allowed moves of IntakeStatus; anything else is a data-quality fault.
STATUS_TRANSITIONS: dict[IntakeStatus, frozenset[IntakeStatus]] = {
    IntakeStatus.NEW: frozenset(
        {
            IntakeStatus.NEEDS_REVIEW,
            IntakeStatus.WAITING_ON_PATIENT,
            IntakeStatus.STAFF_REPLIED,
            IntakeStatus.ESCALATED,
            IntakeStatus.CLOSED,
        }
    ),
    IntakeStatus.NEEDS_REVIEW: frozenset(
        {
            IntakeStatus.WAITING_ON_PATIENT,
            IntakeStatus.STAFF_REPLIED,
            IntakeStatus.ESCALATED,
            IntakeStatus.CLOSED,
        }
    ),
    IntakeStatus.WAITING_ON_PATIENT: frozenset(
        {
            IntakeStatus.NEEDS_REVIEW,
            IntakeStatus.STAFF_REPLIED,
            IntakeStatus.ESCALATED,
            IntakeStatus.CLOSED,
        }
    ),
    IntakeStatus.STAFF_REPLIED: frozenset(
        {
            IntakeStatus.WAITING_ON_PATIENT,
            IntakeStatus.NEEDS_REVIEW,
            IntakeStatus.CLOSED,
        }
    ),
    IntakeStatus.ESCALATED: frozenset(
        {
            IntakeStatus.NEEDS_REVIEW,
            IntakeStatus.STAFF_REPLIED,
            IntakeStatus.CLOSED,
        }
    ),
    IntakeStatus.CLOSED: frozenset(),
}


class CaptureProblem(StrEnum):
    """Why a raw request could not be captured cleanly (a contained outcome)."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_CHANNEL = "unknown_channel"
    MALFORMED_PAYLOAD = "malformed_payload"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    EMPTY_REQUEST = "empty_request"
    UNPARSEABLE_EMAIL = "unparseable_email"
    BAD_TIMESTAMP = "bad_timestamp"


class ReviewKind(StrEnum):
    """The pause points at which staff decide."""

    IDENTITY = "identity"
    REQUEST = "request"
    FOLLOW_UP = "follow_up"
    OUTBOUND = "outbound"
    ROUTING_AUDIT = "routing_audit"


class ReviewChoice(StrEnum):
    APPROVE = "approve"
    EDIT = "edit"
    REROUTE = "reroute"
    REJECT = "reject"
    ESCALATE = "escalate"


# --------------------------------------------------------------------------
# What arrives


class RawRequest(BaseModel):
    """One request as the contract's JSONL carries it (untrusted)."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    channel: str
    received_at: str | None = None
    payload: dict[str, Any] = Field(default_factory=dict)


class Attachment(BaseModel):
    filename: str = ""
    content_type: str = ""
    size: int | None = None


# --------------------------------------------------------------------------
# What the product stores


class ContactDetails(BaseModel):
    phones: list[str] = Field(default_factory=list)  # E.164
    # Seven-digit local numbers ("555-0142"): staff can call them, but they
    # have no area code, so they are neither E.164 nor used for matching.
    local_phones: list[str] = Field(default_factory=list)
    emails: list[str] = Field(default_factory=list)
    portal_account: str | None = None
    callback_method: str | None = None

    @property
    def reachable(self) -> bool:
        return bool(self.phones or self.local_phones or self.emails
                    or self.portal_account)


class PatientIdentity(BaseModel):
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    date_of_birth_text: str | None = None  # as written, when not parseable
    patient_id: str | None = None  # the practice's id, e.g. a portal account

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class IntakeRecord(BaseModel):
    """One clean intake record, whatever channel the request came by.

    Holds patient data: it lives in the app database only and never goes to
    Prefect (parameters, results, logs or artifacts).
    """

    intake_id: str
    source_id: str
    channel: Channel | None = None
    received_at: datetime | None = None

    contact: ContactDetails = Field(default_factory=ContactDetails)
    patient: PatientIdentity = Field(default_factory=PatientIdentity)
    sender_name: str | None = None

    subject: str | None = None
    request_text: str = ""  # the sender's own words, quoted history removed
    quoted_text: str = ""  # quoted email history and signatures (not triaged)
    form_reason: str | None = None  # a form's "reason" field or referral reason
    attachments: list[Attachment] = Field(default_factory=list)

    # The required-intake fields (each None when the request does not say).
    patient_status_hint: str | None = None
    preferred_location: str | None = None
    preferred_provider: str | None = None
    insurance_note: str | None = None
    referral_source: str | None = None
    referring_provider: str | None = None
    referring_practice: str | None = None
    specialty: str | None = None
    urgency_signal: str | None = None
    missing_documents: list[str] = Field(default_factory=list)
    preferred_times: str | None = None

    capture_problem: CaptureProblem | None = None
    capture_detail: str | None = None  # safe text: no payload content

    @property
    def needs_review(self) -> bool:
        return self.capture_problem is not None

    def triage_text(self) -> str:
        """The text triage reads: subject, form reason and the sender's words."""
        parts = [self.subject, self.form_reason, self.request_text]
        return "\n".join(p for p in parts if p)


class Reason(BaseModel):
    """A short reason shown to staff and stored with a decision.

    ``detail`` may quote the request (e.g. the matched phrase), so it is app
    data: stored and shown in review, never logged.
    """

    code: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


class TriageResult(BaseModel):
    """What triage decided for one request, with its reasons."""

    request_type: RequestType
    urgency: Urgency
    patient_status: PatientStatus
    missing: list[MissingDetail] = Field(default_factory=list)
    queue: Queue
    stop_automation: bool
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    needs_staff_review: bool = False
    reasons: list[Reason] = Field(default_factory=list)
    decided_by: str = "rules"

    def prediction(self, case_id: str) -> dict[str, Any]:
        """The contract's prediction line for this result."""
        return {
            "id": case_id,
            "request_type": self.request_type.value,
            "queue": self.queue.value,
            "urgency": self.urgency.value,
            "patient_status": self.patient_status.value,
            "missing": [m.value for m in self.missing],
            "stop_automation": self.stop_automation,
        }


class Draft(BaseModel):
    """An administrative follow-up drafted from a locked template."""

    template_id: str
    template_version: str
    text: str
    channel: str = "portal"
    requires_approval: bool = False
    topics: list[str] = Field(default_factory=list)


class CRMFields(BaseModel):
    """The CRM field map: what every connector writes for an intake request."""

    intake_id: str
    patient_key: str | None = None
    source: Channel | None = None
    received_at: datetime | None = None
    request_type: RequestType | None = None
    urgency: Urgency | None = None
    patient_status: PatientStatus | None = None
    queue: Queue | None = None
    owner: str | None = None
    status: IntakeStatus = IntakeStatus.NEW
    missing_information: list[MissingDetail] = Field(default_factory=list)
    stop_automation: bool = False
    response_due_at: datetime | None = None
    follow_up_outcome: str | None = None
    referral_source: str | None = None


class PatientRecord(BaseModel):
    """A patient as the CRM knows them (identity and contact only)."""

    patient_key: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    date_of_birth: date | None = None
    phone: str | None = None  # E.164
    email: str | None = None
    portal_account: str | None = None


class StaffTask(BaseModel):
    """A follow-up for staff, keyed by (intake_id, kind) so retries never duplicate."""

    intake_id: str
    kind: str
    queue: Queue
    owner: str | None = None
    status: str = "open"
    due_at: datetime | None = None
    summary: str = ""  # administrative summary; no message text


class OutboundMessage(BaseModel):
    """An approved administrative message waiting in the CRM's outbox."""

    intake_id: str
    template_id: str
    template_version: str
    channel: str
    text: str
    status: str = "queued"  # queued | sent | failed | cancelled

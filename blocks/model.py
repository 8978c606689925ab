"""Classify step, optional AI model: a second opinion on triage inside a PHI boundary.

The offline rules-based triage (``intake.triage``) is the default and always
runs first. A practice may turn on the AI model deliberately; it then sees
only redacted text (``intake.redact``), and its answer can raise urgency, stop
automation or ask staff to review, never lower what the rules decided.

Errors raised here (defined in ``intake.model_errors`` so that ``phi_safe``
keeps their safe, actionable text; all :class:`~intake.errors.IntakeError`)::

    ModelError                  the AI model layer failed; the rules' result stands
    ├── VendorAgreementMissing  no business associate agreement: refuses to start
    ├── ModelNotConfigured      no API key, or an unusable setting
    ├── ModelRequestRejected    the vendor refused the request (bad key, bad request)
    └── ModelUnavailable        still failing after the SDK's retries (also transient)
        ├── ModelRateLimited    HTTP 429
        └── ModelTimeout        no answer within timeout_seconds

:class:`ModelAssessment` holds restored text (summary, reasons, reply): it is
app data, stored and shown in review, never logged or returned to Prefect.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from string import Template
from typing import TYPE_CHECKING, Any, TypeVar

from prefect.blocks.core import Block
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
)

from intake.config import ConfigError, load_yaml, routing
from intake.model_errors import (
    ModelError,
    ModelNotConfigured,
    ModelRateLimited,
    ModelRequestRejected,
    ModelTimeout,
    ModelUnavailable,
    VendorAgreementMissing,
)
from intake.models import (
    IntakeRecord,
    MissingDetail,
    PatientStatus,
    Queue,
    Reason,
    RequestType,
    TriageResult,
    Urgency,
)
from intake.redact import PLACEHOLDER_RE, Redactor, redact_record

if TYPE_CHECKING:
    import anthropic
    import httpx2

    from intake.settings import Settings

log = logging.getLogger(__name__)

PROMPT_NAMES = ("routing", "missing", "summary", "reply")

__all__ = [
    "AnthropicIntakeModel",
    "IntakeModel",
    "ModelAssessment",
    "ModelError",
    "ModelNotConfigured",
    "ModelRateLimited",
    "ModelRequestRejected",
    "ModelTimeout",
    "ModelUnavailable",
    "OfflineIntakeModel",
    "VendorAgreementMissing",
    "batch_custom_id",
    "merge_assessment",
    "render_prompts",
]

# Custom ids of the Message Batches API: ^[a-zA-Z0-9_-]{1,64}$.
_CUSTOM_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


# --------------------------------------------------------------------------
# Errors


class _RejectedAnswer(Exception):
    """The model answered, but not with something we can use (internal)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


# --------------------------------------------------------------------------
# What the model answers (structured output schemas) and what we keep


def _untitled(schema: dict[str, Any]) -> None:
    """Drop per-field titles from an answer schema: input tokens for nothing."""
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


_ANSWER_CONFIG = ConfigDict(json_schema_extra=_untitled)


class RoutingAnswer(BaseModel):
    model_config = _ANSWER_CONFIG

    request_type: RequestType
    urgency: Urgency
    patient_status: PatientStatus
    queue: Queue
    stop_automation: bool
    reasons: list[str]


class MissingAnswer(BaseModel):
    model_config = _ANSWER_CONFIG

    missing: list[MissingDetail]


class SummaryAnswer(BaseModel):
    model_config = _ANSWER_CONFIG

    summary: str


class ReplyAnswer(BaseModel):
    model_config = _ANSWER_CONFIG

    reply: str


class ModelAssessment(BaseModel):
    """What the AI model proposed for one request, restored to real values.

    Labels are None when the model's routing answer was rejected; ``problems``
    then says why, and merging keeps the rules' result with staff review.
    Holds patient data (summary, reasons, reply): app database only.
    """

    intake_id: str
    decided_by: str = "model"
    model: str | None = None
    request_type: RequestType | None = None
    urgency: Urgency | None = None
    patient_status: PatientStatus | None = None
    queue: Queue | None = None
    stop_automation: bool = False
    missing: list[MissingDetail] | None = None
    summary: str | None = None
    reply: str | None = None
    reasons: list[Reason] = Field(default_factory=list)
    problems: list[Reason] = Field(default_factory=list)  # force staff review
    skipped: list[str] = Field(default_factory=list)  # optional prompts not used

    @property
    def has_routing(self) -> bool:
        return None not in (
            self.request_type,
            self.urgency,
            self.patient_status,
            self.queue,
        )

    @classmethod
    def from_rules(cls, intake_id: str, rules: TriageResult) -> ModelAssessment:
        return cls(
            intake_id=intake_id,
            decided_by="rules",
            request_type=rules.request_type,
            urgency=rules.urgency,
            patient_status=rules.patient_status,
            queue=rules.queue,
            stop_automation=rules.stop_automation,
            missing=list(rules.missing),
        )


# --------------------------------------------------------------------------
# Merge rule


def _stop_types() -> set[str]:
    try:
        return set(routing().get("stop_automation_types", []))
    except ConfigError:
        return {RequestType.SYMPTOM.value, RequestType.PRESCRIPTION.value}


def _stop_urgencies() -> set[str]:
    try:
        return set(routing().get("stop_automation_urgencies", []))
    except ConfigError:
        return {Urgency.EMERGENCY.value, Urgency.URGENT_REVIEW.value}


def merge_assessment(rules: TriageResult, model: ModelAssessment) -> TriageResult:
    """The rules' result, adjusted by the model only towards more caution.

    - Urgency is the higher of the two; raised to urgent or emergency, the
      queue becomes nurse review (the contract's first override).
    - stop_automation is set if either side (or the model's request type or
      urgency) calls for it; it is never cleared.
    - request_type, queue and patient_status stay the rules'. A disagreement
      on request_type, queue or urgency sets needs_staff_review with a
      ``model_rules_disagree`` reason.
    - A rejected model answer (``problems``) keeps the rules' labels and asks
      for staff review.
    """
    if model.decided_by == "rules" and not model.problems:
        return rules.model_copy(deep=True)

    reasons = list(rules.reasons)
    review = rules.needs_staff_review
    if model.problems:
        review = True
        reasons.extend(model.problems)
    if model.summary:
        reasons.append(Reason(code="model_summary", detail=model.summary))
    m_type, m_urgency, m_queue = model.request_type, model.urgency, model.queue
    if m_type is None or m_urgency is None or m_queue is None:
        return rules.model_copy(
            update={"needs_staff_review": review, "reasons": reasons}, deep=True
        )

    urgency = rules.urgency.at_least(m_urgency)
    queue = rules.queue
    if urgency != rules.urgency:
        reasons.append(
            Reason(
                code="model_raised_urgency",
                detail=f"{rules.urgency.value} -> {urgency.value}",
            )
        )
        if urgency.value in _stop_urgencies():
            queue = Queue.NURSE_REVIEW

    stop = (
        rules.stop_automation
        or model.stop_automation
        or m_type.value in _stop_types()
        or urgency.value in _stop_urgencies()
    )
    if stop and not rules.stop_automation:
        reasons.append(Reason(code="model_stop_automation", detail="set by the model"))

    disagreements = [
        f"{field} rules={ours.value} model={theirs.value}"
        for field, ours, theirs in (
            ("request_type", rules.request_type, m_type),
            ("queue", rules.queue, m_queue),
            ("urgency", rules.urgency, m_urgency),
        )
        if ours != theirs
    ]
    if disagreements:
        review = True
        reasons.append(
            Reason(code="model_rules_disagree", detail="; ".join(disagreements))
        )
    if model.patient_status and model.patient_status != rules.patient_status:
        reasons.append(
            Reason(
                code="model_patient_status_differs",
                detail=f"rules={rules.patient_status.value} "
                f"model={model.patient_status.value}",
            )
        )
    if model.missing is not None and set(model.missing) != set(rules.missing):
        only_model = sorted(m.value for m in set(model.missing) - set(rules.missing))
        only_rules = sorted(m.value for m in set(rules.missing) - set(model.missing))
        reasons.append(
            Reason(
                code="model_missing_differs",
                detail=f"model adds {only_model or 'none'}; "
                f"model omits {only_rules or 'none'}",
            )
        )
    reasons.extend(model.reasons)

    return rules.model_copy(
        update={
            "urgency": urgency,
            "queue": queue,
            "stop_automation": stop,
            "needs_staff_review": review,
            "reasons": reasons,
            "decided_by": "rules+model",
        },
        deep=True,
    )


# --------------------------------------------------------------------------
# Prompts


@dataclass(frozen=True)
class Prompt:
    """One prompt from ``config/prompts/NAME.yaml`` (shared preamble first)."""

    name: str
    system: Template
    user: Template
    max_tokens: int

    def render(self, values: dict[str, str]) -> tuple[str, str]:
        return self.system.substitute(values), self.user.substitute(values)


def load_prompt(name: str) -> Prompt:
    common = load_yaml("prompts/common.yaml") or {}
    data = load_yaml(f"prompts/{name}.yaml") or {}
    try:
        system = f"{common['preamble'].strip()}\n{data['system'].strip()}"
        return Prompt(
            name=name,
            system=Template(system),
            user=Template(data["user"].strip()),
            max_tokens=int(data.get("max_tokens", 300)),
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ConfigError(
            f"config/prompts/{name}.yaml needs 'system', 'user' and an integer "
            "'max_tokens' (and common.yaml a 'preamble')"
        ) from None


@dataclass(frozen=True)
class RenderedPrompt:
    name: str
    system: str
    user: str
    max_tokens: int

    @property
    def text(self) -> str:
        return f"{self.system}\n{self.user}"


_TEAMS = {
    Queue.FRONT_DESK: "front desk team",
    Queue.BILLING: "billing team",
    Queue.REFERRAL_COORDINATOR: "referral coordinator",
    Queue.RECORDS: "records team",
    Queue.NURSE_REVIEW: "nursing team",
    Queue.PRACTICE_MANAGER: "practice manager",
}
_ASK = {
    MissingDetail.CONTACT: "a phone number or email",
    MissingDetail.DATE_OF_BIRTH: "date of birth",
    MissingDetail.INSURANCE: "insurance details or a photo of the card",
    MissingDetail.APPOINTMENT_REASON: "the reason for the visit",
    MissingDetail.PREFERRED_LOCATION: "preferred office or provider",
    MissingDetail.REFERRAL_DOCUMENTS: "the referral documents",
}


def _facts(record: IntakeRecord) -> str:
    """What is on file, as yes/no facts: no values leave."""
    kinds = sorted(
        {(a.content_type or "file").split("/")[-1] for a in record.attachments}
    )
    attached = f"{len(record.attachments)} ({', '.join(kinds)})" if kinds else "none"
    patient = record.patient
    return (
        f"phone/email/portal: {'yes' if record.contact.reachable else 'no'}; "
        "date of birth: "
        f"{'yes' if patient.date_of_birth or patient.date_of_birth_text else 'no'}; "
        f"insurance note: {'yes' if record.insurance_note else 'no'}; "
        "location or provider preference: "
        f"{'yes' if record.preferred_location or record.preferred_provider else 'no'}; "
        f"attachments: {attached}"
    )


def render_prompts(
    record: IntakeRecord,
    rules: TriageResult | None = None,
    *,
    text: str | None = None,
) -> dict[str, RenderedPrompt]:
    """The four prompts for one request, built from redacted text only."""
    if text is None:
        text, _ = redact_record(record)
    channel = record.channel.value if record.channel else "unknown"
    values = {
        "channel": channel,
        "text": text,
        "request_type": rules.request_type.value if rules else "unknown",
        "patient_status": rules.patient_status.value if rules else "unknown",
        "facts": _facts(record),
        "team": _TEAMS[rules.queue] if rules else "front desk team",
        "ask": ", ".join(_ASK[m] for m in rules.missing) if rules else "",
    }
    values["ask"] = values["ask"] or "nothing"
    rendered: dict[str, RenderedPrompt] = {}
    for name in PROMPT_NAMES:
        prompt = load_prompt(name)
        system, user = prompt.render(values)
        rendered[name] = RenderedPrompt(name, system, user, prompt.max_tokens)
    return rendered


# --------------------------------------------------------------------------
# Screening what comes back

_HOSTILE_RES = (
    re.compile(
        r"ignore\s+(?:all\s+|any\s+|your\s+|the\s+)?(?:previous\s+|prior\s+|above\s+)?"
        r"instructions|disregard\s+(?:the|all|your|previous)|system\s+prompt|"
        r"you\s+are\s+now|as\s+an\s+ai|jailbreak|developer\s+mode",
        re.IGNORECASE,
    ),
    re.compile(r"https?://|www\.|<\s*script|javascript:", re.IGNORECASE),
    re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"),
    # A phone number it never saw (not "2021-2022" or "152/96").
    re.compile(r"(?<!\d)(?:\(?\d{3}\)?[\s.\-]?)?\d{3}[\s.\-]\d{4}(?!\d)|\d{7,}"),
)


def screen_model_text(text: str, redactor: Redactor, *, limit: int) -> str | None:
    """Why a model's free text must not be used, or None when it may be.

    Checked before restoring: the model saw placeholders only, so raw contact
    details, links, instructions or placeholders it was never given mean the
    answer is hostile or made up.
    """
    if len(text) > limit:
        return "too long"
    for pattern in _HOSTILE_RES:
        if pattern.search(text):
            return "instructions, links or contact details in the answer"
    for placeholder in PLACEHOLDER_RE.findall(text):
        if not redactor.issued(placeholder):
            return "an identifier the model was not given"
    return None


def _outbound_verdict(text: str) -> tuple[bool, str]:
    """Run the drafting guardrail; any failure to run it counts as a refusal."""
    try:
        from intake.drafting.guardrail import check_outbound

        verdict = check_outbound(text)
    except Exception as exc:  # noqa: BLE001 - no guardrail, no patient text
        return False, f"guardrail unavailable ({type(exc).__name__})"
    return bool(verdict.ok), ", ".join(verdict.violations)


# --------------------------------------------------------------------------
# The block interface


class IntakeModel(Block, ABC):
    """Where triage asks for a second opinion. The offline rules are the default."""

    _block_type_name = "Intake Model"

    @abstractmethod
    def assess(self, record: IntakeRecord, rules: TriageResult) -> ModelAssessment:
        """The model's proposal for one request, given the rules' decision."""

    def assess_and_merge(
        self, record: IntakeRecord, rules: TriageResult
    ) -> TriageResult:
        """The triage result after the model's second opinion.

        The model is an option, never a dependency: if it cannot be reached
        the rules' result stands, with a ``model_unavailable`` reason. Only a
        configuration that must not run at all (no BAA, no key) raises.
        """
        try:
            assessment = self.assess(record, rules)
        except (VendorAgreementMissing, ModelNotConfigured):
            raise
        except ModelError as exc:
            log.warning(
                "model unavailable for %s (%s); the rules' result stands",
                record.intake_id,
                type(exc).__name__,
            )
            reason = Reason(code="model_unavailable", detail=type(exc).__name__)
            return rules.model_copy(
                update={"reasons": [*rules.reasons, reason]}, deep=True
            )
        return merge_assessment(rules, assessment)


class OfflineIntakeModel(IntakeModel):
    """No AI model: the rules-based triage decides alone (the default)."""

    _block_type_name = "Offline Intake Model"

    def assess(self, record: IntakeRecord, rules: TriageResult) -> ModelAssessment:
        return ModelAssessment.from_rules(record.intake_id, rules)

    def assess_and_merge(
        self, record: IntakeRecord, rules: TriageResult
    ) -> TriageResult:
        return rules.model_copy(deep=True)


def _default_model_name() -> str:
    from intake.settings import get_settings

    return get_settings().anthropic_model


T = TypeVar("T", bound=BaseModel)


class AnthropicIntakeModel(IntakeModel):
    """A second opinion from an Anthropic model, on redacted text only.

    Refuses to start unless ``vendor_baa_signed`` is true: turn that on only
    when a business associate agreement covers the vendor. Each request costs
    up to four short calls (routing, missing information, summary and, when
    automation may continue, a reply suggestion); backfills go through the
    Message Batches API at half the price (:meth:`assess_batch`).
    """

    _block_type_name = "Anthropic Intake Model"

    api_key: SecretStr = Field(description="Anthropic API key.")
    model: str = Field(
        default_factory=_default_model_name,
        description="Model name (default: INTAKE_ANTHROPIC_MODEL).",
    )
    timeout_seconds: float = Field(default=30.0, gt=0)
    max_retries: int = Field(
        default=3,
        ge=0,
        description="SDK retries on 408/409/429/5xx (including 529 overloaded) "
        "and timeouts, with backoff.",
    )
    vendor_baa_signed: bool = Field(
        default=False,
        description="True only when a business associate agreement covers the "
        "vendor; the model refuses to start otherwise.",
    )
    check_missing: bool = Field(
        default=True, description="Run the missing-info prompt."
    )
    summarise: bool = Field(default=True, description="Run the summary prompt.")
    suggest_replies: bool = Field(
        default=False,
        description="Run the reply prompt when automation may continue; "
        "suggestions pass the outbound guardrail and still need staff approval.",
    )
    batch_poll_seconds: float = Field(default=60.0, ge=0)
    batch_wait_seconds: float = Field(default=24 * 3600.0, gt=0)
    batch_max_requests: int = Field(default=10_000, ge=1, le=100_000)

    _http_client: Any = PrivateAttr(default=None)
    _client: Any = PrivateAttr(default=None)

    # -- construction -------------------------------------------------------

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> AnthropicIntakeModel:
        """The block configured by ``INTAKE_*`` settings; refuses without a BAA."""
        from intake.settings import get_settings

        settings = settings or get_settings()
        if not settings.vendor_baa_signed:
            raise _no_baa()
        if settings.anthropic_api_key is None:
            raise ModelNotConfigured(
                "INTAKE_MODEL=anthropic needs INTAKE_ANTHROPIC_API_KEY "
                "(or use INTAKE_MODEL=offline)"
            )
        return cls(
            api_key=settings.anthropic_api_key,
            model=settings.anthropic_model,
            vendor_baa_signed=True,
        )

    def use_http_client(self, http_client: httpx2.Client) -> AnthropicIntakeModel:
        """Send requests through ``http_client`` (tests: an httpx2.MockTransport)."""
        self._http_client = http_client
        self._client = None
        return self

    def client(self) -> anthropic.Anthropic:
        """The SDK client; refuses to exist without a business associate agreement."""
        if not self.vendor_baa_signed:
            raise _no_baa()
        if self._client is None:
            import anthropic

            from intake.logging_setup import quiet_vendor_loggers

            key = self.api_key.get_secret_value()
            if not key.strip():
                raise ModelNotConfigured("the Anthropic API key is empty")
            quiet_vendor_loggers()
            self._client = anthropic.Anthropic(
                api_key=key,
                timeout=self.timeout_seconds,
                max_retries=self.max_retries,
                http_client=self._http_client,
                # Tracing could record prompt content; there is nothing to trace.
                open_telemetry=False,
            )
        return self._client

    # -- one request --------------------------------------------------------

    def assess(self, record: IntakeRecord, rules: TriageResult) -> ModelAssessment:
        client = self.client()  # the BAA check comes before any text is built
        text, redactor = redact_record(record)
        prompts = render_prompts(record, rules, text=text)
        assessment = ModelAssessment(intake_id=record.intake_id, model=self.model)

        # Routing is the second opinion itself: vendor errors propagate.
        try:
            routing_answer = self._ask(
                client, prompts["routing"], RoutingAnswer, record
            )
            _apply_routing(assessment, redactor, routing_answer)
        except _RejectedAnswer as bad:
            assessment.problems.append(
                Reason(code="model_output_rejected", detail=f"routing: {bad.why}")
            )

        # The rest only helps staff: a failure is noted and skipped.
        optional: list[tuple[bool, str, type[BaseModel], Any]] = [
            (self.check_missing, "missing", MissingAnswer, _apply_missing),
            (self.summarise, "summary", SummaryAnswer, _apply_summary),
        ]
        if self.suggest_replies and _automation_continues(rules, assessment):
            optional.append((True, "reply", ReplyAnswer, _apply_reply))
        for wanted, name, answer_type, apply in optional:
            if not wanted:
                continue
            try:
                apply(
                    assessment,
                    redactor,
                    self._ask(client, prompts[name], answer_type, record),
                )
            except _RejectedAnswer as bad:
                assessment.skipped.append(f"{name}: {bad.why}")
            except (VendorAgreementMissing, ModelNotConfigured):
                raise
            except ModelError as exc:
                assessment.skipped.append(f"{name}: {type(exc).__name__}")
        return assessment

    def _ask(
        self,
        client: anthropic.Anthropic,
        prompt: RenderedPrompt,
        answer_type: type[T],
        record: IntakeRecord,
    ) -> T:
        import anthropic

        started = time.monotonic()
        try:
            message = client.messages.parse(
                model=self.model,
                max_tokens=prompt.max_tokens,
                system=prompt.system,
                messages=[{"role": "user", "content": prompt.user}],
                output_format=answer_type,
            )
        except ValidationError:
            # The SDK validates the JSON against the schema; the error text
            # quotes the answer, so only its kind goes on.
            raise _RejectedAnswer("answer did not match the schema") from None
        except anthropic.AnthropicError as exc:
            raise _translate(exc, prompt.name, self.timeout_seconds) from None
        if message.stop_reason == "refusal":
            raise _RejectedAnswer("the model refused")
        parsed = message.parsed_output
        if not isinstance(parsed, answer_type):
            raise _RejectedAnswer("no structured answer")
        log.info(
            "model %s answered for %s in %.2fs (input_tokens=%s, output_tokens=%s)",
            prompt.name,
            record.intake_id,
            time.monotonic() - started,
            message.usage.input_tokens,
            message.usage.output_tokens,
        )
        return parsed

    # -- backfills ----------------------------------------------------------

    def assess_batch(
        self, records: Iterable[IntakeRecord]
    ) -> dict[str, ModelAssessment]:
        """Routing opinions for many requests through the Message Batches API.

        Half price, answers within 24 h: for backfills and re-checks, not for
        live intake. ``custom_id`` is the intake id (or a digest of it when the
        id has characters the API refuses). Only the routing prompt is sent.
        """
        client = self.client()
        unique = list({r.intake_id: r for r in records}.values())
        out: dict[str, ModelAssessment] = {}
        for start in range(0, len(unique), self.batch_max_requests):
            chunk = unique[start : start + self.batch_max_requests]
            out.update(self._run_batch(client, chunk))
        return out

    def _run_batch(
        self, client: anthropic.Anthropic, records: Sequence[IntakeRecord]
    ) -> dict[str, ModelAssessment]:
        import anthropic

        schema = anthropic.transform_schema(RoutingAnswer)
        by_custom_id: dict[str, tuple[IntakeRecord, Redactor]] = {}
        requests: list[dict[str, Any]] = []
        for record in records:
            custom_id = batch_custom_id(record.intake_id)
            text, redactor = redact_record(record)
            prompt = render_prompts(record, None, text=text)["routing"]
            by_custom_id[custom_id] = (record, redactor)
            requests.append(
                {
                    "custom_id": custom_id,
                    "params": {
                        "model": self.model,
                        "max_tokens": prompt.max_tokens,
                        "system": prompt.system,
                        "messages": [{"role": "user", "content": prompt.user}],
                        "output_config": {
                            "format": {"type": "json_schema", "schema": schema}
                        },
                    },
                }
            )

        try:
            batch = client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
        except anthropic.AnthropicError as exc:
            raise _translate(exc, "batch create", self.timeout_seconds) from None
        log.info("model batch %s submitted with %d requests", batch.id, len(requests))

        deadline = time.monotonic() + self.batch_wait_seconds
        while batch.processing_status != "ended":
            if time.monotonic() > deadline:
                raise ModelTimeout(
                    f"model batch {batch.id} did not end within "
                    f"{self.batch_wait_seconds:.0f} s; fetch it later by its id"
                )
            time.sleep(self.batch_poll_seconds)
            try:
                batch = client.messages.batches.retrieve(batch.id)
            except anthropic.AnthropicError as exc:
                raise _translate(exc, "batch status", self.timeout_seconds) from None

        out: dict[str, ModelAssessment] = {}
        try:
            for item in client.messages.batches.results(batch.id):
                pair = by_custom_id.get(item.custom_id)
                if pair is None:
                    continue
                record, redactor = pair
                out[record.intake_id] = self._batch_assessment(record, redactor, item)
        except Exception as exc:  # noqa: BLE001 - a broken results file too
            raise _translate(exc, "batch results", self.timeout_seconds) from None

        for record, _ in by_custom_id.values():
            if record.intake_id not in out:
                out[record.intake_id] = ModelAssessment(
                    intake_id=record.intake_id,
                    model=self.model,
                    skipped=["routing: no result in the batch"],
                )
        counts = {"answered": sum(1 for a in out.values() if a.has_routing)}
        log.info(
            "model batch %s ended: %d of %d answered",
            batch.id,
            counts["answered"],
            len(out),
        )
        return out

    def _batch_assessment(
        self, record: IntakeRecord, redactor: Redactor, item: Any
    ) -> ModelAssessment:
        assessment = ModelAssessment(intake_id=record.intake_id, model=self.model)
        result = item.result
        if result.type != "succeeded":
            assessment.skipped.append(f"routing: batch request {result.type}")
            return assessment
        text = "".join(
            block.text for block in result.message.content if block.type == "text"
        )
        try:
            answer = RoutingAnswer.model_validate_json(text)
            _apply_routing(assessment, redactor, answer)
        except ValidationError:
            assessment.problems.append(
                Reason(
                    code="model_output_rejected",
                    detail="routing: answer did not match the schema",
                )
            )
        except _RejectedAnswer as bad:
            assessment.problems.append(
                Reason(code="model_output_rejected", detail=f"routing: {bad.why}")
            )
        return assessment


# --------------------------------------------------------------------------
# Helpers


def _no_baa() -> VendorAgreementMissing:
    return VendorAgreementMissing(
        "the AI model refuses to start: no business associate agreement is "
        "recorded for the vendor. Set INTAKE_VENDOR_BAA_SIGNED=true (or the "
        "block's vendor_baa_signed) only once one is signed, or use "
        "INTAKE_MODEL=offline"
    )


def batch_custom_id(intake_id: str) -> str:
    """The intake id, or a digest of it when the Batches API would refuse it."""
    if _CUSTOM_ID_RE.match(intake_id):
        return intake_id
    return "h-" + hashlib.sha256(intake_id.encode()).hexdigest()[:40]


def _apply_routing(
    assessment: ModelAssessment, redactor: Redactor, answer: RoutingAnswer
) -> None:
    for phrase in answer.reasons:
        why = screen_model_text(phrase, redactor, limit=300)
        if why:
            # An injected answer's labels are as suspect as its words.
            raise _RejectedAnswer(why)
    assessment.request_type = answer.request_type
    assessment.urgency = answer.urgency
    assessment.patient_status = answer.patient_status
    assessment.queue = answer.queue
    assessment.stop_automation = answer.stop_automation
    assessment.reasons = [
        Reason(code="model_reason", detail=redactor.restore(phrase.strip()))
        for phrase in answer.reasons[:3]
        if phrase.strip()
    ]


def _apply_missing(
    assessment: ModelAssessment, redactor: Redactor, answer: MissingAnswer
) -> None:
    assessment.missing = list(dict.fromkeys(answer.missing))


def _apply_summary(
    assessment: ModelAssessment, redactor: Redactor, answer: SummaryAnswer
) -> None:
    why = screen_model_text(answer.summary, redactor, limit=600)
    if why:
        raise _RejectedAnswer(why)
    assessment.summary = redactor.restore(answer.summary.strip())


def _apply_reply(
    assessment: ModelAssessment, redactor: Redactor, answer: ReplyAnswer
) -> None:
    why = screen_model_text(answer.reply, redactor, limit=1200)
    if why:
        raise _RejectedAnswer(why)
    text = redactor.restore(answer.reply.strip())
    ok, violations = _outbound_verdict(text)
    if not ok:
        raise _RejectedAnswer(f"blocked by the outbound guardrail ({violations})")
    assessment.reply = text


def _automation_continues(rules: TriageResult, assessment: ModelAssessment) -> bool:
    """No patient-facing suggestion once either side stops automation."""
    if rules.stop_automation or assessment.problems:
        return False
    if not assessment.has_routing:
        return False
    merged = merge_assessment(rules, assessment)
    return not merged.stop_automation


def _translate(exc: Exception, step: str, timeout: float) -> ModelError:
    """The project's error for an SDK failure; the text names the step only."""
    import anthropic

    if isinstance(exc, ModelError):
        return exc
    if isinstance(exc, anthropic.APITimeoutError):
        return ModelTimeout(f"model {step}: no answer within {timeout:.0f} s")
    if isinstance(exc, anthropic.RateLimitError):
        return ModelRateLimited(f"model {step}: rate limited (HTTP 429)")
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status in (408, 409) or status >= 500:
            return ModelUnavailable(f"model {step}: vendor error (HTTP {status})")
        return ModelRequestRejected(f"model {step}: request refused (HTTP {status})")
    if isinstance(exc, anthropic.APIConnectionError):
        return ModelUnavailable(f"model {step}: could not reach the vendor")
    return ModelError(f"model {step} failed ({type(exc).__name__})")

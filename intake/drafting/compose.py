"""Draft step: choose the follow-up templates a triaged request gets, and fill them.

The choice, in order (intake contract, ``stop_automation``):

1. Always a receipt confirmation.
2. When automation stops: nothing else, except the approved emergency policy
   text for emergency urgency or safety language. Trained staff take over.
3. Otherwise: a document request for a referral without documents or an
   insurance submission without the card; a missing-information request for
   the other missing details; next steps for a complete scheduling request
   (or, when staff give one in ``context``, an appointment offer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from intake.drafting.errors import DraftingError, GuardrailError
from intake.drafting.guardrail import check_outbound
from intake.drafting.templates import TemplateSet, default_templates
from intake.models import Draft, MissingDetail, RequestType, TriageResult, Urgency

RECEIPT = "receipt_confirmation"
EMERGENCY_POLICY = "emergency_policy"
MISSING_INFORMATION = "missing_information_request"
INSURANCE_DOCUMENTS = "insurance_document_request"
REFERRAL_DOCUMENTS = "referral_missing_documents_request"
SCHEDULING_NEXT_STEPS = "scheduling_next_steps"
APPOINTMENT_OFFER = "appointment_offer"

# Drafts that may go out without approval even when triage asked for review:
# they say nothing about the request beyond its arrival.
_ALWAYS_SENDABLE = frozenset({RECEIPT, EMERGENCY_POLICY})

# context keys:
#   safety_language: bool - triage saw safety language (adds the emergency text
#       when automation stops). Reasons whose code starts with "safety" count too.
#   appointment: {date, time_window, location, provider} - a time staff chose
#       to offer for a complete scheduling request.
CONTEXT_KEYS = frozenset({"safety_language", "appointment"})


def draft_follow_up(
    triage: TriageResult,
    *,
    channel: str,
    language: str = "en",
    context: Mapping[str, Any] | None = None,
    templates: TemplateSet | None = None,
) -> list[Draft]:
    """The administrative drafts for one triaged request, each guardrail-checked.

    Raises ``DraftingError`` for an unknown context key or language, and
    ``GuardrailError`` when a template renders refused wording (a template bug).
    """
    context = dict(context or {})
    unknown = set(context) - CONTEXT_KEYS
    if unknown:
        raise DraftingError(f"draft context takes only {sorted(CONTEXT_KEYS)}")
    chosen = templates or default_templates()

    def draft(template_id: str, slots: Mapping[str, Any] | None = None) -> Draft:
        return chosen.render(template_id, slots, language, channel=channel)

    drafts = [draft(RECEIPT)]

    if triage.stop_automation:
        if triage.urgency is Urgency.EMERGENCY or _safety_language(triage, context):
            drafts.append(draft(EMERGENCY_POLICY))
        return _checked(drafts, chosen)

    missing = list(dict.fromkeys(triage.missing))
    if MissingDetail.REFERRAL_DOCUMENTS in missing:
        missing.remove(MissingDetail.REFERRAL_DOCUMENTS)
        drafts.append(draft(REFERRAL_DOCUMENTS))
    if (
        triage.request_type is RequestType.INSURANCE
        and MissingDetail.INSURANCE in missing
    ):
        missing.remove(MissingDetail.INSURANCE)
        drafts.append(draft(INSURANCE_DOCUMENTS))
    if missing:
        drafts.append(draft(MISSING_INFORMATION, {"missing_items": missing}))
    if triage.request_type is RequestType.SCHEDULING and not triage.missing:
        offer = context.get("appointment")
        if offer is not None:
            if not isinstance(offer, Mapping):
                raise DraftingError("draft context 'appointment' must be a mapping")
            drafts.append(draft(APPOINTMENT_OFFER, offer))
        else:
            drafts.append(draft(SCHEDULING_NEXT_STEPS))

    if triage.needs_staff_review:
        # An uncertain triage must not send request-specific text on its own.
        drafts = [
            d
            if d.template_id in _ALWAYS_SENDABLE
            else d.model_copy(update={"requires_approval": True})
            for d in drafts
        ]
    return _checked(drafts, chosen)


def _safety_language(triage: TriageResult, context: Mapping[str, Any]) -> bool:
    if context.get("safety_language"):
        return True
    return any(reason.code.startswith("safety") for reason in triage.reasons)


def _checked(drafts: list[Draft], templates: TemplateSet) -> list[Draft]:
    """Every draft passes the guardrail, or drafting stops (a template bug)."""
    for item in drafts:
        verdict = check_outbound(item.text, templates=templates)
        if not verdict.ok:
            raise GuardrailError(
                f"draft {item.template_id} fails the outbound guardrail: "
                f"{verdict.violations}"
            )
    return drafts

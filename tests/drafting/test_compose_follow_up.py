"""Which drafts a triaged request gets, and which of them need approval."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from intake.drafting import (
    DraftingError,
    GuardrailError,
    draft_follow_up,
    load_templates,
)
from intake.drafting.templates import default_templates
from intake.models import (
    MissingDetail,
    PatientStatus,
    Queue,
    Reason,
    RequestType,
    TriageResult,
    Urgency,
)


def triage(**overrides: Any) -> TriageResult:
    values: dict[str, Any] = {
        "request_type": RequestType.SCHEDULING,
        "urgency": Urgency.ROUTINE,
        "patient_status": PatientStatus.EXISTING,
        "missing": [],
        "queue": Queue.FRONT_DESK,
        "stop_automation": False,
    }
    values.update(overrides)
    return TriageResult(**values)


def ids(drafts: list[Any]) -> list[str]:
    return [d.template_id for d in drafts]


class TestStopAutomation:
    def test_an_emergency_gets_only_the_receipt_and_the_emergency_policy(self) -> None:
        result = triage(
            request_type=RequestType.SYMPTOM,
            urgency=Urgency.EMERGENCY,
            queue=Queue.NURSE_REVIEW,
            stop_automation=True,
            missing=[MissingDetail.DATE_OF_BIRTH, MissingDetail.CONTACT],
        )
        drafts = draft_follow_up(result, channel="portal")
        assert ids(drafts) == ["receipt_confirmation", "emergency_policy"]
        assert not any(d.requires_approval for d in drafts)

    def test_urgent_review_without_safety_language_gets_only_the_receipt(
        self,
    ) -> None:
        result = triage(
            request_type=RequestType.PRESCRIPTION,
            urgency=Urgency.URGENT_REVIEW,
            queue=Queue.NURSE_REVIEW,
            stop_automation=True,
            missing=[MissingDetail.DATE_OF_BIRTH],
        )
        assert ids(draft_follow_up(result, channel="email")) == ["receipt_confirmation"]

    def test_a_scheduling_request_with_stop_automation_gets_no_next_steps(
        self,
    ) -> None:
        result = triage(stop_automation=True, urgency=Urgency.URGENT_REVIEW)
        drafts = draft_follow_up(
            result,
            channel="portal",
            context={"appointment": {"date": "2026-03-03"}},
        )
        assert ids(drafts) == ["receipt_confirmation"]

    def test_safety_language_in_triage_reasons_adds_the_emergency_policy(
        self,
    ) -> None:
        result = triage(
            request_type=RequestType.SYMPTOM,
            stop_automation=True,
            reasons=[Reason(code="safety_language", detail="negated self-harm")],
        )
        drafts = draft_follow_up(result, channel="chat")
        assert ids(drafts) == ["receipt_confirmation", "emergency_policy"]

    def test_safety_language_given_in_context_adds_the_emergency_policy(
        self,
    ) -> None:
        result = triage(request_type=RequestType.SYMPTOM, stop_automation=True)
        drafts = draft_follow_up(
            result, channel="portal", context={"safety_language": True}
        )
        assert ids(drafts) == ["receipt_confirmation", "emergency_policy"]

    def test_the_emergency_text_is_spanish_for_a_spanish_request(self) -> None:
        result = triage(urgency=Urgency.EMERGENCY, stop_automation=True)
        drafts = draft_follow_up(result, channel="portal", language="es")
        assert "llame al 911" in drafts[1].text
        versions = default_templates().get("emergency_policy").versions
        assert drafts[1].template_version == versions["es"]


class TestAutomatedFollowUp:
    def test_a_complete_scheduling_request_gets_next_steps_without_approval(
        self,
    ) -> None:
        drafts = draft_follow_up(triage(), channel="web_form")
        assert ids(drafts) == ["receipt_confirmation", "scheduling_next_steps"]
        assert [d.requires_approval for d in drafts] == [False, False]
        assert {d.channel for d in drafts} == {"web_form"}

    def test_missing_details_get_one_request_that_needs_approval(self) -> None:
        result = triage(
            patient_status=PatientStatus.NEW,
            missing=[MissingDetail.INSURANCE, MissingDetail.PREFERRED_LOCATION],
        )
        drafts = draft_follow_up(result, channel="email")
        assert ids(drafts) == ["receipt_confirmation", "missing_information_request"]
        receipt, request = drafts
        assert receipt.requires_approval is False
        assert request.requires_approval is True
        assert "insurance plan name and member ID" in request.text
        assert "Northside, Lakeview or Downtown" in request.text

    def test_a_referral_without_documents_gets_the_document_request(self) -> None:
        result = triage(
            request_type=RequestType.REFERRAL,
            patient_status=PatientStatus.REFERRING_PROVIDER,
            queue=Queue.REFERRAL_COORDINATOR,
            missing=[MissingDetail.REFERRAL_DOCUMENTS, MissingDetail.INSURANCE],
        )
        drafts = draft_follow_up(result, channel="referral")
        assert ids(drafts) == [
            "receipt_confirmation",
            "referral_missing_documents_request",
            "missing_information_request",
        ]
        documents, request = drafts[1], drafts[2]
        assert documents.requires_approval and "records" in documents.topics
        assert "referral documents" not in request.text
        assert "insurance plan" in request.text

    def test_an_insurance_submission_without_the_card_asks_for_the_card(
        self,
    ) -> None:
        result = triage(
            request_type=RequestType.INSURANCE,
            queue=Queue.BILLING,
            missing=[MissingDetail.INSURANCE],
        )
        drafts = draft_follow_up(result, channel="portal", language="es")
        assert ids(drafts) == ["receipt_confirmation", "insurance_document_request"]
        assert drafts[1].requires_approval is True
        assert "billing" in drafts[1].topics
        assert "tarjeta del seguro" in drafts[1].text

    def test_a_staff_chosen_appointment_is_offered_for_approval(self) -> None:
        offer = {
            "date": "2026-03-04",
            "time_window": "afternoon",
            "location": "lakeview",
            "provider": "dr-lindqvist",
        }
        drafts = draft_follow_up(
            triage(), channel="portal", context={"appointment": offer}
        )
        assert ids(drafts) == ["receipt_confirmation", "appointment_offer"]
        assert drafts[1].requires_approval is True
        assert "Wednesday, March 4, 2026, in the afternoon" in drafts[1].text

    def test_an_uncertain_triage_holds_every_draft_but_the_receipt(self) -> None:
        drafts = draft_follow_up(triage(needs_staff_review=True), channel="portal")
        assert [(d.template_id, d.requires_approval) for d in drafts] == [
            ("receipt_confirmation", False),
            ("scheduling_next_steps", True),
        ]

    def test_a_general_request_gets_only_the_receipt(self) -> None:
        result = triage(request_type=RequestType.GENERAL)
        assert ids(draft_follow_up(result, channel="chat")) == ["receipt_confirmation"]

    def test_no_draft_asks_a_clinical_question(self) -> None:
        result = triage(missing=list(MissingDetail))
        for language in ("en", "es"):
            for draft in draft_follow_up(result, channel="portal", language=language):
                assert "?" not in draft.text


class TestRefusals:
    def test_an_unknown_context_key_is_refused(self) -> None:
        with pytest.raises(DraftingError, match="context"):
            draft_follow_up(triage(), channel="portal", context={"note": "x"})

    def test_an_unknown_channel_is_refused(self) -> None:
        with pytest.raises(DraftingError, match="channel"):
            draft_follow_up(triage(), channel="pager")

    def test_a_template_with_clinical_wording_stops_drafting(
        self, template_dir: Path
    ) -> None:
        path = template_dir / "scheduling_next_steps.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["text"]["en"] = (
            "Until your visit, rest and drink fluids. {practice_name} {practice_phone}"
        )
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        broken = load_templates(template_dir, verify_lock=False)
        with pytest.raises(GuardrailError, match="scheduling_next_steps") as caught:
            draft_follow_up(triage(), channel="portal", templates=broken)
        assert "fluids" not in str(caught.value)

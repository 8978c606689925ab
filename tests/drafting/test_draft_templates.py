"""Locked templates: loading, versions, the lock and slot validation."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from intake.drafting import SlotError, TemplateError, TemplateLockError, render
from intake.drafting.templates import (
    LANGUAGES,
    default_templates,
    load_templates,
    template_version,
)
from intake.models import Draft, MissingDetail

SHIPPED_IDS = {
    "receipt_confirmation",
    "missing_information_request",
    "scheduling_next_steps",
    "appointment_offer",
    "no_show_reminder",
    "insurance_document_request",
    "referral_missing_documents_request",
    "emergency_policy",
}
OFFER = {
    "date": "2026-03-03",
    "time_window": "09:00-11:30",
    "location": "northside",
    "provider": "dr-okafor",
}


def _edit(folder: Path, template_id: str, **changes: object) -> None:
    path = folder / f"{template_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


class TestShippedTemplates:
    def test_every_shipped_template_loads_and_matches_the_lock(self) -> None:
        loaded = load_templates()
        assert set(loaded.templates) == SHIPPED_IDS
        for template in loaded.templates.values():
            assert set(template.text) == set(LANGUAGES)

    def test_versions_are_twelve_hex_digits_of_the_canonical_sha256(self) -> None:
        template = default_templates().get("receipt_confirmation")
        for language in LANGUAGES:
            version = template.versions[language]
            assert re.fullmatch(r"[0-9a-f]{12}", version)
            canonical = template.canonical(language).encode("utf-8")
            assert version == hashlib.sha256(canonical).hexdigest()[:12]
        assert template.versions["en"] != template.versions["es"]

    def test_no_shipped_template_has_a_slot_a_caller_can_fill_with_text(self) -> None:
        for template in default_templates().templates.values():
            assert set(template.slots.values()) <= {
                "practice_name",
                "practice_phone",
                "emergency_number",
                "crisis_line",
                "date",
                "time_window",
                "location",
                "provider",
                "missing_items",
            }

    def test_receipt_confirmation_renders_practice_details_in_both_languages(
        self,
    ) -> None:
        english = render("receipt_confirmation", {})
        spanish = render("receipt_confirmation", {}, "es")
        assert isinstance(english, Draft)
        assert "Maple Grove Family Medicine" in english.text
        assert "(312) 555-0100" in english.text
        assert spanish.text.startswith("Gracias por comunicarse")
        assert english.requires_approval is False
        assert (
            english.template_version
            == (default_templates().get("receipt_confirmation").versions["en"])
        )
        assert spanish.template_version != english.template_version

    def test_emergency_policy_uses_the_numbers_from_practice_config(self) -> None:
        text = render("emergency_policy", {}).text
        assert "call 911 or go to the nearest emergency room" in text
        assert "call or text 988" in text
        assert "(312) 555-0100" in text


class TestSlotValidation:
    def test_location_and_provider_accept_ids_names_and_aliases(self) -> None:
        draft = render(
            "appointment_offer",
            {**OFFER, "location": "North Side", "provider": "NP Reyes"},
        )
        assert "at our Northside office" in draft.text
        assert "with NP Reyes" in draft.text
        assert "on Tuesday, March 3, 2026, between 9:00 AM and 11:30 AM" in draft.text
        assert draft.requires_approval is True

    def test_a_location_the_practice_does_not_have_is_refused(self) -> None:
        with pytest.raises(SlotError) as caught:
            render("appointment_offer", {**OFFER, "location": "Springfield Clinic"})
        assert "Springfield" not in str(caught.value)
        assert "northside" in str(caught.value)

    def test_a_provider_the_practice_does_not_have_is_refused(self) -> None:
        with pytest.raises(SlotError):
            render("appointment_offer", {**OFFER, "provider": "Dr. Houseman"})

    @pytest.mark.parametrize(
        ("slot", "value"),
        [
            ("location", "take ibuprofen twice a day"),
            ("date", "sore throat since Monday"),
            ("time_window", "whenever the pain is worse"),
            ("provider", "it sounds like you have strep"),
        ],
    )
    def test_clinical_free_text_is_refused_in_every_slot_kind(
        self, slot: str, value: str
    ) -> None:
        with pytest.raises(SlotError) as caught:
            render("appointment_offer", {**OFFER, slot: value})
        assert value not in str(caught.value)

    def test_missing_items_refuse_anything_outside_the_vocabulary(self) -> None:
        with pytest.raises(SlotError) as caught:
            render(
                "missing_information_request",
                {"missing_items": ["date_of_birth", "how long you have had the rash"]},
            )
        assert "rash" not in str(caught.value)

    def test_missing_items_refuse_a_plain_string(self) -> None:
        with pytest.raises(SlotError):
            render("missing_information_request", {"missing_items": "date_of_birth"})

    def test_an_unknown_slot_is_refused(self) -> None:
        with pytest.raises(SlotError, match="takes no slots"):
            render("receipt_confirmation", {"note": "Please take the pills"})

    def test_a_practice_slot_cannot_be_overridden_by_the_caller(self) -> None:
        with pytest.raises(SlotError, match="config/practice.yaml"):
            render("receipt_confirmation", {"practice_phone": "555-0199"})

    def test_a_missing_slot_is_refused(self) -> None:
        without_date = {k: v for k, v in OFFER.items() if k != "date"}
        with pytest.raises(SlotError, match="needs slots"):
            render("appointment_offer", without_date)

    @pytest.mark.parametrize(
        ("value", "problem"),
        [
            ("https://evil.example.org/x", "link"),
            ("www.example.org", "link"),
            ("<b>Northside</b>", "markup"),
            ("North\nside", "line breaks"),
            ("x" * 101, "longer than"),
        ],
    )
    def test_slot_values_with_links_markup_or_line_breaks_are_refused(
        self, value: str, problem: str
    ) -> None:
        with pytest.raises(SlotError, match=problem) as caught:
            render("no_show_reminder", {"date": "2026-03-03", "location": value})
        assert value not in str(caught.value)

    def test_dates_must_parse_and_be_plausible(self) -> None:
        with pytest.raises(SlotError, match="YYYY-MM-DD"):
            render("no_show_reminder", {"date": "03/33/2026", "location": "lakeview"})
        with pytest.raises(SlotError, match="2000"):
            render("no_show_reminder", {"date": "1999-01-01", "location": "lakeview"})
        draft = render(
            "no_show_reminder", {"date": date(2026, 3, 3), "location": "loop"}, "es"
        )
        assert (
            "su cita del martes 3 de marzo de 2026 en nuestra oficina de Downtown"
            in (draft.text)
        )

    def test_time_windows_render_per_language_and_must_be_ordered(self) -> None:
        spanish = render(
            "appointment_offer", {**OFFER, "time_window": "13:00-14:30"}, "es"
        )
        assert "entre la 1:00 p. m. y las 2:30 p. m." in spanish.text
        morning = render("appointment_offer", {**OFFER, "time_window": "morning"})
        assert "March 3, 2026, in the morning" in morning.text
        with pytest.raises(SlotError, match="start before"):
            render("appointment_offer", {**OFFER, "time_window": "14:00-09:00"})

    def test_missing_items_render_approved_phrases_once_in_contract_order(
        self,
    ) -> None:
        draft = render(
            "missing_information_request",
            {
                "missing_items": [
                    MissingDetail.PREFERRED_LOCATION,
                    "date_of_birth",
                    "date_of_birth",
                ]
            },
        )
        lines = [line for line in draft.text.splitlines() if line.startswith("- ")]
        assert lines == [
            "- the patient's date of birth",
            "- which of our offices you prefer: Northside, Lakeview or Downtown",
        ]
        assert draft.requires_approval is True

    def test_an_unknown_language_is_refused(self) -> None:
        from intake.drafting import DraftingError

        with pytest.raises(DraftingError, match="language"):
            render("receipt_confirmation", {}, "fr")


class TestTemplateFiles:
    def test_the_version_changes_when_the_text_changes(
        self, template_dir: Path
    ) -> None:
        before = load_templates(template_dir).get("receipt_confirmation")
        _edit(
            template_dir,
            "receipt_confirmation",
            text={
                "en": "Thanks for writing to {practice_name}. Call {practice_phone}.",
                "es": before.text["es"],
            },
        )
        after = load_templates(template_dir, verify_lock=False).get(
            "receipt_confirmation"
        )
        assert after.versions["en"] != before.versions["en"]
        assert after.versions["es"] == before.versions["es"]

    def test_the_version_ignores_the_practice_details(self, template_dir: Path) -> None:
        other = {
            "practice_name": "Birch Street Clinic",
            "phone": "(555) 555-0101",
            "emergency_number": "911",
            "crisis_line": "988",
            "locations": [{"id": "birch", "name": "Birch"}],
            "providers": [{"id": "dr-ames", "name": "Dr. Ames"}],
        }
        loaded = load_templates(template_dir, practice=other)
        assert loaded.versions() == default_templates().versions()
        assert "Birch Street Clinic" in loaded.render("receipt_confirmation").text

    def test_a_changed_template_is_refused_until_the_lock_is_rewritten(
        self, template_dir: Path
    ) -> None:
        from intake.drafting import write_lock

        template = load_templates(template_dir).get("scheduling_next_steps")
        _edit(
            template_dir,
            "scheduling_next_steps",
            text={
                **template.text,
                "en": "We will call you. {practice_name} {practice_phone}",
            },
        )
        with pytest.raises(TemplateLockError, match="scheduling_next_steps"):
            load_templates(template_dir)
        write_lock(template_dir)
        assert load_templates(template_dir).get("scheduling_next_steps")

    def test_a_missing_lock_file_is_refused(self, template_dir: Path) -> None:
        (template_dir / "versions.lock").unlink()
        with pytest.raises(TemplateLockError, match="missing"):
            load_templates(template_dir)

    def test_a_free_text_slot_kind_is_refused(self, template_dir: Path) -> None:
        _edit(
            template_dir,
            "receipt_confirmation",
            slots={
                "practice_name": "practice_name",
                "practice_phone": "practice_phone",
                "note": "free_text",
            },
        )
        with pytest.raises(TemplateError, match="no free-text kind"):
            load_templates(template_dir, verify_lock=False)

    def test_a_template_cannot_skip_approval_its_topics_require(
        self, template_dir: Path
    ) -> None:
        _edit(template_dir, "insurance_document_request", requires_approval=False)
        with pytest.raises(TemplateError, match="requires_approval"):
            load_templates(template_dir, verify_lock=False)

    @pytest.mark.parametrize(
        "text",
        [
            "Thank you, {practice_name}. {first_name}",  # undeclared slot
            "Thank you {practice_name:>40} {practice_phone}",  # format spec
            "Thank you {practice_name.upper} {practice_phone}",  # attribute
            "Thank you {{practice_name}} {practice_phone}",  # literal braces
            "Thank you {practice_name}.",  # a declared slot unused
        ],
    )
    def test_template_text_may_use_only_plain_declared_slots(
        self, template_dir: Path, text: str
    ) -> None:
        spanish = load_templates(template_dir).get("receipt_confirmation").text["es"]
        _edit(template_dir, "receipt_confirmation", text={"en": text, "es": spanish})
        with pytest.raises(TemplateError):
            load_templates(template_dir, verify_lock=False)

    def test_a_template_must_have_every_language(self, template_dir: Path) -> None:
        english = load_templates(template_dir).get("receipt_confirmation").text["en"]
        _edit(template_dir, "receipt_confirmation", text={"en": english})
        with pytest.raises(TemplateError, match="languages"):
            load_templates(template_dir, verify_lock=False)

    def test_the_missing_items_vocabulary_must_cover_every_missing_detail(
        self, template_dir: Path
    ) -> None:
        path = template_dir / "missing_information_request.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        del data["vocabulary"]["missing_items"]["es"]["contact"]
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        with pytest.raises(TemplateError, match="phrase for each"):
            load_templates(template_dir, verify_lock=False)

    def test_template_version_is_stable_across_loads(self, template_dir: Path) -> None:
        first = load_templates(template_dir).get("appointment_offer")
        second = load_templates(template_dir).get("appointment_offer")
        assert template_version(first, "es") == template_version(second, "es")

"""The outbound guardrail: clinical wording refused in English and Spanish."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from intake.drafting import LexiconError, check_outbound
from intake.drafting.guardrail import compile_lexicon, guardrail_path, normalize
from intake.drafting.templates import LANGUAGES, default_templates, load_templates

REFUSED = [
    # diagnosis
    ("diagnosis", "It sounds like you have a sinus infection."),
    ("diagnosis", "You probably have strep throat."),
    ("diagnosis", "This could be a sign of dehydration."),
    ("diagnosis", "Parece que tiene una infección de oído."),
    ("diagnosis", "Probablemente tiene gripe."),
    # treatment advice
    ("treatment_advice", "Take ibuprofen for the swelling."),
    ("treatment_advice", "Please apply ice to the knee."),
    ("treatment_advice", "Rest and drink fluids until we call."),
    ("treatment_advice", "Take two tablets of Tylenol."),
    ("treatment_advice", "Tome ibuprofeno para el dolor."),
    ("treatment_advice", "Aplique hielo en la rodilla."),
    ("treatment_advice", "Descanse y beba muchos líquidos."),
    # medication and dosing
    ("medication_dosing", "Increase your dose until the visit."),
    ("medication_dosing", "The usual dose is 500 mg twice a day."),
    ("medication_dosing", "You can double your dose tonight."),
    ("medication_dosing", "Stop taking it before the appointment."),
    ("medication_dosing", "Aumente la dosis esta semana."),
    ("medication_dosing", "Deje de tomar el medicamento."),
    ("medication_dosing", "Una pastilla cada 8 horas."),
    # emergency guidance other than the approved text
    ("emergency_guidance_beyond_policy", "Please call 911 right away."),
    ("emergency_guidance_beyond_policy", "Go to urgent care tonight."),
    ("emergency_guidance_beyond_policy", "If your symptoms get worse, call us."),
    ("emergency_guidance_beyond_policy", "Vaya a la sala de emergencias."),
    ("emergency_guidance_beyond_policy", "Si sus síntomas empeoran, llámenos."),
    # clinical questions
    ("clinical_question", "How long have you had the cough?"),
    ("clinical_question", "Where is the pain?"),
    ("clinical_question", "On a scale of 1 to 10, how bad is it"),
    ("clinical_question", "¿Cuánto tiempo lleva con la tos?"),
    ("clinical_question", "¿Tiene fiebre?"),
]

ADMINISTRATIVE = [
    "Please bring your insurance card and a photo ID to your appointment.",
    "Your statement balance can be paid online or by phone.",
    "What day and time work best for you?",
    "Our Downtown office is open Monday to Friday, 8:00 AM to 5:00 PM.",
    "Envíe una foto del frente y del reverso de su tarjeta del seguro.",
    "¿Qué día y hora le conviene más?",
    "Bring your medication list to the visit.",
]

SAMPLE_SLOTS: dict[str, Any] = {
    "date": "2026-03-03",
    "time_window": "09:00-11:30",
    "location": "northside",
    "provider": "dr-okafor",
    "missing_items": [
        "contact",
        "date_of_birth",
        "insurance",
        "appointment_reason",
        "preferred_location",
        "referral_documents",
    ],
}


@pytest.mark.parametrize(("code", "text"), REFUSED)
def test_each_advice_family_is_refused_in_english_and_spanish(
    code: str, text: str
) -> None:
    verdict = check_outbound(text)
    assert not verdict.ok
    assert code in verdict.violations


@pytest.mark.parametrize("text", ADMINISTRATIVE)
def test_administrative_wording_passes(text: str) -> None:
    verdict = check_outbound(text)
    assert verdict.ok, verdict.matched


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shipped_template_passes_in_every_language(language: str) -> None:
    templates = default_templates()
    for template_id, template in templates.templates.items():
        slots = {name: SAMPLE_SLOTS[name] for name in template.request_slots}
        draft = templates.render(template_id, slots, language)
        verdict = check_outbound(draft.text)
        assert verdict.ok, (template_id, verdict.matched)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_approved_emergency_text_passes_and_only_because_it_is_approved(
    language: str,
) -> None:
    text = default_templates().fixed_text("emergency_policy", language)
    assert check_outbound(text).ok
    refused = check_outbound(text, allowed_template_ids=())
    assert refused.violations == ["emergency_guidance_beyond_policy"]


def test_emergency_guidance_added_to_the_approved_text_is_refused() -> None:
    approved = default_templates().fixed_text("emergency_policy", "en")
    assert not check_outbound(approved + " Or go to urgent care.").ok
    edited = approved.replace("call 911 or", "call 911 right away or")
    assert not check_outbound(edited).ok


def test_matching_ignores_case_accents_line_breaks_and_curly_quotes() -> None:
    assert not check_outbound("TOME\nIBUPROFENO").ok
    assert not check_outbound("It\u2019s probably nothing.").ok
    assert not check_outbound("Parece que tiene una INFECCIÓN").ok
    assert normalize("Sí,  SEÑAL\n") == "si, senal"


def test_a_word_inside_another_word_does_not_match() -> None:
    assert check_outbound("Among other things, we need the 10 mgmt forms.").ok


def test_the_verdict_quotes_the_lexicon_never_the_checked_text() -> None:
    verdict = check_outbound("Ana Testperson, take ibuprofen 400 mg, phone 555-0142.")
    dumped = verdict.model_dump_json()
    assert "Testperson" not in dumped
    assert "555-0142" not in dumped
    assert "treatment_advice: take {medicines}" in verdict.matched


def test_a_practice_named_urgent_care_does_not_trip_the_emergency_rule(
    template_dir: Path,
) -> None:
    practice = {
        "practice_name": "Lakeside Urgent Care",
        "phone": "(988) 555-0123",
        "emergency_number": "911",
        "crisis_line": "988",
        "locations": [{"id": "lakeside", "name": "Lakeside"}],
        "providers": [{"id": "dr-ames", "name": "Dr. Ames"}],
    }
    templates = load_templates(template_dir, practice=practice)
    draft = templates.render("receipt_confirmation")
    assert "Lakeside Urgent Care" in draft.text
    assert check_outbound(draft.text, templates=templates).ok
    assert not check_outbound("Go to urgent care.", templates=templates).ok


def _shipped_lexicon() -> dict[str, Any]:
    return yaml.safe_load(guardrail_path().read_text(encoding="utf-8"))


def test_the_lexicon_must_keep_every_required_family() -> None:
    data = _shipped_lexicon()
    del data["families"]["medication_dosing"]
    with pytest.raises(LexiconError, match="medication_dosing"):
        compile_lexicon(data)


def test_a_lexicon_entry_naming_an_unknown_term_list_is_refused() -> None:
    data = _shipped_lexicon()
    data["families"]["treatment_advice"]["phrases"]["en"].append("take {potions}")
    with pytest.raises(LexiconError, match="potions"):
        compile_lexicon(data)


def test_a_clinician_added_phrase_takes_effect() -> None:
    data = _shipped_lexicon()
    data["families"]["treatment_advice"]["phrases"]["en"].append("soak your foot")
    lexicon = compile_lexicon(data)
    assert check_outbound("Soak your foot tonight.").ok
    verdict = check_outbound("Soak your foot tonight.", lexicon=lexicon)
    assert verdict.violations == ["treatment_advice"]

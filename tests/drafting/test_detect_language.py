"""Choosing Spanish or English drafts from the request text."""

from __future__ import annotations

import pytest

from intake.drafting import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "Hola, necesito una cita para mi hijo la próxima semana.",
        "Quisiera cambiar mi cita del martes, por favor.",
        "¿Pueden enviarme una copia de la factura?",
        "buenos dias tengo una pregunta sobre mi seguro",
        "Necesito la receta de mi mama",
    ],
)
def test_spanish_requests_are_detected(text: str) -> None:
    assert detect_language(text) == "es"


@pytest.mark.parametrize(
    "text",
    [
        "Hi, I need to reschedule my appointment on Tuesday.",
        "Can you send a copy of my records to Dr. Peña's office?",
        "My name is José Muñoz and I'd like to book a physical.",
        "Please call me back about my bill.",
        "",
        "ok",
        "Hola",
    ],
)
def test_english_and_unclear_requests_get_english(text: str) -> None:
    assert detect_language(text) == "en"

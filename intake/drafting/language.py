"""Draft step: pick the draft language (Spanish or English) from the request text.

A light heuristic, not a language model: count common function words of each
language, add weight for Spanish-only characters, and answer "es" only when
Spanish clearly wins. Anything unclear gets English, which staff can change.
"""

from __future__ import annotations

import re
import unicodedata

# Words common in one language and rare in the other. Words both languages
# use in patient messages ("no", "me", "a", "sin", "hospital") are left out.
_SPANISH = frozenset(
    """
    de la que el en y los las del se por un una para con su sus al lo como mas
    pero este esta estoy estaba tengo tiene tener necesito quiero quisiera puedo
    puede hola gracias buenos buenas dias tardes noches favor cita citas hijo hija
    mi mis usted ustedes nosotros ella ellos porque cuando donde cual seguro
    medico doctora receta cuenta pago factura manana semana hoy ayer llamar
    llamo llame ya tambien muy sobre desde hasta entre hay ser soy es fue
    nuevo nueva paciente clinica oficina quiere necesita pregunta ayuda mama papa
    esposo esposa
    """.split()
)
_ENGLISH = frozenset(
    """
    the and to of is in it you that for my on with this have be are was can
    please would need hi hello thanks thank we at do not an your i'm i'd am has
    had will what when where which who how appointment insurance bill
    schedule reschedule want could should about from our just get know today
    tomorrow week daughter wife husband mother father new patient office
    help question call
    """.split()
)
_SPANISH_MARKS = frozenset("ñ¿¡áéíóú")
_WORD = re.compile(r"[a-z']+")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def detect_language(text: str) -> str:
    """``"es"`` when the text reads as Spanish, otherwise ``"en"``."""
    if not text:
        return "en"
    words = _WORD.findall(_fold(text))
    spanish = sum(word in _SPANISH for word in words)
    english = sum(word in _ENGLISH for word in words)
    # Accents and inverted marks are strong Spanish signals; cap them so a
    # name like "Peña" in an English message does not tip the balance.
    marks = min(sum(ch in _SPANISH_MARKS for ch in text.casefold()), 3)
    spanish += marks
    if spanish >= 2 and spanish > english * 1.2:
        return "es"
    return "en"

"""Draft step: the outbound guardrail that refuses clinical wording in patient text.

The lexicon is data (``config/guardrail.yaml``), written for a clinician to
read. Text is compared after folding case and accents, so "Tome ibuprofeno"
and "tome IBUPROFENO" are the same. The practice's approved emergency text is
taken out first; any other emergency guidance is a violation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, Field

from intake.drafting.errors import LexiconError

if TYPE_CHECKING:
    from intake.drafting.templates import TemplateSet

# The codes the product relies on; the lexicon may add more families.
REQUIRED_CODES: tuple[str, ...] = (
    "diagnosis",
    "treatment_advice",
    "medication_dosing",
    "emergency_guidance_beyond_policy",
    "clinical_question",
)
DEFAULT_ALLOWED_TEMPLATES: tuple[str, ...] = ("emergency_policy",)

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_REFERENCE = re.compile(r"\{([a-z][a-z0-9_]*)\}")
_BETWEEN_WORDS = r"[\W_]+"


class GuardrailVerdict(BaseModel):
    """Whether a text may go to a patient, and which rules it broke.

    ``matched`` quotes lexicon entries (config wording), never the checked
    text, so a verdict is safe to log and store.
    """

    ok: bool
    violations: list[str] = Field(default_factory=list)
    matched: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Rule:
    """One lexicon entry compiled to a pattern over normalized text."""

    code: str
    entry: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Lexicon:
    """The compiled guardrail lexicon."""

    codes: tuple[str, ...]
    rules: tuple[Rule, ...]
    question_rules: tuple[Rule, ...]  # matched inside question sentences only


def normalize(text: str) -> str:
    """Fold case, accents, typographic quotes and runs of whitespace."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.translate(_QUOTES).casefold().split())


def guardrail_path() -> Path:
    from intake.config import config_path

    return config_path("guardrail.yaml")


def load_lexicon(path: Path | None = None) -> Lexicon:
    """Load and compile ``config/guardrail.yaml`` (or ``path``)."""
    source = path or guardrail_path()
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LexiconError(f"guardrail lexicon {source} is missing") from None
    except yaml.YAMLError:
        raise LexiconError(f"guardrail lexicon {source} is not valid YAML") from None
    return compile_lexicon(data, source=source.name)


def compile_lexicon(data: Any, *, source: str = "guardrail.yaml") -> Lexicon:
    """Compile lexicon data (the parsed YAML) into rules."""
    if not isinstance(data, Mapping) or not isinstance(data.get("families"), Mapping):
        raise LexiconError(f"{source} needs a 'families' mapping")
    terms = _terms(data.get("terms") or {}, source)

    rules: list[Rule] = []
    question_rules: list[Rule] = []
    codes: list[str] = []
    for code, family in data["families"].items():
        if not isinstance(code, str) or not _NAME.match(code):
            raise LexiconError(f"{source}: family names must be lower_snake_case")
        if not isinstance(family, Mapping):
            raise LexiconError(f"{source}: family {code} must be a mapping")
        codes.append(code)
        phrases = family.get("phrases") or {}
        if not isinstance(phrases, Mapping):
            raise LexiconError(f"{source}: {code}.phrases must map languages to lists")
        for language, entries in phrases.items():
            for entry in _strings(entries, f"{source}: {code}.phrases.{language}"):
                rules.append(Rule(code, entry, _phrase_pattern(entry, terms, source)))
        for entry in _strings(family.get("patterns") or [], f"{source}: {code}"):
            rules.append(Rule(code, entry, _regex(entry, terms, source)))
        question_terms = family.get("question_terms")
        if question_terms is not None:
            if question_terms not in terms:
                raise LexiconError(
                    f"{source}: {code}.question_terms names no term list"
                )
            pattern = re.compile(rf"(?<!\w){terms[question_terms]}(?!\w)")
            question_rules.append(
                Rule(code, f"question about {question_terms}", pattern)
            )

    absent = [c for c in REQUIRED_CODES if c not in codes]
    if absent:
        raise LexiconError(f"{source} lacks the families {absent}")
    return Lexicon(tuple(codes), tuple(rules), tuple(question_rules))


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LexiconError(f"{where} must be a list of text entries")
    return [v for v in value if v.strip()]


def _words(text: str) -> str:
    """A phrase as a pattern: its words in order, any punctuation between them."""
    return _BETWEEN_WORDS.join(re.escape(word) for word in normalize(text).split())


def _terms(data: Any, source: str) -> dict[str, str]:
    if not isinstance(data, Mapping):
        raise LexiconError(f"{source}: 'terms' must map names to lists")
    compiled: dict[str, str] = {}
    for name, entries in data.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise LexiconError(f"{source}: term list names must be lower_snake_case")
        words = sorted(
            {_words(e) for e in _strings(entries, f"{source}: terms.{name}")},
            key=len,
            reverse=True,
        )
        if not words:
            raise LexiconError(f"{source}: term list {name} is empty")
        compiled[name] = "(?:" + "|".join(words) + ")"
    return compiled


def _phrase_pattern(
    entry: str, terms: Mapping[str, str], source: str
) -> re.Pattern[str]:
    parts = []
    for word in normalize(entry).split():
        reference = _REFERENCE.fullmatch(word)
        if reference:
            parts.append(_term(reference.group(1), terms, source))
        elif word.endswith("*") and len(word) > 1:
            parts.append(re.escape(word[:-1]) + r"\w*")
        else:
            parts.append(re.escape(word))
    return re.compile(rf"(?<!\w){_BETWEEN_WORDS.join(parts)}(?!\w)")


def _regex(entry: str, terms: Mapping[str, str], source: str) -> re.Pattern[str]:
    expanded = _REFERENCE.sub(lambda m: _term(m.group(1), terms, source), entry)
    try:
        return re.compile(expanded)
    except re.error:
        raise LexiconError(f"{source}: pattern {entry!r} is not valid") from None


def _term(name: str, terms: Mapping[str, str], source: str) -> str:
    if name not in terms:
        raise LexiconError(f"{source}: {{{name}}} names no list under 'terms'")
    return terms[name]


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The practice's lexicon from ``config/guardrail.yaml`` (cached)."""
    return load_lexicon()


def check_outbound(
    text: str,
    *,
    allowed_template_ids: Iterable[str] = DEFAULT_ALLOWED_TEMPLATES,
    lexicon: Lexicon | None = None,
    templates: TemplateSet | None = None,
) -> GuardrailVerdict:
    """Check a patient-facing text against the lexicon.

    ``allowed_template_ids`` names approved templates without caller slots
    whose sentences may appear verbatim (by default the emergency policy);
    the practice's own name and phone number are also ignored, so a practice
    called "... Urgent Care" does not trip the emergency rule.
    """
    if templates is None:
        from intake.drafting.templates import default_templates

        templates = default_templates()
    rules = lexicon or default_lexicon()
    checked = _without_approved(normalize(text), templates, allowed_template_ids)

    found: list[Rule] = [rule for rule in rules.rules if rule.pattern.search(checked)]
    questions = re.findall(r"[^.!?\n]*\?", checked)
    found += [
        rule
        for rule in rules.question_rules
        if any(rule.pattern.search(question) for question in questions)
    ]
    violations = [code for code in rules.codes if any(r.code == code for r in found)]
    matched = list(dict.fromkeys(f"{r.code}: {r.entry}" for r in found))
    return GuardrailVerdict(ok=not violations, violations=violations, matched=matched)


def _without_approved(
    checked: str, templates: TemplateSet, allowed_template_ids: Iterable[str]
) -> str:
    from intake.drafting.templates import LANGUAGES

    sentences: list[str] = []
    for template_id in allowed_template_ids:
        for language in LANGUAGES:
            approved = normalize(templates.fixed_text(template_id, language))
            sentences += re.split(r"(?<=[.!?])\s+", approved)
    # Longest first, so a whole sentence goes before any shorter one inside it.
    for sentence in sorted(set(sentences), key=len, reverse=True):
        if sentence:
            checked = checked.replace(sentence, " ")

    practice = templates.practice
    for own in (practice.name, practice.phone):
        checked = checked.replace(normalize(own), " ")
    return checked

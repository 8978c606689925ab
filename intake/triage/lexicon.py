"""Triage vocabulary: the YAML lists under config/triage/, compiled once.

The lists are data a clinician can review (see the comments in each file);
this module only turns them into regular expressions. A pattern matches
whole words of the normalised text (see ``intake.triage.text.normalize``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from intake.config import ConfigError, load_yaml

_TRIAGE_DIR = "triage"


def _words(pattern: str) -> str:
    return rf"(?<![\w])(?:{pattern})(?![\w])"


def compile_list(
    patterns: list[str],
    source: str,
    subs: dict[str, str] | None = None,
    whole_words: bool = True,
) -> re.Pattern[str]:
    """One regex matching any of ``patterns`` (as whole words by default)."""
    parts = []
    for raw in patterns:
        text = str(raw)
        for key, value in (subs or {}).items():
            text = text.replace("{" + key + "}", value)
        try:
            re.compile(text)
        except re.error as exc:
            raise ConfigError(
                f"config/{_TRIAGE_DIR}/{source}: pattern {raw!r} is not a valid "
                f"regular expression ({exc})"
            ) from None
        parts.append(f"(?:{text})")
    if not parts:
        return re.compile(r"(?!x)x")  # matches nothing
    joined = "|".join(parts)
    return re.compile(_words(joined) if whole_words else joined)


@dataclass(frozen=True)
class Group:
    """A named list of phrases with the label staff see as the reason."""

    name: str
    label: str
    regex: re.Pattern[str]


def compile_groups(data: dict[str, Any], source: str) -> tuple[Group, ...]:
    groups = []
    for name, body in (data or {}).items():
        groups.append(
            Group(
                name=name,
                label=str(body.get("label", name)),
                regex=compile_list(body.get("patterns", []), source),
            )
        )
    return tuple(groups)


@dataclass(frozen=True)
class TypeCues:
    ask: re.Pattern[str]
    cue: re.Pattern[str]
    reason: re.Pattern[str]


@dataclass
class Lexicon:
    """Every compiled list triage uses, read from config/triage/*.yaml."""

    context: dict[str, re.Pattern[str]] = field(default_factory=dict)
    negation_max_words: int = 6
    emergency: tuple[Group, ...] = ()
    urgent: tuple[Group, ...] = ()
    safety: tuple[Group, ...] = ()
    symptoms: dict[str, re.Pattern[str]] = field(default_factory=dict)
    medicines: dict[str, re.Pattern[str]] = field(default_factory=dict)
    essential: tuple[Group, ...] = ()
    days_left: dict[str, Any] = field(default_factory=dict)
    types: dict[str, TypeCues] = field(default_factory=dict)
    status: dict[str, re.Pattern[str]] = field(default_factory=dict)
    details: dict[str, re.Pattern[str]] = field(default_factory=dict)
    details_raw: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)
    manager: dict[str, re.Pattern[str]] = field(default_factory=dict)


def _load(name: str) -> dict[str, Any]:
    data = load_yaml(f"{_TRIAGE_DIR}/{name}")
    if not isinstance(data, dict):
        raise ConfigError(f"config/{_TRIAGE_DIR}/{name} must hold a mapping")
    return data


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The compiled vocabulary (cached; ``lexicon.cache_clear()`` reloads)."""
    lex = Lexicon()

    ctx = _load("context.yaml")
    neg = ctx.get("negation_before", {})
    lex.negation_max_words = int(neg.get("max_words", 6))
    lex.context["negation_before"] = compile_list(neg.get("patterns", []), "context")
    for key in (
        "pseudo_negation", "negation_after", "historical", "resolved", "present",
        "hypothetical", "hypothetical_exceptions", "unrelated_person",
        "figurative", "injection",
    ):
        lex.context[key] = compile_list(ctx.get(key, []), "context.yaml")

    lex.emergency = compile_groups(_load("emergency.yaml")["groups"], "emergency.yaml")
    lex.urgent = compile_groups(_load("urgent.yaml")["groups"], "urgent.yaml")
    lex.safety = compile_groups(_load("safety.yaml")["groups"], "safety.yaml")

    sym = _load("symptoms.yaml")
    for key in ("strong", "weak", "chronic_stable", "infant_age", "infant_fever",
                "not_symptom"):
        lex.symptoms[key] = compile_list(sym.get(key, []), "symptoms.yaml")

    med = _load("medicines.yaml")
    lex.essential = tuple(
        Group(name=name, label=f"essential medicine ({name.replace('_', ' ')})",
              regex=compile_list(items, "medicines.yaml"))
        for name, items in med.get("essential", {}).items()
    )
    for key in ("out_of_medicine", "medicine_words"):
        lex.medicines[key] = compile_list(med.get(key, []), "medicines.yaml")
    lex.days_left = dict(med.get("days_left", {}))

    types = _load("request_types.yaml")
    for name, body in types.items():
        lex.types[name] = TypeCues(
            ask=compile_list(body.get("ask", []), "request_types.yaml"),
            cue=compile_list(body.get("cue", []), "request_types.yaml"),
            reason=compile_list(body.get("reason", []), "request_types.yaml"),
        )

    status = _load("patient_status.yaml")
    rel = "|".join(str(r) for r in status.get("relations", []))
    rel_es = "|".join(str(r) for r in status.get("relations_es", []))
    subs = {"rel": f"(?:{rel})", "rel_es": f"(?:{rel_es})"}
    care = status.get("caregiver", {})
    for key in ("strong", "medium", "subject"):
        lex.status[f"caregiver_{key}"] = compile_list(
            care.get(key, []), "patient_status.yaml", subs)
    for key in ("caregiver_exclusions", "self_patient", "referring_provider",
                "professional", "new", "new_exclusions", "existing"):
        lex.status[key] = compile_list(
            status.get(key, []), "patient_status.yaml", subs)

    details = _load("details.yaml")
    lex.details_raw = details
    for key in ("dob_labels", "event_date_cues", "payers", "self_pay",
                "insurance_mentions", "location_generic", "provider_preference",
                "visit_reasons", "change_existing"):
        lex.details[key] = compile_list(details.get(key, []), "details.yaml")
    for key in ("insurance_card_files", "ignored_files"):
        # File names: parts of names, not whole words ("card_front.jpg").
        lex.details[key] = compile_list(
            details.get(key, []), "details.yaml", whole_words=False)

    lex.timing = _load("timing.yaml")
    manager = _load("manager_topics.yaml")
    for key in ("complaint", "privacy", "legal_claim", "legal_party"):
        lex.manager[key] = compile_list(manager.get(key, []), "manager_topics.yaml")
    return lex

"""Draft step: locked administrative templates, their versions and slot rendering.

A template is a reviewed YAML file under ``config/templates/`` with the same
text in every supported language. Its slots have kinds from a closed set, and
no kind accepts free text: what a request says can never reach a draft. Each
language of a template has a version (a content hash) that ``versions.lock``
pins; a template that no longer matches its approved version is refused.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from intake.drafting.errors import (
    DraftingError,
    GuardrailError,
    SlotError,
    TemplateError,
    TemplateLockError,
)
from intake.models import Draft, MissingDetail

LANGUAGES: tuple[str, ...] = ("en", "es")
LOCK_FILE = "versions.lock"

# Slot kinds filled from config/practice.yaml; callers cannot set them.
CONFIG_KINDS: frozenset[str] = frozenset(
    {"practice_name", "practice_phone", "emergency_number", "crisis_line"}
)
# Slot kinds a caller fills; each validates against a closed vocabulary.
REQUEST_KINDS: frozenset[str] = frozenset(
    {"date", "time_window", "location", "provider", "missing_items"}
)
SLOT_KINDS = CONFIG_KINDS | REQUEST_KINDS

# Topics that make staff approval mandatory before a draft is sent.
APPROVAL_TOPICS: frozenset[str] = frozenset(
    {"health", "billing", "records", "exceptions"}
)
TOPICS = APPROVAL_TOPICS | {"scheduling", "emergency_policy"}

OUTBOUND_CHANNELS: frozenset[str] = frozenset(
    {"web_form", "phone", "portal", "email", "chat", "referral", "sms"}
)

MAX_TEXT_CHARS = 2000
MAX_SLOT_CHARS = 100
_URL = re.compile(r"(?i)://|\bwww\.|\b(?:https?|ftp|mailto|file|data|javascript):")
_TIME_WINDOW = re.compile(
    r"^\s*(\d{1,2}:\d{2})\s*[-\u2013\u2014]\s*(\d{1,2}:\d{2})\s*$"
)
_SAFE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

_MONTHS = {
    "en": (
        "January February March April May June July August September October "
        "November December"
    ).split(),
    "es": (
        "enero febrero marzo abril mayo junio julio agosto septiembre octubre "
        "noviembre diciembre"
    ).split(),
}
_WEEKDAYS = {
    "en": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split(),
    "es": "lunes martes miércoles jueves viernes sábado domingo".split(),
}
_NAMED_WINDOWS = {
    "morning": {"en": "in the morning", "es": "por la mañana"},
    "afternoon": {"en": "in the afternoon", "es": "por la tarde"},
    "evening": {"en": "in the evening", "es": "por la noche"},
}
_LAST_JOIN = {"en": " or ", "es": " o "}


# --------------------------------------------------------------------------
# The practice: names a draft may use


@dataclass(frozen=True)
class Place:
    """A location or provider of the practice, with the spellings that name it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()

    def names(self) -> set[str]:
        return {_fold(n) for n in (self.id, self.name, *self.aliases)}


@dataclass(frozen=True)
class Practice:
    """What ``config/practice.yaml`` says that drafts may name."""

    name: str
    phone: str
    emergency_number: str
    crisis_line: str
    locations: tuple[Place, ...]
    providers: tuple[Place, ...]

    @classmethod
    def from_config(cls, data: Mapping[str, Any]) -> Practice:
        try:
            values = {
                key: _config_text(data[key])
                for key in ("practice_name", "phone", "emergency_number", "crisis_line")
            }
            locations = tuple(_place(item) for item in data["locations"])
            providers = tuple(_place(item) for item in data["providers"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TemplateError(
                "config/practice.yaml needs practice_name, phone, emergency_number, "
                "crisis_line and lists of locations and providers with id and name "
                f"({type(exc).__name__})"
            ) from None
        if not locations or not providers:
            raise TemplateError("config/practice.yaml lists no locations or providers")
        return cls(
            name=values["practice_name"],
            phone=values["phone"],
            emergency_number=values["emergency_number"],
            crisis_line=values["crisis_line"],
            locations=locations,
            providers=providers,
        )

    def config_value(self, kind: str) -> str:
        return {
            "practice_name": self.name,
            "practice_phone": self.phone,
            "emergency_number": self.emergency_number,
            "crisis_line": self.crisis_line,
        }[kind]


def _config_text(value: Any) -> str:
    text = str(value).strip()
    if not text or len(text) > MAX_SLOT_CHARS or _has_control(text):
        raise ValueError("not a short single-line value")
    return text


def _place(item: Mapping[str, Any]) -> Place:
    aliases = tuple(str(a) for a in item.get("aliases") or ())
    return Place(id=str(item["id"]), name=_config_text(item["name"]), aliases=aliases)


# --------------------------------------------------------------------------
# Templates


class _TemplateFile(BaseModel):
    """The shape of one template file (unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    topics: list[str]
    asks_questions: bool
    requires_approval: bool
    slots: dict[str, str]
    text: dict[str, str]
    vocabulary: dict[str, dict[str, dict[str, str]]] = {}


@dataclass(frozen=True)
class Template:
    """One locked template: its text per language, slot kinds and versions."""

    id: str
    topics: tuple[str, ...]
    asks_questions: bool
    requires_approval: bool
    slots: Mapping[str, str]
    text: Mapping[str, str]
    vocabulary: Mapping[str, Mapping[str, Mapping[str, str]]]
    versions: Mapping[str, str] = field(default_factory=dict)

    @property
    def request_slots(self) -> dict[str, str]:
        """The slots a caller must fill (name -> kind)."""
        return {n: k for n, k in self.slots.items() if k in REQUEST_KINDS}

    def canonical(self, language: str) -> str:
        """The text the version hashes: id, language, text, slots and vocabulary."""
        vocabulary = {
            kind: dict(sorted(self.vocabulary[kind][language].items()))
            for kind in sorted(self.vocabulary)
        }
        return json.dumps(
            {
                "id": self.id,
                "language": language,
                "text": self.text[language],
                "slots": dict(sorted(self.slots.items())),
                "vocabulary": vocabulary,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )


def template_version(template: Template, language: str) -> str:
    """First 12 hex digits of the SHA-256 of the template's canonical text."""
    digest = hashlib.sha256(template.canonical(language).encode("utf-8"))
    return digest.hexdigest()[:12]


def approval_required(topics: Iterable[str], asks_questions: bool) -> bool:
    """The rule: health, billing, records, exceptions or a question need approval."""
    return asks_questions or bool(APPROVAL_TOPICS.intersection(topics))


def parse_template(data: Any, *, source: str) -> Template:
    """Validate one template file's content; ``source`` names it in errors."""
    try:
        raw = _TemplateFile.model_validate(data)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})
        raise TemplateError(
            f"template {source} is malformed at: {', '.join(fields)}"
        ) from None

    def fail(problem: str) -> TemplateError:
        return TemplateError(f"template {source}: {problem}")

    if not _SAFE_NAME.match(raw.id):
        raise fail("id must be lower_snake_case")
    unknown_topics = set(raw.topics) - TOPICS
    if unknown_topics:
        raise fail(f"unknown topics {sorted(unknown_topics)}; allowed {sorted(TOPICS)}")
    for name, kind in raw.slots.items():
        if not _SAFE_NAME.match(name):
            raise fail(f"slot name {name!r} must be lower_snake_case")
        if kind not in SLOT_KINDS:
            raise fail(
                f"slot {name} has kind {kind!r}; allowed kinds are "
                f"{sorted(SLOT_KINDS)} (there is no free-text kind)"
            )
    if approval_required(raw.topics, raw.asks_questions) and not raw.requires_approval:
        raise fail(
            "requires_approval is false, but its topics or questions need approval"
        )
    if set(raw.text) != set(LANGUAGES):
        raise fail(f"text needs exactly the languages {list(LANGUAGES)}")

    for language, text in raw.text.items():
        used = _placeholders(text, fail)
        if used != set(raw.slots):
            raise fail(
                f"text ({language}) uses slots {sorted(used)} but declares "
                f"{sorted(raw.slots)}"
            )
        if not text.strip() or len(text) > MAX_TEXT_CHARS:
            raise fail(f"text ({language}) is empty or longer than {MAX_TEXT_CHARS}")

    kinds_used = set(raw.slots.values())
    for kind, by_language in raw.vocabulary.items():
        if kind != "missing_items" or kind not in kinds_used:
            raise fail(f"vocabulary {kind!r} belongs to no missing_items slot")
        if set(by_language) != set(LANGUAGES):
            raise fail(f"vocabulary {kind} needs the languages {list(LANGUAGES)}")
        expected = {m.value for m in MissingDetail}
        for language, phrases in by_language.items():
            if set(phrases) != expected:
                raise fail(
                    f"vocabulary {kind} ({language}) must give a phrase for each of "
                    f"{sorted(expected)}"
                )
            for phrase in phrases.values():
                if _placeholders(phrase, fail) - {"locations"}:
                    raise fail(f"vocabulary {kind} may only use {{locations}}")
    if "missing_items" in kinds_used and "missing_items" not in raw.vocabulary:
        raise fail("a missing_items slot needs a missing_items vocabulary")

    template = Template(
        id=raw.id,
        topics=tuple(raw.topics),
        asks_questions=raw.asks_questions,
        requires_approval=raw.requires_approval,
        slots=dict(raw.slots),
        text={lang: raw.text[lang].strip() for lang in LANGUAGES},
        vocabulary={
            kind: {lang: dict(p) for lang, p in v.items()}
            for kind, v in raw.vocabulary.items()
        },
    )
    versions = {lang: template_version(template, lang) for lang in LANGUAGES}
    return replace(template, versions=versions)


def _placeholders(text: str, fail: Any) -> set[str]:
    """Names of ``{slot}`` fields; refuses braces, format specs and attributes."""
    names: set[str] = set()
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        raise fail("unbalanced braces in text") from None
    for literal, name, spec, conversion in parsed:
        if "{" in literal or "}" in literal:
            raise fail("literal braces are not allowed in text")
        if name is None:
            continue
        if not _SAFE_NAME.match(name) or spec or conversion:
            raise fail("placeholders must be plain {slot_name}")
        names.add(name)
    return names


# --------------------------------------------------------------------------
# The set of templates a practice uses


class TemplateSet:
    """The loaded templates of one folder, with the practice they name."""

    def __init__(self, templates: Mapping[str, Template], practice: Practice):
        self.templates = dict(templates)
        self.practice = practice

    def __contains__(self, template_id: object) -> bool:
        return template_id in self.templates

    def get(self, template_id: str) -> Template:
        try:
            return self.templates[template_id]
        except KeyError:
            raise DraftingError(
                f"no template {_safe(template_id)}; known: {sorted(self.templates)}"
            ) from None

    def versions(self) -> dict[str, dict[str, str]]:
        """Every template's version per language (the content of versions.lock)."""
        return {
            tid: dict(self.templates[tid].versions) for tid in sorted(self.templates)
        }

    def render(
        self,
        template_id: str,
        slots: Mapping[str, Any] | None = None,
        language: str = "en",
        *,
        channel: str = "portal",
    ) -> Draft:
        """Fill a template's slots after validating each value; a checked Draft."""
        template = self.get(template_id)
        if language not in LANGUAGES:
            raise DraftingError(f"language must be one of {list(LANGUAGES)}")
        if channel not in OUTBOUND_CHANNELS:
            raise DraftingError(f"channel must be one of {sorted(OUTBOUND_CHANNELS)}")

        given = dict(slots or {})
        wanted = template.request_slots
        unexpected = set(given) - set(wanted)
        if unexpected:
            from_config = sorted(n for n in unexpected if n in template.slots)
            if from_config:
                raise SlotError(
                    f"template {template.id}: slots {from_config} are filled from "
                    "config/practice.yaml, not by the caller"
                )
            names = sorted(_safe(n) for n in unexpected)
            raise SlotError(f"template {template.id} takes no slots {names}")
        absent = sorted(set(wanted) - set(given))
        if absent:
            raise SlotError(f"template {template.id} needs slots {absent}")

        values = {
            name: self.practice.config_value(kind)
            for name, kind in template.slots.items()
            if kind in CONFIG_KINDS
        }
        for name, kind in wanted.items():
            values[name] = self._render_slot(
                template, name, kind, given[name], language
            )
        text = template.text[language].format_map(values)

        # Every rendered draft is checked here, not only in compose, so a caller
        # that renders directly cannot send wording the guardrail refuses.
        from intake.drafting.guardrail import check_outbound

        verdict = check_outbound(text, templates=self)
        if not verdict.ok:
            raise GuardrailError(
                f"template {template.id} ({language}) rendered wording the outbound "
                f"guardrail refuses: {verdict.violations}; fix the template"
            )
        return Draft(
            template_id=template.id,
            template_version=template.versions[language],
            text=text,
            channel=channel,
            requires_approval=template.requires_approval,
            topics=list(template.topics),
        )

    def preview(self, template_id: str, language: str) -> str:
        """The text with practice values filled and caller slots left as {name}."""
        template = self.get(template_id)
        values = {
            name: self.practice.config_value(kind)
            if kind in CONFIG_KINDS
            else "{" + name + "}"
            for name, kind in template.slots.items()
        }
        return template.text[language].format_map(values)

    def fixed_text(self, template_id: str, language: str) -> str:
        """The text of a template without caller slots (e.g. emergency_policy)."""
        template = self.get(template_id)
        if template.request_slots:
            raise DraftingError(
                f"template {template.id} has caller slots, so it has no fixed text"
            )
        values = {n: self.practice.config_value(k) for n, k in template.slots.items()}
        return template.text[language].format_map(values)

    # -- slot kinds ----------------------------------------------------------

    def _render_slot(
        self, template: Template, name: str, kind: str, value: Any, language: str
    ) -> str:
        def refuse(problem: str) -> SlotError:
            return SlotError(f"template {template.id}, slot {name} ({kind}): {problem}")

        if isinstance(value, str):
            if len(value) > MAX_SLOT_CHARS:
                raise refuse(f"longer than {MAX_SLOT_CHARS} characters")
            if _has_control(value):
                raise refuse("contains line breaks or control characters")
            if "<" in value or ">" in value:
                raise refuse("contains markup")
            if _URL.search(value):
                raise refuse("contains a link")

        if kind == "date":
            return _render_date(_parse_date(value, refuse), language)
        if kind == "time_window":
            return _render_time_window(value, language, refuse)
        if kind == "location":
            return _match_place(value, self.practice.locations, refuse).name
        if kind == "provider":
            return _match_place(value, self.practice.providers, refuse).name
        if kind == "missing_items":
            phrases = template.vocabulary["missing_items"][language]
            return self._render_missing(value, phrases, language, refuse)
        raise refuse("is not a caller slot")  # pragma: no cover - kinds are closed

    def _render_missing(
        self, value: Any, phrases: Mapping[str, str], language: str, refuse: Any
    ) -> str:
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise refuse("must be a list of missing details")
        items: list[MissingDetail] = []
        for item in value:
            try:
                items.append(MissingDetail(item))
            except ValueError:
                raise refuse(
                    f"items must be among {[m.value for m in MissingDetail]}"
                ) from None
        if not items:
            raise refuse("needs at least one missing detail")
        ordered = [m for m in MissingDetail if m in set(items)]
        locations = _join([p.name for p in self.practice.locations], language)
        lines = [
            "- " + phrases[m.value].replace("{locations}", locations) for m in ordered
        ]
        return "\n".join(lines)


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch) in {"Cc", "Cf"} for ch in value)


def _safe(name: object) -> str:
    """A caller-given name, shown only when it cannot be patient data."""
    return str(name) if isinstance(name, str) and _SAFE_NAME.match(name) else "<name>"


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("-", " ").replace("_", " ").split())


def _join(names: list[str], language: str) -> str:
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + _LAST_JOIN[language] + names[-1]


def _match_place(value: Any, places: tuple[Place, ...], refuse: Any) -> Place:
    if isinstance(value, str):
        wanted = _fold(value)
        for place in places:
            if wanted in place.names():
                return place
    raise refuse(f"must be one of {[p.id for p in places]} (config/practice.yaml)")


def _parse_date(value: Any, refuse: Any) -> date:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            raise refuse("must be a date written YYYY-MM-DD") from None
    if not isinstance(value, date):
        raise refuse("must be a date")
    if not 2000 <= value.year <= 2100:
        raise refuse("must be between the years 2000 and 2100")
    return value


def _render_date(day: date, language: str) -> str:
    weekday = _WEEKDAYS[language][day.weekday()]
    month = _MONTHS[language][day.month - 1]
    if language == "es":
        return f"{weekday} {day.day} de {month} de {day.year}"
    return f"{weekday}, {month} {day.day}, {day.year}"


def _parse_time(value: Any, refuse: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip().rjust(5, "0"))
        except ValueError:
            pass
    raise refuse("times must be written HH:MM")


def _render_time_window(value: Any, language: str, refuse: Any) -> str:
    if isinstance(value, str) and value.strip().casefold() in _NAMED_WINDOWS:
        return _NAMED_WINDOWS[value.strip().casefold()][language]
    if isinstance(value, str):
        match = _TIME_WINDOW.match(value)
        if not match:
            raise refuse("must be HH:MM-HH:MM or one of morning, afternoon, evening")
        value = match.groups()
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise refuse("must be HH:MM-HH:MM or a (start, end) pair")
    start, end = (_parse_time(v, refuse) for v in value)
    if start >= end:
        raise refuse("must start before it ends")
    if language == "es":
        return f"entre {_clock_es(start)} y {_clock_es(end)}"
    return f"between {_clock_en(start)} and {_clock_en(end)}"


def _clock_en(moment: time) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def _clock_es(moment: time) -> str:
    hour = moment.hour % 12 or 12
    article = "la" if hour == 1 else "las"
    suffix = "a. m." if moment.hour < 12 else "p. m."
    return f"{article} {hour}:{moment.minute:02d} {suffix}"


# --------------------------------------------------------------------------
# Loading and the lock


def templates_dir() -> Path:
    from intake.config import config_path

    return config_path("templates")


def load_templates(
    directory: Path | None = None,
    *,
    practice: Mapping[str, Any] | None = None,
    verify_lock: bool = True,
) -> TemplateSet:
    """Load and validate every ``*.yaml`` template of ``directory``.

    ``practice`` defaults to ``config/practice.yaml``. With ``verify_lock``
    every template must match the versions in ``versions.lock``.
    """
    from intake import config

    folder = directory or templates_dir()
    if practice is None:
        practice = config.practice()
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise TemplateError(f"no templates found in {folder}")

    templates: dict[str, Template] = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            raise TemplateError(f"template {path.name} is not valid YAML") from None
        template = parse_template(data, source=path.name)
        if template.id != path.stem:
            raise TemplateError(f"template {path.name} must have id {path.stem}")
        templates[template.id] = template

    loaded = TemplateSet(templates, Practice.from_config(practice))
    if verify_lock:
        _verify_lock(loaded, folder / LOCK_FILE)
    return loaded


def read_lock(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise TemplateLockError(
            f"{path} is missing; review the templates and run "
            "`python -m intake.drafting lock`"
        ) from None
    except yaml.YAMLError:
        raise TemplateLockError(f"{path} is not valid YAML") from None
    if not isinstance(data, dict):
        raise TemplateLockError(f"{path} must map template ids to versions")
    return {str(k): dict(v or {}) for k, v in data.items()}


def _verify_lock(loaded: TemplateSet, path: Path) -> None:
    locked = read_lock(path)
    current = loaded.versions()
    changed = sorted(
        tid for tid in set(locked) | set(current) if locked.get(tid) != current.get(tid)
    )
    if changed:
        raise TemplateLockError(
            f"templates {changed} do not match their approved versions in {path.name}; "
            "have the change reviewed, then run `python -m intake.drafting lock`"
        )


def write_lock(directory: Path | None = None) -> dict[str, dict[str, str]]:
    """Record the current template versions as approved (after review)."""
    folder = directory or templates_dir()
    loaded = load_templates(folder, verify_lock=False)
    versions = loaded.versions()
    header = (
        "# Approved template versions (first 12 hex of SHA-256 of each language's\n"
        "# id, text, slots and vocabulary). Written by `python -m intake.drafting\n"
        "# lock` after a reviewed change; drafting refuses templates not listed.\n"
    )
    body = yaml.safe_dump(versions, sort_keys=True, allow_unicode=True)
    (folder / LOCK_FILE).write_text(header + body, encoding="utf-8")
    return versions


@lru_cache(maxsize=1)
def default_templates() -> TemplateSet:
    """The practice's templates from ``config/templates`` (cached, lock verified)."""
    return load_templates()


def render(
    template_id: str,
    slots: Mapping[str, Any] | None = None,
    language: str = "en",
    *,
    channel: str = "portal",
) -> Draft:
    """Render one of the practice's templates; see ``TemplateSet.render``."""
    return default_templates().render(template_id, slots, language, channel=channel)

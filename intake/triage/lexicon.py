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

import yaml

from intake.config import ConfigError, config_path

_TRIAGE_DIR = "triage"


def _words(pattern: str) -> str:
    return rf"(?<![\w])(?:{pattern})(?![\w])"


# -- speed: a first-word index --------------------------------------------------
#
# Python's re tries every alternative of a long alternation at every word
# start, which made triage too slow. Most patterns begin with a literal word,
# so every list is split into patterns with a known first word ("fast") and
# the rest ("slow", matched as one regex as before). A request's words are
# looked up once in an index of first words; a fast pattern is only tried
# where one of its first words occurs. The matches are the same.

_LITERAL = re.compile(r"(?:\\[^\w\s]|[\w' -])+")
_DIGIT = "#digit"
_TOKEN = re.compile(r"[\w']+")


def _group_end(p: str, i: int) -> int:
    """Index of the ')' closing the '(' at p[i] (-1 when unbalanced)."""
    depth, j, in_class = 0, i, False
    while j < len(p):
        c = p[j]
        if c == "\\":
            j += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def _split_alternatives(inner: str) -> list[str]:
    parts, depth, start, j, in_class = [], 0, 0, 0, False
    while j < len(inner):
        c = inner[j]
        if c == "\\":
            j += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(inner[start:j])
            start = j + 1
        j += 1
    parts.append(inner[start:])
    return parts


def _prefixes(p: str, depth: int = 0) -> set[str] | None:
    """Literal strings one of which every match of ``p`` starts with, or None."""
    if depth > 8:
        return None
    while p.startswith(("(?<!", "(?<=", "(?!", "(?=")):
        end = _group_end(p, 0)
        if end < 0:
            return None
        p = p[end + 1 :]
    if not p:
        return None
    if p.startswith("\\d"):
        return {_DIGIT}
    if p[0] == "(":
        end = _group_end(p, 0)
        if end < 0:
            return None
        inner = p[1:end]
        if inner.startswith("?:"):
            inner = inner[2:]
        elif inner.startswith("?"):
            return None
        rest = p[end + 1 :]
        optional = rest[:1] in ("?", "*") or rest.startswith(("{0,", "{0}"))
        if optional:
            rest = rest[1:] if rest[:1] in "?*" else rest[rest.index("}") + 1 :]
        found: set[str] = set()
        for alt in _split_alternatives(inner):
            sub = _prefixes(alt if alt else rest, depth + 1)
            if sub is None:
                return None
            found |= sub
        if optional:
            sub = _prefixes(rest, depth + 1)
            if sub is None:
                return None
            found |= sub
        return found
    m = _LITERAL.match(p)
    if not m:
        return None
    run = m.group()
    following = p[m.end() :]
    if following[:1] in ("?", "*") or following.startswith("{0"):
        run = run[:-2] if run[-2:-1] == "\\" else run[:-1]
    literal = re.sub(r"\\(.)", r"\1", run)
    first = _TOKEN.match(literal)
    if not first:
        return None
    return {literal}


class _Index:
    """First words (and first-word prefixes) of every fast pattern."""

    def __init__(self) -> None:
        self.exact: dict[str, set[int]] = {}
        self.partial: dict[str, set[int]] = {}
        self.lengths: set[int] = set()
        self.digit: set[int] = set()
        self.version = 0

    def add(self, matcher_id: int, literal: str) -> None:
        self.version += 1
        if literal == _DIGIT:
            self.digit.add(matcher_id)
            return
        first = _TOKEN.match(literal)
        assert first is not None
        word = first.group()
        if first.end() < len(literal):
            # The first word is complete: a request word must equal it.
            self.exact.setdefault(word, set()).add(matcher_id)
        else:
            self.partial.setdefault(word, set()).add(matcher_id)
            self.lengths.add(len(word))

    def candidates(self, text: str) -> dict[int, list[int]]:
        """Per matcher, the positions of words where a fast pattern may start."""
        return _candidates(self, text, self.version)

    def _compute(self, text: str) -> dict[int, list[int]]:
        out: dict[int, list[int]] = {}
        lengths = sorted(self.lengths)
        for m in _TOKEN.finditer(text):
            word, pos = m.group(), m.start()
            ids: set[int] = set()
            found = self.exact.get(word)
            if found:
                ids |= found
            for n in lengths:
                if n > len(word):
                    break
                found = self.partial.get(word[:n])
                if found:
                    ids |= found
            if word[0].isdigit():
                ids |= self.digit
            for i in ids:
                out.setdefault(i, []).append(pos)
        return out


@lru_cache(maxsize=1024)
def _candidates(index: _Index, text: str, version: int) -> dict[int, list[int]]:
    return index._compute(text)


INDEX = _Index()


class Matcher:
    """A compiled phrase list with the same finditer/search as a regex."""

    _next_id = 0

    def __init__(self, parts: list[str], whole_words: bool):
        self.id = Matcher._next_id
        Matcher._next_id += 1
        self.pattern = "|".join(parts)
        fast, slow = [], []
        prefixes: set[str] = set()
        for part in parts:
            found = _prefixes(part[3:-1]) if whole_words else None  # strip (?: )
            if found:
                fast.append(part)
                prefixes |= found
            else:
                slow.append(part)
        if not whole_words:
            self._slow = re.compile("|".join(slow)) if slow else None
        else:
            self._slow = re.compile(_words("|".join(slow))) if slow else None
        self._fast = re.compile(_words("|".join(fast))) if fast else None
        for literal in prefixes:
            INDEX.add(self.id, literal)

    def finditer(
        self, text: str, candidates: dict[int, list[int]] | None = None
    ) -> list[re.Match[str]]:
        """Matches left to right, not overlapping (like ``re.finditer``).

        ``candidates``: the request's first-word index (``INDEX.candidates``),
        computed once per text by the caller; computed here when absent.
        """
        found: list[re.Match[str]] = []
        if self._fast is not None:
            if candidates is None:
                candidates = INDEX.candidates(text)
            last = -1
            for pos in candidates.get(self.id, ()):
                if pos < last:
                    continue
                m = self._fast.match(text, pos)
                if m and m.end() > m.start():
                    found.append(m)
                    last = m.end()
        if self._slow is not None:
            slow = [m for m in self._slow.finditer(text) if m.end() > m.start()]
            if found:
                merged = sorted(found + slow, key=lambda m: (m.start(), -m.end()))
                found, last = [], -1
                for m in merged:
                    if m.start() >= last:
                        found.append(m)
                        last = m.end()
            else:
                found = slow
        return found

    def search(self, text: str) -> re.Match[str] | None:
        found = self.finditer(text)
        return found[0] if found else None


def compile_list(
    patterns: list[str],
    source: str,
    subs: dict[str, str] | None = None,
    whole_words: bool = True,
) -> Matcher:
    """One regex matching any of ``patterns`` (as whole words by default)."""
    parts = []
    for raw in patterns:
        text = str(raw)
        for key, value in (subs or {}).items():
            text = text.replace("{" + key + "}", value)
        parts.append(f"(?:{text})")
    try:
        return Matcher(parts, whole_words)
    except re.error:
        pass
    # Name the faulty pattern (compiling each one only when the list fails).
    for raw, part in zip(patterns, parts, strict=True):
        try:
            re.compile(part)
        except re.error as exc:
            raise ConfigError(
                f"config/{_TRIAGE_DIR}/{source}: pattern {raw!r} is not a valid "
                f"regular expression ({exc})"
            ) from None
    raise ConfigError(f"config/{_TRIAGE_DIR}/{source}: a pattern list does not compile")


@dataclass(frozen=True)
class Group:
    """A named list of phrases with the label staff see as the reason."""

    name: str
    label: str
    regex: Matcher
    ignore_in_instructions: bool = False


def compile_groups(data: dict[str, Any], source: str) -> tuple[Group, ...]:
    groups = []
    for name, body in (data or {}).items():
        groups.append(
            Group(
                name=name,
                label=str(body.get("label", name)),
                regex=compile_list(body.get("patterns", []), source),
                ignore_in_instructions=bool(body.get("ignore_in_instructions", False)),
            )
        )
    return tuple(groups)


@dataclass(frozen=True)
class TypeCues:
    ask: Matcher
    cue: Matcher
    reason: Matcher


@dataclass
class Lexicon:
    """Every compiled list triage uses, read from config/triage/*.yaml."""

    context: dict[str, Matcher] = field(default_factory=dict)
    negation_max_words: int = 6
    emergency: tuple[Group, ...] = ()
    urgent: tuple[Group, ...] = ()
    safety: tuple[Group, ...] = ()
    symptoms: dict[str, Matcher] = field(default_factory=dict)
    medicines: dict[str, Matcher] = field(default_factory=dict)
    essential: tuple[Group, ...] = ()
    days_left: dict[str, Any] = field(default_factory=dict)
    types: dict[str, TypeCues] = field(default_factory=dict)
    status: dict[str, Matcher] = field(default_factory=dict)
    details: dict[str, Matcher] = field(default_factory=dict)
    details_raw: dict[str, Any] = field(default_factory=dict)
    timing: dict[str, Any] = field(default_factory=dict)
    timing_cues: dict[str, Matcher] = field(default_factory=dict)
    manager: dict[str, Matcher] = field(default_factory=dict)


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader is 100x faster


@lru_cache(maxsize=1)
def misspellings() -> dict[str, str]:
    """Common misspellings and their words (context.yaml ``misspellings``).

    Read once per process: text normalisation is cached too, so a changed
    list needs a restart (``lexicon.cache_clear()`` does not reload it).
    """
    data = _load("context.yaml").get("misspellings") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config/{_TRIAGE_DIR}/context.yaml: misspellings must map")
    return {str(k).lower(): str(v).lower() for k, v in data.items()}


def _load(name: str) -> dict[str, Any]:
    path = config_path(f"{_TRIAGE_DIR}/{name}")
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.load(handle, Loader=_Loader)  # noqa: S506 - a safe loader
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} is missing") from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"configuration file {path} is not valid YAML: {exc}"
        ) from None
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
        "negation_clinical",
        "pseudo_negation",
        "negation_after",
        "historical",
        "resolved",
        "present",
        "hypothetical",
        "hypothetical_exceptions",
        "stated_intent",
        "unrelated_person",
        "acquaintance",
        "patient_of_practice",
        "represented_party",
        "care_agency",
        "figurative",
        "injection",
    ):
        lex.context[key] = compile_list(ctx.get(key, []), "context.yaml")

    lex.emergency = compile_groups(_load("emergency.yaml")["groups"], "emergency.yaml")
    lex.urgent = compile_groups(_load("urgent.yaml")["groups"], "urgent.yaml")
    lex.safety = compile_groups(_load("safety.yaml")["groups"], "safety.yaml")

    sym = _load("symptoms.yaml")
    for key in (
        "strong",
        "weak",
        "chronic_stable",
        "acute",
        "infant_age",
        "infant_fever",
        "not_symptom",
        "appointment_reason_mention",
    ):
        lex.symptoms[key] = compile_list(sym.get(key, []), "symptoms.yaml")

    med = _load("medicines.yaml")
    lex.essential = tuple(
        Group(
            name=name,
            label=f"essential medicine ({name.replace('_', ' ')})",
            regex=compile_list(items, "medicines.yaml"),
        )
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
            care.get(key, []), "patient_status.yaml", subs
        )
    for key in (
        "caregiver_exclusions",
        "self_patient",
        "referring_provider",
        "professional",
        "new",
        "new_exclusions",
        "existing",
    ):
        lex.status[key] = compile_list(status.get(key, []), "patient_status.yaml", subs)

    details = _load("details.yaml")
    lex.details_raw = details
    for key in (
        "dob_labels",
        "event_date_cues",
        "payers",
        "self_pay",
        "insurance_mentions",
        "location_generic",
        "provider_preference",
        "visit_reasons",
        "change_existing",
        "insurance_document_request",
        "coverage_question",
        "insurance_non_answers",
    ):
        lex.details[key] = compile_list(details.get(key, []), "details.yaml")
    # "appointment for <reason>", unless the words after "for" are a time or
    # a person ("for next week", "for my daughter").
    not_reason = "|".join(f"(?:{p})" for p in details.get("not_reason_after_for", []))
    lex.details["reason_after_for"] = compile_list(
        [
            r"(appointment|appt|visit|cita|see (dr|dr\.|doctor|the doctor|a doctor"
            r"|someone|somebody|a nurse|the nurse)( \w+)?|be seen|seen|come in|get in"
            r"|check)"
            r" (\w+ ){0,3}?(for|about|regarding|to (discuss|check|talk about|review|get"
            r"|go over)|para|por) (?!(?:" + (not_reason or "x^") + r")(?![\w]))[a-z]\w*"
        ],
        "details.yaml",
    )
    for key in ("insurance_card_files", "ignored_files"):
        # File names: parts of names, not whole words ("card_front.jpg").
        lex.details[key] = compile_list(
            details.get(key, []), "details.yaml", whole_words=False
        )

    lex.timing = _load("timing.yaml")
    for key in ("deadline_cues", "referral_cues", "target_slot_cues", "confirm_only"):
        lex.timing_cues[key] = compile_list(lex.timing.get(key, []), "timing.yaml")
    manager = _load("manager_topics.yaml")
    for key in ("complaint", "privacy", "legal_claim", "legal_party"):
        lex.manager[key] = compile_list(manager.get(key, []), "manager_topics.yaml")
    return lex

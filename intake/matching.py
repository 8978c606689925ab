"""Patient matching: which CRM patient a captured request is about, if any.

The sync step asks ``resolve_patient`` before it writes a patient, and acts on
the outcome:

- ``link``: the request is about a patient the CRM already holds; the sync step
  reuses ``patient_key`` and creates nothing.
- ``new``: no stored patient can be this person; the sync step creates one
  (``crm.upsert_patient(probe)``) and uses the key it returns.
- ``ambiguous``: a stored patient might be this person but the evidence is not
  strong enough to decide alone; the request waits for a staff identity
  confirmation (``ReviewKind.IDENTITY``), which picks one of the candidates in
  ``evidence`` or creates a new patient.

Matching itself never writes, so a retried step cannot create a second record.
Because a request that links reuses the key, the same person seen twice (with a
nickname, transposed names, another email) keeps one record.

What links on its own is deliberately narrow, and only when no other candidate
is still plausible:

1. the same portal account (the practice's patient id);
2. the same normalised name and the same date of birth, unless every phone and
   email given on both sides differs. "Same normalised name" ignores case,
   accents, punctuation, spaces and hyphens, and accepts a nickname from
   ``config/nicknames.yaml``, first and last name swapped, and one of two
   surnames left out;
3. the same given name (or nickname), date of birth and phone or email, with
   another last name (a married name).

Staff confirm (``ambiguous``): the same name with no date of birth to confirm
it, with day and month swapped, or with a one-digit slip; the same date of
birth with a one-letter name typo or a less specific name (no first name, an
initial, one of two given names: twins can differ in just that); the same name
and phone with another date of birth (Jr. and Sr.); a name-and-DOB match whose
contact details all differ; several plausible candidates; and a request that
does not say who the patient is. Everything else is ``new``: in particular a
household member who shares a phone or email but not name and date of birth.

``MatchDecision`` holds no patient data: its evidence names fields and kinds of
agreement (``{"field": "date_of_birth", "result": "swapped_day_month"}``) and
patient keys, never values, so it may be stored, shown and logged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from email.utils import parseaddr
from enum import IntEnum, StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field

from intake.config import ConfigError, load_yaml
from intake.models import IntakeRecord, PatientRecord

if TYPE_CHECKING:
    from blocks.crm import CRMConnector

# SqlCRM.find_patients returns at most this many rows; a full page means some
# candidates may be cut off, so narrower look-ups follow (see find_candidates).
CANDIDATE_LIMIT = 200

# Evidence keeps every linking or plausible candidate, and the best-ranked
# others up to this count, so a stored decision stays small. Strangers (another
# date of birth, no shared contact) are counted but not listed.
MAX_EVIDENCE = 20


class MatchError(Exception):
    """Matching could not run (e.g. the nickname table is broken)."""


class EvidenceField(StrEnum):
    FIRST_NAME = "first_name"
    LAST_NAME = "last_name"
    NAME_ORDER = "name_order"
    DATE_OF_BIRTH = "date_of_birth"
    PHONE = "phone"
    EMAIL = "email"
    PORTAL_ACCOUNT = "portal_account"


class Agreement(StrEnum):
    """How one field of the request compares with one stored patient."""

    SAME = "same"
    NICKNAME = "nickname"  # given names share a nickname-table entry
    COMPOUND = "compound"  # one name is part of the other's compound name
    INITIAL = "initial"  # one side gives only the initial, and it agrees
    TYPO = "typo"  # one edit apart (a letter or digit changed, added, swapped)
    SWAPPED_DAY_MONTH = "swapped_day_month"
    AS_GIVEN = "as_given"  # name order: first and last names where written
    TRANSPOSED = "transposed"  # name order: first and last names swapped
    DIFFERENT = "different"
    MISSING = "missing"  # the request or the stored patient lacks the field


class FieldEvidence(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: EvidenceField
    result: Agreement


class MatchEvidence(BaseModel):
    """How one candidate compared; patient key and agreement kinds only."""

    model_config = ConfigDict(frozen=True)

    patient_key: str | None
    verdict: Literal["link", "review", "none"]
    score: float = Field(ge=0.0, le=1.0)
    fields: list[FieldEvidence] = Field(default_factory=list)

    def result(self, field: EvidenceField | str) -> Agreement | None:
        for item in self.fields:
            if item.field == field:
                return item.result
        return None


class MatchDecision(BaseModel):
    """Which patient a request is about: ``link``, ``new`` or ``ambiguous``.

    ``patient_key`` is set only for ``link``. ``reason`` is safe text for staff
    and logs; it names fields and counts, never values.
    """

    model_config = ConfigDict(frozen=True)

    outcome: Literal["link", "new", "ambiguous"]
    patient_key: str | None = None
    score: float = Field(default=0.0, ge=0.0, le=1.0)
    evidence: list[MatchEvidence] = Field(default_factory=list)
    reason: str = ""
    candidates_considered: int = 0

    @property
    def review_keys(self) -> list[str]:
        """Keys staff choose from in an identity confirmation, best first."""
        return [
            e.patient_key
            for e in self.evidence
            if e.verdict != "none" and e.patient_key is not None
        ]


# --------------------------------------------------------------------------
# Normalisation

# Letters that Unicode decomposition leaves alone.
_EXTRA_FOLDS = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)
_APOSTROPHES = re.compile(r"[’'`´ʼ]")
_NON_LETTERS = re.compile(r"[^a-z]+")
# Connecting words of compound surnames ("de la Cruz", "van der Berg"): they
# are dropped only when comparing the parts of two compound names.
_PARTICLES = frozenset(
    {
        "de",
        "del",
        "la",
        "las",
        "los",
        "y",
        "e",
        "da",
        "das",
        "do",
        "dos",
        "di",
        "du",
        "van",
        "von",
        "der",
        "den",
    }
)
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})


def fold(text: str) -> str:
    """Lower case without accents: ``"José Núñez"`` -> ``"jose nunez"``."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.translate(_EXTRA_FOLDS)


def name_tokens(text: str | None) -> tuple[str, ...]:
    """The words of a name, folded, apostrophes dropped, hyphens split."""
    if not text:
        return ()
    bare = _APOSTROPHES.sub("", fold(text))
    return tuple(t for t in _NON_LETTERS.split(bare) if t)


@dataclass(frozen=True, slots=True)
class NormalName:
    """One name field, normalised for comparison."""

    key: str  # all letters joined: "de la Cruz" and "DelaCruz" agree
    parts: tuple[str, ...]  # the words, without particles or suffixes
    suffix: str | None  # jr, sr, ii...: tells a father from his son


@lru_cache(maxsize=65536)
def normal_name(text: str | None) -> NormalName | None:
    tokens = list(name_tokens(text))
    suffix = None
    if len(tokens) > 1 and tokens[-1] in _SUFFIXES:
        suffix = tokens.pop()
    if not tokens:
        return None
    parts = tuple(t for t in tokens if t not in _PARTICLES) or tuple(tokens)
    return NormalName(key="".join(tokens), parts=parts, suffix=suffix)


@lru_cache(maxsize=1)
def nickname_table() -> dict[str, frozenset[str]]:
    """Folded given name -> the canonical names it may stand for."""
    try:
        data = load_yaml("nicknames.yaml")
    except ConfigError as exc:
        raise MatchError(str(exc)) from None
    if not isinstance(data, dict):
        raise MatchError("config/nicknames.yaml must map sections to entries")
    table: dict[str, set[str]] = {}
    for section in data.values():
        if not isinstance(section, dict):
            raise MatchError("each section of config/nicknames.yaml must be a map")
        for canonical, nicknames in section.items():
            if not isinstance(nicknames, list):
                raise MatchError("each nickname entry must list its nicknames")
            canon = "".join(name_tokens(str(canonical)))
            for name in [canonical, *nicknames]:
                key = "".join(name_tokens(str(name)))
                if key:
                    table.setdefault(key, set()).add(canon)
    return {key: frozenset(canons) for key, canons in table.items()}


@lru_cache(maxsize=65536)
def given_name_forms(key: str) -> frozenset[str]:
    """The canonical forms of a folded given name (itself when it has none)."""
    return nickname_table().get(key, frozenset()) | {key}


def normalize_phone(text: str | None, region: str = "US") -> str | None:
    """A phone number in E.164, or None when it is not a complete number."""
    if not text:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    # A 7-digit local number has no area code: it cannot be compared safely.
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(text: str | None) -> str | None:
    """The address lower-cased; dots and +tags are kept (they can be people)."""
    if not text:
        return None
    value = text.strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    value = parseaddr(value.strip())[1].strip().lower()
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain or any(c.isspace() for c in value):
        return None
    return value


_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan", "enero", "ene"),
            ("february", "feb", "febrero"),
            ("march", "mar", "marzo"),
            ("april", "apr", "abril", "abr"),
            ("may", "mayo"),
            ("june", "jun", "junio"),
            ("july", "jul", "julio"),
            ("august", "aug", "agosto", "ago"),
            ("september", "sep", "sept", "septiembre", "setiembre", "set"),
            ("october", "oct", "octubre"),
            ("november", "nov", "noviembre"),
            ("december", "dec", "diciembre", "dic"),
        ],
        start=1,
    )
    for name in names
}
_NUMERIC_DATE = re.compile(r"^(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})$")


def parse_date_of_birth(text: str | None, today: date | None = None) -> date | None:
    """A date of birth from common US and Spanish spellings, or None.

    Numbers read month first (US), unless the first number cannot be a month
    (``25/03/1980``). ``03/04/1980`` therefore reads as March 4; when the
    writer meant April 3, matching sees a ``swapped_day_month`` date of birth
    and asks staff instead of linking.
    """
    if not text:
        return None
    today = today or date.today()
    value = fold(text).strip().rstrip(".")
    match = _NUMERIC_DATE.match(value)
    if match:
        a, b, c = (int(g) for g in match.groups())
        if len(match.group(1)) == 4:
            year, month, day = a, b, c
        else:
            year = c if len(match.group(3)) == 4 else _century(c, today)
            month, day = (a, b) if a <= 12 else (b, a)
        return _date_or_none(year, month, day, today)
    words = [w for w in re.split(r"[\s,]+", value) if w and w != "de"]
    if len(words) == 3 and words[2].isdigit():
        named = _MONTHS.get(words[0])
        if named and words[1].isdigit():  # "March 9, 1984"
            return _date_or_none(int(words[2]), named, int(words[1]), today)
        named = _MONTHS.get(words[1])
        if named and words[0].isdigit():  # "9 de marzo de 1984"
            return _date_or_none(int(words[2]), named, int(words[0]), today)
    return None


def _century(year: int, today: date) -> int:
    full = 2000 + year
    return full if full <= today.year else 1900 + year


def _date_or_none(year: int, month: int, day: int, today: date) -> date | None:
    try:
        value = date(year, month, day)
    except ValueError:
        return None
    if value > today or value.year < 1890:
        return None
    return value


def swap_day_month(value: date) -> date | None:
    """The date with day and month exchanged, when that is another real date."""
    if value.day > 12 or value.day == value.month:
        return None
    return value.replace(month=value.day, day=value.month)


def _clean_display(text: str | None) -> str | None:
    if not text:
        return None
    value = " ".join(text.split()).strip(" ,.;:")
    return value or None


def probe_from_record(record: IntakeRecord) -> PatientRecord:
    """The patient a captured request describes, normalised for matching.

    Names keep their spelling (only spaces are tidied) so a new patient is
    stored as written; the phone is E.164 (US default), the email lower-case.
    The sender's display name is not used: a caregiver often writes for the
    patient, and their name would be taken for the patient's.
    """
    identity = record.patient
    contact = record.contact
    dob = identity.date_of_birth
    if dob is None and identity.date_of_birth_text:
        received = record.received_at.date() if record.received_at else None
        dob = parse_date_of_birth(identity.date_of_birth_text, today=received)
    phone = next(
        (p for p in map(normalize_phone, contact.phones) if p is not None), None
    )
    email = next(
        (e for e in map(normalize_email, contact.emails) if e is not None), None
    )
    portal = _clean_display(contact.portal_account or identity.patient_id)
    return PatientRecord(
        first_name=_clean_display(identity.first_name),
        last_name=_clean_display(identity.last_name),
        date_of_birth=dob,
        phone=phone,
        email=email,
        portal_account=portal,
    )


# --------------------------------------------------------------------------
# Comparing one field

_STRONG_FIRST = frozenset({Agreement.SAME, Agreement.NICKNAME})
_STRONG_LAST = frozenset({Agreement.SAME, Agreement.COMPOUND})
_PARTIAL_FIRST = frozenset({Agreement.COMPOUND, Agreement.INITIAL, Agreement.MISSING})
_DOB_NEAR = frozenset({Agreement.SWAPPED_DAY_MONTH, Agreement.TYPO, Agreement.MISSING})
# Below this length a one-letter difference is as likely another name.
_TYPO_MIN_LENGTH = 4


def one_edit_apart(a: str, b: str) -> bool:
    """True when one substitution, insertion, deletion or adjacent swap apart."""
    if a == b:
        return False
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def _is_typo(a: str, b: str) -> bool:
    return min(len(a), len(b)) >= _TYPO_MIN_LENGTH and one_edit_apart(a, b)


def compare_first(a: NormalName | None, b: NormalName | None) -> Agreement:
    if a is None or b is None:
        return Agreement.MISSING
    if a.key == b.key:
        return Agreement.SAME
    if given_name_forms(a.key) & given_name_forms(b.key):
        return Agreement.NICKNAME
    short, long_ = sorted((a.parts, b.parts), key=len)
    if (
        len(short) < len(long_)
        and given_name_forms(short[0]) & given_name_forms(long_[0])
        and short[1:] == long_[1 : len(short)]
    ):
        # "José" / "José Luis", "Pepe" / "José Antonio": one side leaves a
        # second given name out. Twins can differ in just that name.
        return Agreement.COMPOUND
    if len(a.key) == 1 or len(b.key) == 1:
        return Agreement.INITIAL if a.key[0] == b.key[0] else Agreement.DIFFERENT
    if _is_typo(a.key, b.key):
        return Agreement.TYPO
    return Agreement.DIFFERENT


def compare_last(a: NormalName | None, b: NormalName | None) -> Agreement:
    if a is None or b is None:
        return Agreement.MISSING
    if a.suffix and b.suffix and a.suffix != b.suffix:
        return Agreement.DIFFERENT  # Jr. and Sr. are two people
    if a.key == b.key:
        return Agreement.SAME
    short, long_ = sorted((set(a.parts), set(b.parts)), key=len)
    if short and short <= long_:
        # "García" / "García López", "Smith" / "Smith-Jones", "de la Cruz" /
        # "Cruz", "López García" / "García López".
        return Agreement.COMPOUND
    if _is_typo(a.key, b.key):
        return Agreement.TYPO
    return Agreement.DIFFERENT


def compare_dob(a: date | None, b: date | None) -> Agreement:
    if a is None or b is None:
        return Agreement.MISSING
    if a == b:
        return Agreement.SAME
    if swap_day_month(a) == b:
        return Agreement.SWAPPED_DAY_MONTH
    # A slip in one of year, month or day: one digit changed, or two swapped.
    differ = [
        (x, y, width)
        for x, y, width in (
            (a.year, b.year, 4),
            (a.month, b.month, 2),
            (a.day, b.day, 2),
        )
        if x != y
    ]
    if len(differ) == 1:
        x, y, width = differ[0]
        if one_edit_apart(f"{x:0{width}d}", f"{y:0{width}d}"):
            return Agreement.TYPO
    return Agreement.DIFFERENT


def _compare_equal(a: str | None, b: str | None) -> Agreement:
    if not a or not b:
        return Agreement.MISSING
    return Agreement.SAME if a == b else Agreement.DIFFERENT


class NameRank(IntEnum):
    """How well two full names agree, worst to best."""

    MISSING = 0  # the request or the stored patient gives no name
    DIFFERENT = 1
    FIRST_ONLY = 2  # same given name, another last name (e.g. married)
    LAST_ONLY = 3  # e.g. another member of the household
    TYPO = 4  # one name one edit off, the other strong
    PARTIAL = 5  # one side is less specific: no first name, an initial, one
    #              given name of two, or no last name
    STRONG = 6  # same normalised name: nicknames, either order, one of two
    #             surnames


def _name_rank(first: Agreement, last: Agreement) -> NameRank:
    if first in _STRONG_FIRST and last in _STRONG_LAST:
        return NameRank.STRONG
    if last in _STRONG_LAST and first in _PARTIAL_FIRST:
        return NameRank.PARTIAL
    if first in _STRONG_FIRST | {Agreement.COMPOUND} and last == Agreement.MISSING:
        return NameRank.PARTIAL
    if (first == Agreement.TYPO and last in _STRONG_LAST) or (
        last == Agreement.TYPO and first in _STRONG_FIRST
    ):
        return NameRank.TYPO
    if last in _STRONG_LAST:
        return NameRank.LAST_ONLY
    if first in _STRONG_FIRST:
        return NameRank.FIRST_ONLY
    if first == Agreement.MISSING and last == Agreement.MISSING:
        return NameRank.MISSING
    return NameRank.DIFFERENT


@dataclass(frozen=True, slots=True)
class _Probe:
    record: PatientRecord
    first: NormalName | None
    last: NormalName | None
    phone: str | None
    email: str | None


@lru_cache(maxsize=65536)
def _phone_key(text: str | None) -> str | None:
    # Stored phones from another CRM may be formatted "(212) 555-0101".
    return normalize_phone(text) or (text.strip() if text else None)


@lru_cache(maxsize=65536)
def _email_key(text: str | None) -> str | None:
    return normalize_email(text) or (text.strip().lower() if text else None)


def _compare_names(
    probe: _Probe, first: NormalName | None, last: NormalName | None
) -> tuple[Agreement, Agreement, Agreement, NameRank]:
    f = compare_first(probe.first, first)
    la = compare_last(probe.last, last)
    rank = _name_rank(f, la)
    order = Agreement.AS_GIVEN
    if (
        rank < NameRank.STRONG
        and probe.first is not None
        and probe.last is not None
        and first is not None
        and last is not None
        and probe.first.key != probe.last.key
    ):
        # A form filled in with first and last name the wrong way round.
        tl = compare_last(probe.first, last)
        if tl in _STRONG_LAST or tl == Agreement.TYPO:
            tf = compare_first(probe.last, first)
            trank = _name_rank(tf, tl)
            if trank > rank and trank in (NameRank.STRONG, NameRank.TYPO):
                f, la, rank, order = tf, tl, trank, Agreement.TRANSPOSED
    return f, la, order, rank


# --------------------------------------------------------------------------
# Deciding

_NAME_WEIGHT = {
    NameRank.STRONG: 0.45,
    NameRank.PARTIAL: 0.25,
    NameRank.TYPO: 0.3,
    NameRank.LAST_ONLY: 0.15,
    NameRank.FIRST_ONLY: 0.15,
    NameRank.DIFFERENT: 0.0,
    NameRank.MISSING: 0.0,
}
_DOB_WEIGHT = {
    Agreement.SAME: 0.35,
    Agreement.SWAPPED_DAY_MONTH: 0.2,
    Agreement.TYPO: 0.2,
    Agreement.MISSING: 0.05,
    Agreement.DIFFERENT: 0.0,
}
_VERDICT_ORDER = {"link": 0, "review": 1, "none": 2}


@dataclass(frozen=True, slots=True)
class _Compared:
    key: str | None
    verdict: Literal["link", "review", "none"]
    score: float
    dob: Agreement
    portal: Agreement
    contact: bool
    fields: tuple[tuple[EvidenceField, Agreement], ...]


def _compare(probe: _Probe, candidate: PatientRecord) -> _Compared | None:
    """How one candidate compares, or None for a stranger.

    A stranger has another date of birth and shares no phone, email or portal
    account: whatever the names say, it can be neither linked nor plausible
    (a common surname brings hundreds), so names are not compared.
    """
    p = probe.record
    dob = compare_dob(p.date_of_birth, candidate.date_of_birth)
    phone = _compare_equal(probe.phone, _phone_key(candidate.phone))
    email = _compare_equal(probe.email, _email_key(candidate.email))
    portal = _compare_equal(p.portal_account, candidate.portal_account)
    contact = Agreement.SAME in (phone, email)
    if dob == Agreement.DIFFERENT and not contact and portal != Agreement.SAME:
        return None
    f, la, order, rank = _compare_names(
        probe, normal_name(candidate.first_name), normal_name(candidate.last_name)
    )
    # Two different people with the same name and birthday almost never
    # share a phone or email; a request whose contact details all differ
    # from a name-and-DOB match is checked by staff rather than linked.
    conflict = not contact and Agreement.DIFFERENT in (phone, email)

    verdict = _verdict(rank, dob, contact, conflict, portal)

    score = (
        1.0
        if portal == Agreement.SAME
        else min(
            1.0,
            _NAME_WEIGHT[rank]
            + _DOB_WEIGHT[dob]
            + (0.1 if phone == Agreement.SAME else 0.0)
            + (0.1 if email == Agreement.SAME else 0.0),
        )
    )
    fields = (
        (EvidenceField.FIRST_NAME, f),
        (EvidenceField.LAST_NAME, la),
        (EvidenceField.NAME_ORDER, order),
        (EvidenceField.DATE_OF_BIRTH, dob),
        (EvidenceField.PHONE, phone),
        (EvidenceField.EMAIL, email),
        (EvidenceField.PORTAL_ACCOUNT, portal),
    )
    return _Compared(
        key=candidate.patient_key,
        verdict=verdict,
        score=round(score, 3),
        dob=dob,
        portal=portal,
        contact=contact,
        fields=fields,
    )


def _verdict(
    rank: NameRank, dob: Agreement, contact: bool, conflict: bool, portal: Agreement
) -> Literal["link", "review", "none"]:
    """One candidate's verdict; see the module docstring for the rules."""
    if portal == Agreement.SAME:
        return "link"
    verdict: Literal["link", "review", "none"] = "none"
    if dob == Agreement.SAME:
        if rank == NameRank.STRONG:
            verdict = "review" if conflict else "link"
        elif rank == NameRank.FIRST_ONLY and contact:
            verdict = "link"  # same given name, DOB and phone/email: a new surname
        elif rank in (NameRank.PARTIAL, NameRank.TYPO):
            # Less specific or one letter off: twins share surname, date of
            # birth and phone, so this is for staff even with a shared contact.
            verdict = "review"
    elif dob in _DOB_NEAR:
        # No date of birth to confirm the name, or a date one slip away.
        if rank == NameRank.STRONG:
            verdict = "review"
        elif contact and rank in (NameRank.PARTIAL, NameRank.TYPO, NameRank.FIRST_ONLY):
            verdict = "review"
    elif contact and rank == NameRank.STRONG:
        verdict = "review"  # same name and phone, another DOB: Jr./Sr. or a slip
    if verdict == "link" and portal == Agreement.DIFFERENT:
        verdict = "review"  # two portal accounts are two patients, unless staff say
    return verdict


def has_identity(probe: PatientRecord) -> bool:
    """Enough to tell a patient apart: a portal account, a last name, or a
    first name with a date of birth."""
    return bool(
        probe.portal_account
        or normal_name(probe.last_name)
        or (normal_name(probe.first_name) and probe.date_of_birth)
    )


def match_patient(
    probe: PatientRecord, candidates: Sequence[PatientRecord]
) -> MatchDecision:
    """Decide which candidate, if any, the probe is. Pure and deterministic.

    Links when exactly one candidate links and no other candidate is still
    plausible; a same-portal-account candidate wins outright. Several
    plausible candidates, or only partial agreement, make it ``ambiguous``.
    """
    unique: dict[str | None, PatientRecord] = {}
    for candidate in candidates:
        unique.setdefault(candidate.patient_key, candidate)
    prepared = _Probe(
        record=probe,
        first=normal_name(probe.first_name),
        last=normal_name(probe.last_name),
        phone=_phone_key(probe.phone),
        email=_email_key(probe.email),
    )
    compared = sorted(
        (c for c in (_compare(prepared, c) for c in unique.values()) if c),
        key=lambda c: (_VERDICT_ORDER[c.verdict], -c.score, c.key or ""),
    )
    evidence = _evidence(compared)
    considered = len(unique)

    def decide(
        outcome: Literal["link", "new", "ambiguous"],
        reason: str,
        chosen: _Compared | None = None,
    ) -> MatchDecision:
        best = chosen or (compared[0] if compared else None)
        return MatchDecision(
            outcome=outcome,
            patient_key=chosen.key if chosen is not None else None,
            score=best.score if best is not None else 0.0,
            evidence=evidence,
            reason=reason,
            candidates_considered=considered,
        )

    if not has_identity(probe):
        return decide(
            "ambiguous",
            "ambiguous: the request does not say enough about who the patient "
            "is (no last name, or first name without date of birth); staff "
            "confirm identity",
        )

    portal = [c for c in compared if c.portal == Agreement.SAME]
    if len(portal) == 1:
        return decide("link", "link: the portal account matches one patient", portal[0])
    if len(portal) > 1:
        return decide(
            "ambiguous",
            f"ambiguous: {len(portal)} patients share the portal account; staff "
            "confirm identity",
        )

    links = [c for c in compared if c.verdict == "link"]
    reviews = [c for c in compared if c.verdict == "review"]
    if len(links) == 1:
        # A partial candidate whose date of birth plainly differs does not
        # stand against one that agrees in full (a father and his Jr.).
        rivals = [r for r in reviews if r.dob != Agreement.DIFFERENT]
        if not rivals:
            return decide("link", "link: " + _agreement_text(links[0]), links[0])
        return decide(
            "ambiguous",
            f"ambiguous: one patient matches and {len(rivals)} more partly "
            "match; staff confirm identity",
        )
    if len(links) > 1:
        return decide(
            "ambiguous",
            f"ambiguous: {len(links)} patients match name and date of birth; "
            "staff confirm identity",
        )
    if reviews:
        if len(reviews) == 1:
            return decide(
                "ambiguous",
                "ambiguous: one patient partly matches ("
                + _agreement_text(reviews[0])
                + "); staff confirm identity",
            )
        return decide(
            "ambiguous",
            f"ambiguous: {len(reviews)} patients partly match; staff confirm identity",
        )
    shared = sum(1 for c in compared if c.contact)
    if shared:
        return decide(
            "new",
            f"new: {shared} patient(s) share a phone or email but not the name "
            "and date of birth (a household); a shared contact never links",
        )
    return decide("new", "new: no stored patient matches")


def _agreement_text(compared: _Compared) -> str:
    parts = [
        f"{name.value} {result.value}"
        for name, result in compared.fields
        if result not in (Agreement.MISSING, Agreement.AS_GIVEN, Agreement.DIFFERENT)
    ]
    return ", ".join(parts) if parts else "no field agrees"


def _evidence(compared: list[_Compared]) -> list[MatchEvidence]:
    kept = [c for c in compared if c.verdict != "none"]
    others = [c for c in compared if c.verdict == "none"]
    kept += others[: max(0, MAX_EVIDENCE - len(kept))]
    return [
        MatchEvidence(
            patient_key=c.key,
            verdict=c.verdict,
            score=c.score,
            fields=[_field_evidence(name, result) for name, result in c.fields],
        )
        for c in kept
    ]


@lru_cache(maxsize=256)
def _field_evidence(name: EvidenceField, result: Agreement) -> FieldEvidence:
    return FieldEvidence(field=name, result=result)  # frozen, so safe to share


# --------------------------------------------------------------------------
# Against the CRM

PatientFinder = Callable[[PatientRecord], Iterable[PatientRecord]]


def find_candidates(find: PatientFinder, probe: PatientRecord) -> list[PatientRecord]:
    """Stored patients that could be the probe, through a ``find_patients``.

    One broad look-up first. When it comes back full (a common surname), the
    right patient may have been cut off, so narrower look-ups follow: the
    portal account, phone, email, date of birth (and its day/month swap), and
    each name alone.
    """
    found = list(find(probe))
    if len(found) < CANDIDATE_LIMIT:
        return found
    narrow = [
        PatientRecord(portal_account=probe.portal_account),
        PatientRecord(phone=probe.phone),
        PatientRecord(email=probe.email),
        PatientRecord(date_of_birth=probe.date_of_birth),
        PatientRecord(
            date_of_birth=swap_day_month(probe.date_of_birth)
            if probe.date_of_birth
            else None
        ),
        PatientRecord(last_name=probe.last_name),
        PatientRecord(first_name=probe.first_name),
    ]
    seen = {p.patient_key for p in found}
    for query in narrow:
        if not query.model_dump(exclude_none=True):
            continue
        for patient in find(query):
            if patient.patient_key not in seen:
                seen.add(patient.patient_key)
                found.append(patient)
    return found


def resolve_patient(crm: CRMConnector, record: IntakeRecord) -> MatchDecision:
    """Which CRM patient ``record`` is about; it reads the CRM, never writes.

    The caller acts on the outcome: ``link`` reuses ``patient_key``; ``new``
    creates the patient (``crm.upsert_patient(probe_from_record(record))``);
    ``ambiguous`` waits for a staff identity confirmation. Resolve and create
    one request at a time per practice: two requests about the same new
    patient resolved side by side would both come back ``new``.
    """
    probe = probe_from_record(record)
    if not has_identity(probe):
        return match_patient(probe, [])
    return match_patient(probe, find_candidates(crm.find_patients, probe))

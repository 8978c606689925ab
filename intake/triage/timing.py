"""When an administrative request is "soon": dates read against received_at.

Contract: an appointment within 1-2 business days to move, a form,
authorisation or collections date within about a week, a refill with 5 or
fewer days left. Windows and cue words are in config/triage/timing.yaml.

Known gap: vague times ("end of the month", "next week", "mid-December")
are not read as deadlines, so a form due "next week" stays routine; a date,
a weekday or "within N days" is needed. Adding such phrases would need a
rule for how far away they are, which the contract does not give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from intake.models import IntakeRecord, Reason, RequestType
from intake.triage.lexicon import Lexicon, Matcher
from intake.triage.safety import SafetyScreen
from intake.triage.text import Doc

_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "a couple": 2,
    "couple": 2,
    "a couple of": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
    "several": 4,
    "un": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "diez": 10,
    "pocas": 3,
    "pocos": 3,
    "unas": 3,
    "unos": 3,
}
_NUM = r"(\d{1,3}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")"
_SENDER_PARTS = ("subject", "reason", "body")


def _num(token: str) -> int | None:
    token = token.strip()
    if token.isdigit():
        return int(token)
    return _NUMBERS.get(token)


@dataclass(frozen=True)
class DateRef:
    start: int
    end: int
    days: int  # calendar days after the received date (negative: in the past)
    text: str


@dataclass(frozen=True)
class _Patterns:
    today: re.Pattern[str]
    tomorrow: re.Pattern[str]
    this_week: re.Pattern[str]
    weekday: re.Pattern[str]
    weekday_index: dict[str, int]
    month_day: re.Pattern[str]
    day_month: re.Pattern[str]
    month_index: dict[str, int]
    numeric: re.Pattern[str]
    ordinal: re.Pattern[str]
    within: re.Pattern[str]
    in_days: re.Pattern[str]


def _alternation(words: list[str]) -> str:
    return "|".join(re.escape(str(w)) for w in sorted(words, key=len, reverse=True))


_CACHE: dict[int, _Patterns] = {}


def _patterns(lex: Lexicon) -> _Patterns:
    cached = _CACHE.get(id(lex))
    if cached is None:
        cached = _CACHE[id(lex)] = _build_patterns(lex)
    return cached


def _build_patterns(lex: Lexicon) -> _Patterns:
    t = lex.timing
    weekday_index: dict[str, int] = {}
    for i, (_name, words) in enumerate(t["weekdays"].items()):
        for w in words:
            weekday_index[str(w)] = i
    month_index: dict[str, int] = {}
    for num, words in t["months"].items():
        for w in words:
            month_index[str(w)] = int(num)
    months = _alternation(list(month_index))
    return _Patterns(
        today=re.compile(rf"\b(?:{_alternation(t['today'])})\b"),
        tomorrow=re.compile(
            # "de la manana" / "por la manana" is the morning; "mi cita de
            # manana" is tomorrow's appointment.
            r"(?<!la )(?<!muy de )(?<!por )\b(?:" + _alternation(t["tomorrow"]) + r")\b"
        ),
        this_week=re.compile(rf"\b(?:{_alternation(t['this_week'])})\b"),
        weekday=re.compile(
            r"\b(?:(next|this|coming|el|este|on) )?"
            rf"({_alternation(list(weekday_index))})\b"
        ),
        weekday_index=weekday_index,
        month_day=re.compile(
            rf"\b({months})\.? (\d{{1,2}})(?:st|nd|rd|th)?\b(?:,? (\d{{4}}))?"
        ),
        day_month=re.compile(
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)? (?:de |of )?({months})\b"
            r"(?:,? (?:de )?(\d{4}))?"
        ),
        month_index=month_index,
        numeric=re.compile(
            r"(?<![\d/$.])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])"
        ),
        ordinal=re.compile(r"\bthe (\d{1,2})(?:st|nd|rd|th)\b"),
        within=re.compile(
            rf"\bwithin {_NUM}(?: ?(?:-|to|or) ?{_NUM})? (business |calendar )?days?\b"
        ),
        in_days=re.compile(
            rf"\b(?:in|that's|thats|only|just) {_NUM}(?: more)? (business )?days?\b"
        ),
    )


def received_date(record: IntakeRecord) -> date | None:
    return record.received_at.date() if record.received_at else None


def _from_month_day(month: int, day: int, year: int | None, today: date) -> int | None:
    try:
        when = date(year or today.year, month, day)
    except ValueError:
        return None
    if year is None and (when - today).days < -60:
        when = date(today.year + 1, month, day)
    return (when - today).days


def find_dates(doc: Doc, today: date | None) -> list[DateRef]:
    """Dates and day references in the sender's words, as days from ``today``."""
    p = _patterns(doc.lex)
    text = doc.text
    found: list[DateRef] = []

    def add(m: re.Match[str], days: int | None) -> None:
        if days is not None and doc.part_at(m.start()) in _SENDER_PARTS:
            found.append(DateRef(m.start(), m.end(), days, m.group()))

    for m in p.today.finditer(text):
        add(m, 0)
    for m in p.tomorrow.finditer(text):
        add(m, 1)
    for m in p.this_week.finditer(text):
        add(m, max(0, 4 - today.weekday()) if today else 3)
    for m in p.weekday.finditer(text):
        wd = p.weekday_index[m.group(2)]
        if today is None:
            add(m, 3)
            continue
        delta = (wd - today.weekday()) % 7 or 7
        if m.group(1) == "next" and wd > today.weekday():
            delta += 7
        add(m, delta)
    if today is None:
        return found
    for m in p.month_day.finditer(text):
        year = int(m.group(3)) if m.group(3) else None
        add(m, _from_month_day(p.month_index[m.group(1)], int(m.group(2)), year, today))
    for m in p.day_month.finditer(text):
        year = int(m.group(3)) if m.group(3) else None
        add(m, _from_month_day(p.month_index[m.group(2)], int(m.group(1)), year, today))
    for m in p.numeric.finditer(text):
        a, b = int(m.group(1)), int(m.group(2))
        month, day = (a, b) if a <= 12 else (b, a)
        year = None
        if m.group(3):
            year = int(m.group(3))
            year += 2000 if year < 100 else 0
        add(m, _from_month_day(month, day, year, today))
    for m in p.ordinal.finditer(text):
        day = int(m.group(1))
        month = today.month if day >= today.day else today.month % 12 + 1
        add(m, _from_month_day(month, day, None, today))
    return found


def _relative_days(doc: Doc, today: date | None) -> list[DateRef]:
    """'within 3-5 days', 'that's two days': counted from the received date,
    or from a date named in the same sentence ('notice dated 12/4 ... within
    10 days')."""
    p = _patterns(doc.lex)
    out = []
    dates = find_dates(doc, today) if today else []
    for regex in (p.within, p.in_days):
        for m in regex.finditer(doc.text):
            numbers = [g for g in m.groups()[:2] if g and _num(g) is not None]
            if not numbers:
                continue
            days = max(_num(n) or 0 for n in numbers)
            slo, shi = doc.sentence_of(m.start())
            anchors = [d.days for d in dates if slo <= d.start < shi and d.days < 0]
            if anchors and regex is p.within:
                days += min(anchors)
            out.append(DateRef(m.start(), m.end(), days, m.group()))
    return out


def _sentence_has(doc: Doc, key: str, lo: int, hi: int) -> bool:
    regex = doc.lex.timing_cues[key]
    return any(
        lo <= s < hi and not doc.injected(s, e)
        for s, e in doc.spans(f"timing:{key}", regex)
    )


def _deadline(
    doc: Doc, refs: list[DateRef], window: int, cue_lists: tuple[str, ...]
) -> DateRef | None:
    for ref in refs:
        if not 0 <= ref.days <= window:
            continue
        slo, shi = doc.sentence_of(ref.start, ref.end)
        if any(_sentence_has(doc, key, slo, shi) for key in cue_lists):
            return ref
    return None


def business_days(today: date, days: int) -> int:
    """Business days after ``today`` up to and including ``today + days``."""
    weeks, extra = divmod(max(days, 0), 7)
    count = 5 * weeks
    for i in range(1, extra + 1):
        if (today + timedelta(days=i)).weekday() < 5:
            count += 1
    return count


def _whole(regex: Matcher, phrase: str) -> bool:
    found = regex.search(phrase)
    return found is not None and found.group() == phrase


def _appointment_to_move(
    doc: Doc, refs: list[DateRef], today: date | None, max_business_days: int
) -> DateRef | None:
    changes = doc.counted_hits(
        doc.lex.details["change_existing"], _SENDER_PARTS, request=True
    )
    # Confirming an appointment moves nothing: only a change or a
    # cancellation is time-bound (contract: "an appointment ... to move").
    confirm = doc.lex.timing_cues["confirm_only"]
    if all(_whole(confirm, h.phrase) for h in changes):
        return None
    targets = doc.spans("timing:target", doc.lex.timing_cues["target_slot_cues"])
    for ref in refs:
        if ref.days < 0:
            continue
        # "move it to Friday": Friday is the slot wanted, not the one to move.
        if any(ref.start - 14 <= e <= ref.start for _s, e in targets):
            continue
        if doc._overlaps(targets, ref.start, ref.end):
            continue
        bdays = business_days(today, ref.days) if today else min(ref.days, 3)
        if bdays <= max_business_days:
            return ref
    return None


_LEFT = re.compile(
    r"(?:(?:my|his|her|the) )?(?:very )?last "
    + _NUM
    + r"\b(?! (?:years?|months?|weeks?"
    r"|days|visits?|times?|nights?|hours?|minutes?)\b)"
    r"|" + _NUM + r"(?: ?(?:-|or|o|to) ?" + _NUM + r")? ((?:[\w.'-]+ ){0,6}?)"
    r"(?:left|remaining|to go)\b"
    r"|(?:me|le|nos) quedan? (?:\w+ ){0,2}?"
    + _NUM
    + r" (dosis|pastillas|dias|tabletas|"
    r"pildoras|pills?|tablets?|days?|doses?)\b"
    r"|como para " + _NUM + r"(?: (?:o|a) " + _NUM + r")? dias\b"
)
_WEEKS = re.compile(r"\b(weeks?|semanas?)\b")
_MONTHS = re.compile(r"\b(months?|mes|meses)\b")
_NOT_SUPPLY = re.compile(
    r"\b(refills?|dollars|bucks|visits?|appointments?|times?|"
    r"questions?|minutes|hours)\b|\$"
)


def days_of_medicine_left(doc: Doc) -> int | None:
    """The fewest days of medicine the sender says are left, if they say."""
    best: int | None = None
    for m in _LEFT.finditer(doc.text):
        if doc.part_at(m.start()) not in _SENDER_PARTS:
            continue
        if not doc.context(m.start(), m.end()).counts_for_request:
            continue
        phrase = m.group()
        if _NOT_SUPPLY.search(phrase):
            continue
        numbers = [g for g in m.groups() if g and _num(g) is not None]
        if not numbers:
            continue
        days = max(_num(n) or 0 for n in numbers)
        if _WEEKS.search(phrase):
            days *= 7
        elif _MONTHS.search(phrase):
            days *= 30
        best = days if best is None else min(best, days)
    return best


def soon(
    doc: Doc, record: IntakeRecord, rtype: RequestType, screen: SafetyScreen
) -> Reason | None:
    """A reason when the request is bound to the next week or so, else None."""
    windows = doc.lex.timing.get("windows", {})
    deadline_days = int(windows.get("deadline_days", 8))
    move_days = int(windows.get("move_appointment_business_days", 2))
    refill_days = int(windows.get("refill_days_left", 5))
    today = received_date(record)
    refs = find_dates(doc, today) + _relative_days(doc, today)

    if rtype is RequestType.PRESCRIPTION:
        left = days_of_medicine_left(doc)
        if left is not None and left <= refill_days:
            return Reason(code="soon", detail=f"about {left} days of medicine left")
        if screen.out_of_medicine and not screen.out_of_essential:
            return Reason(code="soon", detail="out of a medicine")
    if rtype is RequestType.SCHEDULING:
        ref = _appointment_to_move(doc, refs, today, move_days)
        if ref is not None:
            return Reason(code="soon", detail=f"appointment to change: {ref.text}")
    if rtype in (
        RequestType.SCHEDULING,
        RequestType.RECORDS,
        RequestType.BILLING,
        RequestType.INSURANCE,
        RequestType.REFERRAL,
        RequestType.PRESCRIPTION,
    ):
        cues = (
            ("deadline_cues", "referral_cues")
            if rtype is RequestType.REFERRAL
            else ("deadline_cues",)
        )
        ref = _deadline(doc, refs, deadline_days, cues)
        if ref is not None:
            return Reason(code="soon", detail=f"deadline: {ref.text}")
    return None

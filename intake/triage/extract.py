"""Finding administrative details in free text: dates of birth and phones.

Dates of birth come written ("DOB 4/19/1992", "March 9th, 1952"), spoken in
transcripts ("nine nine forty-nine", "August twenty second, nineteen
ninety"), or in Spanish ("el cinco de mayo de mil novecientos ochenta y
seis"). Phone numbers come as digits (found with the ``phonenumbers``
library) or spoken digit by digit ("three one two, five five five, ...").
These functions only say whether a detail is there; they never log it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import phonenumbers

from intake.triage.lexicon import Lexicon

# -- number words -------------------------------------------------------------

_UNITS = {
    "zero": 0,
    "oh": 0,
    "o": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
_TEENS = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
    "thirtieth": 30,
}
_ES_NUMBERS = {
    "uno": 1,
    "un": 1,
    "primero": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "once": 11,
    "doce": 12,
    "trece": 13,
    "catorce": 14,
    "quince": 15,
    "dieciseis": 16,
    "diecisiete": 17,
    "dieciocho": 18,
    "diecinueve": 19,
    "veinte": 20,
    "veintiuno": 21,
    "veintiun": 21,
    "veintidos": 22,
    "veintitres": 23,
    "veinticuatro": 24,
    "veinticinco": 25,
    "veintiseis": 26,
    "veintisiete": 27,
    "veintiocho": 28,
    "veintinueve": 29,
    "treinta": 30,
    "cuarenta": 40,
    "cincuenta": 50,
    "sesenta": 60,
    "setenta": 70,
    "ochenta": 80,
    "noventa": 90,
}
_FILLERS = frozenset(
    {
        "uh",
        "um",
        "umm",
        "uhh",
        "er",
        "ah",
        "like",
        "is",
        "was",
        "it's",
        "its",
        "'s",
        "of",
        "the",
        "and",
        "oh,",
        "eh",
        "este",
        "es",
        "el",
    }
)
_TOKEN = re.compile(r"\d{1,4}(?:st|nd|rd|th)?|[a-z]+(?:'[a-z]+)?")


@dataclass(frozen=True)
class _Tok:
    word: str
    start: int
    end: int


def _tokens(text: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(text.replace("-", " ")):
        out.append(_Tok(m.group(), m.start(), m.end()))
    return out


def _small_number(toks: list[_Tok], i: int, ordinal_ok: bool) -> tuple[int, int] | None:
    """A number 0-99 spoken at toks[i] ("twenty second", "nine"); (value, next)."""
    if i >= len(toks):
        return None
    w = toks[i].word
    if w.isdigit() and len(w) <= 2:
        return int(w), i + 1
    digits = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)", w)
    if digits and ordinal_ok:
        return int(digits.group(1)), i + 1
    if w in _TENS:
        nxt = toks[i + 1].word if i + 1 < len(toks) else ""
        if nxt in _UNITS and _UNITS[nxt] > 0 and nxt not in ("o", "oh", "zero"):
            return _TENS[w] + _UNITS[nxt], i + 2
        if ordinal_ok and nxt in _ORDINALS and _ORDINALS[nxt] < 10:
            return _TENS[w] + _ORDINALS[nxt], i + 2
        return _TENS[w], i + 1
    if w in _TEENS:
        return _TEENS[w], i + 1
    if w in _UNITS and w not in ("o",):
        return _UNITS[w], i + 1
    if ordinal_ok and w in _ORDINALS:
        return _ORDINALS[w], i + 1
    return None


def _spoken_year(toks: list[_Tok], i: int) -> tuple[int, int] | None:
    """A year: "nineteen fifty seven", "two thousand three", "seventy-nine"."""
    if i >= len(toks):
        return None
    w = toks[i].word
    if re.fullmatch(r"(19|20)\d\d", w):
        return int(w), i + 1
    if re.fullmatch(r"\d\d", w):
        return 1900 + int(w), i + 1
    if w == "nineteen":
        rest = _two_digit_tail(toks, i + 1)
        if rest:
            return 1900 + rest[0], rest[1]
        return None
    if w == "two" and i + 1 < len(toks) and toks[i + 1].word == "thousand":
        j = i + 2
        if j < len(toks) and toks[j].word == "and":
            j += 1
        tail = _small_number(toks, j, ordinal_ok=False)
        return (2000 + tail[0], tail[1]) if tail else (2000, j)
    if w == "twenty":
        rest = _two_digit_tail(toks, i + 1)
        if rest and (rest[0] >= 10 or toks[i + 1].word in ("oh", "o")):
            return 2000 + rest[0], rest[1]
    if w in _TENS:
        value = _small_number(toks, i, ordinal_ok=False)
        if value:
            return 1900 + value[0], value[1]
    return None


def _two_digit_tail(toks: list[_Tok], i: int) -> tuple[int, int] | None:
    if i >= len(toks):
        return None
    if toks[i].word in ("oh", "o") and i + 1 < len(toks) and toks[i + 1].word in _UNITS:
        return _UNITS[toks[i + 1].word], i + 2
    value = _small_number(toks, i, ordinal_ok=False)
    if value and value[0] >= 10:
        return value
    return None


def _skip_fillers(toks: list[_Tok], i: int) -> int:
    while i < len(toks) and toks[i].word in _FILLERS:
        i += 1
    return i


# -- dates of birth -----------------------------------------------------------


_NUMERIC_DATE = re.compile(
    r"(?<![\d/.$-])(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{4}|\d{2}))?(?![\d/])"
)
_ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)-(\d{1,2})-(\d{1,2})(?!\d)")
_EVENT_WORDS = re.compile(
    r"\b(sent|wrote|date|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b"
)


@dataclass(frozen=True)
class DobFinding:
    """Where a date of birth was found (never the value, which is PHI)."""

    how: str  # "labelled", "written", "spoken"


def _valid(year: int | None, month: int, day: int) -> bool:
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    if year is not None:
        try:
            date(year, month, day)
        except ValueError:
            return False
    return True


_MONTHS_CACHE: dict[int, dict[str, int]] = {}


def _month_words(lex: Lexicon) -> dict[str, int]:
    cached = _MONTHS_CACHE.get(id(lex))
    if cached is None:
        cached = _MONTHS_CACHE[id(lex)] = _build_month_words(lex)
    return cached


def _build_month_words(lex: Lexicon) -> dict[str, int]:
    months: dict[str, int] = {}
    for num, words in lex.timing["months"].items():
        for w in words:
            if len(str(w)) > 3 or str(w) in (
                "may",
                "jan",
                "feb",
                "mar",
                "apr",
                "jun",
                "jul",
                "aug",
                "sep",
                "oct",
                "nov",
                "dec",
            ):
                months[str(w)] = int(num)
    return months


def _dates_at(
    toks: list[_Tok], i: int, months: dict[str, int]
) -> tuple[int | None, int, int, int] | None:
    """A spoken or written date starting at toks[i]: (year, month, day, next)."""
    i = _skip_fillers(toks, i)
    if i >= len(toks):
        return None
    w = toks[i].word
    # "August twenty second, nineteen ninety" / "March 9th 1952"
    if w in months:
        j = _skip_fillers(toks, i + 1)
        day = _small_number(toks, j, ordinal_ok=True)
        if day and 1 <= day[0] <= 31:
            k = _skip_fillers(toks, day[1])
            year = _spoken_year(toks, k)
            if year:
                return year[0], months[w], day[0], year[1]
            return None, months[w], day[0], day[1]
        return None
    # "el cinco de mayo de mil novecientos ochenta y seis"
    if w in _ES_NUMBERS or w.isdigit():
        day_value = _ES_NUMBERS.get(w) if not w.isdigit() else int(w)
        j = i + 1
        if (
            day_value
            and j + 1 < len(toks)
            and toks[j].word == "de"
            and toks[j + 1].word in months
        ):
            es_month = months[toks[j + 1].word]
            k = j + 2
            if k < len(toks) and toks[k].word in ("de", "del"):
                es_year = _spanish_year(toks, k + 1)
                if es_year:
                    return es_year[0], es_month, day_value, es_year[1]
            return None, es_month, day_value, j + 2
    # "nine nine forty-nine", "four twenty-nine thirty-eight" (M D YY)
    spoken_month = _small_number(toks, i, ordinal_ok=False)
    if spoken_month and 1 <= spoken_month[0] <= 12:
        day = _small_number(toks, spoken_month[1], ordinal_ok=True)
        if day and 1 <= day[0] <= 31:
            yw = toks[day[1]].word if day[1] < len(toks) else ""
            if (
                yw in _TENS
                or yw == "nineteen"
                or (
                    yw == "two"
                    and day[1] + 1 < len(toks)
                    and toks[day[1] + 1].word == "thousand"
                )
            ):
                year = _spoken_year(toks, day[1])
                if year:
                    return year[0], spoken_month[0], day[0], year[1]
    return None


def _spanish_year(toks: list[_Tok], i: int) -> tuple[int, int] | None:
    if i >= len(toks):
        return None
    w = toks[i].word
    if re.fullmatch(r"(19|20)\d\d", w):
        return int(w), i + 1
    base = None
    j = i
    if w == "mil" and i + 1 < len(toks) and toks[i + 1].word == "novecientos":
        base, j = 1900, i + 2
    elif w == "dos" and i + 1 < len(toks) and toks[i + 1].word == "mil":
        base, j = 2000, i + 2
    if base is None:
        return None
    value = 0
    if j < len(toks) and toks[j].word in _ES_NUMBERS:
        value = _ES_NUMBERS[toks[j].word]
        j += 1
        if (
            value >= 30
            and j + 1 < len(toks)
            and toks[j].word == "y"
            and toks[j + 1].word in _ES_NUMBERS
        ):
            value += _ES_NUMBERS[toks[j + 1].word]
            j += 2
    return base + value, j


def find_date_of_birth(
    text: str, lex: Lexicon, received: date | None
) -> DobFinding | None:
    """Whether ``text`` (normalised) gives a date of birth, and how."""
    if not text:
        return None
    this_year = (received or date.today()).year
    months = _month_words(lex)
    labels = [m.end() for m in lex.details["dob_labels"].finditer(text)]
    event_cues = lex.details["event_date_cues"]

    # 1. A label followed closely by a date, even without a year ("born
    #    October twenty first").
    for end in labels:
        window = text[end : end + 80]
        m = _NUMERIC_DATE.search(window) or _ISO_DATE.search(window)
        if m and m.start() <= 12:
            return DobFinding("labelled")
        toks = _tokens(window)
        for i in range(min(len(toks), 6)):
            if toks[i].start > 40:
                break
            found = _dates_at(toks, i, months)
            if found:
                year, month, day, _ = found
                if _valid(year, month, day) and not (toks[i].word == "in"):
                    return DobFinding("labelled")

    # 2. A full written date with a plausible birth year, not an event date.
    def plausible(year: int) -> bool:
        return 1900 <= year < this_year

    def after_event_word(pos: int) -> bool:
        before = text[max(0, pos - 28) : pos]
        words = before.split()[-3:]
        tail = " ".join(words)
        return bool(event_cues.search(tail) or _EVENT_WORDS.search(tail))

    for m in _NUMERIC_DATE.finditer(text):
        if not m.group(3):
            continue
        year = int(m.group(3))
        if year < 100:
            year += 1900 if year > this_year % 100 else 2000
        a, b = int(m.group(1)), int(m.group(2))
        month, day = (a, b) if a <= 12 else (b, a)
        if (
            _valid(year, month, day)
            and plausible(year)
            and not after_event_word(m.start())
        ):
            return DobFinding("written")
    for m in _ISO_DATE.finditer(text):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if (
            _valid(year, month, day)
            and plausible(year)
            and not after_event_word(m.start())
        ):
            return DobFinding("written")

    # 3. A spoken or written date with its year ("January eighth, seventy-
    #    nine", "four seventeen seventy-three").
    toks = _tokens(text)
    for i, tok in enumerate(toks):
        if not (
            tok.word in months
            or tok.word in _ES_NUMBERS
            or tok.word in _UNITS
            or tok.word in _TEENS
            or tok.word.isdigit()
        ):
            continue
        found = _dates_at(toks, i, months)
        if not found:
            continue
        year, month, day, _ = found
        if year is None or not _valid(year, month, day) or not plausible(year):
            continue
        if after_event_word(tok.start):
            continue
        return DobFinding("spoken")
    return None


# -- contact ------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_DIGIT_WORDS = {
    "zero": "0",
    "oh": "0",
    "o": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
}
_FAX = re.compile(r"\bfax(?: number| no\.?| #)?(?: is)?:?\s*$")


def _national(number: phonenumbers.PhoneNumber) -> str:
    return str(number.national_number)


# A local number written without its area code ("call me at 555-0142"):
# still a number the front desk can call back (contract: any phone number).
_LOCAL = re.compile(r"(?<![\w+.\-/$(])([2-9]\d{2})[ .\-](\d{4})(?![\w\-/.]\d|[\w\-/])")
# Words right before a number that make it something else than a phone.
_NOT_A_PHONE = re.compile(
    r"(?:fax|account|acct|member|policy|claim|npi|mrn|id|i'd|group|invoice|order|"
    r"ref|reference|#|no\.)\W{0,6}(?:(?:no|number|num|is)\W{0,4})?$"
)


def phone_numbers(text: str, exclude: set[str]) -> list[str]:
    """Phone numbers in ``text`` (national digits), not fax lines or ``exclude``."""
    found = []
    spans: list[tuple[int, int]] = []
    for m in phonenumbers.PhoneNumberMatcher(text, "US"):
        spans.append((m.start, m.end))
        if _FAX.search(text[max(0, m.start - 24) : m.start].lower()):
            continue
        national = _national(m.number)
        if national not in exclude:
            found.append(national)
    local_exclude = {n[-7:] for n in exclude}
    for local_match in _LOCAL.finditer(text):
        lo, hi = local_match.span()
        if any(s < hi and lo < e for s, e in spans):
            continue  # the last digits of a full number found above
        before = text[max(0, lo - 24) : lo].lower()
        if _FAX.search(before) or _NOT_A_PHONE.search(before):
            continue
        local = local_match.group(1) + local_match.group(2)
        if local not in local_exclude:
            found.append(local)
    found.extend(d for d in spoken_phone_numbers(text) if d not in exclude)
    return found


def spoken_phone_numbers(text: str) -> list[str]:
    """Numbers said digit by digit: "three one two, five five five, ..."."""
    out = []
    digits = ""
    for word in re.findall(r"[a-z]+|\d|[,.]", text.lower()):
        if word in _DIGIT_WORDS:
            digits += _DIGIT_WORDS[word]
        elif word.isdigit():
            digits += word
        elif word == "double" or word in (",", "."):
            continue
        else:
            if len(digits) in (10, 11):
                out.append(digits[-10:])
            digits = ""
    if len(digits) in (10, 11):
        out.append(digits[-10:])
    return out


def emails(text: str, exclude_domains: set[str]) -> list[str]:
    return [
        e
        for e in _EMAIL.findall(text)
        if e.rsplit("@", 1)[-1].lower() not in exclude_domains
    ]

"""Capture step: dates of birth (written, numeric, spoken, Spanish) and timestamps.

Dates of birth come as form values ("1962-03-03", "04/19/1992") and inside
free text after a keyword ("DOB 5/5/1990", "date of birth is August twenty
second, nineteen ninety", "fecha de nacimiento 3 de mayo de 1985"). Numeric
dates are read month first (US) unless the first number is over 12, or the
text is Spanish, where day first is the norm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9, "october": 10,
    "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6,
    "julio": 7, "agosto": 8, "septiembre": 9, "setiembre": 9, "octubre": 10,
    "noviembre": 11, "diciembre": 12,
}  # fmt: skip

_UNITS: dict[str, int] = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9,
}  # fmt: skip
_TEENS: dict[str, int] = {
    "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS: dict[str, int] = {
    "twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50,
    "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90,
}  # fmt: skip
_ORDINAL_UNITS: dict[str, int] = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
    "seventh": 7, "eighth": 8, "ninth": 9,
}  # fmt: skip
_ORDINAL_OTHER: dict[str, int] = {
    "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17,
    "eighteenth": 18, "nineteenth": 19, "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
# Spanish numbers add up from the largest part down ("mil novecientos ochenta
# y seis" = 1000 + 900 + 80 + 6). "un"/"una" are left out: they are mostly
# articles ("una cita").
_ES_NUMBERS: dict[str, int] = {
    "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    "trece": 13, "catorce": 14, "quince": 15, "dieciseis": 16,
    "dieciséis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
    "veinte": 20, "veintiuno": 21, "veintiún": 21, "veintidos": 22,
    "veintidós": 22, "veintitres": 23, "veintitrés": 23, "veinticuatro": 24,
    "veinticinco": 25, "veintiseis": 26, "veintiséis": 26, "veintisiete": 27,
    "veintiocho": 28, "veintinueve": 29, "treinta": 30, "cuarenta": 40,
    "cincuenta": 50, "sesenta": 60, "setenta": 70, "ochenta": 80,
    "noventa": 90, "cien": 100, "ciento": 100, "doscientos": 200,
    "trescientos": 300, "cuatrocientos": 400, "quinientos": 500,
    "seiscientos": 600, "setecientos": 700, "ochocientos": 800,
    "novecientos": 900, "mil": 1000, "primero": 1, "primer": 1,
}  # fmt: skip
_NUMBER_WORDS = (
    set(_UNITS) | set(_TEENS) | set(_TENS) | set(_ORDINAL_UNITS)
    | set(_ORDINAL_OTHER) | {"thousand", "hundred"} | set(_ES_NUMBERS)
)  # fmt: skip
_JOINERS = frozenset({"and", "y"})

# Words that may sit inside a date without ending it.
_FILLERS = frozenset(
    {
        "the", "of", "on", "is", "its", "it", "s", "was", "uh", "um", "umm",
        "er", "erm", "like", "de", "del", "el", "la", "es", "and", "y",
    }
)  # fmt: skip

# Keywords that announce a date of birth in free text. Spanish ones switch
# numeric dates to day-first.
_DOB_KEYWORD_RE = re.compile(
    r"\b(?:d\.?\s?o\.?\s?b\b\.?|date\s+of\s+birth|birth\s*date|birthday|"
    r"born(?:\s+on)?|b\.?day|"
    r"(?P<es>fecha\s+de\s+nacimiento|fecha\s+de\s+nac\b\.?|f\.?\s?nac\b\.?|"
    r"nac[ií][oó]?\b|nacid[oa]|cumplea[nñ]os))",
    re.IGNORECASE,
)
_PARTIAL_NUMERIC_RE = re.compile(
    r"(?<![0-9/.\-])[0-9]{1,2}[/.\-][0-9]{1,2}(?:[/.\-][0-9]{2,4})?(?![0-9/.\-])"
)
_DOB_WINDOW = 90
_WINDOW_END_RE = re.compile(r"\n|[.!?;](?=\s+[A-Z])")
_MAX_KEYWORD_HITS = 40

_HYPHENATED_RE = re.compile(r"(?<=[a-z])-(?=[a-z])", re.IGNORECASE)  # forty-nine
_TOKEN_RE = re.compile(r"[0-9]{1,4}(?:st|nd|rd|th)?|[^\W\d_]{1,20}|[/.,\-]", re.UNICODE)


@dataclass(frozen=True)
class _Num:
    value: int
    digits: int  # how many digits it was written with (0 when spoken)
    ordinal: bool = False
    spoken_year: bool = False  # "nineteen ninety", "two thousand five"


@dataclass(frozen=True)
class _Month:
    value: int


_Item = _Num | _Month | str  # str: a separator ("," "/" ...) or "STOP"


def _magnitude(value: int) -> int:
    if value >= 1000:
        return 3
    if value >= 100:
        return 2
    return 1 if value >= 30 or value in (20, 30) else 0


def _spanish_group(words: list[str]) -> list[_Num]:
    """Numbers in a run of Spanish number words: "cinco" -> [5],
    "mil novecientos ochenta y seis" -> [1986], "cinco cinco" -> [5, 5]."""
    out: list[_Num] = []
    total = current = 0
    previous: int | None = None
    for word in words:
        if word in _JOINERS:
            continue
        value = _ES_NUMBERS.get(word)
        if value is None:
            continue
        if value == 1000:
            total += max(current, 1) * 1000
            current = 0
            previous = 3
            continue
        magnitude = _magnitude(value)
        if previous is not None and magnitude >= previous and previous != 3:
            number = total + current
            out.append(_Num(number, 0, spoken_year=number >= 1000))
            total = current = 0
        current += value
        previous = magnitude
    if previous is not None:
        number = total + current
        out.append(_Num(number, 0, spoken_year=number >= 1000))
    return out


def _spoken_group(words: list[str], max_year: int) -> list[_Num]:
    """Numbers in a run of number words: "twenty second" -> [22nd],
    "nineteen ninety" -> [1990], "nine nine forty nine" -> [9, 9, 49].

    Two parts only make a year when the year is not in the future: "two
    twenty eighty-eight" is 2/20/88, not 2 and 2088.
    """
    if any(word in _ES_NUMBERS for word in words):
        return _spanish_group(words)
    out: list[_Num] = []
    i = 0
    n = len(words)

    def small(at: int) -> tuple[int, int, bool] | None:
        """A number below 100 at words[at]: (value, words used, ordinal)."""
        if at >= n:
            return None
        word = words[at]
        if word in _TENS:
            if at + 1 < n and words[at + 1] in _UNITS and _UNITS[words[at + 1]]:
                return _TENS[word] + _UNITS[words[at + 1]], 2, False
            if at + 1 < n and words[at + 1] in _ORDINAL_UNITS:
                return _TENS[word] + _ORDINAL_UNITS[words[at + 1]], 2, True
            return _TENS[word], 1, False
        if word in _TEENS:
            return _TEENS[word], 1, False
        if word in _UNITS and word not in ("oh", "zero"):
            return _UNITS[word], 1, False
        if word in _ORDINAL_UNITS:
            return _ORDINAL_UNITS[word], 1, True
        if word in _ORDINAL_OTHER:
            return _ORDINAL_OTHER[word], 1, True
        return None

    while i < n:
        word = words[i]
        # "two thousand (and) five", "two thousand twelve"
        if word in _UNITS and i + 1 < n and words[i + 1] == "thousand":
            value = _UNITS[word] * 1000
            i += 2
            if i < n and words[i] == "and":
                i += 1
            rest = small(i)
            if rest and not rest[2]:
                value += rest[0]
                i += rest[1]
            out.append(_Num(value, 0, spoken_year=True))
            continue
        head = small(i)
        if head is None:
            i += 1
            continue
        value, used, ordinal = head
        i += used
        # "nineteen ninety", "nineteen oh five", "twenty twenty"
        if not ordinal and value in (19, 20) and i < n:
            if words[i] in ("oh", "zero") and i + 1 < n and words[i + 1] in _UNITS:
                year = value * 100 + _UNITS[words[i + 1]]
                out.append(_Num(year, 0, spoken_year=True))
                i += 2
                continue
            tail = small(i)
            if (
                tail
                and not tail[2]
                and tail[0] >= 10
                and value * 100 + tail[0] <= max_year
            ):
                out.append(_Num(value * 100 + tail[0], 0, spoken_year=True))
                i += tail[1]
                continue
            if words[i] == "hundred":
                out.append(_Num(value * 100, 0, spoken_year=True))
                i += 1
                continue
        out.append(_Num(value, 0, ordinal=ordinal))
    return out


def _items(text: str, max_year: int) -> list[_Item]:
    """Tokens of a short text as numbers, months, separators and stops."""
    items: list[_Item] = []
    words: list[str] = []

    def flush() -> None:
        if words:
            items.extend(_spoken_group(words, max_year))
            words.clear()

    for match in _TOKEN_RE.finditer(_HYPHENATED_RE.sub(" ", text)):
        token = match.group(0)
        lower = token.lower()
        if "0" <= token[0] <= "9":
            flush()
            digits = token.rstrip("stndrhSTNDRH")
            items.append(_Num(int(digits), len(digits), ordinal=digits != token))
        elif lower in _NUMBER_WORDS or (lower in _JOINERS and words):
            words.append(lower)
        elif lower in MONTHS:
            flush()
            items.append(_Month(MONTHS[lower]))
        elif lower in _FILLERS:
            flush()
        elif token in "/.-,":
            flush()
            items.append(token)
        else:
            flush()
            items.append("STOP")
    flush()
    return items


def _full_year(num: _Num, today: date) -> int | None:
    if num.spoken_year or num.digits == 4:
        return num.value
    if num.digits in (0, 1, 2) and 0 <= num.value <= 99:
        # A two-digit birth year is in the past: 66 -> 1966, 05 -> 2005.
        century = 2000 if 2000 + num.value <= today.year else 1900
        return century + num.value
    return None


def _make(year: int | None, month: int, day: int, today: date) -> date | None:
    if year is None or not 1 <= month <= 12 or not 1 <= day <= 31:
        return None
    try:
        result = date(year, month, day)
    except ValueError:
        return None
    if result > today or result.year < 1900:
        return None
    return result


def _date_at(
    items: list[_Item], start: int, today: date, day_first: bool
) -> date | None:
    """The date that starts at items[start], if the items there form one."""
    parts: list[_Num | _Month] = []
    index = start
    while index < len(items) and len(parts) < 3:
        item = items[index]
        if item == "STOP":
            break
        if isinstance(item, (_Num, _Month)):
            parts.append(item)
        index += 1
    if len(parts) < 3:
        return None
    a, b, c = parts
    if not isinstance(c, _Num):
        return None
    year = _full_year(c, today)
    if isinstance(a, _Month) and isinstance(b, _Num) and not b.spoken_year:
        return _make(year, a.value, b.value, today)
    if isinstance(a, _Num) and isinstance(b, _Month) and not a.spoken_year:
        return _make(year, b.value, a.value, today)
    if isinstance(a, _Num) and isinstance(b, _Num):
        if a.digits == 4 and not a.ordinal:  # ISO order: 1962-03-03
            if c.digits in (1, 2) and b.digits in (1, 2):
                return _make(a.value, b.value, c.value, today)
            return None
        if a.spoken_year or b.spoken_year or a.digits > 2 or b.digits > 2:
            return None
        first, second = (b.value, a.value) if day_first else (a.value, b.value)
        if a.value > 12:  # day first whatever the default
            first, second = b.value, a.value
        elif day_first and b.value > 12:
            first, second = a.value, b.value
        return _make(year, first, second, today) or _make(year, second, first, today)
    return None


def _first_date(
    text: str, today: date, day_first: bool, *, max_stops: int | None = None
) -> date | None:
    """The first date in a text; with ``max_stops``, only one that starts
    before that many unrelated words ("DOB for my son is ..." has two)."""
    items = _items(text, today.year)
    stops = 0
    for start, item in enumerate(items):
        if item == "STOP":
            stops += 1
            if max_stops is not None and stops > max_stops:
                return None
        elif isinstance(item, (_Num, _Month)):
            found = _date_at(items, start, today, day_first)
            if found is not None:
                return found
    return None


def parse_date_value(
    value: str, today: date | None = None, *, day_first: bool = False
) -> date | None:
    """A date from a form value ("1962-03-03", "3/14/2000", "March 3, 1962").

    Only past dates from 1900 on count: this is for dates of birth.
    """
    today = today or date.today()
    value = value.strip()[:120]
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value[:10]) if len(value) >= 10 else None
    except ValueError:
        parsed = None
    if parsed is not None and 1900 <= parsed.year and parsed <= today:
        return parsed
    return _first_date(value, today, day_first)


def find_date_of_birth(
    text: str, today: date | None = None, *, day_first: bool = False
) -> tuple[date | None, str | None]:
    """The first date of birth announced by a keyword in free text.

    Returns (date, None) when one parses, (None, the words after the keyword)
    when a keyword is followed by digits that are not a date, else (None, None).
    """
    today = today or date.today()
    unparsed: str | None = None
    for hits, match in enumerate(_DOB_KEYWORD_RE.finditer(text)):
        if hits >= _MAX_KEYWORD_HITS:
            break
        window = text[match.end() : match.end() + _DOB_WINDOW]
        # The window ends at the end of the line or sentence ("Aug. 22" and
        # "5.5.1990" do not end a sentence: a capital letter must follow).
        cut = _WINDOW_END_RE.search(window)
        if cut:
            window = window[: cut.start()]
        found = _first_date(
            window, today, day_first=day_first or bool(match.group("es")), max_stops=3
        )
        if found is not None:
            return found, None
        if unparsed is None and looks_like_partial_date(window[:40]):
            unparsed = window[:40].strip(" :.-,\n\t") or None
    return None, unparsed


def looks_like_partial_date(text: str) -> bool:
    """Whether a text gives a day and month, maybe without the year ("born
    October twenty first", "3/14"); a bare year or a phone number does not."""
    if _PARTIAL_NUMERIC_RE.search(text[:200]):
        return True
    return any(isinstance(item, _Month) for item in _items(text[:200], 9999))


def find_any_date(
    text: str, today: date | None = None, *, day_first: bool = False
) -> date | None:
    """The first complete past date anywhere in a short text (a chat answer)."""
    return _first_date(text[:300], today or date.today(), day_first)


class TimestampError(ValueError):
    """A received_at value is not an ISO 8601 timestamp (message is safe)."""


def parse_timestamp(
    value: object, local_zone: tzinfo | None = None
) -> tuple[datetime, bool]:
    """An aware datetime from ISO 8601 text, and whether it carried an offset.

    A timestamp without an offset is read in ``local_zone`` (UTC if none).
    Raises TimestampError, whose message holds no part of the value.
    """
    if not isinstance(value, str):
        raise TimestampError("received_at is not a string")
    text = value.strip()
    if not text or len(text) > 64:
        raise TimestampError("received_at is not an ISO 8601 timestamp")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TimestampError("received_at is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=local_zone or UTC), False
    return parsed, True

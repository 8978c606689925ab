"""Capture step: contact details, names and insurance notes found in free text."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "US"
MAX_PHONES = 10
MAX_EMAILS = 10

# North American numbers as people write them: (312) 555-0117, 312.555.0117,
# +1 312 555 0117, 3125550117. Area code and exchange start with 2-9, so
# account numbers starting with 0 or 1 do not match.
_NANP_RE = re.compile(
    r"(?<![\w+])(?:\+?1[ \t.\-]{0,2})?"
    r"(?:\(\s{0,2}[2-9][0-9][0-9]\s{0,2}\)|[2-9][0-9][0-9])"
    r"[ \t.\-]{0,3}[2-9][0-9][0-9][ \t.\-]{0,3}[0-9]{4}(?![0-9\-])"
)
# Other countries only with an explicit +: +44 20 7946 0958.
_INTERNATIONAL_RE = re.compile(
    r"(?<![\w+])\+[2-9][0-9]{0,2}(?:[ \t.\-()]{0,2}[0-9]){6,13}(?![0-9])"
)
# A number right after one of these words is not a way to reach the sender.
_NOT_A_PHONE_RE = re.compile(
    r"(?:fax|account|acct|member|policy|claim|npi|mrn|id|group|invoice|order|"
    r"ref|reference|#)\W{0,6}(?:(?:no|number|num|is)\W{0,4})?$",
    re.IGNORECASE,
)

_EMAIL_RE = re.compile(
    r"(?<![\w.+%-])[A-Za-z0-9](?:[A-Za-z0-9._%+\-]{0,63})@"
    r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,62}\.){1,8}[A-Za-z]{2,24}(?![\w\-])"
)

_DIGIT_WORDS = {
    "zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3",
    "four": "4", "five": "5", "six": "6", "seven": "7", "eight": "8",
    "nine": "9",
}  # fmt: skip
# Seven or more spoken digits in a row ("seven seven three, five five five,
# oh one six seven"); each repetition eats one word, so this stays linear.
_SPOKEN_DIGITS_RE = re.compile(
    r"\b(?:(?:zero|oh|o|one|two|three|four|five|six|seven|eight|nine)"
    r"(?:[\s,.\-]{1,3}|$)){7,15}",
    re.IGNORECASE,
)

_INSURANCE_LINE_RE = re.compile(
    r"^[\s>*\-]{0,6}(?:insurance(?:\s+(?:carrier|provider|plan|company|info))?|"
    r"health\s+plan|ins\.|seguro(?:\s+m[eé]dico)?|aseguranza|"
    r"aseguradora)\s{0,3}[:\-\u2013]\s{0,3}(\S.{0,300})$",
    re.IGNORECASE,
)

# "My insurance is Aetna PPO", "Her insurance is Medicare with a supplement".
_INSURANCE_PROSE_RE = re.compile(
    r"\b(?:my|her|his|their|our|the\s+patient'?s|patient'?s|mi|su)\s+"
    r"(?:insurance|coverage|health\s+plan|seguro(?:\s+m[eé]dico)?)\s+"
    r"(?:is\s+now|is|will\s+be|es)\s+([^.\n;]{2,160})",
    re.IGNORECASE,
)
_SELF_PAY_RE = re.compile(
    r"\b(?:self[-\s]?pay(?:ing)?|cash[-\s]pay(?:ing)?|pay(?:ing)?\s+(?:in\s+)?cash|"
    r"uninsured|(?:no|don'?t\s+have|do\s+not\s+have)\s+(?:health\s+)?insurance|"
    r"sin\s+seguro|no\s+(?:tengo|tiene|tenemos)\s+seguro|"
    r"pagar[aáé]?\s+en\s+efectivo|pagar[aá]?\s+por\s+su\s+cuenta)\b",
    re.IGNORECASE,
)
_NOT_A_PLAN_RE = re.compile(r"^(?:\w+ing|not|still|asking|saying)\b", re.IGNORECASE)
_SPANISH_WORD_RE = re.compile(
    r"\b(?:de|que|mi|para|por|los|las|el|la|una|hola|gracias|necesito|tengo|"
    r"quiero|cita|usted|su|es|con|del|buenos|buenas|favor)\b",
    re.IGNORECASE,
)
_WORD_RE = re.compile(r"\w+")

_NAME_WORD = r"[A-Z\u00C0-\u00DE][A-Za-z\u00C0-\u024F'\u2019\-]{0,30}"
_NAME_RE = re.compile(rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{1,2}}")
_NAME_LEAD_RE = re.compile(
    r"^(?:(?:hi|hello|hey|hola|yes|yeah|yep|sure|ok|okay|so|um+|uh+|er|"
    r"it'?s|it\s+is|this\s+is|my\s+name\s+is|my\s+name'?s|name'?s|"
    r"i'?m|i\s+am|me\s+llamo|mi\s+nombre\s+es|soy|es|sí|si)\b[\s,.:\-]*)+",
    re.IGNORECASE,
)
_INTRO_RE = re.compile(
    rf"(?i:\b(?:this\s+is|my\s+name\s+is|name'?s|me\s+llamo|"
    rf"mi\s+nombre\s+es)\s+(?:(?:uh+|um+|er)[\s,.]+)?)({_NAME_WORD}(?:[ \t]+"
    rf"{_NAME_WORD}){{1,2}})"
)
_NAME_DATE_LINE_RE = re.compile(
    rf"^\s{{0,4}}[-*\u2022]?\s{{0,2}}({_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{1,2}})"
    r"\s{0,3}[-\u2013:,(]\s{0,3}([0-9][0-9/.\-]{5,9})\)?\s*$"
)
# "Hi, it's Mei Lin Zhao": only at the start of a turn, where "it's" is the
# caller naming themselves rather than "it's Blue Cross".
_TURN_START_NAME_RE = re.compile(
    rf"(?im:^[ \t]{{0,4}}(?:(?:hi|hello|hey|um+|uh+)[,.!]?[ \t]+){{0,3}}"
    rf"it'?s[ \t]+(?:(?:uh+|um+)[, ]+)?)({_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{1,2}})"
)
_NOT_NAMES = frozenset(
    {
        "i", "im", "dr", "doctor", "mr", "mrs", "ms", "miss", "the", "hi",
        "hello", "hola", "my", "yes", "no", "ok", "okay", "thanks", "thank",
        "please", "patient", "caller", "staff", "maple", "grove", "family",
        "medicine", "dear", "good", "buenos", "buenas", "gracias", "sorry",
        "nurse", "bot", "visitor", "insurance", "date", "birth", "dob",
        "blue", "cross", "shield", "aetna", "cigna", "united", "humana",
        "medicare", "medicaid", "tricare", "kaiser", "anthem",
    }
)  # fmt: skip


def _possible_e164(text: str) -> str | None:
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    # "Possible" rather than "valid": fictional 555 numbers must still count.
    if not phonenumbers.is_possible_number(number):
        return None
    if number.country_code == 1:
        national = str(number.national_number)
        if len(national) != 10 or national[0] in "01" or national[3] in "01":
            return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(value: str) -> str | None:
    """E.164 form of one phone value (a form field or caller id), if possible."""
    value = value.strip()[:40]
    if not value or sum(ch.isdigit() for ch in value) < 7:
        return None
    return _possible_e164(value)


def local_number(value: str) -> str | None:
    """A seven-digit local number ("555-0142") from a phone field, else None."""
    digits = "".join(ch for ch in value.strip()[:40] if ch.isdigit())
    if len(digits) != 7 or digits[0] in "01":
        return None
    return f"{digits[:3]}-{digits[3:]}"


def spoken_digits_to_numerals(text: str) -> str:
    """Turn runs of spoken digits into numerals so phone numbers can be found."""

    def numerals(match: re.Match[str]) -> str:
        words = re.findall(r"[A-Za-z]+", match.group(0))
        return "".join(_DIGIT_WORDS[w.lower()] for w in words) + " "

    return _SPOKEN_DIGITS_RE.sub(numerals, text)


def find_phones(text: str, limit: int = MAX_PHONES) -> list[str]:
    """E.164 phone numbers written in free text, in order, without duplicates.

    Numbers right after "fax", "account", "member id" and similar words are
    skipped: they do not reach the sender. Other people's numbers written in
    the sender's words (a pharmacy's, say) are kept: telling them apart needs
    reading the sentence, which is left to staff.
    """
    found: list[str] = []
    matches = list(_NANP_RE.finditer(text)) + list(_INTERNATIONAL_RE.finditer(text))
    matches.sort(key=lambda m: m.start())
    for match in matches:
        before = text[max(0, match.start() - 24) : match.start()]
        if _NOT_A_PHONE_RE.search(before):
            continue
        number = _possible_e164(match.group(0))
        if number and number not in found:
            found.append(number)
            if len(found) >= limit:
                break
    return found


def normalize_email(value: str) -> str | None:
    match = _EMAIL_RE.search(value.strip()[:320])
    return match.group(0).lower() if match else None


def find_emails(text: str, limit: int = MAX_EMAILS) -> list[str]:
    found: list[str] = []
    for match in _EMAIL_RE.finditer(text):
        address = match.group(0).lower().rstrip(".")
        if address not in found:
            found.append(address)
            if len(found) >= limit:
                break
    return found


def find_insurance_line(text: str) -> str | None:
    """The value of an "Insurance: ..." (or "Seguro: ...") line, if any."""
    for line in text.split("\n", 2_000)[:2_000]:
        if len(line) > 400:
            continue
        match = _INSURANCE_LINE_RE.match(line)
        if match:
            return match.group(1).strip()
    return None


def find_insurance_note(text: str) -> str | None:
    """An insurance or payment note in free text.

    In order: an "Insurance: ..." line, a sentence like "my insurance is
    ...", then a self-pay statement (the sentence around it).
    """
    line = find_insurance_line(text)
    if line:
        return line
    for index, match in enumerate(_INSURANCE_PROSE_RE.finditer(text)):
        if index >= 20:
            break
        value = match.group(1).strip()
        if not _NOT_A_PLAN_RE.match(value):
            return value
    self_pay = _SELF_PAY_RE.search(text)
    if self_pay is None:
        return None
    # The sentence around the statement, at most 160 characters either side.
    head, tail = self_pay.start(), self_pay.end()
    before = max(text.rfind(".", 0, head), text.rfind("\n", 0, head))
    start = max(before + 1, head - 160)
    period = text.find(".", tail)
    newline = text.find("\n", tail)
    ends = [i for i in (period + 1 if period >= 0 else -1, newline) if i >= 0]
    end = min([*ends, len(text), tail + 160])
    return text[start:end].strip()


def looks_spanish(text: str) -> bool:
    """A rough guess that a text is written in Spanish (for day-first dates)."""
    sample = text[:3_000]
    words = len(_WORD_RE.findall(sample))
    hits = len(_SPANISH_WORD_RE.findall(sample))
    return hits >= 4 and hits * 8 >= words


def name_and_date_lines(text: str) -> list[tuple[str, str]]:
    """Short "Name - date" lines ("Mateo Ruiz - 10/02/2016"): (name, rest)."""
    found: list[tuple[str, str]] = []
    for line in text.split("\n", 1_000)[:1_000]:
        if len(line) > 100:
            continue
        match = _NAME_DATE_LINE_RE.match(line)
        if match and _plausible_name(match.group(1)):
            found.append((match.group(1), match.group(2)))
    return found


def _plausible_name(candidate: str) -> str | None:
    words = candidate.split()
    while words and words[-1].lower().strip("'\u2019") in _NOT_NAMES:
        words.pop()
    if len(words) < 2 or words[0].lower().strip(".") in _NOT_NAMES:
        return None
    if any(w.lower() in _NOT_NAMES for w in words):
        return None
    return " ".join(words)


def name_from_answer(answer: str) -> str | None:
    """A person's name at the start of an answer to "what is your name?"."""
    head = _NAME_LEAD_RE.sub("", answer.strip()[:200], count=1)
    match = _NAME_RE.match(head)
    if match and (name := _plausible_name(match.group(0))):
        return name
    # "It's Crystal. Crystal Dunmore.": the full name a little further on.
    for candidate in _NAME_RE.finditer(head[:80]):
        if name := _plausible_name(candidate.group(0)):
            return name
    return None


def name_from_introduction(text: str) -> str | None:
    """A self-introduction: "this is Ana Diaz", "my name is ...", "me llamo ..."."""
    for pattern in (_INTRO_RE, _TURN_START_NAME_RE):
        for index, match in enumerate(pattern.finditer(text)):
            if index >= 20:
                break
            name = _plausible_name(match.group(1))
            if name:
                return name
    return None


def split_name(full: str) -> tuple[str | None, str | None]:
    parts = full.split()
    if not parts:
        return None, None
    if len(parts) == 1:
        return parts[0], None
    return " ".join(parts[:-1]), parts[-1]

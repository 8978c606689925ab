"""PHI boundary: replace identifiers by placeholders before text leaves, restore after.

The AI model layer sends a vendor only what the task needs: the request's own
words with names, dates of birth and other full dates, phone numbers, emails,
street addresses and member/policy/record numbers replaced by stable
placeholders (``[NAME_1]``, ``[DOB_1]``, ``[DATE_1]``, ``[PHONE_1]``,
``[EMAIL_1]``, ``[ADDRESS_1]``, ``[ID_1]``). The mapping back to the real
values lives in memory only, inside one :class:`Redactor`, and cannot be
pickled, so it never reaches Prefect results or logs.

Detection is rules-based and errs towards removing too much: known identity
fields of the record first, then patterns (``phonenumbers`` plus loose digit
runs, spoken digits and dates as phone transcripts carry them, emails, street
addresses, id numbers after cue words), then name heuristics ("my name is",
"this is", relatives, honorifics, signatures, a name just before a date of
birth or phone number). Known gap: a name that appears with none of these cues
and is not in the record's identity fields (e.g. a third person mentioned in
passing) is not found; a NER model would lift that, at the cost of a
dependency and slower intake.

:class:`RedactingFilter` is a second line of defence for logs: it scrubs phone
numbers, emails and date-like strings from any log record it sees.
"""

from __future__ import annotations

import logging
import numbers
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

import phonenumbers

from intake.models import IntakeRecord

PLACEHOLDER_KINDS = ("NAME", "DOB", "DATE", "PHONE", "EMAIL", "ADDRESS", "ID")
PLACEHOLDER_RE = re.compile(r"\[(?:NAME|DOB|DATE|PHONE|EMAIL|ADDRESS|ID)_\d+\]")

# Redacted text sent to a model is cut to this many characters: enough for any
# real request (the dev set's longest is ~1,500), and a bound on what a hostile
# payload can cost.
MAX_MODEL_TEXT_CHARS = 3000

# --------------------------------------------------------------------------
# Vocabulary for spoken numbers and dates (English and Spanish transcripts)

_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|"
    "november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|"
    "octubre|noviembre|diciembre"
)
_NUMBER_WORDS = (
    # Longest alternatives first so the regex does not stop at a prefix.
    "seventeenth|thirteenth|fourteenth|eighteenth|nineteenth|fifteenth|"
    "sixteenth|seventeen|thirteen|fourteen|eighteen|nineteen|fifteen|sixteen|"
    "twentieth|thirtieth|eleventh|twelfth|seventy|fourty|eighty|ninety|"
    "twenty|thirty|forty|fifty|sixty|eleven|twelve|hundred|thousand|"
    "seventh|second|fourth|eighth|first|third|fifth|sixth|ninth|tenth|"
    "zero|one|two|three|four|five|six|seven|eight|nine|ten|oh|"
    "novecientos|ochocientos|diecinueve|dieciocho|diecisiete|dieciséis|"
    "dieciseis|veintinueve|veintiocho|veintisiete|veintiséis|veintiseis|"
    "veinticinco|veinticuatro|veintitrés|veintitres|veintidós|veintidos|"
    "veintiuno|cuarenta|cincuenta|sesenta|setenta|ochenta|noventa|treinta|"
    "primero|catorce|quince|veinte|cuatro|cinco|siete|nueve|trece|"
    "ocho|once|doce|diez|seis|tres|dos|uno|una|cero|mil"
)
_DIGIT_WORDS = (
    "zero|oh|one|two|three|four|five|six|seven|eight|nine|"
    "cero|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve"
)
_NUM_WORD = rf"(?:{_NUMBER_WORDS})(?:-(?:{_NUMBER_WORDS}))?"
_DATE_TOKEN = (
    rf"(?:(?:{_MONTHS})\.?|{_NUM_WORD}|\d{{1,4}}(?:st|nd|rd|th)?|of|de|del|y|the|el)"
)
_DATE_RUN_RE = re.compile(
    rf"(?<![\w])(?:{_DATE_TOKEN})(?:[\s,/.\-]+(?:{_DATE_TOKEN}))*(?![\w])",
    re.IGNORECASE,
)
_NUMBER_TOKEN_RE = re.compile(rf"^(?:{_NUM_WORD}|\d{{1,4}}(?:st|nd|rd|th)?)$", re.I)
_MONTH_TOKEN_RE = re.compile(rf"^(?:{_MONTHS})\.?$", re.IGNORECASE)
_CONNECTORS = {"of", "de", "del", "y", "the", "el"}

_DOB_CUE_RE = re.compile(
    r"(?<![\w])(?:date\s+of\s+birth|birth\s*date|d\.?\s?o\.?\s?b\.?|birthday|"
    r"born|fecha\s+de\s+nacimiento|nací|naci|nacid[oa]|cumpleaños)(?![\w])",
    re.IGNORECASE,
)
# How far after a cue a date of birth may start ("Name and date of birth?" /
# "Caller: Trevor Halloran, uh, five eighteen ninety-one").
_DOB_CUE_WINDOW = 80

_SPOKEN_PHONE_RE = re.compile(
    rf"(?<![\w])(?:{_DIGIT_WORDS})(?:[\s,.\-]+(?:{_DIGIT_WORDS})){{6,}}(?![\w])",
    re.IGNORECASE,
)

_NUMERIC_DATE_RE = re.compile(
    r"(?<![\w/])(?:(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})|(\d{4})-(\d{1,2})-(\d{1,2}))"
    r"(?![\w/])"
)
_MONTH_DATE_RE = re.compile(
    # "March 9, 1952", "March ninth, nineteen fifty two", "9 March 1952",
    # "el cinco de mayo de mil novecientos ochenta y seis"
    rf"(?<![\w])(?:"
    rf"(?:{_MONTHS})\.?\s+(?:\d{{1,2}}(?:st|nd|rd|th)?|{_NUM_WORD})\s*,?\s+"
    rf"(?:\d{{4}}|'\d{{2}}|{_NUM_WORD}(?:[\s\-]+(?:{_NUM_WORD}|y)){{0,5}})"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\.?,?\s+\d{{4}}"
    rf"|(?:\d{{1,2}}|{_NUM_WORD})\s+de\s+(?:{_MONTHS})\s+(?:de|del)\s+"
    rf"(?:\d{{4}}|{_NUM_WORD}(?:\s+(?:{_NUM_WORD}|y)){{0,5}})"
    rf")(?![\w])",
    re.IGNORECASE,
)

_EMAIL_RE = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_PHONE_LOOSE_RES = (
    re.compile(
        r"(?<![\w$#/])(?:\+?1[\s.\-]?)?\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]?\d{4}(?![\w/])"
    ),
    re.compile(r"(?<![\w$#/])\+\d{1,3}[\s.\-]?\d(?:[\s.\-]?\d){6,13}(?![\w/])"),
    re.compile(r"(?<![\w$#/.,])\d{3}[\s.\-]\d{4}(?![\w/])"),
)
_STREET_SUFFIX = (
    # "Dr" and "St" only when no capitalised word follows ("at 2 Dr Reyes").
    r"Street|St(?!\.?\s+[A-Z][a-z])|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|"
    r"Dr(?!\.?\s+[A-Z][a-z])|Lane|Ln|Way|Court|Ct|"
    r"Place|Pl|Parkway|Pkwy|Highway|Hwy|Terrace|Ter|Circle|Cir|Trail|Trl|Square|Sq"
)
_ADDRESS_RE = re.compile(
    rf"(?<![\w])\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:[A-Z0-9][\w'\-]*\s+){{0,4}}"
    rf"(?:{_STREET_SUFFIX})\.?(?![\w])"
    r"(?:,?\s*(?:Apt|Apartment|Suite|Ste|Unit|#)\.?\s*[\w\-]+)?"
    r"(?:,\s*[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)?"
    r"(?:,?\s*[A-Z]{2}(?:\s+\d{5}(?:-\d{4})?)?(?![\w]))?"
)
_PO_BOX_RE = re.compile(r"(?<![\w])P\.?\s?O\.?\s+Box\s+\d+(?![\w])", re.IGNORECASE)
_ID_CUE_RE = re.compile(
    r"(?<![\w])(?:member|subscriber|policy|group|account|acct|claim|check|"
    r"medical\s+record|record|chart|mrn|patient|portal|insurance|medicare|"
    r"medicaid|id|identification)"
    r"(?:\s*(?:id|identification|number|num|no\.?|#))?\s*(?:is|:|#|-)?\s*"
    r"(#?(?=[A-Za-z0-9\-]*\d{3})[A-Za-z0-9][A-Za-z0-9\-]{3,})(?![\w])",
    re.IGNORECASE,
)
_ID_TOKEN_RE = re.compile(
    r"(?<![\w\-])(?=[A-Z0-9\-]*\d{4})(?=[A-Z0-9\-]*[A-Z])[A-Z0-9][A-Z0-9\-]{5,}(?![\w])"
)

# --------------------------------------------------------------------------
# Names

_UPPER, _LOWER = "A-ZÀ-ÖØ-Þ", "a-zß-öø-ÿ"
# "Kayla", "McDonald", "O'Brien", "Lopez-Hart", "Villaseñor"; not "NOT" or "DOB".
_NAME_TOKEN = (
    rf"(?:[{_UPPER}]['’])?[{_UPPER}][{_LOWER}]*[{_LOWER}](?:[A-Z][a-z]+)?"
    rf"(?:['’\-][{_UPPER}][{_LOWER}]+)*"
)
_NAME_SEQ = rf"{_NAME_TOKEN}(?:\s+(?:[A-Z]\.\s+)?{_NAME_TOKEN}){{0,2}}"
_FILLER = r"(?:(?i:uh|um|umm|er|oh|yes|yeah|sure|it'?s|is)[,\s]+)*"
_RELATIONS = (
    r"wife|husband|partner|spouse|son|daughter|child|kid|baby|mom|mother|mum|dad|"
    r"father|grandmother|grandfather|grandma|grandpa|grandson|granddaughter|"
    r"brother|sister|aunt|uncle|niece|nephew|friend|fianc[ée]e?|boyfriend|"
    r"girlfriend|hijo|hija|esposo|esposa|mamá|mama|papá|papa|madre|padre"
)
# Cue words match in any case; the name itself must be capitalised.
_NAME_CUE_RES = (
    re.compile(
        r"(?<![\w])(?i:my\s+name\s+is|my\s+name'?s|name'?s|name\s+is|this\s+is|"
        r"it'?s|i'?m|i\s+am|me\s+llamo|soy|mi\s+nombre\s+es)[,\s]+"
        rf"{_FILLER}({_NAME_SEQ})"
    ),
    re.compile(
        rf"(?<![\w])(?i:(?:my|his|her|their|our|mi|su)\s+)?(?i:{_RELATIONS})"
        rf"[,:]?\s+({_NAME_SEQ})"
    ),
    re.compile(
        rf"(?<![\w])(?:Mr|Mrs|Ms|Miss|Mx|Sr|Sra|Srta)\.?\s+(?:[A-Z]\.\s*)?({_NAME_SEQ})"
    ),
    # Letters from firms and insurers: "represents Jane Doe", "Patient: Jane Doe".
    re.compile(
        r"(?<![\w])(?i:represents|representing|on\s+behalf\s+of|patient|client|"
        rf"insured|claimant|applicant)[:,]?\s+({_NAME_SEQ})"
    ),
    # A full name between dashes in a subject: "Notice of Claim - Jane Doe - ...".
    re.compile(rf"[\-–—]\s+({_NAME_TOKEN}\s+{_NAME_TOKEN})\s+[\-–—(]"),
    # A name given in answer to a question about the name.
    re.compile(
        r"(?<![\w\[])(?i:name|nombre)(?![\w])[^\n?]*\?\s*\n\s*"
        rf"(?:(?i:caller|visitor|patient)\s*:)?\s*{_FILLER}({_NAME_SEQ})"
    ),
    # Signatures: after a closing word, or a dash signature ("- Kate (mom)").
    re.compile(
        r"(?<![\w])(?i:thanks|thank\s+you|regards|best|sincerely|cheers|gracias|"
        r"saludos|atentamente|warmly|respectfully)[,!.]?[ \t]*\n?[ \t]*"
        rf"({_NAME_SEQ})[ \t]*(?:\(|$|\n|\.)",
        re.MULTILINE,
    ),
    re.compile(rf"(?:^|\s)[\-–—~]\s*({_NAME_SEQ})[ \t]*(?:\(|$)", re.MULTILINE),
)
# A name right before a date of birth, phone number or email:
# "Kayla Brennan [DOB_1] [PHONE_1]", "Rhonda Fields, [DOB_1], [EMAIL_1]".
_LABELS = (
    r"(?:(?i:uh|um|el|is|it'?s|dob|d\.o\.b\.?|date\s+of\s+birth|birthday|born|"
    r"phone|cell|tel|email|e-mail)[:,.\s]+)*"
)
_NAME_BEFORE_PLACEHOLDER_RE = re.compile(
    rf"({_NAME_SEQ})[,\s]+{_LABELS}\[(?:DOB|PHONE|EMAIL)_\d+\]"
)
# Two capitalised words side by side (overlapping: "Crystal Dunmore Smith").
_NAME_PAIR_RE = re.compile(
    rf"(?=(?<![\w])({_NAME_TOKEN})[ \t]+({_NAME_TOKEN})(?![\w]))"
)
# A line that is only a name, at the end of the text or above a DOB/phone line.
_NAME_LINE_RE = re.compile(
    rf"^[ \t]*[\-–—~]?[ \t]*({_NAME_SEQ})[ \t]*(?:\([^)\n]*\))?[ \t]*$", re.MULTILINE
)
# A signature line with a title: "Jane Doe, Referral Coordinator", "Jane Doe | CPA".
_NAME_TITLE_LINE_RE = re.compile(
    rf"^[ \t]*({_NAME_TOKEN}[ \t]+{_NAME_TOKEN}(?:[ \t]+{_NAME_TOKEN})?)[ \t]*[,|]"
    r"[ \t]*[A-Z][^\n]{0,60}$",
    re.MULTILINE,
)
_DETAIL_LINE_RE = re.compile(
    r"^\s*(?:dob|d\.o\.b|date of birth|phone|tel|cell|email|e-mail|\[)", re.I
)
_HONORIFIC_BEFORE_RE = re.compile(r"(?:Dr|Dra|Doctor|Doctora|Nurse|NP|PA)\.?\s*$")

# Capitalised words that are not names (greetings, calendar, roles, labels).
_NOT_NAMES = frozenset(
    """
    hi hello hey dear thanks thank please yes yeah no not okay ok sure sorry
    the a an and or but so if i im my mr mrs ms miss dr doctor nurse np pa md do
    rn staff caller visitor bot patient mom dad mother father sir maam madam
    monday tuesday wednesday thursday friday saturday sunday today tomorrow
    yesterday january february march april may june july august september
    october november december insurance phone email dob date birth name
    subject reason message refill appointment bill billing records record
    emergency urgent again also just here there this that it its
    hola gracias buenas buenos soy señora señor claro sí si usted el la
    maple grove family medicine medical center clinic office practice
    calling writing checking looking trying going wondering bye goodbye adios
    oh gosh um uh well yeah hmm sorry wait hold good morning afternoon evening
    his her hers him he she they their them your yours our we you me us
    prior refund request services service applicant unit department team group
    law offices firm life health plan card account statement letter notice
    aetna cigna humana medicare medicaid tricare united unitedhealthcare uhc anthem
    kaiser molina ambetter oscar wellcare blue cross shield bcbs meridian centene
    """.split()
)
_HONORIFICS = frozenset({"dr", "dra", "doctor", "doctora", "nurse"})
_CLOSING_LINE_RE = re.compile(
    r"^\s*(?:thanks|thank\s+you|regards|best(?:\s+regards)?|sincerely|cheers|"
    r"gracias|saludos|atentamente|warmly|respectfully)[,!.]?\s*$",
    re.IGNORECASE,
)


def _name_tokens(text: str) -> list[str]:
    return re.findall(_NAME_TOKEN, text)


class Redactor:
    """Replaces identifiers by stable placeholders and restores them locally.

    One redactor per request: the same value always gets the same placeholder,
    and :meth:`restore` puts the real values back into a model's answer. The
    mapping stays in this object's memory; it cannot be pickled or printed.
    """

    def __init__(
        self,
        *,
        names: Iterable[str] = (),
        dates_of_birth: Iterable[date | str] = (),
        phones: Iterable[str] = (),
        emails: Iterable[str] = (),
        ids: Iterable[str] = (),
        keep_words: Iterable[str] = (),
        region: str = "US",
        today: date | None = None,
    ) -> None:
        self._region = region
        self._today = today or date.today()
        self._keep = {w.casefold() for w in keep_words if w}
        self._originals: dict[str, str] = {}  # placeholder -> original text
        self._by_key: dict[tuple[str, str], str] = {}  # (kind, key) -> placeholder
        self._counts: dict[str, int] = {}
        self._names: dict[str, str] = {}  # name string -> placeholder
        self._known_dobs: set[date] = set()
        self._literals: list[tuple[str, str]] = []  # (kind, literal)

        for name in names:
            self._learn_name(name, known=True)
        for value in dates_of_birth:
            if isinstance(value, date):
                self._known_dobs.add(value)
            elif value and value.strip():
                parsed = self._parse_date_text(value)
                if parsed:
                    self._known_dobs.add(parsed)
                self._literals.append(("DOB", value.strip()))
        # Known contact values are also searched as written, in case a detector
        # below would miss their format; placeholders keep the first spelling seen.
        for kind, values in (("PHONE", phones), ("EMAIL", emails), ("ID", ids)):
            for value in values:
                if value and len(value.strip()) >= 4:
                    self._literals.append((kind, value.strip()))

    # -- construction from a record ---------------------------------------

    @classmethod
    def for_record(
        cls, record: IntakeRecord, *, keep_words: Iterable[str] = ()
    ) -> Redactor:
        """A redactor that knows the record's identity and contact fields."""
        patient = record.patient
        names = [
            patient.full_name,
            patient.first_name or "",
            patient.last_name or "",
            record.sender_name or "",
        ]
        dobs: list[date | str] = []
        if patient.date_of_birth:
            dobs.append(patient.date_of_birth)
        if patient.date_of_birth_text:
            dobs.append(patient.date_of_birth_text)
        ids = [patient.patient_id or "", record.contact.portal_account or ""]
        return cls(
            names=[n for n in names if n],
            dates_of_birth=dobs,
            phones=record.contact.phones,
            emails=record.contact.emails,
            ids=[i for i in ids if i],
            keep_words=keep_words,
        )

    # -- public API ---------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with every identifier found replaced by its placeholder."""
        if not text:
            return ""
        text = self._replace_literals(text)
        text = self._sub(_EMAIL_RE, "EMAIL", text)
        text = self._redact_phones(text)
        text = self._redact_dates_after_cues(text)
        text = self._redact_dates(text)
        text = self._redact_ids(text)
        text = self._sub(_ADDRESS_RE, "ADDRESS", text)
        text = self._sub(_PO_BOX_RE, "ADDRESS", text)
        return self._redact_names(text)

    def restore(self, text: str) -> str:
        """Put the original values back in place of this redactor's placeholders."""
        if not text:
            return text
        return PLACEHOLDER_RE.sub(
            lambda m: self._originals.get(m.group(0), m.group(0)), text
        )

    def placeholders(self) -> list[str]:
        """The placeholders issued so far (no values)."""
        return list(self._originals)

    def issued(self, placeholder: str) -> bool:
        return placeholder in self._originals

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in sorted(self._counts.items()))
        return f"Redactor({counts or 'empty'})"

    def __reduce__(self) -> Any:
        raise TypeError("a Redactor holds patient data and must stay in memory")

    # -- placeholders ---------------------------------------------------------

    def _placeholder(self, kind: str, key: str, original: str) -> str:
        existing = self._by_key.get((kind, key))
        if existing:
            return existing
        self._counts[kind] = self._counts.get(kind, 0) + 1
        placeholder = f"[{kind}_{self._counts[kind]}]"
        self._by_key[(kind, key)] = placeholder
        self._originals[placeholder] = original
        return placeholder

    def _sub(
        self,
        pattern: re.Pattern[str],
        kind: str,
        text: str,
        *,
        group: int = 0,
        key: Any = None,
    ) -> str:
        """Replace ``pattern``'s matches (or one group of them) outside placeholders."""
        out: list[str] = []
        last = 0
        protected = _placeholder_spans(text)
        for match in pattern.finditer(text):
            start, end = match.span(group)
            if start < last or start == end or _overlaps(start, end, protected):
                continue
            value = match.group(group)
            norm = key(value) if key else value.casefold()
            out.append(text[last:start])
            out.append(self._placeholder(kind, norm, value))
            last = end
        out.append(text[last:])
        return "".join(out)

    def _replace_spans(self, text: str, spans: list[tuple[int, int, str, str]]) -> str:
        """Replace (start, end, kind, key) spans, skipping overlaps and placeholders."""
        protected = _placeholder_spans(text)
        out: list[str] = []
        last = 0
        for start, end, kind, key in sorted(spans):
            if start < last or _overlaps(start, end, protected):
                continue
            out.append(text[last:start])
            out.append(self._placeholder(kind, key, text[start:end]))
            last = end
        out.append(text[last:])
        return "".join(out)

    # -- detectors -----------------------------------------------------------

    def _replace_literals(self, text: str) -> str:
        for kind, literal in sorted(self._literals, key=lambda kl: -len(kl[1])):
            pattern = re.compile(rf"(?<![\w]){re.escape(literal)}(?![\w])", re.I)
            text = self._sub(pattern, kind, text, key=lambda v, k=kind: _key(k, v))
        return text

    def _redact_phones(self, text: str) -> str:
        spans: list[tuple[int, int, str, str]] = []
        try:
            for match in phonenumbers.PhoneNumberMatcher(text, self._region):
                raw = match.raw_string
                digits = _digits(raw)
                if "/" in raw or len(digits) < 7:
                    continue
                spans.append((match.start, match.end, "PHONE", digits[-10:]))
        except Exception:  # noqa: BLE001 - the matcher must never break redaction
            pass
        text = self._replace_spans(text, spans)
        for pattern in _PHONE_LOOSE_RES:
            text = self._sub(pattern, "PHONE", text, key=lambda v: _digits(v)[-10:])
        return self._sub(
            _SPOKEN_PHONE_RE, "PHONE", text, key=lambda v: _spoken_digits(v)[-10:]
        )

    def _redact_dates_after_cues(self, text: str) -> str:
        spans: list[tuple[int, int, str, str]] = []
        for cue in _DOB_CUE_RE.finditer(text):
            limit = cue.end() + _DOB_CUE_WINDOW
            for run in _DATE_RUN_RE.finditer(text, cue.end()):
                if run.start() > limit:
                    break
                span = _trim_date_run(run)
                if span is None:
                    continue
                start, end = span
                value = text[start:end]
                parsed = self._parse_date_text(value)
                key = parsed.isoformat() if parsed else _norm_words(value)
                spans.append((start, end, "DOB", key))
                break
        return self._replace_spans(text, spans)

    def _redact_dates(self, text: str) -> str:
        spans: list[tuple[int, int, str, str]] = []
        for match in _NUMERIC_DATE_RE.finditer(text):
            parsed = _parse_numeric_date(match, self._today)
            value = match.group(0)
            key = parsed.isoformat() if parsed else value
            spans.append((match.start(), match.end(), self._date_kind(parsed), key))
        for run in _DATE_RUN_RE.finditer(text):
            # "Trevor Halloran, uh, five eighteen ninety-one": a spoken
            # month-day-year with no cue left once the staff's question is gone.
            if _spoken_month_day_year(run.group(0)):
                spans.append((run.start(), run.end(), "DOB", _norm_words(run.group(0))))
        for match in _MONTH_DATE_RE.finditer(text):
            value = match.group(0)
            parsed = self._parse_date_text(value)
            key = parsed.isoformat() if parsed else _norm_words(value)
            # Spoken full dates with a year are nearly always a date of birth.
            kind = self._date_kind(parsed) if parsed else "DOB"
            spans.append((match.start(), match.end(), kind, key))
        return self._replace_spans(text, spans)

    def _date_kind(self, parsed: date | None) -> str:
        if parsed is None:
            return "DATE"
        if parsed in self._known_dobs or parsed.year <= self._today.year - 3:
            return "DOB"
        return "DATE"

    def _redact_ids(self, text: str) -> str:
        text = self._sub(_ID_CUE_RE, "ID", text, group=1)
        return self._sub(_ID_TOKEN_RE, "ID", text)

    def _redact_names(self, text: str) -> str:
        # Learn names from cues until nothing new turns up (a learnt name can
        # reveal its neighbours, e.g. "Crystal. Crystal Dunmore.").
        for _ in range(3):
            before = len(self._names)
            for pattern in _NAME_CUE_RES:
                for match in pattern.finditer(text):
                    start = match.start(1)
                    if _HONORIFIC_BEFORE_RE.search(text[max(0, start - 10) : start]):
                        continue
                    self._learn_name(match.group(1))
            self._learn_name_lines(text)
            self._learn_surnames(text)
            text = self._replace_names(text)
            for match in _NAME_BEFORE_PLACEHOLDER_RE.finditer(text):
                start = match.start(1)
                if not _HONORIFIC_BEFORE_RE.search(text[max(0, start - 10) : start]):
                    self._learn_name(match.group(1))
            text = self._replace_names(text)
            if len(self._names) == before:
                break
        return text

    def _learn_surnames(self, text: str) -> None:
        """A known name next to another capitalised word: the full name.

        ("It's Crystal. Crystal Dunmore.", "Mr. Doe ... Richard Doe")
        """
        cased = self._single_names()
        if not cased:
            return
        for match in _NAME_PAIR_RE.finditer(text):
            first, second = match.group(1), match.group(2)
            if first in cased and not self._not_a_name(second):
                self._learn_name(f"{first} {second}")
            elif second in cased and not self._not_a_name(first):
                self._learn_name(f"{first} {second}")

    def _single_names(self) -> dict[str, str]:
        """Single-word names as first written (``"Crystal"``) -> their key."""
        out: dict[str, str] = {}
        for key, placeholder in self._names.items():
            if " " in key:
                continue
            original = self._originals.get(placeholder, key)
            cased = next(
                (t for t in original.split() if t.casefold() == key), key.capitalize()
            )
            out[cased] = key
        return out

    def _learn_name_lines(self, text: str) -> None:
        lines = text.splitlines()
        last_content = max((i for i, ln in enumerate(lines) if ln.strip()), default=-1)
        for i, line in enumerate(lines):
            match = _NAME_LINE_RE.match(line)
            if not match:
                continue
            after_closing = i > 0 and bool(_CLOSING_LINE_RE.match(lines[i - 1]))
            before_detail = i + 1 < len(lines) and bool(
                _DETAIL_LINE_RE.match(lines[i + 1])
            )
            if i == last_content or after_closing or before_detail:
                self._learn_name(match.group(1))
        # Titled signature lines count only in the closing lines of a text.
        tail = "\n".join(ln for ln in lines if ln.strip())
        tail = "\n".join(tail.splitlines()[-5:])
        for match in _NAME_TITLE_LINE_RE.finditer(tail):
            self._learn_name(match.group(1))

    def _learn_name(self, candidate: str, *, known: bool = False) -> None:
        """Remember a name (and its parts) so every occurrence is replaced."""
        candidate = " ".join(candidate.split())
        if not candidate:
            return
        if known:
            tokens = candidate.split()
        else:
            tokens = _name_tokens(candidate)
            if tokens and tokens[0].casefold().strip(".") in _HONORIFICS:
                return  # a clinician's name ("Doctor Oak"), not the patient's
            # Drop words that are not names from the ends ("Hello Kayla").
            while tokens and self._not_a_name(tokens[0]):
                tokens.pop(0)
            while tokens and self._not_a_name(tokens[-1]):
                tokens.pop()
            if not tokens or any(self._not_a_name(t) for t in tokens):
                return
        full = " ".join(tokens)
        key = full.casefold()
        placeholder = (
            self._names.get(key)
            or self._part_of_known(key)
            or self._placeholder("NAME", key, full)
        )
        self._names.setdefault(key, placeholder)
        min_len = 2 if known else 3
        # A known single name ("Bill" from the form's first-name field) counts
        # even when it is also a word; parts of longer names only when not.
        sole = known and len(tokens) == 1
        for token in tokens:
            part = token.strip(".,")
            if len(part) >= min_len and (sole or part.casefold() not in _NOT_NAMES):
                self._names.setdefault(part.casefold(), placeholder)

    def _part_of_known(self, key: str) -> str | None:
        """The placeholder of a full name that this single name is part of."""
        if " " in key:
            return None
        for name, placeholder in self._names.items():
            if key in name.split():
                return placeholder
        return None

    def _not_a_name(self, token: str) -> bool:
        folded = token.casefold().strip(".,")
        return folded in _NOT_NAMES or folded in self._keep or len(folded) < 2

    def _replace_names(self, text: str) -> str:
        if not self._names:
            return text
        spans: list[tuple[int, int, str, str]] = []
        # Multi-word names match case-insensitively ("kayla brennan"); single
        # words only as written or in capitals, so "Bill" the name does not
        # take "bill" the statement with it. One pattern per kind keeps this
        # to three regex compilations per text.
        multi = sorted((k for k in self._names if " " in k), key=len, reverse=True)
        if multi:
            body = "|".join(r"\s+".join(map(re.escape, k.split())) for k in multi)
            for match in re.finditer(rf"(?<![\w])(?:{body})(?![\w])", text, re.I):
                key = " ".join(match.group(0).casefold().split())
                if key in self._names:
                    spans.append((match.start(), match.end(), "NAME", key))
        variants: dict[str, str] = {}
        for cased, key in self._single_names().items():
            variants[cased] = key
            variants[cased.upper()] = key
        if variants:
            body = "|".join(map(re.escape, sorted(variants, key=len, reverse=True)))
            for match in re.finditer(rf"(?<![\w])(?:{body})(?![\w])", text):
                key = variants[match.group(0)]
                spans.append((match.start(), match.end(), "NAME", key))
        # Spelled out letter by letter: "M-O-N-T-O-Y-A", "B E L L".
        spelled = [k for k in variants.values() if len(k) >= 3 and k.isalpha()]
        if spelled:
            body = "|".join(r"[\s.\-]+".join(map(re.escape, k)) for k in spelled)
            pattern = rf"(?<![\w])(?:{body})\.?(?![\w])"
            for match in re.finditer(pattern, text, re.I):
                key = re.sub(r"[\s.\-]", "", match.group(0)).casefold()
                if key in self._names:
                    spans.append((match.start(), match.end(), "NAME", key))
        return self._replace_name_spans(text, spans)

    def _replace_name_spans(
        self, text: str, spans: list[tuple[int, int, str, str]]
    ) -> str:
        """Like _replace_spans, but names map to their learnt placeholder."""
        protected = _placeholder_spans(text)
        out: list[str] = []
        last = 0
        # Longest first at the same start, so "Crystal Dunmore" beats "Crystal".
        for start, end, _kind, key in sorted(spans, key=lambda s: (s[0], -s[1])):
            if start < last or _overlaps(start, end, protected):
                continue
            out.append(text[last:start])
            out.append(self._names[key])
            last = end
        out.append(text[last:])
        return "".join(out)

    # -- date parsing ----------------------------------------------------------

    def _parse_date_text(self, value: str) -> date | None:
        match = _NUMERIC_DATE_RE.search(value)
        if match:
            return _parse_numeric_date(match, self._today)
        month = re.search(rf"(?<![\w])({_MONTHS})(?![\w])", value, re.I)
        day_year = re.findall(r"\d{1,4}", value)
        if month and len(day_year) == 2:
            try:
                year = int(day_year[1])
                return date(year, _month_number(month.group(1)), int(day_year[0]))
            except ValueError:
                return None
        return None


# --------------------------------------------------------------------------
# Helpers


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _key(kind: str, value: str) -> str:
    """The identity of a value: the same phone or email gets the same placeholder."""
    if kind == "PHONE":
        return _digits(value)[-10:]
    return value.casefold()


_SPOKEN_DIGIT = {
    "zero": "0", "oh": "0", "cero": "0", "one": "1", "uno": "1", "two": "2",
    "dos": "2", "three": "3", "tres": "3", "four": "4", "cuatro": "4",
    "five": "5", "cinco": "5", "six": "6", "seis": "6", "seven": "7",
    "siete": "7", "eight": "8", "ocho": "8", "nine": "9", "nueve": "9",
}  # fmt: skip


def _spoken_digits(value: str) -> str:
    return "".join(_SPOKEN_DIGIT.get(w, "") for w in re.findall(r"\w+", value.lower()))


def _norm_words(value: str) -> str:
    return " ".join(re.findall(r"\w+", value.casefold()))


def _month_number(name: str) -> int:
    name = name.casefold().rstrip(".")
    english = [
        "jan", "feb", "mar", "apr", "may", "jun",
        "jul", "aug", "sep", "oct", "nov", "dec",
    ]  # fmt: skip
    spanish = [
        "ene", "feb", "mar", "abr", "may", "jun",
        "jul", "ago", "sep", "oct", "nov", "dic",
    ]  # fmt: skip
    prefix = name[:3]
    if prefix in english:
        return english.index(prefix) + 1
    if prefix == "set":
        return 9
    return spanish.index(prefix) + 1


def _parse_numeric_date(match: re.Match[str], today: date) -> date | None:
    try:
        if match.group(5):
            return date(int(match.group(5)), int(match.group(6)), int(match.group(7)))
        month, day, year_text = int(match.group(1)), int(match.group(3)), match.group(4)
        year = int(year_text)
        if len(year_text) == 2:
            year += 2000 if year <= today.year % 100 else 1900
        return date(year, month, day)
    except ValueError:
        return None


_SMALL_NUMBERS = {
    word: value
    for value, words in enumerate(
        [
            "zero oh cero", "one first uno una primero", "two second dos",
            "three third tres", "four fourth cuatro", "five fifth cinco",
            "six sixth seis", "seven seventh siete", "eight eighth ocho",
            "nine ninth nueve", "ten tenth diez", "eleven eleventh once",
            "twelve twelfth doce",
        ]
    )
    for word in words.split()
}  # fmt: skip


def _spoken_month_day_year(run: str) -> bool:
    """Three or more number words starting with a month number (1-12)."""
    words = [w for w in re.split(r"[\s,/.]+", run.casefold()) if w]
    if len(words) < 3 or any(not _NUMBER_TOKEN_RE.match(w) for w in words):
        return False
    if any(w.isdigit() for w in words):
        return False  # digits are the numeric date pattern's job
    return 1 <= _SMALL_NUMBERS.get(words[0], 0) <= 12


def _trim_date_run(run: re.Match[str]) -> tuple[int, int] | None:
    """The span of a date-like run without edge connectors, if it looks like a date.

    A date has a month and a number, or at least two numbers ("nine nine
    forty-nine"); a lone number ("two days") is not one.
    """
    tokens = list(re.finditer(r"[^\s,/.\-]+(?:-[^\s,/.\-]+)*", run.group(0)))
    while tokens and tokens[0].group(0).casefold() in _CONNECTORS:
        tokens.pop(0)
    while tokens and tokens[-1].group(0).casefold() in _CONNECTORS:
        tokens.pop()
    words = [t.group(0) for t in tokens]
    numbers = sum(1 for w in words if _NUMBER_TOKEN_RE.match(w))
    months = sum(1 for w in words if _MONTH_TOKEN_RE.match(w))
    if numbers >= 2 or (months and numbers):
        return run.start() + tokens[0].start(), run.start() + tokens[-1].end()
    return None


def _placeholder_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in PLACEHOLDER_RE.finditer(text)]


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < s_end and s_start < end for s_start, s_end in spans)


# --------------------------------------------------------------------------
# The minimal text a model needs


def _practice_words() -> list[str]:
    """Practice, location and provider names: never mistaken for patient names."""
    from intake.config import ConfigError, practice

    try:
        config = practice() or {}
    except ConfigError:
        return []
    words: list[str] = [str(config.get("practice_name", ""))]
    for location in config.get("locations", []) or []:
        words.append(str(location.get("name", "")))
        words.extend(str(a) for a in location.get("aliases", []) or [])
    for provider in config.get("providers", []) or []:
        words.append(str(provider.get("name", "")))
    return [w for phrase in words for w in re.findall(r"[^\W\d_]+", phrase)]


_TAG_RE = re.compile(r"<[^>]{0,200}>")


def _plain(text: str) -> str:
    """Text without HTML tags (line breaks kept): fewer tokens, no hidden markup."""
    text = re.sub(r"<\s*(?:br|/p|/div|/li)\s*/?>", "\n", text, flags=re.I)
    return _TAG_RE.sub("", text)


def redact_record(
    record: IntakeRecord, *, max_chars: int = MAX_MODEL_TEXT_CHARS
) -> tuple[str, Redactor]:
    """The minimal redacted text a model needs, and the redactor to restore answers.

    Only the subject, the form's reason and the sender's own words go in;
    quoted email history, signatures kept apart by capture, contact fields and
    attachments' names stay home.
    """
    redactor = Redactor.for_record(record, keep_words=_practice_words())
    parts: list[str] = []
    if record.subject:
        parts.append(f"Subject: {_plain(record.subject).strip()}")
    if record.form_reason:
        parts.append(f"Reason: {_plain(record.form_reason).strip()}")
    if record.request_text:
        parts.append(_plain(record.request_text).strip())
    text = redactor.redact("\n".join(parts))
    if len(text) > max_chars:
        cut = text.rfind(" ", 0, max_chars)
        cut = cut if cut > max_chars // 2 else max_chars
        # Never cut a placeholder in half.
        opening = text.rfind("[", 0, cut)
        if opening != -1 and "]" not in text[opening:cut]:
            cut = opening
        text = text[:cut] + " [...]"
    return text, redactor


# --------------------------------------------------------------------------
# Logs


_LOG_DATE_RES = (
    _NUMERIC_DATE_RE,
    _MONTH_DATE_RE,
    re.compile(r"(?<![\w/])\d{1,2}/\d{1,2}(?![\w/])"),
)


def scrub(text: str) -> str:
    """``text`` with phone numbers, emails and date-like strings blanked out.

    For logs: no mapping is kept, and nothing is restored.
    """
    text = _EMAIL_RE.sub("[EMAIL]", text)
    for pattern in _LOG_DATE_RES:
        text = pattern.sub("[DATE]", text)
    try:
        matches = list(phonenumbers.PhoneNumberMatcher(text, "US"))
    except Exception:  # noqa: BLE001 - scrubbing must never break logging
        matches = []
    for match in reversed(matches):
        text = text[: match.start] + "[PHONE]" + text[match.end :]
    for pattern in _PHONE_LOOSE_RES:
        text = pattern.sub("[PHONE]", text)
    return text


class RedactingFilter(logging.Filter):
    """Scrubs phone numbers, emails and dates from log messages and their args.

    A second line of defence: product code logs ids, labels and counts only,
    but a library (or a mistake) might format a value into a message. Attach it
    to handlers (``intake.logging_setup.install_redacting_filter``) so records
    from every logger pass through it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        else:
            record.msg = scrub(str(record.msg))
        if isinstance(record.args, dict):
            record.args = {k: _scrub_arg(v) for k, v in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_scrub_arg(a) for a in record.args)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


def _scrub_arg(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, numbers.Number) or value is None:
        return value  # %d and %f need numbers; a bare number is not a phone
    # Anything else is formatted with %s: scrub what it would print.
    return scrub(str(value))

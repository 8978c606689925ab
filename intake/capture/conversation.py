"""Capture step: conversations (phone transcripts, chats) split by speaker.

Only the sender's turns become ``request_text``; staff and bot turns go to
``quoted_text`` so their words never count for triage. A staff question is
still read, though, to make sense of the answer after it: "Name and date of
birth?" followed by "Sam Iverson, January eighth, seventy-nine".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from intake.capture import dates, extract
from intake.capture.context import CaptureContext
from intake.capture.text import NOTE_CAP, clean_text

_SENTENCE_RE = re.compile(r"[^.!?\u00bf\u00a1]*[.!?]+|[^.!?]+$")
_ASKS_DOB_RE = re.compile(
    r"date\s+of\s+birth|birth\s*date|birthday|\bdob\b|\bd\.o\.b|born|nacimiento|"
    r"cumplea",
    re.IGNORECASE,
)
_ASKS_NAME_RE = re.compile(
    r"\bname\b|\bnombre\b|who\s+(?:am\s+i|i'?m)\s+speaking|spell", re.IGNORECASE
)
# "What's his name?" asks about the patient, not the caller.
_ASKS_OTHER_NAME_RE = re.compile(
    r"\b(?:his|her|their|the\s+patient'?s|the\s+child'?s|[A-Za-z]+'s)\s+"
    r"(?:full\s+)?name\b|\bsu\s+nombre\s+de\s+(?:él|ella)\b",
    re.IGNORECASE,
)
_ASKS_INSURANCE_RE = re.compile(
    r"\binsurance\b|\binsured\b|\bseguro\b|\baseguranza\b|\bplan\s+de\s+salud\b",
    re.IGNORECASE,
)
_SPANISH_RE = re.compile(r"nacimiento|nombre|tel[eé]fono|usted|\bsu\b", re.IGNORECASE)


@dataclass(frozen=True)
class Turn:
    sender: bool  # True: the caller or visitor; False: staff or bot
    label: str  # how the turn is shown in quoted_text ("Staff", "Bot")
    text: str  # already cleaned


def _questions(text: str) -> str:
    """The question sentences of a staff turn (or its last sentence)."""
    sentences = [s.strip() for s in _SENTENCE_RE.findall(text[:2_000]) if s.strip()]
    asked = [s for s in sentences if s.endswith("?")]
    return " ".join(asked or sentences[-1:])


def capture_turns(ctx: CaptureContext, turns: list[Turn], *, cap: int) -> None:
    """Fill request_text, quoted_text and the answers to staff questions."""
    record = ctx.record
    own = "\n".join(t.text for t in turns if t.sender and t.text)
    others = "\n".join(f"{t.label}: {t.text}" for t in turns if not t.sender and t.text)
    record.request_text, cut_own = clean_text(own, cap)
    record.quoted_text, cut_others = clean_text(others, cap)
    if cut_own:
        ctx.note(f"the sender's turns were cut to {cap:,} characters")
    if cut_others:
        ctx.note(f"the staff turns were cut to {cap:,} characters")

    for previous, turn in zip(turns, turns[1:], strict=False):
        if previous.sender or not turn.sender or not turn.text:
            continue
        question = _questions(previous.text)
        if not question:
            continue
        if _ASKS_DOB_RE.search(question) and record.patient.date_of_birth is None:
            day_first = _SPANISH_RE.search(question) is not None
            found = dates.find_any_date(turn.text, ctx.today, day_first=day_first)
            ctx.set_dob(found)
            patient = record.patient
            if (
                found is None
                and patient.date_of_birth_text is None
                and dates.looks_like_partial_date(turn.text)
            ):
                # "She was born October twenty first": no year, but said.
                patient.date_of_birth_text = clean_text(
                    turn.text, 64, single_line=True
                )[0]
        if _ASKS_OTHER_NAME_RE.search(question):
            name = extract.name_from_answer(turn.text)
            if name and not record.patient.last_name:
                first, last = extract.split_name(name)
                record.patient.first_name, record.patient.last_name = first, last
        elif _ASKS_NAME_RE.search(question) and not record.sender_name:
            ctx.set_sender_name(extract.name_from_answer(turn.text))
        if _ASKS_INSURANCE_RE.search(question) and record.insurance_note is None:
            record.insurance_note = clean_text(turn.text, NOTE_CAP, single_line=True)[0]

    if not record.sender_name:
        ctx.set_sender_name(extract.name_from_introduction(record.request_text))
    ctx.extract_from_text(record.request_text, spoken=True)

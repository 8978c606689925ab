"""Capture step: the record under construction and the problems met on the way.

Channel parsers fill one ``CaptureContext``: every text goes through
``clean`` (hygiene and caps), every contact through ``add_phone`` /
``add_email``, and anything wrong is reported with ``problem`` using a safe
detail (never payload content). The dispatcher turns the context into the
final ``IntakeRecord``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from intake.capture import dates, extract
from intake.capture.text import (
    NAME_CAP,
    NOTE_CAP,
    SHORT_CAP,
    TOKEN_CAP,
    clean_text,
)
from intake.models import Attachment, CaptureProblem, IntakeRecord

MAX_ATTACHMENTS = 100
FILENAME_CAP = 255

# When several things are wrong, the record carries the most serious one;
# capture_detail lists them all.
PROBLEM_ORDER: tuple[CaptureProblem, ...] = (
    CaptureProblem.INVALID_JSON,
    CaptureProblem.NOT_AN_OBJECT,
    CaptureProblem.UNKNOWN_CHANNEL,
    CaptureProblem.PAYLOAD_TOO_LARGE,
    CaptureProblem.UNPARSEABLE_EMAIL,
    CaptureProblem.MALFORMED_PAYLOAD,
    CaptureProblem.EMPTY_REQUEST,
    CaptureProblem.BAD_TIMESTAMP,
)

SCALARS = (str, int, float)


@dataclass
class CaptureContext:
    record: IntakeRecord
    today: date
    problems: list[tuple[CaptureProblem, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # -- reporting ----------------------------------------------------------

    def problem(self, kind: CaptureProblem, detail: str) -> None:
        """Record a problem; ``detail`` must not contain payload content."""
        if (kind, detail) not in self.problems:
            self.problems.append((kind, detail))

    def note(self, detail: str) -> None:
        """Record something staff should know that is not a problem."""
        if detail not in self.notes:
            self.notes.append(detail)

    def main_problem(self) -> CaptureProblem | None:
        kinds = {kind for kind, _ in self.problems}
        return next((kind for kind in PROBLEM_ORDER if kind in kinds), None)

    # -- values -------------------------------------------------------------

    def scalar(self, value: Any, label: str) -> str | None:
        """A payload value as text: strings and numbers pass, others are malformed."""
        if value is None:
            return None
        if isinstance(value, bool):
            self.problem(CaptureProblem.MALFORMED_PAYLOAD, f"{label} is not text")
            return None
        if isinstance(value, SCALARS):
            try:
                return str(value)
            except ValueError:  # an integer too long to print (over 4300 digits)
                self.problem(CaptureProblem.MALFORMED_PAYLOAD, f"{label} is too long")
                return None
        self.problem(CaptureProblem.MALFORMED_PAYLOAD, f"{label} is not text")
        return None

    def clean(
        self, value: Any, label: str, cap: int, *, single_line: bool = False
    ) -> str:
        """Hygiene for one payload text; "" when absent or unusable."""
        text = self.scalar(value, label)
        if not text:
            return ""
        cleaned, truncated = clean_text(text, cap, single_line=single_line)
        if truncated:
            self.note(f"{label} was cut to {cap:,} characters")
        return cleaned

    def short(self, value: Any, label: str, cap: int = SHORT_CAP) -> str | None:
        """A one-line field (name, location, ...); None when empty."""
        return self.clean(value, label, cap, single_line=True) or None

    # -- contact and identity -----------------------------------------------

    def add_phone(self, value: str | None) -> None:
        if not value:
            return
        number = extract.normalize_phone(value)
        phones = self.record.contact.phones
        if number and number not in phones and len(phones) < extract.MAX_PHONES:
            phones.append(number)
        elif number is None:
            local = extract.local_number(value)
            kept = self.record.contact.local_phones
            if local and local not in kept and len(kept) < extract.MAX_PHONES:
                kept.append(local)

    def add_email(self, value: str | None) -> None:
        if not value:
            return
        address = extract.normalize_email(value)
        emails = self.record.contact.emails
        if address and address not in emails and len(emails) < extract.MAX_EMAILS:
            emails.append(address)

    def set_dob_value(self, value: Any, label: str, *, day_first: bool = False) -> None:
        """A date of birth from a form-like field; kept as text if unparseable."""
        text = self.short(value, label, 64)
        if not text or self.record.patient.date_of_birth is not None:
            return
        parsed = dates.parse_date_value(text, self.today, day_first=day_first)
        if parsed is not None:
            self.record.patient.date_of_birth = parsed
            self.record.patient.date_of_birth_text = None
        elif self.record.patient.date_of_birth_text is None:
            self.record.patient.date_of_birth_text = text

    def set_dob(self, found: date | None) -> None:
        if found is not None and self.record.patient.date_of_birth is None:
            self.record.patient.date_of_birth = found
            self.record.patient.date_of_birth_text = None

    def set_sender_name(self, value: str | None) -> None:
        if value and not self.record.sender_name:
            name, _ = clean_text(value, NAME_CAP, single_line=True)
            self.record.sender_name = name or None

    def extract_from_text(self, *texts: str, spoken: bool = False) -> None:
        """Contacts, date of birth and insurance written in the sender's words.

        ``spoken`` also reads digits said as words (phone transcripts, chat).
        """
        present = [text for text in texts if text]
        day_first = any(extract.looks_spanish(text) for text in present)
        patient = self.record.patient
        for text in present:
            source = extract.spoken_digits_to_numerals(text) if spoken else text
            for number in extract.find_phones(source):
                self.add_phone(number)
            for address in extract.find_emails(text):
                self.add_email(address)
            if patient.date_of_birth is None:
                found, unparsed = dates.find_date_of_birth(
                    text, self.today, day_first=day_first
                )
                self.set_dob(found)
                if found is None and unparsed and patient.date_of_birth_text is None:
                    patient.date_of_birth_text = clean_text(
                        unparsed, 64, single_line=True
                    )[0]
            if self.record.insurance_note is None:
                note = extract.find_insurance_note(text)
                if note:
                    self.record.insurance_note = clean_text(
                        note, NOTE_CAP, single_line=True
                    )[0]
        # A list like "Mateo Ruiz - 10/02/2016" names people with their
        # dates of birth even without the words "date of birth".
        for text in present:
            if patient.date_of_birth is not None:
                break
            for _name, rest in extract.name_and_date_lines(text):
                found = dates.parse_date_value(rest, self.today, day_first=day_first)
                if found is not None:
                    self.set_dob(found)
                    break

    # -- attachments ----------------------------------------------------------

    def add_attachment(
        self, filename: Any, content_type: Any, size: Any, label: str
    ) -> None:
        if len(self.record.attachments) >= MAX_ATTACHMENTS:
            self.note(f"only the first {MAX_ATTACHMENTS} attachments were kept")
            return
        name = self.short(filename, f"{label} filename", FILENAME_CAP) or ""
        # A client path ("C:\\scans\\card.jpg") says nothing useful.
        name = name.replace("\\", "/").rsplit("/", 1)[-1]
        kind = self.short(content_type, f"{label} content_type", TOKEN_CAP) or ""
        kind = kind.lower()
        byte_size: int | None = None
        if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
            byte_size = size
        elif size is not None and not isinstance(size, int):
            self.problem(
                CaptureProblem.MALFORMED_PAYLOAD, f"{label} size is not a number"
            )
        self.record.attachments.append(
            Attachment(filename=name, content_type=kind, size=byte_size)
        )

    def add_attachment_list(self, value: Any, label: str) -> None:
        """A contract attachment list: ``[{filename, content_type}, ...]``."""
        if value is None:
            return
        if not isinstance(value, list):
            self.problem(CaptureProblem.MALFORMED_PAYLOAD, f"{label} is not a list")
            return
        for entry in value[: MAX_ATTACHMENTS + 1]:
            if isinstance(entry, dict):
                self.add_attachment(
                    entry.get("filename"),
                    entry.get("content_type"),
                    entry.get("size"),
                    label,
                )
            elif isinstance(entry, str):
                self.add_attachment(entry, None, None, label)
            else:
                self.problem(
                    CaptureProblem.MALFORMED_PAYLOAD,
                    f"an entry of {label} is not an object",
                )


def expect_dict(ctx: CaptureContext, value: Any, label: str) -> dict[str, Any]:
    """``value`` if it is an object; {} (and a problem) if it is something else."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    ctx.problem(CaptureProblem.MALFORMED_PAYLOAD, f"{label} is not an object")
    return {}

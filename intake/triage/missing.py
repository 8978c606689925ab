"""Missing details: what the next administrative step still needs.

Follows the contract (section "missing" and its clarifications) and the
rules in config/routing.yaml (missing_rules). Details count when given
anywhere: structured fields, the message, quoted history, signatures, a
transcript's spoken numbers, a referring office's note. Only what the next
administrative step needs; never clinical detail.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from intake.config import practice, routing
from intake.models import (
    Channel,
    IntakeRecord,
    MissingDetail,
    PatientStatus,
    Reason,
    RequestType,
)
from intake.triage import extract
from intake.triage.lexicon import Lexicon, lexicon
from intake.triage.text import Doc, normalize

_SENDER_PARTS = ("subject", "reason", "body")


@lru_cache(maxsize=1)
def _practice_names() -> tuple[tuple[str, ...], tuple[str, ...], set[str], set[str]]:
    """(location names and aliases, provider surnames, own phones, own domains)."""
    data = practice()
    locations: list[str] = []
    for loc in data.get("locations", []):
        locations.append(normalize(str(loc.get("name", ""))))
        locations.extend(normalize(str(a)) for a in loc.get("aliases", []))
    providers = tuple(
        normalize(str(p.get("name", ""))).split()[-1]
        for p in data.get("providers", [])
        if p.get("name")
    )
    own_phones = set(extract.phone_numbers(str(data.get("phone", "")), set()))
    return tuple(n for n in locations if n), providers, own_phones, set()


def _all_text(record: IntakeRecord) -> list[str]:
    """Every free text of the request, normalised (quoted history included)."""
    texts = [
        record.subject,
        record.form_reason,
        record.request_text,
        record.quoted_text,
    ]
    return [normalize(t) for t in texts if t]


def has_contact(record: IntakeRecord, texts: Iterable[str] | None = None) -> bool:
    """A phone number, an email or a portal account anywhere in the request.

    Free text counts a local number without its area code ("call me at
    555-0142"); capture keeps such a number from a structured field (a web
    form's phone, a caller id) in ``contact.local_phones``.
    """
    if record.contact.reachable:
        return True
    _locs, _provs, own_phones, own_domains = _practice_names()
    for text in texts if texts is not None else _all_text(record):
        if extract.phone_numbers(text, own_phones) or extract.emails(text, own_domains):
            return True
    return False


def has_date_of_birth(
    record: IntakeRecord, lex: Lexicon, texts: Iterable[str] | None = None
) -> bool:
    if record.patient.date_of_birth or record.patient.date_of_birth_text:
        return True
    received = record.received_at.date() if record.received_at else None
    for text in texts if texts is not None else _all_text(record):
        if extract.find_date_of_birth(text, lex, received):
            return True
    return False


def has_insurance(record: IntakeRecord, lex: Lexicon, texts: list[str]) -> bool:
    """An insurance or payment note ("self-pay" counts as given), or an
    insurance card attached."""
    keys = ("payers", "self_pay", "insurance_mentions")
    note = normalize(record.insurance_note or "")
    if note.strip():
        # "I'll have to check and call you back" answers nothing.
        named = any(lex.details[k].search(note) for k in keys)
        if named or not lex.details["insurance_non_answers"].search(note):
            return True
    if any(is_insurance_card(a.filename or "", lex) for a in record.attachments):
        return True
    return any(lex.details[k].search(t) for t in texts for k in keys)


def has_location(record: IntakeRecord, lex: Lexicon, texts: list[str]) -> bool:
    """A location or provider preference (a practice office, a named office,
    a named provider, or an explicit "any office is fine")."""
    if (record.preferred_location or "").strip() or (
        record.preferred_provider or ""
    ).strip():
        return True
    locations, providers, _phones, _domains = _practice_names()
    stop = {str(w) for w in lex.details_raw.get("location_name_stopwords", [])}
    for text in texts:
        if any(_word_in(name, text) for name in locations + providers):
            return True
        if lex.details["location_generic"].search(text):
            return True
        if lex.details["provider_preference"].search(text):
            return True
        for m in _NAMED_OFFICE.finditer(text):
            name = m.group(1) or m.group(2)
            if name not in stop:
                return True
    return False


def _word_in(word: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None


# "<name> office/clinic", "clinica de <name>": a named office of the practice.
_NAMED_OFFICE = re.compile(
    r"(?<![\w])([a-z][a-z'-]+) (?:office|clinic|location|site)(?![\w])"
    r"|(?:clinica|oficina|consultorio) (?:de |del )?([a-z][a-z'-]+)"
)


def is_insurance_card(filename: str, lex: Lexicon) -> bool:
    return bool(lex.details["insurance_card_files"].search(filename.lower()))


def _documents(record: IntakeRecord, lex: Lexicon) -> list[str]:
    ignored = lex.details["ignored_files"]
    return [
        a.filename or a.content_type
        for a in record.attachments
        if not ignored.search((a.filename or "").lower())
    ]


def has_referral_documents(record: IntakeRecord, lex: Lexicon) -> bool:
    """A referral letter, note or report attached; an insurance card alone is
    not a referral document."""
    return any(not is_insurance_card(name, lex) for name in _documents(record, lex))


def insurance_document_request(doc: Doc) -> bool:
    """An insurance card submission or change of insurance (not a coverage or
    prior-authorisation question)."""
    details = doc.lex.details
    if doc.counted_hits(details["coverage_question"], _SENDER_PARTS, request=True):
        return False  # contract: coverage and PA questions never need a card
    regex = details["insurance_document_request"]
    return bool(doc.counted_hits(regex, _SENDER_PARTS, request=True))


def appointment_reason_given(record: IntakeRecord, doc: Doc) -> bool:
    lex = doc.lex
    generic = {
        normalize(str(g)) for g in lex.details_raw.get("generic_form_reasons", [])
    }
    reason = normalize(record.form_reason or "")
    if reason and reason not in generic:
        return True
    if doc.counted_hits(lex.details["visit_reasons"], _SENDER_PARTS, request=True):
        return True
    return bool(
        doc.counted_hits(
            lex.details["reason_after_for"], ("body", "subject"), request=True
        )
    )


def changes_existing_appointment(doc: Doc) -> bool:
    return bool(
        doc.counted_hits(
            doc.lex.details["change_existing"], _SENDER_PARTS, request=True
        )
    )


def is_new_patient(doc: Doc, status: PatientStatus) -> bool:
    """New to the practice, also when a caregiver books for them."""
    if status is PatientStatus.NEW:
        return True
    if status is PatientStatus.CAREGIVER:
        excluded = doc.spans("new_exclusions", doc.lex.status["new_exclusions"])
        return any(
            not doc._overlaps(excluded, h.start, h.end)
            for h in doc.counted_hits(
                doc.lex.status["new"], _SENDER_PARTS, request=True
            )
        )
    return False


def _needed(rule: dict[str, Any], rtype: RequestType) -> bool:
    types = rule.get("types")
    if types == "all":
        return True
    if types == "all_except":
        return rtype.value not in rule.get("except", [])
    return isinstance(types, list) and rtype.value in types


def missing_details(
    record: IntakeRecord,
    request_type: RequestType,
    *,
    patient_status: PatientStatus | None = None,
    doc: Doc | None = None,
) -> tuple[list[MissingDetail], list[Reason]]:
    """What the request still lacks for its (final) request type.

    ``patient_status`` and ``doc`` are computed when not given (for example
    after staff corrected the request type).
    """
    lex = lexicon()
    if doc is None:
        from intake.triage import build_doc

        doc = build_doc(record)
    if patient_status is None:
        from intake.triage import classify as _classify

        patient_status = _classify.patient_status(
            doc, record, request_type, _classify.clinician_sender(doc, record)
        ).status
    rules = routing().get("missing_rules", {})
    texts = _all_text(record)
    # A preference is the sender's own: staff and bot lines do not state it.
    sender_texts = [
        normalize(t)
        for t in (record.subject, record.form_reason, record.request_text)
        if t
    ]
    new_patient_scheduling = request_type is RequestType.SCHEDULING and is_new_patient(
        doc, patient_status
    )
    missing: list[MissingDetail] = []
    reasons: list[Reason] = []

    def lacks(detail: MissingDetail, why: str) -> None:
        missing.append(detail)
        reasons.append(Reason(code="missing", detail=f"{detail.value}: {why}"))

    if _needed(
        rules.get("contact", {"types": "all"}), request_type
    ) and not has_contact(record, texts):
        lacks(MissingDetail.CONTACT, "no phone number, email or portal account")

    dob_rule = rules.get(
        "date_of_birth", {"types": "all_except", "except": ["general"]}
    )
    exempt = {Channel(c) for c in dob_rule.get("channels_exempt", ["portal"])}
    if (
        _needed(dob_rule, request_type)
        and record.channel not in exempt
        and not has_date_of_birth(record, lex, texts)
    ):
        lacks(MissingDetail.DATE_OF_BIRTH, "no date of birth")

    ins_rule = rules.get("insurance", {})
    if (ins_rule.get("new_patient_scheduling") and new_patient_scheduling) or (
        _needed(ins_rule, request_type)
    ):
        if not has_insurance(record, lex, texts):
            lacks(MissingDetail.INSURANCE, "no insurance or payment note")
    elif (
        ins_rule.get("insurance_document_requests")
        and request_type is RequestType.INSURANCE
        and insurance_document_request(doc)
        and not _documents(record, lex)
    ):
        lacks(MissingDetail.INSURANCE, "insurance card or document not attached")

    reason_rule = rules.get("appointment_reason", {})
    if (
        _needed(reason_rule, request_type)
        and not (
            reason_rule.get("unless_changing_existing")
            and changes_existing_appointment(doc)
        )
        and not appointment_reason_given(record, doc)
    ):
        lacks(MissingDetail.APPOINTMENT_REASON, "visit reason not stated")

    if (
        rules.get("preferred_location", {}).get("new_patient_scheduling")
        and new_patient_scheduling
        and not has_location(record, lex, sender_texts)
    ):
        lacks(MissingDetail.PREFERRED_LOCATION, "no location or provider preference")

    if _needed(
        rules.get("referral_documents", {}), request_type
    ) and not has_referral_documents(record, lex):
        lacks(MissingDetail.REFERRAL_DOCUMENTS, "no referral document attached")

    return missing, reasons

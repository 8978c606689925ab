"""Request type and patient status, by weighted cue phrases (config/triage/).

Method: for each request type, find the phrases in the sender's own words
that ASK for it ("send my records", weight 3) or point to it ("pharmacy",
weight 1), skipping negated, hypothetical and quoted text and text addressed
to the system. A type with at least one ask is "asked for" (passing mentions
alone never are); the contract's priority order then picks one (symptom >
prescription > referral > records > billing > insurance > scheduling >
general). ``symptom`` comes from the safety screen's symptom report. The
subject line and form reason decide only when the message itself asks for
nothing (the body wins over a contradicting subject). With no cue at all
the request is ``general`` and flagged for staff review rather than guessed.

Known gap: the vocabulary covers English and Spanish. A message in another
language matches no cue and comes out ``general`` with needs_staff_review
(emergency language in it is not recognised either); more languages need
their phrases added to config/triage/.

Known gap: a bare billing or records word counts as an ask wherever it
stands, so a story told in passing still types the request. A complaint
("the receptionist laughed at me when I asked about my bill") comes out
``billing`` (its queue is still the practice manager), and "what's your fax
number, my other doctor needs to send records" comes out ``records``.
Telling the sender's ask from a narrated past ask needs a clause-level rule
for "when I asked about ..." that does not also hide real asks ("when I
called about my refill they said it was sent, but ...") - not written yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from intake.models import (
    REQUEST_TYPE_PRIORITY,
    Channel,
    IntakeRecord,
    PatientStatus,
    Reason,
    RequestType,
)
from intake.triage.safety import SafetyScreen
from intake.triage.text import Doc

_ASK_WEIGHT = 3
_CUE_WEIGHT = 1
_ASKED = 3  # a type counts as asked for at this score (one ask phrase)


@dataclass
class TypeDecision:
    request_type: RequestType
    confidence: float
    needs_review: bool = False
    reasons: list[Reason] = field(default_factory=list)
    asked: dict[str, int] = field(default_factory=dict)


def _scores(doc: Doc, parts: tuple[str, ...], use_reason_words: bool) -> dict[str, int]:
    """Score per type; only a type with at least one ask scores 3 or more."""
    scores: dict[str, int] = {}
    for name, cues in doc.lex.types.items():
        asks = len(doc.counted_hits(cues.ask, parts, request=True))
        if use_reason_words:
            asks += len(doc.counted_hits(cues.reason, parts, request=True))
        score = _ASK_WEIGHT * asks
        if asks:
            score += _CUE_WEIGHT * len(doc.counted_hits(cues.cue, parts, request=True))
        if score:
            scores[name] = score
    return scores


def _by_priority(types: set[RequestType]) -> RequestType:
    for candidate in REQUEST_TYPE_PRIORITY:
        if candidate in types:
            return candidate
    return RequestType.GENERAL


def _asked(scores: dict[str, int]) -> set[RequestType]:
    return {RequestType(t) for t, s in scores.items() if s >= _ASKED}


def request_type(
    doc: Doc,
    record: IntakeRecord,
    screen: SafetyScreen,
    clinician_referral: bool,
    legal_claim: bool,
    manager_topic: bool = False,
) -> TypeDecision:
    """The request type, with a confidence and reasons for staff.

    ``manager_topic``: the message is a complaint, privacy concern or legal
    matter, which is a ``general`` request of its own.
    """
    body = _scores(doc, ("body",), use_reason_words=False)
    if manager_topic:
        body["general"] = body.get("general", 0) + _ASK_WEIGHT
    meta = _scores(doc, ("reason", "subject"), use_reason_words=True)
    if legal_claim:
        # A legal claim's "preserve all records" is part of the claim, not a
        # records request (contract: legal matters go to the practice manager).
        body.pop("records", None)
        meta.pop("records", None)

    asked = _asked(body)
    symptom = screen.symptom_reported and not clinician_referral
    if clinician_referral:
        # A clinician's referral stays a referral whatever clinical detail it
        # gives; only another explicit ask (a refill) changes the type.
        asked = {t for t in asked if t is RequestType.PRESCRIPTION}
        asked.add(RequestType.REFERRAL)
    if symptom:
        asked.add(RequestType.SYMPTOM)

    decision_scores = {**{f"meta:{k}": v for k, v in meta.items()}, **body}
    reasons: list[Reason] = []
    specific = asked - {RequestType.GENERAL}
    if specific:
        chosen = _by_priority(specific)
        confidence = 0.9 if len(specific) == 1 else 0.75
        if len(specific) > 1:
            reasons.append(
                Reason(
                    code="several_requests",
                    detail=", ".join(
                        t.value for t in REQUEST_TYPE_PRIORITY if t in specific
                    )
                    + f"; priority order picks {chosen.value}",
                )
            )
        return TypeDecision(chosen, confidence, reasons=reasons, asked=decision_scores)

    if RequestType.GENERAL in asked:
        return TypeDecision(RequestType.GENERAL, 0.8, asked=decision_scores)

    meta_asked = _asked(meta) - {RequestType.GENERAL}
    if meta_asked:
        chosen = _by_priority(meta_asked)
        reasons.append(
            Reason(
                code="type_from_subject_or_form",
                detail=f"the message itself names no request; {chosen.value}",
            )
        )
        return TypeDecision(chosen, 0.6, reasons=reasons, asked=decision_scores)
    if RequestType.GENERAL in _asked(meta):
        return TypeDecision(RequestType.GENERAL, 0.7, asked=decision_scores)

    reasons.append(
        Reason(
            code="unclear_request",
            detail="no request type recognised; staff to classify",
        )
    )
    return TypeDecision(
        RequestType.GENERAL,
        0.35,
        needs_review=True,
        reasons=reasons,
        asked=decision_scores,
    )


# ----------------------------------------------------------------------------
# Patient status


_CAREGIVER_WEIGHTS = (
    ("caregiver_strong", 3),
    ("caregiver_medium", 2),
    ("caregiver_subject", 2),
)
_ALL_PARTS = ("subject", "reason", "body")


@dataclass
class StatusDecision:
    status: PatientStatus
    reason: Reason | None = None
    caregiver_score: int = 0


def clinician_sender(doc: Doc, record: IntakeRecord) -> bool:
    """A clinician or their office sends or asks about a referral."""
    if record.channel is Channel.REFERRAL or record.referring_provider:
        return True
    st = doc.lex.status
    if doc.counted_hits(st["professional"], _ALL_PARTS, request=True):
        # An attorney's or pharmacy's office writes like a clinician's ("our
        # client", "contact our office") but is not one (contract: unknown).
        return False
    return bool(doc.counted_hits(st["referring_provider"], _ALL_PARTS, request=True))


def _caregiver_score(doc: Doc) -> int:
    st = doc.lex.status
    excluded = doc.spans("caregiver_exclusions", st["caregiver_exclusions"])
    score = 0
    for key, weight in _CAREGIVER_WEIGHTS:
        for hit in doc.find(st[key], _ALL_PARTS):
            if doc._overlaps(excluded, hit.start, hit.end):
                continue
            ctx = doc.context(hit.start, hit.end)
            if not ctx.counts_for_request or ctx.injected:
                continue
            score += weight
    return score


def patient_status(
    doc: Doc,
    record: IntakeRecord,
    rtype: RequestType,
    clinician: bool,
    insurance_update: bool = False,
) -> StatusDecision:
    """The patient status (contract order: caregiver wins over new/existing)."""
    st = doc.lex.status
    if record.channel is Channel.REFERRAL or record.referring_provider:
        return StatusDecision(
            PatientStatus.REFERRING_PROVIDER,
            Reason(code="patient_status", detail="referral channel"),
        )

    care = _caregiver_score(doc)
    own = 2 * len(doc.counted_hits(st["self_patient"], _ALL_PARTS, request=True))
    strong = bool(doc.counted_hits(st["caregiver_strong"], _ALL_PARTS, request=True))
    if strong or (care >= 2 and care > own):
        return StatusDecision(
            PatientStatus.CAREGIVER,
            Reason(code="patient_status", detail="writes on behalf of the patient"),
            care,
        )

    if clinician:
        return StatusDecision(
            PatientStatus.REFERRING_PROVIDER,
            Reason(code="patient_status", detail="clinician or their office"),
            care,
        )
    if doc.counted_hits(st["professional"], _ALL_PARTS, request=True):
        return StatusDecision(
            PatientStatus.UNKNOWN,
            Reason(
                code="patient_status", detail="professional or vendor acting for others"
            ),
            care,
        )

    hint = (record.patient_status_hint or "").strip().lower()
    if hint in ("new", "existing"):
        return StatusDecision(
            PatientStatus(hint),
            Reason(code="patient_status", detail="web form patient-status field"),
            care,
        )
    if record.channel is Channel.PORTAL:
        return StatusDecision(
            PatientStatus.EXISTING,
            Reason(code="patient_status", detail="portal account"),
            care,
        )

    excluded = doc.spans("new_exclusions", st["new_exclusions"])
    new = [
        h
        for h in doc.counted_hits(st["new"], _ALL_PARTS, request=True)
        if not doc._overlaps(excluded, h.start, h.end)
    ]
    if new:
        return StatusDecision(
            PatientStatus.NEW,
            Reason(
                code="patient_status", detail=f"new to the practice: {new[0].phrase}"
            ),
            care,
        )
    existing = doc.counted_hits(st["existing"], _ALL_PARTS, request=True)
    if existing:
        return StatusDecision(
            PatientStatus.EXISTING,
            Reason(
                code="patient_status", detail=f"already a patient: {existing[0].phrase}"
            ),
            care,
        )
    # A refill, a question about one's own bill, or a change of insurance
    # card only comes from someone the practice already has on file.
    if rtype in (RequestType.PRESCRIPTION, RequestType.BILLING) or insurance_update:
        return StatusDecision(
            PatientStatus.EXISTING,
            Reason(code="patient_status", detail=f"own {rtype.value} request"),
            care,
        )
    return StatusDecision(PatientStatus.UNKNOWN, None, care)

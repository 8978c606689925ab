"""Safety screen: the first triage step, whose urgency nothing later lowers.

It reads the sender's own words (subject, form reason, message; never quoted
history, staff lines or chat bot lines) and decides:

- the urgency floor: ``emergency`` for emergency language happening now,
  ``urgent_review`` for urgent language, a reported new symptom, fever in an
  infant, being out of an essential medicine, or an emergency phrase whose
  negation or past tense is doubtful (doubt raises, never lowers);
- whether safety language appears (self-harm, suicide, overdose, abuse,
  neglect, violence, threats), which stops automation even when negated or
  in the past;
- whether a symptom is reported (the request type ``symptom``);
- whether the text tries to instruct the system (changes nothing; staff see
  a reason).

The vocabulary is in config/triage/ (emergency, urgent, safety, symptoms,
medicines, context).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from intake.models import Reason, Urgency
from intake.triage.lexicon import Group
from intake.triage.text import Context, Doc, Hit

# Groups of the emergency and urgent lists that are safety language too.
_SAFETY_GROUPS = frozenset({"suicidal", "overdose", "threat", "abuse_neglect"})
# Groups whose phrase still counts inside an "if" clause when the sender
# states their own intent: a conditional threat is a threat.
_INTENT_GROUPS = frozenset({"suicidal", "threat"})
# Urgent groups that are not a symptom report by themselves.
_NOT_SYMPTOM_GROUPS = frozenset({"see_urgently", "declared_emergency"})
_SENDER_PARTS = ("subject", "reason", "body")


@dataclass(frozen=True)
class Finding:
    """One phrase the screen looked at, and what it made of it."""

    kind: str  # emergency | urgent | symptom | safety | medicine
    group: str
    label: str
    phrase: str
    status: str  # current | negated | historical | hypothetical | ...


@dataclass
class SafetyScreen:
    urgency: Urgency = Urgency.ROUTINE
    safety_language: bool = False
    symptom_score: int = 0
    chronic_stable: bool = False
    out_of_medicine: bool = False
    out_of_essential: bool = False
    instruction_text: bool = False
    doubt: bool = False
    findings: list[Finding] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)

    @property
    def symptom_reported(self) -> bool:
        return self.symptom_score >= 2

    def raise_to(self, urgency: Urgency, reason: Reason) -> None:
        self.urgency = self.urgency.at_least(urgency)
        if reason not in self.reasons:
            self.reasons.append(reason)


def _detail(label: str, hit: Hit) -> str:
    return f"{label}: {hit.phrase}"


def _scan_groups(
    doc: Doc, groups: tuple[Group, ...], kind: str, screen: SafetyScreen
) -> list[tuple[Group, Hit, bool]]:
    """Judge every match of ``groups``; returns (group, hit, counts)."""
    judged = []
    for group in groups:
        for hit in doc.find(group.regex, _SENDER_PARTS, group.name, group.label):
            ctx = doc.clinical_context(hit.start, hit.end)
            if ctx.figurative:
                continue
            if group.ignore_in_instructions and ctx.injected:
                continue
            counts = ctx.counts or _conditional_intent(doc, group, hit, ctx)
            screen.findings.append(
                Finding(kind, group.name, group.label, hit.phrase, ctx.describe())
            )
            judged.append((group, hit, counts))
            if kind == "emergency" and not counts and ctx.weakly_suppressed:
                # "not having trouble breathing or any chest pain": the
                # negation is far away, so a nurse should still look.
                screen.doubt = True
                screen.raise_to(
                    Urgency.URGENT_REVIEW,
                    Reason(
                        code="possible_emergency_language",
                        detail=_detail(group.label, hit),
                    ),
                )
            if group.name in _SAFETY_GROUPS and not ctx.unrelated:
                screen.safety_language = True
    return judged


def _conditional_intent(doc: Doc, group: Group, hit: Hit, ctx: Context) -> bool:
    """A threat or self-harm phrase that only an "if" suppresses, said as the
    sender's own intent ("if you call again I'm going to ... hurt someone")."""
    if group.name not in _INTENT_GROUPS or not ctx.hypothetical:
        return False
    only_hypothetical = Context(hypothetical=True, injected=ctx.injected)
    if replace(ctx, negated_clinically=False) != only_hypothetical:
        return False
    return doc.stated_intent(hit.start)


def _passing_appointment_reason(doc: Doc, hit: Hit) -> bool:
    """A symptom named as the reason of an appointment being changed."""
    if not doc.counted_hits(
        doc.lex.details["change_existing"], _SENDER_PARTS, request=True
    ):
        return False
    slo, _shi = doc.sentence_of(hit.start, hit.end)
    mentions = doc.spans(
        "appointment_reason_mention", doc.lex.symptoms["appointment_reason_mention"]
    )
    return any(
        slo <= s and e <= hit.start and doc._words_between(e, hit.start) <= 4
        for s, e in mentions
    )


def _symptom_score(doc: Doc, screen: SafetyScreen) -> int:
    lex = doc.lex.symptoms
    masked = doc.spans("not_symptom", lex["not_symptom"])
    score = 0
    for key, weight in (("strong", 2), ("weak", 1)):
        for hit in doc.find(lex[key], _SENDER_PARTS):
            if doc._overlaps(masked, hit.start, hit.end):
                continue
            if _passing_appointment_reason(doc, hit):
                continue
            ctx = doc.clinical_context(hit.start, hit.end)
            if not ctx.counts:
                continue
            screen.findings.append(
                Finding("symptom", key, "symptom", hit.phrase, ctx.describe())
            )
            score += weight
    return score


def _infant_fever(doc: Doc) -> Hit | None:
    lex = doc.lex.symptoms
    ages = doc.find(lex["infant_age"], _SENDER_PARTS)
    if not ages:
        return None
    for fever in doc.find(lex["infant_fever"], _SENDER_PARTS):
        if not doc.clinical_context(fever.start, fever.end).counts:
            continue
        slo, shi = doc.sentence_of(fever.start, fever.end)
        if any(slo <= a.start < shi for a in ages):
            return fever
    return None


def _out_of_medicine(doc: Doc, screen: SafetyScreen) -> None:
    lex = doc.lex
    medicine = lex.medicines["medicine_words"]
    essential_hits = [
        (g, h)
        for g in lex.essential
        for h in doc.find(g.regex, _SENDER_PARTS)
        if not doc.context(h.start, h.end).hypothetical
    ]
    for hit in doc.find(lex.medicines["out_of_medicine"], _SENDER_PARTS):
        ctx = doc.context(hit.start, hit.end)
        if not ctx.counts:
            continue
        slo, shi = doc.sentence_of(hit.start, hit.end)
        sentence = doc.text[slo:shi]
        names_medicine = medicine.search(sentence) or any(
            slo <= h.start < shi for _g, h in essential_hits
        )
        if not names_medicine:
            continue
        screen.out_of_medicine = True
        if essential_hits:
            group, med = essential_hits[0]
            screen.out_of_essential = True
            screen.raise_to(
                Urgency.URGENT_REVIEW,
                Reason(
                    code="out_of_essential_medicine",
                    detail=f"{group.label}: {med.phrase}",
                ),
            )
            return


def screen(doc: Doc, clinician_sender: bool = False) -> SafetyScreen:
    """Run the safety screen over one request's sender text.

    ``clinician_sender``: a referral from a clinician or their office. Its
    clinical detail is the referral's reason, so only emergency and urgent
    phrases (not any symptom) raise its urgency.
    """
    lex = doc.lex
    result = SafetyScreen()

    if doc.injection_spans:
        result.instruction_text = True
        result.reasons.append(
            Reason(
                code="instruction_text",
                detail="text addressed to an automated system was ignored",
            )
        )

    emergency = _scan_groups(doc, lex.emergency, "emergency", result)
    urgent = _scan_groups(doc, lex.urgent, "urgent", result)
    for group, hit, counts in emergency:
        if counts:
            result.raise_to(
                Urgency.EMERGENCY,
                Reason(code="emergency_language", detail=_detail(group.label, hit)),
            )
    for group, hit, counts in urgent:
        if counts:
            result.raise_to(
                Urgency.URGENT_REVIEW,
                Reason(code="urgent_language", detail=_detail(group.label, hit)),
            )

    for group in lex.safety:
        for hit in doc.find(group.regex, _SENDER_PARTS):
            ctx = doc.context(hit.start, hit.end)
            if ctx.figurative or ctx.unrelated:
                continue
            result.safety_language = True
            result.findings.append(
                Finding("safety", group.name, group.label, hit.phrase, ctx.describe())
            )
    if result.safety_language:
        labels = sorted(
            {
                f.label
                for f in result.findings
                if f.kind == "safety" or f.group in _SAFETY_GROUPS
            }
        )
        result.reasons.append(Reason(code="safety_language", detail=", ".join(labels)))

    fever = _infant_fever(doc)
    if fever is not None:
        result.raise_to(
            Urgency.URGENT_REVIEW,
            Reason(
                code="urgent_language", detail=f"fever in an infant: {fever.phrase}"
            ),
        )

    _out_of_medicine(doc, result)

    # A reported symptom: the request type "symptom" and, unless long-standing
    # and unchanged, urgent_review (contract: new or worsening symptoms).
    score = _symptom_score(doc, result)
    for group, _hit, counts in emergency + urgent:
        if counts and group.name not in _NOT_SYMPTOM_GROUPS:
            score += 2
    result.symptom_score = score
    acute = bool(doc.counted_hits(lex.symptoms["acute"], _SENDER_PARTS))
    chronic = bool(doc.find(lex.symptoms["chronic_stable"], _SENDER_PARTS))
    result.chronic_stable = (
        chronic and not acute and result.urgency.rank < Urgency.URGENT_REVIEW.rank
    )
    if result.symptom_reported and not clinician_sender:
        if result.chronic_stable:
            result.reasons.append(
                Reason(code="symptom_reported", detail="long-standing and unchanged")
            )
        else:
            result.raise_to(
                Urgency.URGENT_REVIEW,
                Reason(code="symptom_reported", detail="new or current symptom"),
            )
    return result

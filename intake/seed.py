"""Seed a month of fictitious intake activity, for tests, demos and docs.

Every person is invented: names from a short made-up list, phones in the
fictional 555-01xx range, emails at example.com.

How it is written: each request is a contract-format raw request (one of
the six channels, its text saying what the request type asks) that goes in
through the real ingest and then the real steps of ``intake.steps``:
capture, classify (the offline rules), required details, route and the CRM
sync, so the labels are whatever triage decides. What staff do afterwards
is simulated: review decisions (some overriding the proposed labels) in the
override ledger, replies on time or late, closing, routing-audit verdicts,
each through the real ``IntakeStore`` and ``SqlCRM`` methods. With
``through_steps=False`` the record, labels and CRM rows are written
directly instead, with labels drawn at random (no capture or triage code
runs; for when those steps are broken or labels must be exact).

Each write happens at a simulated moment: ``simulated_time`` points the
store's clock (``intake.store.utcnow``, which the CRM also reads) at the
seeded moment while the write runs. Times are written in UTC.

With ``faults=True`` a few data-quality faults are planted; the values that
must never appear in check results or Data Docs are listed in
``SeedSummary.markers``.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from intake.models import (
    Channel,
    ContactDetails,
    CRMFields,
    IntakeRecord,
    IntakeStatus,
    MissingDetail,
    PatientIdentity,
    PatientRecord,
    PatientStatus,
    Queue,
    Reason,
    RequestType,
    StaffTask,
    TriageResult,
    Urgency,
)

FIRST_NAMES = ["Avery", "Jordan", "Riley", "Casey", "Morgan", "Quinn", "Rowan",
               "Emery", "Harper", "Sawyer", "Marlo", "Tamsin"]
LAST_NAMES = ["Fictus", "Madeup", "Samplewood", "Testbrook", "Notreal",
              "Inventa", "Placeholder", "Exampleton"]

TYPE_QUEUE: dict[RequestType, Queue] = {
    RequestType.SCHEDULING: Queue.FRONT_DESK,
    RequestType.GENERAL: Queue.FRONT_DESK,
    RequestType.INSURANCE: Queue.BILLING,
    RequestType.BILLING: Queue.BILLING,
    RequestType.REFERRAL: Queue.REFERRAL_COORDINATOR,
    RequestType.RECORDS: Queue.RECORDS,
    RequestType.PRESCRIPTION: Queue.NURSE_REVIEW,
    RequestType.SYMPTOM: Queue.NURSE_REVIEW,
}
_TYPE_WEIGHTS = {
    RequestType.SCHEDULING: 30, RequestType.BILLING: 12, RequestType.INSURANCE: 8,
    RequestType.REFERRAL: 10, RequestType.RECORDS: 10, RequestType.PRESCRIPTION: 10,
    RequestType.SYMPTOM: 8, RequestType.GENERAL: 12,
}
_CHANNEL_WEIGHTS = {
    Channel.WEB_FORM: 25, Channel.PHONE: 25, Channel.PORTAL: 20, Channel.EMAIL: 15,
    Channel.CHAT: 8, Channel.REFERRAL: 7,
}

# Planted data-quality faults: values that must never reach results or docs.
FAULT_QUEUE = "queue_marker_zz"
FAULT_MISSING_ITEM = "fax_number_marker"
FAULT_PHONE = "555-0199 ext 7"
FAULT_EMAIL = "marker.bad@@example.com"


@dataclass
class SeedSummary:
    """What was seeded: ids, counts, and the planted faults (ids only)."""

    intake_ids: list[str] = field(default_factory=list)
    decisions: int = 0
    overrides: int = 0
    routing_audits: int = 0
    unanswered: int = 0
    faults: dict[str, str] = field(default_factory=dict)  # fault -> intake/patient
    markers: list[str] = field(default_factory=list)


class SimulatedClock:
    """The moment the store and the CRM see as "now" while seeding."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def set(self, moment: datetime) -> None:
        self.moment = moment.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.moment


@contextmanager
def simulated_time(start: datetime | None = None) -> Iterator[SimulatedClock]:
    """Point ``intake.store.utcnow`` at a settable clock (single-threaded use only)."""
    import intake.store as store_module

    clock = SimulatedClock((start or datetime.now(UTC)).astimezone(UTC))
    real = store_module.utcnow
    store_module.utcnow = clock  # type: ignore[assignment]
    try:
        yield clock
    finally:
        store_module.utcnow = real  # type: ignore[assignment]


def seed_month(crm: Any, store: Any, start: date, n: int, seed: int, *,
               faults: bool = False, through_steps: bool = True) -> SeedSummary:
    """Seed ``n`` fictitious requests over the 28 days from ``start``.

    Includes staff reviews (some overriding the proposed labels), replies on
    time and late, closed requests, a backlog with overdue requests at the
    month's end, and routing-audit verdicts. ``faults`` plants one of each
    data-quality fault the checks look for (see ``SeedSummary.faults``).
    ``through_steps=False`` writes records, labels and CRM rows directly with
    labels drawn at random (no capture or triage code runs).
    """
    from intake.clock import business_hours

    rng = random.Random(seed)
    hours = business_hours()
    zone = hours.zone
    month_start = datetime.combine(start, time(0), tzinfo=zone).astimezone(UTC)
    month_end = month_start + timedelta(days=28)
    summary = SeedSummary()

    with simulated_time(month_start) as clock:
        for index in range(n):
            received = _arrival(rng, start, zone, hours)
            if received >= month_end:
                received = month_end - timedelta(hours=1)
            _seed_request(crm, store, rng, clock, seed, index, received, month_end,
                          summary, through_steps)
        if faults:
            _plant_faults(crm, clock, summary, month_end)
    return summary


def _arrival(rng: random.Random, start: date, zone: Any, hours: Any) -> datetime:
    day = start + timedelta(days=rng.randrange(28))
    if day.weekday() < 5 and rng.random() < 0.8:
        minute = rng.randrange(8 * 60, 17 * 60)
    else:
        minute = rng.randrange(24 * 60)
    local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return local.astimezone(UTC)


def _choice(rng: random.Random, weights: dict[Any, int]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


TEXTS: dict[RequestType, tuple[str, str]] = {
    RequestType.SCHEDULING: ("Appointment", "I would like to book an appointment "
                             "for a yearly physical next week."),
    RequestType.BILLING: ("Question about my bill", "I got a bill for my visit "
                          "last month and I think I was charged twice."),
    RequestType.INSURANCE: ("New insurance", "I changed insurance plans. How do I "
                            "update my coverage on file?"),
    RequestType.RECORDS: ("Records request", "Please send a copy of my medical "
                          "records to my new doctor."),
    RequestType.PRESCRIPTION: ("Refill", "I need a refill of my blood pressure "
                               "medication, I have 10 days left."),
    RequestType.SYMPTOM: ("Rash", "I have had a mild rash on my arm for two weeks, "
                          "can someone take a look?"),
    RequestType.GENERAL: ("Office hours", "What are your office hours on Saturday?"),
    RequestType.REFERRAL: ("Referral", "Referral for evaluation of a skin lesion."),
}
_SYLLABLES = ["Bram", "Cor", "Dell", "Fen", "Gar", "Hol", "Kes", "Lun", "Mor",
              "Nor", "Pel", "Quin", "Ros", "Tal", "Vey", "Wick"]
_ENDINGS = ["by", "ton", "wood", "field", "more", "ley", "worth", "stead"]
_AREA_CODES = ["312", "773", "872", "630"]


@dataclass
class _Person:
    """An invented person, distinct per index (so patient matching finds no twin)."""

    first: str
    last: str
    dob: date
    phone: str  # E.164, fictional 555-01xx
    email: str


def _person(index: int) -> _Person:
    first = FIRST_NAMES[index % len(FIRST_NAMES)]
    last = (LAST_NAMES[index % len(LAST_NAMES)] if index < len(LAST_NAMES) else
            _SYLLABLES[index % 16] + _ENDINGS[(index // 16) % 8])
    area = _AREA_CODES[(index // 100) % len(_AREA_CODES)]
    return _Person(
        first=first, last=last, dob=date(1950, 1, 1) + timedelta(days=index * 97),
        phone=f"+1{area}55501{index % 100:02d}",
        email=f"{first}.{last}{index}@example.com".lower(),
    )


def _payload(channel: Channel, kind: RequestType, person: _Person, index: int,
             received: datetime) -> dict[str, Any]:
    """A contract-format payload for the channel, saying what ``kind`` asks."""
    subject, text = TEXTS[kind]
    local_phone = f"({person.phone[2:5]}) 555-{person.phone[-4:]}"
    if channel == Channel.PORTAL:
        return {"patient_id": f"MG-{900000 + index}", "subject": subject,
                "body": text, "attachments": []}
    if channel == Channel.WEB_FORM:
        return {"fields": {"first_name": person.first, "last_name": person.last,
                           "dob": person.dob.isoformat(), "phone": local_phone,
                           "email": person.email, "reason": "other",
                           "patient_status": "existing"},
                "message": text}
    if channel == Channel.EMAIL:
        raw = (f"From: {person.first} {person.last} <{person.email}>\n"
               "To: frontdesk@example.org\n"
               f"Subject: {subject}\n"
               f"Date: {received.strftime('%a, %d %b %Y %H:%M:%S +0000')}\n"
               "Content-Type: text/plain; charset=utf-8\n\n"
               f"{text}\n\nDate of birth {person.dob.isoformat()}.\n"
               f"{person.first} {person.last}\n")
        return {"raw": raw}
    if channel == Channel.PHONE:
        return {"caller_number": person.phone,
                "transcript": f"Staff: Thank you for calling, how can I help?\n"
                              f"Caller: Hi, this is {person.first} {person.last}, "
                              f"born {person.dob.isoformat()}. {text}"}
    if channel == Channel.CHAT:
        return {"messages": [
            {"from": "bot", "text": "Hello! How can we help today?"},
            {"from": "visitor", "text": text},
            {"from": "visitor", "text": f"I'm {person.first} {person.last}, "
                                        f"{person.email}"},
        ]}
    return {
        "referring_provider": "Dr. Imaginary Example",
        "referring_practice": "Example Family Clinic",
        "specialty": "dermatology", "reason": text,
        "patient": {"first_name": person.first, "last_name": person.last,
                    "dob": person.dob.isoformat(), "phone": local_phone,
                    "insurance": "Example Health PPO"},
        "documents": [{"filename": "referral.pdf",
                       "content_type": "application/pdf"}],
        "note": "",
    }


def _seed_request(crm: Any, store: Any, rng: random.Random, clock: SimulatedClock,
                  seed: int, index: int, received: datetime, month_end: datetime,
                  summary: SeedSummary, through_steps: bool) -> None:
    from intake.clock import business_hours
    from intake.ingest import ingest_lines

    channel: Channel = _choice(rng, _CHANNEL_WEIGHTS)
    kind: RequestType = _choice(rng, _TYPE_WEIGHTS)
    if channel == Channel.REFERRAL:
        kind = RequestType.REFERRAL
    elif kind == RequestType.REFERRAL:
        kind = RequestType.SCHEDULING
    person = _person(index)

    # Arrival: the real ingest stores the raw request under its intake id.
    clock.set(received)
    body = json.dumps({
        "id": f"seed-{seed}-{index:04d}", "channel": str(channel),
        "received_at": received.isoformat(),
        "payload": _payload(channel, kind, person, index, received),
    })
    intake_id = ingest_lines(store, [body], batch_id=f"seed-{seed}").intake_ids[0]
    summary.intake_ids.append(intake_id)

    # Capture, triage, routing and the first sync.
    clock.set(received + timedelta(minutes=2))
    if through_steps:
        proposed, fields, needs_review = _through_steps(store, crm, rng, intake_id)
    else:
        proposed, fields, needs_review = _written_directly(
            store, crm, rng, intake_id, channel, kind, person, received)
    received = fields.received_at or received
    due = fields.response_due_at or received
    urgency = fields.urgency or Urgency.ROUTINE

    # First staff response: most within the target, some late, some not yet.
    target = (due - received).total_seconds() / 3600
    late = rng.random() < 0.2
    if urgency in (Urgency.URGENT_REVIEW, Urgency.EMERGENCY):
        delay = target * (rng.uniform(1.1, 3.0) if late else rng.uniform(0.2, 0.9))
        answered = received + timedelta(hours=delay)
    else:
        target_hours = business_hours().elapsed(received, due)
        factor = rng.uniform(1.1, 2.5) if late else rng.uniform(0.1, 0.95)
        answered = business_hours().add(received, max(0.1, target_hours * factor))
    if answered >= month_end:
        summary.unanswered += 1
        return

    clock.set(answered)
    if needs_review:
        fields = _review(store, crm, rng, intake_id, proposed, fields, summary)
    clock.set(answered + timedelta(minutes=5))
    fields = fields.model_copy(update={"status": IntakeStatus.STAFF_REPLIED})
    crm.upsert_intake(fields)

    closed = answered + timedelta(hours=rng.uniform(4, 72))
    if rng.random() < 0.6 and closed < month_end:
        clock.set(closed)
        crm.upsert_intake(fields.model_copy(update={"status": IntakeStatus.CLOSED}))
        store.mark_step(intake_id, "closed", {"seeded": True})

    # A supervisor audits some routed requests after the fact.
    audited = answered + timedelta(days=rng.uniform(1, 4))
    if rng.random() < 0.12 and audited < month_end:
        clock.set(audited)
        agree = rng.random() < 0.75
        labels = {"queue": str(fields.queue), "request_type": str(fields.request_type)}
        corrected = dict(labels)
        if not agree:
            corrected["queue"] = str(Queue.PRACTICE_MANAGER if fields.queue !=
                                     Queue.PRACTICE_MANAGER else Queue.FRONT_DESK)
        store.record_decision(
            intake_id, "routing_audit-review", "routing_audit",
            "agree" if agree else "disagree", "Supervisor Example",
            proposed={"labels": labels}, final={"labels": corrected},
        )
        summary.routing_audits += 1


def _through_steps(store: Any, crm: Any, rng: random.Random, intake_id: str
                   ) -> tuple[TriageResult, CRMFields, bool]:
    """The real capture, triage, routing and sync steps (intake.steps)."""
    from intake import steps

    steps.capture(store, intake_id)
    steps.classify(store, intake_id)
    steps.check_required_details(store, intake_id)
    steps.route(store, intake_id)
    steps.sync_crm(store, crm, intake_id)
    proposed = store.triage(intake_id)
    fields = crm.read_intake(intake_id)
    # What the flow would pause for, plus some requests staff choose to review.
    needs_review = bool(steps.request_review_reasons(store.record(intake_id),
                                                     proposed)) or rng.random() < 0.2
    if needs_review and fields.status != IntakeStatus.NEEDS_REVIEW:
        fields = fields.model_copy(update={"status": IntakeStatus.NEEDS_REVIEW})
        crm.upsert_intake(fields)
    return proposed, fields, needs_review


def _written_directly(store: Any, crm: Any, rng: random.Random, intake_id: str,
                      channel: Channel, kind: RequestType, person: _Person,
                      received: datetime) -> tuple[TriageResult, CRMFields, bool]:
    """Record, labels and CRM rows written directly, with labels drawn at random."""
    from intake.clock import response_due
    from intake.steps import owner_for
    from intake.store import StepRow, session_scope

    urgency = Urgency.ROUTINE
    roll = rng.random()
    if kind in (RequestType.SYMPTOM, RequestType.PRESCRIPTION):
        urgency = Urgency.URGENT_REVIEW if roll < 0.3 else (
            Urgency.SOON if roll < 0.6 else Urgency.ROUTINE)
    elif roll < 0.15:
        urgency = Urgency.SOON
    queue = TYPE_QUEUE[kind]
    if urgency in (Urgency.URGENT_REVIEW, Urgency.EMERGENCY):
        queue = Queue.NURSE_REVIEW
    stop = kind in (RequestType.SYMPTOM, RequestType.PRESCRIPTION) or (
        urgency in (Urgency.URGENT_REVIEW, Urgency.EMERGENCY))
    proposed = TriageResult(
        request_type=kind, urgency=urgency,
        patient_status=rng.choice([PatientStatus.EXISTING] * 3 + [
            PatientStatus.NEW, PatientStatus.CAREGIVER, PatientStatus.UNKNOWN]),
        missing=sorted(rng.sample(list(MissingDetail), k=rng.choice([0, 0, 0, 1, 2]))),
        queue=queue, stop_automation=stop,
        reasons=[Reason(code=f"seeded_{kind}")], decided_by="seed",
    )
    store.save_record(IntakeRecord(
        intake_id=intake_id, source_id=store.source_id(intake_id), channel=channel,
        received_at=received,
        contact=ContactDetails(phones=[person.phone], emails=[person.email]),
        patient=PatientIdentity(first_name=person.first, last_name=person.last,
                                date_of_birth=person.dob),
        request_text=TEXTS[kind][1],
    ))
    store.save_triage(intake_id, proposed)
    due = response_due(received, queue, urgency)
    # Marked done so a rerun of the intake flow or the reconciler skips them.
    with session_scope(store.engine) as session:
        for step, outcome in (("capture", {"channel": str(channel)}),
                              ("classify", {"seeded": True}), ("details", {}),
                              ("route", {"queue": str(queue), "owner": owner_for(queue),
                                         "response_due_at": due.isoformat()}),
                              ("sync", {"seeded": True})):
            session.merge(StepRow(intake_id=intake_id, step=step, done_at=now(),
                                  outcome=outcome))

    patient_key = "pat-" + hashlib.sha256(intake_id.encode()).hexdigest()[:20]
    crm.upsert_patient(PatientRecord(
        patient_key=patient_key, first_name=person.first, last_name=person.last,
        date_of_birth=person.dob, phone=person.phone, email=person.email))
    needs_review = stop or rng.random() < 0.25
    fields = CRMFields(
        intake_id=intake_id, patient_key=patient_key, source=channel,
        received_at=received, request_type=kind, urgency=urgency,
        patient_status=proposed.patient_status, queue=queue, owner=owner_for(queue),
        status=IntakeStatus.NEEDS_REVIEW if needs_review else IntakeStatus.NEW,
        missing_information=proposed.missing, stop_automation=stop,
        response_due_at=due,
    )
    crm.upsert_intake(fields)
    crm.upsert_staff_task(StaffTask(intake_id=intake_id, kind="respond", queue=queue,
                                    owner=owner_for(queue), due_at=due,
                                    summary=f"{kind} request, {urgency}"))
    return proposed, fields, needs_review


def now() -> datetime:
    """The store's "now" (the simulated moment while seeding)."""
    import intake.store

    return intake.store.utcnow()


def _review(store: Any, crm: Any, rng: random.Random, intake_id: str,
            proposed: TriageResult, fields: CRMFields,
            summary: SeedSummary) -> CRMFields:
    """A staff review decision at the simulated moment; some override labels."""
    final = proposed
    decision = "approve"
    roll = rng.random()
    if roll < 0.12:
        decision = "reroute"
        new_queue = rng.choice([q for q in Queue if q != proposed.queue])
        final = proposed.model_copy(update={"queue": new_queue})
    elif roll < 0.2:
        decision = "edit"
        new_type = rng.choice([t for t in RequestType if t != proposed.request_type])
        final = proposed.model_copy(update={"request_type": new_type})
    elif roll < 0.25 and proposed.urgency == Urgency.ROUTINE:
        decision = "edit"
        final = proposed.model_copy(update={"urgency": Urgency.SOON})
    from intake.steps import labels_of

    store.record_decision(
        intake_id, "request-review", "request", decision, "Reviewer Example",
        proposed={"labels": labels_of(proposed)},
        final={"labels": labels_of(final), "form": {}},
    )
    summary.decisions += 1
    if final is proposed:
        return fields
    summary.overrides += 1
    store.update_final_triage(intake_id, final)
    fields = fields.model_copy(update={
        "queue": final.queue, "request_type": final.request_type,
        "urgency": final.urgency,
    })
    crm.upsert_intake(fields)
    return fields



def _plant_faults(crm: Any, clock: SimulatedClock, summary: SeedSummary,
                  month_end: datetime) -> None:
    """One of each fault the data-quality checks must catch."""
    from sqlalchemy import update
    from sqlalchemy.orm import Session

    from blocks.crm import CRMIntake

    ids = summary.intake_ids
    if len(ids) < 5:
        raise ValueError("faults need at least 5 seeded requests")
    clock.set(month_end - timedelta(minutes=30))

    # The SQL CRM's own writes refuse unknown labels, so these two faults are
    # written to the table directly, as a foreign integration might.
    with Session(crm.engine) as session, session.begin():
        session.execute(update(CRMIntake).where(CRMIntake.intake_id == ids[0])
                        .values(queue=FAULT_QUEUE))
        session.execute(update(CRMIntake).where(CRMIntake.intake_id == ids[1])
                        .values(missing_information=[FAULT_MISSING_ITEM]))
    summary.faults["out_of_vocabulary_queue"] = ids[0]
    summary.faults["out_of_vocabulary_missing_item"] = ids[1]

    owner_less = crm.read_intake(ids[2])
    crm.upsert_intake(owner_less.model_copy(update={"owner": None}))
    summary.faults["missing_owner"] = ids[2]

    early = crm.read_intake(ids[3])
    crm.upsert_intake(early.model_copy(update={
        "response_due_at": early.received_at - timedelta(hours=1)}))
    summary.faults["due_before_received"] = ids[3]

    # A closed request reopened as new: a move STATUS_TRANSITIONS forbids.
    reopened = crm.read_intake(ids[4])
    if reopened.status != IntakeStatus.CLOSED:
        crm.upsert_intake(reopened.model_copy(update={"status": IntakeStatus.CLOSED}))
        clock.set(month_end - timedelta(minutes=20))
    crm.upsert_intake(reopened.model_copy(update={"status": IntakeStatus.NEW}))
    summary.faults["disallowed_transition"] = ids[4]

    bad_contact = crm.upsert_patient(PatientRecord(
        patient_key="pat-seed-bad-contact", first_name="Tamsin",
        last_name="Placeholder", phone=FAULT_PHONE, email=FAULT_EMAIL))
    summary.faults["bad_phone"] = bad_contact
    summary.faults["bad_email"] = bad_contact
    summary.markers = [FAULT_QUEUE, FAULT_MISSING_ITEM, FAULT_PHONE, FAULT_EMAIL,
                       "closed:new"]


def example_report(out_dir: Path, n: int = 120, seed: int = 7,
                   start: date = date(2026, 11, 2),
                   week_ending: date = date(2026, 11, 22)) -> Any:
    """Seed a fresh SQLite database in ``out_dir`` and write a weekly report there.

    Never touches the configured app database: the example lives in its own
    file (``out_dir/example.db``), replaced on every call.
    """
    from pydantic import SecretStr

    from blocks.crm import SqlCRM
    from intake.reports import weekly_report
    from intake.store import Base, IntakeStore, make_engine

    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / "example.db"
    for stale in out_dir.glob("example.db*"):
        stale.unlink()
    url = f"sqlite:///{database}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    store, crm = IntakeStore(engine), SqlCRM(connection_url=SecretStr(url))
    seed_month(crm, store, start, n, seed, faults=True)
    return weekly_report(crm, store, week_ending, out_dir)


if __name__ == "__main__":
    import sys

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("reports/example")
    paths = example_report(target)
    sys.stdout.write(f"{paths.markdown}\n{paths.csv}\n{paths.chart}\n")

"""The CRM contract: behaviours every CRMConnector must have.

A test module subclasses ``CRMContract`` and provides a ``crm`` fixture that
gives a fresh, empty connector. Tasks and the outbox are read back through
``staff_tasks()`` and ``outbox()``, which every connector offers besides the
``CRMConnector`` interface (the sync step never reads them; the contract must).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from intake.models import (
    Channel,
    CRMFields,
    IntakeStatus,
    MissingDetail,
    OutboundMessage,
    PatientRecord,
    PatientStatus,
    Queue,
    RequestType,
    StaffTask,
    Urgency,
)


def full_intake(intake_id: str = "int-0001", **changes: Any) -> CRMFields:
    """An intake request with every CRM field set (invented values only)."""
    values: dict[str, Any] = {
        "intake_id": intake_id,
        "patient_key": "pat-0001",
        "source": Channel.WEB_FORM,
        "received_at": datetime(2026, 3, 2, 8, 15, 30, tzinfo=UTC),
        "request_type": RequestType.REFERRAL,
        "urgency": Urgency.SOON,
        "patient_status": PatientStatus.EXISTING,
        "queue": Queue.REFERRAL_COORDINATOR,
        "owner": "referrals-team",
        "status": IntakeStatus.WAITING_ON_PATIENT,
        "missing_information": [
            MissingDetail.INSURANCE,
            MissingDetail.REFERRAL_DOCUMENTS,
        ],
        "stop_automation": True,
        "response_due_at": datetime(2026, 3, 4, 17, 0, tzinfo=UTC),
        "follow_up_outcome": "left voicemail",
        "referral_source": "Maple Street Family Clinic",
    }
    values.update(changes)
    return CRMFields(**values)


def patient(**values: Any) -> PatientRecord:
    base: dict[str, Any] = {
        "patient_key": "pat-0001",
        "first_name": "Robin",
        "last_name": "Example",
        "date_of_birth": date(1980, 5, 17),
        "phone": "+15555550101",
        "email": "robin@example.org",
    }
    base.update(values)
    return PatientRecord(**base)


class CRMContract:
    """Mixed into a ``Test...`` class that provides the ``crm`` fixture."""

    # -- intake requests ---------------------------------------------------------

    def test_an_intake_reads_back_every_field_it_was_written_with(self, crm):
        written = full_intake()
        crm.upsert_intake(written)

        assert crm.read_intake("int-0001") == written

    def test_writing_an_intake_twice_keeps_one_record_with_the_latest_fields(self, crm):
        crm.upsert_intake(full_intake(status=IntakeStatus.NEW))
        crm.upsert_intake(full_intake(status=IntakeStatus.STAFF_REPLIED, owner="amy"))

        exported = crm.export_intakes()
        assert [row["intake_id"] for row in exported] == ["int-0001"]
        assert exported[0]["status"] == "staff_replied"
        assert exported[0]["owner"] == "amy"

    def test_a_retried_identical_write_changes_nothing(self, crm):
        crm.upsert_intake(full_intake())
        crm.upsert_intake(full_intake())

        assert crm.export_intakes() == [full_intake().model_dump(mode="json")]

    def test_a_later_intake_write_clears_the_fields_it_leaves_empty(self, crm):
        crm.upsert_intake(full_intake())
        crm.upsert_intake(CRMFields(intake_id="int-0001"))

        assert crm.read_intake("int-0001") == CRMFields(intake_id="int-0001")

    def test_an_intake_with_only_an_id_reads_back_with_the_defaults(self, crm):
        crm.upsert_intake(CRMFields(intake_id="int-0002"))

        read = crm.read_intake("int-0002")
        assert read == CRMFields(intake_id="int-0002")
        assert read.status is IntakeStatus.NEW
        assert read.missing_information == []
        assert read.stop_automation is False

    def test_reading_an_unknown_intake_gives_none(self, crm):
        crm.upsert_intake(full_intake())

        assert crm.read_intake("int-9999") is None

    def test_export_lists_each_intake_once_as_json_ready_dicts(self, crm):
        early = full_intake("int-0001", received_at=datetime(2026, 3, 1, tzinfo=UTC))
        late = full_intake("int-0002", received_at=datetime(2026, 3, 5, tzinfo=UTC))
        crm.upsert_intake(late)
        crm.upsert_intake(early)
        crm.upsert_intake(late)

        exported = crm.export_intakes()
        assert [row["intake_id"] for row in exported] == ["int-0001", "int-0002"]
        assert exported[0] == early.model_dump(mode="json")
        assert exported[0]["received_at"] == "2026-03-01T00:00:00Z"

    # -- patients ------------------------------------------------------------------

    def test_a_patient_written_twice_stays_one_patient_under_its_key(self, crm):
        assert crm.upsert_patient(patient()) == "pat-0001"
        assert crm.upsert_patient(patient(phone="+15555550102")) == "pat-0001"

        found = crm.find_patients(PatientRecord(last_name="Example"))
        assert [p.patient_key for p in found] == ["pat-0001"]
        assert found[0].phone == "+15555550102"
        assert found[0] == patient(phone="+15555550102")

    def test_a_patient_without_a_key_gets_a_new_one(self, crm):
        key = crm.upsert_patient(patient(patient_key=None))

        assert key
        found = crm.find_patients(PatientRecord(phone="+15555550101"))
        assert [p.patient_key for p in found] == [key]

    def test_a_later_patient_write_keeps_the_details_it_does_not_repeat(self, crm):
        crm.upsert_patient(patient())
        crm.upsert_patient(PatientRecord(patient_key="pat-0001", portal_account="p-77"))

        (found,) = crm.find_patients(PatientRecord(portal_account="p-77"))
        assert found == patient(portal_account="p-77")

    def test_find_patients_matches_by_phone(self, crm):
        crm.upsert_patient(patient())
        crm.upsert_patient(
            patient(
                patient_key="pat-0002",
                last_name="Other",
                phone="+15555550199",
                email="other@example.com",
            )
        )

        found = crm.find_patients(PatientRecord(phone="+15555550101"))
        assert [p.patient_key for p in found] == ["pat-0001"]

    def test_find_patients_matches_by_email_in_any_case(self, crm):
        crm.upsert_patient(patient(email="Robin@Example.org"))

        found = crm.find_patients(PatientRecord(email="ROBIN@example.ORG"))
        assert [p.patient_key for p in found] == ["pat-0001"]
        assert found[0].email == "robin@example.org"

    def test_find_patients_matches_by_last_name_in_any_case(self, crm):
        crm.upsert_patient(patient())
        crm.upsert_patient(
            patient(
                patient_key="pat-0002",
                last_name="Other",
                phone="+15555550199",
                email="other@example.com",
            )
        )

        found = crm.find_patients(PatientRecord(last_name="EXAMPLE"))
        assert [p.patient_key for p in found] == ["pat-0001"]

    def test_find_patients_matches_a_last_name_with_an_apostrophe(self, crm):
        crm.upsert_patient(patient(last_name="O'Brien"))

        found = crm.find_patients(PatientRecord(last_name="O'Brien"))
        assert [p.last_name for p in found] == ["O'Brien"]

    def test_find_patients_finds_transposed_first_and_last_names(self, crm):
        crm.upsert_patient(patient())

        found = crm.find_patients(
            PatientRecord(first_name="Example", last_name="Robin")
        )
        assert [p.patient_key for p in found] == ["pat-0001"]

    def test_find_patients_with_nothing_to_match_finds_nobody(self, crm):
        crm.upsert_patient(patient())

        assert crm.find_patients(PatientRecord()) == []
        assert crm.find_patients(PatientRecord(phone="+15555550177")) == []

    # -- staff tasks ------------------------------------------------------------------

    def test_a_staff_task_is_keyed_by_intake_and_kind(self, crm):
        due = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
        first = StaffTask(
            intake_id="int-0001",
            kind="call_back",
            queue=Queue.FRONT_DESK,
            due_at=due,
            summary="Call back about scheduling",
        )
        crm.upsert_staff_task(first)
        crm.upsert_staff_task(
            first.model_copy(update={"status": "done", "owner": "amy"})
        )
        crm.upsert_staff_task(
            StaffTask(
                intake_id="int-0001", kind="verify_insurance", queue=Queue.BILLING
            )
        )
        crm.upsert_staff_task(
            StaffTask(intake_id="int-0002", kind="call_back", queue=Queue.FRONT_DESK)
        )

        tasks = crm.staff_tasks("int-0001")
        assert sorted(t.kind for t in tasks) == ["call_back", "verify_insurance"]
        (call_back,) = [t for t in tasks if t.kind == "call_back"]
        assert call_back == first.model_copy(update={"status": "done", "owner": "amy"})
        assert len(crm.staff_tasks()) == 3

    # -- outbox -----------------------------------------------------------------------

    def test_the_outbox_holds_one_message_per_intake_and_template(self, crm):
        message = OutboundMessage(
            intake_id="int-0001",
            template_id="ack-referral",
            template_version="3",
            channel="portal",
            text="We received your referral.",
        )
        crm.enqueue_message(message)
        crm.enqueue_message(message.model_copy(update={"template_version": "4"}))
        crm.enqueue_message(message.model_copy(update={"template_id": "ask-insurance"}))

        messages = crm.outbox("int-0001")
        assert sorted(m.template_id for m in messages) == [
            "ack-referral",
            "ask-insurance",
        ]
        (ack,) = [m for m in messages if m.template_id == "ack-referral"]
        assert ack.template_version == "4"
        assert ack.text == "We received your referral."

    def test_a_sent_message_is_never_queued_again(self, crm):
        message = OutboundMessage(
            intake_id="int-0001",
            template_id="ack-referral",
            template_version="3",
            channel="portal",
            text="Hello",
        )
        crm.enqueue_message(message.model_copy(update={"status": "sent"}))
        crm.enqueue_message(message)

        (stored,) = crm.outbox("int-0001")
        assert stored.status == "sent"

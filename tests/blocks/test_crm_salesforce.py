"""SalesforceCRM against the in-process fake org: contract, retries, escaping, bulk."""

from __future__ import annotations

import logging
import pickle
import random
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr, ValidationError
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from blocks import crm_salesforce
from blocks.crm import CRMConflictError, CRMError, CRMTransientError
from blocks.crm_salesforce import (
    SALESFORCE_FIELDS,
    SALESFORCE_OBJECTS,
    CRMAuthError,
    SalesforceCRM,
    backoff_delay,
    salesforce_field_table,
)
from intake.models import (
    CRMFields,
    IntakeStatus,
    OutboundMessage,
    PatientRecord,
    Queue,
    StaffTask,
    Urgency,
)
from tests.blocks.crm_contract import CRMContract, full_intake, patient
from tests.fakes.salesforce import FakeSalesforce, parse_soql

TIMEOUT = 7.5


@pytest.fixture
def fake() -> FakeSalesforce:
    return FakeSalesforce()


def connect(fake: FakeSalesforce, **options: object) -> SalesforceCRM:
    """A SalesforceCRM logging in to ``fake`` with no waiting between retries."""
    settings: dict[str, object] = {
        "username": fake.username,
        "password": fake.password,
        "security_token": fake.security_token,
        "timeout_seconds": TIMEOUT,
        "backoff_seconds": 0.0,
        "bulk_poll_seconds": 0.0,
    }
    settings.update(options)
    crm = SalesforceCRM(**settings)  # type: ignore[arg-type]
    fake.install(crm.http_session)
    return crm


@pytest.fixture
def crm(fake: FakeSalesforce) -> SalesforceCRM:
    return connect(fake)


class TestSalesforceCRMContract(CRMContract):
    """The CRM contract, against Salesforce (the fake org)."""


# ----------------------------------------------------------------------------
# Upserts by external id


def upserts(fake: FakeSalesforce, obj: str) -> list[int | None]:
    """HTTP statuses of the PATCH requests sent to ``obj``."""
    return [
        r.status
        for r in fake.api_requests()
        if r.method == "PATCH" and f"/sobjects/{obj}/" in r.path
    ]


WRITES = {
    "patient": ("Contact", lambda crm: crm.upsert_patient(patient())),
    "intake": ("Case", lambda crm: crm.upsert_intake(full_intake())),
    "task": (
        "Task",
        lambda crm: crm.upsert_staff_task(
            StaffTask(intake_id="int-0001", kind="call_back", queue=Queue.FRONT_DESK)
        ),
    ),
    "message": (
        "Intake_Message__c",
        lambda crm: crm.enqueue_message(
            OutboundMessage(
                intake_id="int-0001",
                template_id="ack",
                template_version="1",
                channel="portal",
                text="We received your request.",
            )
        ),
    ),
}


@pytest.mark.parametrize("record", list(WRITES))
def test_a_first_write_creates_and_a_second_updates_the_same_record(crm, fake, record):
    obj, write = WRITES[record]
    write(crm)
    write(crm)

    assert upserts(fake, obj) == [201, 204]
    assert len(fake.records[obj]) == 1


@pytest.mark.parametrize("record", list(WRITES))
def test_a_write_whose_answer_was_lost_is_retried_without_a_duplicate(
    crm, fake, record
):
    obj, write = WRITES[record]
    fake.fail_next(
        exception=requests.ReadTimeout,
        after_processing=True,
        when=lambda request: request.method == "PATCH",
    )

    write(crm)

    assert upserts(fake, obj) == [None, 204]
    assert len(fake.records[obj]) == 1


def test_the_external_id_goes_into_the_url_quoted(crm, fake):
    crm.upsert_patient(patient(patient_key="pat/1 2"))

    (path,) = [r.path for r in fake.api_requests() if r.method == "PATCH"]
    assert path.endswith("/sobjects/Contact/Patient_Key__c/pat%2F1%202")
    assert fake.records["Contact"][0]["Patient_Key__c"] == "pat/1 2"


def test_the_staff_task_key_is_intake_id_and_kind(crm, fake):
    crm.upsert_staff_task(
        StaffTask(
            intake_id="int-0001",
            kind="call_back",
            queue=Queue.FRONT_DESK,
            status="done",
            due_at=datetime(2026, 3, 3, 23, 30, tzinfo=UTC),
        )
    )

    (task,) = fake.records["Task"]
    assert task["Intake_Task_Key__c"] == "int-0001:call_back"
    assert task["Status"] == "Completed"
    assert task["ActivityDate"] == "2026-03-03"
    assert task["Subject"] == "Intake follow-up: call_back"


def test_the_outbox_key_is_intake_id_and_template(crm, fake):
    WRITES["message"][1](crm)

    (message,) = fake.records["Intake_Message__c"]
    assert message["Intake_Message_Key__c"] == "int-0001:ack"


def test_two_contacts_sharing_a_patient_key_raise_a_conflict(crm, fake):
    for _ in range(2):
        fake.add_record("Contact", {"Patient_Key__c": "pat-0001", "LastName": "Dup"})

    with pytest.raises(CRMConflictError, match="HTTP 300") as raised:
        crm.upsert_patient(patient())

    assert upserts(fake, "Contact") == [300]
    assert "003FAKE" not in str(raised.value)
    assert len(fake.records["Contact"]) == 2


def test_two_cases_sharing_an_intake_id_raise_a_conflict_on_write_and_read(crm, fake):
    for _ in range(2):
        fake.add_record("Case", {"Intake_Id__c": "int-0001"})

    with pytest.raises(CRMConflictError):
        crm.upsert_intake(full_intake())
    with pytest.raises(CRMConflictError):
        crm.read_intake("int-0001")


def test_a_new_patient_without_a_last_name_gets_the_placeholder(crm, fake):
    key = crm.upsert_patient(PatientRecord(phone="+15555550103"))

    (contact,) = fake.records["Contact"]
    assert contact["LastName"] == "(not given)"
    (found,) = crm.find_patients(PatientRecord(phone="+15555550103"))
    assert found == PatientRecord(patient_key=key, phone="+15555550103")
    assert upserts(fake, "Contact") == [400, 201]


def test_an_existing_patient_written_without_a_last_name_keeps_it(crm, fake):
    crm.upsert_patient(patient())
    crm.upsert_patient(PatientRecord(patient_key="pat-0001", phone="+15555550104"))

    assert fake.records["Contact"][0]["LastName"] == "Example"
    assert upserts(fake, "Contact") == [201, 204]


def test_export_pages_through_every_intake(fake):
    fake.page_size = 3
    crm = connect(fake)
    for n in range(7):
        crm.upsert_intake(CRMFields(intake_id=f"int-{n:04d}"))

    exported = crm.export_intakes()

    assert [row["intake_id"] for row in exported] == [f"int-{n:04d}" for n in range(7)]
    assert sum("/query/01g" in r.path for r in fake.api_requests()) == 2


def test_export_patients_lists_every_patient(crm):
    crm.upsert_patient(patient())
    crm.upsert_patient(patient(patient_key="pat-0002", last_name="Other"))

    exported = crm.export_patients()

    assert [row["patient_key"] for row in exported] == ["pat-0001", "pat-0002"]
    assert exported[0]["date_of_birth"] == "1980-05-17"


# ----------------------------------------------------------------------------
# SOQL escaping


def add_contacts(crm: SalesforceCRM) -> None:
    crm.upsert_patient(patient(patient_key="pat-0001", last_name="O'Brien"))
    crm.upsert_patient(
        patient(
            patient_key="pat-0002",
            last_name="Nguyen",
            phone="+15555550102",
            email="n@example.com",
        )
    )


def test_an_apostrophe_in_a_name_is_escaped_in_soql(crm, fake):
    add_contacts(crm)

    found = crm.find_patients(PatientRecord(last_name="O'Brien"))

    assert [p.patient_key for p in found] == ["pat-0001"]
    query = fake.queries[-1]
    assert "LastName = 'O\\'Brien'" in query.soql
    assert query.literals == ["O'Brien"]


@pytest.mark.parametrize(
    "hostile",
    ["x' OR Name LIKE '%", "x\\' OR LastName != '", "O'Brien') OR (Phone != null"],
)
def test_an_injection_attempt_is_compared_as_one_plain_value(crm, fake, hostile):
    add_contacts(crm)

    found = crm.find_patients(PatientRecord(last_name=hostile))

    assert found == []
    query = fake.queries[-1]
    # The fake parsed exactly one comparison whose value is the whole input.
    assert query.literals == [hostile]
    assert query.fields and query.object == "Contact"


def test_the_fake_refuses_an_unescaped_quote_like_salesforce(fake):
    session = requests.Session()
    fake.install(session)
    sf = Salesforce(
        session_id=fake.issue_session(), instance_url=fake.instance_url, session=session
    )

    with pytest.raises(SalesforceMalformedRequest) as raised:
        sf.query("SELECT Id FROM Contact WHERE LastName = 'O'Brien'")

    assert raised.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_the_fake_shows_what_unescaped_concatenation_would_leak(fake):
    fake.add_record("Contact", {"Patient_Key__c": "pat-1", "LastName": "Nguyen"})
    fake.add_record("Contact", {"Patient_Key__c": "pat-2", "LastName": "Okafor"})
    session = requests.Session()
    fake.install(session)
    sf = Salesforce(
        session_id=fake.issue_session(), instance_url=fake.instance_url, session=session
    )
    hostile = "x' OR Name LIKE '%"

    # What an f-string would build is valid SOQL that matches everyone, so the
    # escaping tests check the parsed literals, not only an empty result.
    leaked = sf.query(f"SELECT Id FROM Contact WHERE LastName = '{hostile}'")

    assert leaked["totalSize"] == 2
    assert parse_soql(
        f"SELECT Id FROM Contact WHERE LastName = '{hostile}'"
    ).literals == ["x", "%"]


def test_intake_ids_are_escaped_in_reads(crm, fake):
    crm.upsert_intake(full_intake("int-0001"))

    assert crm.read_intake("int-0001' OR Intake_Id__c != '") is None
    assert fake.queries[-1].literals == ["int-0001' OR Intake_Id__c != '"]


# ----------------------------------------------------------------------------
# Sessions


def test_an_expired_session_is_renewed_once_and_the_call_succeeds(crm, fake):
    crm.upsert_intake(full_intake())
    first_session = fake.api_requests()[-1].session
    fake.expire_sessions()

    crm.upsert_intake(full_intake(urgency=Urgency.URGENT_REVIEW))

    assert fake.logins == 2
    assert [r.status for r in fake.api_requests()][-2:] == [401, 204]
    assert fake.api_requests()[-1].session != first_session
    assert crm.read_intake("int-0001").urgency is Urgency.URGENT_REVIEW


def test_a_session_refused_again_after_renewal_raises_an_auth_error(crm, fake):
    crm.upsert_intake(full_intake())
    fake.fail_next(401, error_code="INVALID_SESSION_ID", times=5)

    with pytest.raises(CRMAuthError, match="again right after a fresh login"):
        crm.upsert_intake(full_intake())

    assert fake.logins == 2
    assert [r.status for r in fake.api_requests()][-2:] == [401, 401]


def test_a_given_session_id_is_used_without_logging_in(fake):
    crm = connect(
        fake,
        username=None,
        password=None,
        security_token=None,
        session_id=fake.issue_session(),
        instance_url=fake.instance_url,
    )

    crm.upsert_intake(full_intake())

    assert fake.logins == 0


def test_an_expired_session_id_without_credentials_raises_an_auth_error(fake):
    crm = connect(
        fake,
        username=None,
        password=None,
        security_token=None,
        session_id="00DFAKE!expired",
        instance_url=fake.instance_url,
    )

    with pytest.raises(CRMAuthError, match="no username/password"):
        crm.upsert_intake(full_intake())

    assert len(fake.api_requests()) == 1


def test_an_expired_session_id_is_replaced_by_a_login_when_credentials_are_set(fake):
    crm = connect(fake, session_id="00DFAKE!expired", instance_url=fake.instance_url)

    crm.upsert_intake(full_intake())

    assert fake.logins == 1
    assert [r.status for r in fake.api_requests()] == [401, 201]


def test_a_refused_login_raises_an_auth_error_without_the_username(fake):
    crm = connect(fake, password="wrong")

    with pytest.raises(CRMAuthError, match="INVALID_LOGIN") as raised:
        crm.upsert_intake(full_intake())

    assert fake.username not in str(raised.value)
    assert len(fake.requests) == 1


# ----------------------------------------------------------------------------
# Transient failures


def test_request_limit_exceeded_is_retried_then_succeeds(crm, fake):
    fake.fail_next(403, error_code="REQUEST_LIMIT_EXCEEDED", times=2)

    crm.upsert_intake(full_intake())

    assert [r.status for r in fake.api_requests()] == [403, 403, 201]
    assert crm.read_intake("int-0001") == full_intake()


def test_request_limit_exceeded_past_max_retries_raises_a_transient_error(fake):
    crm = connect(fake, max_retries=2)
    fake.fail_next(403, error_code="REQUEST_LIMIT_EXCEEDED", times=3)

    with pytest.raises(CRMTransientError, match="REQUEST_LIMIT_EXCEEDED") as raised:
        crm.upsert_intake(full_intake())

    assert "gave up after 3 attempts" in str(raised.value)
    assert [r.status for r in fake.api_requests()] == [403, 403, 403]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retried(crm, fake, status):
    fake.fail_next(status, error_code="SERVER_UNAVAILABLE")

    crm.upsert_intake(full_intake())

    assert [r.status for r in fake.api_requests()] == [status, 201]


@pytest.mark.parametrize(
    "failure", [requests.ConnectTimeout, requests.ReadTimeout, requests.ConnectionError]
)
def test_timeouts_and_lost_connections_are_retried(crm, fake, failure):
    fake.fail_next(exception=failure, times=2)

    crm.find_patients(PatientRecord(phone="+15555550101"))

    assert [r.status for r in fake.api_requests()] == [None, None, 200]


def test_a_login_that_times_out_is_retried(crm, fake):
    fake.fail_next(exception=requests.ReadTimeout, target="login")

    crm.upsert_intake(full_intake())

    assert fake.logins == 1
    assert [r.status for r in fake.requests if r.path.startswith("/services/Soap")] == [
        None,
        200,
    ]


def test_a_refusal_other_than_the_request_limit_is_not_retried(crm, fake):
    fake.fail_next(403, error_code="INSUFFICIENT_ACCESS_OR_READONLY")

    with pytest.raises(CRMError, match="INSUFFICIENT_ACCESS") as raised:
        crm.upsert_intake(full_intake())

    assert not isinstance(raised.value, CRMTransientError)
    assert len(fake.api_requests()) == 1


def test_a_missing_field_in_the_org_is_reported_with_a_hint(fake):
    crm = connect(fake, field_names={"intake.owner": "Not_In_Org__c"})

    with pytest.raises(CRMError, match="INVALID_FIELD.*README"):
        crm.upsert_intake(full_intake())


def test_retries_wait_longer_each_time_with_jitter(fake, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(crm_salesforce.time, "sleep", waits.append)
    crm = connect(fake, backoff_seconds=1.0, backoff_max_seconds=5.0, max_retries=4)
    fake.fail_next(503, times=4)

    crm.upsert_intake(full_intake())

    assert len(waits) == 4
    for wait, ceiling in zip(waits, [1, 2, 4, 5], strict=True):
        assert ceiling / 2 <= wait <= ceiling


def test_backoff_delays_are_jittered_below_an_exponential_ceiling():
    rng = random.Random(7)
    delays = [backoff_delay(n, 0.5, 30.0, rng) for n in range(8)]

    ceilings = [min(30.0, 0.5 * 2**n) for n in range(8)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert len({backoff_delay(3, 0.5, 30.0, rng) for _ in range(5)}) == 5


# ----------------------------------------------------------------------------
# Timeouts


def test_every_request_is_sent_with_the_configured_timeout(crm, fake):
    crm.upsert_patient(patient())
    crm.find_patients(PatientRecord(last_name="Example"))
    crm.upsert_intake(full_intake())
    crm.read_intake("int-0001")
    crm.export_intakes()
    WRITES["task"][1](crm)
    WRITES["message"][1](crm)
    crm.bulk_upsert_intakes([CRMFields(intake_id=f"int-{n}") for n in range(3)])
    fake.expire_sessions()
    crm.read_intake("int-0001")

    kinds = {(r.method, r.path.rstrip("/").split("/")[-1]) for r in fake.requests}
    # Login, REST upsert, SOQL query and every Bulk API 2.0 step were all sent.
    assert {
        ("POST", "59.0"),
        ("GET", "query"),
        ("POST", "ingest"),
        ("PUT", "batches"),
        ("GET", "successfulResults"),
        ("GET", "failedResults"),
    } <= kinds
    assert any(method == "PATCH" for method, _ in kinds)
    assert fake.logins == 2
    assert [r for r in fake.requests if r.timeout != TIMEOUT] == []


def test_the_http_session_fills_in_a_timeout_for_any_request(fake):
    crm = connect(fake)
    session = crm.http_session

    session.get(f"{fake.instance_url}/services/data/v59.0/query/?q=SELECT+Id+FROM+Case")

    assert fake.requests[-1].timeout == TIMEOUT


# ----------------------------------------------------------------------------
# No field values in errors or logs


PHI = (
    "Robin",
    "Example",
    "+15555550101",
    "robin@example.org",
    "1980-05-17",
    "pat-0001",
)


def assert_clean(error: BaseException) -> None:
    text = f"{error} {error!r}"
    for value in PHI:
        assert value not in text
    assert error.__cause__ is None and error.__context__ is None


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "INVALID_FIELD"),
        (404, "NOT_FOUND"),
        (500, "UNKNOWN_EXCEPTION"),
        (403, "REQUEST_LIMIT_EXCEEDED"),
        (400, "DUPLICATE_VALUE"),
    ],
)
def test_error_messages_carry_no_field_values(fake, caplog, status, code):
    crm = connect(fake, max_retries=1)
    # The fake quotes the URL and the request body in its error, as Salesforce does.
    fake.fail_next(status, error_code=code, times=2)

    with caplog.at_level(logging.DEBUG, logger="blocks"):
        with pytest.raises(CRMError) as raised:
            crm.upsert_patient(patient())

    assert_clean(raised.value)
    for value in PHI:
        assert value not in caplog.text


def test_a_conflict_error_carries_no_field_values(crm, fake):
    for _ in range(2):
        fake.add_record("Contact", {"Patient_Key__c": "pat-0001", "LastName": "Dup"})

    with pytest.raises(CRMConflictError) as raised:
        crm.upsert_patient(patient())

    assert_clean(raised.value)


def test_a_transient_error_that_gives_up_carries_no_field_values(fake):
    crm = connect(fake, max_retries=1)
    fake.fail_next(
        exception=requests.ReadTimeout("https://x/Patient_Key__c/pat-0001"), times=2
    )

    with pytest.raises(CRMTransientError) as raised:
        crm.find_patients(patient())

    assert_clean(raised.value)


# ----------------------------------------------------------------------------
# Bulk API 2.0


def test_bulk_upsert_of_500_intakes_runs_in_one_job(crm, fake):
    batch = [
        full_intake(
            f"int-{n:04d}",
            status=IntakeStatus.NEW if n % 2 else IntakeStatus.NEEDS_REVIEW,
        )
        for n in range(500)
    ]

    first = crm.bulk_upsert_intakes(batch)
    again = crm.bulk_upsert_intakes(batch)

    assert (first.created, first.updated, first.processed) == (500, 0, 500)
    assert (again.created, again.updated) == (0, 500)
    assert first.ok and again.ok
    assert len(fake.jobs) == 2 and len(first.job_ids) == 1
    assert len(fake.records["Case"]) == 500
    assert crm.read_intake("int-0007") == batch[7]
    assert crm.read_intake("int-0008") == batch[8]


def test_bulk_upsert_clears_fields_set_to_none(crm, fake):
    crm.upsert_intake(full_intake())

    crm.bulk_upsert_intakes([CRMFields(intake_id="int-0001")])

    assert crm.read_intake("int-0001") == CRMFields(intake_id="int-0001")


def test_bulk_failures_name_intake_ids_and_error_codes_only(crm, fake):
    for _ in range(2):
        fake.add_record("Case", {"Intake_Id__c": "int-dup"})
    batch = [
        full_intake("int-ok"),
        full_intake("int-dup"),
        full_intake("int-twice"),
        full_intake("int-twice", owner="Robin Example"),
    ]

    result = crm.bulk_upsert_intakes(batch)

    assert not result.ok
    assert sorted((f.intake_id, f.error_code) for f in result.failures) == [
        ("int-dup", "DUPLICATE_EXTERNAL_ID"),
        ("int-twice", "DUPLICATE_VALUE"),
    ]
    assert "Robin" not in result.model_dump_json()
    assert result.created == 2


def test_an_empty_bulk_upsert_sends_nothing(crm, fake):
    assert crm.bulk_upsert_intakes([]).processed == 0
    assert fake.requests == []


def test_a_failed_bulk_job_raises_without_its_message(fake):
    crm = connect(fake, field_names={"intake.owner": "Not_In_Org__c"})

    with pytest.raises(CRMError, match="Bulk API job failed") as raised:
        crm.bulk_upsert_intakes([full_intake()])

    assert "Not_In_Org__c" not in str(raised.value)
    assert_clean(raised.value)


def test_a_bulk_upsert_rides_out_a_rate_limit(crm, fake):
    fake.fail_next(
        403, error_code="REQUEST_LIMIT_EXCEEDED", when=lambda r: r.method == "PUT"
    )

    result = crm.bulk_upsert_intakes([full_intake()])

    assert result.created == 1
    assert [j.state for j in fake.jobs.values()] == ["Aborted", "JobComplete"]


# ----------------------------------------------------------------------------
# Configuration and the mapping table


def test_every_model_field_has_a_salesforce_field():
    mapped = {key for key in SALESFORCE_FIELDS}
    for record, model in [
        ("patient", PatientRecord),
        ("intake", CRMFields),
        ("task", StaffTask),
        ("message", OutboundMessage),
    ]:
        for name in model.model_fields:
            assert f"{record}.{name}" in mapped


def test_the_fake_org_has_every_field_of_the_mapping(fake):
    for key, spec in SALESFORCE_FIELDS.items():
        obj = SALESFORCE_OBJECTS[key.split(".")[0]]
        assert spec.api_name in fake.schema[obj].fields, key


def test_the_readme_table_lists_every_custom_field_once_per_object():
    table = salesforce_field_table()

    for key, spec in SALESFORCE_FIELDS.items():
        obj = SALESFORCE_OBJECTS[key.split(".")[0]]
        assert f"| {obj} | `{spec.api_name}` |" in table
    assert "values: routine, soon, urgent_review, emergency" in table


def test_readme_documents_the_salesforce_fields_when_it_has_the_section():
    readme = Path(__file__).resolve().parents[2] / "README.md"
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if "## Using Salesforce" not in text:
        pytest.skip("README has no 'Using Salesforce' section yet")
    for spec in SALESFORCE_FIELDS.values():
        if spec.api_name.endswith("__c"):
            assert spec.api_name in text


@pytest.mark.parametrize(
    "names",
    [
        {"field_names": {"intake.owner": "Owner__c) OR (Name"}},
        {"field_names": {"intake.nonexistent": "X__c"}},
        {"object_names": {"intake": "Case WHERE"}},
        {"object_names": {"invoice": "Invoice__c"}},
    ],
)
def test_names_that_are_not_plain_api_names_are_refused(names):
    with pytest.raises(ValidationError):
        SalesforceCRM(username="u", password="p", **names)


def test_a_salesforce_domain_is_refused_with_a_hint():
    with pytest.raises(ValidationError, match="My Domain"):
        SalesforceCRM(username="u", password="p", domain="acme.my.salesforce.com")


def test_renamed_fields_and_objects_are_used(fake):
    fake.schema["Case"].fields["Staff_Owner__c"] = "string"
    fake.schema["Outbox__c"] = fake.schema.pop("Intake_Message__c")
    fake.records["Outbox__c"] = fake.records.pop("Intake_Message__c")
    crm = connect(
        fake,
        field_names={"intake.owner": "Staff_Owner__c"},
        object_names={"message": "Outbox__c"},
    )

    crm.upsert_intake(full_intake(owner="amy"))
    WRITES["message"][1](crm)

    assert fake.records["Case"][0]["Staff_Owner__c"] == "amy"
    assert crm.read_intake("int-0001").owner == "amy"
    assert len(crm.outbox("int-0001")) == 1


def test_secrets_are_masked(fake):
    crm = SalesforceCRM(
        username="u",
        password="hunter2",
        security_token="tok-9",
        session_id="00D!secret",
    )

    assert "hunter2" not in repr(crm) and "tok-9" not in repr(crm)
    assert "00D!secret" not in str(crm.model_dump())


def test_from_settings_builds_the_block_from_the_environment(monkeypatch):
    monkeypatch.setenv("INTAKE_SALESFORCE_USERNAME", "intake@example.org")
    monkeypatch.setenv("INTAKE_SALESFORCE_PASSWORD", "pw")
    monkeypatch.setenv("INTAKE_SALESFORCE_SECURITY_TOKEN", "tok")
    monkeypatch.setenv("INTAKE_SALESFORCE_DOMAIN", "test")
    monkeypatch.delenv("INTAKE_SALESFORCE_BLOCK", raising=False)

    crm = SalesforceCRM.from_settings(timeout_seconds=12)

    assert crm.username == "intake@example.org"
    assert crm.password == SecretStr("pw")
    assert crm.security_token == SecretStr("tok")
    assert crm.domain == "test"
    assert crm.timeout_seconds == 12


def test_from_settings_loads_the_named_block(monkeypatch):
    saved = SalesforceCRM(
        session_id="00D!x", instance_url="https://x.my.salesforce.com"
    )
    loaded: list[str] = []

    def load(name: str, **_: object) -> SalesforceCRM:
        loaded.append(name)
        return saved

    monkeypatch.setenv("INTAKE_SALESFORCE_BLOCK", "practice-salesforce")
    monkeypatch.setattr(SalesforceCRM, "load", load)

    assert SalesforceCRM.from_settings() is saved
    assert loaded == ["practice-salesforce"]


def test_from_settings_without_configuration_says_what_to_set(monkeypatch):
    for name in ("BLOCK", "USERNAME", "PASSWORD", "SESSION_ID", "INSTANCE_URL"):
        monkeypatch.delenv(f"INTAKE_SALESFORCE_{name}", raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here

    with pytest.raises(CRMError, match="INTAKE_SALESFORCE_USERNAME"):
        SalesforceCRM.from_settings()


def test_a_block_without_credentials_says_what_is_missing():
    crm = SalesforceCRM()

    with pytest.raises(CRMAuthError, match="username, password"):
        crm.read_intake("int-0001")


def test_a_birthdate_reads_back_as_a_date(crm):
    crm.upsert_patient(patient())

    (found,) = crm.find_patients(PatientRecord(date_of_birth=date(1980, 5, 17)))
    assert found.date_of_birth == date(1980, 5, 17)


def test_a_row_lock_held_elsewhere_is_retried(crm, fake):
    fake.fail_next(400, error_code="UNABLE_TO_LOCK_ROW")

    crm.upsert_intake(full_intake())

    assert [r.status for r in fake.api_requests()] == [400, 201]


def test_a_pickled_block_connects_afresh(crm, fake):
    crm.upsert_intake(full_intake())

    copy = pickle.loads(pickle.dumps(crm))

    assert copy.username == crm.username
    assert copy.password == crm.password
    assert copy._sf is None and copy._http is None
    assert crm._sf is not None


# ----------------------------------------------------------------------------
# The fake itself behaves like the org where the connector relies on it


@pytest.fixture
def raw_sf(fake: FakeSalesforce) -> Salesforce:
    session = requests.Session()
    fake.install(session)
    return Salesforce(
        session_id=fake.issue_session(), instance_url=fake.instance_url, session=session
    )


def test_the_fake_gets_a_record_by_external_id(fake, raw_sf):
    raw_sf.Contact.upsert("Patient_Key__c/pat%2F1", {"LastName": "Nguyen"})

    record = raw_sf.Contact.get("Patient_Key__c/pat%2F1")

    assert record["LastName"] == "Nguyen"
    assert record["Patient_Key__c"] == "pat/1"
    with pytest.raises(SalesforceResourceNotFound):
        raw_sf.Contact.get("Patient_Key__c/pat-404")
    fake.add_record("Contact", {"Patient_Key__c": "pat/1", "LastName": "Dup"})
    with pytest.raises(SalesforceMoreThanOneRecord):
        raw_sf.Contact.get("Patient_Key__c/pat%2F1")


def test_the_fake_refuses_what_the_org_refuses(raw_sf):
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD"):
        raw_sf.Case.upsert("Intake_Id__c/int-1", {"Intake_Id__c": "int-1"})
    with pytest.raises(SalesforceMalformedRequest, match="INVALID_FIELD"):
        raw_sf.Case.upsert("Intake_Id__c/int-1", {"Unknown__c": "x"})
    with pytest.raises(SalesforceMalformedRequest, match="RESTRICTED_PICKLIST"):
        raw_sf.Case.upsert("Intake_Id__c/int-1", {"Urgency__c": "Urgency.SOON"})
    with pytest.raises(SalesforceMalformedRequest, match="REQUIRED_FIELD_MISSING"):
        raw_sf.Contact.upsert("Patient_Key__c/pat-1", {"FirstName": "Robin"})
    with pytest.raises(SalesforceResourceNotFound):
        raw_sf.Case.upsert("Subject/int-1", {})
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        raw_sf.query(
            "SELECT Id FROM Case WHERE Urgency__c = 'a' OR Queue__c = 'b' "
            "AND Owner_Label__c = 'c'"
        )
    with pytest.raises(SalesforceMalformedRequest, match="MALFORMED_QUERY"):
        raw_sf.query("SELECT Id FROM Case WHERE Owner_Label__c = 'a\\q'")


def test_the_fake_rejects_an_unknown_session(fake, raw_sf):
    fake.expire_sessions()

    with pytest.raises(SalesforceExpiredSession):
        raw_sf.query("SELECT Id FROM Case")

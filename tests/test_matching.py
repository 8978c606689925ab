"""Tests for patient matching: normalisation, the link/new/ambiguous rules, the CRM."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from blocks.crm import CRMPatient, SqlCRM
from intake.matching import (
    CANDIDATE_LIMIT,
    Agreement,
    EvidenceField,
    MatchDecision,
    compare_dob,
    find_candidates,
    fold,
    given_name_forms,
    match_patient,
    nickname_table,
    normalize_email,
    normalize_phone,
    parse_date_of_birth,
    probe_from_record,
    resolve_patient,
)
from intake.models import ContactDetails, IntakeRecord, PatientIdentity, PatientRecord

DOB = date(1984, 3, 9)


def stored(key: str = "pat-1", **fields: object) -> PatientRecord:
    values: dict[str, object] = {
        "first_name": "William",
        "last_name": "Okafor",
        "date_of_birth": DOB,
        "phone": "+12125550101",
        "email": "w.okafor@example.com",
    }
    values.update(fields)
    return PatientRecord(patient_key=key, **values)  # type: ignore[arg-type]


def probe(**fields: object) -> PatientRecord:
    values: dict[str, object] = {
        "first_name": "William",
        "last_name": "Okafor",
        "date_of_birth": DOB,
    }
    values.update(fields)
    return PatientRecord(**values)  # type: ignore[arg-type]


def field_result(decision: MatchDecision, key: str, field: EvidenceField) -> Agreement:
    for evidence in decision.evidence:
        if evidence.patient_key == key:
            result = evidence.result(field)
            assert result is not None
            return result
    raise AssertionError(f"no evidence for {key}")


def record(
    first: str | None,
    last: str | None,
    dob: date | None = DOB,
    phones: list[str] | None = None,
    emails: list[str] | None = None,
    intake_id: str = "in-1",
    **identity: object,
) -> IntakeRecord:
    return IntakeRecord(
        intake_id=intake_id,
        source_id=intake_id,
        patient=PatientIdentity(
            first_name=first,
            last_name=last,
            date_of_birth=dob,
            **identity,  # type: ignore[arg-type]
        ),
        contact=ContactDetails(phones=phones or [], emails=emails or []),
    )


# --------------------------------------------------------------------------
# Normalisation


class TestNormalisation:
    def test_accents_and_case_fold_away(self) -> None:
        assert fold("José NÚÑEZ Øster") == "jose nunez oster"

    def test_phone_numbers_become_e164_in_the_us_by_default(self) -> None:
        for written in (
            "(212) 555-0142",
            "212.555.0142",
            "+1 212 555 0142",
            "2125550142",
        ):
            assert normalize_phone(written) == "+12125550142"

    def test_a_local_number_without_area_code_is_not_compared(self) -> None:
        assert normalize_phone("555-0142") is None
        assert normalize_phone("12") is None
        assert normalize_phone("not a number") is None

    def test_email_is_lowercased_but_dots_and_plus_tags_are_kept(self) -> None:
        assert normalize_email(" Ana.Ruiz+clinic@Example.COM ") == (
            "ana.ruiz+clinic@example.com"
        )
        for written in (
            "mailto:ANA@example.org",
            "<ana@Example.org>",
            "Ana Ruiz <Ana@example.ORG>",
        ):
            assert normalize_email(written) == "ana@example.org"
        assert normalize_email("no-at-sign") is None

    @pytest.mark.parametrize(
        ("written", "expected"),
        [
            ("03/09/1984", date(1984, 3, 9)),
            ("25/03/1984", date(1984, 3, 25)),  # day first when it can't be a month
            ("1984-03-09", date(1984, 3, 9)),
            ("March 9, 1984", date(1984, 3, 9)),
            ("9 de marzo de 1984", date(1984, 3, 9)),
            ("3/9/84", date(1984, 3, 9)),
            ("02/30/1984", None),
            ("someday", None),
        ],
    )
    def test_dates_of_birth_parse_from_common_spellings(
        self, written: str, expected: date | None
    ) -> None:
        assert parse_date_of_birth(written, today=date(2025, 1, 15)) == expected

    def test_a_date_of_birth_in_the_future_is_rejected(self) -> None:
        assert parse_date_of_birth("01/01/2030", today=date(2025, 1, 15)) is None

    def test_day_and_month_swapped_is_its_own_kind_of_agreement(self) -> None:
        assert compare_dob(date(1984, 3, 9), date(1984, 9, 3)) == (
            Agreement.SWAPPED_DAY_MONTH
        )
        assert compare_dob(date(1984, 3, 9), date(1984, 3, 8)) == Agreement.TYPO
        assert compare_dob(date(1984, 3, 9), date(1991, 7, 22)) == Agreement.DIFFERENT

    def test_the_nickname_table_holds_hundreds_of_english_and_spanish_pairs(
        self,
    ) -> None:
        table = nickname_table()
        pairs = sum(len(canons) for name, canons in table.items() if name not in canons)
        assert pairs >= 300
        for nickname, canonical in [
            ("bill", "william"),
            ("bob", "robert"),
            ("liz", "elizabeth"),
            ("pepe", "jose"),
            ("paco", "francisco"),
            ("lupe", "guadalupe"),
            ("chuy", "jesus"),
            ("nacho", "ignacio"),
        ]:
            assert canonical in given_name_forms(nickname)

    def test_nicknames_do_not_chain_between_canonical_names(self) -> None:
        # "Eddie" is short for both; Edward and Eduardo are still two names.
        assert not given_name_forms("edward") & given_name_forms("eduardo")


class TestProbeFromRecord:
    def test_probe_normalises_contact_and_parses_written_dates(self) -> None:
        rec = IntakeRecord(
            intake_id="in-1",
            source_id="src-1",
            sender_name="Someone Else",
            patient=PatientIdentity(
                first_name="  Ana  María ",
                last_name="Ruiz",
                date_of_birth_text="25/03/1984",
                patient_id="PT-000123",
            ),
            contact=ContactDetails(
                phones=["555-0101", "(212) 555-0101"], emails=["Ana.Ruiz@Example.com"]
            ),
        )

        result = probe_from_record(rec)

        assert result.first_name == "Ana María"
        assert result.last_name == "Ruiz"
        assert result.date_of_birth == date(1984, 3, 25)
        assert result.phone == "+12125550101"  # the first complete number
        assert result.email == "ana.ruiz@example.com"
        assert result.portal_account == "PT-000123"
        assert result.patient_key is None

    def test_the_senders_display_name_is_not_taken_for_the_patients(self) -> None:
        rec = IntakeRecord(intake_id="in-2", source_id="s", sender_name="Rosa Diaz")
        result = probe_from_record(rec)
        assert result.first_name is None and result.last_name is None


# --------------------------------------------------------------------------
# The rules


class TestLinks:
    def test_exact_match_links(self) -> None:
        decision = match_patient(probe(phone="+12125550101"), [stored()])
        assert decision.outcome == "link"
        assert decision.patient_key == "pat-1"

    def test_nickname_with_same_last_name_and_dob_links(self) -> None:
        decision = match_patient(probe(first_name="Bill"), [stored()])
        assert decision.outcome == "link"
        assert field_result(decision, "pat-1", EvidenceField.FIRST_NAME) == (
            Agreement.NICKNAME
        )

    def test_spanish_nickname_links(self) -> None:
        candidate = stored(first_name="José", last_name="Quintero")
        decision = match_patient(
            probe(first_name="Pepe", last_name="Quintero"), [candidate]
        )
        assert decision.outcome == "link"

    def test_accents_case_and_punctuation_do_not_stop_a_link(self) -> None:
        candidate = stored(first_name="José", last_name="Pérez-García")
        decision = match_patient(
            probe(first_name="JOSE", last_name="perez garcia"), [candidate]
        )
        assert decision.outcome == "link"
        assert field_result(decision, "pat-1", EvidenceField.LAST_NAME) == (
            Agreement.SAME
        )

    def test_one_of_two_surnames_still_links(self) -> None:
        candidate = stored(first_name="Lucía", last_name="Ferrer Montalvo")
        decision = match_patient(
            probe(first_name="Lucia", last_name="Ferrer"), [candidate]
        )
        assert decision.outcome == "link"
        assert field_result(decision, "pat-1", EvidenceField.LAST_NAME) == (
            Agreement.COMPOUND
        )

    def test_transposed_first_and_last_names_link_and_say_so(self) -> None:
        decision = match_patient(
            probe(first_name="Okafor", last_name="Bill"), [stored()]
        )
        assert decision.outcome == "link"
        assert field_result(decision, "pat-1", EvidenceField.NAME_ORDER) == (
            Agreement.TRANSPOSED
        )

    def test_portal_account_links_even_when_names_differ(self) -> None:
        candidate = stored(portal_account="PT-000777")
        decision = match_patient(
            probe(
                first_name="Nadia",
                last_name="Okafor",
                date_of_birth=None,
                portal_account="PT-000777",
            ),
            [stored("pat-0", first_name="Nadia"), candidate],
        )
        assert decision.outcome == "link"
        assert decision.patient_key == "pat-1"

    def test_changed_last_name_with_same_dob_and_phone_links(self) -> None:
        candidate = stored(first_name="Marta", last_name="Lindqvist")
        decision = match_patient(
            probe(first_name="Marta", last_name="Okafor", phone="+12125550101"),
            [candidate],
        )
        assert decision.outcome == "link"


class TestStaffConfirms:
    def test_swapped_day_and_month_asks_staff_instead_of_linking(self) -> None:
        decision = match_patient(
            probe(date_of_birth=date(1984, 9, 3), phone="+12125550101"), [stored()]
        )
        assert decision.outcome == "ambiguous"
        assert decision.patient_key is None
        assert decision.review_keys == ["pat-1"]
        assert field_result(decision, "pat-1", EvidenceField.DATE_OF_BIRTH) == (
            Agreement.SWAPPED_DAY_MONTH
        )

    def test_same_name_without_dob_asks_staff(self) -> None:
        decision = match_patient(probe(date_of_birth=None), [stored()])
        assert decision.outcome == "ambiguous"
        assert decision.review_keys == ["pat-1"]

    def test_one_letter_typo_with_same_dob_and_phone_asks_staff(self) -> None:
        decision = match_patient(
            probe(first_name="Wiliam", phone="+12125550101"), [stored()]
        )
        assert decision.outcome == "ambiguous"
        assert field_result(decision, "pat-1", EvidenceField.FIRST_NAME) == (
            Agreement.TYPO
        )

    def test_two_plausible_candidates_make_it_ambiguous(self) -> None:
        decision = match_patient(
            probe(), [stored("pat-1"), stored("pat-2", phone="+13055550188")]
        )
        assert decision.outcome == "ambiguous"
        assert sorted(decision.review_keys) == ["pat-1", "pat-2"]

    def test_a_twin_written_with_one_of_two_given_names_is_not_linked(self) -> None:
        twin = stored(first_name="José Antonio", last_name="Quintero")
        decision = match_patient(
            probe(first_name="José", last_name="Quintero", phone="+12125550101"),
            [twin],
        )
        assert decision.outcome == "ambiguous"

    def test_name_and_dob_match_whose_contacts_all_differ_goes_to_staff(
        self,
    ) -> None:
        decision = match_patient(
            probe(phone="+13055550177", email="other@example.org"), [stored()]
        )
        assert decision.outcome == "ambiguous"

    def test_same_name_and_phone_with_another_dob_asks_staff_once(self) -> None:
        senior = stored("pat-sr", first_name="Tobias", date_of_birth=date(1961, 5, 2))
        junior_request = probe(
            first_name="Tobias", date_of_birth=date(1990, 8, 14), phone="+12125550101"
        )

        first = match_patient(junior_request, [senior])
        junior = stored("pat-jr", first_name="Tobias", date_of_birth=date(1990, 8, 14))
        again = match_patient(junior_request, [senior, junior])

        assert first.outcome == "ambiguous"
        assert again.outcome == "link"
        assert again.patient_key == "pat-jr"

    def test_a_request_without_a_name_waits_for_staff(self) -> None:
        decision = match_patient(PatientRecord(phone="+12125550101"), [stored()])
        assert decision.outcome == "ambiguous"
        assert decision.patient_key is None


class TestNeverMerges:
    def test_household_sharing_a_phone_is_never_merged(self) -> None:
        spouse = probe(
            first_name="Grace", date_of_birth=date(1986, 11, 20), phone="+12125550101"
        )
        decision = match_patient(spouse, [stored()])
        assert decision.outcome == "new"
        assert decision.patient_key is None

    def test_a_twin_sharing_surname_dob_and_phone_is_a_new_patient(self) -> None:
        twin = probe(
            first_name="Chidi", phone="+12125550101", email="w.okafor@example.com"
        )
        decision = match_patient(twin, [stored()])
        assert decision.outcome == "new"

    def test_shared_email_alone_never_merges(self) -> None:
        other = PatientRecord(
            first_name="Ines",
            last_name="Varga",
            date_of_birth=date(1990, 1, 30),
            email="w.okafor@example.com",
        )
        decision = match_patient(other, [stored()])
        assert decision.outcome == "new"
        assert field_result(decision, "pat-1", EvidenceField.EMAIL) == Agreement.SAME

    def test_formatted_stored_phones_and_mixed_case_emails_still_agree(
        self,
    ) -> None:
        candidate = stored(phone="(212) 555-0101", email="W.Okafor@Example.com")
        decision = match_patient(
            probe(phone="+12125550101", email="w.okafor@example.com"), [candidate]
        )
        assert decision.outcome == "link"
        assert field_result(decision, "pat-1", EvidenceField.PHONE) == Agreement.SAME
        assert field_result(decision, "pat-1", EvidenceField.EMAIL) == Agreement.SAME

    def test_gmail_style_dot_variants_are_different_emails(self) -> None:
        other = PatientRecord(
            first_name="Ines", last_name="Varga", email="wokafor@example.com"
        )
        decision = match_patient(other, [stored()])
        assert field_result(decision, "pat-1", EvidenceField.EMAIL) == (
            Agreement.DIFFERENT
        )

    def test_junior_and_senior_suffixes_are_different_people(self) -> None:
        senior = stored(last_name="Okafor Sr", date_of_birth=date(1961, 5, 2))
        decision = match_patient(
            probe(last_name="Okafor Jr.", date_of_birth=date(1961, 5, 2)), [senior]
        )
        assert decision.outcome != "link"


class TestDecisionShape:
    def test_evidence_and_reason_carry_no_patient_values(self) -> None:
        request = probe(
            first_name="Bill",
            last_name="Okafor",
            date_of_birth=date(1984, 9, 3),
            phone="+12125550101",
            email="w.okafor@example.com",
            portal_account="PT-000999",
        )
        decision = match_patient(request, [stored(portal_account="PT-000555")])

        text = json.dumps(decision.model_dump(mode="json")).lower()

        for value in (
            "bill",
            "william",
            "okafor",
            "1984",
            "2125550101",
            "example.com",
            "000999",
            "000555",
        ):
            assert value not in text
        assert decision.evidence  # the evidence is there, as kinds only

    def test_decision_does_not_depend_on_candidate_order(self) -> None:
        candidates = [
            stored("pat-1"),
            stored("pat-2", first_name="Grace", date_of_birth=date(1986, 11, 20)),
            stored("pat-3", date_of_birth=date(1984, 9, 3)),
        ]
        forward = match_patient(probe(), candidates)
        backward = match_patient(probe(), list(reversed(candidates)))
        assert forward == backward

    def test_evidence_is_capped_but_keeps_every_plausible_candidate(self) -> None:
        crowd = [
            stored(f"pat-{i:03d}", first_name="Grace", date_of_birth=date(1950, 1, 1))
            for i in range(60)
        ]
        decision = match_patient(probe(date_of_birth=None), [*crowd, stored("pat-x")])
        assert decision.candidates_considered == 61
        assert len(decision.evidence) <= 20
        assert "pat-x" in decision.review_keys


class TestFindCandidates:
    def test_a_full_page_of_candidates_triggers_narrower_lookups(self) -> None:
        crowd = [stored(f"pat-{i}", first_name="Grace") for i in range(CANDIDATE_LIMIT)]
        target = stored("pat-target", phone="+12125550199")
        queries: list[PatientRecord] = []

        def find(query: PatientRecord) -> list[PatientRecord]:
            queries.append(query)
            if query.phone and not query.last_name:
                return [target]
            return crowd

        found = find_candidates(find, probe(phone="+12125550199"))

        assert target in found
        assert len(queries) > 1

    def test_a_short_page_needs_one_lookup(self) -> None:
        calls: list[PatientRecord] = []

        def find(query: PatientRecord) -> list[PatientRecord]:
            calls.append(query)
            return [stored()]

        assert find_candidates(find, probe()) == [stored()]
        assert len(calls) == 1


# --------------------------------------------------------------------------
# Against the SQL CRM


@pytest.fixture
def crm(tmp_path: Path) -> SqlCRM:
    return SqlCRM(connection_url=SecretStr(f"sqlite:///{tmp_path / 'crm.db'}"))


def patient_rows(crm: SqlCRM) -> int:
    with Session(crm.engine) as session:
        return session.scalar(select(func.count()).select_from(CRMPatient)) or 0


def sync_patient(crm: SqlCRM, rec: IntakeRecord) -> str | None:
    """What the sync step does with a decision (ambiguous waits for staff)."""
    decision = resolve_patient(crm, rec)
    if decision.outcome == "link":
        return decision.patient_key
    if decision.outcome == "new":
        return crm.upsert_patient(probe_from_record(rec))
    return None


class TestAgainstSqlCRM:
    def test_same_person_seen_twice_with_a_nickname_keeps_one_record(
        self, crm: SqlCRM
    ) -> None:
        first = record(
            "William",
            "Okafor",
            phones=["(212) 555-0101"],
            emails=["W.Okafor@example.com"],
            intake_id="in-1",
        )
        second = record("Bill", "OKAFOR", phones=["212-555-0101"], intake_id="in-2")

        key_one = sync_patient(crm, first)
        key_two = sync_patient(crm, second)

        assert key_one is not None
        assert key_two == key_one
        assert patient_rows(crm) == 1

    def test_resolving_never_writes(self, crm: SqlCRM) -> None:
        rec = record("Grace", "Okafor", phones=["(212) 555-0101"])
        resolve_patient(crm, rec)
        resolve_patient(crm, rec)
        assert patient_rows(crm) == 0

    def test_a_household_member_gets_a_record_of_their_own(self, crm: SqlCRM) -> None:
        parent = record(
            "William", "Okafor", phones=["(212) 555-0101"], intake_id="in-1"
        )
        child = record(
            "Chidi",
            "Okafor",
            dob=date(2012, 6, 1),
            phones=["(212) 555-0101"],
            intake_id="in-2",
        )

        assert sync_patient(crm, parent) != sync_patient(crm, child)
        assert patient_rows(crm) == 2

    def test_swapped_dob_is_found_by_name_and_held_for_staff(self, crm: SqlCRM) -> None:
        sync_patient(crm, record("William", "Okafor", intake_id="in-1"))
        decision = resolve_patient(
            crm, record("William", "Okafor", dob=date(1984, 9, 3), intake_id="in-2")
        )
        assert decision.outcome == "ambiguous"
        assert len(decision.review_keys) == 1
        assert patient_rows(crm) == 1

    def test_transposed_names_are_found_through_the_crm(self, crm: SqlCRM) -> None:
        key = sync_patient(crm, record("William", "Okafor", intake_id="in-1"))
        decision = resolve_patient(crm, record("Okafor", "William", intake_id="in-2"))
        assert decision.outcome == "link"
        assert decision.patient_key == key

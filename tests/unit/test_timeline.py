"""Timeline entries derived from this service's events and from sealed actas."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.beneficiaries.domain.timeline import (
    entries_for_acta_sealed,
    entries_for_beneficiary_event,
)

AT = "2024-05-06T15:30:00+00:00"
WHEN = datetime(2024, 5, 6, 15, 30, tzinfo=UTC)


def person_payload(**extra: Any) -> dict[str, Any]:
    return {
        "beneficiary_id": "b1",
        "first_names": "José",
        "last_names": "Peña",
        "family_id": None,
        "occurred_at": AT,
        **extra,
    }


def kinds(entries: list[Any]) -> list[tuple[str, str, str]]:
    return [(e.subject_type, e.subject_id, e.kind) for e in entries]


# -- this service's events ------------------------------------------------------
def test_family_registration_starts_the_family_timeline() -> None:
    payload = {"family_id": "f1", "community_id": "c1", "name": "Hogar Peña", "occurred_at": AT}

    [entry] = entries_for_beneficiary_event("family_registered", "e1", payload)

    assert kinds([entry]) == [("family", "f1", "family_registered")]
    assert entry.summary == "Registro del hogar Hogar Peña"
    assert entry.occurred_at == WHEN
    assert (entry.source_service, entry.source_id) == ("beneficiaries", "f1")
    assert entry.source_event_id == "e1"
    assert entry.id == "family:f1:e1"


def test_registration_outside_a_family_adds_one_personal_entry() -> None:
    [entry] = entries_for_beneficiary_event("beneficiary_registered", "e1", person_payload())

    assert kinds([entry]) == [("beneficiary", "b1", "beneficiary_registered")]
    assert entry.summary == "Registro de José Peña en el programa"


def test_registration_into_a_family_also_marks_the_family() -> None:
    entries = entries_for_beneficiary_event("beneficiary_registered", "e1", person_payload(family_id="f1"))

    assert kinds(entries) == [
        ("beneficiary", "b1", "beneficiary_registered"),
        ("family", "f1", "member_joined"),
    ]
    assert entries[1].summary == "José Peña se integra al hogar"
    assert [e.id for e in entries] == ["beneficiary:b1:e1", "family:f1:e1"]


def test_moving_between_families_marks_both_families_and_the_person() -> None:
    payload = person_payload(family_id="f2", change="family", previous_family_id="f1")

    entries = entries_for_beneficiary_event("beneficiary_updated", "e2", payload)

    assert kinds(entries) == [
        ("family", "f1", "member_left"),
        ("family", "f2", "member_joined"),
        ("beneficiary", "b1", "family_changed"),
    ]
    assert len({e.id for e in entries}) == 3


def test_first_family_of_a_person_has_no_leaving_entry() -> None:
    payload = person_payload(family_id="f2", change="family", previous_family_id=None)

    entries = entries_for_beneficiary_event("beneficiary_updated", "e2", payload)

    assert [e.kind for e in entries] == ["member_joined", "family_changed"]


def test_contact_changes_stay_off_the_timeline() -> None:
    payload = person_payload(change="contact", fields=["email"])

    assert entries_for_beneficiary_event("beneficiary_updated", "e3", payload) == []


def test_consent_grant_and_withdrawal_are_told_apart() -> None:
    base = {"beneficiary_id": "b1", "kind": "biometrics", "occurred_at": AT}

    [granted] = entries_for_beneficiary_event("consent_changed", "e4", {**base, "granted": True})
    [withdrawn] = entries_for_beneficiary_event("consent_changed", "e5", {**base, "granted": False})

    assert granted.summary == "Otorga consentimiento: datos biométricos"
    assert withdrawn.summary == "Retira consentimiento: datos biométricos"


def test_unknown_event_types_add_nothing() -> None:
    payload = {"community_id": "c1", "name": "Villa", "occurred_at": AT}

    assert entries_for_beneficiary_event("community_registered", "e6", payload) == []


def test_a_redelivered_event_yields_identical_entries() -> None:
    payload = person_payload(family_id="f1")

    first = entries_for_beneficiary_event("beneficiary_registered", "e1", payload)
    again = entries_for_beneficiary_event("beneficiary_registered", "e1", payload)

    assert first == again


# -- actas ----------------------------------------------------------------------
def acta(**extra: Any) -> dict[str, Any]:
    return {
        "acta_id": "a1",
        "title": "Asamblea comunitaria",
        "sealed_at": AT,
        "participants": [
            {"beneficiary_id": "b2", "family_id": "f1"},
            {"beneficiary_id": "b1", "family_id": "f1"},
            {"beneficiary_id": "b3", "family_id": None},
        ],
        **extra,
    }


def test_sealed_acta_adds_one_entry_per_participant_and_per_family() -> None:
    entries = entries_for_acta_sealed("ev9", acta(family_ids=["f2", "f1"]))

    assert kinds(entries) == [
        ("beneficiary", "b1", "acta_sealed"),
        ("beneficiary", "b2", "acta_sealed"),
        ("beneficiary", "b3", "acta_sealed"),
        ("family", "f1", "acta_sealed"),
        ("family", "f2", "acta_sealed"),
    ]
    for entry in entries:
        assert entry.summary == "Acta firmada: Asamblea comunitaria"
        assert (entry.source_service, entry.source_id) == ("actas", "a1")
        assert entry.source_event_id == "ev9"
        assert entry.occurred_at == WHEN


def test_acta_entry_ids_derive_from_the_event_id() -> None:
    entries = entries_for_acta_sealed("ev9", acta())

    assert [e.id for e in entries] == [
        "beneficiary:b1:ev9",
        "beneficiary:b2:ev9",
        "beneficiary:b3:ev9",
        "family:f1:ev9",
    ]


def test_a_redelivered_acta_event_yields_identical_ids() -> None:
    first = entries_for_acta_sealed("ev9", acta())
    again = entries_for_acta_sealed("ev9", acta())

    assert [e.id for e in first] == [e.id for e in again]
    assert first == again


def test_another_acta_event_yields_new_ids() -> None:
    first = {e.id for e in entries_for_acta_sealed("ev9", acta())}
    other = {e.id for e in entries_for_acta_sealed("ev10", acta())}

    assert first.isdisjoint(other)


def test_untitled_acta_and_no_participants() -> None:
    entries = entries_for_acta_sealed("ev11", {"acta_id": "a2", "title": "", "sealed_at": AT, "family_ids": ["f3"]})

    assert kinds(entries) == [("family", "f3", "acta_sealed")]
    assert entries[0].summary == "Acta firmada: Acta"

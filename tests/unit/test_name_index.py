"""The name index is projected from registration and moves between communities."""

from __future__ import annotations

from services.beneficiaries.domain.name_index import ALL_SCOPE, NameIndexEntry, entries_for_event
from tests.unit.builders import GESTORA, a_community, a_family, a_person
from tests.unit.fakes import make_handlers

PERSON = {"beneficiary_id": "p1", "first_names": "José Ángel", "last_names": "Peña", "community_id": "c1"}


def test_registration_indexes_folded_words_everywhere_and_in_the_community() -> None:
    assert entries_for_event("beneficiary_registered", PERSON) == [
        NameIndexEntry("p1", ["jose", "angel", "pena"], [ALL_SCOPE, "c1"])
    ]


def test_a_move_indexes_only_when_the_community_changes() -> None:
    moved = {**PERSON, "change": "family", "previous_community_id": "c0"}
    assert entries_for_event("beneficiary_updated", moved) == [NameIndexEntry("p1", ["jose", "angel", "pena"], ["c1"])]
    same = {**PERSON, "change": "family", "previous_community_id": "c1"}
    assert entries_for_event("beneficiary_updated", same) == []
    assert entries_for_event("beneficiary_updated", {**PERSON, "change": "contact"}) == []
    assert entries_for_event("consent_changed", PERSON) == []


def test_handlers_project_registration_and_moves_into_the_name_index() -> None:
    h = make_handlers()
    first, second = a_community(h), a_community(h, name="Otra comunidad")
    family = a_family(h, second)
    person = a_person(h, "1023456789", community_id=first.id)
    h.handlers.move_member(person.id, family.id, "head", GESTORA)
    for event in h.relay.published:
        h.handlers.record_own_event(event.type, event.id, event.payload)
    assert [(e.beneficiary_id, e.scopes) for e in h.repo.name_index] == [
        (person.id, [ALL_SCOPE, first.id]),
        (person.id, [second.id]),
    ]

"""Household membership and contact details through the use cases."""

from __future__ import annotations

import pytest

from services.beneficiaries.domain.errors import Conflict, NotFound, ValidationFailed
from services.beneficiaries.service_layer.handlers import BENEFICIARIES

from .builders import GESTORA, a_community, a_family, a_person
from .fakes import Harness, make_handlers


def household() -> tuple[Harness, str, str]:
    """A community with two families; returns the harness and both family ids."""
    h = make_handlers()
    community = a_community(h)
    return h, a_family(h, community, "Hogar Peña").id, a_family(h, community, "Hogar Ríos").id


# -- adding and moving members --------------------------------------------------
def test_adding_a_member_places_them_in_the_family_and_publishes_the_change() -> None:
    h, family_id, _ = household()
    community_id = h.repo.families[family_id].community_id
    person = a_person(h, "1023456789", community_id=community_id)

    h.handlers.add_member(family_id, person.id, "Child", GESTORA)

    stored = h.repo.beneficiaries[person.id]
    assert (stored.family_id, stored.relationship, stored.version) == (family_id, "child", 2)
    flush = h.relay.flushes[-1]
    assert (flush.collection, flush.aggregate_id) == (BENEFICIARIES, person.id)
    [event] = flush.published
    assert event.type == "beneficiary_updated"
    assert event.payload["change"] == "family"
    assert event.payload["previous_family_id"] is None
    assert event.payload["family_id"] == family_id
    assert event.payload["by"] == "gestora.ana"


def test_adding_the_same_member_twice_is_refused() -> None:
    h, family_id, _ = household()
    person = a_person(h, "1023456789", family_id=family_id, relationship="child")
    flushes = len(h.relay.flushes)

    with pytest.raises(Conflict) as exc:
        h.handlers.add_member(family_id, person.id, "child", GESTORA)

    assert exc.value.field == "beneficiary_id"
    assert h.repo.beneficiaries[person.id].version == 1
    assert len(h.relay.flushes) == flushes


def test_adding_a_member_of_another_family_asks_for_a_move() -> None:
    h, first, second = household()
    person = a_person(h, "1023456789", family_id=first, relationship="child")

    with pytest.raises(Conflict, match="mover integrante"):
        h.handlers.add_member(second, person.id, "child", GESTORA)

    assert h.repo.beneficiaries[person.id].family_id == first


def test_adding_a_second_head_is_refused() -> None:
    h, family_id, _ = household()
    a_person(h, "1023456789", family_id=family_id, relationship="head")
    community_id = h.repo.families[family_id].community_id
    other = a_person(h, "1098765432", community_id=community_id)

    with pytest.raises(Conflict) as exc:
        h.handlers.add_member(family_id, other.id, "head", GESTORA)

    assert exc.value.field == "relationship"
    assert h.repo.beneficiaries[other.id].family_id is None


def test_moving_a_member_publishes_the_family_they_left() -> None:
    h, first, second = household()
    person = a_person(h, "1023456789", family_id=first, relationship="child")

    moved = h.handlers.move_member(person.id, second, "grandchild", GESTORA)

    assert (moved.family_id, moved.relationship) == (second, "grandchild")
    [event] = h.relay.flushes[-1].published
    assert event.type == "beneficiary_updated"
    assert event.payload["change"] == "family"
    assert event.payload["previous_family_id"] == first
    assert event.payload["family_id"] == second
    assert h.handlers.family_members(first) == []
    assert [m.id for m in h.handlers.family_members(second)] == [person.id]


def test_moving_a_member_into_the_family_they_are_in_is_refused() -> None:
    h, first, _ = household()
    person = a_person(h, "1023456789", family_id=first, relationship="child")

    with pytest.raises(Conflict):
        h.handlers.move_member(person.id, first, "child", GESTORA)


def test_joining_an_unknown_family_or_person_is_not_found() -> None:
    h, family_id, _ = household()
    person = a_person(h, "1023456789", community_id=h.repo.families[family_id].community_id)

    with pytest.raises(NotFound):
        h.handlers.add_member("nowhere", person.id, "child", GESTORA)
    with pytest.raises(NotFound):
        h.handlers.add_member(family_id, "nobody", "child", GESTORA)


@pytest.mark.parametrize(
    ("family_id", "beneficiary_id", "relationship", "field"),
    [
        ("f", "b", "cousin", "relationship"),
        (" ", "b", "child", "family_id"),
        ("existing", "", "child", "beneficiary_id"),
    ],
)
def test_joining_with_a_bad_argument_names_it(
    family_id: str, beneficiary_id: str, relationship: str, field: str
) -> None:
    h, existing, _ = household()
    family_id = existing if family_id == "existing" else family_id

    with pytest.raises(ValidationFailed) as exc:
        h.handlers.add_member(family_id, beneficiary_id, relationship, GESTORA)

    assert set(exc.value.errors) == {field}


def test_family_members_list_the_head_first() -> None:
    h, family_id, _ = household()
    a_person(h, "1000000001", family_id=family_id, relationship="child", birth_date="1950-01-01")
    a_person(h, "1000000002", family_id=family_id, relationship="head", birth_date="1980-01-01")

    assert [m.relationship for m in h.handlers.family_members(family_id)] == ["head", "child"]


def test_an_unknown_family_is_not_found() -> None:
    h = make_handlers()

    with pytest.raises(NotFound):
        h.handlers.get_family("nowhere")
    with pytest.raises(ValidationFailed):
        h.handlers.get_family("  ")


# -- contact --------------------------------------------------------------------
def test_changing_the_phone_publishes_which_fields_changed() -> None:
    h = make_handlers()
    person = a_person(h, "1023456789", community_id=a_community(h).id)

    updated = h.handlers.update_contact(person.id, "300 123 4567", None, GESTORA)

    assert updated.whatsapp_phone == "+573001234567"
    assert h.repo.beneficiaries[person.id].whatsapp_phone == "+573001234567"
    [event] = h.relay.flushes[-1].published
    assert event.payload["change"] == "contact"
    assert event.payload["fields"] == ["whatsapp_phone"]
    assert event.payload["version"] == 2


def test_an_unchanged_contact_writes_and_publishes_nothing() -> None:
    h = make_handlers()
    person = a_person(h, "1023456789", community_id=a_community(h).id, whatsapp_phone="+573001234567")
    flushes = len(h.relay.flushes)

    h.handlers.update_contact(person.id, "(300) 123-4567", None, GESTORA)

    assert h.repo.beneficiaries[person.id].version == 1
    assert len(h.relay.flushes) == flushes

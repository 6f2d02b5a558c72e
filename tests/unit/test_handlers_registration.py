"""Registering communities, families and beneficiaries through the use cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.beneficiaries.domain.errors import AlreadyExists, Conflict, ValidationFailed
from services.beneficiaries.domain.model import RegisterFamily
from services.beneficiaries.service_layer.handlers import BENEFICIARIES, COMMUNITIES, FAMILIES

from .builders import GESTORA, a_community, a_family, a_person, registration
from .fakes import make_handlers


# -- communities and families ---------------------------------------------------
def test_registering_a_community_stores_it_and_then_publishes_its_event() -> None:
    h = make_handlers()

    community = a_community(h)

    assert h.repo.communities[community.id].name == "Villa Nueva"
    assert community.created_at == h.clock.now()
    [flush] = h.relay.flushes
    assert (flush.collection, flush.aggregate_id) == (COMMUNITIES, community.id)
    # The relay found the event in the outbox: it ran after the write.
    [event] = flush.published
    assert event.type == "community_registered"
    assert event.payload == {
        "community_id": community.id,
        "name": "Villa Nueva",
        "occurred_at": h.clock.now().isoformat(),
        "by": "gestora.ana",
    }


def test_registering_a_family_stores_it_and_then_publishes_its_event() -> None:
    h = make_handlers()
    community = a_community(h)

    family = a_family(h, community)

    assert h.repo.families[family.id].community_id == community.id
    flush = h.relay.flushes[-1]
    assert (flush.collection, flush.aggregate_id) == (FAMILIES, family.id)
    [event] = flush.published
    assert event.type == "family_registered"
    assert event.payload["community_id"] == community.id
    assert event.payload["name"] == "Hogar Peña"
    assert event.payload["by"] == "gestora.ana"


def test_a_family_in_an_unknown_community_is_a_field_error() -> None:
    h = make_handlers()

    with pytest.raises(ValidationFailed) as exc:
        h.handlers.register_family(RegisterFamily("nowhere", "Hogar Peña"), GESTORA)

    assert set(exc.value.errors) == {"community_id"}
    assert "nowhere" in exc.value.errors["community_id"]
    assert h.repo.families == {}
    assert h.relay.flushes == []


def test_communities_are_listed_by_name() -> None:
    h = make_handlers()
    a_community(h, "Zaragoza")
    a_community(h, "Altos")

    assert [c.name for c in h.handlers.list_communities()] == ["Altos", "Zaragoza"]


# -- beneficiaries --------------------------------------------------------------
def test_registering_a_beneficiary_stores_them_and_then_publishes_the_event() -> None:
    h = make_handlers()
    community = a_community(h)

    person = a_person(h, "1.023.456.789", community_id=community.id)

    stored = h.repo.beneficiaries[person.id]
    assert stored.national_id_key == "CC:1023456789"
    assert stored.created_at == h.clock.now()
    flush = h.relay.flushes[-1]
    assert (flush.collection, flush.aggregate_id) == (BENEFICIARIES, person.id)
    [event] = flush.published
    assert event.type == "beneficiary_registered"
    assert event.payload == {
        **person.summary(),
        "occurred_at": h.clock.now().isoformat(),
        "by": "gestora.ana",
    }


def test_a_beneficiary_registered_into_a_family_takes_its_community() -> None:
    h = make_handlers()
    family = a_family(h, a_community(h))

    person = a_person(h, "1023456789", family_id=family.id, relationship="head")

    stored = h.repo.beneficiaries[person.id]
    assert stored.community_id == family.community_id
    assert (stored.family_id, stored.relationship) == (family.id, "head")
    [event] = h.relay.flushes[-1].published
    assert event.payload["family_id"] == family.id


def test_an_unknown_community_in_the_body_is_a_field_error() -> None:
    h = make_handlers()

    with pytest.raises(ValidationFailed) as exc:
        a_person(h, "1023456789", community_id="nowhere")

    assert set(exc.value.errors) == {"community_id"}
    assert h.repo.beneficiaries == {}
    assert h.relay.flushes == []


def test_an_unknown_family_in_the_body_is_a_field_error() -> None:
    h = make_handlers()

    with pytest.raises(ValidationFailed) as exc:
        a_person(h, "1023456789", family_id="nowhere", relationship="child")

    assert set(exc.value.errors) == {"family_id"}
    assert h.repo.beneficiaries == {}


def test_every_invalid_field_is_reported_before_anything_is_looked_up() -> None:
    h = make_handlers()

    with pytest.raises(ValidationFailed) as exc:
        h.handlers.register_beneficiary(
            registration(id_number="x", first_names="", birth_date="ayer", community_id="c"),
            GESTORA,
        )

    assert set(exc.value.errors) == {"national_id.number", "first_names", "birth_date"}


def test_a_birth_date_after_the_clock_date_is_refused() -> None:
    h = make_handlers()
    community = a_community(h)
    tomorrow = h.clock.now().date() + timedelta(days=1)

    with pytest.raises(ValidationFailed) as exc:
        a_person(h, "1023456789", community_id=community.id, birth_date=tomorrow.isoformat())

    assert set(exc.value.errors) == {"birth_date"}


@pytest.mark.parametrize("second_number", ["1023456789", "1.023.456.789", "1 023-456 789"])
def test_a_national_id_registered_twice_is_refused(second_number: str) -> None:
    h = make_handlers()
    community = a_community(h)
    first = a_person(h, "1.023.456.789", community_id=community.id)
    flushes = len(h.relay.flushes)

    with pytest.raises(AlreadyExists) as exc:
        a_person(h, second_number, community_id=community.id, first_names="Otro")

    assert exc.value.field == "national_id"
    assert "1023456789" in exc.value.message
    assert list(h.repo.beneficiaries) == [first.id]
    assert len(h.relay.flushes) == flushes


def test_the_same_number_under_another_document_type_is_another_person() -> None:
    h = make_handlers()
    community = a_community(h)
    a_person(h, "1023456789", community_id=community.id)

    a_person(h, "1023456789", id_type="TI", community_id=community.id)

    assert len(h.repo.beneficiaries) == 2


def test_a_second_head_of_household_is_refused() -> None:
    h = make_handlers()
    family = a_family(h, a_community(h))
    head = a_person(h, "1023456789", family_id=family.id, relationship="head")

    with pytest.raises(Conflict) as exc:
        a_person(h, "1098765432", family_id=family.id, relationship="head")

    assert exc.value.field == "relationship"
    assert list(h.repo.beneficiaries) == [head.id]


def test_other_members_join_a_family_that_has_a_head() -> None:
    h = make_handlers()
    family = a_family(h, a_community(h))
    a_person(h, "1023456789", family_id=family.id, relationship="head")

    a_person(h, "1098765432", family_id=family.id, relationship="spouse")

    assert [m.relationship for m in h.handlers.family_members(family.id)] == ["head", "spouse"]

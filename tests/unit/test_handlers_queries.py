"""Look-ups, search and the timeline through the use cases."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.beneficiaries.domain.errors import NotFound, ValidationFailed

from .builders import a_community, a_family, a_person
from .fakes import make_handlers


# -- national ID ----------------------------------------------------------------
def test_a_beneficiary_is_found_by_national_id_in_any_format() -> None:
    h = make_handlers()
    person = a_person(h, "1023456789", community_id=a_community(h).id)

    assert h.handlers.get_by_national_id("cc", "1.023.456.789").id == person.id


def test_an_unregistered_national_id_is_not_found() -> None:
    h = make_handlers()

    with pytest.raises(NotFound):
        h.handlers.get_by_national_id("CC", "1023456789")


@pytest.mark.parametrize(
    ("id_type", "number", "field"),
    [
        ("NIT", "1023456789", "national_id.type"),
        ("", "1023456789", "national_id.type"),
        ("CC", "12", "national_id.number"),
        ("CC", "", "national_id.number"),
    ],
)
def test_a_malformed_national_id_names_the_bad_part(id_type: str, number: str, field: str) -> None:
    h = make_handlers()

    with pytest.raises(ValidationFailed) as exc:
        h.handlers.get_by_national_id(id_type, number)

    assert set(exc.value.errors) == {field}


def test_an_unknown_beneficiary_is_not_found() -> None:
    h = make_handlers()

    with pytest.raises(NotFound):
        h.handlers.get_beneficiary("nobody")


# -- search ---------------------------------------------------------------------
@pytest.mark.parametrize("query", ["", "   ", "- '"])
def test_search_needs_a_non_empty_query(query: str) -> None:
    h = make_handlers()

    with pytest.raises(ValidationFailed) as exc:
        h.handlers.search(query)

    assert set(exc.value.errors) == {"query"}
    assert h.repo.searches == []


def test_search_ignores_accents_and_case() -> None:
    h = make_handlers()
    community = a_community(h)
    jose = a_person(h, "1023456789", community_id=community.id)
    a_person(h, "1098765432", community_id=community.id, first_names="Ana", last_names="Ríos")

    found = h.handlers.search("PEÑA jo")

    assert [p.id for p in found] == [jose.id]
    assert h.repo.searches[-1][0] == ["pena", "jo"]


def test_search_within_a_community() -> None:
    h = make_handlers()
    here = a_person(h, "1023456789", community_id=a_community(h, "Aquí").id)
    a_person(h, "1098765432", community_id=a_community(h, "Allá").id)

    assert [p.id for p in h.handlers.search("pena", community_id=f" {here.community_id} ")] == [here.id]


@pytest.mark.parametrize(("asked", "used"), [(0, 20), (-5, 1), (50, 50), (1000, 100)])
def test_search_limit_stays_between_one_and_one_hundred(asked: int, used: int) -> None:
    h = make_handlers()

    h.handlers.search("pena", limit=asked)

    assert h.repo.searches[-1][2] == used


# -- timeline -------------------------------------------------------------------
@pytest.mark.parametrize("subject_type", ["family", "beneficiary", "FAMILY"])
def test_the_timeline_of_an_unknown_subject_is_not_found(subject_type: str) -> None:
    h = make_handlers()

    with pytest.raises(NotFound):
        h.handlers.timeline(subject_type, "nowhere")


def test_the_timeline_of_an_unknown_subject_type_is_a_field_error() -> None:
    h = make_handlers()

    with pytest.raises(ValidationFailed) as exc:
        h.handlers.timeline("community", "c1")

    assert set(exc.value.errors) == {"subject_type"}


def test_published_events_build_the_family_timeline_once() -> None:
    h = make_handlers()
    family = a_family(h, a_community(h))
    h.clock.advance(timedelta(minutes=1))
    a_person(h, "1023456789", family_id=family.id, relationship="head")

    recorded = [h.handlers.record_own_event(e.type, e.id, e.payload) for e in h.relay.published]
    redelivered = [h.handlers.record_own_event(e.type, e.id, e.payload) for e in h.relay.published]

    assert sum(recorded) == 3  # family registered; person registered; person joins family
    assert sum(redelivered) == 0
    # Newest first.
    assert [e.kind for e in h.handlers.timeline("family", family.id)] == [
        "member_joined",
        "family_registered",
    ]


def test_a_sealed_acta_appears_once_on_each_participant_timeline() -> None:
    h = make_handlers()
    family = a_family(h, a_community(h))
    person = a_person(h, "1023456789", family_id=family.id, relationship="head")
    payload = {
        "acta_id": "a1",
        "title": "Asamblea",
        "sealed_at": h.clock.now().isoformat(),
        "participants": [{"beneficiary_id": person.id, "family_id": family.id}],
    }

    assert h.handlers.record_acta_sealed("ev1", payload) == 2
    assert h.handlers.record_acta_sealed("ev1", payload) == 0

    [entry] = h.handlers.timeline("beneficiary", person.id)
    assert (entry.kind, entry.source_id) == ("acta_sealed", "a1")
    assert [e.kind for e in h.handlers.timeline("family", family.id)] == ["acta_sealed"]


def test_a_padded_subject_id_reads_the_same_timeline_as_the_plain_one() -> None:
    # The existence check trims the id, so the entries must be read with the trimmed id too.
    h = make_handlers()
    family = a_family(h, a_community(h))
    for event in h.relay.published:
        h.handlers.record_own_event(event.type, event.id, event.payload)

    assert h.handlers.timeline("family", f" {family.id} ") == h.handlers.timeline("family", family.id)

"""The projection kept from events: households, heads, visits and participations,
idempotent under redelivery and insensitive to the order people and visits arrive."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.reports.domain import ages
from services.reports.domain.facts import Person, local_day
from services.reports.service_layer.projection import ProjectionHandlers
from tests.unit.reports_fakes import FakeDirectory, FakeProjection


def person(pid: str, family: str = "f1", relationship: str = "head", version: int = 1, **kw: Any) -> Person:
    fields: dict[str, Any] = {
        "community_id": "c1",
        "sex": "female",
        "birth_date": "1985-04-12",
        "consents": {},
        "name": "Ana Epiayú",
        "registered_on": "2026-11-01",
    }
    fields.update(kw)
    return Person(pid, family_id=family, relationship=relationship, version=version, **fields)


def sealed(
    acta: str, people: list[tuple[str, str]], captured: str = "2026-12-01T15:00:00+00:00", **kw: Any
) -> dict[str, Any]:
    return {
        "acta_id": acta,
        "template_key": "visita_domiciliaria@1",
        "captured_at": captured,
        "gestor_id": "gestora.ana",
        "community_id": "c1",
        "amends": "",
        "participants": [{"beneficiary_id": p, "family_id": f} for p, f in people],
        "family_ids": sorted({f for _, f in people}),
        **kw,
    }


@pytest.fixture
def world() -> tuple[ProjectionHandlers, FakeProjection, FakeDirectory]:
    store, directory = FakeProjection(), FakeDirectory()
    return ProjectionHandlers(store, directory), store, directory


def test_a_replayed_seal_changes_nothing(world: tuple[ProjectionHandlers, FakeProjection, FakeDirectory]) -> None:
    handlers, store, directory = world
    directory.people["p1"] = person("p1")
    handlers.handle("beneficiaries", "beneficiary_registered", {"beneficiary_id": "p1"})
    event = sealed("a1", [("p1", "f1")])
    handlers.handle("actas", "acta_sealed", event)
    before = (
        dict(store.participations),
        {k: dict(v, visit_days=set(v["visit_days"])) for k, v in store.households.items()},
    )
    handlers.handle("actas", "acta_sealed", event)
    assert (store.participations, store.households) == before
    assert len(store.participations) == 1 and store.households["f1"]["visit_days"] == {"2026-12-01"}


def test_a_correction_is_not_a_visit_and_restricted_content_never_enters(
    world: tuple[ProjectionHandlers, FakeProjection, FakeDirectory],
) -> None:
    handlers, store, _ = world
    handlers.handle("actas", "acta_sealed", sealed("a2", [("p1", "f1")], amends="a1"))
    assert store.participations == {} and store.households == {}
    handlers.handle(
        "actas", "acta_sealed", sealed("a3", [("p1", "f1")], template_key="intervencion_psicosocial@2", title="Duelo")
    )
    [participation] = store.participations.values()
    assert participation.template == "intervencion_psicosocial"
    assert "Duelo" not in repr(participation)


def test_a_visit_counts_on_the_colombian_day_it_was_captured() -> None:
    assert local_day("2026-12-01T03:30:00+00:00") == "2026-11-30"  # 22:30 the evening before in Barrancas
    assert local_day("2026-12-01T15:00:00Z") == "2026-12-01"


def test_people_seen_after_their_visit_get_their_sex_and_age_band_on_the_visit_day(
    world: tuple[ProjectionHandlers, FakeProjection, FakeDirectory],
) -> None:
    handlers, store, directory = world
    handlers.handle("actas", "acta_sealed", sealed("a1", [("p2", "f1")], captured="2026-12-01T15:00:00+00:00"))
    [unknown] = store.participations.values()
    assert (unknown.sex, unknown.age_band) == ("sin_dato", ages.UNKNOWN)
    # 18 on 2026-12-02: still 17 on the day of the visit.
    directory.people["p2"] = person("p2", relationship="child", sex="male", birth_date="2008-12-02")
    handlers.handle("beneficiaries", "beneficiary_registered", {"beneficiary_id": "p2"})
    [known] = store.participations.values()
    assert (known.sex, known.age_band) == ("male", "12-17")


def test_heads_follow_moves_between_households_and_an_older_state_never_wins(
    world: tuple[ProjectionHandlers, FakeProjection, FakeDirectory],
) -> None:
    handlers, store, directory = world
    for family in ("f1", "f2"):
        handlers.handle(
            "beneficiaries",
            "family_registered",
            {"family_id": family, "community_id": "c1", "name": family, "occurred_at": "2026-11-01T12:00:00+00:00"},
        )
    directory.people["p1"] = person("p1", family="f1", version=1)
    handlers.handle("beneficiaries", "beneficiary_registered", {"beneficiary_id": "p1"})
    assert store.households["f1"]["head_id"] == "p1" and store.households["f2"]["head_id"] is None

    directory.people["p1"] = person("p1", family="f2", version=2)
    handlers.handle("beneficiaries", "beneficiary_updated", {"beneficiary_id": "p1", "previous_family_id": "f1"})
    assert store.households["f1"]["head_id"] is None and store.households["f2"]["head_id"] == "p1"

    assert store.save_person(person("p1", family="f1", version=1)) is False  # a late, older state
    assert store.people_by_id["p1"].family_id == "f2"


def test_a_consent_change_rereads_the_person(world: tuple[ProjectionHandlers, FakeProjection, FakeDirectory]) -> None:
    handlers, store, directory = world
    directory.people["p1"] = person("p1", consents={"data_processing": True}, version=3)
    handlers.handle("beneficiaries", "consent_changed", {"beneficiary_id": "p1", "kind": "data_processing"})
    assert store.people_by_id["p1"].consents == {"data_processing": True}
    # A person the directory no longer knows is skipped, not invented.
    assert handlers.on_person("desconocida") is False and "desconocida" not in store.people_by_id


@pytest.mark.parametrize(
    ("birth", "on", "band"),
    [
        ("2020-12-06", date(2026, 12, 6), "6-11"),
        ("2020-12-07", date(2026, 12, 6), "0-5"),
        ("1966-12-06", date(2026, 12, 6), "60+"),
        ("1966-12-07", date(2026, 12, 6), "29-59"),
        ("1998-02-28", date(2026, 12, 6), "18-28"),
        ("", date(2026, 12, 6), "sin_dato"),
    ],
)
def test_age_bands_and_their_birth_date_ranges_agree(birth: str, on: date, band: str) -> None:
    assert ages.band_of(birth, on) == band
    if birth:
        lower, upper = ages.birth_range(band, on)
        assert (lower is None or birth > lower) and birth <= str(upper)
        # The aggregation's thresholds put the same birth date in the same band.
        found = next((label for label, d in ages.thresholds(on) if birth > d), ages.LABELS[-1])
        assert found == band


def test_someone_born_on_29_february_has_their_birthday_on_1_march_in_other_years() -> None:
    assert ages.years_before(date(2028, 2, 29), 1) == date(2027, 2, 28)
    assert ages.band_of("2020-02-29", date(2026, 2, 28)) == "0-5"
    assert ages.band_of("2020-02-29", date(2026, 3, 1)) == "6-11"
    assert ages.birth_range("0-5", date(2026, 2, 28))[0] == "2020-02-28"  # the same line the aggregation draws

"""The UPA rule (``services.reports.domain.units``) and the productive units the
projection keeps from the income events: window edges, the latest follow-up
deciding, zero sales, a UP not yet in implementation, owners' sex, and the same
record whatever the order and however often the events arrive."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

import pytest

from services.reports.domain import units as U
from services.reports.domain.units import Followup, Unit
from services.reports.service_layer.projection import ProjectionHandlers
from tests.unit.reports_fakes import FakeDirectory, FakeProjection
from tests.unit.test_reports_projection import person

D = date(2026, 12, 6)


def followup(acta: str, day: str | None, operating: bool = True, sales: str = "350000", at: str = "") -> Followup:
    return Followup(acta, operating, sales, day, at or (f"{day}T15:00:00+00:00" if day else ""))


def unit(*followups: Followup, implemented_on: str | None = "2026-01-10") -> Unit:
    stages = {0: ("diagnostico", "2025-11-01")}
    if implemented_on:
        stages[3] = ("implementacion", implemented_on)
    return Unit("u1", owner_ids=("p1",), stages=stages, followups={f.acta_id: f for f in followups})


@pytest.mark.parametrize(
    ("day", "active"),
    [
        ("2026-12-06", True),  # on D
        ("2026-09-08", True),  # D - 89: the window's first day
        ("2026-09-07", False),  # D - 90: just outside
        ("2026-12-07", False),  # after D: not seen on D
    ],
)
def test_the_window_is_the_n_days_ending_on_the_cut_off_date(day: str, active: bool) -> None:
    assert U.is_active(unit(followup("a1", day)), D, 90) is active


def test_the_window_is_the_definition_parameter() -> None:
    one = unit(followup("a1", "2026-11-01"))
    assert U.is_active(one, D, 90) and not U.is_active(one, D, 30)
    assert U.is_active(one, D, 36) and not U.is_active(one, D, 35)


def test_the_latest_follow_up_decides_not_any_good_one() -> None:
    good, closed = followup("a1", "2026-10-01"), followup("a2", "2026-11-20", operating=False, sales="0")
    assert not U.is_active(unit(good, closed), D)
    assert U.is_active(unit(good, closed), date(2026, 11, 19))  # before the bad news
    later_good = followup("a3", "2026-12-01")
    assert U.is_active(unit(good, closed, later_good), D)


def test_operating_with_zero_or_unreadable_sales_is_not_active() -> None:
    assert not U.is_active(unit(followup("a1", "2026-12-01", sales="0")), D)
    assert not U.is_active(unit(followup("a1", "2026-12-01", sales="-5")), D)
    assert not U.is_active(unit(followup("a1", "2026-12-01", sales="no sé")), D)
    assert not U.is_active(unit(followup("a1", "2026-12-01", operating=False, sales="900000")), D)
    assert U.is_active(unit(followup("a1", "2026-12-01", sales="1")), D)


def test_a_follow_up_older_than_the_window_makes_the_unit_inactive() -> None:
    assert not U.is_active(unit(followup("a1", "2026-08-01")), D)
    assert U.latest(unit(followup("a1", "2026-08-01")).followups.values(), D) is not None


def test_a_unit_not_yet_in_implementation_is_in_neither_part() -> None:
    early = unit(followup("a1", "2026-12-01"), implemented_on=None)
    assert not U.reached_implementation(early, D) and not U.is_active(early, D)
    later = unit(followup("a1", "2026-12-01"), implemented_on="2026-12-07")
    assert not U.reached_implementation(later, D) and not U.is_active(later, D)
    capitalised = Unit(
        "u2", stages={5: ("capitalizacion", "2026-03-01")}, followups={"a1": followup("a1", "2026-12-01")}
    )
    assert U.is_active(capitalised, D)


def test_a_follow_up_without_its_sealed_acta_counts_nowhere() -> None:
    assert not U.is_active(unit(followup("a1", None)), D)


def test_same_day_follow_ups_are_ordered_by_capture_then_acta() -> None:
    morning = followup("b", "2026-12-01", at="2026-12-01T13:00:00+00:00")
    evening = followup("a", "2026-12-01", operating=False, sales="0", at="2026-12-01T22:00:00+00:00")
    assert not U.is_active(unit(morning, evening), D)


@pytest.mark.parametrize(
    ("sexes", "expected"),
    [
        ({"p1": "female", "p2": "female"}, "female"),
        ({"p1": "female", "p2": "male"}, "mixto"),
        ({"p1": "female"}, "sin_dato"),
        ({"p1": "female", "p2": "sin_dato"}, "sin_dato"),
        ({}, "sin_dato"),
    ],
)
def test_the_owners_sex_is_common_mixed_or_unknown(sexes: dict[str, str], expected: str) -> None:
    assert U.sex_of(("p1", "p2"), sexes) == expected


# -- the projection from events ---------------------------------------------------------
def events() -> list[tuple[str, str, dict[str, Any]]]:
    base = {"unit_id": "u1", "family_id": "f1", "owner_ids": ["p1", "p2"]}
    return [
        ("income", "productive_unit_registered", {
            **base, "name": "Panadería Wayuu", "community_id": "c1", "sector": "gastronomia",
            "kind": "emprendimiento", "stage": "diagnostico", "occurred_at": "2026-01-05T14:00:00+00:00",
        }),
        ("income", "stage_changed", {**base, "to_stage": "aprobacion", "version": 4,
                                     "occurred_at": "2026-02-01T14:00:00+00:00"}),
        ("income", "stage_changed", {**base, "to_stage": "implementacion", "version": 5,
                                     "occurred_at": "2026-03-02T03:00:00+00:00"}),  # 1 March in Colombia
        ("income", "stage_changed", {**base, "to_stage": "fortalecimiento", "version": 6,
                                     "occurred_at": "2026-06-01T14:00:00+00:00"}),
        ("income", "followup_recorded", {**base, "acta_id": "s1", "operating": True, "monthly_sales": "420000",
                                         "jobs": 2, "occurred_at": "2026-12-05T15:00:00+00:00"}),
        ("actas", "acta_sealed", {
            "acta_id": "s1", "template_key": "seguimiento_unidad_productiva@2",
            "captured_at": "2026-11-20T23:30:00+00:00", "gestor_id": "g", "community_id": "c1",
            "amends": "", "participants": [], "family_ids": [],
        }),
    ]  # fmt: skip


def project(order: list[tuple[str, str, dict[str, Any]]]) -> Unit:
    store, directory = FakeProjection(), FakeDirectory()
    directory.people["p1"] = person("p1", sex="female")
    directory.people["p2"] = person("p2", relationship="spouse", sex="male")
    handlers = ProjectionHandlers(store, directory)
    for source, kind, payload in order:
        handlers.handle(source, kind, payload)
    return store.units["u1"]


def test_the_events_build_the_unit_with_the_acta_day_not_the_arrival_day() -> None:
    built = project(events())
    assert (built.community_id, built.sector, built.kind, built.stage) == (
        "c1",
        "gastronomia",
        "emprendimiento",
        "fortalecimiento",
    )
    assert built.implemented_on == "2026-03-01"
    assert built.sex == "mixto"
    assert built.followups["s1"].day == "2026-11-20"  # captured 18:30 in Colombia on the 20th, arrived on 5 Dec
    assert U.is_active(built, D) and not U.is_active(built, date(2026, 11, 19))


def test_any_order_and_any_redelivery_give_the_same_unit() -> None:
    expected = project(events())
    for order in itertools.permutations(events()):
        assert project(list(order)) == expected
    assert project(events() + events()[::-1]) == expected


def test_a_person_update_changes_the_sex_of_the_units_they_own() -> None:
    store, directory = FakeProjection(), FakeDirectory()
    directory.people["p1"] = person("p1", sex="female")
    directory.people["p2"] = person("p2", relationship="spouse", sex="female")
    handlers = ProjectionHandlers(store, directory)
    handlers.handle(*events()[0])
    assert store.units["u1"].sex == "female"
    directory.people["p2"] = person("p2", relationship="spouse", sex="male", version=2)
    handlers.handle("beneficiaries", "beneficiary_updated", {"beneficiary_id": "p2"})
    assert store.units["u1"].sex == "mixto"

"""The backfill rebuilds the projection through the events' idempotent steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from services.reports.domain.facts import Person
from services.reports.service_layer.backfill import backfill
from services.reports.service_layer.projection import ProjectionHandlers
from tests.unit.reports_fakes import FakeDirectory, FakeProjection
from tests.unit.test_reports_projection import person, sealed


class FakeRecords:
    def __init__(self) -> None:
        self.people = [
            person("p1", family="f1"),
            person("p2", family="f1", relationship="child"),
            person("p3", family=""),
        ]
        self.actas = [sealed("a2", [("p1", "f1")], amends="a1"), sealed("a1", [("p1", "f1"), ("p2", "f1")])]

    def communities(self) -> list[tuple[str, str]]:
        return [("c1", "Roche")]

    def members(self, community_id: str) -> Iterator[Person]:
        yield from self.people

    def household(self, family_id: str) -> tuple[str, str, str] | None:
        return ("c1", "Hogar Uno", "2026-11-01") if family_id == "f1" else None

    def sealed_actas(self) -> Iterator[dict[str, Any]]:
        yield from self.actas

    def units(self, community_ids: list[str]) -> Iterator[list[tuple[str, dict[str, Any]]]]:
        yield from []


def test_the_backfill_stores_people_households_heads_and_visits_and_a_rerun_changes_nothing() -> None:
    store = FakeProjection()
    handlers = ProjectionHandlers(store, FakeDirectory())
    done = backfill(store, handlers, FakeRecords())
    assert (done.communities, done.people, done.households, done.actas) == (1, 3, 1, 2)
    assert store.communities == {"c1": "Roche"}
    assert store.households["f1"]["head_id"] == "p1" and store.households["f1"]["name"] == "Hogar Uno"
    assert store.households["f1"]["visit_days"] == {"2026-12-01"}
    assert sorted(store.participations) == ["a1/p1", "a1/p2"]  # the correction a2 is no visit

    before = (dict(store.participations), set(store.people_by_id), store.households["f1"]["visit_days"].copy())
    backfill(store, handlers, FakeRecords())
    assert (store.participations, set(store.people_by_id), store.households["f1"]["visit_days"]) == before

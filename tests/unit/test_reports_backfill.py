"""The backfill rebuilds the projection through the events' idempotent steps."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
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


def test_the_backfill_rebuilds_units_from_the_income_records_with_their_actas_days() -> None:
    from google.protobuf.timestamp_pb2 import Timestamp

    from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
    from services.reports.adapters.income_records import unit_events
    from services.reports.domain import units as U

    def stamp(iso: str) -> Timestamp:
        out = Timestamp()
        out.FromJsonString(iso)
        return out

    record = ipb.ProductiveUnit(
        id="u1", name="Tienda", family_id="f1", owner_ids=["p1"], community_id="c1", sector="comercio",
        kind="fortalecimiento", stage="fortalecimiento", version=7, created_at=stamp("2026-01-02T15:00:00Z"),
        history=[
            ipb.StageChange(from_stage="diagnostico", to_stage="formulacion_plan", at=stamp("2026-02-01T15:00:00Z")),
            ipb.StageChange(from_stage="aprobacion", to_stage="implementacion", at=stamp("2026-03-01T15:00:00Z")),
            ipb.StageChange(from_stage="implementacion", to_stage="fortalecimiento", at=stamp("2026-05-01T15:00:00Z")),
        ],
        followups=[ipb.FollowUp(acta_id="s1", visited_at="2026-11-30", operating=True, monthly_sales="500000")],
    )  # fmt: skip
    records = FakeRecords()
    records.actas.append(
        sealed("s1", [], template_key="seguimiento_unidad_productiva@2", captured="2026-11-30T16:00:00+00:00")
    )
    records.units = lambda community_ids: iter([unit_events(record)])  # type: ignore[method-assign]
    store = FakeProjection()
    handlers = ProjectionHandlers(store, FakeDirectory({"p1": person("p1", sex="female")}))
    done = backfill(store, handlers, records)
    assert done.units == 1
    built = store.units["u1"]
    assert (built.stage, built.implemented_on, built.sex, built.sector) == (
        "fortalecimiento", "2026-03-01", "female", "comercio"
    )  # fmt: skip
    assert built.followups["s1"].day == "2026-11-30" and U.is_active(built, date(2026, 12, 6))
    backfill(store, handlers, records)
    assert store.units["u1"] == built

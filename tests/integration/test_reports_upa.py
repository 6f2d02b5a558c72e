"""UPA on the real stack (RabbitMQ, SecantusDB, beneficiaries, crm-reports): the
income service's events and the follow-up actas' seals, published as those services
publish them, become the UPA value, its groups, its series and its drill-down to
the UPs and the actas that evidence them. Owners are real beneficiaries (the
projection reads their sex from the beneficiaries service)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest

from crm_platform.messaging import EventPublisher
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as bpb_grpc
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2 as rpb
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2_grpc as rpb_grpc
from devstack.infra import Stack
from tests.helpers import GESTOR, eventually, person_request
from tests.integration.test_reports_projection import CALLER

__all__ = ["reports"]
BOGOTA = ZoneInfo("America/Bogota")


@pytest.fixture(scope="module")
def reports(stack: Stack) -> Iterator[rpb_grpc.ReportsServiceStub]:
    channel = grpc.insecure_channel(stack.env["REPORTS_GRPC"])
    yield rpb_grpc.ReportsServiceStub(channel)
    channel.close()


@pytest.fixture
def publishers(stack: Stack) -> Iterator[dict[str, EventPublisher]]:
    found = {source: EventPublisher(stack.env["AMQP_URI"], source) for source in ("income", "actas")}
    yield found
    for publisher in found.values():
        publisher.close()


def now(days_ago: int = 0) -> str:
    return (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()


def unit_events(unit_id: str, community_id: str, family_id: str, owners: list[str], stage: str) -> list[Any]:
    base = {"unit_id": unit_id, "family_id": family_id, "owner_ids": owners}
    registered = {
        **base, "name": f"UP {unit_id[:6]}", "community_id": community_id, "sector": "artesanias",
        "kind": "emprendimiento", "stage": "diagnostico", "occurred_at": now(200), "by": "gestora.ana",
    }  # fmt: skip
    events: list[Any] = [("income", "productive_unit_registered", registered)]
    if stage != "diagnostico":
        changed = {
            **base, "unit_name": registered["name"], "transition": "iniciar_implementacion",
            "from_stage": "aprobacion", "to_stage": stage, "to_stage_label": stage, "version": 5,
            "reason": "", "occurred_at": now(120), "by": "gestora.ana",
        }  # fmt: skip
        events.append(("income", "stage_changed", changed))
    return events


def followup(unit_id: str, family_id: str, owners: list[str], operating: bool, sales: str, days_ago: int) -> Any:
    acta_id = f"acta-{uuid.uuid4().hex[:10]}"
    recorded = {
        "unit_id": unit_id, "unit_name": "UP", "family_id": family_id, "owner_ids": owners, "acta_id": acta_id,
        "operating": operating, "monthly_sales": sales, "jobs": 1, "occurred_at": now(),
    }  # fmt: skip
    sealed = {
        "acta_id": acta_id, "title": "Seguimiento", "template_key": "seguimiento_unidad_productiva@2",
        "sealed_at": now(days_ago), "captured_at": now(days_ago), "gestor_id": "gestora.ana", "community_id": "",
        "content_hash": "0" * 64, "amends": "", "source": "desk", "participants": [], "family_ids": [],
    }  # fmt: skip
    # The follow-up first, its seal after: the projection dates it whichever comes first.
    return acta_id, [("income", "followup_recorded", recorded), ("actas", "acta_sealed", sealed)]


def upa_group(reports: rpb_grpc.ReportsServiceStub, by: str, key: str, expected: tuple[int, int]) -> rpb.Group:
    def matches() -> rpb.Group | None:
        value = reports.GetKpiValue(rpb.GetKpiValueRequest(code="upa", by=by), metadata=CALLER)
        found = next((g for g in value.groups if g.key == key), None)
        return found if found and (found.numerator, found.denominator) == expected else None

    found = eventually(matches, timeout=40, interval=0.5)
    assert found is not None
    return found


def test_income_events_and_sealed_followups_become_upa_with_groups_series_and_evidence(
    beneficiaries: bpb_grpc.BeneficiariesServiceStub,
    community: bpb.Community,
    reports: rpb_grpc.ReportsServiceStub,
    publishers: dict[str, EventPublisher],
) -> None:
    family = beneficiaries.RegisterFamily(
        bpb.RegisterFamilyRequest(community_id=community.id, name="Hogar UPA"), metadata=GESTOR
    )
    ana = beneficiaries.RegisterBeneficiary(person_request(family_id=family.id, relationship="head"), metadata=GESTOR)
    luis = beneficiaries.RegisterBeneficiary(
        person_request(family_id=family.id, relationship="spouse", sex="male"), metadata=GESTOR
    )
    active, closed, stale, early = (uuid.uuid4().hex for _ in range(4))
    events: list[Any] = []
    events += unit_events(active, community.id, family.id, [ana.id, luis.id], "implementacion")
    events += unit_events(closed, community.id, family.id, [ana.id], "fortalecimiento")
    events += unit_events(stale, community.id, family.id, [ana.id], "capitalizacion")
    events += unit_events(early, community.id, family.id, [ana.id], "diagnostico")
    evidence, good = followup(active, family.id, [ana.id, luis.id], True, "450000", days_ago=3)
    _, old_good = followup(closed, family.id, [ana.id], True, "300000", days_ago=40)
    _, latest_bad = followup(closed, family.id, [ana.id], False, "0", days_ago=10)
    _, too_old = followup(stale, family.id, [ana.id], True, "200000", days_ago=120)
    _, not_implemented = followup(early, family.id, [ana.id], True, "100000", days_ago=2)
    for source, kind, payload in events + good + old_good + latest_bad + too_old + not_implemented:
        publishers[source].publish(kind, payload, event_id=uuid.uuid4().hex)

    # Three UPs reached implementation; one is active (its latest follow-up, 3 days
    # ago, operates with sales); the closed one's latest says it stopped, the stale
    # one's is 120 days old, and the one in diagnosis counts in neither part.
    total = upa_group(reports, "comunidad", community.id, (1, 3))
    assert total.value == pytest.approx(33.3)
    # Other tests' UPs share these groups: the keys and labels, not the counts.
    for by, key, label in (("sexo", "mixto", "Mixto"), ("tipo", "emprendimiento", "Emprendimiento")):
        value = reports.GetKpiValue(rpb.GetKpiValueRequest(code="upa", by=by), metadata=CALLER)
        found = next(g for g in value.groups if g.key == key)
        assert found.label.startswith(label) and found.numerator >= 1

    def drill(part: str) -> dict[str, dict[str, str]]:
        request = rpb.DrillDownRequest(code="upa", by="comunidad", key=community.id, part=part, limit=200)
        reply = reports.DrillDown(request, metadata=CALLER)
        assert reply.source == "productive_units"
        return {r.id: dict(r.fields) for r in reply.records}

    numerator = drill("numerator")
    assert list(numerator) == [active]
    row = numerator[active]
    assert (row["acta_id"], row["operating"], row["monthly_sales"]) == (evidence, "Sí", "450000")
    assert row["followup_day"] == (datetime.now(UTC) - timedelta(days=3)).astimezone(BOGOTA).date().isoformat()
    assert row["community"] == community.name
    assert set(drill("denominator")) == {active, closed, stale}

    series = reports.GetKpiSeries(rpb.GetKpiSeriesRequest(code="upa", months=3), metadata=CALLER)
    assert [p.month for p in series.points][-1] == datetime.now(BOGOTA).strftime("%Y-%m")
    assert len(series.points) == 3
    assert series.points[-1].total.numerator >= 1 and series.points[-1].total.denominator >= 3

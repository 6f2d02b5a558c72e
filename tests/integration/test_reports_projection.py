"""The reports service on the real stack (RabbitMQ, SecantusDB, beneficiaries):
events in, KPI values out. Households and people are registered through the
beneficiaries service (its real events); sealed actas are published as the actas
service publishes them. Values come back over gRPC from crm-reports."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from kombu import Connection

from crm_platform.messaging import EventPublisher
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as bpb_grpc
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2 as rpb
from crm_platform.proto_gen.crm.reports.v1 import reports_pb2_grpc as rpb_grpc
from devstack.infra import Stack
from tests.helpers import COORDINATOR, GESTOR, Caller, eventually, person_request

CALLER = Caller("coordinadora.reportes", "coordinator")


@pytest.fixture(scope="module")
def reports(stack: Stack) -> Iterator[rpb_grpc.ReportsServiceStub]:
    channel = grpc.insecure_channel(stack.env["REPORTS_GRPC"])
    yield rpb_grpc.ReportsServiceStub(channel)
    channel.close()


@pytest.fixture
def actas_events(stack: Stack) -> Iterator[EventPublisher]:
    publisher = EventPublisher(stack.env["AMQP_URI"], "actas")
    yield publisher
    publisher.close()


def sealed(
    acta_id: str, community_id: str, people: list[tuple[str, str]], gestor: str = "gestora.ana"
) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    return {
        "acta_id": acta_id,
        "title": "Visita domiciliaria",
        "template_key": "visita_domiciliaria@1",
        "sealed_at": now,
        "captured_at": now,
        "gestor_id": gestor,
        "community_id": community_id,
        "content_hash": "0" * 64,
        "amends": "",
        "source": "desk",
        "participants": [{"beneficiary_id": p, "family_id": f} for p, f in people],
        "family_ids": sorted({f for _, f in people}),
    }


def group(reports: rpb_grpc.ReportsServiceStub, code: str, by: str, key: str) -> rpb.Group | None:
    value = reports.GetKpiValue(rpb.GetKpiValueRequest(code=code, by=by), metadata=CALLER)
    return next((g for g in value.groups if g.key == key), None)


def wait_for(reports: rpb_grpc.ReportsServiceStub, code: str, key: str, expected: tuple[int, int]) -> rpb.Group:
    def matches() -> rpb.Group | None:
        found = group(reports, code, "comunidad", key)
        return found if found and (found.numerator, found.denominator) == expected else None

    found = eventually(matches, timeout=30, interval=0.5)
    assert found is not None
    return found


def test_registrations_and_a_sealed_visit_become_coverage_alerts_and_participations(
    beneficiaries: bpb_grpc.BeneficiariesServiceStub,
    community: bpb.Community,
    reports: rpb_grpc.ReportsServiceStub,
    actas_events: EventPublisher,
) -> None:
    visited = beneficiaries.RegisterFamily(
        bpb.RegisterFamilyRequest(community_id=community.id, name="Hogar A"), metadata=GESTOR
    )
    headless = beneficiaries.RegisterFamily(
        bpb.RegisterFamilyRequest(community_id=community.id, name="Hogar B"), metadata=GESTOR
    )
    head = beneficiaries.RegisterBeneficiary(person_request(family_id=visited.id, relationship="head"), metadata=GESTOR)
    child = beneficiaries.RegisterBeneficiary(
        person_request(family_id=visited.id, relationship="child", birth_date="2015-03-01", sex="male"), metadata=GESTOR
    )
    beneficiaries.RecordConsent(
        bpb.RecordConsentRequest(beneficiary_id=head.id, kind="data_processing"), metadata=GESTOR
    )

    # Two households, one without a head; one person without consent; nobody visited.
    wait_for(reports, "hogares_sin_jefe", community.id, (1, 0))
    wait_for(reports, "personas_sin_consentimiento", community.id, (1, 0))
    wait_for(reports, "cobertura_30d", community.id, (0, 2))
    wait_for(reports, "hogares_sin_visita", community.id, (2, 0))

    event = sealed(f"acta-{uuid.uuid4().hex[:8]}", community.id, [(head.id, visited.id), (child.id, visited.id)])
    actas_events.publish("acta_sealed", event, event_id=uuid.uuid4().hex)
    coverage = wait_for(reports, "cobertura_30d", community.id, (1, 2))
    assert coverage.value == 50.0 and coverage.label == community.name
    wait_for(reports, "hogares_sin_visita", community.id, (1, 0))
    wait_for(reports, "participaciones", community.id, (2, 0))

    # The projection converges whatever the order of events (a participation can
    # arrive before the person's sex and birth date do), and each disaggregation is
    # counted on its own in a refresh (every 2 s here): poll for both, bounded.
    def keys_by(by: str, wanted: set[str]) -> set[str] | None:
        reply = reports.GetKpiValue(rpb.GetKpiValueRequest(code="participaciones", by=by), metadata=CALLER)
        keys = {g.key for g in reply.groups}
        return keys if wanted <= keys else None

    assert eventually(lambda: keys_by("sexo", {"female", "male"}), timeout=30, interval=0.5)
    assert eventually(lambda: keys_by("edad", {"6-11", "29-59"}), timeout=30, interval=0.5)

    # The records behind the numerator: the visited household, with its community.
    drill = reports.DrillDown(
        rpb.DrillDownRequest(code="cobertura_30d", by="comunidad", key=community.id), metadata=CALLER
    )
    assert drill.source == "households"
    assert [(r.id, r.fields["community_id"]) for r in drill.records] == [(visited.id, community.id)]
    missing = reports.DrillDown(
        rpb.DrillDownRequest(code="hogares_sin_jefe", by="comunidad", key=community.id), metadata=CALLER
    )
    assert [r.id for r in missing.records] == [headless.id]


def test_a_redelivered_seal_counts_once_and_a_correction_is_no_visit(
    beneficiaries: bpb_grpc.BeneficiariesServiceStub,
    community: bpb.Community,
    reports: rpb_grpc.ReportsServiceStub,
    actas_events: EventPublisher,
) -> None:
    family = beneficiaries.RegisterFamily(
        bpb.RegisterFamilyRequest(community_id=community.id, name="Hogar C"), metadata=GESTOR
    )
    person = beneficiaries.RegisterBeneficiary(
        person_request(family_id=family.id, relationship="head"), metadata=GESTOR
    )
    wait_for(reports, "cobertura_90d", community.id, (0, 1))
    event = sealed(f"acta-{uuid.uuid4().hex[:8]}", community.id, [(person.id, family.id)])
    for _ in range(3):  # at-least-once: the same event, delivered again
        actas_events.publish("acta_sealed", event, event_id=uuid.uuid4().hex)
    correction = {
        **sealed(f"acta-{uuid.uuid4().hex[:8]}", community.id, [(person.id, family.id)]),
        "amends": event["acta_id"],
    }
    actas_events.publish("acta_sealed", correction, event_id=uuid.uuid4().hex)
    # A marker published after them all: once it counts, everything before it was applied.
    marker = sealed(f"acta-{uuid.uuid4().hex[:8]}", community.id, [(person.id, family.id)], gestor="gestor.marca")
    actas_events.publish("acta_sealed", marker, event_id=uuid.uuid4().hex)

    wait_for(reports, "participaciones", community.id, (2, 0))  # the original once, and the marker

    # Each disaggregation has its own snapshot: the one by gestor may be a refresh
    # older than the one by community that showed the marker (poll it, bounded).
    def gestores() -> set[str] | None:
        reply = reports.GetKpiValue(rpb.GetKpiValueRequest(code="participaciones", by="gestor"), metadata=CALLER)
        keys = {g.key for g in reply.groups}
        return keys if {"gestora.ana", "gestor.marca"} <= keys else None

    assert eventually(gestores, timeout=30, interval=0.5)
    assert wait_for(reports, "cobertura_90d", community.id, (1, 1)).value == 100.0


def test_an_event_that_breaks_its_contract_is_dead_lettered_with_the_reason(stack: Stack) -> None:
    with Connection(stack.env["AMQP_URI"]) as connection:
        connection.Producer().publish(
            json.dumps({"acta_id": "sin-campos"}),
            exchange="actas.events",
            routing_key="acta_sealed",
            content_type="application/json",
        )

        def dead() -> Any:
            return connection.default_channel.basic_get("reports.events.dead", no_ack=True)

        message = eventually(dead, timeout=15, interval=0.3)
    assert "acta_sealed" in message.headers["x-crm-dead-reason"]


def test_bad_requests_are_field_errors_and_unknown_kpis_not_found(reports: rpb_grpc.ReportsServiceStub) -> None:
    with pytest.raises(grpc.RpcError) as missing:
        reports.GetKpiValue(rpb.GetKpiValueRequest(code="no_existe"), metadata=CALLER)
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    for request in (
        rpb.GetKpiValueRequest(code="cobertura_30d", as_of="06/12/2026"),
        rpb.GetKpiValueRequest(code="cobertura_30d", by="gestor"),
        rpb.GetKpiValueRequest(code="cobertura_30d", as_of="2999-01-01"),
    ):
        with pytest.raises(grpc.RpcError) as bad:
            reports.GetKpiValue(request, metadata=CALLER)
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request
    listed = reports.ListKpis(rpb.ListKpisRequest(), metadata=COORDINATOR)
    codes = [k.code for k in listed.kpis]
    assert {"cobertura_30d", "cobertura_90d", "hogares_sin_visita", "personas_sin_consentimiento"} <= set(codes)
    assert len(listed.values) == len(codes)

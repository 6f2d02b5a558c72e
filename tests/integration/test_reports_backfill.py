"""``crm-reports-backfill`` on the real stack: a projection started empty is rebuilt
from the beneficiaries and actas services' records, and a second run changes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct

from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2 as bpb
from crm_platform.proto_gen.crm.beneficiaries.v1 import beneficiaries_pb2_grpc as bpb_grpc
from crm_platform.proto_gen.crm.income.v1 import income_pb2 as ipb
from crm_platform.proto_gen.crm.income.v1 import income_pb2_grpc as ipb_grpc
from devstack.infra import Stack
from services.reports.adapters.income_records import IncomeRecords
from services.reports.adapters.records import ActasRecords, BeneficiariesRecords
from services.reports.adapters.store import MongoProjection, open_database
from services.reports.entrypoints.backfill import Records
from services.reports.service_layer.backfill import backfill
from services.reports.service_layer.projection import ProjectionHandlers
from tests.helpers import GESTOR, person_request


@pytest.fixture
def fresh(stack: Stack) -> Iterator[tuple[Any, Records, ProjectionHandlers]]:
    name = f"reports_backfill_{uuid.uuid4().hex[:8]}"
    client, db = open_database(stack.env["MONGO_URI"], name)
    people = BeneficiariesRecords(stack.env["BENEFICIARIES_GRPC"])
    actas = ActasRecords(stack.env["ACTAS_GRPC"])
    try:
        yield db, Records(people, actas), ProjectionHandlers(MongoProjection(db), people)
    finally:
        people.close()
        actas.close()
        client.drop_database(name)
        client.close()


def test_an_empty_projection_is_rebuilt_from_the_records_and_a_second_run_changes_nothing(
    fresh: tuple[Any, Records, ProjectionHandlers],
    beneficiaries: bpb_grpc.BeneficiariesServiceStub,
    actas: apb_grpc.ActasServiceStub,
    community: bpb.Community,
) -> None:
    db, records, handlers = fresh
    family = beneficiaries.RegisterFamily(
        bpb.RegisterFamilyRequest(community_id=community.id, name="Hogar Backfill"), metadata=GESTOR
    )
    head = beneficiaries.RegisterBeneficiary(person_request(family_id=family.id, relationship="head"), metadata=GESTOR)
    values = Struct()
    values.update(
        {
            "fecha": "2026-11-20",
            "lugar": "Nuevo Roche",
            "hogar": family.id,
            "motivo": "seguimiento",
            "situacion_encontrada": "Sin novedad.",
            "personas_presentes": 1,
            "firmantes": [head.id],
        }
    )
    draft = actas.CreateActa(
        apb.CreateActaRequest(template_key="visita_domiciliaria@1", values=values), metadata=GESTOR
    )
    actas.SignActa(apb.SignActaRequest(acta_id=draft.id, signer_id=head.id, refusal_reason="No firma"), metadata=GESTOR)
    actas.SignActa(apb.SignActaRequest(acta_id=draft.id), metadata=GESTOR)
    actas.SealActa(apb.SealActaRequest(acta_id=draft.id), metadata=GESTOR)

    first = backfill(handlers.store, handlers, records)
    assert first.actas >= 1 and first.people >= 1 and first.households >= 1
    household = db.households.find_one({"_id": family.id})
    assert household["community_id"] == community.id and household["head_id"] == head.id
    assert household["registered_on"] and household["visit_days"]
    person = db.people.find_one({"_id": head.id})
    assert person["family_id"] == family.id and person["sex"] == "female" and person["birth_date"] == "1985-04-12"
    assert db.participations.count_documents({"acta_id": draft.id, "beneficiary_id": head.id}) == 1
    assert db.communities.find_one({"_id": community.id})["name"] == community.name

    counts = {c: db[c].count_documents({}) for c in ("households", "people", "participations")}
    backfill(handlers.store, handlers, records)
    assert {c: db[c].count_documents({}) for c in counts} == counts


def test_the_backfill_reads_the_productive_units_from_the_income_service_as_a_platform_service(
    fresh: tuple[Any, Records, ProjectionHandlers],
    stack: Stack,
    beneficiaries: bpb_grpc.BeneficiariesServiceStub,
    community: bpb.Community,
) -> None:
    db, records, handlers = fresh
    family = beneficiaries.RegisterFamily(
        bpb.RegisterFamilyRequest(community_id=community.id, name="Hogar UP"), metadata=GESTOR
    )
    ana = beneficiaries.RegisterBeneficiary(person_request(family_id=family.id, relationship="head"), metadata=GESTOR)
    luis = beneficiaries.RegisterBeneficiary(
        person_request(family_id=family.id, relationship="spouse", sex="male"), metadata=GESTOR
    )
    with grpc.insecure_channel(stack.env["INCOME_GRPC"]) as channel:
        unit = ipb_grpc.IncomeServiceStub(channel).RegisterUnit(
            ipb.RegisterUnitRequest(
                name="Tejidos Wayuu", family_id=family.id, owner_ids=[ana.id, luis.id], community_id=community.id,
                sector="artesanias", kind="emprendimiento",
            ),
            metadata=GESTOR,
        )  # fmt: skip
    income = IncomeRecords(stack.env["INCOME_GRPC"])  # ListUnits and GetUnit as the ``service`` role
    try:
        with_income = Records(records.people, records.actas, income)
        done = backfill(handlers.store, handlers, with_income)
        assert done.units >= 1
        found = db.productive_units.find_one({"_id": unit.id})
        assert found is not None
        assert (found["community_id"], found["sector"], found["kind"], found["stage"], found["sex"]) == (
            community.id, "artesanias", "emprendimiento", "diagnostico", "mixto"
        )  # fmt: skip
        assert "implemented_on" not in found  # in diagnosis: in neither part of UPA
        backfill(handlers.store, handlers, with_income)
        assert db.productive_units.find_one({"_id": unit.id})["rev"] == found["rev"]  # nothing changed
    finally:
        income.close()

"""Corrections and folios against the real actas service (gRPC), SecantusDB and
the beneficiaries service started by devstack."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from tests.helpers import GESTOR
from tests.integration.test_actas_service import COORDINATOR, actas, people, struct, visit_values

__all__ = ["actas", "people"]  # fixtures


def test_only_the_acta_s_gestor_or_a_coordinator_may_correct_it(actas, family, people) -> None:
    original = _sealed_visit(actas, family, people[0])
    other = caller_metadata("otro.gestor", "gestor")
    with pytest.raises(grpc.RpcError) as err:
        actas.AmendActa(
            apb.AmendActaRequest(acta_id=original.id, changes=struct({"personas_presentes": 3}), reason="Error"),
            metadata=other,
        )
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED and "gestor que capturó" in err.value.details()
    assert list(actas.GetActa(apb.GetActaRequest(id=original.id), metadata=GESTOR).amended_by) == []
    fix = actas.AmendActa(
        apb.AmendActaRequest(acta_id=original.id, changes=struct({"personas_presentes": 3}), reason="Error"),
        metadata=COORDINATOR,
    )
    assert fix.gestor_id == "coordinadora.test"


def _sealed_visit(actas, family, head, profile: apb.StaffProfile | None = None) -> apb.Acta:
    draft = actas.CreateActa(
        apb.CreateActaRequest(
            template_key="visita_domiciliaria@1", values=struct(visit_values(family, [head.id])), gestor=profile
        ),
        metadata=GESTOR,
    )
    actas.SignActa(apb.SignActaRequest(acta_id=draft.id, signer_id=head.id, refusal_reason="No"), metadata=GESTOR)
    actas.SignActa(apb.SignActaRequest(acta_id=draft.id), metadata=GESTOR)
    sealed: apb.Acta = actas.SealActa(apb.SealActaRequest(acta_id=draft.id), metadata=GESTOR)
    return sealed


def test_sealed_actas_get_unique_consecutive_folios_and_keep_names_and_the_gestor(
    actas, community, family, people
) -> None:
    """Folios are drawn inside the seal's transaction: sealing concurrently, every
    acta gets its own number, and the numbers drawn are consecutive (no gaps)."""
    profile = apb.StaffProfile(full_name="Ana María Pérez", document="CC 52123456", title="Gestora social")
    first = _sealed_visit(actas, family, people[0], profile)
    assert first.folio.startswith("VD-20") and len(first.folio) == len("VD-2026-000001")
    assert first.names[family.id] == "Hogar Prueba" and first.names[community.id] == community.name
    assert first.names[people[0].id] == "María José Peña Epiayú"
    assert (first.gestor_name, first.gestor_document, first.gestor_title) == (
        "Ana María Pérez",
        "CC 52123456",
        "Gestora social",
    )
    drafts = []
    for _ in range(6):
        draft = actas.CreateActa(
            apb.CreateActaRequest(
                template_key="visita_domiciliaria@1", values=struct(visit_values(family, [people[0].id]))
            ),
            metadata=GESTOR,
        )
        actas.SignActa(
            apb.SignActaRequest(acta_id=draft.id, signer_id=people[0].id, refusal_reason="No"), metadata=GESTOR
        )
        actas.SignActa(apb.SignActaRequest(acta_id=draft.id), metadata=GESTOR)
        drafts.append(draft.id)
    with ThreadPoolExecutor(max_workers=6) as pool:
        sealed = list(pool.map(lambda i: actas.SealActa(apb.SealActaRequest(acta_id=i), metadata=GESTOR), drafts))
    numbers = sorted(int(a.folio.rsplit("-", 1)[1]) for a in sealed)
    assert len(set(numbers)) == 6 and numbers == list(range(numbers[0], numbers[0] + 6))
    assert numbers[0] > int(first.folio.rsplit("-", 1)[1])
    for acta in sealed:  # the folio is part of what the hash commits to, and is stored as sealed
        stored = actas.GetActa(apb.GetActaRequest(id=acta.id), metadata=GESTOR)
        assert stored.folio == acta.folio
        assert actas.VerifyActa(apb.VerifyActaRequest(acta_id=acta.id), metadata=GESTOR).valid

"""Corrections of sealed actas (who may make one, its reason, its one signer),
folios, and what an acta records of the people and places it names and of its
gestor, over the in-memory fakes of ``test_actas_handlers``."""

from __future__ import annotations

import pytest

from services.actas.domain.errors import FieldsInvalid, PermissionDenied
from services.actas.domain.model import Actor
from services.actas.service_layer.ports import StaffProfile
from tests.actas_support import visit

from .test_actas_handlers import (
    ADMIN,
    CAPTURED,
    COORDINATOR,
    GESTOR,
    OTHER_GESTOR,
    World,
    a_draft,
    a_sealed_acta,
    by_gestor,
    by_refusal,
    ingest,
    kiosk_body,
    registered,
    sent,
    world,
)


def test_a_gestor_cannot_amend_another_gestors_acta_and_nothing_is_stored() -> None:
    w = world()
    sealed_id = a_sealed_acta(w)  # captured by g1
    with pytest.raises(PermissionDenied) as err:
        w.handlers.amend(sealed_id, {"lugar": "Roche"}, "Lugar mal escrito", OTHER_GESTOR)
    assert "gestor que capturó" in str(err.value)
    assert len(w.repo.actas) == 1 and len(w.repo.entries) == 1


def test_the_acta_s_own_gestor_an_admin_and_a_coordinator_may_amend_it() -> None:
    w = world()
    sealed_id = a_sealed_acta(w)
    for actor in (GESTOR, ADMIN, COORDINATOR):
        assert w.handlers.amend(sealed_id, {"lugar": "Roche"}, "Lugar mal escrito", actor).gestor_id == actor.subject


def a_sealed_psychosocial_acta(w: World, actor: Actor) -> str:
    values = {
        "fecha": "2026-11-20",
        "lugar": "Nuevo Roche",
        "nivel": "individual",
        "ejes": ["duelo"],
        "resumen": "Reservado",
        "firmantes": ["p1"],
    }
    acta_id = w.handlers.create("intervencion_psicosocial@1", values, "", CAPTURED, actor).id
    w.handlers.sign(acta_id, by_refusal("p1"), actor)
    w.handlers.sign(acta_id, by_gestor(actor), actor)
    w.handlers.seal(acta_id, actor)
    return acta_id


def test_a_restricted_acta_is_amended_only_by_those_who_may_read_it() -> None:
    """A coordinator may correct any acta but cannot read psychosocial content:
    they may not correct it either; its own psychologist and an admin may."""
    w = world()
    psychologist = Actor("psi1", "psychosocial")
    sealed_id = a_sealed_psychosocial_acta(w, psychologist)
    for actor in (COORDINATOR, GESTOR, Actor("psi2", "psychosocial")):
        with pytest.raises(PermissionDenied):
            w.handlers.amend(sealed_id, {"lugar": "Roche"}, "Lugar mal escrito", actor)
    assert len(w.repo.entries) == 1
    for actor in (psychologist, ADMIN):
        assert w.handlers.amend(sealed_id, {"lugar": "Roche"}, "Lugar mal escrito", actor).amends == sealed_id


def test_an_amendment_reason_is_bounded() -> None:
    w = world()
    sealed_id = a_sealed_acta(w)
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.amend(sealed_id, {"lugar": "Roche"}, "x" * 1001, GESTOR)
    assert set(err.value.errors) == {"reason"}


def test_sealed_actas_get_consecutive_folios_per_template_and_year_and_a_correction_its_own() -> None:
    w = world()
    first, second = a_sealed_acta(w), a_sealed_acta(w)
    assert w.handlers.get(first).folio == "VD-2026-000001"
    assert w.handlers.get(second).folio == "VD-2026-000002"
    assert w.handlers.get(a_draft(w)).folio == ""  # a draft has none
    correction = w.handlers.amend(first, {"lugar": "Roche"}, "Lugar mal escrito", GESTOR)
    assert correction.folio == "VD-2026-000003"
    assert correction.canonical()["folio"] == "VD-2026-000003"  # the hash commits to it
    corrects, corrected_by = w.handlers.corrections(w.handlers.get(first))
    assert corrects is None and [c.folio for c in corrected_by] == ["VD-2026-000003"]
    corrects, corrected_by = w.handlers.corrections(correction)
    assert corrects is not None and corrects.folio == "VD-2026-000001" and corrected_by == []


def test_an_acta_keeps_the_names_of_what_it_refers_to_and_its_gestor() -> None:
    w = world()
    gestora = Actor("g1", "gestor", "Ana María Pérez", "CC 52123456", "Gestora social")
    acta = w.handlers.create("visita_domiciliaria@1", visit(["p1", "p2"]), "", CAPTURED, gestora)
    assert acta.names == {"p1": "Persona 1", "p2": "Persona 2", "fam1": "Hogar fam1", "com1": "Comunidad com1"}
    assert (acta.gestor_name, acta.gestor_document, acta.gestor_title) == (
        "Ana María Pérez",
        "CC 52123456",
        "Gestora social",
    )


def test_a_kiosk_acta_carries_the_profile_the_gateway_recorded_for_its_gestor() -> None:
    w = world()
    registered(w)
    profile = StaffProfile("g1", "Ana María Pérez", "CC 52123456", "Gestora social")
    with pytest.raises(PermissionDenied):
        w.handlers.put_staff_profile(profile, GESTOR)  # only the gateway, as a service
    w.handlers.put_staff_profile(profile, Actor("gateway", "service"))
    acta = w.handlers.get(ingest(w, sent(kiosk_body())).acta_id)
    assert (acta.gestor_name, acta.gestor_document, acta.gestor_title) == (
        "Ana María Pérez",
        "CC 52123456",
        "Gestora social",
    )
    assert acta.names["com1"] == "Comunidad com1" and acta.folio == "VD-2026-000001"


def test_a_staff_profile_names_its_fields_when_they_are_wrong() -> None:
    w = world()
    with pytest.raises(FieldsInvalid) as err:
        w.handlers.put_staff_profile(StaffProfile("", "", "x" * 41, ""), Actor("gateway", "service"))
    assert set(err.value.errors) == {"username", "full_name", "document"}

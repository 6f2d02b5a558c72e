"""Productive-unit rules: registration, the stage machine's guards and reasons,
optimistic versions, the plan's approval through the use cases, and follow-ups
attached once however often the acta's event arrives."""

from __future__ import annotations

from typing import Any

import pytest

from crm_platform import errors as vocabulary
from crm_platform.workflow.errors import TransitionNotAllowed
from services.income.domain import units
from services.income.domain.plan_io import content_to_mapping
from services.income.domain.stages import GuardFailed
from services.income.service_layer.handlers import IncomeHandlers, StaleVersion
from services.income.service_layer.ports import FollowUpActa
from tests.unit.income_builders import content
from tests.unit.income_fakes import handlers


def register(h: IncomeHandlers, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "name": "Panadería La Esperanza",
        "family_id": "fam-1",
        "owner_ids": ["ana", "luis"],
        "community_id": "com-1",
        "sector": "agroindustria",
        "kind": "emprendimiento",
        "by": "gestor1",
    }
    values.update(overrides)
    return h.register(**values)


def test_a_registration_names_every_bad_field_at_once() -> None:
    with pytest.raises(units.UnitInvalid) as caught:
        units.registration("", "fam-1", [], "com-1", "mineria", "otro")
    assert set(caught.value.fields) == {"name", "owner_ids", "sector", "kind"}
    assert "catálogo" in caught.value.fields["sector"]


def test_owners_must_exist_and_belong_to_the_household() -> None:
    h, store, _ = handlers()
    with pytest.raises(units.UnitInvalid) as unknown:
        register(h, owner_ids=["ana", "nadie"])
    assert "nadie" in unknown.value.fields["owner_ids"]
    with pytest.raises(units.UnitInvalid) as elsewhere:
        register(h, owner_ids=["otra"])
    assert "hogar" in elsewhere.value.fields["owner_ids"]
    assert store.writes == 0


def test_a_registered_unit_starts_in_diagnosis_with_its_event() -> None:
    h, store, _ = handlers()
    doc = register(h)
    assert (doc["stage"], doc["version"]) == ("diagnostico", 1)
    assert store.events(doc["_id"]) == ["productive_unit_registered"]
    assert [t.name for t in h.allowed_transitions(doc)] == ["formular_plan", "cerrar"]


def test_a_transition_from_the_wrong_stage_and_a_false_guard_are_refused_by_name() -> None:
    h, store, _ = handlers()
    unit_id = register(h)["_id"]
    with pytest.raises(TransitionNotAllowed):
        h.change_stage(unit_id, "graduar", 1, "gestor1", acta_id="acta-1")
    with pytest.raises(GuardFailed) as caught:
        h.change_stage(unit_id, "formular_plan", 1, "gestor1")
    assert caught.value.guard == "diagnostico_completo"
    assert caught.value.seen == {"diagnostico.completo": False}
    assert "diagnostico_completo" in str(caught.value)
    doc = h.unit(unit_id)
    assert (doc["stage"], doc["version"], doc["history"], doc["workflow_pending"]) == ("diagnostico", 1, [], [])
    assert store.events(unit_id) == ["productive_unit_registered"]


def test_the_recorded_diagnosis_opens_the_plan_stage_and_the_projection_follows_the_engine() -> None:
    h, store, _ = handlers()
    unit_id = register(h)["_id"]
    with pytest.raises(units.UnitInvalid):
        h.record_diagnosis(unit_id, True, "x" * 5000, "gestor1")
    h.record_diagnosis(unit_id, True, "Panadería con horno propio", "gestor1")
    moved = h.change_stage(unit_id, "formular_plan", 1, "gestor1")
    instance = h.flow.engine.get(unit_id)
    assert (moved["stage"], moved["version"]) == (instance.state, instance.version) == ("formulacion_plan", 2)
    assert instance.history[-1].guard_values == {"diagnostico.completo": True}
    assert moved["workflow"] == {"definition_version": 1, "seq": 1}
    assert store.events(unit_id) == ["productive_unit_registered", "stage_changed"]
    assert store.docs[unit_id]["outbox"][-1]["id"] == f"{unit_id}:1:stage_changed"


def test_capitalization_needs_an_approved_viable_plan_and_its_amount() -> None:
    h, _, _ = handlers()
    unit_id = register(h)["_id"]
    for bad in ("", "-5", "12.5", "mil"):
        with pytest.raises(units.UnitInvalid) as caught:
            h.set_capitalization(unit_id, bad, "gestor1")
        assert "amount" in caught.value.fields
    h.record_diagnosis(unit_id, True, "", "gestor1")
    h.change_stage(unit_id, "formular_plan", 1, "gestor1")
    plan = h.save_plan(unit_id, content_to_mapping(content()), 0, "gestor1")
    h.change_stage(unit_id, "enviar_aprobacion", 2, "gestor1")
    plan = h.decide_plan(unit_id, "submit", plan.revision, "gestor1")
    h.decide_plan(unit_id, "approve", plan.revision, "coord1", role="coordinator")
    with pytest.raises(GuardFailed) as no_amount:
        h.change_stage(unit_id, "iniciar_capitalizacion", 3, "coord1")
    assert no_amount.value.guard == "fuentes_definidas"
    assert no_amount.value.seen == {"capitalizacion.monto": 0}
    h.set_capitalization(unit_id, "2500000", "gestor1")
    moved = h.change_stage(unit_id, "iniciar_capitalizacion", 3, "coord1")
    assert (moved["stage"], moved["capitalization"]["amount"]) == ("capitalizacion", "2500000")


def test_closing_needs_a_reason_and_keeps_it() -> None:
    h, store, _ = handlers()
    doc = register(h)
    with pytest.raises(vocabulary.InvalidArgument) as caught:
        h.change_stage(doc["_id"], "cerrar", 1, "gestor1", reason="  ")
    assert "reason" in caught.value.fields
    closed = h.change_stage(doc["_id"], "cerrar", 1, "gestor1", reason="La familia se mudó")
    assert (closed["stage"], closed["closing_reason"], closed["version"]) == ("cerrada", "La familia se mudó", 2)
    assert h.allowed_transitions(closed) == []
    assert store.events(doc["_id"])[-1] == "stage_changed"


def test_a_stale_version_changes_nothing() -> None:
    h, store, _ = handlers()
    doc = register(h)
    h.record_diagnosis(doc["_id"], True, "", "gestor1")
    h.change_stage(doc["_id"], "formular_plan", 1, "gestor1")
    writes = store.writes
    with pytest.raises(StaleVersion):
        h.change_stage(doc["_id"], "cerrar", 1, "gestor2", reason="x")
    assert store.writes == writes
    assert h.unit(doc["_id"])["stage"] == "formulacion_plan"


def test_implementation_waits_for_an_approved_viable_plan_approved_by_someone_else() -> None:
    h, store, _ = handlers()
    unit_id = register(h)["_id"]
    h.record_diagnosis(unit_id, True, "", "gestor1")
    h.change_stage(unit_id, "formular_plan", 1, "gestor1")
    with pytest.raises(GuardFailed) as no_plan:
        h.change_stage(unit_id, "enviar_aprobacion", 2, "gestor1")
    assert no_plan.value.guard == "plan_formulado"
    plan = h.save_plan(unit_id, content_to_mapping(content()), 0, "gestor1")
    h.change_stage(unit_id, "enviar_aprobacion", 2, "gestor1")  # a formulated plan (a draft) suffices
    plan = h.decide_plan(unit_id, "submit", plan.revision, "gestor1")
    with pytest.raises(GuardFailed):
        h.change_stage(unit_id, "iniciar_implementacion", 3, "coord1")
    with pytest.raises(vocabulary.FailedPrecondition):
        h.decide_plan(unit_id, "approve", plan.revision, "gestor1")  # four eyes
    approved = h.decide_plan(unit_id, "approve", plan.revision, "coord1", role="coordinator")
    assert str(approved.status) == "approved"
    assert store.events(unit_id)[-1] == "action_plan_approved"
    # The approval gave the co-signature entering Aprobación asked of coordination.
    (task,) = h.flow.engine.tasks(unit_id)
    assert (task.kind, task.done_by, task.requested_by) == ("cosignature", "coord1", "gestor1")
    moved = h.change_stage(unit_id, "iniciar_implementacion", 3, "coord1")
    assert moved["stage"] == "implementacion"


def test_a_plan_saved_on_a_stale_revision_is_refused() -> None:
    h, _, _ = handlers()
    unit_id = register(h)["_id"]
    first = h.save_plan(unit_id, {}, 0, "gestor1")
    h.save_plan(unit_id, content_to_mapping(content()), first.revision, "gestor1")
    with pytest.raises(StaleVersion):
        h.save_plan(unit_id, {}, first.revision, "gestor2")
    assert h.plan(unit_id).content.finance is not None


def _followup_acta(acta_id: str, unit_id: str, **values: Any) -> FollowUpActa:
    base = {"fecha": "2026-11-21", "unidad_productiva": unit_id, "opera": "si", "ventas_mes": 850000, "empleos": 2}
    return FollowUpActa(acta_id, "seguimiento_unidad_productiva@2", {**base, **values}, "gestor1", "2026-11-21")


def test_a_followup_is_attached_once_however_often_the_event_arrives() -> None:
    h, store, actas = handlers()
    unit_id = register(h)["_id"]
    actas.actas["acta-1"] = _followup_acta("acta-1", unit_id, problemas="Falta capital de trabajo")
    assert h.on_acta_sealed("acta-1", "seguimiento_unidad_productiva@2") == "recorded"
    writes = store.writes
    assert h.on_acta_sealed("acta-1", "seguimiento_unidad_productiva@2") == "duplicate"
    assert store.writes == writes
    followups = h.unit(unit_id)["followups"]
    assert len(followups) == 1
    assert followups[0] == {
        "acta_id": "acta-1",
        "visited_at": "2026-11-21",
        "operating": True,
        "monthly_sales": "850000",
        "jobs": 2,
        "problems": "Falta capital de trabajo",
        "gestor_id": "gestor1",
    }
    assert store.events(unit_id).count("followup_recorded") == 1


def test_other_actas_and_unknown_units_are_ignored() -> None:
    h, _, actas = handlers()
    unit_id = register(h)["_id"]
    actas.actas["a2"] = _followup_acta("a2", "no-existe")
    assert h.on_acta_sealed("visita", "visita_domiciliaria@1") == "ignored"
    assert h.on_acta_sealed("a2", "seguimiento_unidad_productiva@2") == "unknown_unit"
    assert h.unit(unit_id)["followups"] == []


def test_graduation_reads_the_last_followup() -> None:
    h, _, actas = handlers()
    unit_id = register(h)["_id"]
    h.flow.engine.migrate(unit_id, 1, {"diagnostico": "seguimiento"}, "coord1", 1)
    assert h.flow.project(unit_id)["stage"] == "seguimiento"
    actas.actas["a3"] = _followup_acta("a3", unit_id, opera="no", ventas_mes=0)
    h.on_acta_sealed("a3", "seguimiento_unidad_productiva@2")
    with pytest.raises(GuardFailed) as caught:
        h.change_stage(unit_id, "graduar", 2, "coord1", acta_id="a3")
    assert caught.value.guard == "opera_y_vende"
    assert caught.value.seen == {"seguimiento.operando": False, "seguimiento.ventas_mensuales": 0}
    actas.actas["a4"] = _followup_acta("a4", unit_id)
    h.on_acta_sealed("a4", "seguimiento_unidad_productiva@2")
    assert h.change_stage(unit_id, "graduar", 2, "coord1", acta_id="a4")["stage"] == "graduada"


def test_income_events_become_timeline_entries_of_the_household_and_each_owner() -> None:
    from services.beneficiaries.domain.timeline import entries_for_income_event

    payload = {
        "unit_id": "up-1",
        "unit_name": "Panadería",
        "family_id": "fam-1",
        "owner_ids": ["ana", "luis"],
        "to_stage": "implementacion",
        "to_stage_label": "Implementación",
        "occurred_at": "2026-11-21T10:00:00+00:00",
    }
    entries = entries_for_income_event("stage_changed", "ev-1", payload)
    assert [(e.subject_type, e.subject_id) for e in entries] == [
        ("family", "fam-1"),
        ("beneficiary", "ana"),
        ("beneficiary", "luis"),
    ]
    assert entries[0].summary == "La unidad productiva Panadería pasa a la etapa Implementación"
    assert {e.id for e in entries} == {"family:fam-1:ev-1", "beneficiary:ana:ev-1", "beneficiary:luis:ev-1"}
    assert entries_for_income_event("something_else", "ev-2", payload) == []


def test_loan_events_become_timeline_entries_with_the_amount_and_ageing_stays_out() -> None:
    from services.beneficiaries.domain.timeline import entries_for_income_event

    base = {
        "loan_id": "l-1", "unit_id": "up-1", "family_id": "fam-1", "borrower_id": "ana", "owner_ids": ["ana"],
        "community_id": "c-1", "occurred_at": "2026-11-21T10:00:00+00:00",
    }  # fmt: skip
    disbursed = entries_for_income_event("loan_disbursed", "ev-1", {**base, "amount": "2500000"})
    assert [(e.subject_id, e.summary) for e in disbursed] == [
        ("fam-1", "Desembolso de un crédito: $ 2.500.000"),
        ("ana", "Desembolso de un crédito: $ 2.500.000"),
    ]
    paid = entries_for_income_event("loan_repayment_recorded", "ev-2", {**base, "amount": "104166.5"})
    assert paid[0].summary == "Pago de un crédito: $ 104.166"  # whole pesos, half to even
    off = entries_for_income_event("loan_written_off", "ev-3", {**base, "reason": "Negocio cerrado"})
    assert off[0].summary == "Crédito castigado: Negocio cerrado"
    assert entries_for_income_event("loan_became_overdue", "ev-4", base) == []

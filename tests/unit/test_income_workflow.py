"""The income service on the workflow engine: the adapters (events under their
contracts, notifications as tasks for the role, events without contract refused
on upload) and the stage projection's recovery after a crash between the
engine's write and the UP document's."""

from __future__ import annotations

from typing import Any

import pytest

from crm_platform import errors as vocabulary
from crm_platform.workflow.errors import DefinitionInvalid
from crm_platform.workflow.examples import example
from services.income.service_layer.handlers import IncomeHandlers
from tests.unit.income_fakes import handlers


def register(h: IncomeHandlers) -> str:
    doc = h.register(
        name="Tienda Mixta", family_id="fam-1", owner_ids=["ana"], community_id="com-1",
        sector="agroindustria", kind="emprendimiento", by="gestor1",
    )  # fmt: skip
    return str(doc["_id"])


def test_an_event_without_an_income_contract_is_refused_on_upload_with_its_place() -> None:
    h, _, _ = handlers()
    source = example("gi_unidad_productiva").replace("{event: stage_changed}", "{event: up_celebrada}", 1)
    with pytest.raises(DefinitionInvalid) as caught:
        h.flow.engine.check(source)
    [(place, reason)] = list(caught.value.fields.items())
    assert place.startswith("transitions.iniciar_implementacion")
    assert "up_celebrada" in reason and "contrato" in reason
    assert h.flow.engine.check(example("gi_unidad_productiva")).component == "gi.unidad_productiva"


def test_entering_follow_up_creates_the_visit_task_and_a_notice_for_the_gestor_once() -> None:
    h, store, _ = handlers()
    unit_id = register(h)
    engine = h.flow.engine
    engine.migrate(unit_id, 1, {"diagnostico": "fortalecimiento"}, "coord1", 1)
    h.flow.project(unit_id)
    moved = h.change_stage(unit_id, "iniciar_seguimiento", 2, "gestor1")
    assert moved["stage"] == "seguimiento"
    flow_store: Any = engine._store
    tasks = {t.kind: t for t in flow_store.tasks(unit_id)}
    assert set(tasks) == {"follow_up", "notice"}
    assert tasks["notice"].assignee_role == "gestor" and "seguimiento" in tasks["notice"].title
    assert (tasks["follow_up"].due_at - tasks["follow_up"].created_at).days == 30
    assert flow_store.pending_actions(unit_id) == []
    # The definition's emit_event stage_changed is the projection's event: one, not two.
    assert store.events(unit_id).count("stage_changed") == 2  # the migration and the transition


def test_a_crash_between_the_engine_and_the_projection_is_repaired_on_the_next_read() -> None:
    h, store, _ = handlers()
    unit_id = register(h)
    h.record_diagnosis(unit_id, True, "", "gestor1")
    project = h.flow.project

    def crash(unit_id: str, token: str = "") -> dict[str, Any]:
        raise SystemExit("killed after the engine's write")

    h.flow.project = crash  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        h.change_stage(unit_id, "formular_plan", 1, "gestor1")
    h.flow.project = project  # type: ignore[method-assign]
    raw = store.docs[unit_id]
    assert (raw["stage"], len(raw["workflow_pending"])) == ("diagnostico", 1)  # the marker says "look again"
    assert h.flow.engine.get(unit_id).state == "formulacion_plan"
    # The step clock moves a minute per reading: the marker is older than SETTLE now.
    repaired = h.unit(unit_id)
    assert (repaired["stage"], repaired["version"], repaired["workflow_pending"]) == ("formulacion_plan", 2, [])
    assert [e["to_stage"] for e in repaired["history"]] == ["formulacion_plan"]
    writes = store.writes
    assert h.unit(unit_id)["stage"] == "formulacion_plan" and store.writes == writes  # nothing more to do
    assert store.events(unit_id).count("stage_changed") == 1
    with pytest.raises(vocabulary.Aborted):  # a caller who saw the old stage is told to reload
        h.change_stage(unit_id, "cerrar", 1, "gestor2", reason="x")


def test_the_engine_refuses_a_stale_caller_even_past_the_document_check() -> None:
    h, _, _ = handlers()
    unit_id = register(h)
    h.record_diagnosis(unit_id, True, "", "gestor1")
    stale = h.unit(unit_id)
    h.change_stage(unit_id, "formular_plan", 1, "gestor1")
    with pytest.raises(vocabulary.Aborted) as caught:
        h.flow.move(stale, "cerrar", {}, "gestor2", "motivo", "")
    assert "actual: 2" in caught.value.fields["expected_version"]
    doc = h.unit(unit_id)
    assert (doc["stage"], doc["version"], len(doc["history"])) == ("formulacion_plan", 2, 1)

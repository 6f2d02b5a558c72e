"""Co-signatures (``require_cosignature``, ``crm_platform.workflow.cosign``): what they
hold back, from when, who may give them, and what a definition may ask."""

from __future__ import annotations

from typing import Any

import pytest

from crm_platform.errors import FailedPrecondition, NotFound, PermissionDenied
from crm_platform.workflow import DefinitionInvalid
from crm_platform.workflow.cosign import CosignaturePending
from crm_platform.workflow.definition import load_yaml
from crm_platform.workflow.examples import example
from crm_platform.workflow.model import Instance
from tests.unit.workflow_fakes import GI, Rig

APPROVED = {"plan": {"version": 1, "aprobado": True, "viable": True}}


def sent_for_approval(rig: Rig, up: str = "up-1") -> Instance:
    engine = rig.seeded()
    engine.start(GI, up, {"diagnostico": {"completo": True}}, "gestor-1")
    engine.transition(up, "formular_plan", "gestor-1", None, 1)
    return engine.transition(up, "enviar_aprobacion", "gestor-1", {"plan": {"version": 1}}, 2)


def test_a_missing_cosignature_holds_back_the_transitions_it_names_even_before_its_task_exists() -> None:
    rig = Rig()
    at = sent_for_approval(rig)
    assert rig.store.tasks("up-1") == []  # the action has not run: its request in the outbox is enough
    with pytest.raises(CosignaturePending) as held:
        rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, at.version)
    assert held.value.fields == {"guard": "firma_conjunta", "cosignature": "Aprobar el plan de acción"}
    assert "coordinator" in str(held.value)
    assert rig.engine.get("up-1").state == "aprobacion"  # nothing written
    rig.runner.run("up-1")
    with pytest.raises(CosignaturePending):
        rig.engine.transition(
            "up-1", "iniciar_capitalizacion", "coord", {**APPROVED, "capitalizacion": {"monto": 9}}, at.version
        )
    # A return is not held back: the definition names only the forward moves.
    back = rig.engine.transition("up-1", "devolver_plan", "coord", None, at.version, reason="Ajustar costos")
    assert back.state == "formulacion_plan"


def test_a_cosignature_is_given_once_by_another_person_of_its_role() -> None:
    rig = Rig()
    at = sent_for_approval(rig)
    rig.runner.run("up-1")
    task_id = f"up-1:{at.seq}:0"
    with pytest.raises(PermissionDenied, match="coordinator"):
        rig.engine.cosign("up-1", task_id, "gestor-2", "gestor")
    with pytest.raises(FailedPrecondition, match="no puede dar también"):
        rig.engine.cosign("up-1", task_id, "gestor-1", "coordinator")  # the requester, even with the role
    with pytest.raises(NotFound):
        rig.engine.cosign("up-2", task_id, "coord", "coordinator")  # another instance's task
    signed = rig.engine.cosign("up-1", task_id, "coord", "coordinator")
    assert (signed.done_by, signed.done_at) == ("coord", rig.clock.now())
    assert rig.engine.cosign("up-1", task_id, "coord", "coordinator") == signed  # a repeat changes nothing
    with pytest.raises(FailedPrecondition, match="ya fue dada por coord"):
        rig.engine.cosign("up-1", task_id, "coord-2", "coordinator")
    assert rig.engine.open_cosignatures("up-1") == []
    moved = rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, at.version)
    assert moved.state == "implementacion"


def test_a_request_left_behind_by_a_return_does_not_hold_back_the_next_entry_which_asks_again() -> None:
    rig = Rig()
    at = sent_for_approval(rig)
    rig.runner.run("up-1")
    at = rig.engine.transition("up-1", "devolver_plan", "coord", None, at.version, reason="Ajustar")
    at = rig.engine.transition("up-1", "enviar_aprobacion", "gestor-1", None, at.version)
    rig.runner.run("up-1")
    (waiting,) = rig.engine.open_cosignatures("up-1")  # the new entry's request only
    assert waiting.id == f"up-1:{at.seq}:0"
    rig.engine.cosign("up-1", waiting.id, "coord", "coordinator")
    assert rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, at.version).version


def test_a_task_that_is_not_a_cosignature_cannot_be_signed() -> None:
    rig = Rig()
    at = sent_for_approval(rig)
    rig.runner.run("up-1")
    rig.engine.cosign("up-1", f"up-1:{at.seq}:0", "coord", "coordinator")
    at = rig.engine.transition("up-1", "iniciar_implementacion", "coord", APPROVED, at.version)
    at = rig.engine.transition("up-1", "fortalecer", "gestor-1", None, at.version, acta_id="acta-1")
    at = rig.engine.transition("up-1", "iniciar_seguimiento", "gestor-1", None, at.version)
    rig.runner.run("up-1")
    with pytest.raises(FailedPrecondition, match="no es una firma conjunta"):
        rig.engine.cosign("up-1", f"up-1:{at.seq}:0", "gestor-2", "gestor")


def _with_cosignature(transition: str, params: dict[str, Any]) -> dict[str, Any]:
    document = load_yaml(example("gi_unidad_productiva"))
    for t in document["transitions"]:
        if t["name"] == transition:
            t["actions"] = [{"name": "require_cosignature", "params": {"role": "coordinator", **params}}]
    return dict(document)


def test_a_definition_is_refused_when_a_cosignature_could_hold_back_nothing() -> None:
    rig = Rig()
    with pytest.raises(DefinitionInvalid) as final:
        rig.engine.check(_with_cosignature("graduar", {}))  # into Graduada, a final state
    assert any("estado final" in why for why in final.value.fields.values()), final.value.fields
    with pytest.raises(DefinitionInvalid) as unknown:
        rig.engine.check(_with_cosignature("iniciar_seguimiento", {"blocks": ["fortalecer"]}))
    places = {k: v for k, v in unknown.value.fields.items() if "fortalecer" in v}
    assert places and all(k.startswith("transitions.iniciar_seguimiento") for k in places), unknown.value.fields
    with pytest.raises(DefinitionInvalid):
        rig.engine.check(_with_cosignature("iniciar_seguimiento", {"blocks": "graduar"}))
    assert rig.engine.check(_with_cosignature("iniciar_seguimiento", {"blocks": ["graduar"]}))

"""Definitions of the workflow engine: what is refused on upload (with the place,
the field and a Spanish reason), CEL guards and the values they saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm_platform.workflow import DefinitionInvalid
from crm_platform.workflow.guards import Guard, referenced_paths
from tests.unit.workflow_fakes import Rig


def small(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "component": "demo.caso",
        "initial": "abierto",
        "states": {"abierto": {"label": "Abierto", "due_days": 5}, "cerrado": {"label": "Cerrado", "terminal": True}},
        "transitions": [
            {
                "name": "cerrar",
                "label": "Cerrar",
                "from": "abierto",
                "to": "cerrado",
                "guards": [{"name": "listo", "expr": "caso.listo", "message": "El caso no está listo."}],
            }
        ],
    }
    doc.update(overrides)
    return doc


def refused(doc: dict[str, Any] | str) -> dict[str, str]:
    with pytest.raises(DefinitionInvalid) as err:
        Rig().engine.publish(doc, "coordinadora")
    return err.value.fields


def test_the_seeded_gi_definition_is_accepted_with_its_states_in_order() -> None:
    definition = Rig().seeded().definition("gi.unidad_productiva")
    assert definition.version == 1
    assert definition.initial == "diagnostico"
    assert {s for s, st in definition.states.items() if st.terminal} == {"graduada", "cerrada"}
    assert definition.transitions["cerrar"].requires_reason
    assert definition.states["seguimiento"].due_days == 30


def test_a_guard_that_does_not_compile_is_refused_with_its_place() -> None:
    doc = small()
    doc["transitions"][0]["guards"][0]["expr"] = "caso.listo &&"
    fields = refused(doc)
    assert list(fields) == ["transitions.cerrar.guards.listo.expr"]
    assert "no compila" in fields["transitions.cerrar.guards.listo.expr"]


def test_an_unknown_state_is_refused_naming_the_transition_and_field() -> None:
    doc = small()
    doc["transitions"][0]["to"] = "archivado"
    fields = refused(doc)
    assert fields["transitions.cerrar.to"] == "el estado 'archivado' no existe"
    assert "states.cerrado" in fields  # and so nothing reaches it any more


def test_an_unreachable_state_is_refused() -> None:
    doc = small()
    doc["states"]["olvidado"] = {"label": "Olvidado"}
    assert refused(doc) == {"states.olvidado": "ningún camino desde 'abierto' llega a este estado"}


def test_a_transition_out_of_a_terminal_state_is_refused() -> None:
    doc = small()
    doc["transitions"].append({"name": "reabrir", "label": "Reabrir", "from": "cerrado", "to": "abierto"})
    assert "es un estado final" in refused(doc)["transitions.reabrir.from"]


def test_an_unknown_action_and_bad_parameters_are_refused() -> None:
    doc = small()
    doc["transitions"][0]["actions"] = [
        {"name": "enviar_fax", "params": {}},
        {"name": "create_task", "params": {"title": "Visita", "role": "gestor", "due_days": 0}},
    ]
    fields = refused(doc)
    assert fields["transitions.cerrar.actions.1.name"] == "la acción 'enviar_fax' no existe"
    assert "due_days" in fields["transitions.cerrar.actions.2.params"]


def test_invalid_yaml_is_refused_with_its_line() -> None:
    fields = refused("component: x\nstates: [\n")
    assert "línea" in fields["documento"]


def test_publishing_adds_a_version_and_keeps_the_old_one() -> None:
    rig = Rig()
    first = rig.engine.publish(small(), "coordinadora")
    doc = small()
    doc["states"]["abierto"]["due_days"] = 10
    second = rig.engine.publish(doc, "coordinadora")
    assert (first.version, second.version) == (1, 2)
    assert rig.engine.definition("demo.caso", 1).states["abierto"].due_days == 5
    assert rig.engine.definition("demo.caso").version == 2


def test_a_guard_reports_the_values_it_saw_and_fails_on_missing_data() -> None:
    guard = Guard.compile("g", 'plan.aprobado && plan.viable && nombre.startsWith("U")', "m")
    assert guard.paths == ["plan.aprobado", "plan.viable", "nombre"]
    assert guard.check({"plan": {"aprobado": True, "viable": True}, "nombre": "UP"}) == (
        True,
        {"plan.aprobado": True, "plan.viable": True, "nombre": "UP"},
    )
    passed, seen = guard.check({"plan": {"aprobado": True}})
    assert not passed and seen["plan.viable"] is None


def test_a_guard_that_is_not_boolean_or_errors_does_not_pass() -> None:
    assert not Guard.compile("g", "monto + 1", "m").check({"monto": 1})[0]
    assert not Guard.compile("g", "1 / monto == 1", "m").check({"monto": 0})[0]


def test_guards_are_cel_never_python(tmp_path: Path) -> None:
    # Python syntax that is not CEL is refused on upload...
    doc = small()
    doc["transitions"][0]["guards"][0]["expr"] = "[x for x in caso]"
    assert "transitions.cerrar.guards.listo.expr" in refused(doc)
    # ...and what parses as CEL calls no Python: no such function, the guard is false.
    marker = tmp_path / "touched"
    guard = Guard.compile("g", f"__import__('pathlib').Path('{marker}').touch() == null", "m")
    assert guard.check({})[0] is False
    assert not marker.exists()


def test_string_literals_do_not_count_as_paths() -> None:
    assert referenced_paths('estado == "plan.aprobado" && x.y > 1') == ["estado", "x.y"]


def test_a_component_name_and_values_that_are_not_json_are_refused() -> None:
    fields = refused(small(component="GI Unidad"))
    assert list(fields) == ["documento.component"]
    fields = refused(
        "component: demo.caso\ncreado: 2026-01-05\n" + "initial: a\nstates: {a: {label: A}}\ntransitions: []\n"
    )
    assert list(fields) == ["documento"] and "solo admite" in fields["documento"]

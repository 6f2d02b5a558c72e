"""End to end through the HTTP gateway and the real income service: the workflow
definitions with their state graph, a definition checked (400 naming each
problem's place) and published (coordinators only; running UPs stay on their
version, a migration moves them), the facts the guards read (diagnosis,
capitalisation amount), and the tasks the actions create."""

from __future__ import annotations

from typing import Any

import httpx

from crm_platform.workflow.examples import example
from services.income.domain.plan_io import content_to_mapping
from tests.e2e.test_gateway_income import API, UNITS, new_unit
from tests.unit.income_builders import content

FLOWS = f"{API}/flujos"
GI = "gi.unidad_productiva"


def test_definitions_show_their_graph_and_a_bad_upload_names_the_place(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    coordinator, gestor = as_role["coordinator"], as_role["gestor"]
    listed = http.get(FLOWS, headers=coordinator)
    assert listed.status_code == 200, listed.text
    gi = next(d for d in listed.json()["definitions"] if d["component"] == GI)
    assert gi["svg"].startswith("<svg") and "Diagnóstico" in gi["svg"]
    formular = next(t for t in gi["transitions"] if t["name"] == "formular_plan")
    assert (formular["sources"], formular["target"]) == (["diagnostico"], "formulacion_plan")
    assert [g["name"] for g in formular["guards"]] == ["diagnostico_completo"]
    assert http.get(FLOWS, headers=gestor).status_code == 403

    broken = example("gi_unidad_productiva").replace(
        'expr: "plan.aprobado && plan.viable"', 'expr: "plan.aprobado &&"', 1
    )
    checked = http.post(f"{FLOWS}/revision", headers=coordinator, json={"yaml": broken})
    assert checked.status_code == 400, checked.text
    places = checked.json()["fields"]
    assert any(k.startswith("transitions.iniciar_implementacion") for k in places), places
    unknown = example("gi_unidad_productiva").replace("{name: notify,", "{name: llamar,", 1)
    refused = http.post(FLOWS, headers=coordinator, json={"yaml": unknown})
    assert refused.status_code == 400 and any("iniciar_seguimiento" in k for k in refused.json()["fields"])
    preview = http.post(f"{FLOWS}/revision", headers=coordinator, json={"yaml": example("gi_unidad_productiva")})
    assert preview.status_code == 200 and preview.json()["version"] == 0 and "<svg" in preview.json()["svg"]
    assert http.post(f"{FLOWS}/revision", headers=gestor, json={"yaml": broken}).status_code == 403
    assert http.get(f"{FLOWS}/{GI}", headers=coordinator, params={"version": 999}).status_code == 404


def test_a_published_version_leaves_running_units_until_a_coordinator_migrates_them(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    coordinator, gestor = as_role["coordinator"], as_role["gestor"]
    unit, _ = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}"
    on = unit["definition_version"]
    assert on >= 1
    relabelled = example("gi_unidad_productiva").replace(
        "label: Unidad productiva (Generación de Ingresos)", "label: Unidad productiva (G.I.)", 1
    )
    assert http.post(FLOWS, headers=gestor, json={"yaml": relabelled}).status_code == 403
    published = http.post(FLOWS, headers=coordinator, json={"yaml": relabelled})
    assert published.status_code == 201, published.text
    new_version = published.json()["version"]
    assert new_version > on and new_version in published.json()["versions"]
    assert http.get(path, headers=gestor).json()["definition_version"] == on

    stale = http.post(f"{path}/migracion", headers=coordinator, json={"to_version": new_version, "expected_version": 9})
    assert stale.status_code == 409
    bad_state = http.post(
        f"{path}/migracion",
        headers=coordinator,
        json={"to_version": new_version, "expected_version": 1, "state_map": {"diagnostico": "nada"}},
    )
    assert bad_state.status_code == 400 and "state_map" in bad_state.json()["fields"]
    moved = http.post(f"{path}/migracion", headers=coordinator, json={"to_version": new_version, "expected_version": 1})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["definition_version"], moved.json()["version"], moved.json()["stage"]) == (
        new_version,
        2,
        "diagnostico",
    )
    assert moved.json()["history"][-1]["transition"] == "migration"
    assert (
        http.post(f"{path}/migracion", headers=gestor, json={"to_version": on, "expected_version": 2}).status_code
        == 403
    )


def test_the_guards_read_the_recorded_facts_and_the_actions_create_tasks(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    unit, _ = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}"
    bad_amount = http.post(f"{path}/capitalizacion", headers=gestor, json={"amount": "12,5"})
    assert bad_amount.status_code == 400 and "amount" in bad_amount.json()["fields"]
    amount = http.post(f"{path}/capitalizacion", headers=gestor, json={"amount": "2500000"})
    assert amount.status_code == 200 and amount.json()["capitalization_amount"] == "2500000"
    refused = http.post(f"{path}/etapa", headers=gestor, json={"transition": "formular_plan", "expected_version": 1})
    assert refused.status_code == 409 and refused.json()["fields"]["guard"] == "diagnostico_completo"
    assert http.post(f"{path}/diagnostico", headers=gestor, json={"complete": True}).status_code == 200
    moved = http.post(f"{path}/etapa", headers=gestor, json={"transition": "formular_plan", "expected_version": 1})
    assert moved.status_code == 200 and moved.json()["stage"] == "formulacion_plan", moved.text
    assert http.get(f"{path}/tareas", headers=gestor).json()["tasks"] == []
    # Sending the plan to approval asks the coordinator for a co-signature: a task, after the commit.
    assert http.put(f"{path}/plan", headers=gestor, json={"content": content_to_mapping(content())}).status_code == 200
    sent = http.post(f"{path}/etapa", headers=gestor, json={"transition": "enviar_aprobacion", "expected_version": 2})
    assert sent.status_code == 200 and sent.json()["stage"] == "aprobacion", sent.text
    tasks = http.get(f"{path}/tareas", headers=gestor)
    assert tasks.status_code == 200, tasks.text
    assert [(t["kind"], t["assignee_role"], t["title"]) for t in tasks.json()["tasks"]] == [
        ("cosignature", "coordinator", "Aprobar el plan de acción")
    ]
    assert http.get(f"{path}/tareas", headers=as_role["auditor"]).status_code == 403
    overdue = http.get(f"{UNITS}-vencidas", headers=gestor)
    assert overdue.status_code == 200 and unit["id"] not in [i["unit_id"] for i in overdue.json()["instances"]]
    assert http.get(f"{UNITS}/no-existe/tareas", headers=gestor).status_code == 404


def test_a_cosignature_holds_the_up_back_until_a_coordinator_other_than_the_requester_signs(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator, admin = as_role["gestor"], as_role["coordinator"], as_role["admin"]
    unit, _ = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}"
    assert http.post(f"{path}/diagnostico", headers=gestor, json={"complete": True}).status_code == 200
    assert http.post(f"{path}/etapa", headers=gestor, json={"transition": "formular_plan", "expected_version": 1})
    plan = http.put(f"{path}/plan", headers=gestor, json={"content": content_to_mapping(content())}).json()
    sent = http.post(f"{path}/etapa", headers=gestor, json={"transition": "enviar_aprobacion", "expected_version": 2})
    assert sent.status_code == 200, sent.text
    revision = http.post(f"{path}/plan/envio", headers=gestor, json={"expected_revision": plan["revision"]})
    # An admin approves the plan: not the coordination's co-signature the stage asks for.
    approved = http.post(
        f"{path}/plan/aprobacion", headers=admin, json={"expected_revision": revision.json()["revision"]}
    )
    assert approved.status_code == 200, approved.text
    held = http.post(
        f"{path}/etapa", headers=gestor, json={"transition": "iniciar_implementacion", "expected_version": 3}
    )
    assert held.status_code == 409 and held.json()["fields"]["guard"] == "firma_conjunta", held.text
    assert "Aprobar el plan de acción" in held.json()["error"]
    (task,) = http.get(f"{path}/tareas", headers=gestor).json()["tasks"]
    assert (task["kind"], task["requested_by"], task["done_by"]) == (
        "cosignature",
        sent.json()["history"][-1]["by"],
        "",
    )
    assert task["blocks"] == ["iniciar_implementacion", "iniciar_capitalizacion"]
    sign = f"{path}/tareas/{task['id']}/firma-conjunta"
    assert http.post(sign, headers=gestor).status_code == 403  # a gestor is not the role asked
    assert http.post(f"{path}/tareas/no-existe/firma-conjunta", headers=coordinator).status_code == 404
    signed = http.post(sign, headers=coordinator)
    assert signed.status_code == 200 and signed.json()["done_by"] and signed.json()["done_at"], signed.text
    moved = http.post(
        f"{path}/etapa", headers=gestor, json={"transition": "iniciar_implementacion", "expected_version": 3}
    )
    assert moved.status_code == 200 and moved.json()["stage"] == "implementacion", moved.text

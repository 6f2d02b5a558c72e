"""End to end through the HTTP gateway and the real income service: a productive
unit registered with its household's owners, its Fluye plan drafted, submitted and
approved by another person with the figures in the replies, its stages guarded
(409 naming the guard; a stale version is 409 too), trainings with compliance,
and a sealed follow-up acta attached to the unit once, even when redelivered."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from crm_platform.messaging import EventPublisher
from devstack.infra import Stack
from services.income.domain.plan_io import content_to_mapping
from services.income.domain.viability import ViabilityRule, assess
from tests.e2e.conftest import new_person
from tests.e2e.test_gateway_actas import png_b64
from tests.helpers import eventually
from tests.unit.income_builders import content, model

API = "/api/v1"
UNITS = f"{API}/unidades-productivas"


def household(http: httpx.Client, headers: dict[str, str], community_id: str) -> tuple[str, list[str]]:
    family = http.post(f"{API}/families", headers=headers, json={"community_id": community_id, "name": "Hogar Epieyú"})
    assert family.status_code == 201, family.text
    people = []
    for relationship in ("head", "spouse"):
        body = new_person(community_id, family_id=family.json()["id"], relationship=relationship)
        person = http.post(f"{API}/beneficiaries", headers=headers, json=body)
        assert person.status_code == 201, person.text
        people.append(person.json()["id"])
    return family.json()["id"], people


def unit_body(family_id: str, owners: list[str], community_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Panadería La Esperanza",
        "family_id": family_id,
        "owner_ids": owners,
        "community_id": community_id,
        "sector": "agroindustria",
        "kind": "emprendimiento",
    }
    body.update(overrides)
    return body


def new_unit(http: httpx.Client, headers: dict[str, str], community_id: str) -> tuple[dict[str, Any], list[str]]:
    family_id, owners = household(http, headers, community_id)
    created = http.post(UNITS, headers=headers, json=unit_body(family_id, owners, community_id))
    assert created.status_code == 201, created.text
    return created.json(), owners


def test_a_unit_is_registered_with_its_owners_and_bad_input_names_the_field(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    sectors = http.get(f"{UNITS}/sectores", headers=gestor).json()["sectors"]
    assert {"code": "agroindustria", "label": "Agroindustria y transformación de alimentos"} in sectors

    family_id, owners = household(http, gestor, community["id"])
    _, strangers = household(http, gestor, community["id"])
    unknown = http.post(UNITS, headers=gestor, json=unit_body(family_id, owners, community["id"], sector="mineria"))
    assert unknown.status_code == 400 and "catálogo" in unknown.json()["fields"]["sector"]
    elsewhere = http.post(UNITS, headers=gestor, json=unit_body(family_id, strangers[:1], community["id"]))
    assert elsewhere.status_code == 400 and "hogar" in elsewhere.json()["fields"]["owner_ids"]
    assert http.get(UNITS, headers=gestor, params={"community_id": community["id"]}).json()["units"] == []

    created = http.post(UNITS, headers=gestor, json=unit_body(family_id, owners, community["id"]))
    assert created.status_code == 201, created.text
    unit = created.json()
    assert (unit["stage"], unit["version"], unit["owner_ids"]) == ("diagnostico", 1, owners)
    assert unit["transitions"] == ["formular_plan", "cerrar"]
    options = {o["name"]: o for o in unit["transition_options"]}
    assert options["formular_plan"]["label"] == "Pasar a formulación del plan"
    assert options["cerrar"]["requires_reason"] is True and options["formular_plan"]["requires_reason"] is False
    listed = http.get(UNITS, headers=as_role["auditor"], params={"community_id": community["id"]}).json()["units"]
    assert [u["id"] for u in listed] == [unit["id"]]
    assert (
        http.post(
            UNITS, headers=as_role["psychosocial"], json=unit_body(family_id, owners, community["id"])
        ).status_code
        == 403
    )


def test_the_plan_is_submitted_and_approved_by_another_person_with_its_figures_and_the_stages_are_guarded(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    unit, _ = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}"
    early_plan = http.post(f"{path}/etapa", headers=gestor, json={"transition": "formular_plan", "expected_version": 1})
    assert early_plan.status_code == 409 and "diagnostico_completo" in early_plan.json()["error"]
    diagnosed = http.post(f"{path}/diagnostico", headers=gestor, json={"complete": True, "notes": "Horno propio"})
    assert diagnosed.status_code == 200 and diagnosed.json()["diagnosis_complete"] is True, diagnosed.text
    moved = http.post(f"{path}/etapa", headers=gestor, json={"transition": "formular_plan", "expected_version": 1})
    assert moved.status_code == 200 and moved.json()["stage"] == "formulacion_plan", moved.text

    # A guard that fails is a 409 that names it; nothing changes.
    refused = http.post(
        f"{path}/etapa", headers=gestor, json={"transition": "enviar_aprobacion", "expected_version": 2}
    )
    assert refused.status_code == 409 and "plan_formulado" in refused.json()["error"]
    # A stale version is a 409 too.
    stale = http.post(
        f"{path}/etapa", headers=gestor, json={"transition": "cerrar", "expected_version": 1, "reason": "x"}
    )
    assert stale.status_code == 409 and "versión" in stale.json()["error"]
    assert http.get(path, headers=gestor).json()["version"] == 2

    # A draft with a score out of range: 400 naming the field, nothing saved.
    plan_content = content_to_mapping(content())
    bad = {**plan_content, "profile": {"factors": [{"name": "Oficio", "score": 11, "target": 9}]}}
    rejected = http.put(f"{path}/plan", headers=gestor, json={"content": bad})
    assert rejected.status_code == 400 and any(k.startswith("profile.factors") for k in rejected.json()["fields"])
    assert http.get(f"{path}/plan", headers=gestor).status_code == 404

    draft = http.put(f"{path}/plan", headers=gestor, json={"content": plan_content})
    assert draft.status_code == 200, draft.text
    plan = draft.json()
    expected = assess(model(), ViabilityRule())
    assert (plan["version"], plan["status"], plan["missing"]) == (1, "draft", [])
    assert Decimal(plan["figures"]["npv"]) == expected.analysis.npv.quantize(Decimal("0.01"))
    assert plan["figures"]["payback_month"] == expected.analysis.payback_month
    assert plan["verdict"]["viable"] is True and plan["content"]["finance"]["investment"] == "3000000"

    submitted = http.post(f"{path}/plan/envio", headers=gestor, json={"expected_revision": plan["revision"]})
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted", submitted.text
    revision = submitted.json()["revision"]
    assert http.post(f"{path}/plan/aprobacion", headers=gestor, json={"expected_revision": revision}).status_code == 403
    stale_plan = http.post(f"{path}/plan/aprobacion", headers=coordinator, json={"expected_revision": revision - 1})
    assert stale_plan.status_code == 409

    moved = http.post(f"{path}/etapa", headers=gestor, json={"transition": "enviar_aprobacion", "expected_version": 2})
    assert moved.status_code == 200 and moved.json()["stage"] == "aprobacion"
    early = http.post(
        f"{path}/etapa", headers=coordinator, json={"transition": "iniciar_implementacion", "expected_version": 3}
    )
    assert early.status_code == 409 and "plan_aprobado_y_viable" in early.json()["error"]

    approved = http.post(f"{path}/plan/aprobacion", headers=coordinator, json={"expected_revision": revision})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["verdict"]["label"] == "Viable"
    assert [h["to_status"] for h in approved.json()["history"]] == ["draft", "submitted", "approved"]
    started = http.post(
        f"{path}/etapa", headers=coordinator, json={"transition": "iniciar_implementacion", "expected_version": 3}
    )
    assert started.status_code == 200 and started.json()["stage"] == "implementacion", started.text
    assert [h["to_stage"] for h in started.json()["history"]] == ["formulacion_plan", "aprobacion", "implementacion"]

    # Editing the approved plan starts version 2; version 1 stays approved. A rate
    # sent as a JSON number is read as written (0.15), not as a binary float.
    edited = {**plan_content, "finance": {**plan_content["finance"], "annual_discount_rate": 0.15}}
    revised = http.put(
        f"{path}/plan", headers=gestor, json={"content": edited, "expected_revision": approved.json()["revision"]}
    )
    assert revised.status_code == 200, revised.text
    assert revised.json()["content"]["finance"]["annual_discount_rate"] == "0.15"
    assert (revised.json()["version"], revised.json()["status"], revised.json()["based_on"]) == (2, "draft", 1)
    versions = http.get(f"{path}/plan/versiones", headers=as_role["auditor"]).json()["plans"]
    assert [(p["version"], p["status"]) for p in versions] == [(1, "approved"), (2, "draft")]

    # The household's and the owners' timelines tell the unit's story.
    def told(subject: str) -> list[str] | None:
        entries = http.get(f"{API}/{subject}/timeline", headers=as_role["auditor"]).json()["entries"]
        kinds = [e["kind"] for e in entries if e["source_service"] == "income" and e["source_id"] == unit["id"]]
        return kinds if len(kinds) == 5 else None

    expected_kinds = {"productive_unit_registered", "stage_changed", "action_plan_approved"}
    for subject in (f"families/{unit['family_id']}", f"beneficiaries/{unit['owner_ids'][1]}"):
        kinds = eventually(functools.partial(told, subject), timeout=30)
        assert kinds is not None and set(kinds) == expected_kinds, subject


def test_trainings_record_attendance_and_compliance_per_person(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    unit, (ana, luis) = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}/capacitaciones"
    for present in ((True, True), (True, False), (True, False)):
        body = {
            "topic": "Costos y precios",
            "attendance": [
                {"beneficiary_id": ana, "present": present[0]},
                {"beneficiary_id": luis, "present": present[1]},
            ],
        }
        assert http.post(path, headers=gestor, json=body).status_code == 201
    unknown = http.post(
        path, headers=gestor, json={"topic": "x", "attendance": [{"beneficiary_id": "nadie", "present": True}]}
    )
    assert unknown.status_code == 400 and "attendance" in unknown.json()["fields"]
    found = http.get(path, headers=as_role["auditor"]).json()
    assert len(found["trainings"]) == 3
    bands = {c["beneficiary_id"]: (c["attended"], c["sessions"], c["band"]) for c in found["compliance"]}
    assert bands == {ana: (3, 3, "cumple"), luis: (1, 3, "no_cumple")}


def seal_followup(http: httpx.Client, gestor: dict[str, str], unit_id: str, owner: str) -> dict[str, Any]:
    """A version 2 follow-up acta of ``unit_id``, signed by its owner and the gestor, sealed."""
    values = {
        "fecha": "2026-11-21",
        "lugar": "Nuevo Roche",
        "unidad_productiva": unit_id,
        "titular": owner,
        "opera": "si",
        "ventas_mes": 1250000,
        "empleos": 2,
        "problemas": "Falta capital de trabajo",
        "firmantes": [owner],
    }
    body = {"template_key": "seguimiento_unidad_productiva@2", "values": values}
    draft = http.post(f"{API}/actas", headers=gestor, json=body)
    assert draft.status_code == 201, draft.text
    acta_id = draft.json()["id"]
    signature = {"signer_id": owner, "method": "handwritten", "handwritten_png_base64": png_b64()}
    signed = http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json=signature)
    assert signed.status_code == 200, signed.text
    by_gestor = http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json={"method": "electronic"})
    assert by_gestor.status_code == 200, by_gestor.text
    sealed = http.post(f"{API}/actas/{acta_id}/seal", headers=gestor)
    assert sealed.status_code == 200, sealed.text
    return dict(sealed.json())


def followups(http: httpx.Client, headers: dict[str, str], unit_id: str) -> list[dict[str, Any]] | None:
    return http.get(f"{UNITS}/{unit_id}", headers=headers).json()["followups"] or None


def redeliver(stack: Stack, acta: dict[str, Any]) -> None:
    """The same acta_sealed again, as a broker redelivery or a republished outbox entry."""
    now = datetime.now(UTC).isoformat()
    publisher = EventPublisher(stack.env["AMQP_URI"], "actas")
    try:
        payload = {
            "acta_id": acta["id"],
            "title": acta["title"],
            "template_key": acta["template_key"],
            "sealed_at": now,
            "captured_at": now,
            "gestor_id": acta["gestor_id"],
            "community_id": acta["community_id"],
            "content_hash": acta["content_hash"],
            "amends": "",
            "source": "desk",
            "participants": [],
            "family_ids": [],
        }
        publisher.publish("acta_sealed", payload, event_id=uuid.uuid4().hex)
    finally:
        publisher.close()


def test_a_sealed_followup_acta_is_attached_to_its_unit_once(
    stack: Stack, http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    unit, (owner, _) = new_unit(http, gestor, community["id"])
    acta = seal_followup(http, gestor, unit["id"], owner)
    attached = eventually(lambda: followups(http, gestor, unit["id"]), timeout=30)
    assert attached == [
        {
            "acta_id": acta["id"],
            "visited_at": "2026-11-21",
            "operating": True,
            "monthly_sales": "1250000",
            "jobs": 2,
            "problems": "Falta capital de trabajo",
            "gestor_id": acta["gestor_id"],
        }
    ]

    # Redelivered, then another unit's acta behind it on the same queue: once that
    # one is attached, the redelivery was handled, and it changed nothing.
    redeliver(stack, acta)
    other, (other_owner, _) = new_unit(http, gestor, community["id"])
    seal_followup(http, gestor, other["id"], other_owner)
    assert eventually(lambda: followups(http, gestor, other["id"]), timeout=30)
    assert len(followups(http, gestor, unit["id"]) or []) == 1


def test_counts_per_stage_and_the_list_pages_with_the_services_filters(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    gestor = as_role["gestor"]
    place = {"name": f"Tabaco {uuid.uuid4().hex[:4]}", "municipality": "Hatonuevo", "department": "La Guajira"}
    community = http.post(f"{API}/communities", headers=as_role["coordinator"], json=place).json()["id"]
    family_id, owners = household(http, gestor, community)
    made = []
    for sector, kind in (
        ("agroindustria", "emprendimiento"),
        ("comercio", "fortalecimiento"),
        ("comercio", "emprendimiento"),
    ):
        body = unit_body(family_id, owners[:1], community, sector=sector, kind=kind, name=f"UP {sector} {kind}")
        created = http.post(UNITS, headers=gestor, json=body)
        assert created.status_code == 201, created.text
        made.append(created.json())
    closed = http.post(
        f"{UNITS}/{made[2]['id']}/etapa", headers=gestor, json={"transition": "cerrar", "expected_version": 1,
                                                                  "reason": "El hogar se mudó"},
    )  # fmt: skip
    assert closed.status_code == 200, closed.text

    counts = http.get(f"{UNITS}/conteos", headers=as_role["auditor"], params={"community_id": community})
    assert counts.status_code == 200, counts.text
    stages = counts.json()["stages"]
    assert [s["stage"] for s in stages][:3] == ["diagnostico", "formulacion_plan", "aprobacion"] and len(stages) == 9
    assert {s["stage"]: s["count"] for s in stages if s["count"]} == {"diagnostico": 2, "cerrada": 1}
    assert counts.json()["total"] == 3
    trade = {"community_id": community, "sector": "comercio"}
    assert http.get(f"{UNITS}/conteos", headers=gestor, params=trade).json()["total"] == 2
    one = http.get(f"{UNITS}/conteos", headers=gestor, params={**trade, "kind": "emprendimiento", "stage": "cerrada"})
    assert one.json() == {"stages": [{"stage": "cerrada", "count": 1, "units": []}], "total": 1}
    cards = http.get(f"{UNITS}/conteos", headers=gestor, params={"community_id": community, "newest": 1}).json()
    newest = {s["stage"]: [u["id"] for u in s["units"]] for s in cards["stages"] if s["units"]}
    assert newest == {"diagnostico": [made[1]["id"]], "cerrada": [made[2]["id"]]}  # the board's cards, one call
    assert http.get(f"{UNITS}/conteos", headers=gestor, params={"newest": 51}).status_code == 400

    seen, token = [], ""
    for _ in range(3):
        page = http.get(UNITS, headers=gestor, params={**trade, "limit": 1, "page_token": token})
        assert page.status_code == 200, page.text
        seen += [u["id"] for u in page.json()["units"]]
        token = page.json()["next_page_token"]
        if not token:
            break
    assert seen == [made[2]["id"], made[1]["id"]]  # newest first, the sector filter in the service
    strong = http.get(UNITS, headers=gestor, params={"community_id": community, "kind": "fortalecimiento"})
    assert [u["id"] for u in strong.json()["units"]] == [made[1]["id"]]
    bad = http.get(UNITS, headers=gestor, params={"page_token": "no-es-una-pagina"})
    assert bad.status_code == 400 and "page_token" in bad.json()["fields"]
    assert http.get(f"{UNITS}/conteos", headers=gestor, params={"sector": "x" * 65}).status_code == 400

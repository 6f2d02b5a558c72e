"""End to end through the HTTP gateway: the desk flow of an acta, its document,
the public verification page, restricted templates, devices and error mapping."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from typing import Any

import httpx
from PIL import Image

from tests.e2e.conftest import new_person
from tests.helpers import eventually

API = "/api/v1"


def png_b64() -> str:
    out = io.BytesIO()
    Image.new("L", (100, 30), 255).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


def household(http: httpx.Client, headers: dict[str, str], community_id: str) -> tuple[str, str]:
    family = http.post(f"{API}/families", headers=headers, json={"community_id": community_id, "name": "Hogar Uriana"})
    assert family.status_code == 201, family.text
    person = http.post(
        f"{API}/beneficiaries",
        headers=headers,
        json=new_person(community_id, family_id=family.json()["id"], relationship="head"),
    )
    assert person.status_code == 201, person.text
    return family.json()["id"], person.json()["id"]


def visit(family_id: str, signer: str) -> dict[str, Any]:
    return {
        "fecha": "2026-11-21",
        "lugar": "Nuevo Roche",
        "hogar": family_id,
        "motivo": "caracterizacion",
        "situacion_encontrada": "Hogar con huerta activa",
        "personas_presentes": 3,
        "firmantes": [signer],
    }


def test_a_gestor_captures_signs_and_seals_an_acta_and_anyone_can_verify_its_qr_link(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    family_id, person_id = household(http, gestor, community["id"])
    templates = http.get(f"{API}/acta-templates", headers=gestor).json()["templates"]
    assert {"visita_domiciliaria@1", "capacitacion@1"} <= {t["key"] for t in templates}

    draft = http.post(
        f"{API}/actas",
        headers=gestor,
        json={"template_key": "visita_domiciliaria@1", "values": visit(family_id, person_id)},
    )
    assert draft.status_code == 201, draft.text
    acta_id = draft.json()["id"]
    signed = http.post(
        f"{API}/actas/{acta_id}/signatures",
        headers=gestor,
        json={"signer_id": person_id, "method": "handwritten", "handwritten_png_base64": png_b64()},
    )
    assert signed.status_code == 200, signed.text
    assert (
        http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json={"method": "electronic"}).status_code == 200
    )
    sealed = http.post(f"{API}/actas/{acta_id}/seal", headers=gestor)
    assert sealed.status_code == 200 and sealed.json()["status"] == "sealed"

    # Sealed is final: a late signature is a 409 with a Spanish message.
    late = http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json={"method": "electronic"})
    assert late.status_code == 409 and "firmas" in late.json()["error"]

    listed = http.get(f"{API}/actas", headers=as_role["auditor"], params={"beneficiary_id": person_id}).json()["actas"]
    assert [a["id"] for a in listed] == [acta_id]
    verdict = http.get(f"{API}/actas/{acta_id}/verification", headers=as_role["auditor"]).json()
    assert verdict["valid"] is True

    page = http.get(f"/verificar/{acta_id}")
    assert page.status_code == 200 and "Acta válida" in page.text and sealed.json()["content_hash"] in page.text
    assert http.get(f"/verificar/{uuid.uuid4().hex}").status_code == 404

    def stored_document() -> dict[str, Any] | None:
        reply = http.get(f"{API}/actas/{acta_id}/document", headers=gestor)
        return reply.json() if reply.status_code == 200 and reply.json()["status"] == "stored" else None

    document = eventually(stored_document, timeout=30)
    assert document is not None
    pdf = httpx.get(document["download_url"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_invalid_fields_are_400_with_spanish_messages_per_field(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    family_id, person_id = household(http, gestor, community["id"])
    values = {**visit(family_id, person_id), "motivo": "fiesta", "ubicacion": {"lat": 95, "lon": -72}}
    r = http.post(f"{API}/actas", headers=gestor, json={"template_key": "visita_domiciliaria@1", "values": values})
    assert r.status_code == 400
    fields = r.json()["fields"]
    assert "opción no permitida" in fields["motivo"] and "latitud fuera de rango" in fields["ubicacion"]
    unknown = http.post(f"{API}/actas", headers=gestor, json={"template_key": "inexistente@9", "values": {}})
    assert unknown.status_code == 400 and "template_key" in unknown.json()["fields"]


def test_psychosocial_actas_are_redacted_for_roles_that_may_not_read_them(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    family_id, person_id = household(http, as_role["gestor"], community["id"])
    values = {
        "fecha": "2026-11-21",
        "lugar": "Casa de la familia",
        "nivel": "familiar",
        "hogar": family_id,
        "ejes": ["duelo"],
        "resumen": "Acompañamiento por pérdida reciente",
        "firmantes": [person_id],
    }
    for role in ("gestor", "coordinator"):  # they could not read back what they wrote
        refused = http.post(
            f"{API}/actas", headers=as_role[role], json={"template_key": "intervencion_psicosocial@1", "values": values}
        )
        assert refused.status_code == 403 and "reservada" in refused.json()["error"], refused.text
    created = http.post(
        f"{API}/actas",
        headers=as_role["psychosocial"],
        json={"template_key": "intervencion_psicosocial@1", "values": values},
    )
    assert created.status_code == 201, created.text
    acta_id = created.json()["id"]
    own = http.get(f"{API}/actas/{acta_id}", headers=as_role["psychosocial"]).json()
    assert own["values"]["resumen"] == "Acompañamiento por pérdida reciente"
    other = http.get(f"{API}/actas/{acta_id}", headers=as_role["gestor"]).json()
    assert other["values"] == {} and other["redacted"] is True


def test_devices_are_registered_and_revoked_only_by_coordinators(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from services.actas.domain.submission import public_key_b64

    device = {
        "id": f"kiosco-{uuid.uuid4().hex[:6]}",
        "public_key": public_key_b64(Ed25519PrivateKey.generate()),
        "community_id": "com-x",
    }
    assert http.post(f"{API}/devices", headers=as_role["auditor"], json=device).status_code == 403
    assert http.post(f"{API}/devices", headers=as_role["gestor"], json=device).status_code == 403
    assert http.post(f"{API}/devices", headers=as_role["coordinator"], json=device).status_code == 201
    assert http.post(f"{API}/devices", headers=as_role["coordinator"], json=device).status_code == 409
    assert http.delete(f"{API}/devices/{device['id']}", headers=as_role["gestor"]).status_code == 403
    revoked = http.delete(f"{API}/devices/{device['id']}", headers=as_role["coordinator"])
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    bad = http.post(
        f"{API}/devices", headers=as_role["coordinator"], json={"id": "k", "public_key": "xx", "community_id": "c"}
    )
    assert bad.status_code == 400 and "public_key" in bad.json()["fields"]
    assert http.get(f"{API}/chain/verification", headers=as_role["gestor"]).status_code == 403
    chain = http.get(f"{API}/chain/verification", headers=as_role["auditor"]).json()
    assert chain["problems"] == [] and int(chain["entries"]) > 0


def test_a_photo_is_stored_once_by_its_hash_and_handed_out_by_a_link(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 90)).save(out, format="JPEG")
    photo = out.getvalue()
    body = {"content_type": "image/jpeg", "content_base64": base64.b64encode(photo).decode()}
    first = http.post(f"{API}/attachments", headers=as_role["gestor"], json=body)
    again = http.post(f"{API}/attachments", headers=as_role["gestor"], json=body)
    assert first.status_code == again.status_code == 201, first.text
    sha = first.json()["sha256"]
    assert sha == again.json()["sha256"] == hashlib.sha256(photo).hexdigest()
    link = http.get(f"{API}/attachments/{sha}", headers=as_role["auditor"]).json()
    assert httpx.get(link["download_url"], timeout=10).content == photo
    assert http.get(f"{API}/attachments/{'0' * 64}", headers=as_role["auditor"]).status_code == 404
    wrong = http.post(f"{API}/attachments", headers=as_role["gestor"], json={**body, "content_type": "text/html"})
    assert wrong.status_code == 400
    assert http.post(f"{API}/attachments", headers=as_role["auditor"], json=body).status_code == 403


def test_bodies_over_each_routes_limit_are_413(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> None:
    big = {"content_type": "image/png", "content_base64": "A" * (15 * 1024 * 1024)}
    assert http.post(f"{API}/attachments", headers=as_role["gestor"], json=big).status_code == 413
    huge_acta = {"template_key": "capacitacion@1", "values": {"tema": "x" * (600 * 1024)}}
    assert http.post(f"{API}/actas", headers=as_role["gestor"], json=huge_acta).status_code == 413
    assert (
        http.post(f"{API}/communities", headers=as_role["coordinator"], json={"name": "x" * 300_000}).status_code == 413
    )


def test_counts_are_sealed_originals_by_default_filterable_and_grouped_by_community(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    place = {"name": f"Tabaco {uuid.uuid4().hex[:4]}", "municipality": "Hatonuevo", "department": "La Guajira"}
    created = http.post(f"{API}/communities", headers=coordinator, json=place)
    assert created.status_code == 201, created.text
    community = created.json()  # its own: other tests seal actas in the shared one
    family_id, person_id = household(http, gestor, community["id"])

    def draft() -> str:
        body = {"template_key": "visita_domiciliaria@1", "values": visit(family_id, person_id)}
        reply = http.post(f"{API}/actas", headers=gestor, json=body)
        assert reply.status_code == 201, reply.text
        return str(reply.json()["id"])

    draft()
    sealed_id = draft()
    for body in (
        {"signer_id": person_id, "method": "handwritten", "handwritten_png_base64": png_b64()},
        {"method": "electronic"},
    ):
        assert http.post(f"{API}/actas/{sealed_id}/signatures", headers=gestor, json=body).status_code == 200
    assert http.post(f"{API}/actas/{sealed_id}/seal", headers=gestor).status_code == 200

    def in_community(**params: Any) -> int:
        reply = http.get(f"{API}/acta-counts", headers=coordinator, params={"group_by": "community", **params})
        assert reply.status_code == 200, reply.text
        counts = {c["key"]: int(c["count"]) for c in reply.json()["counts"]}
        return counts.get(community["id"], 0)

    assert in_community() == 1
    assert in_community(status="draft") == 1
    assert in_community(status="todos") == 2
    refused = http.get(f"{API}/acta-counts", headers=coordinator, params={"status": "archivada"})
    assert refused.status_code == 400 and "status" in refused.text

"""End to end through the HTTP gateway: who may correct a sealed acta and why, what
the public verification page says of corrections (both ways), and the PDF an
auditor reads (folio, names, Spanish dates and labels, the correction's reason)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import grpc
import httpx
from google.protobuf.struct_pb2 import Struct
from pypdf import PdfReader

from crm_platform.grpc_support import caller_metadata
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2 as apb
from crm_platform.proto_gen.crm.actas.v1 import actas_pb2_grpc as apb_grpc
from devstack.infra import Stack
from tests.e2e.conftest import PASSWORD, login
from tests.e2e.test_gateway_actas import household, png_b64
from tests.helpers import eventually

API = "/api/v1"


def staff(http: httpx.Client, admin: dict[str, str], role: str, **profile: str) -> dict[str, str]:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    body = {"username": name, "password": PASSWORD, "role": role, **profile}
    created = http.post(f"{API}/users", headers=admin, json=body)
    assert created.status_code == 201, created.text
    return login(http, name, PASSWORD)


def sealed(http: httpx.Client, headers: dict[str, str], template_key: str, values: dict[str, Any]) -> dict[str, Any]:
    draft = http.post(f"{API}/actas", headers=headers, json={"template_key": template_key, "values": values})
    assert draft.status_code == 201, draft.text
    acta_id = draft.json()["id"]
    signer = values["firmantes"][0]
    body = {"signer_id": signer, "method": "handwritten", "handwritten_png_base64": png_b64()}
    assert http.post(f"{API}/actas/{acta_id}/signatures", headers=headers, json=body).status_code == 200
    assert http.post(f"{API}/actas/{acta_id}/signatures", headers=headers, json={"method": "electronic"}).status_code
    reply = http.post(f"{API}/actas/{acta_id}/seal", headers=headers)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


def pdf_text(http: httpx.Client, headers: dict[str, str], acta_id: str) -> str:
    def stored() -> dict[str, Any] | None:
        reply = http.get(f"{API}/actas/{acta_id}/document", headers=headers)
        return reply.json() if reply.status_code == 200 and reply.json()["status"] == "stored" else None

    document = eventually(stored, timeout=30)
    assert document is not None
    pdf = httpx.get(document["download_url"], timeout=10).content
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())


def test_a_correction_by_its_gestora_with_a_reason_shows_on_verificar_and_on_its_pdf(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestora = staff(
        http, as_role["admin"], "gestor", full_name="Ana María Pérez", document="CC 52123456", title="Gestora social"
    )
    family_id, person_id = household(http, gestora, community["id"])
    values = {
        "fecha": "2026-11-21",
        "lugar": "Nuevo Roche",
        "hogar": family_id,
        "motivo": "atencion_caso",
        "situacion_encontrada": "Hogar con huerta activa",
        "personas_presentes": 3,
        "firmantes": [person_id],
    }
    original = sealed(http, gestora, "visita_domiciliaria@1", values)
    assert original["folio"].startswith("VD-") and original["gestor_name"] == "Ana María Pérez"

    # Another gestor may not correct it; the refusal is a 403 in Spanish, and nothing is stored.
    other = http.post(
        f"{API}/actas/{original['id']}/amendments",
        headers=as_role["gestor"],
        json={"changes": {"personas_presentes": 4}, "reason": "Conteo"},
    )
    assert other.status_code == 403 and "gestor que capturó" in other.json()["error"]
    # A reason is required: a 400 naming the field.
    for body in ({"changes": {"personas_presentes": 4}}, {"changes": {"personas_presentes": 4}, "reason": "  "}):
        missing = http.post(f"{API}/actas/{original['id']}/amendments", headers=gestora, json=body)
        assert missing.status_code == 400 and "reason" in missing.json()["fields"], missing.text

    fix = http.post(
        f"{API}/actas/{original['id']}/amendments",
        headers=gestora,
        json={"changes": {"personas_presentes": 4}, "reason": "Se contó mal a los presentes"},
    )
    assert fix.status_code == 201, fix.text
    correction = fix.json()
    assert correction["amendment_reason"] == "Se contó mal a los presentes"
    assert correction["participants"] == [] and [s["signer_id"] for s in correction["signatures"]] == [
        correction["gestor_id"]
    ]
    assert correction["folio"] != original["folio"] and correction["folio"].startswith("VD-")

    # /verificar says it both ways, with links.
    page = http.get(f"/verificar/{original['id']}")
    assert page.status_code == 200 and "fue corregida" in page.text
    assert f'href="/verificar/{correction["id"]}"' in page.text and correction["folio"] in page.text
    back = http.get(f"/verificar/{correction['id']}")
    assert back.status_code == 200 and "es una corrección" in back.text
    assert f'href="/verificar/{original["id"]}"' in back.text and original["folio"] in back.text
    verdict = http.get(f"{API}/actas/{original['id']}/verification", headers=as_role["auditor"]).json()
    assert [r["acta_id"] for r in verdict["corrected_by"]] == [correction["id"]]
    assert verdict["folio"] == original["folio"]

    text = pdf_text(http, gestora, correction["id"])
    for expected in (
        f"Acta N.º {correction['folio']}",
        f"Corrige el acta {original['folio']}",
        "Motivo de la corrección: Se contó mal a los presentes",
        "Ana María Pérez",
        "CC 52123456",
        "Gestora social",
        community["name"],
        "Hogar Uriana",
        "21 de noviembre de 2026",
        "Atención caso",
        "Página 1 de",
    ):
        assert expected in text, expected
    assert family_id not in text and community["id"] not in text


def test_a_restricted_acta_is_corrected_only_by_those_who_may_read_it(
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
    original = sealed(http, as_role["psychosocial"], "intervencion_psicosocial@1", values)
    change = {"changes": {"resumen": "Otro texto"}, "reason": "Error"}
    refused = http.post(f"{API}/actas/{original['id']}/amendments", headers=as_role["coordinator"], json=change)
    assert refused.status_code == 403 and "reservada" in refused.json()["error"]
    allowed = http.post(f"{API}/actas/{original['id']}/amendments", headers=as_role["psychosocial"], json=change)
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["amendment_reason"] == "Error"
    # Why a restricted acta was corrected tells what it records: hidden like its content.
    seen = http.get(f"{API}/actas/{allowed.json()['id']}", headers=as_role["coordinator"]).json()
    assert seen["redacted"] is True and seen["values"] == {} and seen["amendment_reason"] == ""


def test_creating_an_account_records_its_profile_for_the_actas_a_kiosk_captures(
    http: httpx.Client, stack: Stack, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    """A kiosk's submission names only the gestor's user: the actas service takes
    their name, document and title from what the gateway recorded at account creation."""
    username = f"gestora-{uuid.uuid4().hex[:6]}"
    body = {
        "username": username,
        "password": PASSWORD,
        "role": "gestor",
        "full_name": "Luz Dary Epiayú",
        "document": "CC 40123456",
        "title": "Gestora social",
    }
    assert http.post(f"{API}/users", headers=as_role["admin"], json=body).status_code == 201
    family_id, person_id = household(http, as_role["gestor"], community["id"])
    values = Struct()
    values.update(
        {
            "fecha": "2026-11-21",
            "lugar": "Nuevo Roche",
            "hogar": family_id,
            "motivo": "seguimiento",
            "situacion_encontrada": "Sin novedad",
            "personas_presentes": 1,
            "firmantes": [person_id],
        }
    )
    channel = grpc.insecure_channel(stack.env["ACTAS_GRPC"])
    try:  # a call that carries no profile, as a kiosk's submission carries none
        draft = apb_grpc.ActasServiceStub(channel).CreateActa(
            apb.CreateActaRequest(template_key="visita_domiciliaria@1", values=values),
            metadata=caller_metadata(username, "gestor"),
        )
    finally:
        channel.close()
    assert (draft.gestor_name, draft.gestor_document, draft.gestor_title) == (
        "Luz Dary Epiayú",
        "CC 40123456",
        "Gestora social",
    )

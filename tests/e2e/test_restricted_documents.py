"""End to end through the HTTP gateway: the PDF of a restricted (psychosocial) acta
is handed out only to the roles that may read its content, the rule its JSON
follows; the documents service refuses everyone else and the gateway says 403."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.test_gateway_actas import household, png_b64
from tests.helpers import eventually

API = "/api/v1"


def test_only_roles_that_may_read_a_psychosocial_acta_get_a_link_to_its_pdf(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    psychosocial = as_role["psychosocial"]
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
    created = http.post(
        f"{API}/actas", headers=psychosocial, json={"template_key": "intervencion_psicosocial@1", "values": values}
    )
    assert created.status_code == 201, created.text
    acta_id = created.json()["id"]
    signature = {"signer_id": person_id, "method": "handwritten", "handwritten_png_base64": png_b64()}
    signed = http.post(f"{API}/actas/{acta_id}/signatures", headers=psychosocial, json=signature)
    assert signed.status_code == 200, signed.text
    own = http.post(f"{API}/actas/{acta_id}/signatures", headers=psychosocial, json={"method": "electronic"})
    assert own.status_code == 200, own.text
    sealed = http.post(f"{API}/actas/{acta_id}/seal", headers=psychosocial)
    assert sealed.status_code == 200 and sealed.json()["status"] == "sealed", sealed.text

    def stored_document() -> dict[str, Any] | None:
        reply = http.get(f"{API}/actas/{acta_id}/document", headers=psychosocial)
        return reply.json() if reply.status_code == 200 and reply.json()["status"] == "stored" else None

    document = eventually(stored_document, timeout=30)
    assert document is not None and document["download_url"]

    for role in ("gestor", "coordinator"):
        refused = http.get(f"{API}/actas/{acta_id}/document", headers=as_role[role])
        assert refused.status_code == 403, (role, refused.text)
        assert "download_url" not in refused.text and "no puede leer el contenido" in refused.json()["error"]

    for role in ("psychosocial", "admin"):
        allowed = http.get(f"{API}/actas/{acta_id}/document", headers=as_role[role])
        assert allowed.status_code == 200, (role, allowed.text)
        assert allowed.json()["status"] == "stored" and allowed.json()["download_url"]

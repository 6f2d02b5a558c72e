"""The signed PDF "Plan de Acción" through the HTTP gateway: 404 with a Spanish
message before the version is approved, then a working time-limited link for
every user role once the documents service has stored it; bad versions are 400
or 422 naming ``version``."""

from __future__ import annotations

import functools
import hashlib
import io
from typing import Any

import httpx
from pypdf import PdfReader

from services.income.domain.plan_io import content_to_mapping
from tests.e2e.test_gateway_income import UNITS, new_unit
from tests.helpers import eventually
from tests.unit.income_builders import content


def stored(http: httpx.Client, headers: dict[str, str], path: str) -> dict[str, Any] | None:
    reply = http.get(f"{path}/plan/documento", headers=headers, params={"version": 1})
    if reply.status_code == 404:
        return None
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body if body["status"] == "stored" else None


def test_the_plan_document_is_404_before_approval_then_a_working_link_for_every_role(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor, coordinator = as_role["gestor"], as_role["coordinator"]
    unit, _ = new_unit(http, gestor, community["id"])
    path = f"{UNITS}/{unit['id']}"
    draft = http.put(f"{path}/plan", headers=gestor, json={"content": content_to_mapping(content())})
    assert draft.status_code == 200, draft.text

    early = http.get(f"{path}/plan/documento", headers=gestor, params={"version": 1})
    assert early.status_code == 404
    assert "se genera cuando esa versión es aprobada" in early.json()["error"]
    for bad in ({"version": 0}, {"version": "uno"}, {}):
        refused = http.get(f"{path}/plan/documento", headers=gestor, params=bad)
        assert refused.status_code in (400, 422), (bad, refused.text)
        assert "version" in refused.text, bad

    sent = http.post(f"{path}/plan/envio", headers=gestor, json={"expected_revision": draft.json()["revision"]})
    assert sent.status_code == 200, sent.text
    decision = {"expected_revision": sent.json()["revision"]}
    approved = http.post(f"{path}/plan/aprobacion", headers=coordinator, json=decision)
    assert approved.status_code == 200, approved.text

    document = eventually(functools.partial(stored, http, gestor, path), timeout=30)
    assert document is not None
    assert document["pades_signed"] is True and document["plan_version"] == 1 and document["unit_id"] == unit["id"]
    assert document["stored_at"] and document["url_expires_at"] and document["last_error"] == ""
    pdf = httpx.get(document["download_url"], timeout=10).content
    assert hashlib.sha256(pdf).hexdigest() == document["sha256"] and len(pdf) == document["size_bytes"]
    text = " ".join("".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Plan de Acción" in text and unit["name"] in text and "Dictamen de viabilidad" in text

    for role in ("auditor", "psychosocial", "admin"):  # every user role, as the plan itself
        reply = http.get(f"{path}/plan/documento", headers=as_role[role], params={"version": 1, "ttl_seconds": 60})
        assert reply.status_code == 200 and reply.json()["sha256"] == document["sha256"], role
    assert http.get(f"{path}/plan/documento", params={"version": 1}).status_code == 401
    later = http.get(f"{path}/plan/documento", headers=gestor, params={"version": 2})
    assert later.status_code == 404 and "versión 2" in later.json()["error"]

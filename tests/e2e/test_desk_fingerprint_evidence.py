"""A desk "fingerprint signature" is no longer the caller's claim (issue 12, item 4):
through the gateway, unsigned evidence is recorded and printed as the gestor's
declaration; evidence signed by a desk reader paired with the acta's community
(a one-time code, like a kiosk) is verified; template hashes are shown only to the
roles that match fingerprints."""

from __future__ import annotations

import base64
import hashlib
import io
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pypdf import PdfReader

from edge_agent.desk_reader import signed_evidence
from services.actas.domain.submission import public_key_b64
from tests.e2e.test_gateway_actas import household, visit
from tests.helpers import eventually

API = "/api/v1"
TEMPLATE = bytes(range(256)) * 2
TEMPLATE_SHA256 = hashlib.sha256(TEMPLATE).hexdigest()


def enrolled_person(http: httpx.Client, gestor: dict[str, str], community_id: str) -> tuple[str, str]:
    family_id, person_id = household(http, gestor, community_id)
    http.post(f"{API}/beneficiaries/{person_id}/consents", headers=gestor, json={"kind": "biometrics"})
    enrolled = http.post(
        f"{API}/beneficiaries/{person_id}/biometrics",
        headers=gestor,
        json={"finger": "right_index", "template_base64": base64.b64encode(TEMPLATE).decode()},
    )
    assert enrolled.status_code == 201, enrolled.text
    assert "template_sha256" not in enrolled.json()
    return family_id, person_id


def draft(http: httpx.Client, gestor: dict[str, str], family_id: str, person_id: str) -> str:
    created = http.post(
        f"{API}/actas",
        headers=gestor,
        json={"template_key": "visita_domiciliaria@1", "values": visit(family_id, person_id)},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def claim(**changes: Any) -> dict[str, Any]:
    body = {
        "score": 187,
        "finger": "right_index",
        "sensor_id": "ZFM-20 #0001",
        "mode": "verify_1_1",
        "template_sha256": TEMPLATE_SHA256,
        "matched_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    return {**body, **changes}


def test_template_hashes_are_shown_only_to_admins(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    _, person_id = enrolled_person(http, as_role["gestor"], community["id"])
    for role in ("gestor", "coordinator", "auditor"):
        person = http.get(f"{API}/beneficiaries/{person_id}", headers=as_role[role]).json()
        assert TEMPLATE_SHA256 not in str(person), role
        if role != "coordinator":  # who sees enrolments at all: BIOMETRIC_READERS
            assert [b["finger"] for b in person["biometrics"]] == ["right_index"], role
    admin = http.get(f"{API}/beneficiaries/{person_id}", headers=as_role["admin"]).json()
    assert admin["biometrics"][0]["template_sha256"] == TEMPLATE_SHA256


def test_an_unsigned_desk_fingerprint_is_recorded_and_printed_as_declared(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    family_id, person_id = enrolled_person(http, gestor, community["id"])
    acta_id = draft(http, gestor, family_id, person_id)
    body = {"signer_id": person_id, "method": "fingerprint", "fingerprint": claim(template_sha256="")}
    signed = http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json=body)
    assert signed.status_code == 200, signed.text
    assert signed.json()["signatures"][0]["fingerprint"]["verification"] == "declared"
    assert http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json={"method": "electronic"}).is_success
    assert http.post(f"{API}/actas/{acta_id}/seal", headers=gestor).status_code == 200

    def stored() -> dict[str, Any] | None:
        reply = http.get(f"{API}/actas/{acta_id}/document", headers=gestor)
        return reply.json() if reply.status_code == 200 and reply.json()["status"] == "stored" else None

    document = eventually(stored, timeout=30)
    assert document is not None
    pdf = httpx.get(document["download_url"]).content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Huella declarada por el gestor (no verificada por un lector)" in text
    assert "Puntaje" not in text and "Firma con huella dactilar" not in text


def test_a_desk_readers_signed_evidence_is_verified_and_a_tampered_one_refused(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    family_id, person_id = enrolled_person(http, gestor, community["id"])
    acta_id = draft(http, gestor, family_id, person_id)
    key, reader = Ed25519PrivateKey.generate(), f"lector-{uuid.uuid4().hex[:6]}"
    code = http.post(f"{API}/pairing-codes", headers=as_role["coordinator"], json={"community_id": community["id"]})
    paired = http.post(
        f"{API}/kiosk/pairing",
        json={"code": code.json()["code"], "device_id": reader, "public_key": public_key_b64(key)},
    )
    assert paired.status_code == 201, paired.text

    match = claim()
    evidence = signed_evidence(
        key,
        device_id=reader,
        acta_id=acta_id,
        signer_id=person_id,
        score=match["score"],
        finger=match["finger"],
        sensor_id=match["sensor_id"],
        mode=match["mode"],
        template_sha256=match["template_sha256"],
        matched_at=datetime.fromisoformat(match["matched_at"]),
    )
    tampered = {"signer_id": person_id, "method": "fingerprint", "fingerprint": {**evidence, "score": 250}}
    refused = http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json=tampered)
    assert refused.status_code == 400 and "lector emparejado" in refused.json()["fields"]["fingerprint"], refused.text

    body = {"signer_id": person_id, "method": "fingerprint", "fingerprint": evidence}
    signed = http.post(f"{API}/actas/{acta_id}/signatures", headers=gestor, json=body)
    assert signed.status_code == 200, signed.text
    fingerprint = signed.json()["signatures"][0]["fingerprint"]
    assert (fingerprint["verification"], fingerprint["device_id"]) == ("device", reader)
    assert "template_sha256" not in fingerprint, "a gestor does not see template hashes"
    admin = http.get(f"{API}/actas/{acta_id}", headers=as_role["admin"]).json()
    assert admin["signatures"][0]["fingerprint"]["template_sha256"] == TEMPLATE_SHA256

"""End to end through the gateway: a kiosk paired by a coordinator opens a session
with its device key and syncs its community's roster with the enrolled templates."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.kiosk_routes import session_message
from services.actas.domain.submission import public_key_b64
from tests.e2e.conftest import new_person

API = "/api/v1"
TEMPLATE = bytes(range(256)) * 2


def session(
    http: httpx.Client, device_id: str, key: Ed25519PrivateKey, issued: datetime | None = None
) -> httpx.Response:
    issued_at = (issued or datetime.now(UTC)).isoformat()
    signature = key.sign(session_message(device_id, issued_at))
    return http.post(
        f"{API}/kiosk/session",
        json={"device_id": device_id, "issued_at": issued_at, "signature_base64": base64.b64encode(signature).decode()},
    )


def test_a_paired_kiosk_syncs_its_communitys_roster_with_enrolled_templates(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    person = http.post(f"{API}/beneficiaries", headers=gestor, json=new_person(community["id"])).json()
    http.post(f"{API}/beneficiaries/{person['id']}/consents", headers=gestor, json={"kind": "biometrics"})
    enrolled = http.post(
        f"{API}/beneficiaries/{person['id']}/biometrics",
        headers=gestor,
        json={"finger": "left_index", "template_base64": base64.b64encode(TEMPLATE).decode()},
    )
    assert enrolled.status_code == 201, enrolled.text

    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-{uuid.uuid4().hex[:6]}"
    paired = http.post(
        f"{API}/devices",
        headers=as_role["coordinator"],
        json={"id": device_id, "public_key": public_key_b64(key), "community_id": community["id"]},
    )
    assert paired.status_code == 201, paired.text

    opened = session(http, device_id, key)
    assert opened.status_code == 200 and opened.json()["role"] == "kiosk", opened.text
    kiosk = {"Authorization": f"Bearer {opened.json()['access_token']}"}
    templates = http.get(f"{API}/acta-templates", headers=kiosk)
    assert templates.status_code == 200 and templates.json()["templates"]

    roster = http.get(f"{API}/kiosk/roster", headers=kiosk, params={"community_id": community["id"]})
    assert roster.status_code == 200, roster.text
    entry = next(b for b in roster.json()["beneficiaries"] if b["id"] == person["id"])
    (biometric,) = entry["biometrics"]
    assert base64.b64decode(biometric["template_base64"]) == TEMPLATE
    assert biometric["template_sha256"] == hashlib.sha256(TEMPLATE).hexdigest()

    # Staff never get templates over HTTP, and a kiosk only its own community.
    assert http.get(f"{API}/kiosk/roster", headers=gestor, params={"community_id": community["id"]}).status_code == 403
    other = http.get(f"{API}/kiosk/roster", headers=kiosk, params={"community_id": uuid.uuid4().hex})
    assert other.status_code == 403
    # A kiosk cannot act as staff.
    assert http.post(f"{API}/actas", headers=kiosk, json={"template_key": "x", "values": {}}).status_code == 403

    # Once revoked, the kiosk can neither open a session nor use the one it has.
    http.delete(f"{API}/devices/{device_id}", headers=as_role["coordinator"])
    assert session(http, device_id, key).status_code == 401
    assert http.get(f"{API}/kiosk/roster", headers=kiosk, params={"community_id": community["id"]}).status_code == 401


def test_sessions_with_a_foreign_key_an_unknown_device_or_a_stale_clock_are_refused(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-{uuid.uuid4().hex[:6]}"
    device = {"id": device_id, "public_key": public_key_b64(key), "community_id": "com-x"}
    assert http.post(f"{API}/devices", headers=as_role["coordinator"], json=device).status_code == 201
    assert session(http, device_id, Ed25519PrivateKey.generate()).status_code == 401
    assert session(http, "kiosco-inexistente", key).status_code == 401
    stale = session(http, device_id, key, datetime.now(UTC) - timedelta(minutes=10))
    assert stale.status_code == 401 and "reloj" in stale.json()["error"]
    assert session(http, device_id, key).status_code == 200

"""A small demo community, registered through the public interfaces (HTTP gateway)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

DEMO_USERS = [
    ("coordinadora", "coordinator", "Marta Coordinadora"),
    ("gestor1", "gestor", "Luis Gestor"),
    ("asesor1", "income_adviser", "Sofía Asesora"),
    ("psicosocial", "psychosocial", "Ana Psicosocial"),
    ("auditor", "auditor", "Carlos Auditor"),
]
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - development stack only

FAMILIES: list[dict[str, Any]] = [
    {
        "name": "Hogar Epiayú Pushaina",
        "address": "Lote 12, Nuevo Roche",
        "members": [
            (
                "CC",
                "40925118",
                "Rosa Elena",
                "Epiayú Pushaina",
                "1968-03-14",
                "female",
                "head",
                "3004417820",
                False,
            ),
            ("CC", "1123404567", "José Miguel", "Epiayú", "1995-07-02", "male", "child", "3117782301", True),
            ("TI", "1123987654", "María Fernanda", "Epiayú", "2010-11-23", "female", "grandchild", "", True),
        ],
    },
    {
        "name": "Hogar Peña Gutiérrez",
        "address": "Lote 7, Nuevo Roche",
        "members": [
            ("CC", "17845236", "Álvaro", "Peña Gutiérrez", "1972-01-30", "male", "head", "3205561234", True),
            (
                "CC",
                "40933412",
                "Luz Dary",
                "Gutiérrez de Peña",
                "1975-05-09",
                "female",
                "spouse",
                "3014456789",
                True,
            ),
            ("CC", "1120456789", "Andrés Felipe", "Peña Gutiérrez", "2001-09-17", "male", "child", "", True),
        ],
    },
    {
        "name": "Hogar Uriana",
        "address": "Lote 3, Nuevo Roche",
        "members": [
            ("CC", "26987451", "Ana Isabel", "Uriana", "1958-08-08", "female", "head", "", False),
        ],
    },
]


def seed(base_url: str, admin_password: str) -> dict[str, Any]:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        admin = _login(http, "admin", admin_password)
        for username, role, name in DEMO_USERS:
            r = http.post(
                "/api/v1/users",
                headers=admin,
                json={"username": username, "password": DEMO_PASSWORD, "role": role, "full_name": name},
            )
            if r.status_code != 409:
                _ok(r)
        gestor = _login(http, "gestor1", DEMO_PASSWORD)
        communities = http.get("/api/v1/communities", headers=admin).json().get("communities", [])
        existing = next((c for c in communities if c["name"] == "Nuevo Roche"), None)
        if existing:
            return {"community_id": existing["id"], "created": False}
        community = _ok(
            http.post(
                "/api/v1/communities",
                headers=admin,
                json={"name": "Nuevo Roche", "municipality": "Barrancas", "department": "La Guajira"},
            )
        )
        for fam in FAMILIES:
            family = _ok(
                http.post(
                    "/api/v1/families",
                    headers=gestor,
                    json={"community_id": community["id"], "name": fam["name"], "address": fam["address"]},
                )
            )
            for id_type, number, first, last, born, sex, rel, phone, can_sign in fam["members"]:
                person = _ok(
                    http.post(
                        "/api/v1/beneficiaries",
                        headers=gestor,
                        json={
                            "national_id": {"type": id_type, "number": number},
                            "first_names": first,
                            "last_names": last,
                            "birth_date": born,
                            "sex": sex,
                            "family_id": family["id"],
                            "relationship": rel,
                            "whatsapp_phone": phone,
                            "can_sign": can_sign,
                        },
                    )
                )
                for kind in ("data_processing", "notifications") if phone else ("data_processing",):
                    _ok(
                        http.post(
                            f"/api/v1/beneficiaries/{person['id']}/consents",
                            headers=gestor,
                            json={"kind": kind},
                        )
                    )
                if not can_sign:
                    # Beneficiaries who cannot sign enrol a fingerprint (demo template bytes).
                    _ok(
                        http.post(
                            f"/api/v1/beneficiaries/{person['id']}/consents",
                            headers=gestor,
                            json={"kind": "biometrics"},
                        )
                    )
                    template = hashlib.sha512(number.encode()).digest() * 8
                    _ok(
                        http.post(
                            f"/api/v1/beneficiaries/{person['id']}/biometrics",
                            headers=gestor,
                            json={
                                "finger": "right_index",
                                "template_base64": base64.b64encode(template).decode(),
                            },
                        )
                    )
        return {"community_id": community["id"], "created": True}


def _login(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    r = _ok(http.post("/api/v1/auth/login", json={"username": username, "password": password}))
    return {"Authorization": f"Bearer {r['access_token']}"}


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()

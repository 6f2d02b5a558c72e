"""End to end through the HTTP gateway: authentication, roles, error mapping."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests.e2e.conftest import PASSWORD, new_person
from tests.helpers import eventually


def test_login_with_a_wrong_password_or_unknown_user_is_401(http: httpx.Client) -> None:
    for user, password in (("admin", "wrong-password"), ("nadie", "whatever-password")):
        r = http.post("/api/v1/auth/login", json={"username": user, "password": password})
        assert r.status_code == 401
        assert r.json()["error"] == "Usuario o contraseña incorrectos"


def test_missing_or_forged_tokens_are_401(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> None:
    assert http.get("/api/v1/communities").status_code == 401
    token = as_role["gestor"]["Authorization"].split()[1]
    header, payload, _ = token.split(".")
    forged_payload = (
        base64.urlsafe_b64encode(base64.urlsafe_b64decode(payload + "==").replace(b'"gestor"', b'"admin"'))
        .rstrip(b"=")
        .decode()
    )
    r = http.get("/api/v1/communities", headers={"Authorization": f"Bearer {header}.{forged_payload}.x"})
    assert r.status_code == 401


def test_roles_limit_what_each_user_may_do(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    for role in ("auditor", "psychosocial"):
        r = http.post("/api/v1/beneficiaries", headers=as_role[role], json=new_person(community["id"]))
        assert r.status_code == 403, role
    r = http.post(
        "/api/v1/communities",
        headers=as_role["gestor"],
        json={"name": "X", "municipality": "Y", "department": "Z"},
    )
    assert r.status_code == 403
    r = http.post(
        "/api/v1/users",
        headers=as_role["coordinator"],
        json={"username": "intruso", "password": PASSWORD, "role": "admin"},
    )
    assert r.status_code == 403


def test_consent_and_biometric_data_only_reach_roles_that_need_them(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    person = http.post("/api/v1/beneficiaries", headers=gestor, json=new_person(community["id"])).json()
    assert (
        http.post(
            f"/api/v1/beneficiaries/{person['id']}/consents", headers=gestor, json={"kind": "biometrics"}
        ).status_code
        == 200
    )
    template = base64.b64encode(bytes(range(256)) * 2).decode()
    r = http.post(
        f"/api/v1/beneficiaries/{person['id']}/biometrics",
        headers=gestor,
        json={"finger": "left_thumb", "template_base64": template},
    )
    assert r.status_code == 201, r.text
    # The template hash is for matching (kiosk, admin), not for the gestor (issue 12, item 4).
    assert set(r.json()) == {"beneficiary_id", "finger", "enrolled_by", "enrolled_at"}

    seen = {role: http.get(f"/api/v1/beneficiaries/{person['id']}", headers=h).json() for role, h in as_role.items()}
    for role in ("gestor", "auditor", "admin"):
        assert [b["finger"] for b in seen[role]["biometrics"]] == ["left_thumb"], role
        assert "template" not in seen[role]["biometrics"][0]
        assert template[:40] not in str(seen[role])
        assert ("template_sha256" in seen[role]["biometrics"][0]) == (role == "admin"), role
    for role in ("coordinator", "psychosocial"):
        assert "biometrics" not in seen[role], role
    assert "consents" not in seen["psychosocial"]
    assert [c["kind"] for c in seen["coordinator"]["consents"]] == ["biometrics"]
    r = http.post(
        f"/api/v1/beneficiaries/{person['id']}/biometrics",
        headers=as_role["coordinator"],
        json={"finger": "left_thumb", "template_base64": template},
    )
    assert r.status_code == 403


def test_errors_map_to_http_with_field_messages(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    r = http.post(
        "/api/v1/beneficiaries",
        headers=gestor,
        json=new_person(community["id"], national_id={"type": "XX", "number": "1"}, birth_date="2100-01-01"),
    )
    assert r.status_code == 400
    assert set(r.json()["fields"]) == {"national_id.type", "birth_date"}

    body = new_person(community["id"])
    assert http.post("/api/v1/beneficiaries", headers=gestor, json=body).status_code == 201
    r = http.post("/api/v1/beneficiaries", headers=gestor, json=body)
    assert r.status_code == 409 and "national_id" in r.json()["fields"]

    assert http.get("/api/v1/beneficiaries/no-such-id", headers=gestor).status_code == 404
    assert http.get("/api/v1/families/no-such-id", headers=gestor).status_code == 404

    r = http.post(
        "/api/v1/beneficiaries",
        headers={**gestor, "Content-Type": "application/json"},
        content=b'{"national_id": {"type": "CC"',
    )
    assert r.status_code == 400
    r = http.post("/api/v1/beneficiaries", headers=gestor, json={**body, "unexpected": 1})
    assert r.status_code == 400 and r.json()["fields"] == {"unexpected": "Campo no reconocido"}
    r = http.post("/api/v1/beneficiaries", headers=gestor, json={"first_names": "Solo"})
    assert r.status_code == 400 and r.json()["fields"]["national_id"] == "Campo obligatorio"


def test_oversized_bodies_are_refused_and_the_gateway_keeps_serving(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    huge = b'{"first_names": "' + b"a" * (300 * 1024) + b'"}'
    r = http.post(
        "/api/v1/beneficiaries",
        headers={**as_role["gestor"], "Content-Type": "application/json"},
        content=huge,
    )
    assert r.status_code == 413
    r = http.post("/api/v1/beneficiaries", headers=as_role["gestor"], json=new_person(community["id"]))
    assert r.status_code == 201


def test_household_flow_and_timeline_through_the_gateway(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    family = http.post(
        "/api/v1/families", headers=gestor, json={"community_id": community["id"], "name": "Hogar Pushaina"}
    ).json()
    head = http.post(
        "/api/v1/beneficiaries",
        headers=gestor,
        json=new_person(community["id"], family_id=family["id"], relationship="head"),
    ).json()
    child = http.post("/api/v1/beneficiaries", headers=gestor, json=new_person(community["id"])).json()
    r = http.post(
        f"/api/v1/families/{family['id']}/members",
        headers=gestor,
        json={"beneficiary_id": child["id"], "relationship": "child"},
    )
    assert r.status_code == 200 and r.json()["family_id"] == family["id"]
    r = http.post(
        f"/api/v1/families/{family['id']}/members",
        headers=gestor,
        json={"beneficiary_id": child["id"], "relationship": "child"},
    )
    assert r.status_code == 409

    members = http.get(f"/api/v1/families/{family['id']}/members", headers=as_role["psychosocial"]).json()["members"]
    assert [m["id"] for m in members] == [head["id"], child["id"]]

    found = http.get(
        "/api/v1/beneficiaries",
        headers=gestor,
        params={"national_id_type": "cc", "national_id_number": head["national_id"]["number"]},
    ).json()
    assert [p["id"] for p in found["beneficiaries"]] == [head["id"]]

    def family_timeline() -> list[str]:
        r = http.get(f"/api/v1/families/{family['id']}/timeline", headers=as_role["psychosocial"])
        return [e["kind"] for e in r.json().get("entries", [])]

    kinds = eventually(lambda: family_timeline() if len(family_timeline()) >= 3 else [])
    assert sorted(kinds) == ["family_registered", "member_joined", "member_joined"]


def test_openapi_describes_the_api(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert "/api/v1/beneficiaries" in spec["paths"] and "/api/v1/auth/login" in spec["paths"]

"""The stack's gateway process as a client sees it (issue 12, items 13, 16, 17):
counts are JSON numbers, the Spanish labels people see are accepted for coded
fields, and the process sends security headers and no ``server: uvicorn``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import new_person
from tests.e2e.test_gateway_actas import household, visit

API = "/api/v1"


def test_counts_and_sequence_numbers_are_json_numbers(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    family_id, person_id = household(http, gestor, community["id"])
    created = http.post(
        f"{API}/actas",
        headers=gestor,
        json={"template_key": "visita_domiciliaria@1", "values": visit(family_id, person_id)},
    )
    assert created.status_code == 201, created.text
    assert created.json()["chain_seq"] == 0  # not "0"
    counts = http.get(f"{API}/acta-counts", headers=as_role["coordinator"]).json()["counts"]
    assert counts and all(isinstance(c["count"], int) and c["count"] >= 1 for c in counts), counts
    person = http.get(f"{API}/beneficiaries/{person_id}", headers=gestor).json()
    assert isinstance(person["version"], int)


def test_a_person_can_be_registered_with_the_labels_people_see(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    gestor = as_role["gestor"]
    family = http.post(
        f"{API}/families", headers=gestor, json={"community_id": community["id"], "name": "Hogar Ipuana"}
    )
    body = new_person(
        community["id"],
        family_id=family.json()["id"],
        sex="Mujer",
        relationship="Jefa de hogar",
        education_level="Técnico",
        contact_channels=["Correo electrónico"],
        email="ana@example.org",
    )
    body["national_id"]["type"] = "Cédula de ciudadanía"
    r = http.post(f"{API}/beneficiaries", headers=gestor, json=body)
    assert r.status_code == 201, r.text
    person = r.json()
    assert (person["sex"], person["relationship"], person["education_level"]) == ("female", "head", "technical")
    assert person["national_id"]["type"] == "CC" and person["contact_channels"] == ["email"]
    enrolled = http.post(
        f"{API}/beneficiaries/{person['id']}/consents", headers=gestor, json={"kind": "Datos biométricos"}
    )
    assert enrolled.status_code == 200, enrolled.text
    assert [c["kind"] for c in enrolled.json()["consents"]] == ["biometrics"]
    withdrawn = http.delete(f"{API}/beneficiaries/{person['id']}/consents/datos biometricos", headers=gestor)
    assert withdrawn.status_code == 200, withdrawn.text
    assert [(c["kind"], c["granted"]) for c in withdrawn.json()["consents"]] == [("biometrics", False)]
    found = http.get(
        f"{API}/beneficiaries",
        headers=gestor,
        params={"national_id_type": "cédula de ciudadanía", "national_id_number": body["national_id"]["number"]},
    )
    assert [p["id"] for p in found.json()["beneficiaries"]] == [person["id"]]
    sealed = http.get(f"{API}/actas", headers=as_role["auditor"], params={"status": "Sellada", "limit": 5})
    assert sealed.status_code == 200 and all(a["status"] == "sealed" for a in sealed.json()["actas"])


def test_the_gateway_process_sends_security_headers_and_no_server_name(http: httpx.Client) -> None:
    for path in ("/healthz", "/docs", f"{API}/catalogos", "/verificar/no-existe"):
        r = http.get(path)
        assert "server" not in r.headers, (path, r.headers.get("server"))
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "no-referrer"

"""Fixtures of the end-to-end tier: an HTTP client on the gateway and one logged-in
user per role."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devstack.infra import Stack
from tests.helpers import unique_cc

PASSWORD = "e2e-password-123"
ROLES = ("coordinator", "gestor", "income_adviser", "psychosocial", "auditor")


@pytest.fixture(scope="module")
def http(stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.urls["gateway"], timeout=30) as client:
        yield client


def login(http: httpx.Client, username: str, password: str) -> dict[str, str]:
    r = http.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="module")
def as_role(http: httpx.Client) -> dict[str, dict[str, str]]:
    admin = login(http, "admin", "admin-dev-password")
    headers = {"admin": admin}
    for role in ROLES:
        name = f"{role}-{uuid.uuid4().hex[:6]}"
        r = http.post("/api/v1/users", headers=admin, json={"username": name, "password": PASSWORD, "role": role})
        assert r.status_code == 201, r.text
        headers[role] = login(http, name, PASSWORD)
    return headers


@pytest.fixture(scope="module")
def community(http: httpx.Client, as_role: dict[str, dict[str, str]]) -> dict[str, Any]:
    r = http.post(
        "/api/v1/communities",
        headers=as_role["coordinator"],
        json={
            "name": f"Roche {uuid.uuid4().hex[:4]}",
            "municipality": "Barrancas",
            "department": "La Guajira",
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def new_person(community_id: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "national_id": {"type": "CC", "number": unique_cc()},
        "first_names": "Wilmer",
        "last_names": "Pushaina",
        "birth_date": "1988-06-30",
        "sex": "male",
        "community_id": community_id,
        "whatsapp_phone": "3001234567",
    }
    body.update(overrides)
    return body

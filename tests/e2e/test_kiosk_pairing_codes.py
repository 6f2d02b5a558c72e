"""Pairing is approved, scoped and used once (issue 12, items 3 and 12).

A gestor can no longer register a key of their own as a "device" and download every
community's fingerprint templates: a coordinator issues a one-time code for one
community, the kiosk pairs with it (no staff session), the roster serves only the
device's community, and a signed session statement opens one session only, on
every gateway replica."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pymongo
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from devstack.infra import Stack
from gateway.app import create_app
from gateway.kiosk_routes import session_message
from services.actas.domain.submission import public_key_b64
from tests.e2e.test_gateway_kiosk import session
from tests.e2e.test_gateway_sessions import settings_for

API = "/api/v1"


def issue(http: Any, headers: dict[str, str], community_id: str) -> httpx.Response:
    return http.post(f"{API}/pairing-codes", headers=headers, json={"community_id": community_id})


def pair(http: Any, code: str, device_id: str, key: Ed25519PrivateKey) -> httpx.Response:
    body = {"code": code, "device_id": device_id, "public_key": public_key_b64(key)}
    return http.post(f"{API}/kiosk/pairing", json=body)


def bearer(opened: httpx.Response) -> dict[str, str]:
    assert opened.status_code == 200, opened.text
    return {"Authorization": f"Bearer {opened.json()['access_token']}"}


def test_a_gestor_cannot_turn_their_own_key_into_a_device(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-gestor-{uuid.uuid4().hex[:6]}"
    own = http.post(
        f"{API}/devices",
        headers=as_role["gestor"],
        json={"id": device_id, "public_key": public_key_b64(key), "community_id": community["id"]},
    )
    assert own.status_code == 403, own.text
    assert issue(http, as_role["gestor"], community["id"]).status_code == 403
    assert session(http, device_id, key).status_code == 401
    # Even a coordinator cannot register a device that serves no community.
    unscoped = http.post(
        f"{API}/devices", headers=as_role["coordinator"], json={"id": device_id, "public_key": public_key_b64(key)}
    )
    assert unscoped.status_code == 400 and "community_id" in unscoped.json()["fields"], unscoped.text
    blank = http.post(
        f"{API}/devices",
        headers=as_role["coordinator"],
        json={"id": device_id, "public_key": public_key_b64(key), "community_id": ""},
    )
    assert blank.status_code == 400 and "community_id" in blank.json()["fields"], blank.text


def test_a_one_time_code_pairs_one_kiosk_for_its_community_only(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    issued = issue(http, as_role["coordinator"], community["id"])
    assert issued.status_code == 201, issued.text
    code = issued.json()["code"]
    assert len(code) == 9 and issued.json()["community_id"] == community["id"]

    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-{uuid.uuid4().hex[:6]}"
    wrong = pair(http, "ZZZZ-ZZZZ", device_id, key)
    assert wrong.status_code == 401 and "Código de emparejamiento" in wrong.json()["error"], wrong.text
    paired = pair(http, code.lower(), device_id, key)
    assert paired.status_code == 201, paired.text
    assert paired.json()["community_id"] == community["id"] and paired.json()["registered_by"]
    assert pair(http, code, device_id, key).status_code == 201, "a retry after a lost reply is harmless"
    again = pair(http, code, f"kiosco-{uuid.uuid4().hex[:6]}", Ed25519PrivateKey.generate())
    assert again.status_code == 401 and "ya usado" in again.json()["error"], again.text

    kiosk = bearer(session(http, device_id, key))
    own = http.get(f"{API}/kiosk/roster", headers=kiosk)
    assert own.status_code == 200 and own.json()["community_id"] == community["id"], own.text
    other = http.get(f"{API}/kiosk/roster", headers=kiosk, params={"community_id": uuid.uuid4().hex})
    assert other.status_code == 403 and "comunidad" in other.json()["error"], other.text


def test_a_device_paired_before_communities_were_mandatory_gets_no_roster(
    stack: Stack, http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-antiguo-{uuid.uuid4().hex[:6]}"
    mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    try:  # as the old registration stored it: no community
        mongo["crm_actas"]["devices"].insert_one(
            {
                "_id": device_id,
                "public_key": public_key_b64(key),
                "community_id": "",
                "description": "",
                "revoked": False,
                "registered_by": "gestor1",
                "registered_at": datetime.now(UTC),
            }
        )
    finally:
        mongo.close()
    kiosk = bearer(session(http, device_id, key))
    for params in ({}, {"community_id": ""}, {"community_id": uuid.uuid4().hex}):
        refused = http.get(f"{API}/kiosk/roster", headers=kiosk, params=params)
        assert refused.status_code == 403 and "no está emparejado" in refused.json()["error"], refused.text


@pytest.fixture
def replicas(stack: Stack) -> Iterator[tuple[TestClient, TestClient]]:
    """Two gateway replicas on one database (their own, on the stack's MongoDB)."""
    db_name = f"gw_pairing_{uuid.uuid4().hex[:8]}"
    mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    try:
        with (
            TestClient(create_app(settings_for(stack, db_name))) as first,
            TestClient(create_app(settings_for(stack, db_name))) as second,
        ):
            yield first, second
    finally:
        mongo.drop_database(db_name)
        mongo.close()


def test_wrong_pairing_codes_are_throttled_with_429(replicas: tuple[TestClient, TestClient]) -> None:
    client, _ = replicas
    key = Ed25519PrivateKey.generate()
    replies = [pair(client, f"ZZZZ-ZZZ{c}", "kiosco-adivino", key) for c in "ABCDEF"]
    assert [r.status_code for r in replies] == [401] * 5 + [429], [r.text for r in replies]
    assert "código" in replies[-1].json()["error"].lower() and int(replies[-1].headers["Retry-After"]) >= 1


def test_a_session_statement_opens_one_session_on_any_replica(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any], replicas: Any
) -> None:
    first, second = replicas
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-{uuid.uuid4().hex[:6]}"
    device = {"id": device_id, "public_key": public_key_b64(key), "community_id": community["id"]}
    assert http.post(f"{API}/devices", headers=as_role["coordinator"], json=device).status_code == 201

    issued_at = datetime.now(UTC).isoformat()
    body = {
        "device_id": device_id,
        "issued_at": issued_at,
        "signature_base64": base64.b64encode(key.sign(session_message(device_id, issued_at))).decode(),
    }
    assert first.post(f"{API}/kiosk/session", json=body).status_code == 200
    for replica in (first, second):
        replayed = replica.post(f"{API}/kiosk/session", json=body)
        assert replayed.status_code == 401 and "ya se usó" in replayed.json()["error"], replayed.text
    assert session(second, device_id, key).status_code == 200, "a fresh statement still opens a session"

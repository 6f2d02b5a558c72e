"""Sessions that end when they should (issue 12, items 6 and 7): login throttling
with temporary locks, audit records and 429 + Retry-After; logout, password
change, deactivation and a kiosk's revocation refuse the token on the next request.

The throttle tests run a gateway app in this process (its own short lock times and
its own database on the stack's MongoDB), so the shared stack's gateway and its
per-client counters are left alone."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pymongo
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from devstack.infra import Stack
from gateway.app import create_app
from gateway.config import GatewaySettings
from services.actas.domain.submission import public_key_b64
from tests.e2e.conftest import PASSWORD, login
from tests.e2e.test_gateway_kiosk import session

API = "/api/v1"
ADMIN_PASSWORD = "admin-dev-password"


def settings_for(stack: Stack, db_name: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "jwt_secret": "in-process-test-secret-of-forty-characters",
        "token_ttl_seconds": 3600,
        "admin_password": ADMIN_PASSWORD,
        "beneficiaries_grpc": stack.env["BENEFICIARIES_GRPC"],
        "actas_grpc": stack.env["ACTAS_GRPC"],
        "documents_grpc": stack.env["DOCUMENTS_GRPC"],
        "notifications_grpc": stack.env["NOTIFICATIONS_GRPC"],
        "reports_grpc": stack.env["REPORTS_GRPC"],
        "income_grpc": stack.env["INCOME_GRPC"],
        "mongo_uri": stack.env["MONGO_URI"],
        "db_name": db_name,
        "max_body_bytes": 256 * 1024,
        "grpc_timeout_seconds": 10.0,
        "login_free_failures": 5,
        "login_client_free_failures": 8,
        "login_lock_seconds": 2,
        "login_max_lock_seconds": 4,
        "login_window_seconds": 60,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture
def gateway(stack: Stack) -> Iterator[tuple[TestClient, pymongo.database.Database]]:
    db_name = f"gw_throttle_{uuid.uuid4().hex[:8]}"
    mongo: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(stack.env["MONGO_URI"], tz_aware=True)
    try:
        with TestClient(create_app(settings_for(stack, db_name))) as client:
            yield client, mongo[db_name]
    finally:
        mongo.drop_database(db_name)
        mongo.close()


def new_user(client: httpx.Client, admin: dict[str, str], role: str = "gestor") -> str:
    name = f"{role}-{uuid.uuid4().hex[:8]}"
    r = client.post(f"{API}/users", headers=admin, json={"username": name, "password": PASSWORD, "role": role})
    assert r.status_code == 201, r.text
    return name


def attempt(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


# -- item 6: throttling ----------------------------------------------------------


def test_six_wrong_passwords_lock_the_account_with_429_and_retry_after(
    gateway: tuple[TestClient, Any],
) -> None:
    client, db = gateway
    name = new_user(client, login(client, "admin", ADMIN_PASSWORD))
    replies = [attempt(client, name, "wrong-password-0") for _ in range(6)]
    assert [r.status_code for r in replies] == [401] * 5 + [429], [r.text for r in replies]
    locked = replies[-1]
    assert 1 <= int(locked.headers["Retry-After"]) <= 2
    assert "Demasiados intentos" in locked.json()["error"]

    # The right password is refused too while the lock lasts, then accepted.
    early = attempt(client, name, PASSWORD)
    assert early.status_code == 429 and "Retry-After" in early.headers, early.text
    time.sleep(int(early.headers["Retry-After"]) + 0.2)
    assert attempt(client, name, PASSWORD).status_code == 200

    outcomes = [d["outcome"] for d in db["login_audit"].find({"who": name}).sort("when", 1)]
    assert outcomes == ["failure"] * 4 + ["locked", "throttled", "throttled", "success"], outcomes
    locked_record = db["login_audit"].find_one({"who": name, "outcome": "locked"})
    assert locked_record["ip"] == "testclient" and locked_record["scopes"] == ["account"]
    assert locked_record["when"] and locked_record["locked_until"] > locked_record["when"]


def test_each_further_failure_doubles_the_lock_and_a_success_clears_it(gateway: tuple[TestClient, Any]) -> None:
    client, db = gateway
    name = new_user(client, login(client, "admin", ADMIN_PASSWORD))
    for _ in range(5):
        attempt(client, name, "wrong-password-0")
    first = attempt(client, name, "wrong-password-0")
    assert first.status_code == 429 and int(first.headers["Retry-After"]) <= 2
    time.sleep(int(first.headers["Retry-After"]) + 0.2)
    assert attempt(client, name, "wrong-password-0").status_code == 401  # the 6th failure
    doubled = attempt(client, name, PASSWORD)
    assert doubled.status_code == 429 and 3 <= int(doubled.headers["Retry-After"]) <= 4, doubled.headers
    time.sleep(int(doubled.headers["Retry-After"]) + 0.2)
    assert attempt(client, name, PASSWORD).status_code == 200
    # Cleared: the account's count starts again (the client's does not).
    assert db["login_throttle"].find_one({"_id": f"account:{name}"}) is None
    assert attempt(client, name, "wrong-password-0").status_code == 401
    assert db["login_throttle"].find_one({"_id": f"account:{name}"})["failures"] == 1


def test_one_client_trying_many_accounts_is_locked_as_a_client(gateway: tuple[TestClient, Any]) -> None:
    client, db = gateway
    admin = login(client, "admin", ADMIN_PASSWORD)
    real = new_user(client, admin)
    codes = [attempt(client, f"nadie-{i}-{uuid.uuid4().hex[:4]}", "wrong-password-0").status_code for i in range(8)]
    assert codes == [401] * 8
    # A ninth account, even with its right password, from the same client: locked.
    refused = attempt(client, real, PASSWORD)
    assert refused.status_code == 429 and refused.headers["Retry-After"], refused.text
    assert db["login_audit"].count_documents({"ip": "testclient", "outcome": "locked", "scopes": ["client"]}) == 1


def test_a_locked_login_costs_no_password_hash(gateway: tuple[TestClient, Any]) -> None:
    client, _ = gateway
    name = new_user(client, login(client, "admin", ADMIN_PASSWORD))
    for _ in range(5):
        attempt(client, name, "wrong-password-0")
    started = time.perf_counter()
    refused = [attempt(client, name, "wrong-password-0").status_code for _ in range(20)]
    elapsed = time.perf_counter() - started
    assert refused == [429] * 20
    # 20 scrypt checks take about a second; 20 refusals far less.
    assert elapsed < 0.6, elapsed


# -- item 7: revocation -------------------------------------------------------------


def test_logout_refuses_the_same_token_on_the_next_request(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    name = new_user(http, as_role["admin"])
    mine, other = login(http, name, PASSWORD), login(http, name, PASSWORD)
    assert http.get(f"{API}/communities", headers=mine).status_code == 200
    assert http.post(f"{API}/auth/logout", headers=mine).status_code == 204
    refused = http.get(f"{API}/communities", headers=mine)
    assert refused.status_code == 401 and "sesión" in refused.json()["error"], refused.text
    # Only that session ends: the account's other token still works.
    assert http.get(f"{API}/communities", headers=other).status_code == 200


def test_a_password_change_refuses_every_older_token_and_the_new_password_works(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    name = new_user(http, as_role["admin"])
    old = login(http, name, PASSWORD)
    wrong = http.post(
        f"{API}/auth/password", headers=old, json={"current_password": "not-it-at-all", "new_password": "x" * 12}
    )
    assert wrong.status_code == 400 and "current_password" in wrong.json()["fields"], wrong.text
    short = http.post(f"{API}/auth/password", headers=old, json={"current_password": PASSWORD, "new_password": "x"})
    assert short.status_code == 400 and "new_password" in short.json()["fields"], short.text

    new_password = "otra-clave-segura-2026"
    changed = http.post(
        f"{API}/auth/password", headers=old, json={"current_password": PASSWORD, "new_password": new_password}
    )
    assert changed.status_code == 200, changed.text
    assert http.get(f"{API}/communities", headers=old).status_code == 401
    fresh = {"Authorization": f"Bearer {changed.json()['access_token']}"}
    assert http.get(f"{API}/communities", headers=fresh).status_code == 200
    assert attempt(http, name, PASSWORD).status_code == 401
    assert http.get(f"{API}/communities", headers=login(http, name, new_password)).status_code == 200


def test_a_deactivated_user_is_refused_at_once_and_cannot_log_in(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    name = new_user(http, as_role["admin"], role="coordinator")
    token = login(http, name, PASSWORD)
    forbidden = http.post(f"{API}/users/{name}/deactivation", headers=as_role["coordinator"])
    assert forbidden.status_code == 403

    off = http.post(f"{API}/users/{name}/deactivation", headers=as_role["admin"])
    assert off.status_code == 200 and off.json() == {"username": name, "active": False}, off.text
    refused = http.get(f"{API}/communities", headers=token)
    assert refused.status_code == 401 and "revocada" in refused.json()["error"], refused.text
    assert attempt(http, name, PASSWORD).status_code == 401

    assert http.post(f"{API}/users/{name}/reactivation", headers=as_role["admin"]).status_code == 200
    assert http.get(f"{API}/communities", headers=token).status_code == 401  # old tokens stay refused
    assert http.get(f"{API}/communities", headers=login(http, name, PASSWORD)).status_code == 200
    unknown = http.post(f"{API}/users/nadie-{uuid.uuid4().hex[:6]}/deactivation", headers=as_role["admin"])
    assert unknown.status_code == 404


def test_an_admin_resets_a_forgotten_password_and_the_accounts_sessions_end(
    http: httpx.Client, as_role: dict[str, dict[str, str]]
) -> None:
    name = new_user(http, as_role["admin"], role="gestor")
    token = login(http, name, PASSWORD)
    reset = f"{API}/users/{name}/password-reset"
    assert http.post(reset, headers=as_role["coordinator"], json={"new_password": "x" * 12}).status_code == 403
    short = http.post(reset, headers=as_role["admin"], json={"new_password": "corta"})
    assert short.status_code == 400 and "new_password" in short.json()["fields"], short.text
    assert http.get(f"{API}/communities", headers=token).status_code == 200  # nothing changed

    done = http.post(reset, headers=as_role["admin"], json={"new_password": "otra-clave-segura"})
    assert done.status_code == 200 and done.json() == {"username": name, "active": True}, done.text
    assert http.get(f"{API}/communities", headers=token).status_code == 401
    assert attempt(http, name, PASSWORD).status_code == 401
    assert http.get(f"{API}/communities", headers=login(http, name, "otra-clave-segura")).status_code == 200
    unknown = f"{API}/users/nadie-{uuid.uuid4().hex[:6]}/password-reset"
    assert http.post(unknown, headers=as_role["admin"], json={"new_password": "x" * 12}).status_code == 404


def test_a_revoked_kiosks_token_is_refused_on_its_next_request(
    http: httpx.Client, as_role: dict[str, dict[str, str]], community: dict[str, Any]
) -> None:
    key = Ed25519PrivateKey.generate()
    device_id = f"kiosco-{uuid.uuid4().hex[:6]}"
    paired = http.post(
        f"{API}/devices",
        headers=as_role["coordinator"],
        json={"id": device_id, "public_key": public_key_b64(key), "community_id": community["id"]},
    )
    assert paired.status_code == 201, paired.text
    opened = session(http, device_id, key)
    assert opened.status_code == 200, opened.text
    kiosk = {"Authorization": f"Bearer {opened.json()['access_token']}"}
    assert http.get(f"{API}/acta-templates", headers=kiosk).status_code == 200

    # A kiosk may end one session itself; the device's other sessions go on.
    second = {"Authorization": f"Bearer {session(http, device_id, key).json()['access_token']}"}
    assert http.post(f"{API}/auth/logout", headers=second).status_code == 204
    assert http.get(f"{API}/acta-templates", headers=second).status_code == 401
    assert http.get(f"{API}/acta-templates", headers=kiosk).status_code == 200

    revoked = http.delete(f"{API}/devices/{device_id}", headers=as_role["coordinator"])
    assert revoked.status_code in (200, 204), revoked.text
    refused = http.get(f"{API}/acta-templates", headers=kiosk)
    assert refused.status_code == 401, refused.text
